"""One view along one path: find where pools meet their trigger, liquidate them, go on.

The loop runs over liquidation EVENTS, never over scenarios or positions. Pools are independent (a
pool's equity and maintenance depend only on its own positions, wallet and the marks), so each live
pool's next crossing is found on its own and kept until an event touches that pool:

1. **Rows.** The path is taken in windows of rows; at a window's start every position's
   ``UPNL − MM`` is priced on its rows at once (:func:`margin.cascade_state.net_rows`) and summed per
   pool with its wallet: the pool's surplus per row (trigger: surplus ≤ 0). An event updates only the
   columns of the positions it changed and its pool's sum. A pool's first row at or below the trigger
   (to a slack of 1e-9 of its gross values, for the rounding of the sums) is a candidate.
2. **Crossing** (``fill="crossing"``): venues watch the mark continuously and liquidate "when the Mark
   Price hits the liquidation price" (``margin-models.md`` §1.2, B5; §6 H1; §10 "trigger price: mark"):
   the marks are linear between two rows and the crossing on the candidate's segment comes in closed
   form from the margin model's segment terms (:func:`margin.cascade_crossing.first_crossing`, to
   :data:`margin.cascade_crossing.TAU_TOL` of the segment), checked with the pool's own values.
   ``fill="step"``: no fill between rows, the candidate row itself (gap risk; possibly beyond the
   bankruptcy price).
3. **Events.** The earliest crossing is the next event point; pools that cross within ``TAU_TOL`` of it
   are liquidated at the same point (the latest of their crossings), the one furthest past its trigger
   first, then pool order (:func:`margin.cascade_venue.liquidate_pool`). At a row the distance is the
   pool's surplus there; at a crossing, where the surplus is 0 up to rounding, it is the surplus just past
   the point (``TAU_TOL`` beyond) from its slope: at equal crossings the pool that falls fastest goes
   first. Then the touched pools' next crossings are found from that point.
4. **Orders** (format §7): every order's first crossing on the path is found once
   (:func:`margin.cascade_orders.first_crossings`); an open order crossed no later than the next pool
   crossing (to ``TAU_TOL``) fills first (:func:`margin.cascade_venue.fill_order`) and its pool's next
   crossing is found again from that point (the point itself included). A liquidation cancels the orders
   of the positions it closed. Without orders none of this runs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .cascade_crossing import TAU_TOL, Crossing, first_crossing, segment_point, triggered_at
from .cascade_orders import first_crossings
from .cascade_paths import Path
from .cascade_state import Ledger, Point, PoolValues, Setup, net_rows, option_net_rows, pool_at
from .cascade_steps import StepRecord
from .cascade_venue import cancel_orders, fill_order, liquidate_pool

FloatArray = npt.NDArray[np.float64]

MAX_EVENTS = 20_000
#: a pool's surplus at a row within this fraction of its gross values of the trigger is a candidate
SLACK = 1e-9
_WINDOW = 64
_MAX_WINDOW = 512


class _Walk:
    """The walk's cursor (the last point processed: segment ``row``, fraction ``tau``), the current
    window of rows with every position's ``UPNL − MM`` and every pool's surplus on it, and each live
    pool's next crossing in the window."""

    def __init__(self, setup: Setup, ledger: Ledger, path: Path, start: int, gap: bool = False) -> None:
        self.setup, self.ledger, self.path = setup, ledger, path
        #: no fill between rows (``fill="step"``, or a gap): pools and orders are checked at the rows only
        self.step = gap or setup.params.fill == "step"
        self.start = start
        #: each order's first crossing on the path (segment, fraction, at its trigger): found once, in ``run``
        self.o_row: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.o_tau: FloatArray = np.zeros(0)
        self.o_exact: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        #: the orders by (row, τ, file order), and the first of them that may still fill
        self.o_sorted: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.o_next = 0
        self.row, self.tau = start, 1.0
        self.w0, self.w1 = start, start
        self.width = _WINDOW
        self.net: FloatArray = np.zeros((0, setup.book.n_positions))
        self.surplus: FloatArray = np.zeros((0, setup.book.n_pools))
        self.slack: FloatArray = np.zeros(setup.book.n_pools)
        #: every option's value − maintenance on the window (S, O), and which options were open when it was
        #: priced (a book without options: none of this)
        self.onet: FloatArray = np.zeros((0, 0))
        self.o_live: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        #: each live pool's next crossing in the window
        self.next: dict[int, Crossing] = {}

    # ---- rows
    def load_window(self, w0: int, here: bool = False) -> None:
        """Price every position on rows ``w0 …`` of the window and find every live pool's crossing
        (``here``: the cursor's row is not processed yet)."""
        path, ledger, bk = self.path, self.ledger, self.setup.book
        self.w0, self.w1 = w0, min(path.rows, w0 + self.width)
        marks = path.marks[self.w0 : self.w1]
        coll = path.coll_rows(self.w0, self.w1)
        self.net = net_rows(ledger, np.arange(bk.n_positions), marks)
        wallets = np.broadcast_to(ledger.wallets(coll), (marks.shape[0], bk.n_pools))
        self.surplus = wallets + bk.summer(self.net)
        gross = np.abs(wallets) + bk.summer(np.abs(self.net))
        ob = ledger.options
        if ob is not None:  # the options' value − maintenance (format §6.3) in the surplus of their pools
            self.onet = option_net_rows(ledger, marks)
            self.o_live = ledger.opt_open.copy()
            self.surplus = self.surplus + ob.pooled(self.onet)
            gross = gross + ob.pooled(np.abs(self.onet))
        self.slack = SLACK * gross.max(axis=0, initial=0.0)
        self.next = {}
        first = max(self.row if (here or self.tau < 1.0) else self.row + 1, self.w0)
        live = np.bincount(bk.pool[ledger.open], minlength=bk.n_pools) > 0
        if ob is not None:
            live |= np.bincount(ob.pool[ledger.opt_open], minlength=bk.n_pools) > 0
        near = (self.surplus[first - self.w0 :] <= self.slack[None, :]).any(axis=0) & live
        for g in np.flatnonzero(near).tolist():  # the other pools have no candidate row in the window
            self.find(g, here)

    def find(self, g: int, here: bool = False) -> None:
        """Pool ``g``'s next crossing in the window after the cursor (``here``: at the cursor's row itself)."""
        self.next.pop(g, None)
        members = self.setup.members[g]
        if not self.ledger.pool_open(members, g):
            return
        first = self.row if (here or self.tau < 1.0) else self.row + 1
        first = max(first, self.w0)
        col = self.surplus[first - self.w0 :, g]
        for k in (np.flatnonzero(col <= self.slack[g]) + first).tolist():
            if (here and k == self.row) or self.step:
                if triggered_at(self.ledger, members, g, segment_point(self.path, k, 1.0)):
                    self.next[g] = Crossing(k, 1.0, None)
                    return
                continue
            found = first_crossing(self.ledger, members, g, self.path, k, self.tau if k == self.row else 0.0)
            if found is not None:
                self.next[g] = found
                return

    def changed(self, g: int, sizes_before: FloatArray, wallet_before: float, here: bool = False) -> None:
        """Update the window after an event on pool ``g`` (its positions had ``sizes_before``; ``here``:
        its next crossing may be at the cursor's row itself, after an order filled there)."""
        ledger = self.ledger
        members = self.setup.members[g]
        om = ledger.opt_members[g]
        if om.size:  # options closed count for nothing
            gone = om[self.o_live[om] & ~ledger.opt_open[om]]
            if gone.size:
                self.surplus[:, g] -= self.onet[:, gone].sum(axis=1)
                self.onet[:, gone] = 0.0
                self.o_live[gone] = False
        if not ledger.pool_open(members, g):
            self.next.pop(g, None)
            return
        moved = members[ledger.size[members] != sizes_before]
        closed = moved[~ledger.open[moved]]
        if closed.size:  # a closed position counts for nothing
            self.surplus[:, g] -= self.net[:, closed].sum(axis=1)
            self.net[:, closed] = 0.0
        reduced = moved[ledger.open[moved]]
        if reduced.size:
            new = net_rows(ledger, reduced, self.path.marks[self.w0 : self.w1])
            self.surplus[:, g] += (new - self.net[:, reduced]).sum(axis=1)
            self.net[:, reduced] = new
        self.surplus[:, g] += ledger.wallet[g] - wallet_before
        self.find(g, here)

    # ---- orders
    def next_order(self) -> int | None:
        """The open order crossed first after the cursor (ties: file order), ``None`` when none is."""
        # the crossings are fixed for the walk and an order never reopens: a cursor through the orders sorted
        # once by (row, τ, file order) skips the filled and cancelled ones (linear over the walk)
        while self.o_next < self.o_sorted.size:
            o = int(self.o_sorted[self.o_next])
            if self.o_row[o] >= self.path.rows:
                return None
            if self.ledger.order_open[o]:
                return o
            self.o_next += 1
        return None

    def fill(self, o: int) -> StepRecord:
        """Fill order ``o`` at its crossing (:func:`margin.cascade_venue.fill_order`), then the pool it
        changed is looked at again from that point (its next crossing may be the point itself)."""
        setup, ledger, orders = self.setup, self.ledger, self.setup.orders
        assert orders is not None
        k, tau = int(self.o_row[o]), float(self.o_tau[o])
        self.row, self.tau = k, tau
        self.width = _WINDOW
        at = segment_point(self.path, k, tau)
        if self.o_exact[o]:  # a crossing inside a segment: the symbol's mark there is the trigger itself
            marks = at.marks.copy()
            marks[int(orders.sym[o])] = float(orders.trigger[o])
            at = Point(marks, at.coll, at.t, at.phase)
        g = int(setup.book.pool[int(orders.pos[o])])
        members = setup.members[g]
        sizes, wallet = ledger.size[members].copy(), float(ledger.wallet[g])
        row = fill_order(setup, ledger, o, at)
        self.changed(g, sizes, wallet, here=tau >= 1.0)
        return row

    # ---- events
    def run(self, check_start: bool) -> list[StepRecord]:
        rows: list[StepRecord] = []
        setup, ledger, path = self.setup, self.ledger, self.path
        events = 0
        orders = setup.orders
        if orders is not None:
            self.o_row, self.o_tau, self.o_exact = first_crossings(orders, path, self.start, check_start, self.step)
            self.o_sorted = np.lexsort((np.arange(orders.n), self.o_tau, self.o_row))
            self.o_next = 0
        self.load_window(self.row, here=check_start)
        while events < MAX_EVENTS:
            o = None if orders is None else self.next_order()
            if o is not None and self.o_row[o] < self.w1:
                # an order crossed at the same point as a pool (to TAU_TOL) fills first (format §7)
                ko, to = int(self.o_row[o]), float(self.o_tau[o])
                if not self.next or min((c.row, c.tau + TAU_TOL) for c in self.next.values()) >= (ko, to):
                    rows.append(self.fill(o))
                    events += 1
                    continue
            if not self.next:
                if self.w1 >= path.rows:
                    break
                self.row, self.tau = self.w1 - 1, 1.0
                self.width = min(2 * self.width, _MAX_WINDOW)
                self.load_window(self.w1)
                continue
            k, tau = min((c.row, c.tau) for c in self.next.values())
            group = [g for g, c in self.next.items() if c.row == k and c.tau <= tau + TAU_TOL]
            tau = max(self.next[g].tau for g in group)
            beyond = tau + TAU_TOL
            self.row, self.tau = k, tau
            self.width = _WINDOW
            at = segment_point(path, k, tau)
            gaps: list[tuple[float, int, PoolValues]] = []
            for g in group:
                c = self.next[g]
                pv = c.values if c.values is not None and c.tau == tau else pool_at(ledger, setup.members[g], g, at)
                if pv.triggered():
                    # how far past its trigger: measured, or for a crossing (measured ≈ 0: rounding) the
                    # surplus just past the point from its slope, so that equal crossings go steepest first
                    gap = (
                        float(pv.equity[0] - pv.pool_maintenance[0]) if c.slope is None else c.slope * (beyond - c.tau)
                    )
                    gaps.append((gap, g, pv))
                else:
                    self.find(g)
            for _, g, pv in sorted(gaps, key=lambda e: e[:2]):
                if events >= MAX_EVENTS:
                    break
                members = setup.members[g]
                sizes, wallet = ledger.size[members].copy(), float(ledger.wallet[g])
                rows += liquidate_pool(setup, ledger, g, at, pv)
                events += 1
                if orders is not None:
                    cancel_orders(ledger, setup, g)
                self.changed(g, sizes, wallet)
        return rows


def walk(
    setup: Setup, ledger: Ledger, path: Path, start: int = 0, check_start: bool = True, gap: bool = False
) -> list[StepRecord]:
    """Walk ``path`` from row ``start``, filling orders and liquidating as the pools trigger; ``ledger`` is
    updated.

    ``check_start=False``: the pools are known to be healthy at row ``start`` (a walk continued from
    where another one ended). ``gap``: no fill between rows (format §7 ``--gap``): the pools are checked
    at the rows as with ``fill="step"``, and an order crossed by a row fills at that row's mark.
    """
    return _Walk(setup, ledger, path, start, gap).run(check_start)
