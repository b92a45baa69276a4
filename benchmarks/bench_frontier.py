"""Benchmark of the liquidation frontier against a fair plain-Python loop. Prints medians and ratios.

Book: :func:`books.build_book` (1,000 positions, the shipped Binance USDⓈ-M tables; every BTC and ETH
contract of the book moves with the grid, the rest is held). Grid 201 × 201 (40,401 cells) of joint BTC
and ETH moves, three views: :func:`margin.frontier.frontier` (per cell: any pool liquidated, the worst
pool margin ratio) against a loop that computes once the pools without BTC or ETH positions (their flag
and ratio are constant) and the wallet plus constant UPNL of the others, then per cell re-prices only the
BTC and ETH positions (tier by bisect on floors computed once) into those pools. The loop runs on a random
sample of cells and is extrapolated to the grid.

Before the ratio is printed, every sampled cell is compared with the frontier: liquidated flag (equal
away from the trigger), worst margin ratio and the moving pools' equity and maintenance (1e-9 of the
pool's scale), and the constant pools once; a disagreement stops the script (exit 1).
Figures are noisy: 2 cores shared with other jobs.
Run: ``python benchmarks/bench_frontier.py`` (``--quick``: fewer loop cells).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
from bisect import bisect_right
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import RTOL, Disagreement, LoopBook, agree, median_ms, realistic

from margin.engine import VIEWS, compile_book
from margin.frontier import FrontierView, frontier, smallest_moves
from margin.portfolio import Resolved

STEPS = 201
X, Y = "BTC", "ETH"
Loop = tuple[list[bool], list[float], list[list[float]], list[list[float]]]


def _ratio(equity: float, maintenance: float) -> float:
    return maintenance / equity if equity > 0 else math.inf


class LoopCells:
    """Per cell (x move, y move): any pool liquidated, the worst pool margin ratio, and the equity and
    maintenance of the pools that hold BTC or ETH positions (the others are constant: computed once)."""

    def __init__(self, lb: LoopBook, bases: list[str]) -> None:
        base_eq = list(lb.wallet)
        base_mm = [0.0] * lb.n_pools
        occupied = [False] * lb.n_pools
        movers = []
        for i in range(lb.n):
            g = lb.pool[i]
            occupied[g] = True
            base = bases[lb.sym[i]]
            if base in (X, Y):
                floors, mmr, cum = lb.floors[i], lb.mmr[i], lb.cum[i]
                movers.append((0 if base == X else 1, g, lb.marks[lb.sym[i]], lb.size[i], lb.sq[i], floors, mmr, cum))
                base_eq[g] -= lb.sq[i] * lb.entry[i]
                if lb.fee[i] or lb.at_entry[i]:
                    raise NotImplementedError("fees / maintenance at entry are not in the frontier loop")
            else:
                u, m = lb.terms(i, lb.marks[lb.sym[i]])
                base_eq[g] += u
                base_mm[g] += m
        self.affected = sorted({mv[1] for mv in movers})
        local = {g: k for k, g in enumerate(self.affected)}
        self.movers = [(axis, local[g], m0, q, sq, fl, r, c) for axis, g, m0, q, sq, fl, r, c in movers]
        self.start_eq = [base_eq[g] for g in self.affected]
        self.start_mm = [base_mm[g] for g in self.affected]
        still = [g for g in range(lb.n_pools) if occupied[g] and g not in local]
        self.base_eq, self.base_mm, self.still = base_eq, base_mm, still
        self.still_liq = any(base_eq[g] <= base_mm[g] for g in still)
        self.still_worst = max((_ratio(base_eq[g], base_mm[g]) for g in still), default=-math.inf)

    def run(self, cells: list[tuple[float, float]]) -> Loop:
        liq: list[bool] = []
        worst: list[float] = []
        eqs: list[list[float]] = []
        mms: list[list[float]] = []
        for mx, my in cells:
            factor = (1.0 + mx, 1.0 + my)
            eq = list(self.start_eq)
            mm = list(self.start_mm)
            for axis, k, m0, q, sq, floors, mmr, cum in self.movers:
                price = m0 * factor[axis]
                n = q * price
                t = bisect_right(floors, n) - 1
                eq[k] += sq * price
                mm[k] += n * mmr[t] - cum[t]
            liq.append(self.still_liq or any(e <= m for e, m in zip(eq, mm, strict=True)))
            worst.append(max(self.still_worst, *(_ratio(e, m) for e, m in zip(eq, mm, strict=True))))
            eqs.append(eq)
            mms.append(mm)
        return liq, worst, eqs, mms


def compare_cells(view: str, fv: FrontierView, lc: LoopCells, cells: npt.NDArray[np.int_], out: Loop) -> None:
    liq, worst, eqs, mms = out
    iy, ix = cells[:, 0], cells[:, 1]
    a = lc.affected
    e_ref, m_ref = np.array(eqs), np.array(mms)
    scale = np.abs(e_ref).max(axis=0, initial=1.0) + np.abs(m_ref).max(axis=0, initial=1.0)
    eq_arr = fv.pool_equity[iy, ix][:, a]
    mm_arr = fv.pool_maintenance[iy, ix][:, a]
    agree(f"{view} frontier equity", bool(np.all(np.abs(eq_arr - e_ref) <= RTOL * scale)), "pool equity differs")
    agree(f"{view} frontier maintenance", bool(np.all(np.abs(mm_arr - m_ref) <= RTOL * scale)), "maintenance differs")
    still = lc.still
    const = np.array([lc.base_eq[g] for g in still]), np.array([lc.base_mm[g] for g in still])
    agree(
        f"{view} frontier constant pools",
        bool(np.allclose(fv.base_equity[still], const[0], rtol=RTOL, atol=0))
        and bool(np.allclose(fv.base_maintenance[still], const[1], rtol=RTOL, atol=0)),
        "constant pools differ",
    )
    near = np.any(np.abs(e_ref - m_ref) <= RTOL * scale, axis=1)
    bad = (fv.liquidated[iy, ix] != np.array(liq)) & ~near
    agree(f"{view} frontier liquidated", not bad.any(), f"{int(bad.sum())} cells differ")
    w_arr, w_ref = fv.margin_ratio[iy, ix], np.array(worst)
    with np.errstate(invalid="ignore"):  # inf - inf where both views are at or below zero equity
        same = (w_arr == w_ref) | (np.abs(w_arr - w_ref) <= RTOL * np.abs(w_ref))
    agree(f"{view} frontier margin ratio", bool(np.all(same)), "worst margin ratio differs")


def run(resolved: Resolved, sample: int) -> None:
    n_pos = len(resolved.legs)
    moving = sum(1 for leg in resolved.legs if leg.instrument.base in (X, Y))
    result = frontier(resolved, X, Y, steps=STEPS)
    rng = np.random.default_rng(0)
    cells = rng.integers(0, STEPS, size=(sample, 2))  # (iy, ix)
    books = {v: compile_book(resolved, v) for v in VIEWS}
    bases = [s.split("/", 1)[0] for s in books["as_is"].symbols]
    loops = {v: LoopCells(LoopBook(b), bases) for v, b in books.items()}
    moves = [(float(result.moves_x[ix]), float(result.moves_y[iy])) for iy, ix in cells.tolist()]
    for v in VIEWS:
        compare_cells(v, result.modes[v], loops[v], cells, loops[v].run(moves))
    print(
        f"  agreement: {sample} sampled cells x 3 views: liquidated flags equal (away from the trigger), worst margin "
        "ratio and pool equity/maintenance to 1e-9"
    )
    t_arr = median_ms(lambda: frontier(resolved, X, Y, steps=STEPS), 7)
    t_json = median_ms(result.to_dict, 3)
    t_loop = median_ms(lambda: [lc.run(moves) for lc in loops.values()], 3) * STEPS * STEPS / sample
    print(
        f"frontier {X}/{Y}: {n_pos} positions ({moving} in {X}/{Y}), {STEPS}x{STEPS} grid, 3 views: "
        f"frontier {t_arr:.1f} ms (median of 7), to_dict {t_json:.0f} ms; loop {t_loop / 1e3:.1f} s "
        f"(median of 3 on {sample} cells, extrapolated); ratio {t_loop / t_arr:.0f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="time the Python loop on fewer cells")
    parser.add_argument("--positions", type=int, default=1000)
    args = parser.parse_args()
    sample = 50 if args.quick else 200
    print(f"numpy {np.__version__}; python {sys.version.split()[0]}; 2 shared cores: figures are noisy")
    resolved = realistic(args.positions)
    try:
        run(resolved, sample)
    except Disagreement:
        return 1
    for view in VIEWS:
        t_sm = median_ms(lambda v=view: smallest_moves(resolved, v), 3)  # type: ignore[misc]
        print(f"  smallest_moves, {view}: {t_sm:.0f} ms (uniform + each asset, down and up; no loop baseline)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
