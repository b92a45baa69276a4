"""The array engine: margin, equity and liquidation prices over scenarios × positions.

A :class:`Book` is a portfolio compiled for one view (``as_is``, ``cross`` or ``isolated``,
``portfolio-format.md`` §2) into numpy arrays: one entry per position and one per margin pool.
:func:`evaluate` prices every position at a matrix of mark prices (scenarios × symbols) and sums
pools with no Python loop over positions or scenarios. :func:`liquidation_prices` solves, for each
pool and symbol, the mark price at which the pool's equity meets its trigger (equation (E) of
``margin-models.md`` §0.1), every other price held, with the tier of the notional at that price.

The solver is exact: between two consecutive tier boundaries of the positions in a (pool, symbol)
group, ``equity − maintenance`` is a polynomial of degree ≤ 2 in ``x = P`` (linear contracts) or
``x = 1/P`` (inverse contracts: notional and PnL are linear in 1/P), so every root is found in closed
form on every segment (§1.3 "bracket consistency" generalised to hedge pairs, fees and Deribit's
size-dependent rates). The readable one-pool reference is :mod:`margin.scalar`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .market import MarketSnapshot
from .models import MarginModel
from .option_book import OptionBook, compile_options
from .option_legs import OptionTerms
from .portfolio import Resolved
from .tiers import TierMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

VIEWS: tuple[str, ...] = ("as_is", "cross", "isolated")
#: the views ``evaluate`` reports: the three standard ones and the risk-based ``portfolio`` view (format §6.4)
ALL_VIEWS: tuple[str, ...] = (*VIEWS, "portfolio")


@dataclass(frozen=True, eq=False)
class Book:
    """A portfolio compiled into arrays for one view."""

    view: str
    resolved: Resolved
    symbols: tuple[str, ...]
    marks: FloatArray  # (n_symbols,)
    symbol_inverse: BoolArray  # (n_symbols,)
    # positions, in input order
    ids: tuple[str, ...]
    sym: IntArray
    sign: FloatArray
    size: FloatArray
    entry: FloatArray
    inverse: BoolArray
    leverage: FloatArray  # NaN when none
    isolated: BoolArray
    iso_margin: FloatArray
    at_entry: BoolArray  # maintenance valued at the entry notional (the model's choice: Bybit isolated)
    mm_entry: FloatArray
    mmr_entry: FloatArray
    fee: FloatArray  # fee rate counted in the trigger (the model's choice: OKX), else 0
    pool: IntArray
    # pools: cross pools first (one per settle asset), then isolated pools in position order
    pool_settle: tuple[str, ...]
    pool_mode: tuple[str, ...]
    pool_position: tuple[int | None, ...]
    pool_wallet: FloatArray
    tiers: TierMatrix
    #: the venue's margin model (:mod:`margin.models`): every maintenance and initial margin comes from it
    model: MarginModel
    #: non-settle collateral backing cross pools: names, prices (in the pool's settle asset) and, per
    #: pool, amount × (1 − haircut); ``pool_wallet`` already includes their value at these prices
    collateral_assets: tuple[str, ...] = ()
    collateral_price: FloatArray = field(default_factory=lambda: np.zeros(0))
    collateral_weight: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    #: the option positions (format §6), each in the cross pool of its settle asset; ``None`` without options
    options: OptionBook | None = None

    def wallet_at(self, collateral_prices: FloatArray | None) -> FloatArray:
        """Pool wallets with the backing collateral at other prices: (G,) or (S, G)."""
        if collateral_prices is None or not self.collateral_assets:
            return self.pool_wallet
        cp = np.asarray(collateral_prices, dtype=np.float64)
        return self.pool_wallet + (cp - self.collateral_price) @ self.collateral_weight

    @property
    def n_positions(self) -> int:
        return len(self.ids)

    @property
    def n_pools(self) -> int:
        return len(self.pool_settle)

    @cached_property
    def pool_held(self) -> BoolArray:
        """Pools holding a position (a future or an option): only those can be liquidated (format §2)."""
        held = np.bincount(self.pool, minlength=self.n_pools) > 0
        if self.options is not None:
            held = held | (np.bincount(self.options.pool, minlength=self.n_pools) > 0)
        return held

    @cached_property
    def summer(self) -> _PoolSummer:
        """Sums position values into this book's pools (built once per book)."""
        return _PoolSummer(self)

    @cached_property
    def symbol_index(self) -> dict[str, int]:
        """Column of each symbol in the marks."""
        return {s: i for i, s in enumerate(self.symbols)}

    def price_vector(self, prices: Mapping[str, float] | None = None) -> FloatArray:
        """Current marks with some symbols replaced."""
        out = self.marks.copy()
        index = self.symbol_index
        for symbol, price in (prices or {}).items():
            out[index[symbol]] = price
        return out


def compile_book(resolved: Resolved, view: str = "as_is", market: MarketSnapshot | None = None) -> Book:
    """Arrays of the account ``resolved`` in ``view`` (format §2: ``as_is``, ``cross`` or ``isolated``),
    priced on ``market`` (default: the snapshot the file carries)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    mkt = resolved.market if market is None else market
    arr = resolved.arrays
    symbols = resolved.symbols
    tiers = resolved.tier_matrix
    n = len(arr.ids)
    isolated = arr.isolated.copy() if view == "as_is" else np.full(n, view == "isolated", dtype=bool)
    settles = resolved.settles
    n_settle = len(settles)
    iso_positions = np.flatnonzero(isolated)
    collateral = resolved.portfolio.collateral
    wallet = np.array([float(collateral.get(s, 0.0)) for s in settles], dtype=np.float64)
    # isolated margins leave their settle asset's cross wallet, one after another in position order
    np.subtract.at(wallet, arr.settle[iso_positions], arr.isolated_margin[iso_positions])
    wallet = np.concatenate([wallet, arr.isolated_margin[iso_positions]])
    pool = arr.settle.copy()
    pool[iso_positions] = n_settle + np.arange(iso_positions.size)
    pool_settle = settles + tuple(settles[k] for k in arr.settle[iso_positions].tolist())
    backing = resolved.portfolio.collateral_assets
    coll_names = tuple(backing)
    settle_index = {s: i for i, s in enumerate(settles)}
    coll_weight = np.zeros((len(coll_names), len(pool_settle)))
    for a, name in enumerate(coll_names):
        ca = backing[name]
        coll_weight[a, settle_index[ca.pool]] = float(collateral[name]) * (1.0 - ca.haircut)
        wallet[settle_index[ca.pool]] += float(collateral[name]) * mkt.collateral_prices[name] * (1.0 - ca.haircut)
    model = resolved.venue.margin_model
    rule = model.position_rule(tiers, arr.sym, arr.size, arr.entry, arr.inverse, isolated, resolved.taker_fee)
    options = compile_options(
        resolved.options,
        {s: i for i, s in enumerate(symbols)},
        settle_index,
        len(pool_settle),
        mkt.vol_moves,
        mkt.days,
    )
    return Book(
        view=view,
        resolved=resolved,
        symbols=symbols,
        marks=np.array([mkt.marks[s] for s in symbols], dtype=np.float64),
        symbol_inverse=arr.symbol_inverse,
        ids=arr.ids,
        sym=arr.sym,
        sign=arr.sign,
        size=arr.size,
        entry=arr.entry,
        inverse=arr.inverse,
        leverage=arr.leverage,
        isolated=isolated,
        iso_margin=arr.isolated_margin,
        at_entry=rule.at_entry,
        mm_entry=rule.mm_entry,
        mmr_entry=rule.mmr_entry,
        fee=rule.fee,
        pool=pool,
        pool_settle=pool_settle,
        pool_mode=("cross",) * n_settle + ("isolated",) * iso_positions.size,
        pool_position=(None,) * n_settle + tuple(iso_positions.tolist()),
        pool_wallet=wallet,
        tiers=tiers,
        model=model,
        collateral_assets=coll_names,
        collateral_price=np.array([mkt.collateral_prices[n] for n in coll_names], dtype=np.float64),
        collateral_weight=coll_weight,
        options=options,
    )


class PositionState:
    """View-independent position arrays at a matrix of marks (S, P), computed once per sweep.

    Formulas (``margin-models.md`` §0, format §2): notional ``N = size × P`` (linear) or
    ``size / P`` (inverse); UPNL ``s·size·(P − EP)`` or ``s·size·(1/EP − 1/P)``; the maintenance at the
    tier of ``N`` as the book's margin model states it (:meth:`MarginModel.mark_maintenance`). Branches
    absent from the book are not computed; the UPNL matrix is built only when asked for (pools sum PnL
    from the marks directly).
    """

    def __init__(self, book: Book, marks: FloatArray) -> None:
        self.book = book
        self.marks = marks
        inv = book.inverse
        self.any_inverse = bool(inv.any())
        self.all_inverse = bool(inv.all()) if inv.size else False
        mark = marks[:, book.sym]
        self.mark = mark
        if not self.any_inverse:
            notional = mark * book.size
        elif self.all_inverse:
            notional = np.divide(book.size, mark)
        else:
            notional = np.where(inv, book.size / mark, book.size * mark)
        self.notional = notional
        tiers = book.tiers
        self.flat = tiers.flat_index(book.sym, notional)
        self.mm_at_mark, self.rate = book.model.mark_maintenance(tiers, self.flat, notional, self.size_coin)

    @cached_property
    def size_coin(self) -> FloatArray:
        b = self.book
        if not self.any_inverse:
            return np.broadcast_to(b.size, self.notional.shape)
        return self.notional if self.all_inverse else np.where(b.inverse, self.notional, b.size)

    @cached_property
    def upnl(self) -> FloatArray:
        return _upnl(self.book, self.mark, slice(None))

    def pool_upnl(self, book: Book, summer: _PoolSummer) -> FloatArray:
        """UPNL summed per pool of ``book`` (any view of this state's portfolio): cross pools by a
        product of the marks (or 1/marks) with the aggregated sizes (PnL is linear in P, or in 1/P),
        isolated pools from their own columns."""
        b = book
        out = np.zeros((*self.marks.shape[:-1], summer.n_pools))
        if summer.any_cross:
            cross = ~b.isolated
            sq = b.sign * b.size
            lin = cross & ~b.inverse
            inv = cross & b.inverse
            n_sym = self.marks.shape[-1]
            for mask, per_price in ((lin, self.marks), (inv, None)):
                if not mask.any():
                    continue
                coef = np.zeros((n_sym, summer.n_cross))
                np.add.at(coef, (b.sym[mask], b.pool[mask]), sq[mask])
                const = np.zeros(summer.n_cross)
                if per_price is not None:
                    np.add.at(const, b.pool[mask], sq[mask] * b.entry[mask])
                    out[..., : summer.n_cross] += per_price @ coef - const
                else:
                    np.add.at(const, b.pool[mask], sq[mask] / b.entry[mask])
                    with np.errstate(divide="ignore"):
                        out[..., : summer.n_cross] += const - (1.0 / self.marks) @ coef
        if summer.iso_positions.size:
            if "upnl" in self.__dict__:
                out[..., summer.n_cross :] = summer.isolated_columns(self.upnl)
            else:
                out[..., summer.n_cross :] = _upnl(b, self.mark, summer.iso_slice_or_index)
        return out


def _upnl(book: Book, mark: FloatArray, cols: slice | IntArray) -> FloatArray:
    """``s·size·(P − EP)`` (linear) or ``s·size·(1/EP − 1/P)`` (inverse) for the columns ``cols``."""
    m = mark[..., cols]
    sq = (book.sign * book.size)[cols]
    inv = book.inverse[cols]
    entry = book.entry[cols]
    if not inv.any():
        out = m - entry
        out *= sq
        return out
    with np.errstate(divide="ignore"):
        diff = np.where(inv, 1.0 / entry - 1.0 / m, m - entry)
    diff *= sq
    return diff


def futures_terms(
    book: Book, idx: IntArray, mark: FloatArray, size: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """UPNL, maintenance and notional of the positions ``idx`` at their own marks ``mark`` (…, len(idx)), as
    :func:`evaluate` computes them (the tier of the notional at that mark, the model's maintenance); ``size``
    (len(idx),) replaces the book's sizes (a cascade's partly closed positions)."""
    q = book.size[idx] if size is None else size
    sq = book.sign[idx] * q
    ep = book.entry[idx]
    inv = book.inverse[idx]
    if inv.any():
        notional = np.where(inv, q / mark, q * mark)
        coin = np.where(inv, notional, q)
        with np.errstate(divide="ignore"):
            upnl = sq * np.where(inv, 1.0 / ep - 1.0 / mark, mark - ep)
    else:
        notional = q * mark
        coin = np.broadcast_to(q, notional.shape)
        upnl = sq * (mark - ep)
    shape = notional.shape
    flat = book.tiers.flat_index(book.sym[idx], notional.reshape(-1, shape[-1])).reshape(shape)
    mm_at_mark, _ = book.model.mark_maintenance(book.tiers, flat, notional, coin)
    return upnl, book.model.maintenance(book, mm_at_mark, notional, idx), notional


def position_state(book: Book, marks: FloatArray) -> PositionState:
    """The view-independent position arrays of ``book`` at ``marks`` (S, n_symbols)."""
    return PositionState(book, marks)


class _PoolSummer:
    """Sums (S, P) position values into (S, G) pools with no loop over positions or scenarios.

    Cross pools (the first ones) by a product with a 0/1 membership matrix; isolated pools hold
    one position each (a column copy: a slice when they are contiguous).
    """

    def __init__(self, book: Book) -> None:
        self.n_pools = book.n_pools
        self.n_cross = sum(1 for m in book.pool_mode if m == "cross")
        cross = ~book.isolated
        self.member = np.zeros((book.n_positions, self.n_cross))
        self.member[np.flatnonzero(cross), book.pool[cross]] = 1.0
        self.iso_positions = np.array([p for p in book.pool_position if p is not None], dtype=np.intp)
        self.any_cross = bool(cross.any())
        iso = self.iso_positions
        contiguous = iso.size > 0 and bool(np.all(np.diff(iso) == 1))
        self.iso_slice_or_index: slice | IntArray = slice(int(iso[0]), int(iso[-1]) + 1) if contiguous else iso

    def isolated_columns(self, values: FloatArray) -> FloatArray:
        return values[..., self.iso_slice_or_index]

    def __call__(self, values: FloatArray) -> FloatArray:
        out = np.zeros((*values.shape[:-1], self.n_pools))
        if self.any_cross:
            out[..., : self.n_cross] = values @ self.member
        if self.iso_positions.size:
            out[..., self.n_cross :] = self.isolated_columns(values)
        return out


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Results at a matrix of marks: position arrays (S, P), pool arrays (S, G)."""

    book: Book
    marks: FloatArray  # (S, n_symbols)
    state: PositionState
    maintenance: FloatArray
    pool_upnl: FloatArray
    pool_equity: FloatArray
    pool_maintenance: FloatArray
    pool_liquidated: BoolArray
    #: the options at these marks (§6.2, §6.3), ``None`` without options
    option_terms: OptionTerms | None = None
    #: Σ option values per pool (S, G); zeros without options
    pool_options_value: FloatArray | None = None

    @property
    def mark(self) -> FloatArray:
        return self.state.mark

    @property
    def notional(self) -> FloatArray:
        return self.state.notional

    @property
    def upnl(self) -> FloatArray:
        return self.state.upnl

    @cached_property
    def mmr(self) -> FloatArray:
        """Maintenance rate in force, as the book's margin model reports it."""
        return self.book.model.rate_in_force(self.book, self.state.rate, slice(None))

    @cached_property
    def initial(self) -> FloatArray:
        """Initial margin of every position, by the book's margin model (format §2)."""
        st = self.state
        return self.book.model.initial(self.book, st.notional, st.flat, st.size_coin, slice(None))

    @cached_property
    def pool_initial(self) -> FloatArray:
        out = self.book.summer(self.initial)
        if self.option_terms is not None and self.book.options is not None:
            out = out + self.book.options.pooled(self.option_terms.initial)
        return out

    @cached_property
    def position_liquidated(self) -> BoolArray:
        return self.pool_liquidated[:, self.book.pool]

    @property
    def pool_available(self) -> FloatArray:
        """Equity − initial margin, not floored (format §2)."""
        return self.pool_equity - self.pool_initial

    @property
    def pool_margin_ratio(self) -> FloatArray:
        """Maintenance / equity; NaN where equity ≤ 0 (format §4)."""
        eq = self.pool_equity
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(eq > 0, self.pool_maintenance / np.where(eq > 0, eq, 1.0), np.nan)


def _as_marks(book: Book, marks: FloatArray | None) -> FloatArray:
    if marks is None:
        return book.marks[None, :]
    return np.atleast_2d(np.asarray(marks, dtype=np.float64))


def evaluate(
    book: Book,
    marks: FloatArray | None = None,
    state: PositionState | None = None,
    collateral_prices: FloatArray | None = None,
) -> Evaluation:
    """Evaluate ``book`` at ``marks`` (n_symbols,) or (S, n_symbols); results carry a scenario axis.

    ``state`` may be shared between the views of one portfolio (it does not depend on the view);
    ``collateral_prices`` (n_collateral_assets,) or (S, n_collateral_assets) revalue the non-settle
    collateral backing cross pools (a collateral shock).
    Trigger (format §2): a pool with positions is liquidated when equity ≤ maintenance margin, the
    maintenance as the book's margin model states it (the fee to close on OKX, §4; valued at entry for
    Bybit isolated positions, §3.2).
    """
    m = _as_marks(book, marks)
    st = state if state is not None else position_state(book, m)
    maintenance = book.model.maintenance(book, st.mm_at_mark, st.notional, slice(None))
    summer = book.summer
    pool_upnl = st.pool_upnl(book, summer)
    pool_mm = summer(maintenance)
    wallet = book.wallet_at(None if collateral_prices is None else np.atleast_2d(collateral_prices))
    equity = wallet + pool_upnl
    terms: OptionTerms | None = None
    pool_options: FloatArray | None = None
    if book.options is not None:  # premium-style (§6.2): equity counts the options' value, MM their §6.3 margin
        terms = book.options.terms(m)
        pool_options = book.options.pooled(terms.value)
        equity = equity + pool_options
        pool_mm = pool_mm + book.options.pooled(terms.maintenance)
    pool_liq = book.pool_held & (equity <= pool_mm)
    return Evaluation(
        book=book,
        marks=m,
        state=st,
        maintenance=maintenance,
        pool_upnl=pool_upnl,
        pool_equity=equity,
        pool_maintenance=pool_mm,
        pool_liquidated=pool_liq,
        option_terms=terms,
        pool_options_value=pool_options,
    )


def evaluate_views(
    books: dict[str, Book], marks: FloatArray | None = None, collateral_prices: FloatArray | None = None
) -> dict[str, Evaluation]:
    """Evaluate several views of one portfolio at the same marks, sharing the position arrays."""
    first = next(iter(books.values()))
    m = _as_marks(first, marks)
    st = position_state(first, m)
    return {view: evaluate(b, m, st, collateral_prices) for view, b in books.items()}


# --------------------------------------------------------------------------- liquidation prices


@dataclass(frozen=True, eq=False)
class Groups:
    """(pool, symbol) groups of a book: the positions whose liquidation price is one number."""

    pool: IntArray
    sym: IntArray
    long: IntArray  # position index of the long, or -1
    short: IntArray  # position index of the short, or -1
    of_position: IntArray  # group of each position


def groups_of(book: Book) -> Groups:
    n_sym = max(len(book.symbols), 1)
    key = book.pool * n_sym + book.sym
    uniq, inv = np.unique(key, return_inverse=True)
    n = uniq.size
    long = np.full(n, -1, dtype=np.intp)
    short = np.full(n, -1, dtype=np.intp)
    pos = np.arange(book.n_positions)
    long[inv[book.sign > 0]] = pos[book.sign > 0]
    short[inv[book.sign < 0]] = pos[book.sign < 0]
    return Groups(
        pool=(uniq // n_sym).astype(np.intp),
        sym=(uniq % n_sym).astype(np.intp),
        long=long,
        short=short,
        of_position=inv.astype(np.intp),
    )


def _quadratic_roots(a: FloatArray, b: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Real roots of ``a + b·x + c·x²`` (NaN where none), numerically stable form."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # candidates that overflow are dropped
        linear = c == 0
        r_lin = np.where(b != 0, -a / np.where(b != 0, b, 1.0), np.nan)
        disc = b * b - 4.0 * a * c
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        q = -0.5 * (b + np.where(b >= 0, sq, -sq))
        r1 = np.where(q != 0, q / np.where(linear, 1.0, c), np.nan)
        r2 = np.where(q != 0, a / np.where(q != 0, q, 1.0), np.nan)
    return np.where(linear, r_lin, r1), np.where(linear, np.nan, r2)


@dataclass(frozen=True, eq=False)
class _Slot:
    """Per-group arrays of one slot (the long or the short); absent slots have size 0."""

    q: FloatArray
    s: FloatArray
    ep: FloatArray
    present: BoolArray
    index: IntArray  # the position (0 where absent)


def _slot(book: Book, index: IntArray) -> _Slot:
    present = index >= 0
    if book.n_positions == 0:
        zeros = np.zeros(index.shape)
        return _Slot(zeros, zeros, np.ones(index.shape), present, np.zeros(index.shape, dtype=np.intp))
    i = np.where(present, index, 0)
    return _Slot(
        q=np.where(present, book.size[i], 0.0),
        s=np.where(present, book.sign[i], 0.0),
        ep=np.where(present, book.entry[i], 1.0),
        present=present,
        index=i,
    )


#: a coefficient within this many ulps of the magnitude of the terms that cancelled in it is zero
CANCELLATION_ULPS = 64.0
#: relative tolerance for "below / above the mark" and for segment bounds
PRICE_RTOL = 1e-12


def _solve(
    book: Book,
    groups: Groups,
    const: FloatArray,
    f0: FloatArray,
    x_mark: FloatArray,
    inverse: BoolArray,
    maintenance: bool,
    scale: FloatArray,
) -> FloatArray:
    """Trigger-crossing mark price of every (scenario, group); NaN where none. Shapes (S, n_groups)."""
    tiers = book.tiers
    table = groups.sym[None, :, None]  # (1, Gr, 1)
    slots = [_slot(book, groups.long), _slot(book, groups.short)]
    width = tiers.width
    # breakpoints in x-space: N = q·x reaches a tier floor at x = F_k / q
    bps = []
    model = book.model
    if maintenance:  # without maintenance (bankruptcy) equity is one polynomial: a single segment
        for sl in slots:
            q = sl.q[:, None]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                bp = np.where(q > 0, model.floors(book, sl.index) / q, np.inf)
            bps.append(bp)
    pts = np.sort(np.concatenate([np.zeros((groups.sym.size, 1)), *bps], axis=1), axis=1)  # (Gr, nseg)
    # segments that start at +inf in every group are no segments: drop those columns
    n_seg = int(np.isfinite(pts).sum(axis=1).max(initial=1))
    pts = pts[:, :n_seg]
    lo = pts
    hi = np.concatenate([pts[:, 1:], np.full((pts.shape[0], 1), np.inf)], axis=1)
    valid_seg = np.isfinite(lo)
    with np.errstate(invalid="ignore", over="ignore"):
        mid = np.where(np.isinf(hi), np.where(lo > 0, 2.0 * lo, 1.0), 0.5 * (lo + hi))
    mid = np.where(valid_seg, mid, 1.0)
    inv = inverse[:, None]  # (Gr, 1)
    a = np.zeros(lo.shape)
    a_abs = np.zeros(lo.shape)  # magnitude of the terms summed into a (for the cancellation test)
    b = np.zeros(lo.shape)
    c = np.zeros(lo.shape)
    for sl in slots:
        q = sl.q[:, None]
        s = sl.s[:, None]
        ep = sl.ep[:, None]
        # PnL part: linear s·q·(x − EP); inverse s·q·(1/EP − x)
        a += np.where(inv, s * q / ep, -s * q * ep)
        a_abs += np.where(inv, q / ep, q * ep)
        b += np.where(inv, -s * q, s * q)
        if not maintenance:
            continue
        idx = tiers.index(table[0], q * mid) if width > 1 else np.zeros(lo.shape, dtype=np.intp)
        t = model.terms(book, sl.index, idx)
        present = sl.present[:, None]
        constant = np.where(present, t.constant, 0.0)
        per_size = np.where(present, t.per_size, 0.0)
        # the model's MM(N) = constant + (rate + fee)·N + per_size·N·coin with N = q·x;
        # coin = q (linear) or N (inverse) -> per_size·q²·x (linear) or per_size·q²·x² (inverse)
        a -= constant
        a_abs += np.abs(constant)
        b -= q * (np.where(present, t.rate, 0.0) + np.where(present, t.fee, 0.0)) + np.where(inv, 0.0, per_size * q * q)
        c -= np.where(inv, per_size * q * q, 0.0)
    # add the scenario-dependent constant: (S, Gr, 1)
    A = a[None, :, :] + const[:, :, None]
    # a constant that is only the rounding residue of cancelling terms is zero: the crossing is then at
    # x = 0, i.e. P = 0 (linear) or P = ∞ (inverse), which is no liquidation price
    A = np.where(np.abs(A) <= CANCELLATION_ULPS * np.finfo(np.float64).eps * (a_abs[None] + scale[:, :, None]), 0.0, A)
    B = np.broadcast_to(b[None], A.shape)
    C = np.broadcast_to(c[None], A.shape)
    r1, r2 = _quadratic_roots(A, B, C)
    roots = np.concatenate([r1, r2], axis=2)
    lo2 = np.concatenate([lo, lo], axis=1)[None]
    hi2 = np.concatenate([hi, hi], axis=1)[None]
    ok = np.concatenate([valid_seg, valid_seg], axis=1)[None]
    tol = PRICE_RTOL
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inside = ok & np.isfinite(roots) & (roots > 0) & (roots >= lo2 * (1 - tol)) & (roots <= hi2 * (1 + tol))
        price = np.where(inverse[None, :, None], 1.0 / roots, roots)
    inside &= np.isfinite(price) & (price > 0)
    p0 = np.where(inverse[None, :], 1.0 / x_mark, x_mark)[:, :, None]
    delta = (slots[0].s * slots[0].q + slots[1].s * slots[1].q)[None, :, None]
    healthy = (f0 > 0)[:, :, None]
    below = inside & (price < p0 * (1 + PRICE_RTOL))
    above = inside & (price > p0 * (1 - PRICE_RTOL))
    dist = np.abs(price - p0)
    loss_side = np.where(delta > 0, below, np.where(delta < 0, above, inside))
    candidates = np.where(healthy, loss_side, inside)
    best = np.where(candidates, dist, np.inf)
    pick = np.argmin(best, axis=2)
    found = np.isfinite(np.take_along_axis(best, pick[:, :, None], axis=2))[:, :, 0]
    chosen = np.take_along_axis(price, pick[:, :, None], axis=2)[:, :, 0]
    return np.where(found, chosen, np.nan)


@dataclass(frozen=True, eq=False)
class PriceLevels:
    """Liquidation and bankruptcy prices of every position (S, P); NaN where none."""

    liquidation: FloatArray
    bankruptcy: FloatArray
    #: the options' underlying price at their pool's crossing (S, O), ``None`` without options (§6.3)
    option_liquidation: FloatArray | None = None
    option_bankruptcy: FloatArray | None = None


def liquidation_prices(book: Book, evaluation: Evaluation | None = None) -> PriceLevels:
    """Liquidation and bankruptcy price of every position at the evaluation's marks (format §2).

    The price of its symbol at which its pool's equity meets the trigger (bankruptcy: reaches zero),
    every other price held, with the tier of the notional at that price; on the loss side of the
    pool's net exposure in the symbol (nearest crossing either way when flat or already past the
    trigger); NaN when no positive price qualifies.
    """
    ev = evaluation if evaluation is not None else evaluate(book)
    levels = _futures_levels(book, ev)
    if book.options is None:
        return levels
    from .option_liquidation import apply_levels, option_pool_levels

    moves = option_pool_levels(book, ev)
    assert moves is not None
    liq, bk, o_liq, o_bk = apply_levels(book, ev, moves, levels.liquidation, levels.bankruptcy)
    return PriceLevels(liq, bk, o_liq, o_bk)


def _futures_levels(book: Book, ev: Evaluation) -> PriceLevels:
    """The tiered closed form of every future (format §2); in a pool holding options, the other prices held."""
    n_s = ev.marks.shape[0]
    if book.n_positions == 0:
        empty = np.zeros((n_s, 0))
        return PriceLevels(empty, empty)
    g = groups_of(book)
    # per-position (upnl − maintenance) summed within each group, to take the group out of its pool
    pos_net = ev.upnl - ev.maintenance
    n_groups = g.pool.size
    onehot_sum = np.zeros((n_s, n_groups))
    np.add.at(onehot_sum.T, g.of_position, pos_net.T)
    upnl_sum = np.zeros((n_s, n_groups))
    np.add.at(upnl_sum.T, g.of_position, ev.upnl.T)
    pool_net = (ev.pool_equity - ev.pool_maintenance)[:, g.pool]
    const_liq = pool_net - onehot_sum
    const_bk = ev.pool_equity[:, g.pool] - upnl_sum
    inverse = book.symbol_inverse[g.sym]
    x_mark = ev.marks[:, g.sym]
    x_mark = np.where(inverse[None, :], 1.0 / x_mark, x_mark)
    summer = book.summer
    wallet_abs = np.abs(np.broadcast_to(ev.pool_equity - ev.pool_upnl, ev.pool_equity.shape))
    scale_bk = (wallet_abs + summer(np.abs(ev.upnl)))[:, g.pool]
    scale_liq = scale_bk + summer(np.abs(ev.maintenance))[:, g.pool]
    lp = _solve(book, g, const_liq, pool_net, x_mark, inverse, maintenance=True, scale=scale_liq)
    bp = _solve(book, g, const_bk, ev.pool_equity[:, g.pool], x_mark, inverse, maintenance=False, scale=scale_bk)
    return PriceLevels(liquidation=lp[:, g.of_position], bankruptcy=bp[:, g.of_position])
