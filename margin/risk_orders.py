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
contracts ranked per path by (hour, file order) with one sort; then each pool holding orders is valued at
every (hour, path) of the chunk, its positions at their remaining size (the paths in blocks, so that a
block's arrays stay below :data:`BLOCK_ELEMENTS`): a cross pool as its separable value
(:mod:`margin.risk_separable`, orders ignored) with each order's position switched from its net at full
size to its net at the remaining size plus the realised PnL, an isolated pool (one position) in full.
Before its first fill a pool is the pool without orders, so the simulation values a pool only on the paths
where one of its orders has filled (and the pool was not liquidated first), from that hour on. Pools
without orders keep the separable first touch (the same numbers as without orders).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import Book, evaluate
from .models import net_terms
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


def _add_rows(out: FloatArray, rows: IntArray, values: FloatArray) -> None:
    """``out[rows[k]] += values[k]`` for every ``k`` (rows may repeat): ``np.add.at``, which is slow on
    large blocks, only for the repeated rows; the first occurrence of each row by plain indexing."""
    _, first = np.unique(rows, return_index=True)
    out[rows[first]] += values[first]
    rest = np.setdiff1d(np.arange(rows.size), first)
    if rest.size:
        np.add.at(out, rows[rest], values[rest])


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
        hours = (t0 + 1 + np.arange(steps, dtype=np.int64))[:, None]
        for vp in self.views:
            need = vp.liq == NEVER
            fill = self._first_fill(vp)
            if known is not None:
                need &= (fill <= end) & ~(known(vp.separable) < fill)
            else:
                fill[:] = 0
            live = np.flatnonzero(need.any(axis=0))
            block = max(1, BLOCK_ELEMENTS // max(1, (vp.rows.size + self.orders.n) * steps))
            for b0 in range(0, live.size, block):  # blocks of paths bound the memory
                p = live[b0 : b0 + block]
                cp = None if collateral_prices is None else collateral_prices[:, :, p]
                base = None if cross_values is None else cross_values[:, :, p]
                hit = self._hit(vp, ratio[:, :, p], cp, base, closed[:, p], realized[:, p], self.hour[:, p], hours)
                hit &= hours[None, :, :] >= fill[:, None, p]
                hit &= need[:, None, p]
                first = (t0 + 1 + hit.argmax(axis=1)).astype(np.int32)  # (G, P)
                sub = vp.liq[:, p]
                new = hit.any(axis=1) & (sub == NEVER)
                sub[new] = first[new]
                vp.liq[:, p] = sub

    def _hit(
        self,
        vp: _ViewPools,
        ratio: FloatArray,
        cp: FloatArray | None,
        base: FloatArray | None,
        closed: FloatArray,
        realized: FloatArray,
        hour: HourArray,
        hours: npt.NDArray[np.int64],
    ) -> BoolArray:
        """(G, s, P) liquidation flags of the view's pools holding orders: open positions and ``wallet +
        realised PnL + Σ net + collateral moves ≤ 0`` (format §2), each order's contracts gone from its
        hour on (the fill comes before the check).

        A pool with a separable value (``base``, the cross pools' ``wallet + Σ net + collateral moves``
        with the orders ignored, (n_cross, s, P)) has only its positions with orders valued here: their net
        at the remaining size replaces their net at full size."""
        bk = self.books[vp.view]
        m = vp.rows
        mark = self.mark0[m][:, None, None] * ratio[self.pos_asset[m]]  # (rows, s, P)
        filled = hour[:, None, :] <= hours[None, :, :]  # (orders, s, P)
        gone = np.zeros(mark.shape)
        _add_rows(gone, vp.order_row, filled * closed[:, None, :])
        full = bk.size[m][:, None, None]
        size = full - gone
        size = np.where(size <= CLOSED_RTOL * full, 0.0, size)
        if base is None and vp.base_row.any():
            raise ValueError("cross_values are required when OrderPaths is given cross_rows")
        # a position whose orders close it whole (the usual stop) is at its full size or closed: its net is
        # the net at full size or 0, so it is priced once (at full size), as the separable value's correction
        # needs anyway; only positions partly closed somewhere are priced at their remaining sizes
        full_b = np.broadcast_to(full, mark.shape)
        whole = ((size == 0.0) | (size == full_b)).reshape(size.shape[0], -1).all(axis=1)
        with_base = vp.base_row if base is not None else np.zeros(m.size, dtype=bool)
        at_full = np.zeros(mark.shape)
        r = np.flatnonzero(whole | with_base)
        if r.size:
            at_full[r] = position_net(bk, m[r], np.array(full_b[r]), mark[r])
        net = np.where(size > 0, at_full, 0.0)
        part = np.flatnonzero(~whole)
        if part.size:
            net[part] = position_net(bk, m[part], size[part], mark[part])
        if with_base.any():
            b = np.flatnonzero(with_base)
            net[b] -= at_full[b]
        value = np.add.reduceat(net, vp.row_start, axis=0)  # (G, s, P)
        _add_rows(value, vp.order_pool, filled * realized[:, None, :])
        own = vp.unique < 0
        if own.any():
            value[own] += vp.wallet[own][:, None, None]
            if cp is not None and vp.weight.size:
                value[own] += np.tensordot(vp.weight[:, own], cp - self.coll0[:, None, None], axes=(0, 0))
        if base is not None and (~own).any():
            value[~own] += base[vp.unique[~own]]
        is_open = np.add.reduceat((size > 0).astype(np.intp), vp.row_start, axis=0) > 0
        is_open |= vp.fixed_open[:, None, None]
        return np.asarray((value <= 0.0) & is_open, dtype=np.bool_)

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
