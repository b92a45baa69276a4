"""Stop-loss and take-profit orders in the Monte Carlo (``portfolio-format.md`` §7 ``risk``, issue 12).

On every simulated hourly path an order fills at the FIRST HOURLY PRICE BEYOND ITS TRIGGER (the gap risk:
the price may have jumped past the trigger within the hour): a ``down`` order (a long's stop, a short's
take-profit) at the first hourly mark ``≤ trigger``, an ``up`` order (a long's take-profit, a short's stop)
at the first mark ``≥ trigger``. Closing a long is a sell at ``mark × (1 − slippage)``, closing a short a
buy at ``mark × (1 + slippage)`` (§7 ``slippage``). The realised PnL of the closed contracts
(``margin-models.md`` §0: linear ``s·q·CS·(fill − entry)``, inverse ``s·q·CS·(1/entry − 1/fill)``) stays
in the pool's wallet and the closed contracts no longer count for equity or maintenance from that hour on
(the remaining contracts' maintenance is the margin model's at their own notional and tier: the model's
:meth:`~margin.models.MarginModel.terms` and floors, valued at entry where the view values it so, Bybit
isolated §3.2). At one hour the orders fill BEFORE the pool is checked (§7 ``cascade``).

Choices where the format is silent:

- The orders of one position fill in turn as the path reaches them; at one hour, in the file's order.
  Each closes ``min(its contracts, the contracts left)``; an order that finds none left (the position was
  closed by another: a stop and a take-profit of one position, whichever comes first) is cancelled, not
  filled.
- A pool holding no open position (every one closed by its orders) is never liquidated, even when a gap
  left its wallet negative (§7's worked example: "the pool, now holding no position, is never
  liquidated"). An isolated pool keeps its margin after a partial close (no margin is released).
- A pool liquidated at or before hour 0 fills none of its orders; an order counts as filled on a path
  when its hour is ``≤`` the first liquidation hour of its position's pool in that view (the fill comes
  first at a shared hour). Other pools are unaffected by the orders (an order moves money only within its
  pool's wallet).

Output (:mod:`margin.risk_results`, only for a file with orders): per view ``probability`` with the
orders working, ``probability_without_orders`` (the same paths, orders ignored), ``probability_order_filled``
= P(at least one of the view's orders fills within the horizon before its pool's liquidation) and per
order ``probability_filled``, each with a Wilson 95 % interval (:mod:`margin.risk_intervals`). The
closed form per position (:mod:`margin.risk_positions`) ignores the orders (a note says so).

Vectorised over (hours × paths) in the simulation's chunks: per order the first crossing hour of its
symbol's hourly marks (the first ``True`` of the crossing flags along the chunk's hours, equivalent to the
running minimum / maximum reaching the trigger) and the mark there; per position its orders' closed
contracts ranked per path by (hour, file order) with one sort. A pool holding orders is valued only at
the (hour, path) entries where its value can decide its first liquidation: from its first fill (the pool
before it is the pool without orders, so the simulation values it only on the paths where one of its
orders has filled and the pool was not liquidated first) while one of its positions is open (sizes only
fall: a pool is open until its last position's closing hour). Its value there is the sum of flat
gathers, never a (positions × hours × paths) block: a cross pool as its separable value
(:mod:`margin.risk_separable`, orders ignored) plus, for each of its positions with a fill by then, the
net at the remaining size minus the net at full size (``−net_full`` for a position closed whole), an
isolated pool (one position) or a pool without a separable value in full; plus the realised PnL of its
filled orders. The net at full size is a lookup in per position tables (the segment terms of every tier,
:func:`full_size_terms`; the tier by the floors that the chunk's marks can straddle); a partly closed
position is priced elementwise by :func:`position_net_at`. The sums run in another order than the sum
over the pool's positions of :func:`position_net` (``np.add.reduceat``); where a value is within its
rounding bound of 0 it is summed again in that order, so every liquidation flag is the one of the
direct evaluation (``tests/test_risk_orders.py``). Pools without orders keep the separable first touch
(the same numbers as without orders).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import Book, evaluate
from .models import NetTerms, net_terms
from .portfolio import Resolved
from .risk_separable import NEVER

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
HourArray = npt.NDArray[np.int32]

#: elements of one block of (positions × hours × paths) when a pool holding orders is valued
BLOCK_ELEMENTS = 1_000_000
#: a position with at most this fraction of its size left is closed (rounding of the sums of contracts)
CLOSED_RTOL = 1e-12


#: a sum of ``n`` terms within ``EXACT_GUARD·(n + 4)·2⁻⁵³·Σ|terms|`` of 0 is summed again in the reference order
EXACT_GUARD = 4.0
#: the unit roundoff of float64
UNIT_ROUNDOFF = 2.0**-53
#: past every hour (int64): a position or pool not closed within the chunk
LATER = np.int64(2**40)


def _expand(lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> tuple[IntArray, npt.NDArray[np.int64]]:
    """The intervals ``[lo_k, hi_k]`` (``hi ≥ lo``) as flat elements: each element's interval ``k`` and hour."""
    n = hi - lo + 1
    k = np.repeat(np.arange(n.size, dtype=np.intp), n)
    start = np.cumsum(n) - n
    return k, lo[k] + (np.arange(k.size, dtype=np.int64) - start[k])


@dataclass(frozen=True, eq=False)
class OrderArrays:
    """The orders of a portfolio as arrays (file order): ``position`` the book position (leg) each closes,
    ``asset`` its symbol's column in the market model, ``down`` fills when the mark falls to the trigger,
    ``size`` the contracts it closes × contract size, ``factor`` the fill's ``1 ∓ slippage``."""

    ids: tuple[str, ...]
    position: IntArray
    asset: IntArray
    mark0: FloatArray
    trigger: FloatArray
    down: BoolArray
    size: FloatArray
    factor: FloatArray

    @classmethod
    def of(cls, resolved: Resolved, book: Book, pos_asset: IntArray) -> OrderArrays:
        """From ``resolved.portfolio.orders`` and ``resolved.order_legs`` (book positions are legs)."""
        orders = resolved.portfolio.orders
        legs = np.array(resolved.order_legs, dtype=np.intp)
        slip = resolved.slippage
        long = book.sign[legs] > 0
        stop = np.array([o.type == "stop" for o in orders], dtype=bool)
        contracts = np.array(
            [
                resolved.legs[k].position.contracts if o.contracts is None else o.contracts
                for o, k in zip(orders, resolved.order_legs, strict=True)
            ],
            dtype=np.float64,
        )
        cs = np.array([resolved.legs[k].contract_size for k in resolved.order_legs], dtype=np.float64)
        return cls(
            ids=tuple(o.label for o in orders),
            position=legs,
            asset=np.asarray(pos_asset[legs], dtype=np.intp),
            mark0=np.asarray(book.marks[book.sym[legs]], dtype=np.float64),
            trigger=np.array([o.trigger_price for o in orders], dtype=np.float64),
            down=long == stop,
            size=contracts * cs,
            factor=np.where(long, 1.0 - slip, 1.0 + slip),
        )

    @property
    def n(self) -> int:
        return len(self.ids)


def position_net(book: Book, idx: IntArray, size: FloatArray, mark: FloatArray) -> FloatArray:
    """``UPNL − maintenance`` of positions ``idx`` (m,) at sizes ``size`` and marks ``mark`` (m, …).

    The margin model's segment terms (:func:`margin.models.net_terms`, ``margin-models.md`` §0.1 (E)) at
    the tier of the notional ``size·P`` (linear) or ``size/P`` (inverse), §1.1 [bracket_lookup] (floors
    ``≤`` the notional); a position valued at entry (Bybit isolated, §3.2) keeps one segment whose
    constant is the maintenance at the entry notional of ``size``; a size of 0 counts 0.
    """
    extra = (1,) * (size.ndim - 1)
    col = (idx.size, *extra)
    inv = book.inverse[idx].reshape(col)
    notional = np.where(inv, size / mark, size * mark)
    floors = book.model.floors(book, idx)
    tier = np.zeros(size.shape, dtype=np.intp)
    for j in range(floors.shape[1]):  # over tier columns, never positions or paths
        tier += notional >= floors[:, j].reshape(col)
    terms = book.model.terms(book, idx, tier)
    at = np.flatnonzero(book.at_entry[idx])
    if at.size:
        constant = np.array(np.broadcast_to(terms.constant, size.shape), dtype=np.float64)
        for r in at:  # positions valued at entry: their maintenance at the entry notional of each size
            i = int(idx[r])
            sizes, where = np.unique(size[r], return_inverse=True)
            entry_n = sizes / book.entry[i] if bool(book.inverse[i]) else sizes * book.entry[i]
            mm = book.model.at_sizes(book, i, sizes, float(book.entry[i])) - book.fee[i] * entry_n
            constant[r] = mm[where].reshape(size.shape[1:])
        terms = type(terms)(constant, terms.rate, terms.per_size, terms.fee)
    net = net_terms(book.sign[idx].reshape(col), size, book.entry[idx].reshape(col), inv, terms)
    value = net.alpha * mark + net.beta + net.gamma / mark + net.delta / (mark * mark)
    return np.asarray(np.where(size > 0, value, 0.0), dtype=np.float64)


def _entry_constant(book: Book, i: int, sizes: FloatArray) -> FloatArray:
    """Maintenance of position ``i`` valued at entry (Bybit isolated, ``margin-models.md`` §3.2) at the
    entry notional of each size, less the fee term that :func:`~margin.models.net_terms` adds back."""
    entry_n = sizes / book.entry[i] if bool(book.inverse[i]) else sizes * book.entry[i]
    return np.asarray(book.model.at_sizes(book, i, sizes, float(book.entry[i])) - book.fee[i] * entry_n)


def position_net_at(book: Book, pos: IntArray, size: FloatArray, mark: FloatArray) -> FloatArray:
    """:func:`position_net` elementwise on flat arrays: position ``pos[k]`` at ``size[k]`` and ``mark[k]``
    (the same operations on each element, so the same numbers)."""
    inv = book.inverse[pos]
    notional = np.where(inv, size / mark, size * mark)
    held, back = np.unique(pos, return_inverse=True)
    floors = book.model.floors(book, held)
    tier = np.zeros(size.shape, dtype=np.intp)
    for j in range(floors.shape[1]):  # over tier columns, never positions or paths
        tier += notional >= floors[back, j]
    terms = book.model.terms(book, pos, tier)
    at = book.at_entry[pos]
    if at.any():
        constant = np.array(np.broadcast_to(terms.constant, size.shape), dtype=np.float64)
        for i in np.unique(pos[at]):  # positions valued at entry (rare): their constant per size
            k = np.flatnonzero(pos == i)
            sizes, where = np.unique(size[k], return_inverse=True)
            constant[k] = _entry_constant(book, int(i), sizes)[where]
        terms = type(terms)(constant, terms.rate, terms.per_size, terms.fee)
    net = net_terms(book.sign[pos], size, book.entry[pos], inv, terms)
    value = net.alpha * mark + net.beta + net.gamma / mark + net.delta / (mark * mark)
    return np.asarray(np.where(size > 0, value, 0.0), dtype=np.float64)


def full_size_terms(book: Book, idx: IntArray) -> NetTerms:
    """(len(idx), K) the mark-space terms of positions ``idx`` at their full size on each tier ``k``
    (:func:`~margin.models.net_terms`, ``margin-models.md`` §0.1 (E)), a position valued at entry with
    its entry maintenance (§3.2), as :func:`position_net` computes them; zeros for a size of 0."""
    size = book.size[idx]
    k = book.model.floors(book, idx).shape[1] + 1
    tier = np.repeat(np.arange(k, dtype=np.intp)[None, :], idx.size, axis=0)
    terms = book.model.terms(book, idx, tier)
    at = np.flatnonzero(book.at_entry[idx])
    if at.size:
        constant = np.array(np.broadcast_to(terms.constant, tier.shape), dtype=np.float64)
        for r in at:  # positions valued at entry, once per view: their constant at the full size
            constant[r] = _entry_constant(book, int(idx[r]), size[r : r + 1])[0]
        terms = type(terms)(constant, terms.rate, terms.per_size, terms.fee)
    col = (idx.size, 1)
    net = net_terms(
        book.sign[idx].reshape(col),
        size.reshape(col),
        book.entry[idx].reshape(col),
        book.inverse[idx].reshape(col),
        terms,
    )
    held = (size > 0)[:, None]
    return NetTerms(
        *(
            np.asarray(np.where(held, np.broadcast_to(t, tier.shape), 0.0), dtype=np.float64)
            for t in (net.alpha, net.beta, net.gamma, net.delta)
        )
    )


@dataclass(frozen=True, eq=False)
class _ViewPools:
    """The pools of one view holding orders (``pools``, G), valued together.

    ``rows`` the positions valued, contiguous per pool from ``row_start``: every member of a pool valued
    in full, only the positions with orders of a pool valued from its separable value (``unique ≥ 0``, its
    row in the cross pools' values; ``base_row`` marks them: their net at full size is taken out);
    ``order_row`` / ``order_pool`` each order's row and pool; ``fixed_open`` a member without orders;
    ``liq`` (G, paths) the first liquidation hours so far."""

    view: str
    pools: IntArray
    rows: IntArray
    row_start: IntArray
    base_row: BoolArray
    order_row: IntArray
    order_pool: IntArray
    wallet: FloatArray
    weight: FloatArray  # (n_collateral, G) amount × (1 − haircut), zeros for an isolated pool
    unique: IntArray
    fixed_open: BoolArray
    liq: HourArray
    separable: IntArray  # each pool's unique pool in the separable first touch (−1: not given)
    row_pool: IntArray  # (rows,) each row's pool
    row_orders: IntArray  # (rows, most orders of a row) each row's orders in file order, −1 padded
    full: FloatArray  # (rows,) full size (contracts × contract size)
    terms: NetTerms  # (2·rows, tiers) net terms at full size (:func:`full_size_terms`), then negated
    floors: FloatArray  # (rows, tiers − 1)
    own_slot: IntArray  # (G,) each pool's place among the pools valued in full (−1: separable)
    n_terms: IntArray  # (G,) the terms of a pool's value: rows + orders


@dataclass(frozen=True, eq=False)
class OrderOutcome:
    """Per view the pools' first liquidation hours with the orders working (paths, G) and each order's
    fill hour (paths, orders; ``NEVER``: not filled); per order and path the first hour its symbol is
    beyond the trigger, the fill price there, the contracts × contract size closed and the realised PnL
    (as if its pool were never liquidated)."""

    first: dict[str, HourArray]
    fills: dict[str, HourArray]
    hour: HourArray
    fill_price: FloatArray
    closed: FloatArray
    realized: FloatArray


def _stacked(t: NetTerms) -> NetTerms:
    """The terms over the terms negated (rows doubled): ``−(α·P + β + γ/P + δ/P²)`` with the negated terms
    is exactly the negated value (rounding is symmetric)."""
    return NetTerms(*(np.concatenate([x, -x]) for x in (t.alpha, t.beta, t.gamma, t.delta)))


#: kinds of a row's term in its pool's value: its net at full size, minus it (closed whole, separable pool),
#: its net at the remaining size less the net at full size (separable pool), its net at the remaining size
FULL, MINUS_FULL, PART_LESS_FULL, PART = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class _Block:
    """One block of a chunk's paths (P): the ratios (A, s, P) of hours ``t0 + 1 …``, collateral prices,
    separable values of the cross pools (n_cross, s, P), and per order (orders, P) the contracts closed, the
    realised PnL and the crossing hour."""

    t0: int
    ratio: FloatArray
    cp: FloatArray | None
    base: FloatArray | None
    closed: FloatArray
    realized: FloatArray
    hour: HourArray


@dataclass(frozen=True, eq=False)
class _Segments:
    """The fills of a block (``ev_o``, ``ev_p``, ``ev_h``: order, path, hour; every fill that closes
    contracts) and the sizes they leave: from hour ``h`` to ``end`` row ``r`` on path ``p`` has ``size``
    (one segment per (row, path, fill hour), sorted so); ``zero`` / ``start`` (rows, P) the hour a row is
    closed and its first fill (``LATER``: none)."""

    ev_o: IntArray
    ev_p: IntArray
    ev_h: npt.NDArray[np.int64]
    r: IntArray
    p: IntArray
    h: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    size: FloatArray
    zero: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]


class OrderPaths:
    """The orders along the simulated paths (module docstring), fed the hourly ratios chunk by chunk.

    ``books``: the compiled views; ``pos_asset`` (positions,) each position's asset column; ``paths``;
    ``cross_rows`` (optional, view → (G,)): each pool's row in the separable values of the cross pools
    that :meth:`chunk` is then given (``Triggers.view_pools``; rows ``≥ n_cross`` or −1: none).
    :meth:`chunk` takes the ratios of hours ``t0 + 1 … t0 + s`` (A, s, paths), the collateral prices
    (n_collateral, s, paths) or ``None`` and those values (n_cross, s, paths) or ``None``; :meth:`outcome`
    merges the pools holding orders into the first liquidation hours of the simulation without orders.
    """

    def __init__(
        self,
        resolved: Resolved,
        books: Mapping[str, Book],
        pos_asset: IntArray,
        paths: int,
        cross_rows: Mapping[str, IntArray] | None = None,
        n_cross: int = 0,
    ) -> None:
        first_book = next(iter(books.values()))
        self.books = dict(books)
        self.paths = paths
        self.orders = o = OrderArrays.of(resolved, first_book, pos_asset)
        self.pos_asset = pos_asset
        self.mark0 = np.asarray(first_book.marks[first_book.sym], dtype=np.float64)
        self.coll0 = first_book.collateral_price
        self.hour = np.full((o.n, paths), NEVER, dtype=np.int32)
        self.fill_price = np.full((o.n, paths), np.nan)
        # orders grouped by position (stable): the rows of one position are contiguous in ``self.rank``
        self.rank = np.argsort(o.position, kind="stable").astype(np.intp)
        pos_sorted = o.position[self.rank]
        starts = np.flatnonzero(np.r_[True, pos_sorted[1:] != pos_sorted[:-1]])
        self.group_start = np.repeat(starts, np.diff(np.r_[starts, o.n]))
        self.views = [self._view_pools(v, bk, cross_rows, n_cross) for v, bk in books.items()]

    def _view_pools(self, view: str, bk: Book, cross_rows: Mapping[str, IntArray] | None, n_cross: int) -> _ViewPools:
        """The pools of ``view`` holding orders (class :class:`_ViewPools`)."""
        o = self.orders
        pools = np.unique(bk.pool[o.position]).astype(np.intp)
        rows_of = {int(g): np.flatnonzero(bk.pool == g).astype(np.intp) for g in pools}
        own = {int(g): np.unique(o.position[bk.pool[o.position] == g]).astype(np.intp) for g in pools}
        given = np.full(bk.n_pools, -1, dtype=np.intp) if cross_rows is None else cross_rows[view]
        cross = np.array([bk.pool_mode[g] == "cross" for g in pools], dtype=bool)
        unique = np.where(cross & (given[pools] >= 0) & (given[pools] < n_cross), given[pools], -1).astype(np.intp)
        valued = [own[int(g)] if u >= 0 else rows_of[int(g)] for g, u in zip(pools, unique, strict=True)]
        rows = np.concatenate(valued).astype(np.intp)
        counts = np.array([v.size for v in valued], dtype=np.intp)
        row_start = (np.cumsum(counts) - counts).astype(np.intp)
        local = np.searchsorted(pools, bk.pool[o.position]).astype(np.intp)
        # each order's row: its position inside its pool's block of rows
        order_row = np.array(
            [row_start[k] + int(np.searchsorted(valued[k], pos)) for k, pos in zip(local, o.position, strict=True)],
            dtype=np.intp,
        )
        weight = bk.collateral_weight[:, pools] if bk.collateral_assets else np.zeros((0, pools.size))
        now = evaluate(bk).pool_liquidated[0][pools]
        row_pool = np.repeat(np.arange(pools.size, dtype=np.intp), counts)
        # each row's orders in file order (the order the contracts closed are summed in)
        per_row = np.bincount(order_row, minlength=rows.size)
        by_row = np.argsort(order_row, kind="stable").astype(np.intp)
        slot = np.arange(o.n) - (np.cumsum(per_row) - per_row)[order_row[by_row]]
        row_orders = np.full((rows.size, max(1, int(per_row.max(initial=0)))), -1, dtype=np.intp)
        row_orders[order_row[by_row], slot] = by_row
        in_full = unique < 0
        own_slot = np.where(in_full, np.cumsum(in_full) - 1, -1).astype(np.intp)
        n_terms = counts + np.bincount(local, minlength=pools.size)
        return _ViewPools(
            view=view,
            pools=pools,
            rows=rows,
            row_start=row_start,
            base_row=np.repeat(unique >= 0, counts),
            order_row=order_row,
            order_pool=local,
            wallet=np.asarray(bk.pool_wallet[pools], dtype=np.float64),
            weight=np.asarray(weight, dtype=np.float64),
            unique=unique,
            fixed_open=np.array([rows_of[int(g)].size > own[int(g)].size for g in pools], dtype=bool),
            separable=np.asarray(given[pools], dtype=np.intp),
            liq=np.where(now[:, None], 0, NEVER).astype(np.int32) * np.ones((1, self.paths), dtype=np.int32),
            row_pool=row_pool,
            row_orders=row_orders,
            full=np.asarray(bk.size[rows], dtype=np.float64),
            terms=_stacked(full_size_terms(bk, rows)),
            floors=np.asarray(bk.model.floors(bk, rows), dtype=np.float64),
            own_slot=own_slot,
            n_terms=n_terms.astype(np.intp),
        )

    # ---------------------------------------------------------------- per order

    def _cross(self, t0: int, ratio: FloatArray) -> None:
        """First hour of each order's symbol beyond its trigger in this chunk, where none was before."""
        o = self.orders
        # the orders in blocks, so that a block's (orders, s, paths) arrays stay below BLOCK_ELEMENTS
        step = max(1, BLOCK_ELEMENTS // max(1, ratio.shape[1] * ratio.shape[2]))
        for lo in range(0, o.n, step):  # over blocks of orders, never positions, hours or paths
            sl = slice(lo, min(o.n, lo + step))
            mark = o.mark0[sl, None, None] * ratio[o.asset[sl]]  # (block, s, paths)
            trig = o.trigger[sl, None, None]
            crossed = np.where(o.down[sl, None, None], mark <= trig, mark >= trig)
            k = crossed.argmax(axis=1)  # the first True along the hours (0 when none)
            new = crossed.any(axis=1) & (self.hour[sl] == NEVER)
            if new.any():
                at = np.take_along_axis(mark, k[:, None, :], axis=1)[:, 0]
                hour, price = self.hour[sl], self.fill_price[sl]
                hour[new] = (t0 + 1 + k[new]).astype(np.int32)
                price[new] = (at * o.factor[sl, None])[new]

    def closed(self) -> FloatArray:
        """Contracts × contract size each order closes (orders, paths), its pool never liquidated: per
        position in (hour, file order), ``clip(size − sizes of the earlier ones, 0, its size)``; 0 unfilled."""
        o = self.orders
        size = self.books[next(iter(self.books))].size
        hour = np.minimum(self.hour[self.rank], 2**20).astype(np.int64)  # NEVER sorts last
        slot = np.arange(o.n, dtype=np.int64)[:, None]
        # rows keep their position's block (grouped by position); inside it, sorted by (hour, file order)
        key = self.group_start[:, None].astype(np.int64) * (2**40) + hour * (o.n + 1) + slot
        rows = self.rank[np.argsort(key, axis=0, kind="stable")]  # (orders, paths): the order at each slot
        c = o.size[rows]
        prior = np.zeros_like(c)
        for d in range(1, int(np.max(slot[:, 0] - self.group_start, initial=0)) + 1):  # offsets in a block
            back = np.flatnonzero(slot[:, 0] - self.group_start >= d)
            prior[back] += c[back - d]
        left = size[o.position[rows]] - prior
        closed_sorted = np.clip(left, 0.0, c)
        closed_sorted = np.where(closed_sorted <= CLOSED_RTOL * size[o.position[rows]], 0.0, closed_sorted)
        out = np.zeros((o.n, self.paths))
        np.put_along_axis(out, rows, closed_sorted, axis=0)
        return np.asarray(np.where(self.hour != NEVER, out, 0.0), dtype=np.float64)

    def realized(self, closed: FloatArray) -> FloatArray:
        """Realised PnL (orders, paths) of ``closed`` at the fill prices (``margin-models.md`` §0)."""
        o = self.orders
        bk = self.books[next(iter(self.books))]
        s = bk.sign[o.position][:, None]
        ep = bk.entry[o.position][:, None]
        inv = bk.inverse[o.position][:, None]
        fill = np.where(closed > 0, self.fill_price, ep)
        return np.asarray(
            np.where(inv, s * closed * (1.0 / ep - 1.0 / fill), s * closed * (fill - ep)), dtype=np.float64
        )

    # ---------------------------------------------------------------- per pool

    def _first_fill(self, vp: _ViewPools) -> HourArray:
        """(G, paths) the first hour an order of each pool fills (its pool never liquidated; ``NEVER``)."""
        first = np.full((vp.pools.size, self.paths), NEVER, dtype=np.int32)
        np.minimum.at(first, vp.order_pool, self.hour)
        return first

    def chunk(
        self,
        t0: int,
        ratio: FloatArray,
        collateral_prices: FloatArray | None,
        cross_values: FloatArray | None = None,
        known: Callable[[IntArray], HourArray] | None = None,
    ) -> None:
        """Fill the orders and check the pools holding orders at hours ``t0 + 1 … t0 + s`` (class doc).

        ``known`` (optional): the separable first liquidation hours so far (orders ignored) of unique
        pools (k,) → (k, paths). Before its first fill a pool is the pool without orders, so with it a
        pool is valued only on the paths where an order has filled by the chunk's end and the pool was
        not liquidated before that fill, and only from that hour on (:meth:`outcome` merges the two)."""
        self._cross(t0, ratio)
        closed = self.closed()
        realized = self.realized(closed)
        steps = ratio.shape[1]
        end = t0 + steps
        for vp in self.views:
            if cross_values is None and vp.base_row.any():
                raise ValueError("cross_values are required when OrderPaths is given cross_rows")
            need = vp.liq == NEVER
            fill = self._first_fill(vp)
            if known is not None:
                need &= (fill <= end) & ~(known(vp.separable) < fill)
            else:
                fill[:] = 0
            live = np.flatnonzero(need.any(axis=0))
            # the flat arrays of a block hold at most (rows + orders) × s × paths elements
            block = max(1, BLOCK_ELEMENTS // max(1, (vp.rows.size + self.orders.n) * steps))
            for b0 in range(0, live.size, block):  # blocks of paths bound the memory
                p = live[b0 : b0 + block]
                cp = None if collateral_prices is None else collateral_prices[:, :, p]
                base = None if cross_values is None else cross_values[:, :, p]
                sub_ratio = np.ascontiguousarray(ratio[:, :, p])
                at = _Block(t0, sub_ratio, cp, base, closed[:, p], realized[:, p], self.hour[:, p])
                first = self._first_hits(vp, at, fill[:, p], need[:, p])
                sub = vp.liq[:, p]
                new = (first != NEVER) & (sub == NEVER)
                sub[new] = first[new]
                vp.liq[:, p] = sub

    def _first_hits(self, vp: _ViewPools, at: _Block, fill: HourArray, need: BoolArray) -> HourArray:
        """(G, P) the first hour of the block ``≥ fill`` at which each pool (``need``) is liquidated: open
        positions and ``wallet + realised PnL + Σ net + collateral moves ≤ 0`` (format §2), each order's
        contracts gone from its hour on (the fill comes before the check); ``NEVER``: none.

        A pool with a separable value (``at.base``, the cross pools' ``wallet + Σ net + collateral
        moves`` with the orders ignored) has only its positions with a fill valued: their net at the
        remaining size replaces their net at full size (module docstring)."""
        n_g, steps, n_p = vp.pools.size, at.ratio.shape[1], at.ratio.shape[2]
        end = at.t0 + steps
        base_row = vp.base_row if at.base is not None else np.zeros(vp.rows.size, dtype=bool)
        seg = self._segments(vp, at, end)
        # a pool is open until the last of its positions closes (sizes only fall), or for ever with a member
        # without orders
        close = np.maximum.reduceat(seg.zero, vp.row_start, axis=0)
        close[vp.fixed_open] = LATER
        lo = np.maximum(fill.astype(np.int64), at.t0 + 1)
        hi = np.minimum(close - 1, end)
        valid = need & (lo <= hi)
        count = np.where(valid, hi - lo + 1, 0).ravel()
        if not count.any():
            return np.full((n_g, n_p), NEVER, dtype=np.int32)
        # the entries: (pool, path) with hours lo … hi, sorted so; a grid (valid pairs, steps) holds them too
        lo_f = lo.ravel()
        off = np.cumsum(count) - count
        pairs = np.flatnonzero(count)
        grid_row = np.full(count.size, -1, dtype=np.intp)
        grid_row[pairs] = np.arange(pairs.size)
        k_e, e_h = _expand(lo_f[pairs], hi.ravel()[pairs])
        e_gp = pairs[k_e]
        n_e = e_h.size
        e_g, e_p = e_gp // n_p, e_gp % n_p
        in_grid = grid_row[e_gp] * steps + (e_h - lo_f[e_gp])

        # the positions' terms, over intervals of hours at one size
        r, p, a, b, size, kind = self._intervals(vp, seg, base_row, lo, hi, valid)
        n = b - a + 1
        k = np.repeat(np.arange(n.size, dtype=np.intp), n)
        start = np.cumsum(n) - n
        gp = vp.row_pool[r] * n_p + p
        step_e = np.arange(k.size, dtype=np.int64)
        c_e = (off[gp] + (a - lo_f[gp]) - start)[k] + step_e  # each term's entry
        rows = vp.rows[r]
        cell = (self.pos_asset[rows] * steps + (a - at.t0 - 1) - start) * n_p + p
        step_e *= n_p
        mark = self.mark0[rows][k] * at.ratio.ravel()[cell[k] + step_e]
        # a separable pool's row takes out its net at full size: the negated terms give −net exactly
        net = self._full_net(vp, at, r, k, mark, base_row[r])
        part = np.flatnonzero(kind[k] >= PART_LESS_FULL)
        if part.size:
            priced = position_net_at(self.books[vp.view], rows[k[part]], size[k[part]], mark[part])
            net[part] = np.where(kind[k[part]] == PART_LESS_FULL, priced + net[part], priced)

        # the realised PnL of each filled order, from its hour on: a step function per (pool, path)
        gp_o = vp.order_pool[seg.ev_o] * n_p + seg.ev_p
        a_o = np.maximum(seg.ev_h, lo_f[gp_o])
        ok = valid.ravel()[gp_o] & (a_o <= hi.ravel()[gp_o])
        r_val = at.realized[seg.ev_o, seg.ev_p][ok]
        at_o = grid_row[gp_o[ok]] * steps + (a_o[ok] - lo_f[gp_o[ok]])
        size_grid = pairs.size * steps
        realized = np.bincount(at_o, r_val, size_grid).reshape(-1, steps).cumsum(axis=1).ravel()[in_grid]
        realized_abs = np.bincount(at_o, np.abs(r_val), size_grid).reshape(-1, steps).cumsum(axis=1)
        value = np.bincount(c_e, net, n_e) + realized
        scale = np.bincount(c_e, np.abs(net), n_e) + realized_abs.ravel()[in_grid]
        value, scale = self._finish(vp, at, value, e_g, e_h, e_p, scale)
        # within its rounding bound of 0: summed again as position_net's sum over the pool's rows does
        exact = np.flatnonzero(np.abs(value) <= EXACT_GUARD * (vp.n_terms[e_g] + 4) * UNIT_ROUNDOFF * scale)
        if exact.size:
            value[exact] = self._exact(vp, at, seg, exact, (e_g, e_h, e_p), (c_e, net, r[k]))
        hit = value <= 0.0
        first = np.full(n_g * n_p, NEVER, dtype=np.int32)
        np.minimum.at(first, e_gp[hit], e_h[hit].astype(np.int32))
        return first.reshape(n_g, n_p)

    def _exact(
        self,
        vp: _ViewPools,
        at: _Block,
        seg: _Segments,
        exact: IntArray,
        entries: tuple[IntArray, npt.NDArray[np.int64], IntArray],
        terms: tuple[npt.NDArray[np.int64], FloatArray, IntArray],
    ) -> FloatArray:
        """The values at entries ``exact`` summed in the reference order: per pool ``np.add.reduceat`` over
        its rows (0 for a row without a term), then each filled order's realised PnL in file order, then
        :meth:`_finish` (the operations of the direct evaluation, so the same numbers)."""
        e_g, e_h, e_p = entries
        c_e, net, c_r = terms
        n_p = at.ratio.shape[2]
        gp_o = vp.order_pool[seg.ev_o] * n_p + seg.ev_p
        by_pair = np.argsort(gp_o, kind="stable")  # file order within a (pool, path)
        pair_o = gp_o[by_pair]
        out = np.empty(exact.size)
        step = max(1, BLOCK_ELEMENTS // max(1, vp.rows.size))
        for x0 in range(0, exact.size, step):  # blocks of the (rare) entries near 0 bound the memory
            e = exact[x0 : x0 + step]
            where = np.full(e_h.size, -1, dtype=np.intp)
            where[e] = np.arange(e.size)
            sel = where[c_e] >= 0
            dense = np.zeros((vp.rows.size, e.size))
            dense[c_r[sel], where[c_e[sel]]] = net[sel]
            again = np.add.reduceat(dense, vp.row_start, axis=0)[e_g[e], np.arange(e.size)]
            gp = e_g[e] * n_p + e_p[e]
            first, last = np.searchsorted(pair_o, gp, "left"), np.searchsorted(pair_o, gp, "right")
            j, pos = _expand(first.astype(np.int64), last.astype(np.int64) - 1)
            o = by_pair[pos]
            filled = seg.ev_h[o] <= e_h[e][j]
            np.add.at(again, j[filled], at.realized[seg.ev_o[o[filled]], seg.ev_p[o[filled]]])
            out[x0 : x0 + e.size] = self._finish(vp, at, again, e_g[e], e_h[e], e_p[e], None)[0]
        return out

    def _segments(self, vp: _ViewPools, at: _Block, end: int) -> _Segments:
        """The sizes of the view's rows with fills on the block's paths, from each fill on (class
        :class:`_Segments`): the contracts closed by a row's orders filled by then, summed in file order."""
        n_p = at.closed.shape[1]
        ev_o, ev_p = np.nonzero(at.closed > 0)  # every fill that closes contracts (orders, then paths)
        ev_o, ev_p = ev_o.astype(np.intp), ev_p.astype(np.intp)
        ev_h = at.hour[ev_o, ev_p].astype(np.int64)
        ev_r = vp.order_row[ev_o]
        gone = np.zeros(ev_o.size)
        for j in range(vp.row_orders.shape[1]):  # over the orders of one row (a few), never positions
            other = vp.row_orders[ev_r, j]
            has = other >= 0
            other = np.where(has, other, 0)
            counted = has & (at.hour[other, ev_p] <= ev_h)
            gone = gone + np.where(counted, at.closed[other, ev_p], 0.0)
        full = vp.full[ev_r]
        size = full - gone
        size = np.where(size <= CLOSED_RTOL * full, 0.0, size)
        # one segment per (row, path, hour), in that order; it lasts until the row's next fill
        key = (ev_r.astype(np.int64) * n_p + ev_p) * (end + 2) + ev_h
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.r_[True, key[1:] != key[:-1]] if key.size else np.zeros(0, dtype=bool)
        pick = order[first]
        s_r, s_p, s_h, s_size = ev_r[pick], ev_p[pick], ev_h[pick], size[pick]
        rp = s_r.astype(np.int64) * n_p + s_p
        last = np.r_[rp[1:] != rp[:-1], True] if rp.size else np.zeros(0, dtype=bool)
        s_end = np.where(last, end, np.r_[s_h[1:], 0] - 1)
        zero = np.full(vp.rows.size * n_p, LATER, dtype=np.int64)
        np.minimum.at(zero, rp[s_size == 0.0], s_h[s_size == 0.0])
        start = np.full(vp.rows.size * n_p, LATER, dtype=np.int64)
        np.minimum.at(start, rp, s_h)
        return _Segments(
            ev_o=ev_o,
            ev_p=ev_p,
            ev_h=ev_h,
            r=s_r,
            p=s_p,
            h=s_h,
            end=s_end.astype(np.int64),
            size=s_size,
            zero=zero.reshape(vp.rows.size, n_p),
            start=start.reshape(vp.rows.size, n_p),
        )

    def _intervals(
        self,
        vp: _ViewPools,
        seg: _Segments,
        base_row: BoolArray,
        lo: npt.NDArray[np.int64],
        hi: npt.NDArray[np.int64],
        valid: BoolArray,
    ) -> tuple[IntArray, IntArray, npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray, IntArray]:
        """The hours ``[a, b]`` (inside each pool's ``[lo, hi]``) at which a row has one size and a term in
        its pool's value: row, path, a, b, size, kind. A row of a pool with a separable value counts only
        from its first fill (its net at the remaining size less its net at full size); a row of a pool
        valued in full counts while open, at full size before its first fill."""
        n_p = valid.shape[1]
        gp = vp.row_pool[seg.r] * n_p + seg.p
        a = np.maximum(seg.h, lo.ravel()[gp])
        b = np.minimum(seg.end, hi.ravel()[gp])
        whole = seg.size == vp.full[seg.r]
        in_base = base_row[seg.r]
        kind = np.where(
            in_base,
            np.where(seg.size == 0.0, MINUS_FULL, PART_LESS_FULL),
            np.where(whole, FULL, PART),
        ).astype(np.intp)
        keep = valid.ravel()[gp] & (a <= b) & np.where(in_base, ~whole, seg.size > 0.0)
        # the rows of pools valued in full, at full size until their first fill
        own_rows = np.flatnonzero(~base_row)
        g = vp.row_pool[own_rows]
        mask = valid[g]
        rr, pp = np.nonzero(mask)
        r0, g0 = own_rows[rr], g[rr]
        a0 = lo[g0, pp]
        b0 = np.minimum(hi[g0, pp], seg.start[r0, pp] - 1)
        keep0 = a0 <= b0
        return (
            np.r_[seg.r[keep], r0[keep0]].astype(np.intp),
            np.r_[seg.p[keep], pp[keep0]].astype(np.intp),
            np.r_[a[keep], a0[keep0]].astype(np.int64),
            np.r_[b[keep], b0[keep0]].astype(np.int64),
            np.r_[seg.size[keep], vp.full[r0[keep0]]],
            np.r_[kind[keep], np.full(int(keep0.sum()), FULL, dtype=np.intp)].astype(np.intp),
        )

    def _full_net(
        self, vp: _ViewPools, at: _Block, r: IntArray, k: IntArray, mark: FloatArray, negate: BoolArray
    ) -> FloatArray:
        """:func:`position_net` at full size and ``mark`` of the terms ``k`` of intervals of rows ``r``
        (``−`` it where ``negate``): the tier of the notional (``margin-models.md`` §1.1, floors ``≤`` the
        notional) counted from the floors below every mark of the block plus those the block's marks
        straddle, then the row's terms on that tier."""
        rows = vp.rows
        asset = self.pos_asset[rows]
        low = self.mark0[rows] * at.ratio.min(axis=(1, 2))[asset]
        high = self.mark0[rows] * at.ratio.max(axis=(1, 2))[asset]
        inv = self.books[vp.view].inverse[rows]
        n_low = np.where(inv, vp.full / high, vp.full * low)  # the notional is monotone in the mark
        n_high = np.where(inv, vp.full / low, vp.full * high)
        below = vp.floors <= n_low[:, None]
        straddle = ~below & (vp.floors <= n_high[:, None])
        n_tiers = vp.floors.shape[1] + 1
        # the stacked tables (terms, −terms): the row's place in them and its tier below every mark
        flat = ((r + negate * rows.size) * n_tiers + below.sum(axis=1)[r])[k]
        if straddle[r].any():
            cut = np.sort(np.where(straddle, vp.floors, np.inf), axis=1)[r]
            full = vp.full[r][k]
            notional = np.where(inv[r][k], full / mark, full * mark) if inv.any() else full * mark
            for d in range(int(straddle[r].sum(axis=1).max())):  # over straddled tier columns, never positions
                flat += notional >= cut[:, d][k]
        t = vp.terms
        value = np.take(t.alpha, flat) * mark + np.take(t.beta, flat)
        if inv.any():
            i = np.flatnonzero(inv[r][k])
            m = mark[i]
            value[i] = value[i] + np.take(t.gamma, flat[i]) / m + np.take(t.delta, flat[i]) / (m * m)
        return np.asarray(value, dtype=np.float64)

    def _finish(
        self,
        vp: _ViewPools,
        at: _Block,
        value: FloatArray,
        g: IntArray,
        h: npt.NDArray[np.int64],
        p: IntArray,
        scale: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray | None]:
        """Add to the positions' sums ``value`` at entries (pool ``g``, hour ``h``, path ``p``) the wallet
        and collateral moves of a pool valued in full, the separable value of the others (format §2)."""
        own = vp.unique[g] < 0
        j = h - at.t0 - 1
        if own.any():
            o = np.flatnonzero(own)
            w = vp.wallet[g[o]]
            value[o] = value[o] + w
            extra = [np.abs(w)]
            if at.cp is not None and vp.weight.size:
                # the reference's call on the same block (the same numbers)
                moves = np.tensordot(vp.weight[:, vp.unique < 0], at.cp - self.coll0[:, None, None], axes=(0, 0))
                c = moves[vp.own_slot[g[o]], j[o], p[o]]
                value[o] = value[o] + c
                extra.append(np.abs(c))
            if scale is not None:
                scale[o] = scale[o] + sum(extra)
        if at.base is not None and not own.all():
            s = np.flatnonzero(~own)
            v = at.base[vp.unique[g[s]], j[s], p[s]]
            value[s] = value[s] + v
            if scale is not None:
                scale[s] = scale[s] + np.abs(v)
        return value, scale

    def outcome(self, first: Mapping[str, HourArray], known: bool = False) -> OrderOutcome:
        """The pools' first hours ``first`` (view → (paths, G), orders ignored) with the pools holding
        orders replaced, and every order's fill hour per view (``NEVER`` after its pool's liquidation).

        ``known``: :meth:`chunk` was given the separable hours: a pool liquidated before its first fill
        keeps the hour of ``first``, the others the hour found from the first fill on."""
        closed = self.closed()
        with_orders = {v: np.array(f, dtype=np.int32, copy=True) for v, f in first.items()}
        fills = {v: np.full((self.paths, self.orders.n), NEVER, dtype=np.int32) for v in first}
        for vp in self.views:
            if known:
                without = with_orders[vp.view][:, vp.pools].T
                vp.liq[:] = np.where(without < self._first_fill(vp), without, vp.liq)
            with_orders[vp.view][:, vp.pools] = vp.liq.T
            liq = vp.liq[vp.order_pool]  # (orders, paths): the first liquidation hour of each order's pool
            ok = (self.hour <= liq) & (closed > 0)
            fills[vp.view] = np.where(ok, self.hour, NEVER).T.astype(np.int32)
        return OrderOutcome(
            first=with_orders,
            fills=fills,
            hour=self.hour.copy(),
            fill_price=self.fill_price.copy(),
            closed=closed,
            realized=self.realized(closed),
        )
