"""Benchmark of the probability-of-liquidation Monte Carlo (``margin.risk``) against a fair loop. Prints figures.

Book: :func:`books.build_book` (1,000 positions, the shipped Binance USDⓈ-M tables, 17 bases). The shipped
daily closes cover 10 of the bases; the others get illustrative annual volatilities (``VOLS``, not data),
as ``--vol`` gives them on the command line. Monte Carlo: ``--paths`` paths (1,000) × 720 hourly steps
(30 days), all three views checked at every hourly close.

Timed: :func:`margin.risk.risk` for each model (what ``python -m margin risk`` runs; one run each), and
:func:`margin.risk.simulate` with the gbm model against a plain-Python loop that consumes the SAME draws
(the model's own ``draw`` in the same chunks, so both paths see identical prices): per path, per hour,
per position price, tier (bisect on floors computed once), ``UPNL − maintenance`` computed once and added
to the pool of each view (pool memberships and wallets computed once). The loop runs a few paths and is
extrapolated.

Before the ratio is printed, the first liquidation hour of every pool of every view on the loop's paths is
compared with :func:`simulate`'s (equal hours; a pool whose trigger margin is within 1e-9 of its scale at
that hour may differ by rounding and is reported, not failed); a disagreement stops the script (exit 1).
Separable vs per-position (issue 13): :func:`margin.risk.simulate` (pools as sums of per-asset price
functions, isolated pools as price barriers: :mod:`margin.risk_separable`) against ``per_position_first``, a
COPY of the loop it replaced (every position priced on every path at every hourly close), on
``ten_asset_book`` (``books.build_book`` restricted to the 10 bases with shipped closes) at ``--sizes``
positions (10, 1,000, 10,000), bootstrap model, 10,000 paths × 168 h; each run in a fresh process (its own
peak resident memory). The first liquidation hour of every (path, pool) of every view must be EQUAL between
the two before a ratio is printed (else exit 1). From 5,000 positions the per-position copy runs on 1,000
paths (its cost is linear in paths; its time is extrapolated ×10 and the comparison is on those paths).

Options (issue 11, ``--options-only``): :func:`margin.risk.risk` on ``fixtures/portfolios/deribit-options.json``
(every pool checked with the engine at every hourly close), 10,000 paths × 168 h (:func:`options_run`).

Noisy: 2 shared cores. Run: ``python benchmarks/bench_risk.py`` (``--quick``: one repeat, fewer loop paths;
``--scaling-only``: only the separable vs per-position runs).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import Disagreement, LoopBook, agree, realistic
from books import build_book

from margin import load_portfolio
from margin.engine import VIEWS, Book, compile_book
from margin.marketdata import load_daily_closes
from margin.models import MaintenanceTerms, net_terms
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from margin.risk import MarketModel, build_model, risk, simulate
from margin.risk_simulation import CHUNK_ELEMENTS, MAX_CHUNK_STEPS, NEVER

HOURS = 720
#: annualised volatilities of the bases without shipped history (illustrative, not data)
VOLS = {"1000PEPE": 1.1, "SUI": 1.0, "WIF": 1.2, "TON": 0.8, "ARB": 0.9, "OP": 0.9, "TRX": 0.5}
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def loop_first_hours(
    resolved: Resolved, mm: MarketModel, paths: int, seed: int
) -> tuple[dict[str, list[list[int]]], dict[str, list[list[float]]]]:
    """First liquidation hour of every (path, pool) of every view (``NEVER`` when none), and the trigger
    margin ``wallet + Σ net`` at that hour (to tell rounding ties from real disagreements)."""
    books = {v: compile_book(resolved, v) for v in VIEWS}
    first_book = books["as_is"]
    lb = LoopBook(first_book)
    a_index = {a: i for i, a in enumerate(mm.assets)}
    pos_asset = [a_index[resolved.legs[i].instrument.base] for i in range(lb.n)]
    rows = [
        (pos_asset[i], lb.marks[lb.sym[i]], lb.size[i], lb.sq[i], lb.entry[i], lb.floors[i], lb.mmr[i], lb.cum[i])
        for i in range(lb.n)
    ]
    views = [(v, [int(g) for g in b.pool], [float(w) for w in b.pool_wallet], b.n_pools) for v, b in books.items()]
    occupied = {v: sorted(set(pools)) for v, pools, _, _ in views}
    rng = np.random.default_rng(seed)
    n_a = len(mm.assets)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // max(1, paths * max(n_a, 1))))
    draws = []
    done = 0
    while done < HOURS:
        steps = min(chunk, HOURS - done)
        draws.append(mm.draw(rng, steps, paths))  # (A, steps, paths), as simulate draws them
        done += steps
    x_all = np.concatenate(draws, axis=1)
    first: dict[str, list[list[int]]] = {v: [] for v in books}
    margin_at: dict[str, list[list[float]]] = {v: [] for v in books}
    for p in range(paths):
        x = x_all[:, :, p].tolist()
        level = [0.0] * n_a
        f_path = {v: [NEVER] * n for v, _, _, n in views}
        m_path = {v: [math.nan] * n for v, _, _, n in views}
        for hour in range(HOURS + 1):
            if hour:
                for a in range(n_a):
                    level[a] += x[a][hour - 1]
            ratio = [math.exp(lv) for lv in level]
            net = []
            for a, m0, q, sq, ep, floors, mmr, cum in rows:
                price = m0 * ratio[a]
                n = q * price
                k = bisect_right(floors, n) - 1
                net.append(sq * (price - ep) - (n * mmr[k] - cum[k]))
            for view, pools, wallet, _ in views:
                fv = f_path[view]
                total = list(wallet)
                for i, g in enumerate(pools):
                    total[g] += net[i]
                for g in occupied[view]:
                    if fv[g] == NEVER and total[g] <= 0:
                        fv[g] = hour
                        m_path[view][g] = total[g]
        for view in books:
            first[view].append(f_path[view])
            margin_at[view].append(m_path[view])
    return first, margin_at


def _pick_rows(where: BoolArray, new: MaintenanceTerms, old: MaintenanceTerms) -> MaintenanceTerms:
    """Rows ``where`` from ``new``, the rest from ``old``."""
    w = where[:, None]
    return MaintenanceTerms(
        np.where(w, new.constant, old.constant),
        np.where(w, new.rate, old.rate),
        np.where(w, new.per_size, old.per_size),
        np.where(w, new.fee, old.fee),
    )


class PerPositionTriggers:
    """COPY of ``margin.risk.Triggers`` before the separable formulation (the fair baseline; unchanged code).

    Every pool of every view at a matrix of marks: per position a closed form, per pool a sum.

    Per position, ``net = UPNL − maintenance`` at mark ``P`` within one tier ``k`` is
    ``α_k·P + β_k + γ_k/P + δ_k/P²``, the margin model's segment terms (:func:`margin.models.net_terms`;
    a model that values isolated maintenance at entry, Bybit §3.2, gives one constant segment). The tier
    changes where the notional crosses a floor: ``P ≥ F/q`` (linear) or ``P ≤ q/F`` (inverse); per step
    only the positions whose marks straddle a floor across the paths look tiers up element by element. A
    pool (format §2) is liquidated when ``wallet + Σ net ≤ 0``. Pools that are the same in several views
    (an isolated position, a cross pool with the same members and wallet) are computed once. Arrays are
    laid out (positions, paths).
    :func:`margin.engine.evaluate` gives the same flags (a test holds them equal).
    """

    def __init__(self, books: Mapping[str, Book]) -> None:
        first = next(iter(books.values()))
        self.book = b = first
        tiers = b.tiers
        self.width = tiers.width
        n, k_w = b.n_positions, tiers.width
        everyone = np.arange(n)
        all_tiers = np.broadcast_to(np.arange(k_w), (n, k_w))
        # the margin model's segment terms (margin.models.base): for each position those of a view in which
        # its maintenance follows the mark, and, where some view values it at entry, those (one segment)
        mark_terms: MaintenanceTerms | None = None
        floors = np.full((n, max(k_w - 1, 0)), np.inf)
        chosen = np.zeros(n, dtype=bool)
        entry_terms: MaintenanceTerms | None = None
        chosen_e = np.zeros(n, dtype=bool)
        for bk in books.values():
            t = bk.model.terms(bk, everyone, all_tiers)
            take = ~bk.at_entry & ~chosen
            if take.any():
                mark_terms = t if mark_terms is None else _pick_rows(take, t, mark_terms)
                floors = np.where(take[:, None], bk.model.floors(bk, everyone), floors)
                chosen |= take
            take_e = bk.at_entry & ~chosen_e
            if take_e.any():
                first_seg = MaintenanceTerms(t.constant[:, :1], t.rate[:, :1], t.per_size[:, :1], t.fee[:, :1])
                entry_terms = first_seg if entry_terms is None else _pick_rows(take_e, first_seg, entry_terms)
                chosen_e |= take_e
        if mark_terms is None:
            zero = np.zeros((n, k_w))
            mark_terms = MaintenanceTerms(zero, zero, zero, zero)
        q = b.size[:, None]
        lin = ~b.inverse[:, None]
        net = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], mark_terms)
        self.alpha = net.alpha.ravel()
        self.beta = net.beta.ravel()
        self.gamma = net.gamma.ravel()
        self.delta = net.delta.ravel()
        self.inverse_rows = np.flatnonzero(b.inverse)
        self.any_delta = bool(np.any(self.delta != 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.thr = np.where(lin, floors / q, q / floors)  # (P, K-1) in mark space
        self.linear = ~b.inverse
        # at-entry variant (isolated positions on venues whose model values maintenance at entry)
        if entry_terms is None:
            zero1 = np.zeros((n, 1))
            entry_terms = MaintenanceTerms(zero1, zero1, zero1, zero1)
        net_e = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], entry_terms)
        self.alpha_e = net_e.alpha[:, 0]
        self.beta_e = net_e.beta[:, 0]
        self.gamma_e = net_e.gamma[:, 0]
        # unique pools over the views: cross pools first, then isolated ones
        self.views = tuple(books)
        cross_keys: dict[tuple[object, ...], int] = {}
        iso_keys: dict[tuple[object, ...], int] = {}
        cross_members: list[BoolArray] = []
        cross_wallet: list[float] = []
        cross_coll: list[FloatArray] = []
        iso: list[tuple[int, bool, float]] = []
        refs: dict[str, list[tuple[str, int]]] = {}
        for view, bk in books.items():
            refs[view] = []
            for g in range(bk.n_pools):
                members = bk.pool == g
                wallet = float(bk.pool_wallet[g])
                if not members.any():
                    refs[view].append(("none", -1))
                elif bk.pool_mode[g] == "isolated":
                    i = int(np.flatnonzero(members)[0])
                    key: tuple[object, ...] = (i, bool(bk.at_entry[i]), wallet)
                    if key not in iso_keys:
                        iso_keys[key] = len(iso)
                        iso.append((i, bool(bk.at_entry[i]), wallet))
                    refs[view].append(("iso", iso_keys[key]))
                else:
                    weight = bk.collateral_weight[:, g] if bk.collateral_assets else np.zeros(0)
                    key = (members.tobytes(), wallet, weight.tobytes())
                    if key not in cross_keys:
                        cross_keys[key] = len(cross_members)
                        cross_members.append(members)
                        cross_wallet.append(wallet)
                        cross_coll.append(weight)
                    refs[view].append(("cross", cross_keys[key]))
        self.n_cross = len(cross_members)
        self.n_unique = self.n_cross + len(iso)
        self.view_pools = {
            v: np.array(
                [-1 if kind == "none" else (k if kind == "cross" else self.n_cross + k) for kind, k in r], dtype=np.intp
            )
            for v, r in refs.items()
        }
        self.cross_rows = [None if bool(mm.all()) else np.flatnonzero(mm) for mm in cross_members]
        self.cross_wallet = np.array(cross_wallet, dtype=np.float64)
        self.cross_coll = np.column_stack(cross_coll) if cross_coll and cross_coll[0].size else None
        self.iso_pos = np.array([i for i, _, _ in iso], dtype=np.intp)
        self.iso_wallet = np.array([w for _, _, w in iso], dtype=np.float64)
        entry = np.array([e for _, e, _ in iso], dtype=bool)
        self.iso_plain = np.flatnonzero(~entry)
        self.iso_entry = np.flatnonzero(entry)

    def _net(self, mark: FloatArray) -> FloatArray:
        """``UPNL − maintenance − fee`` of every position (rows) on every path (columns)."""
        p = mark.shape[0]
        k_w = self.width
        lin = self.linear
        if k_w > 1 and p:
            lo = mark.min(axis=1)
            hi = mark.max(axis=1)
            thr = self.thr
            base = np.where(lin, (thr <= lo[:, None]).sum(axis=1), (thr >= hi[:, None]).sum(axis=1))
            top = np.where(lin, (thr <= hi[:, None]).sum(axis=1), (thr >= lo[:, None]).sum(axis=1))
        else:
            base = top = np.zeros(p, dtype=np.intp)
        flat = np.arange(p) * k_w + base
        net = mark * self.alpha[flat][:, None]
        net += self.beta[flat][:, None]
        rows = self.inverse_rows
        if rows.size:
            with np.errstate(divide="ignore"):
                inv = 1.0 / mark[rows]
            extra = inv * self.gamma[flat[rows]][:, None]
            if self.any_delta:
                extra += inv * inv * self.delta[flat[rows]][:, None]
            net[rows] += extra
        cross = np.flatnonzero(top > base)
        if cross.size:
            net[cross] = self._cross_tiers(mark[cross], net[cross], cross, base[cross], top[cross])
        return np.asarray(net, dtype=np.float64)

    def _cross_tiers(
        self, sub: FloatArray, net: FloatArray, rows: IntArray, base: IntArray, top: IntArray
    ) -> FloatArray:
        """``net`` of the rows whose paths straddle tier floors: from the tier at the base of the range,
        add each further tier's change of coefficients where the mark has crossed its floor (floors are
        crossed in order, so the tier is ``base`` plus the number of floors crossed)."""
        k_w = self.width
        lin = self.linear[rows]
        span = int((top - base).max())
        col = base[:, None] + np.arange(span)[None, :]  # (n, span): threshold index
        valid = col < top[:, None]
        col_c = np.minimum(col, k_w - 2)
        sign = np.where(lin, 1.0, -1.0)[:, None]
        thr = np.where(valid, self.thr[rows[:, None], col_c] * sign, np.inf)
        if lin.all():
            key = sub
        elif not lin.any():
            key = -sub
        else:
            key = sub * sign
        lo_idx = rows[:, None] * k_w + np.minimum(col, k_w - 1)
        hi_idx = rows[:, None] * k_w + np.minimum(col + 1, k_w - 1)
        inv_rows = not lin.all()
        if inv_rows:
            with np.errstate(divide="ignore"):
                inv = 1.0 / sub
        for j in range(span):
            crossed = key >= thr[:, j : j + 1]
            d_a = (self.alpha[hi_idx[:, j]] - self.alpha[lo_idx[:, j]])[:, None]
            d_b = (self.beta[hi_idx[:, j]] - self.beta[lo_idx[:, j]])[:, None]
            step = sub * d_a
            step += d_b
            if inv_rows:
                d_g = (self.gamma[hi_idx[:, j]] - self.gamma[lo_idx[:, j]])[:, None]
                d_d = (self.delta[hi_idx[:, j]] - self.delta[lo_idx[:, j]])[:, None]
                step += inv * d_g + inv * inv * d_d
            np.add(net, step, out=net, where=crossed)
        return net

    def unique_flags(self, mark: FloatArray, collateral_prices: FloatArray | None = None) -> BoolArray:
        """(unique pools, S) liquidation flags at position marks (P, S) and collateral prices (n_coll, S)."""
        net = self._net(mark)
        vals = np.empty((self.n_unique, mark.shape[1]))
        for c, rows in enumerate(self.cross_rows):
            vals[c] = net.sum(axis=0) if rows is None else net[rows].sum(axis=0)
        if self.n_cross:
            vals[: self.n_cross] += self.cross_wallet[:, None]
            if collateral_prices is not None and self.cross_coll is not None:
                moved = collateral_prices - self.book.collateral_price[:, None]
                vals[: self.n_cross] += self.cross_coll.T @ moved
        if self.iso_plain.size:
            vals[self.n_cross + self.iso_plain] = (
                net[self.iso_pos[self.iso_plain]] + self.iso_wallet[self.iso_plain][:, None]
            )
        if self.iso_entry.size:
            pos = self.iso_pos[self.iso_entry]
            mk = mark[pos]
            v = mk * self.alpha_e[pos][:, None] + (self.beta_e[pos] + self.iso_wallet[self.iso_entry])[:, None]
            if self.inverse_rows.size:
                with np.errstate(divide="ignore"):
                    v += self.gamma_e[pos][:, None] / mk
            vals[self.n_cross + self.iso_entry] = v
        return np.asarray(vals <= 0.0, dtype=np.bool_)

    def liquidated(self, marks: FloatArray, collateral_prices: FloatArray | None = None) -> dict[str, BoolArray]:
        """Per view, (S, G) pool flags at symbol marks (S, n_symbols): as ``margin.engine.evaluate``."""
        mark = np.ascontiguousarray(np.asarray(marks)[:, self.book.sym].T)
        cp = None if collateral_prices is None else np.ascontiguousarray(np.asarray(collateral_prices).T)
        flags = self.unique_flags(mark, cp)
        out = {}
        for view in self.views:
            cols = self.view_pools[view]
            out[view] = np.where(cols >= 0, flags[np.maximum(cols, 0)].T, False)
        return out


# --------------------------------------------------------------------------- separable vs per-position

#: the scaling runs: hourly steps (7 days) and paths
SCALING_HOURS = 168
SCALING_PATHS = 10_000
#: at this many positions and above the per-position path runs on fewer paths (its cost is linear in paths)
BIG_BOOK = 5_000
BIG_BOOK_OLD_PATHS = 1_000


def ten_asset_book(n_positions: int, seed: int = 0) -> Resolved:
    """A realistic ``n_positions`` book on the 10 bases with shipped daily closes: :func:`books.build_book`
    (shipped Binance USDⓈ-M tier tables, real and synthetic listings, mixed cross and isolated, hedge pairs,
    USDT and USDC pools), keeping its positions on those bases in turn (so 10 positions are one per base),
    with collateral per settle asset set by ``books.py``'s own rule (1.25 × the cross positions' initial
    margin + the isolated margins + 1,000)."""
    hist = load_daily_closes()
    doc = build_book(4 * n_positions + 100, seed)
    by_base: dict[str, list[dict[str, Any]]] = {}
    for p in doc["positions"]:
        base = p["symbol"].split("/", 1)[0]
        if base in hist.assets:
            by_base.setdefault(base, []).append(p)
    queues = list(by_base.values())
    keep: list[dict[str, Any]] = []
    while len(keep) < n_positions and any(queues):
        for q in queues:
            if q and len(keep) < n_positions:
                keep.append(q.pop(0))
    symbols = {p["symbol"] for p in keep}
    cross: dict[str, float] = {}
    isolated: dict[str, float] = {}
    for p in keep:
        settle = p["symbol"].rsplit(":", 1)[1].split("-", 1)[0]  # a synthetic listing: <real symbol>-NNNN
        if p["margin_mode"] == "isolated":
            isolated[settle] = isolated.get(settle, 0.0) + p["contracts"] * p["entry_price"] / p["leverage"]
        else:
            mark = doc["prices"][p["symbol"]]
            cross[settle] = cross.get(settle, 0.0) + p["contracts"] * mark / p["leverage"]
    doc["positions"] = keep
    doc["prices"] = {s: v for s, v in doc["prices"].items() if s in symbols}
    doc["tiers"] = {s: v for s, v in doc["tiers"].items() if s in symbols}
    doc["collateral"] = {
        s: float(round(1.25 * cross.get(s, 0.0) + isolated.get(s, 0.0) + 1_000.0, -2))
        for s in sorted(set(cross) | set(isolated))
    }
    return resolve(portfolio_from_dict(doc, "generated"))


def per_position_first(
    resolved: Resolved, hours: int, mm: MarketModel, paths: int, seed: int
) -> dict[str, npt.NDArray[np.int32]]:
    """COPY of ``margin.risk.simulate``'s loop before the separable formulation (the fair baseline): every
    hourly close prices every position on every path (``PerPositionTriggers``). Same draws (the model's
    ``draw`` in the same chunks), same first-touch rule; returns view -> (paths, pools) first hours."""
    books = {v: compile_book(resolved, v) for v in VIEWS}
    first_book = books[VIEWS[0]]
    base = {leg.position.symbol: leg.instrument.base for leg in resolved.legs}
    a_index = {a: i for i, a in enumerate(mm.assets)}
    pos_col = np.array([a_index[base[first_book.symbols[s]]] for s in first_book.sym], dtype=np.intp)
    mark0 = first_book.marks[first_book.sym][:, None]
    coll_names = first_book.collateral_assets
    coll_cols = np.array([a_index.get(c, -1) for c in coll_names], dtype=np.intp)
    moving = np.flatnonzero(coll_cols >= 0)
    coll0 = first_book.collateral_price[:, None]
    triggers = PerPositionTriggers(books)
    first = np.full((triggers.n_unique, paths), NEVER, dtype=np.int32)
    now = triggers.unique_flags(mark0, coll0 if coll_names else None)
    first[now[:, 0]] = 0
    rng = np.random.default_rng(seed)
    n_a = len(mm.assets)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // max(1, paths * max(n_a, 1))))
    level = np.zeros((n_a, paths))
    ratio = np.empty((n_a, paths))
    direct = pos_col.size == n_a and bool(np.array_equal(pos_col, np.arange(n_a)))
    mark = np.empty((pos_col.size, paths))
    cp = np.repeat(coll0, paths, axis=1) if coll_names else None
    done = 0
    while done < hours and n_a and triggers.n_unique:
        steps = min(chunk, hours - done)
        x = mm.draw(rng, steps, paths)
        for j in range(steps):
            level += x[:, j]
            np.exp(level, out=ratio)
            if direct:
                np.multiply(ratio, mark0, out=mark)
            else:
                np.multiply(ratio[pos_col], mark0, out=mark)
            if cp is not None and moving.size:
                cp[moving] = coll0[moving] * ratio[coll_cols[moving]]
            flags = triggers.unique_flags(mark, cp)
            flags &= first == NEVER
            if flags.any():
                first[flags] = done + j + 1
        done += steps
    per_view = {}
    for view in books:
        cols = triggers.view_pools[view]
        per_view[view] = np.where(cols[None, :] >= 0, first[np.maximum(cols, 0)].T, NEVER).astype(np.int32)
    return per_view


def scaling_worker(impl: str, n_positions: int, paths: int, repeat: int, out: str) -> None:
    """One implementation at one size in a fresh process (its own peak memory): times, then first hours to ``out``."""
    hist = load_daily_closes()
    resolved = ten_asset_book(n_positions)
    bases = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    mm = build_model(bases, hist, "bootstrap")
    times = []
    first: dict[str, npt.NDArray[np.int32]] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        if impl == "separable":
            first = dict(simulate(resolved, SCALING_HOURS, hist, paths=paths, seed=1, model=mm).first)
        else:
            first = per_position_first(resolved, SCALING_HOURS, mm, paths, 1)
        times.append(time.perf_counter() - t0)
    np.savez(out, allow_pickle=False, **first)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    book = compile_book(resolved, "as_is")
    print(
        json.dumps(
            {
                "median": statistics.median(times),
                "times": times,
                "peak_mb": peak,
                "symbols": len(book.symbols),
                "assets": len(mm.assets),
                "pools": [compile_book(resolved, v).n_pools for v in VIEWS],
            }
        )
    )


def _run_worker(impl: str, n: int, paths: int, repeat: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", impl, str(n), str(paths), str(repeat), str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def scaling(sizes: Sequence[int], quick: bool) -> None:
    """Separable simulate against the per-position copy: 10k paths × 168 h, bootstrap, at each size; first
    liquidation hours compared (every (path, pool) of every view equal) before any ratio is printed."""
    print(
        f"separable vs per-position (ten_asset_book, bootstrap, {SCALING_PATHS:,} paths x {SCALING_HOURS} h, "
        "fresh process per run; peak = that process's maximum resident set):"
    )
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            old_paths = BIG_BOOK_OLD_PATHS if n >= BIG_BOOK else SCALING_PATHS
            old_repeat = 1 if n >= BIG_BOOK else repeat
            new = _run_worker("separable", n, SCALING_PATHS, repeat, Path(tmp) / f"new{n}.npz")
            old = _run_worker("per-position", n, old_paths, old_repeat, Path(tmp) / f"old{n}.npz")
            check = new
            if old_paths != SCALING_PATHS:  # compare on the per-position run's paths
                check = _run_worker("separable", n, old_paths, 1, Path(tmp) / f"chk{n}.npz")
            a = np.load(Path(tmp) / (f"new{n}.npz" if check is new else f"chk{n}.npz"))
            b = np.load(Path(tmp) / f"old{n}.npz")
            pairs = hits = 0
            for view in VIEWS:
                same = a[view].shape == b[view].shape and bool(np.array_equal(a[view], b[view]))
                diff = "shape" if a[view].shape != b[view].shape else int(np.sum(a[view] != b[view]))
                agree("separable first hours", same, f"{n} positions, {view}: {diff} (path, pool) hours differ")
                pairs += a[view].size
                hits += int(np.sum(a[view] != NEVER))
            t_old = old["median"] * SCALING_PATHS / old_paths
            note = "" if old_paths == SCALING_PATHS else f", extrapolated x{SCALING_PATHS // old_paths}"
            pools = "/".join(map(str, new["pools"]))
            print(
                f"  {n:>6,} positions ({new['symbols']} symbols, {new['assets']} assets, pools {pools}): first "
                f"hours equal on {pairs:,} (path, pool) pairs ({hits:,} liquidated) on {old_paths:,} paths"
            )
            print(
                f"         separable {new['median']:.2f} s (median of {len(new['times'])}), peak "
                f"{new['peak_mb']:.0f} MB; per-position {t_old:.2f} s (median of {len(old['times'])} on "
                f"{old_paths:,} paths{note}), peak {old['peak_mb']:.0f} MB; ratio {t_old / new['median']:.1f}x"
            )


def options_run(quick: bool) -> None:
    """An account holding options (``fixtures/portfolios/deribit-options.json``: a perpetual and four
    options, issue 11): :func:`margin.risk.risk` with every pool checked by ``margin.engine.evaluate`` at every
    hourly close (``margin.risk_evaluated``), 10,000 paths × 168 h, gbm, BTC vol 0.6 (what ``python -m margin
    risk … --horizon 7d --paths 10000 --model gbm --vol BTC=0.6`` runs). Its agreement with a per-hour
    evaluate is held by ``tests/test_risk_options.py``."""
    resolved = resolve(load_portfolio(Path(__file__).resolve().parents[1] / "fixtures/portfolios/deribit-options.json"))
    hist = load_daily_closes()
    times = []
    out: dict[str, Any] = {}
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        out = risk(resolved, 168, hist, paths=10_000, seed=0, model="gbm", vols={"BTC": 0.6})
        times.append(time.perf_counter() - t0)
    probs = ", ".join(f"{v} {out['modes'][v]['probability']:.4f}" for v in VIEWS)
    print(
        f"options (deribit-options.json, {len(resolved.option_legs)} options + {len(resolved.legs)} future): "
        f"risk() {statistics.median(times):.2f} s (median of {len(times)}), 10,000 paths x 168 h; P: {probs}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--sizes", default="10,1000,10000", help="book sizes of the separable vs per-position runs")
    parser.add_argument("--scaling-only", action="store_true", help="only the separable vs per-position runs")
    parser.add_argument("--options-only", action="store_true", help="only the account holding options")
    parser.add_argument("--worker", nargs=5, metavar=("IMPL", "N", "PATHS", "REPEAT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, n, paths, rep, out = args.worker
        scaling_worker(impl, int(n), int(paths), int(rep), out)
        return 0
    if args.options_only:
        options_run(args.quick)
        return 0
    if args.scaling_only:
        try:
            scaling([int(x) for x in args.sizes.split(",")], args.quick)
        except Disagreement:
            return 1
        return 0
    resolved = realistic(args.positions)
    books = {v: compile_book(resolved, v) for v in VIEWS}
    pools = "/".join(str(b.n_pools) for b in books.values())
    print(
        f"book: {books['as_is'].n_positions} positions (books.build_book), pools as_is/cross/isolated {pools}; "
        f"{args.paths:,} paths x {HOURS} hourly steps; numpy {np.__version__}; python {sys.version.split()[0]}"
    )
    repeat = 1 if args.quick else 3
    hist = load_daily_closes()
    for model in ("bootstrap", "student-t", "gbm"):
        t0 = time.perf_counter()
        out = risk(resolved, HOURS, hist, paths=args.paths, seed=1, model=model, vols=VOLS)
        took = time.perf_counter() - t0
        modes = out["modes"]
        assert isinstance(modes, dict)
        probs = ", ".join(f"{v} {modes[v]['probability']:.3f}" for v in VIEWS)
        print(f"  risk() {model:9s}: {took:.2f} s (one run); P(liquidation in 30 d): {probs}")
    bases = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    mm = build_model(bases, hist, "gbm", VOLS)
    sample = 2 if args.quick else 4
    try:
        sim = simulate(resolved, HOURS, hist, paths=sample, seed=1, model=mm, vols=VOLS)
        t0 = time.perf_counter()
        first, margin_at = loop_first_hours(resolved, mm, sample, 1)
        t_loop = (time.perf_counter() - t0) * args.paths / sample
        compared = ties = 0
        for view in VIEWS:
            arr = sim.first[view]
            for p in range(sample):
                for g, hour in enumerate(first[view][p]):
                    got = int(arr[p, g])
                    compared += 1
                    if got == hour:
                        continue
                    scale = abs(float(books[view].pool_wallet[g])) + 1.0
                    tie = hour != NEVER and abs(margin_at[view][p][g]) <= 1e-9 * scale
                    ties += tie
                    agree("risk first hours", tie, f"{view} path {p} pool {g}: simulate hour {got}, loop {hour}")
        hits = sum(1 for v in VIEWS for p in range(sample) for h in first[v][p] if h != NEVER)
        print(
            f"  agreement: first liquidation hour of {compared} (path, pool) pairs on {sample} paths equal "
            f"({hits} liquidations, {ties} rounding ties at the trigger)"
        )
        t_sim = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            simulate(resolved, HOURS, hist, paths=args.paths, seed=1, model=mm, vols=VOLS)
            t_sim.append(time.perf_counter() - t0)
        t_arr = statistics.median(t_sim)
    except Disagreement:
        return 1
    print(
        f"  simulate (gbm, same model): {t_arr:.2f} s (median of {repeat}); loop {t_loop:.0f} s for {args.paths:,} "
        f"paths (extrapolated from {sample}); ratio {t_loop / t_arr:.0f}x"
    )
    options_run(args.quick)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB (noisy, shared 2-core machine)")
    try:
        scaling([int(x) for x in args.sizes.split(",")], args.quick)
    except Disagreement:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
