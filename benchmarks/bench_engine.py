"""Benchmark of the core engine against the loop a competent engineer would write. Prints medians and ratios.

Book: :func:`books.build_book` (1,000 positions by default: the shipped Binance USDⓈ-M tier tables, mixed
cross and isolated, hedge pairs, USDT and USDC pools).

Baseline (:class:`LoopBook`): plain Python over positions, with everything that does not depend on the price
computed once: per position its pool, symbol, side × size, entry, and its tier floors, rates and amounts as
plain lists (bisect for the tier lookup); per pool its wallet. No numpy, no per-call object creation.

1. Liquidation and bankruptcy prices in the three views. Array: :func:`margin.engine.liquidation_prices`.
   Loop: pool sums at the marks computed once per pool; per (pool, symbol) group the trigger
   ``const + Σ legs (UPNL − MM)`` is linear in the price between the group's tier breakpoints, so each
   segment's root is checked against the segment (the same definition as format §2: loss side of the
   group's net exposure, nearest to the mark).
2. A sweep of 2,001 uniform moves × the book (pool equity, maintenance and liquidated flags, three views).
   Array: :func:`margin.sweep.uniform_sweep` (and the general price-matrix path
   :func:`margin.engine.evaluate_views`). Loop: per move, per position, price, tier, maintenance, pool sums;
   timed on a sample of moves and extrapolated.

Before any ratio is printed the two paths are compared (prices: relative 1e-9; pool sums: 1e-9 of the
pool's scale; flags equal except within that tolerance of the trigger); a disagreement stops the script
with exit status 1. Run: ``python benchmarks/bench_engine.py`` (``--quick``: fewer loop moves).
"""

from __future__ import annotations

import argparse
import itertools
import math
import resource
import statistics
import sys
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from books import build_book

from margin.engine import CANCELLATION_ULPS, PRICE_RTOL, VIEWS, Book, compile_book, evaluate_views, liquidation_prices
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from margin.sweep import uniform_sweep

FloatArray = npt.NDArray[np.float64]
N_SHOCKS = 2001
RTOL = 1e-9
EPS = sys.float_info.epsilon


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def realistic(n_positions: int = 1000, seed: int = 0) -> Resolved:
    return resolve(portfolio_from_dict(build_book(n_positions, seed), "generated"))


class Disagreement(AssertionError):
    pass


def agree(what: str, ok: bool, detail: str) -> None:
    if not ok:
        print(f"DISAGREEMENT in {what}: {detail}; no ratio printed", file=sys.stderr)
        raise Disagreement(what)


class LoopBook:
    """One view of a book as plain Python lists, built once (the baseline's precomputation)."""

    def __init__(self, book: Book) -> None:
        if bool(np.any(book.inverse)):
            raise NotImplementedError("the baseline loop covers linear contracts (the generated books)")
        res = book.resolved
        self.n_pools = book.n_pools
        self.wallet = [float(w) for w in book.pool_wallet]
        self.marks = [float(m) for m in book.marks]
        self.pool = [int(g) for g in book.pool]
        self.sym = [int(k) for k in book.sym]
        self.sq = [float(s) * float(q) for s, q in zip(book.sign, book.size, strict=True)]
        self.size = [float(q) for q in book.size]
        self.entry = [float(e) for e in book.entry]
        self.fee = [float(f) for f in book.fee]
        self.at_entry = [bool(a) for a in book.at_entry]
        self.mm_entry = [float(m) for m in book.mm_entry]
        tables: dict[str, tuple[list[float], list[float], list[float]]] = {}
        self.floors: list[list[float]] = []
        self.mmr: list[list[float]] = []
        self.cum: list[list[float]] = []
        for leg in res.legs:
            symbol = leg.position.symbol
            if symbol not in tables:
                tiers = res.tables[symbol].tiers
                if any(t.mmr_per_size for t in tiers):
                    raise NotImplementedError("size-dependent rates (Deribit) are not in the baseline loop")
                tables[symbol] = (
                    [t.min_notional for t in tiers],
                    [t.mmr for t in tiers],
                    [t.maint_amount for t in tiers],
                )
            floors, mmr, cum = tables[symbol]
            self.floors.append(floors)
            self.mmr.append(mmr)
            self.cum.append(cum)
        self.n = len(self.pool)
        groups: dict[tuple[int, int], list[int]] = {}
        for i in range(self.n):
            groups.setdefault((self.pool[i], self.sym[i]), []).append(i)
        self.groups = list(groups.values())

    def terms(self, i: int, price: float) -> tuple[float, float]:
        """(UPNL, MM) of position ``i`` at ``price``."""
        q = self.size[i]
        n = q * price
        if self.at_entry[i]:
            mm = self.mm_entry[i]
        else:
            k = bisect_right(self.floors[i], n) - 1
            mm = n * self.mmr[i][k] - self.cum[i][k]
        return self.sq[i] * (price - self.entry[i]), mm + self.fee[i] * n


def loop_levels(lb: LoopBook) -> tuple[list[float], list[float]]:
    """Liquidation and bankruptcy price of every position (NaN where none), as format §2 defines them."""
    upnl = [0.0] * lb.n
    mm = [0.0] * lb.n
    eq = list(lb.wallet)
    mm_pool = [0.0] * lb.n_pools
    scale = [abs(w) for w in lb.wallet]
    scale_mm = [0.0] * lb.n_pools
    for i in range(lb.n):
        u, m = lb.terms(i, lb.marks[lb.sym[i]])
        upnl[i], mm[i] = u, m
        g = lb.pool[i]
        eq[g] += u
        mm_pool[g] += m
        scale[g] += abs(u)
        scale_mm[g] += abs(m)
    liq = [math.nan] * lb.n
    bk = [math.nan] * lb.n
    for members in lb.groups:
        g = lb.pool[members[0]]
        mark = lb.marks[lb.sym[members[0]]]
        delta = sum(lb.sq[j] for j in members)
        # bankruptcy: wallet + UPNL = 0, one linear piece
        a_bk = eq[g] - sum(upnl[j] for j in members) - sum(lb.sq[j] * lb.entry[j] for j in members)
        a_bk_abs = scale[g] + sum(abs(lb.sq[j] * lb.entry[j]) for j in members)
        if abs(a_bk) <= CANCELLATION_ULPS * EPS * a_bk_abs:
            a_bk = 0.0
        roots_bk = [-a_bk / delta] if delta != 0 and -a_bk / delta > 0 else []
        # liquidation: piecewise linear between the group's tier breakpoints
        const = eq[g] - mm_pool[g] - sum(upnl[j] - mm[j] for j in members)
        const_abs = scale[g] + scale_mm[g]
        cuts = sorted({f / lb.size[j] for j in members if not lb.at_entry[j] for f in lb.floors[j][1:]})
        edges = [0.0, *cuts, math.inf]
        roots: list[float] = []
        for lo, hi in itertools.pairwise(edges):
            mid = 2.0 * lo + 1.0 if math.isinf(hi) else 0.5 * (lo + hi)
            a, b, a_abs = const, 0.0, const_abs
            for j in members:
                sq, q = lb.sq[j], lb.size[j]
                a -= sq * lb.entry[j]
                a_abs += abs(sq * lb.entry[j])
                if lb.at_entry[j]:
                    a -= lb.mm_entry[j]
                    b += sq - q * lb.fee[j]
                    continue
                k = bisect_right(lb.floors[j], q * mid) - 1
                a += lb.cum[j][k]
                a_abs += abs(lb.cum[j][k])
                b += sq - q * (lb.mmr[j][k] + lb.fee[j])
            if abs(a) <= CANCELLATION_ULPS * EPS * a_abs:
                a = 0.0
            if b == 0.0:
                continue
            x = -a / b
            if x > 0 and lo * (1 - 1e-12) <= x <= hi * (1 + 1e-12):
                roots.append(x)
        f_liq = eq[g] - mm_pool[g]
        for out, found, f0 in ((liq, roots, f_liq), (bk, roots_bk, eq[g])):
            if f0 > 0 and delta > 0:
                found = [r for r in found if r < mark * (1 + PRICE_RTOL)]
            elif f0 > 0 and delta < 0:
                found = [r for r in found if r > mark * (1 - PRICE_RTOL)]
            if found:
                best = min(found, key=lambda r: abs(r - mark))
                for j in members:
                    out[j] = best
    return liq, bk


def loop_sweep(lb: LoopBook, moves: Sequence[float]) -> tuple[list[list[float]], list[list[float]], list[list[bool]]]:
    """Per move: every pool's equity, maintenance and liquidated flag (pools with positions only)."""
    base = list(lb.wallet)
    for i in range(lb.n):
        base[lb.pool[i]] -= lb.sq[i] * lb.entry[i]
    occupied = [False] * lb.n_pools
    for g in lb.pool:
        occupied[g] = True
    rows = [
        (lb.pool[i], lb.marks[lb.sym[i]], lb.size[i], lb.sq[i], lb.floors[i], lb.mmr[i], lb.cum[i], lb.fee[i])
        for i in range(lb.n)
    ]
    at_entry = [(lb.pool[i], lb.mm_entry[i]) for i in range(lb.n) if lb.at_entry[i]]
    if at_entry:
        raise NotImplementedError("maintenance at entry is not in the sweep loop (not in the generated books)")
    eqs, mms, flags = [], [], []
    for move in moves:
        r = 1.0 + move
        eq = list(base)
        mm = [0.0] * lb.n_pools
        for g, m0, q, sq, floors, mmr, cum, fee in rows:
            price = m0 * r
            n = q * price
            k = bisect_right(floors, n) - 1
            eq[g] += sq * price
            mm[g] += n * (mmr[k] + fee) - cum[k]
        eqs.append(eq)
        mms.append(mm)
        flags.append([o and e <= m for o, e, m in zip(occupied, eq, mm, strict=True)])
    return eqs, mms, flags


def compare_levels(book: Book, lb: LoopBook) -> int:
    levels = liquidation_prices(book)
    liq, bk = loop_levels(lb)
    checked = 0
    for name, arr, ref in (("liquidation", levels.liquidation[0], liq), ("bankruptcy", levels.bankruptcy[0], bk)):
        for i, (x, y) in enumerate(zip(arr.tolist(), ref, strict=True)):
            same = (math.isnan(x) and math.isnan(y)) or (abs(x - y) <= RTOL * max(abs(x), abs(y)))
            agree(f"{book.view} {name} price", same, f"position {book.ids[i]}: array {x!r}, loop {y!r}")
            checked += 1
    return checked


def compare_pools(
    what: str,
    equity: FloatArray,
    maintenance: FloatArray,
    liquidated: npt.NDArray[np.bool_],
    ref: tuple[list[list[float]], list[list[float]], list[list[bool]]],
) -> None:
    e_ref, m_ref, f_ref = (np.array(x) for x in ref)
    scale = np.abs(e_ref).max(axis=0, initial=1.0) + np.abs(m_ref).max(axis=0, initial=1.0)
    tol = RTOL * scale[None, :]
    bad_e = np.abs(equity - e_ref) > tol
    bad_m = np.abs(maintenance - m_ref) > tol
    agree(what + " equity", not bad_e.any(), f"{int(bad_e.sum())} pool values differ by more than 1e-9 of scale")
    agree(what + " maintenance", not bad_m.any(), f"{int(bad_m.sum())} pool values differ")
    near = np.abs(e_ref - m_ref) <= tol
    bad_f = (liquidated != f_ref) & ~near
    agree(what + " flags", not bad_f.any(), f"{int(bad_f.sum())} flags differ away from the trigger")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="time the Python sweep loop on fewer moves")
    parser.add_argument("--positions", type=int, default=1000)
    args = parser.parse_args()
    resolved = realistic(args.positions)
    books = {v: compile_book(resolved, v) for v in VIEWS}
    loops = {v: LoopBook(b) for v, b in books.items()}
    n_pos = books["as_is"].n_positions
    pools = "/".join(str(b.n_pools) for b in books.values())
    print(
        f"book: {n_pos} positions on {len(resolved.symbols)} symbols (books.build_book), pools as_is/cross/"
        f"isolated {pools}; numpy {np.__version__}; python {sys.version.split()[0]}; 2 shared cores (noisy)"
    )
    try:
        # 1. liquidation and bankruptcy prices, three views
        checked = sum(compare_levels(books[v], loops[v]) for v in VIEWS)
        print(f"  agreement: {checked} liquidation/bankruptcy prices equal to 1e-9 relative (NaN = none)")

        def array_lp() -> None:
            for b in books.values():
                liquidation_prices(b)

        def loop_lp() -> None:
            for lb in loops.values():
                loop_levels(lb)

        t_arr = median_ms(array_lp, 7)
        t_loop = median_ms(loop_lp, 5)
        print(
            f"liquidation + bankruptcy prices, 3 views: array {t_arr:.1f} ms (median of 7), loop {t_loop:.1f} ms "
            f"(median of 5); ratio {t_loop / t_arr:.1f}x"
        )

        # 2. sweep of uniform moves
        moves = np.linspace(-0.9, 1.0, N_SHOCKS)
        rows = 20 if args.quick else 100
        sample = np.random.default_rng(0).choice(N_SHOCKS, size=rows, replace=False)
        for v, b in books.items():
            res = uniform_sweep(b, moves)
            ref = loop_sweep(loops[v], moves[sample].tolist())
            compare_pools(
                f"{v} sweep",
                res.pool_equity[sample],
                res.pool_maintenance[sample],
                res.pool_liquidated[sample],
                ref,
            )
        marks = books["as_is"].marks[None, :] * (1.0 + moves[:, None])
        evs = evaluate_views(books, marks)
        for v, ev in evs.items():
            ref = loop_sweep(loops[v], moves[sample].tolist())
            compare_pools(
                f"{v} evaluate_views",
                ev.pool_equity[sample],
                ev.pool_maintenance[sample],
                ev.pool_liquidated[sample],
                ref,
            )
        print(f"  agreement: sweep and evaluate_views equal the loop on {rows} sampled moves x 3 views (1e-9 of scale)")

        def array_sweep() -> None:
            for b in books.values():
                res = uniform_sweep(b, moves)
                _ = res.pool_equity, res.pool_maintenance, res.pool_liquidated

        def array_matrix() -> None:
            for ev in evaluate_views(books, marks).values():
                _ = ev.pool_equity, ev.pool_maintenance, ev.pool_liquidated

        t_sweep = median_ms(array_sweep, 9)
        t_matrix = median_ms(array_matrix, 5)
        part = moves[:rows].tolist()
        t_sweep_loop = median_ms(lambda: [loop_sweep(lb, part) for lb in loops.values()], 3) * N_SHOCKS / rows
        print(
            f"sweep {N_SHOCKS} moves x {n_pos} positions, 3 views: uniform_sweep {t_sweep:.1f} ms (median of 9), "
            f"loop {t_sweep_loop / 1e3:.2f} s (median of 3 on {rows} moves, extrapolated); "
            f"ratio {t_sweep_loop / t_sweep:.0f}x"
        )
        print(
            f"  same sweep through the price-matrix path (evaluate_views): {t_matrix:.1f} ms (median of 5), "
            f"ratio {t_sweep_loop / t_matrix:.0f}x"
        )
    except Disagreement:
        return 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
