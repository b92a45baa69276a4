"""Benchmark of the liquidation cascade (``margin.contagion``) against a fair plain-Python loop. Prints figures.

Book: :func:`books.build_book` (1,000 positions, the shipped Binance USDⓈ-M tables, cross and isolated
pools in USDT and USDC). Shock ``ALL=-20%`` walked in 400 steps, ``as_is`` view.

1. Like for like, with the options a loop can follow exactly: fills at the step marks (``fill="step"``),
   full closes (``partial=False``), no price impact, the venue's 0.5 % liquidation fee.
   :func:`margin.contagion.cascade` against a loop that follows the same rules (module docstring of
   ``margin.contagion``: the triggered pool furthest past its trigger first; in it, bankrupt → every
   position closed and the collateral lost, else the position with the largest maintenance closed, its
   PnL realised, the fee capped at the pool's positive equity; repeated at the same marks until the pool
   is healthy or empty). Per step the loop prices every open position once (tier by bisect on floors
   computed once) and sums the pools; an event updates only its pool's sums.
2. The default cascade (crossing fills, Binance's partial "restore" reductions, square-root impact iterated
   to a fixed point) against the previous algorithm, kept below as the baseline (:class:`OldRun`, a copy of
   the event loop ``margin.contagion`` had before issue 13): per event ~15 whole-book evaluations and a
   16-point × 8-round bisection of the crossing, the book rebuilt on every evaluation, every impact run
   replaying the whole path. Two books: the realistic one above (``as_is``), and a thin cross pool (the same
   1,000 positions all cross, ``cross`` view, collateral cut to 10 %, ``ALL=-12%``, daily volumes 5e7 so
   that the forced sales move the marks and the impact loop runs several times).

Before a ratio is printed, the loop's events are compared with the cascade's: the same positions in the
same order with the same event kind, fees and realised PnL to 1e-9 of the account's scale, and the same
collateral left; and the baseline's step rows with the cascade's: the same event, position and pool in the
same order, prices within 1e-9 (the baseline's bisection stops at 16⁻⁸ of a segment, the closed form at
1e-12), the same positions lost and fixed-point runs. A disagreement stops the script (exit 1). Noisy: 2
shared cores (``--old-repeat 1`` for a quicker run).
Run: ``python benchmarks/bench_contagion.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import Disagreement, LoopBook, agree, median_ms, realistic
from books import base_of, build_book

from margin.cascade_impact import impact_model
from margin.cascade_params import CascadeParams, lookup, parse_params
from margin.cascade_paths import Path as WalkPath
from margin.cascade_paths import leg, main_symbol, shock_path
from margin.cascade_results import USD_LIKE
from margin.contagion import cascade
from margin.engine import Book, compile_book, evaluate
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from margin.shocks import Shock, combine
from margin.venues import LiquidationRules

STEPS = 400
SHOCK = -0.20
FEE = 0.005  # Binance USDⓈ-M liquidation fee (margin-models.md §1.5), the cascade's default for the venue
LIKE_FOR_LIKE = {"steps": STEPS, "fill": "step", "partial": False, "merge_partials": False}


def loop_cascade(lb: LoopBook, ids: tuple[str, ...], marks: list[list[float]]) -> tuple[list[dict[str, Any]], float]:
    """The cascade with step fills, full closes and no impact: (events, collateral left at the last marks)."""
    n, n_pools = lb.n, lb.n_pools
    wallet = list(lb.wallet)
    open_ = [True] * n
    members: list[list[int]] = [[] for _ in range(n_pools)]
    for i in range(n):
        members[lb.pool[i]].append(i)
    events: list[dict[str, Any]] = []
    upnl = [0.0] * n
    mm = [0.0] * n
    notional = [0.0] * n
    for row in marks:
        eq = list(wallet)
        mmp = [0.0] * n_pools
        for i in range(n):
            if not open_[i]:
                continue
            price = row[lb.sym[i]]
            q = lb.size[i]
            nn = q * price
            k = bisect_right(lb.floors[i], nn) - 1
            u = lb.sq[i] * (price - lb.entry[i])
            m = nn * lb.mmr[i][k] - lb.cum[i][k]
            upnl[i], mm[i], notional[i] = u, m, nn
            g = lb.pool[i]
            eq[g] += u
            mmp[g] += m
        live = [any(open_[i] for i in members[g]) for g in range(n_pools)]
        while True:
            hit = [g for g in range(n_pools) if live[g] and eq[g] <= mmp[g]]
            if not hit:
                break
            g = min(hit, key=lambda p: (eq[p] - mmp[p], p))
            while True:
                alive = [i for i in members[g] if open_[i]]
                if not alive or eq[g] > mmp[g]:
                    break
                if eq[g] <= 0.0:  # bankrupt: every position closed, the pool's collateral is lost
                    for i in alive:
                        open_[i] = False
                        events.append({"position": ids[i], "event": "bankrupt", "fee": 0.0, "realized_pnl": upnl[i]})
                    wallet[g] = 0.0
                    eq[g] = mmp[g] = 0.0
                    break
                i = min(alive, key=lambda p: (-mm[p], upnl[p], p))
                fee = min(FEE * notional[i], max(eq[g], 0.0))
                wallet[g] += upnl[i] - fee
                eq[g] -= fee
                mmp[g] -= mm[i]
                open_[i] = False
                events.append({"position": ids[i], "event": "liquidated", "fee": fee, "realized_pnl": upnl[i]})
                if not any(open_[j] for j in members[g]):
                    if wallet[g] < 0:
                        wallet[g] = 0.0
                    eq[g] = wallet[g]
                    mmp[g] = 0.0
            live[g] = any(open_[i] for i in members[g])
    last = marks[-1]
    left = sum(wallet)
    for i in range(n):
        if open_[i]:
            left += lb.sq[i] * (last[lb.sym[i]] - lb.entry[i])
    return events, left


def compare(doc: dict[str, Any], events: list[dict[str, Any]], left: float, scale: float) -> None:
    steps = doc["steps"]
    agree("cascade events", len(steps) == len(events), f"cascade {len(steps)} events, loop {len(events)}")
    for k, (s, e) in enumerate(zip(steps, events, strict=True)):
        same = s["position"] == e["position"] and s["event"] == e["event"]
        agree("cascade event order", same, f"event {k}: cascade {s['position']} {s['event']}, loop {e}")
        for key in ("fee", "realized_pnl"):
            agree(
                f"cascade {key}",
                abs(float(s[key]) - float(e[key])) <= 1e-9 * scale,
                f"event {k} ({e['position']}): cascade {s[key]!r}, loop {e[key]!r}",
            )
    got = doc["collateral_left"]
    agree("cascade collateral left", got is not None and abs(got - left) <= 1e-9 * scale, f"{got!r} vs {left!r}")


# --------------------------------------------------------------------------- the previous algorithm (baseline)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
MIN_REMAINING = 0.01
_REFINE_ROUNDS = 8
_REFINE_POINTS = 16
_MAX_EVENTS = 20_000


class OldRun:
    """One view along one path: the state that liquidations change, and the event loop."""

    def __init__(
        self, book: Book, path: WalkPath, rules: LiquidationRules, params: CascadeParams, main: int | None
    ) -> None:
        self.book0 = book
        self.path = path
        self.rules = rules
        self.params = params
        self.main = main
        res = book.resolved
        n, g = book.n_positions, book.n_pools
        self.size = book.size.copy()
        self.mm_entry = book.mm_entry.copy()
        self.mmr_entry = book.mmr_entry.copy()
        self.open = np.ones(n, dtype=bool)
        self.adj = np.zeros(g)
        self.cw = book.collateral_weight.copy()
        self.realised = np.zeros(n)
        self.fees = np.zeros(n)
        self.insurance = 0.0
        self.flow = np.zeros(len(book.symbols))
        self.reduced = np.zeros(n, dtype=bool)
        self.steps: list[dict[str, object]] = []
        self._cur_c: FloatArray | None = None if path.coll is None else path.coll[0]
        self.fee_rate = np.array([self._fee_rate(i) for i in range(n)])
        self.labels = [
            f"cross {book.pool_settle[k]}"
            if book.pool_mode[k] == "cross"
            else f"isolated {book.ids[int(book.pool_position[k])]}"  # type: ignore[arg-type]
            for k in range(g)
        ]
        self.base_marks = path.marks[0]
        ev0 = self._eval(path.marks[:1], None if path.coll is None else path.coll[:1])
        self.start_upnl = ev0.upnl[0].copy()
        self.start_equity = ev0.pool_equity[0].copy()
        self.inverse_settle = [res.legs[i].settle for i in range(n)]

    # ---- state -> engine
    def _fee_rate(self, i: int) -> float:
        p, r = self.params, self.rules
        sym = self.book0.symbols[int(self.book0.sym[i])]
        if isinstance(p.fee, float):
            return p.fee
        if isinstance(p.fee, dict):
            v = lookup(p.fee, sym)
            if v is not None:
                return v
        if r.fee_by_base:
            v = lookup(r.fee_by_base, sym)
            if v is not None:
                return v
        return r.fee if r.fee is not None else float(self.book0.resolved.taker_fee)

    def _book(self) -> Book:
        return replace(
            self.book0,
            size=self.size,
            mm_entry=self.mm_entry,
            mmr_entry=self.mmr_entry,
            pool_wallet=self.book0.pool_wallet + self.adj,
            collateral_weight=self.cw,
        )

    @dataclass
    class _Eval:
        upnl: FloatArray
        maintenance: FloatArray
        notional: FloatArray
        pool_equity: FloatArray
        pool_maintenance: FloatArray
        wallet: FloatArray

    def _eval(self, marks: FloatArray, coll: FloatArray | None) -> OldRun._Eval:
        """Engine evaluation at (S, n_sym) marks with the current state; closed positions removed."""
        bk = self._book()
        ev = evaluate(bk, marks, collateral_prices=coll)
        mm_pool = ev.pool_maintenance
        closed = np.flatnonzero(~self.open)
        if closed.size:
            corr = np.zeros((marks.shape[0], bk.n_pools))
            np.add.at(corr.T, bk.pool[closed], ev.maintenance[:, closed].T)
            mm_pool = mm_pool - corr
        wallet = np.broadcast_to(bk.wallet_at(None if coll is None else np.atleast_2d(coll)), ev.pool_equity.shape)
        return OldRun._Eval(ev.upnl, ev.maintenance, ev.notional, ev.pool_equity, mm_pool, wallet)

    def _xc_row(self) -> FloatArray | None:
        return None if self._cur_c is None else self._cur_c[None, :]

    def _live(self) -> BoolArray:
        return np.bincount(self.book0.pool[self.open], minlength=self.book0.n_pools) > 0

    def _triggered(self, ev: OldRun._Eval) -> BoolArray:
        return self._live()[None, :] & (ev.pool_equity <= ev.pool_maintenance)

    # ---- main loop
    def run(self) -> None:
        marks, coll = self.path.marks, self.path.coll
        n_rows = marks.shape[0]
        cur = marks[0].copy()
        cur_c = None if coll is None else coll[0].copy()
        cur_t = float(self.path.t[0])
        cur_phase = self.path.phase[0]
        r = 1
        events = 0
        while events < _MAX_EVENTS:
            ev = self._eval(cur[None, :], None if cur_c is None else cur_c[None, :])
            trig = self._triggered(ev)[0]
            if trig.any():
                # the pool furthest past its trigger first, then pool order
                gap = ev.pool_equity[0] - ev.pool_maintenance[0]
                g = int(np.flatnonzero(trig)[np.argmin(gap[trig])])
                self._liquidate_pool(g, cur, cur_c, cur_t, cur_phase)
                events += 1
                continue
            if r >= n_rows:
                break
            k_hit = -1
            start = r
            window = 8
            while start < n_rows:
                stop = min(n_rows, start + window)
                evw = self._eval(marks[start:stop], None if coll is None else coll[start:stop])
                hit = self._triggered(evw).any(axis=1)
                if hit.any():
                    k_hit = start + int(np.argmax(hit))
                    break
                start = stop
                window *= 4
            if k_hit < 0:
                break
            a = cur if k_hit == r else marks[k_hit - 1]
            ac = cur_c if k_hit == r else (None if coll is None else coll[k_hit - 1])
            ta = cur_t if k_hit == r else float(self.path.t[k_hit - 1])
            b, bc, tb = marks[k_hit], None if coll is None else coll[k_hit], float(self.path.t[k_hit])
            tau = 1.0 if self.params.fill == "step" else self._refine(a, b, ac, bc)
            if tau >= 1.0:
                cur, cur_c, cur_t = b.copy(), None if bc is None else bc.copy(), tb
                r = k_hit + 1
            else:
                cur = a + tau * (b - a)
                cur_c = None if ac is None or bc is None else ac + tau * (bc - ac)
                cur_t = ta + tau * (tb - ta)
                r = k_hit
            cur_phase = self.path.phase[k_hit]

    def _refine(self, a: FloatArray, b: FloatArray, ac: FloatArray | None, bc: FloatArray | None) -> float:
        """Smallest τ ∈ (0, 1] (to ~16⁻¹⁰ of the segment) at which some pool is triggered on a → b."""
        lo, hi = 0.0, 1.0
        k = _REFINE_POINTS
        for _ in range(_REFINE_ROUNDS):
            taus = lo + (hi - lo) * np.arange(1, k + 1) / k
            m = a[None, :] + taus[:, None] * (b - a)[None, :]
            c = None if ac is None or bc is None else ac[None, :] + taus[:, None] * (bc - ac)[None, :]
            hit = self._triggered(self._eval(m, c)).any(axis=1)
            if not hit.any():  # numerical corner: the end of the segment is the first triggered point
                return hi
            j = int(np.argmax(hit))
            lo, hi = (lo if j == 0 else float(taus[j - 1])), float(taus[j])
        return hi

    # ---- one pool at fixed marks
    def _liquidate_pool(self, g: int, x: FloatArray, xc: FloatArray | None, t: float, phase: str) -> None:
        bk0 = self.book0
        self._cur_c = xc
        members_all = np.flatnonzero(bk0.pool == g)
        guard = 0
        while True:
            guard += 1
            ev = self._eval(x[None, :], None if xc is None else xc[None, :])
            eq, mm = float(ev.pool_equity[0, g]), float(ev.pool_maintenance[0, g])
            members = members_all[self.open[members_all]]
            if members.size == 0 or eq > mm:
                return
            drained = self._drained(ev, members_all)
            if eq <= 0.0:
                self._close_all(g, ev, x, t, phase, "bankrupt", "bankrupt", drained)
                return
            if self.rules.backstop is not None and eq < self.rules.backstop * mm:
                self._close_all(g, ev, x, t, phase, "liquidated", "backstop", drained)
                return
            up, mmp = ev.upnl[0, members], ev.maintenance[0, members]
            key = np.lexsort((-mmp, up)) if self.params.order == "loss" else np.lexsort((up, -mmp))
            i = int(members[key[0]])
            f = self._fraction(i, ev, x, g) if self.params.partial and guard < 200 else 1.0
            if f < 1.0 and self.size[i] * (1.0 - f) < MIN_REMAINING * bk0.size[i]:
                f = 1.0
            if f >= 1.0 and self.params.takeover:
                self._close_all(g, ev, x, t, phase, "liquidated", "takeover", drained)
                return
            self._close(i, f, g, ev, x, t, phase, drained, "market" if f >= 1.0 else self.rules.partial)

    def _drained(self, ev: OldRun._Eval, members: npt.NDArray[np.intp]) -> dict[str, float]:
        pnl = self.realised[members] + np.where(self.open[members], ev.upnl[0, members], 0.0) - self.start_upnl[members]
        order = np.argsort(pnl, kind="stable")[:5]
        return {self.book0.ids[int(members[j])]: float(pnl[j]) for j in order}

    def _mm_at_size(self, i: int, sizes: FloatArray, mark: float) -> FloatArray:
        """Maintenance in force of position ``i`` at several sizes, fixed mark (the book's margin model)."""
        return self.book0.model.at_sizes(self.book0, i, sizes, mark)

    def _fraction(self, i: int, ev: OldRun._Eval, x: FloatArray, g: int) -> float:
        """Fraction of position ``i`` the venue closes now (module docstring, ``partial``)."""
        bk = self.book0
        mode = self.rules.partial
        mark = float(x[int(bk.sym[i])])
        size = float(self.size[i])
        notional = float(ev.notional[0, i])
        if mode == "none":
            return 1.0
        if mode == "chunks":
            quote = size if bk.inverse[i] else notional
            return self.rules.chunk_fraction if quote > self.rules.chunk_notional else 1.0
        if mode == "tiers":
            table = bk.resolved.tables[bk.symbols[int(bk.sym[i])]]
            valued = float(bk.model.tier_notional(bk, i, size, notional))
            k = table.index(valued)
            if k == 0:
                return 1.0
            target = table.tiers[k].min_notional * (1.0 - 1e-12)
            return float(min(1.0, max(0.0, 1.0 - target / valued)))
        # restore: smallest fraction with maintenance ≤ restore_ratio × (equity − fee) after the reduction
        eq = float(ev.pool_equity[0, g])
        mm_other = float(ev.pool_maintenance[0, g]) - float(ev.maintenance[0, i])
        rate = float(self.fee_rate[i])

        target = self.params.restore_ratio

        def margin(fr: FloatArray) -> FloatArray:
            return target * (eq - rate * fr * notional) - mm_other - self._mm_at_size(i, size * (1.0 - fr), mark)

        grid = np.arange(1, 1025) / 1024.0
        ok = margin(grid) > 0
        if not ok.any() or (ok[-1] and not ok[:-1].any()):
            return 1.0
        j = int(np.argmax(ok))
        lo, hi = (0.0 if j == 0 else float(grid[j - 1])), float(grid[j])
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            if margin(np.array([mid]))[0] > 0:
                hi = mid
            else:
                lo = mid
        return hi if hi < 1.0 else 1.0

    def _account_value(self, ev: OldRun._Eval) -> float:
        return float(ev.pool_equity[0].sum())

    def _record(
        self,
        i: int,
        event: str,
        g: int,
        eq_before: float,
        x: FloatArray,
        t: float,
        phase: str,
        fee: float,
        frac: float,
        closed_notional: float,
        realised: float,
        drained: dict[str, float],
        mechanism: str,
        xc: FloatArray | None = None,
    ) -> None:
        bk = self.book0
        ev = self._eval(x[None, :], None if xc is None else xc[None, :])
        j = int(bk.sym[i])
        row: dict[str, object] = {
            "move": None if self.main is None else float(x[self.main] / self.base_marks[self.main] - 1.0),
            "event": event,
            "position": bk.ids[i],
            "equity_before": eq_before,
            "equity_after": float(ev.pool_equity[0, g]),
            "collateral_left": float(ev.wallet[0, g]),
            "positions_open": int(self.open.sum()),
            "pool": self.labels[g],
            "settle": bk.pool_settle[g],
            "symbol": bk.symbols[j],
            "price": float(x[j]),
            "symbol_move": float(x[j] / self.base_marks[j] - 1.0),
            "t": t,
            "phase": phase,
            "closed_fraction": frac,
            "closed_notional": closed_notional,
            "realized_pnl": realised,
            "fee": fee,
            "mechanism": mechanism,
            "maintenance_after": float(ev.pool_maintenance[0, g]),
            "account_value": self._account_value(ev),
            "drained_by": drained,
        }
        self.steps.append(row)

    def _close(
        self,
        i: int,
        f: float,
        g: int,
        ev: OldRun._Eval,
        x: FloatArray,
        t: float,
        phase: str,
        drained: dict[str, float],
        mechanism: str,
    ) -> None:
        bk = self.book0
        eq_before = float(ev.pool_equity[0, g])
        notional = float(ev.notional[0, i])
        closed_n = f * notional
        fee = min(float(self.fee_rate[i]) * closed_n, max(eq_before, 0.0))
        realised = f * float(ev.upnl[0, i])
        self.adj[g] += realised - fee
        self.realised[i] += realised
        self.fees[i] += fee
        quote = f * float(self.size[i]) if bk.inverse[i] else closed_n
        self.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
        if f >= 1.0:
            self.size[i] = 0.0
            self.open[i] = False
            self.mm_entry[i] = 0.0
        else:
            self.size[i] *= 1.0 - f
            self.reduced[i] = True
            if bk.at_entry[i]:
                self._reset_entry_mm(i)
        after = self._eval(x[None, :], self._xc_row())
        if not self._live()[g] and after.wallet[0, g] < 0:
            self.insurance += -float(after.wallet[0, g])
            self.adj[g] -= float(after.wallet[0, g])
        event = "liquidated" if f >= 1.0 else "partially_liquidated"
        if eq_before <= 0:
            event = "bankrupt"
        self._record(i, event, g, eq_before, x, t, phase, fee, f, closed_n, realised, drained, mechanism)

    def _reset_entry_mm(self, i: int) -> None:
        """The model's entry valuation of position ``i`` at its reduced size."""
        bk = self.book0
        j = np.array([i])
        rule = bk.model.position_rule(
            bk.tiers, bk.sym[j], self.size[j], bk.entry[j], bk.inverse[j], bk.isolated[j], 0.0
        )
        self.mm_entry[i] = float(rule.mm_entry[0])
        self.mmr_entry[i] = float(rule.mmr_entry[0])

    def _close_all(
        self,
        g: int,
        ev: OldRun._Eval,
        x: FloatArray,
        t: float,
        phase: str,
        event: str,
        mechanism: str,
        drained: dict[str, float],
    ) -> None:
        """Every open position of pool ``g`` closed at once; the pool's collateral is lost (to the insurance
        fund / liquidator vault; negative equity absorbed by the insurance fund)."""
        bk = self.book0
        eq_before = float(ev.pool_equity[0, g])
        members = np.flatnonzero((bk.pool == g) & self.open)
        for i in members:
            realised = float(ev.upnl[0, i])
            self.realised[i] += realised
            self.adj[g] += realised
            quote = float(self.size[i]) if bk.inverse[i] else float(ev.notional[0, i])
            self.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
            self.size[i] = 0.0
            self.open[i] = False
            self.mm_entry[i] = 0.0
        # the pool's wallet (and any backing collateral) is gone
        if g < self.cw.shape[1]:
            self.cw[:, g] = 0.0
        wallet = float(self._eval(x[None, :], self._xc_row()).wallet[0, g])
        if eq_before < 0:
            self.insurance += -eq_before
        self.adj[g] -= wallet
        for n_done, i in enumerate(members):
            self._record(
                int(i),
                event,
                g,
                eq_before if n_done == 0 else 0.0,
                x,
                t,
                phase,
                0.0,
                1.0,
                float(ev.notional[0, i]),
                float(ev.upnl[0, i]),
                drained,
                mechanism,
            )

    # ---- summary
    def summary(self) -> tuple[dict[str, dict[str, float]], float | None, float | None]:
        bk = self.book0
        last = self.path.marks[-1:]
        coll = None if self.path.coll is None else self.path.coll[-1:]
        ev = self._eval(last, coll)
        by: dict[str, dict[str, float]] = {}
        for g, s in enumerate(bk.pool_settle):
            d = by.setdefault(s, {"collateral_start": 0.0, "collateral_left": 0.0})
            d["collateral_start"] += float(self.start_equity[g])
            d["collateral_left"] += float(ev.pool_equity[0, g])
        settles = set(by)
        if len(settles) == 1 or settles <= USD_LIKE:
            return by, sum(d["collateral_start"] for d in by.values()), sum(d["collateral_left"] for d in by.values())
        return by, None, None


def old_cascade(
    resolved: Resolved, shock: dict[str, float], law: str, params: dict[str, Any], view: str
) -> tuple[list[dict[str, object]], int, int]:
    """The previous ``cascade`` of one view: (unmerged step rows, positions lost, fixed-point runs)."""
    p = parse_params(params)
    moves = combine(
        [Shock(k, v) for k, v in shock.items()], list(resolved.marks), list(resolved.portfolio.collateral_assets)
    )
    base, move_vec = shock_path(resolved, moves, p.steps)
    main = main_symbol(move_vec)
    book = compile_book(resolved, view)
    model = impact_model(book.symbols, law, p) if law != "none" else None

    def run_with(d: FloatArray) -> OldRun:
        path = base
        if np.any(d != 0.0):  # the whole path again, then the impact leg
            end = base.marks[-1]
            tail, tt = leg(end, end * (1.0 + d), p.impact_steps, 0.0, 1.0)
            coll = (
                None if base.coll is None else np.vstack([base.coll, np.repeat(base.coll[-1:], tail.shape[0] - 1, 0)])
            )
            phase = base.phase + ("impact",) * (tail.shape[0] - 1)
            path = WalkPath(np.vstack([base.marks, tail[1:]]), coll, phase, np.concatenate([base.t, tt[1:]]))
        r = OldRun(book, path, resolved.venue.liquidation, p, main)
        r.run()
        return r

    d = np.zeros(len(book.symbols))
    run = run_with(d)
    iterations = 1
    if model is not None:
        for _ in range(p.max_iterations):
            d_new = model.moves(run.flow)
            if float(np.max(np.abs(d_new - d), initial=0.0)) <= p.tolerance:
                break
            d = d_new
            run = run_with(d)
            iterations += 1
    return run.steps, int((~run.open).sum()), iterations


def thin_pool() -> tuple[Resolved, dict[str, float], dict[str, Any]]:
    """The thin cross pool: :func:`books.build_book` (1,000 positions) all cross, collateral 10 %."""
    doc = build_book(1000, seed=0)
    doc["collateral"] = {k: v * 0.1 for k, v in doc["collateral"].items()}
    doc["positions"] = [dict(p, margin_mode="cross") for p in doc["positions"]]
    params = {"daily_volume": {b: 5e7 for b in sorted({base_of(s) for s in doc["prices"]})}}
    return resolve(portfolio_from_dict(doc, "thin pool")), {"ALL": -0.12}, params


PRICE_RTOL = 1e-9
PRICE_KEYS = ("price", "move", "symbol_move")


def compare_rows(what: str, new: dict[str, Any], old: tuple[list[dict[str, object]], int, int]) -> None:
    """The cascade's step rows against the baseline's (module docstring)."""
    rows, lost, iterations = old
    steps = new["steps"]
    agree(f"{what} step rows", len(steps) == len(rows), f"cascade {len(steps)} rows, baseline {len(rows)}")
    for k, (s, o) in enumerate(zip(steps, rows, strict=True)):
        same = all(s[key] == o[key] for key in ("event", "position", "pool"))
        agree(
            f"{what} row order",
            same,
            f"row {k}: cascade {s['position']} {s['event']}, baseline {o['position']} {o['event']}",
        )
        for key in PRICE_KEYS:
            a, b = float(s[key]), float(o[key])  # type: ignore[arg-type]
            agree(f"{what} {key}", abs(a - b) <= PRICE_RTOL * max(abs(a), abs(b), 1e-300), f"row {k}: {a!r} vs {b!r}")
    agree(f"{what} positions lost", new["positions_lost"] == lost, f"{new['positions_lost']} vs {lost}")
    agree(f"{what} fixed-point runs", new["iterations"] == iterations, f"{new['iterations']} vs {iterations}")


def against_baseline(
    what: str, resolved: Resolved, shock: dict[str, float], params: dict[str, Any], view: str, old_repeat: int
) -> None:
    """Rows equal (else Disagreement), then the medians and the ratio."""
    unmerged = {**params, "merge_partials": False}

    def new() -> dict[str, Any]:
        doc: dict[str, Any] = cascade(resolved, shock, impact="sqrt", params=unmerged, views=(view,)).to_dict()
        return dict(doc["modes"][view])

    def old() -> tuple[list[dict[str, object]], int, int]:
        return old_cascade(resolved, shock, "sqrt", unmerged, view)

    doc = new()
    t0 = time.perf_counter()
    base = old()
    first_old = (time.perf_counter() - t0) * 1e3
    compare_rows(what, doc, base)
    print(
        f"  agreement: {len(base[0])} step rows (event, position, pool; prices to {PRICE_RTOL:g}), "
        f"{base[1]} positions lost, {base[2]} fixed-point runs"
    )
    t_new = median_ms(new, 5)
    t_old = first_old if old_repeat <= 1 else median_ms(old, old_repeat)
    print(
        f"  cascade {t_new:.0f} ms (median of 5), previous algorithm {t_old:.0f} ms "
        f"({'one run' if old_repeat <= 1 else f'median of {old_repeat}'}); ratio {t_old / t_new:.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--old-repeat", type=int, default=3, help="runs of the (slow) previous algorithm")
    args = parser.parse_args()
    resolved: Resolved = realistic(args.positions)
    shock = {"ALL": SHOCK}
    book = compile_book(resolved, "as_is")
    lb = LoopBook(book)
    n_pos = book.n_positions
    print(f"book: {n_pos} positions, {book.n_pools} pools (books.build_book); shock ALL={SHOCK:.0%} in {STEPS} steps")
    m0 = book.marks
    marks = (m0[None, :] * (1.0 + SHOCK * np.linspace(0.0, 1.0, STEPS + 1)[:, None])).tolist()
    try:
        out: dict[str, Any] = cascade(resolved, shock, impact="none", params=LIKE_FOR_LIKE, views=("as_is",)).to_dict()
        doc = out["modes"]["as_is"]
        events, left = loop_cascade(lb, book.ids, marks)
        scale = float(np.sum(np.abs(book.pool_wallet))) + float(np.sum(np.abs(book.size * book.entry)))
        compare(doc, events, left, scale)
        print(
            f"  agreement: {len(events)} events (position, kind, fee, realised PnL) and collateral left equal "
            f"to 1e-9 of the account's scale; {doc['positions_lost']} positions lost"
        )
        t_arr = median_ms(lambda: cascade(resolved, shock, impact="none", params=LIKE_FOR_LIKE, views=("as_is",)), 3)
        t_loop = median_ms(lambda: loop_cascade(lb, book.ids, marks), 3)
        print(
            f"like for like (step fills, full closes, no impact): cascade {t_arr:.0f} ms, loop {t_loop:.0f} ms "
            f"(medians of 3); ratio {t_loop / t_arr:.1f}x"
        )
    except Disagreement:
        return 1
    try:
        print("default cascade (crossing fills, restore partials, sqrt impact), this book, as_is view:")
        against_baseline("realistic book", resolved, shock, {}, "as_is", args.old_repeat)
        thin, thin_shock, thin_params = thin_pool()
        print(
            "thin cross pool (1,000 positions, collateral 10 %, ALL=-12%, sqrt impact, daily volumes 5e7), cross view:"
        )
        against_baseline("thin pool", thin, thin_shock, thin_params, "cross", args.old_repeat)
    except Disagreement:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
