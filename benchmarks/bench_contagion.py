"""Benchmark of the liquidation cascade (issue 3, contagion). Prints medians and ratios; asserts nothing.

Book: ~1,000 positions (a long and a short on each of 500 symbols, hedge mode, every 4th symbol
isolated; :func:`bench_engine.build_portfolio`) with a thinner collateral so that a market-wide shock
liquidates pools one after the other, and the square-root impact loop (small daily volumes so that
forced selling matters). Timed: :func:`margin.contagion.cascade` in the ``as_is`` view, against a
plain-Python loop that does the same walk (per step, per position: tier lookup, maintenance, pool sums)
and closes the first triggered pool's largest-maintenance position at each event, for the same number
of events (~20). Numbers on a shared 2-core machine are noisy.

Run: ``python benchmarks/bench_contagion.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import build_portfolio, median_ms

from margin.contagion import cascade
from margin.engine import Book, compile_book
from margin.portfolio import portfolio_from_dict, resolve

N_SYMBOLS = 500
STEPS = 400


def plain_python_cascade(book: Book, marks: np.ndarray, n_events: int, fee: float = 0.005) -> int:
    """Walk the rows; at the first row where a pool is triggered, fully close its position with the largest
    maintenance margin (fee on the notional), re-check, continue; stop after ``n_events`` events."""
    res = book.resolved
    legs = [
        (int(book.sym[i]), int(book.pool[i]), res.legs[i], res.tables[res.legs[i].position.symbol])
        for i in range(book.n_positions)
    ]
    open_ = [True] * len(legs)
    wallet = list(book.pool_wallet.tolist())
    events = 0
    row_i = 0
    rows = marks.tolist()
    while row_i < len(rows) and events < n_events:
        row = rows[row_i]
        equity = list(wallet)
        mm = [0.0] * book.n_pools
        best: dict[int, tuple[float, int]] = {}
        occupied = [False] * book.n_pools
        per_pos = []
        for i, (sym, pool, leg, table) in enumerate(legs):
            if not open_[i]:
                per_pos.append((0.0, 0.0, 0.0))
                continue
            price = row[sym]
            n = leg.size * price
            pnl = leg.position.sign * leg.size * (price - leg.position.entry_price)
            tier = table.tier(n)
            m = n * tier.mmr - tier.maint_amount
            equity[pool] += pnl
            mm[pool] += m
            occupied[pool] = True
            per_pos.append((n, pnl, m))
            if pool not in best or m > best[pool][0]:
                best[pool] = (m, i)
        hit = [g for g in range(book.n_pools) if occupied[g] and equity[g] <= mm[g]]
        if not hit:
            row_i += 1
            continue
        g = hit[0]
        i = best[g][1]
        n, pnl, _ = per_pos[i]
        wallet[g] += pnl - min(fee * n, max(equity[g], 0.0))
        open_[i] = False
        events += 1
    return events


def main() -> None:
    doc = build_portfolio(N_SYMBOLS)
    doc["collateral"] = {"USDT": 12_000_000.0}
    resolved = resolve(portfolio_from_dict(doc))
    n_pos = len(resolved.legs)
    params = {
        "steps": STEPS,
        "daily_volume": {f"S{k:03d}": 2e7 for k in range(N_SYMBOLS)},
        "daily_volatility": {f"S{k:03d}": 0.04 for k in range(N_SYMBOLS)},
    }
    shock = ["ALL=-15%"]
    t0 = time.perf_counter()
    out = cascade(resolved, shock, impact="sqrt", params=params, views=("as_is",)).to_dict()
    first = (time.perf_counter() - t0) * 1e3
    mode = out["modes"]["as_is"]
    n_events = len(mode["steps"])
    print(f"book: {n_pos} positions on {N_SYMBOLS} symbols; shock {shock[0]} walked in {STEPS} steps; sqrt impact")
    print(
        f"cascade: {n_events} step rows, {mode['positions_lost']} positions lost "
        f"({mode['extra_positions_lost']} more through impact), {mode['iterations']} fixed-point runs, "
        f"amplification {out['amplification']:.4f}; first call {first:.0f} ms"
    )

    def run_array() -> None:
        cascade(resolved, shock, impact="sqrt", params=params, views=("as_is",))

    t_arr = median_ms(run_array, 3)
    book = compile_book(resolved, "as_is")
    m0 = book.marks
    marks = m0[None, :] * (1.0 - 0.15 * np.linspace(0.0, 1.0, STEPS + 1)[:, None])
    target = max(n_events, 1)
    t_loop = median_ms(lambda: plain_python_cascade(book, marks, target), 3)
    print(f"array cascade (whole fixed point, {mode['iterations']} runs): {t_arr:.0f} ms (median of 3)")
    print(f"plain-Python loop, one run, {target} events, no crossing refinement: {t_loop:.0f} ms (median of 3)")
    per_run = t_arr / max(mode["iterations"], 1)
    print(f"ratio loop / array per run: {t_loop / per_run:.1f}x (noisy: shared 2-core machine)")


if __name__ == "__main__":
    main()
