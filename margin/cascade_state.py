"""What liquidations change in one view, and the values of that state at some marks.

A :class:`Ledger` holds the state of one view along one walk: sizes (reduced or closed), entry
maintenance (Bybit's entry-valued isolated positions are revalued at their reduced size), each pool's
wallet (realised PnL, fees and lost collateral included), the backing-collateral weights still held,
per-position realised PnL and fees, the forced flow per symbol and what the insurance fund absorbed.
Its :attr:`Ledger.book` is the compiled view whose arrays ARE the ledger's arrays (built once, updated
in place), so the venue's margin model (:mod:`margin.models`) always reads the current state.

Values (``margin-models.md`` §0, format §2): notional ``N = q·P`` (linear) or ``q/P`` (inverse), UPNL
``s·q·(P − EP)`` or ``s·q·(1/EP − 1/P)``, maintenance as the book's margin model states it; a pool's
equity is its wallet (backing collateral at the given prices, ``amount × price × (1 − haircut)``) plus
the UPNL of its open positions. The trigger (format §2, §0.1 and §10): a pool with open positions is
liquidated when equity ≤ maintenance. :func:`pool_at` prices ONE pool at one point (what an event
touches) from the model's segment terms on each position's tier (:class:`PoolTerms`:
``MM = constant + (rate + fee)·N + per_size·N·coin``, :meth:`~margin.models.MarginModel.terms`): the
values every trigger decision, step row and crossing uses. :func:`net_rows` prices positions over rows
of the path (:meth:`~margin.models.MarginModel.mark_maintenance` and
:meth:`~margin.models.MarginModel.maintenance`): the walk's hints of where a pool triggers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from .cascade_orders import OrderSet, order_set
from .cascade_params import CascadeParams
from .engine import Book, evaluate, futures_terms
from .models import net_terms
from .option_book import OptionBook
from .option_legs import option_terms_at
from .venues import LiquidationRules

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


@dataclass(eq=False)
class Ledger:
    """The mutable state of one view along one walk (module docstring)."""

    base: Book
    size: FloatArray
    mm_entry: FloatArray
    mmr_entry: FloatArray
    wallet: FloatArray  # per pool, the backing collateral at its compiled prices
    cw: FloatArray  # (A, G) backing collateral still held: amount × (1 − haircut)
    open: BoolArray
    realised: FloatArray
    fees: FloatArray
    flow: FloatArray  # per symbol: signed quote notional of the forced trades (sells negative)
    reduced: BoolArray
    insurance: float = 0.0
    #: the orders (format §7, in file order): still open (not filled, not cancelled), filled, and the size
    #: (contracts × contract size) each still closes (``inf``: whatever is left of the position); per
    #: position: closed by an order fill (not a position lost). Empty without orders.
    order_open: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    order_filled: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    order_left: FloatArray = field(default_factory=lambda: np.zeros(0))
    closed_by_order: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: the options (format §6, :class:`margin.option_book.OptionBook` order): still open, and the value each
    #: realised into its pool's wallet when it was closed. Empty without options.
    opt_open: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    opt_realised: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        #: the compiled view over this ledger's arrays (the model reads sizes and entry maintenance here); its
        #: ``options`` are ``None``: the cascade values the open options itself (:attr:`options`)
        self.book = replace(
            self.base,
            size=self.size,
            mm_entry=self.mm_entry,
            mmr_entry=self.mmr_entry,
            pool_wallet=self.wallet,
            collateral_weight=self.cw,
            options=None,
        )
        #: the view's options (``None`` without): in the cross pool of their settle asset (format §6.1)
        self.options: OptionBook | None = self.base.options
        n_pools = self.base.n_pools
        #: each pool's options (indices into :attr:`options`), empty for a pool without
        if self.options is None:
            self.opt_members: tuple[IntArray, ...] = tuple(np.zeros(0, dtype=np.intp) for _ in range(n_pools))
        else:
            self.opt_members = tuple(np.flatnonzero(self.options.pool == g) for g in range(n_pools))
        self.terms_cache: dict[int, PoolTerms] = {}
        #: every position's (K−1) notionals at which its model terms change (fixed by the view)
        self.floors = self.base.model.floors(self.base, np.arange(self.base.n_positions))

    @classmethod
    def start(cls, book: Book, orders: OrderSet | None = None) -> Ledger:
        n = book.n_positions
        n_orders = 0 if orders is None else orders.n
        n_opt = 0 if book.options is None else len(book.options)
        return cls(
            base=book,
            size=book.size.copy(),
            mm_entry=book.mm_entry.copy(),
            mmr_entry=book.mmr_entry.copy(),
            wallet=book.pool_wallet.copy(),
            cw=book.collateral_weight.copy(),
            open=np.ones(n, dtype=bool),
            realised=np.zeros(n),
            fees=np.zeros(n),
            flow=np.zeros(len(book.symbols)),
            reduced=np.zeros(n, dtype=bool),
            order_open=np.ones(n_orders, dtype=bool),
            order_filled=np.zeros(n_orders, dtype=bool),
            order_left=np.zeros(0) if orders is None else orders.size.copy(),
            closed_by_order=np.zeros(n, dtype=bool),
            opt_open=np.ones(n_opt, dtype=bool),
            opt_realised=np.zeros(n_opt),
        )

    def copy(self) -> Ledger:
        return Ledger(
            base=self.base,
            size=self.size.copy(),
            mm_entry=self.mm_entry.copy(),
            mmr_entry=self.mmr_entry.copy(),
            wallet=self.wallet.copy(),
            cw=self.cw.copy(),
            open=self.open.copy(),
            realised=self.realised.copy(),
            fees=self.fees.copy(),
            flow=self.flow.copy(),
            reduced=self.reduced.copy(),
            insurance=self.insurance,
            order_open=self.order_open.copy(),
            order_filled=self.order_filled.copy(),
            order_left=self.order_left.copy(),
            closed_by_order=self.closed_by_order.copy(),
            opt_open=self.opt_open.copy(),
            opt_realised=self.opt_realised.copy(),
        )

    @property
    def positions_lost(self) -> int:
        """Positions closed by the venue (liquidated, taken over, bankrupt; options closed included); not those
        an order closed."""
        if self.closed_by_order.size == 0:
            lost = int((~self.open).sum())
        else:
            lost = int((~self.open & ~self.closed_by_order).sum())
        return lost + int((~self.opt_open).sum())

    @property
    def positions_open(self) -> int:
        """Open positions, futures and options."""
        return int(self.open.sum()) + int(self.opt_open.sum())

    def open_options(self, g: int) -> IntArray:
        """Pool ``g``'s open options (indices into :attr:`options`)."""
        om = self.opt_members[g]
        return om[self.opt_open[om]] if om.size else om

    def pool_open(self, members: IntArray, g: int) -> bool:
        """Pool ``g`` (its futures ``members``) holds an open future or an open option."""
        return bool(self.open[members].any()) or bool(self.open_options(g).size)

    def option_values(self, oidx: IntArray, marks: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(signed value, standard maintenance) of options ``oidx`` at (S, n_symbols) marks: (S, len(oidx))
        each, in their settle asset (format §6.2 Black-76 on the forward, the option's column of the marks;
        §6.3 the short-option maintenance), at the view's volatility and time (§6.5)."""
        ob = self.options
        assert ob is not None
        t = option_terms_at(ob.arrays, oidx, marks[:, ob.sym[oidx]], ob.iv, ob.t)
        return t.value, t.maintenance

    def pool_terms(self, members: IntArray, g: int) -> PoolTerms:
        """Pool ``g``'s segment terms (built when first asked for after a change)."""
        pt = self.terms_cache.get(g)
        if pt is None:
            pt = self.terms_cache[g] = PoolTerms(self, members)
        return pt

    def touch(self, g: int) -> None:
        """Pool ``g``'s positions changed (all of them)."""
        self.terms_cache.pop(g, None)

    def resized(self, g: int, i: int) -> None:
        """Position ``i`` of pool ``g`` changed size (closed: size 0)."""
        pt = self.terms_cache.get(g)
        if pt is not None:
            pt.resized(i, float(self.size[i]))

    def wallets(self, coll: FloatArray | None) -> FloatArray:
        """Every pool's wallet with the backing collateral at ``coll`` (A,) or (S, A): (G,) or (S, G)."""
        return self.book.wallet_at(coll)


@dataclass(frozen=True, eq=False)
class Point:
    """Where the walk is: marks (n_symbols,), collateral prices (A,) or ``None``, ``t`` and phase."""

    marks: FloatArray
    coll: FloatArray | None
    t: float
    phase: str


def _position_values(ledger: Ledger, idx: IntArray, marks: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upnl, maintenance, notional) of positions ``idx`` at (S, n_symbols) marks: (S, len(idx)) each, at the
    ledger's sizes (:func:`margin.engine.futures_terms`)."""
    bk = ledger.book
    return futures_terms(bk, idx, marks[:, bk.sym[idx]], ledger.size[idx])


@dataclass(frozen=True, eq=False)
class PoolValues:
    """One pool at S points: its open positions ``idx`` (S, m) and its totals (S,)."""

    idx: IntArray
    upnl: FloatArray
    maintenance: FloatArray
    notional: FloatArray
    equity: FloatArray
    pool_maintenance: FloatArray
    wallet: FloatArray
    #: the pool's open options (indices into the view's options), their signed values and maintenance (S, m)
    opt_idx: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    opt_value: FloatArray = field(default_factory=lambda: np.zeros((1, 0)))
    opt_mm: FloatArray = field(default_factory=lambda: np.zeros((1, 0)))

    @property
    def empty(self) -> bool:
        """No open future and no open option."""
        return not self.idx.size and not self.opt_idx.size

    def triggered(self, s: int = 0) -> bool:
        """Open positions and equity ≤ maintenance at point ``s``."""
        return not self.empty and bool(self.equity[s] <= self.pool_maintenance[s])


class PoolTerms:
    """One pool's open positions on their current tier segments: the margin model's segment terms
    (:meth:`~margin.models.MarginModel.terms`, :func:`~margin.models.net_terms`) and the notionals
    between which they hold (:meth:`~margin.models.MarginModel.floors`). A cache over the ledger: a
    position whose notional leaves its segment is moved to its tier when the pool is valued; a reduced or
    closed position is updated (:meth:`Ledger.resized`), a pool closed at once dropped (:meth:`Ledger.touch`)."""

    _COLUMNS = (
        "q",
        "sign",
        "sq",
        "ep",
        "lo",
        "hi",
        "constant",
        "linear",
        "per_size",
        "alpha",
        "beta",
        "gamma",
        "delta",
    )
    q: FloatArray
    sign: FloatArray
    sq: FloatArray
    ep: FloatArray
    lo: FloatArray  # the notionals between which the terms hold: [lo, hi)
    hi: FloatArray
    constant: FloatArray
    linear: FloatArray  # rate + fee
    per_size: FloatArray
    alpha: FloatArray
    beta: FloatArray
    gamma: FloatArray
    delta: FloatArray

    def __init__(self, ledger: Ledger, members: IntArray) -> None:
        bk = ledger.book
        self.book = bk
        self.idx = members[ledger.open[members]]
        idx = self.idx
        self.sym = bk.sym[idx]
        self.inv = bk.inverse[idx]
        self.any_inverse = bool(self.inv.any())
        self.all_floors = ledger.floors
        self.data = np.zeros((idx.size, len(self._COLUMNS)))
        self._bind()
        self.q[:] = ledger.size[idx]
        self.sign[:] = bk.sign[idx]
        self.sq[:] = self.sign * self.q
        self.ep[:] = bk.entry[idx]
        self.lo[:], self.hi[:] = np.inf, -np.inf  # no segment yet: each is placed at the first valuation

    def _bind(self) -> None:
        for c, name in enumerate(self._COLUMNS):
            setattr(self, name, self.data[:, c])

    def resized(self, i: int, size: float) -> None:
        """Position ``i`` now has ``size`` (0: closed, it leaves the pool's open positions)."""
        j = int(np.searchsorted(self.idx, i))
        if size == 0.0:
            keep = np.ones(self.idx.size, dtype=bool)
            keep[j] = False
            self.idx, self.sym, self.inv = self.idx[keep], self.sym[keep], self.inv[keep]
            self.data = self.data[keep]
            self._bind()
            self.any_inverse = bool(self.inv.any())
            return
        self.q[j] = size
        self.sq[j] = self.sign[j] * size
        self.lo[j], self.hi[j] = np.inf, -np.inf  # its terms depend on its size: placed again when valued

    @property
    def floors(self) -> FloatArray:
        """(m, K−1) notionals at which the positions' terms change (``inf``: never)."""
        return self.all_floors[self.idx]

    def notional(self, price: FloatArray) -> FloatArray:
        """``q·P`` (linear) or ``q/P`` (inverse) at the positions' prices."""
        return np.where(self.inv, self.q / price, self.q * price) if self.any_inverse else self.q * price

    def place(self, notional: FloatArray) -> None:
        """Move the positions whose notional is off their segment to the segment that holds it."""
        off = np.flatnonzero((notional < self.lo) | (notional >= self.hi))
        if off.size == 0:
            return
        fl = self.all_floors[self.idx[off]]
        k = (notional[off, None] >= fl).sum(axis=1)
        width = fl.shape[1]
        rows = np.arange(off.size)
        self.lo[off] = np.where(k > 0, fl[rows, np.maximum(k - 1, 0)], -np.inf) if width else -np.inf
        self.hi[off] = np.where(k < width, fl[rows, np.minimum(k, width - 1)], np.inf) if width else np.inf
        t = self.book.model.terms(self.book, self.idx[off], k)
        self.constant[off] = t.constant
        self.linear[off] = t.rate + t.fee
        self.per_size[off] = t.per_size
        nt = net_terms(self.sign[off], self.q[off], self.ep[off], self.inv[off], t)
        self.alpha[off], self.beta[off], self.gamma[off], self.delta[off] = nt.alpha, nt.beta, nt.gamma, nt.delta

    def values(self, price: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(upnl, maintenance, notional) of the positions at their prices (``margin-models.md`` §0; the
        model's ``MM(N) = constant + (rate + fee)·N + per_size·N·coin``, coin = q or N)."""
        n = self.notional(price)
        self.place(n)
        if self.any_inverse:
            upnl = self.sq * np.where(self.inv, 1.0 / self.ep - 1.0 / price, price - self.ep)
            coin = np.where(self.inv, n, self.q)
        else:
            upnl = self.sq * (price - self.ep)
            coin = self.q
        return upnl, self.constant + (self.linear + self.per_size * coin) * n, n


def pool_at(ledger: Ledger, members: IntArray, g: int, at: Point) -> PoolValues:
    """Pool ``g`` (its positions ``members``) at one point, from its segment terms (:class:`PoolTerms`); its
    open options (format §6.3) add their signed values to the equity and their maintenance to the pool's."""
    pt = ledger.pool_terms(members, g)
    upnl, mm, notional = pt.values(at.marks[pt.sym])
    wallet = float(ledger.wallets(at.coll)[g])
    oidx = ledger.open_options(g)
    if not oidx.size:
        eq = np.array([wallet + upnl.sum()])
        return PoolValues(
            pt.idx, upnl[None, :], mm[None, :], notional[None, :], eq, np.array([mm.sum()]), np.array([wallet])
        )
    value, omm = ledger.option_values(oidx, at.marks[None, :])
    eq = np.array([wallet + upnl.sum() + value.sum()])
    return PoolValues(
        pt.idx,
        upnl[None, :],
        mm[None, :],
        notional[None, :],
        eq,
        np.array([mm.sum() + omm.sum()]),
        np.array([wallet]),
        oidx,
        value,
        omm,
    )


def option_net_rows(ledger: Ledger, marks: FloatArray) -> FloatArray:
    """Value − maintenance of every option at (S, n_symbols) marks (S, O), 0 for closed options."""
    ob = ledger.options
    assert ob is not None
    value, mm = ledger.option_values(np.arange(len(ob)), marks)
    return np.where(ledger.opt_open, value - mm, 0.0)


def pool_surplus(ledger: Ledger, members: IntArray, g: int, marks: FloatArray, coll: FloatArray | None) -> FloatArray:
    """Pool ``g``'s surplus (equity − maintenance) at (S, n_symbols) marks and (S, A) collateral prices: (S,)."""
    w = np.asarray(ledger.wallets(coll), dtype=np.float64)
    out = w[:, g] if w.ndim == 2 else np.full(marks.shape[0], float(w[g]))
    live = members[ledger.open[members]]
    if live.size:
        out = out + net_rows(ledger, live, marks).sum(axis=1)
    oidx = ledger.open_options(g)
    if oidx.size:
        value, mm = ledger.option_values(oidx, marks)
        out = out + (value - mm).sum(axis=1)
    return out


def net_rows(ledger: Ledger, idx: IntArray, marks: FloatArray) -> FloatArray:
    """UPNL − maintenance of positions ``idx`` at (S, n_symbols) marks, 0 for closed positions: a few
    positions from the model's segment terms on their tier at each row, many from its tier lookup."""
    if idx.size * marks.shape[0] > _FEW:
        upnl, mm, _ = _position_values(ledger, idx, marks)
        return np.where(ledger.open[idx], upnl - mm, 0.0)
    bk = ledger.book
    price = marks[:, bk.sym[idx]]  # (S, m)
    q, inv = ledger.size[idx], bk.inverse[idx]
    n = np.where(inv, q / price, q * price)
    tier = (n[:, :, None] >= ledger.floors[idx][None, :, :]).sum(axis=2)  # the floors at or below N (§1.1)
    t = bk.model.terms(bk, idx, tier.T)
    coin = np.where(inv, n, q)
    mm = t.constant.T + ((t.rate + t.fee).T + t.per_size.T * coin) * n
    with np.errstate(divide="ignore"):
        upnl = bk.sign[idx] * q * np.where(inv, 1.0 / bk.entry[idx] - 1.0 / price, price - bk.entry[idx])
    return np.where(ledger.open[idx], upnl - mm, 0.0)


#: rows × positions below which :func:`net_rows` reads the terms rather than the tier lookup
_FEW = 4096


def account_value(ledger: Ledger, at: Point) -> float:
    """Every pool's equity at ``at`` summed: the wallets plus the UPNL of the open positions."""
    bk = ledger.book
    mark = at.marks[bk.sym]
    sq = bk.sign * ledger.size  # closed positions have size 0
    if bk.inverse.any():
        upnl = sq * np.where(bk.inverse, 1.0 / bk.entry - 1.0 / mark, mark - bk.entry)
    else:
        upnl = sq * (mark - bk.entry)
    total = float(np.sum(ledger.wallets(at.coll)) + np.sum(upnl))
    if ledger.options is not None and ledger.opt_open.any():
        oidx = np.flatnonzero(ledger.opt_open)
        total += float(ledger.option_values(oidx, at.marks[None, :])[0].sum())
    return total


@dataclass(frozen=True, eq=False)
class Setup:
    """What does not change along one view's walk: the book as compiled, the venue's liquidation rules,
    the options, the main symbol, the start of the path (marks, PnL, equity), the pools' positions,
    labels and fee rates."""

    book: Book
    rules: LiquidationRules
    params: CascadeParams
    main: int | None
    base_marks: FloatArray
    start_upnl: FloatArray
    start_equity: FloatArray
    members: tuple[IntArray, ...]
    labels: tuple[str, ...]
    fee_rate: FloatArray
    #: the book's stop-loss and take-profit orders (format §7), ``None`` when it has none
    orders: OrderSet | None = None
    #: each option's signed value at the start of the path (empty without options)
    start_opt_value: FloatArray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def build(
        cls,
        book: Book,
        start: Point,
        rules: LiquidationRules,
        params: CascadeParams,
        main: int | None,
        fee_rate: FloatArray,
    ) -> Setup:
        ev = evaluate(book, start.marks[None, :], collateral_prices=None if start.coll is None else start.coll[None, :])
        labels = tuple(
            f"cross {book.pool_settle[k]}"
            if book.pool_mode[k] == "cross"
            else f"isolated {book.ids[int(book.pool_position[k])]}"  # type: ignore[arg-type]
            for k in range(book.n_pools)
        )
        members = tuple(np.flatnonzero(book.pool == g) for g in range(book.n_pools))
        return cls(
            book,
            rules,
            params,
            main,
            start.marks,
            ev.upnl[0].copy(),
            ev.pool_equity[0].copy(),
            members,
            labels,
            fee_rate,
            order_set(book),
            np.zeros(0) if ev.option_terms is None else ev.option_terms.value[0].copy(),
        )

    def summary(self, ledger: Ledger, marks: FloatArray, coll: FloatArray | None) -> dict[str, dict[str, float]]:
        """Per settle asset: the account value at the start of the path and at ``marks`` (its end)."""
        ev = evaluate(ledger.book, marks[None, :], collateral_prices=None if coll is None else coll[None, :])
        left = ev.pool_equity[0]
        if ledger.options is not None:  # the open options' values (the ledger's book holds none)
            value, _ = ledger.option_values(np.arange(len(ledger.options)), marks[None, :])
            left = left + ledger.options.pooled(np.where(ledger.opt_open, value, 0.0))[0]
        by: dict[str, dict[str, float]] = {}
        for g, s in enumerate(self.book.pool_settle):
            d = by.setdefault(s, {"collateral_start": 0.0, "collateral_left": 0.0})
            d["collateral_start"] += float(self.start_equity[g])
            d["collateral_left"] += float(left[g])
        return by
