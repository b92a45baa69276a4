"""The venue's liquidation of one triggered pool at fixed marks (the steps of :mod:`margin.contagion`).

Repeated until the pool is healthy (equity > maintenance) or empty:

1. equity ≤ 0 → ``bankrupt``: every position of the pool is closed, the pool's negative equity is the
   insurance fund's (``margin-models.md`` §1.5 B5 step 3; §10 row "bankrupt"), collateral left 0.
2. a backstop (Hyperliquid: equity < 2/3 × maintenance, §6 H1) → every position goes to the liquidator
   vault and "the MM is not returned": collateral left 0 (``liquidated``, mechanism ``backstop``).
3. otherwise one position is reduced: the largest maintenance first (``order="maintenance"``) or the
   largest unrealised loss (``"loss"``), a model choice (no venue publishes the order). How much the
   venue closes (:func:`fraction`, ``LiquidationRules.partial``): ``restore`` (Binance, generic,
   Deribit; §1.5 B5 step 2, §10 "incremental") the smallest fraction that brings maintenance down to
   ``restore_ratio`` × the equity after the fee; ``tiers`` (OKX, Bybit; §4 O1/O2, §3.5 Y5) down to the
   floor of the position's risk tier; ``chunks`` (Hyperliquid, §6 H1) 20 % of positions above 100,000
   USDC; ``none`` (dYdX, §7) in full. Less than ``MIN_REMAINING`` of the original size left closes it
   all (a model choice). The closed part's PnL is realised into the wallet; the liquidation fee on the
   closed notional is capped at the pool's positive equity (dYdX's ``min(fee, leftover)``, §7): a capped
   fee leaves the pool's equity at exactly 0, so what is left of it is ``bankrupt`` (1.), decided on that
   fact rather than on the sign of the rounding of the pool's sums.
   ``takeover`` (B5 step 3): a full close takes over every position of the pool at the bankruptcy price,
   the collateral is lost (mechanism ``takeover``).

Fee rates (:func:`fee_rates`): the ``fee`` option (one rate or per symbol / base asset), else the
venue's (``LiquidationRules.fee`` / ``fee_by_base``, each venue module states its source), else the
portfolio's taker fee.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .cascade_orders import FILLED_EVENT
from .cascade_params import CascadeParams, lookup
from .cascade_state import Ledger, Point, PoolValues, Setup, account_value, pool_at
from .cascade_steps import StepRecord
from .engine import Book
from .option_legs import entry_value
from .orders import fill_price, realized_pnl
from .venues import LiquidationRules

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: a partial liquidation that would leave less than this fraction of the original size closes it all
MIN_REMAINING = 0.01
#: a pool reduced this many times at one point is closed in full (against endless slivers)
_MAX_PARTIALS = 200
#: the restore search: a grid over (0, 1]; in the first cell where the margin is restored, the root of its
#: polynomial checked at ±_ROOT_CHECK, else finer grids (4096⁴: the resolution of 48 halvings)
_RESTORE_GRID = 1024
_ROOT_CHECK = 2.0**-50
#: a fourth grid point on the parabola of three to this fraction of the terms' size: one tier
_SAME_PIECE = 1e-10
_FINER_GRIDS = (4096, 4096, 4096, 4096)


def fee_rates(book: Book, rules: LiquidationRules, params: CascadeParams) -> FloatArray:
    """Liquidation fee rate of every position (module docstring)."""

    def rate(i: int) -> float:
        sym = book.symbols[int(book.sym[i])]
        if isinstance(params.fee, float):
            return params.fee
        if isinstance(params.fee, dict):
            v = lookup(params.fee, sym)
            if v is not None:
                return v
        if rules.fee_by_base:
            v = lookup(rules.fee_by_base, sym)
            if v is not None:
                return v
        return rules.fee if rules.fee is not None else float(book.resolved.taker_fee)

    return np.array([rate(i) for i in range(book.n_positions)])


def liquidate_pool(
    setup: Setup, ledger: Ledger, g: int, at: Point, values: PoolValues | None = None
) -> list[StepRecord]:
    """Liquidate pool ``g`` at ``at`` until it is healthy or empty (module docstring); the step rows.
    ``values``: the pool's values at ``at`` with the current state, when the caller has them."""
    bk, rules, params = setup.book, setup.rules, setup.params
    members = setup.members[g]
    pv = pool_at(ledger, members, g, at) if values is None else values
    rows: list[StepRecord] = []
    guard = 0
    exhausted = False  # a capped fee took the pool's whole equity: it is 0, whatever the rounding of the sums
    while True:
        guard += 1
        eq, mm = float(pv.equity[0]), float(pv.pool_maintenance[0])
        if pv.empty or (eq > mm and not exhausted):
            return rows
        drained = _drained(setup, ledger, pv, members, g)
        if pv.opt_idx.size:
            # a model choice (format §6 names no option liquidation): the pool's options are closed first, at
            # their value (:func:`_close_options`), then the pool is looked at again
            option_rows, pv = _close_options(setup, ledger, g, pv, at, drained)
            rows += option_rows
            continue
        if eq <= 0.0 or exhausted:
            rows += _close_all(setup, ledger, g, pv, at, "bankrupt", "bankrupt", drained)
            return rows
        if rules.backstop is not None and eq < rules.backstop * mm:
            rows += _close_all(setup, ledger, g, pv, at, "liquidated", "backstop", drained)
            return rows
        j = _next_position(pv, params.order)
        i = int(pv.idx[j])
        f = fraction(setup, ledger, pv, j, at) if params.partial and guard < _MAX_PARTIALS else 1.0
        if f < 1.0 and ledger.size[i] * (1.0 - f) < MIN_REMAINING * bk.size[i]:
            f = 1.0
        if f >= 1.0 and params.takeover:
            rows += _close_all(setup, ledger, g, pv, at, "liquidated", "takeover", drained)
            return rows
        row, pv = _close(setup, ledger, pv, j, f, g, at, drained, "market" if f >= 1.0 else rules.partial)
        rows.append(row)
        exhausted = row.fee < setup.fee_rate[i] * row.closed_notional


def _next_position(pv: PoolValues, order: str) -> int:
    """The open position to reduce: the largest maintenance (ties: the largest loss, then position
    order), or with ``order="loss"`` the largest loss (ties: the largest maintenance, then order)."""
    up, mmp = pv.upnl[0], pv.maintenance[0]
    first, then = (up, -mmp) if order == "loss" else (-mmp, up)
    tied = np.flatnonzero(first == first.min())
    return int(tied[np.argmin(then[tied])])


def _drained(setup: Setup, ledger: Ledger, pv: PoolValues, members: IntArray, g: int) -> tuple[tuple[str, float], ...]:
    """Each position's PnL from the start of the path (realised + unrealised, fees apart), most negative
    first, the five largest losses: the positions whose losses drained the pool. An option's (format §6):
    the value it realised when closed, else its value now, minus its value at the start (ties: futures
    first, then options)."""
    pnl = ledger.realised[members] - setup.start_upnl[members]
    pnl[np.searchsorted(members, pv.idx)] += pv.upnl[0]
    om = ledger.opt_members[g]
    ids: list[str] | None = None
    if om.size:
        opnl = ledger.opt_realised[om] - setup.start_opt_value[om]
        opnl[np.searchsorted(om, pv.opt_idx)] += pv.opt_value[0]
        pnl = np.concatenate([pnl, opnl])
        assert ledger.options is not None
        ids = [setup.book.ids[int(i)] for i in members] + [ledger.options.arrays.legs[int(o)].label for o in om]
    if pnl.size > 5:  # the five smallest, ties in position order (a stable sort's first five)
        fifth = np.partition(pnl, 4)[4]
        low = np.flatnonzero(pnl <= fifth)
        order = low[np.argsort(pnl[low], kind="stable")[:5]]
    else:
        order = np.argsort(pnl, kind="stable")
    if ids is None:
        return tuple((setup.book.ids[int(members[j])], float(pnl[j])) for j in order)
    return tuple((ids[int(j)], float(pnl[j])) for j in order)


def fraction(setup: Setup, ledger: Ledger, pv: PoolValues, j: int, at: Point) -> float:
    """Fraction of the pool's open position ``j`` (``pv.idx[j]``) the venue closes now (module docstring,
    ``partial``)."""
    bk, rules = setup.book, setup.rules
    i = int(pv.idx[j])
    mode = rules.partial
    mark = float(at.marks[int(bk.sym[i])])
    size = float(ledger.size[i])
    notional = float(pv.notional[0, j])
    if mode == "none":
        return 1.0
    if mode == "chunks":
        quote = size if bk.inverse[i] else notional
        return rules.chunk_fraction if quote > rules.chunk_notional else 1.0
    if mode == "tiers":
        table = bk.resolved.tables[bk.symbols[int(bk.sym[i])]]
        valued = float(bk.model.tier_notional(bk, i, size, notional))
        k = table.index(valued)
        if k == 0:
            return 1.0
        target = table.tiers[k].min_notional * (1.0 - 1e-12)
        return float(min(1.0, max(0.0, 1.0 - target / valued)))
    # restore: smallest fraction with maintenance ≤ restore_ratio × (equity − fee) after the reduction
    eq = float(pv.equity[0])
    mm_other = float(pv.pool_maintenance[0]) - float(pv.maintenance[0, j])
    rate = float(setup.fee_rate[i])
    target = setup.params.restore_ratio

    def margin(fr: FloatArray) -> FloatArray:
        mm_i = bk.model.at_sizes(ledger.book, i, size * (1.0 - fr), mark)
        return np.asarray(target * (eq - rate * fr * notional) - mm_other - mm_i, dtype=np.float64)

    grid = np.arange(1, _RESTORE_GRID + 1) / _RESTORE_GRID
    if target * (eq - rate * float(grid[0]) * notional) - mm_other <= 0.0:
        # maintenance is never negative (tables follow the §1.1 recurrence, checked by margin.tiers) and the
        # fee grows with the fraction: no grid point can restore the pool
        return 1.0
    values = margin(grid)
    good = values > 0
    if not good.any() or (good[-1] and not good[:-1].any()):
        return 1.0
    j = int(np.argmax(good))
    lo, hi = (0.0 if j == 0 else float(grid[j - 1])), float(grid[j])
    # on one tier of the reduced size the margin is a polynomial of degree ≤ 2 in the fraction (the model's
    # MM(N) = constant + (rate + fee)·N + per_size·N·coin, N and coin ∝ 1 − f): its root through three grid
    # points around the cell, kept when a fourth grid point lies on the same parabola (no tier change
    # there) or, for the first cell, when the margin changes sign across it (±2⁻⁵⁰); else finer grids
    c = min(max(j, 1), grid.size - 2)
    parabola = _Parabola(grid[c - 1 : c + 2], values[c - 1 : c + 2])
    root = parabola.root_in(lo, hi)
    if root is not None:
        fourth = c + 2 if c + 2 < grid.size else c - 2
        scale = abs(target * eq) + abs(mm_other) + rate * notional + float(np.abs(values[c - 1 : c + 2]).max())
        same_piece = j > 0 and abs(parabola(float(grid[fourth])) - float(values[fourth])) <= _SAME_PIECE * scale
        if not same_piece:
            around = margin(np.array([root - _ROOT_CHECK, root + _ROOT_CHECK]))
            same_piece = bool(around[0] <= 0 < around[1])
        if same_piece:
            hi = min(root + _ROOT_CHECK, hi)
            return hi if hi < 1.0 else 1.0
    for points in _FINER_GRIDS:
        sub = lo + (hi - lo) * np.arange(1, points + 1) / points
        ok = margin(sub) > 0
        if not ok.any():  # numerical corner: the cell's end is the first point where it holds
            break
        k = int(np.argmax(ok))
        lo, hi = (lo if k == 0 else float(sub[k - 1])), float(sub[k])
    return hi if hi < 1.0 else 1.0


class _Parabola:
    """The parabola through three points ``(x, y)``: ``y₁ + b·u + c·u²``, ``u = x − x₁``."""

    def __init__(self, x: FloatArray, y: FloatArray) -> None:
        h0, h1 = float(x[1] - x[0]), float(x[2] - x[1])
        b01, b12 = float(y[1] - y[0]) / h0, float(y[2] - y[1]) / h1
        self.c = (b12 - b01) / float(x[2] - x[0])
        self.b = b01 + self.c * h0
        self.x1, self.y1 = float(x[1]), float(y[1])

    def __call__(self, x: float) -> float:
        u = x - self.x1
        return self.y1 + (self.b + self.c * u) * u

    def root_in(self, lo: float, hi: float) -> float | None:
        """The smallest root in ``[lo, hi]``, or ``None``."""
        bb, cc, y1 = self.b, self.c, self.y1
        roots: list[float] = []
        if abs(cc) * (hi - lo) <= 1e-12 * abs(bb):
            if bb != 0.0:
                roots.append(-y1 / bb)
        else:
            disc = bb * bb - 4.0 * cc * y1
            if disc >= 0.0:
                q = -0.5 * (bb + math.copysign(math.sqrt(disc), bb))
                roots += [q / cc] + ([y1 / q] if q != 0.0 else [])
        inside = [self.x1 + u for u in roots if lo <= self.x1 + u <= hi]
        return min(inside) if inside else None


def _record(
    setup: Setup,
    ledger: Ledger,
    i: int,
    event: str,
    g: int,
    eq_before: float,
    at: Point,
    fee: float,
    frac: float,
    closed_notional: float,
    realised: float,
    drained: tuple[tuple[str, float], ...],
    mechanism: str,
    after: PoolValues,
    account: float,
    cost: float,
) -> StepRecord:
    """The row of one event: the pool valued after it (``after``) at the event's marks and collateral prices."""
    bk, x = setup.book, at.marks
    j = int(bk.sym[i])
    main = setup.main
    return StepRecord(
        move=None if main is None else float(x[main] / setup.base_marks[main] - 1.0),
        event=event,
        position=bk.ids[i],
        equity_before=eq_before,
        equity_after=float(after.equity[0]),
        collateral_left=float(after.wallet[0]),
        positions_open=ledger.positions_open,
        pool=setup.labels[g],
        settle=bk.pool_settle[g],
        symbol=bk.symbols[j],
        price=float(x[j]),
        symbol_move=float(x[j] / setup.base_marks[j] - 1.0),
        t=at.t,
        phase=at.phase,
        closed_fraction=frac,
        closed_notional=closed_notional,
        realized_pnl=realised,
        fee=fee,
        mechanism=mechanism,
        maintenance_after=float(after.pool_maintenance[0]),
        account_value=account,
        drained_by=drained,
        liquidation_cost=cost,
    )


def _reset_entry_mm(setup: Setup, ledger: Ledger, i: int) -> None:
    """The model's entry valuation of position ``i`` at its reduced size."""
    bk = setup.book
    j = np.array([i])
    rule = bk.model.position_rule(bk.tiers, bk.sym[j], ledger.size[j], bk.entry[j], bk.inverse[j], bk.isolated[j], 0.0)
    ledger.mm_entry[i] = float(rule.mm_entry[0])
    ledger.mmr_entry[i] = float(rule.mmr_entry[0])


def _shrink(setup: Setup, ledger: Ledger, g: int, i: int, f: float) -> None:
    """Position ``i`` of pool ``g`` reduced by the fraction ``f`` (closed at ``f ≥ 1``): its size, its entry
    maintenance where the model values it at entry, and the pool's cached terms."""
    if f >= 1.0:
        ledger.size[i] = 0.0
        ledger.open[i] = False
        ledger.mm_entry[i] = 0.0
    else:
        ledger.size[i] *= 1.0 - f
        if setup.book.at_entry[i]:
            _reset_entry_mm(setup, ledger, i)
    ledger.resized(g, i)


def _write_off(ledger: Ledger, members: IntArray, g: int, at: Point, after: PoolValues) -> PoolValues:
    """An emptied pool's debt (negative wallet) goes to the insurance fund; the pool's values after it."""
    if after.empty and after.wallet[0] < 0:
        ledger.insurance += -float(after.wallet[0])
        ledger.wallet[g] -= float(after.wallet[0])
        if not ledger.cw[:, g].any():
            ledger.wallet[g] = 0.0
        after = pool_at(ledger, members, g, at)
    return after


def cancel_orders(ledger: Ledger, setup: Setup, g: int) -> None:
    """Orders of pool ``g``'s positions no longer open are cancelled (they never fill later, format §7)."""
    orders = setup.orders
    if orders is not None:
        mine = orders.by_pool.get(g)
        if mine is not None:
            ledger.order_open[mine] &= ledger.open[orders.pos[mine]]


def fill_order(setup: Setup, ledger: Ledger, o: int, at: Point) -> StepRecord:
    """Fill order ``o`` at the point ``at`` (the symbol's mark there is the trigger, or the mark beyond it
    after a gap); its step row (``portfolio-format.md`` §7 ``cascade``).

    The order closes its contracts, at most what is left of the position after a partial liquidation,
    at market: a sell (long) at ``mark × (1 − slippage)``, a buy (short) at ``mark × (1 + slippage)``
    (:func:`margin.orders.fill_price`); the realised PnL of the closed contracts at the fill
    (:func:`margin.orders.realized_pnl`, ``margin-models.md`` §0: linear ``s·q·CS·(fill − entry)``, inverse
    ``s·q·CS·(1/entry − 1/fill)`` in coin) goes into the pool's wallet and stays there. It is the trader's
    own market order, not a liquidation: no liquidation fee (its cost is the slippage, which is not
    counted as ``liquidation_cost`` either: that is 0, the slippage shows in the market move), no
    ``drained``/``reduced`` bookkeeping of a liquidation, and a position it closes is not a position lost.
    Its forced flow (the quote notional at the fill, sells negative) is added to ``ledger.flow`` as a
    liquidation's is: a market order takes liquidity too, and feeds the impact law. A pool the fill leaves
    empty with a negative wallet (a gap beyond the bankruptcy price) has its debt written off to the
    insurance fund, as when a liquidation empties it (module docstring, B5 step 3): an isolated position
    never loses more than its margin.
    """
    orders = setup.orders
    assert orders is not None
    bk = setup.book
    i = int(orders.pos[o])
    g = int(bk.pool[i])
    members = setup.members[g]
    pv = pool_at(ledger, members, g, at)
    j = int(np.searchsorted(pv.idx, i))
    eq_before = float(pv.equity[0])
    drained = _drained(setup, ledger, pv, members, g)
    held = float(ledger.size[i])
    close = min(float(ledger.order_left[o]), held)
    f = 1.0 if close >= held else close / held
    sym = int(bk.sym[i])
    mark = float(at.marks[sym])
    side = "long" if bk.sign[i] > 0 else "short"
    fill = fill_price(side, mark, orders.slippage)
    realised = realized_pnl(float(bk.sign[i]), close, float(bk.entry[i]), fill, bool(bk.inverse[i]))
    closed_n = f * float(pv.notional[0, j])
    ledger.wallet[g] += realised
    ledger.realised[i] += realised
    quote = close if bk.inverse[i] else close * fill
    ledger.flow[sym] += -float(bk.sign[i]) * quote
    _shrink(setup, ledger, g, i, f)
    if f >= 1.0:
        ledger.closed_by_order[i] = True
    ledger.order_left[o] = 0.0
    ledger.order_open[o] = False
    ledger.order_filled[o] = True
    cancel_orders(ledger, setup, g)
    after = _write_off(ledger, members, g, at, pool_at(ledger, members, g, at))
    row = _record(
        setup,
        ledger,
        i,
        FILLED_EVENT[orders.types[o]],
        g,
        eq_before,
        at,
        0.0,
        f,
        closed_n,
        realised,
        drained,
        "order",
        after,
        account_value(ledger, at),
        0.0,
    )
    return replace(row, order=orders.ids[o], contracts=close / float(orders.contract_size[o]), fill_price=fill)


def _close(
    setup: Setup,
    ledger: Ledger,
    pv: PoolValues,
    j: int,
    f: float,
    g: int,
    at: Point,
    drained: tuple[tuple[str, float], ...],
    mechanism: str,
) -> tuple[StepRecord, PoolValues]:
    """Close the fraction ``f`` of the pool's open position ``j`` (a market order at the mark), the fee
    capped at the equity; the row and the pool's values after it."""
    bk = setup.book
    i = int(pv.idx[j])
    eq_before = float(pv.equity[0])
    notional = float(pv.notional[0, j])
    closed_n = f * notional
    fee = min(float(setup.fee_rate[i]) * closed_n, max(eq_before, 0.0))
    realised = f * float(pv.upnl[0, j])
    ledger.wallet[g] += realised - fee
    ledger.realised[i] += realised
    ledger.fees[i] += fee
    quote = f * float(ledger.size[i]) if bk.inverse[i] else closed_n
    ledger.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
    _shrink(setup, ledger, g, i, f)
    if f < 1.0:
        ledger.reduced[i] = True
    members = setup.members[g]
    after = _write_off(ledger, members, g, at, pool_at(ledger, members, g, at))
    event = "liquidated" if f >= 1.0 else "partially_liquidated"
    if eq_before <= 0:
        event = "bankrupt"
    row = _record(
        setup,
        ledger,
        i,
        event,
        g,
        eq_before,
        at,
        fee,
        f,
        closed_n,
        realised,
        drained,
        mechanism,
        after,
        account_value(ledger, at),
        float(after.equity[0]) - eq_before,
    )
    return row, after


def _close_options(
    setup: Setup,
    ledger: Ledger,
    g: int,
    pv: PoolValues,
    at: Point,
    drained: tuple[tuple[str, float], ...],
) -> tuple[list[StepRecord], PoolValues]:
    """Every open option of pool ``g`` closed at its value at ``at`` (format §6.2 Black-76 on the forward, the
    option's column of the marks), in option order; the rows and the pool's values after.

    A model choice (format §6 names no option liquidation): the venue closes the options of a triggered pool
    first, a market order at their value: the signed value is realised into the wallet (a short pays it, a
    long receives it), so the pool's equity is unchanged by the close and the option's maintenance (§6.3)
    is released. No liquidation fee (§6 names none for options); no forced flow on the underlying (the
    option trades in the option book, not the futures'; the impact laws move the underlying from the
    futures' forced trades only). ``realized_pnl`` of the row is the option's value against its entry
    premium (§6.4 ``unrealized_pnl``), ``closed_notional`` its notional (§6.4: units × F; units, in coin,
    when coin-settled). The last row carries the write-off of a pool left empty with a negative wallet (an
    options-only pool past bankruptcy, :func:`_write_off`). ``event``: ``liquidated``, ``bankrupt`` when the
    pool's equity is ≤ 0.
    """
    ob = ledger.options
    assert ob is not None
    arr = ob.arrays
    members = setup.members[g]
    entry = entry_value(arr)
    eq_before = float(pv.equity[0])
    event = "bankrupt" if eq_before <= 0.0 else "liquidated"
    rows: list[StepRecord] = []
    n = pv.opt_idx.size
    after = pv
    main = setup.main
    for k, o in enumerate(pv.opt_idx.tolist()):
        value = float(pv.opt_value[0, k])
        ledger.wallet[g] += value
        ledger.opt_realised[o] = value
        ledger.opt_open[o] = False
        after = pool_at(ledger, members, g, at)
        if k == n - 1:
            after = _write_off(ledger, members, g, at, after)
        j = int(ob.sym[o])
        price = float(at.marks[j])
        units = abs(float(arr.units[o]))
        rows.append(
            StepRecord(
                move=None if main is None else float(at.marks[main] / setup.base_marks[main] - 1.0),
                event=event,
                position=arr.legs[o].label,
                equity_before=eq_before,
                equity_after=float(after.equity[0]),
                collateral_left=float(after.wallet[0]),
                positions_open=ledger.positions_open,
                pool=setup.labels[g],
                settle=setup.book.pool_settle[g],
                symbol=setup.book.symbols[j],
                price=price,
                symbol_move=float(price / setup.base_marks[j] - 1.0),
                t=at.t,
                phase=at.phase,
                closed_fraction=1.0,
                closed_notional=units if bool(arr.coin[o]) else units * price,
                realized_pnl=value - float(entry[o]),
                fee=0.0,
                mechanism="market",
                maintenance_after=float(after.pool_maintenance[0]),
                account_value=account_value(ledger, at),
                drained_by=drained,
                liquidation_cost=float(after.equity[0]) - eq_before,
            )
        )
        eq_before = float(after.equity[0])
    return rows, after


def _close_all(
    setup: Setup,
    ledger: Ledger,
    g: int,
    pv: PoolValues,
    at: Point,
    event: str,
    mechanism: str,
    drained: tuple[tuple[str, float], ...],
) -> list[StepRecord]:
    """Every open position of pool ``g`` closed at once; the pool's collateral is lost (to the insurance
    fund / liquidator vault; negative equity absorbed by the insurance fund)."""
    bk = setup.book
    eq_before = float(pv.equity[0])
    for j, i in enumerate(pv.idx):
        realised = float(pv.upnl[0, j])
        ledger.realised[i] += realised
        quote = float(ledger.size[i]) if bk.inverse[i] else float(pv.notional[0, j])
        ledger.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
        ledger.size[i] = 0.0
        ledger.open[i] = False
        ledger.mm_entry[i] = 0.0
    # the pool's wallet (and any backing collateral) is gone
    ledger.cw[:, g] = 0.0
    ledger.wallet[g] = 0.0
    ledger.touch(g)
    if eq_before < 0:
        ledger.insurance += -eq_before
    after = pool_at(ledger, setup.members[g], g, at)
    account = account_value(ledger, at)
    return [
        _record(
            setup,
            ledger,
            int(i),
            event,
            g,
            eq_before if n_done == 0 else 0.0,
            at,
            0.0,
            1.0,
            float(pv.notional[0, n_done]),
            float(pv.upnl[0, n_done]),
            drained,
            mechanism,
            after,
            account,
            float(after.equity[0]) - eq_before if n_done == 0 else 0.0,
        )
        for n_done, i in enumerate(pv.idx)
    ]
