"""Benchmark of the core engine (issue: margin engine). Prints medians and ratios; asserts nothing.

Book: 1,000 positions, a long and a short on each of 500 symbols, hedge mode, cross and isolated
mixed, with real (Binance BTC/ETH snapshot) and realistic (Binance-style) tier tables.

1. All liquidation prices in the three views: array engine vs a straightforward per-position Python
   loop (:func:`margin.scalar.liquidation_price`, the readable reference).
2. A sweep of 2,001 uniform price shocks × 1,000 positions (equity, tiered maintenance, liquidated
   flags, all three views): :func:`margin.sweep.uniform_sweep` (and the general price-matrix path
   :func:`margin.engine.evaluate_views`) vs a plain-Python loop over scenarios and positions.

Run: ``python benchmarks/bench_engine.py`` (``--quick`` for a smaller loop sample).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from margin import scalar
from margin.defaults import load_venue_defaults
from margin.engine import VIEWS, Book, compile_book, evaluate, evaluate_views, liquidation_prices
from margin.portfolio import portfolio_from_dict, resolve
from margin.sweep import uniform_sweep

N_SYMBOLS = 500
N_SHOCKS = 2001


def build_portfolio(n_symbols: int = N_SYMBOLS) -> dict[str, object]:
    """Hedge-mode book: long and short per symbol; every 4th symbol isolated."""
    rng = np.random.default_rng(7)
    real = load_venue_defaults("binance-usdm", "binance-usdm.json").tiers
    templates = [
        real["BTC/USDT:USDT"].to_records(),
        real["ETH/USDT:USDT"].to_records(),
        real["SOL/USDT:USDT"].to_records(),
        real["DOGE/USDT:USDT"].to_records(),
    ]
    prices: dict[str, float] = {}
    tiers: dict[str, object] = {}
    positions: list[dict[str, object]] = []
    for k in range(n_symbols):
        sym = f"S{k:03d}/USDT:USDT"
        price = float(np.exp(rng.uniform(np.log(0.05), np.log(60000))))
        prices[sym] = price
        tiers[sym] = templates[k % len(templates)]
        mode = "isolated" if k % 4 == 0 else "cross"
        for side in ("long", "short"):
            notional = float(rng.uniform(2_000, 400_000))
            entry = price * float(rng.uniform(0.9, 1.1))
            positions.append(
                {
                    "symbol": sym,
                    "side": side,
                    "contracts": notional / entry,
                    "entry_price": entry,
                    "leverage": 5,
                    "margin_mode": mode,
                }
            )
    return {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "position_mode": "hedge",
        "collateral": {"USDT": 40_000_000.0},
        "prices": prices,
        "tiers": tiers,
        "positions": positions,
    }


def plain_python_sweep(book: Book, marks: np.ndarray) -> list[list[bool]]:
    """The straightforward loop: per scenario, per position, tier lookup, MM, pool sums, flags."""
    res = book.resolved
    legs = [
        (
            int(book.sym[i]),
            int(book.pool[i]),
            res.legs[i],
            res.tables[res.legs[i].position.symbol],
            bool(book.at_entry[i]),
            float(book.mm_entry[i]),
            float(book.fee[i]),
        )
        for i in range(book.n_positions)
    ]
    occupied = [False] * book.n_pools
    for leg in legs:
        occupied[leg[1]] = True
    flags = []
    for row in marks.tolist():
        equity = list(book.pool_wallet.tolist())
        mm = [0.0] * book.n_pools
        for sym, pool, leg, table, at_entry, mm_entry, fee in legs:
            price = row[sym]
            inv = leg.instrument.inverse
            n = leg.size / price if inv else leg.size * price
            s = leg.position.sign
            ep = leg.position.entry_price
            equity[pool] += s * leg.size * ((1 / ep - 1 / price) if inv else (price - ep))
            tier = table.tier(n)
            mm[pool] += (mm_entry if at_entry else n * tier.mmr - tier.maint_amount) + fee * n
        flags.append([has and e <= m for e, m, has in zip(equity, mm, occupied, strict=True)])
    return flags


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="time the Python loops on a sample only")
    args = parser.parse_args()
    resolved = resolve(portfolio_from_dict(build_portfolio()))
    books = {v: compile_book(resolved, v) for v in VIEWS}
    n_pos = books["as_is"].n_positions
    print(
        f"book: {n_pos} positions on {N_SYMBOLS} symbols, hedge mode; numpy {np.__version__}; "
        f"python {sys.version.split()[0]}"
    )

    # 1. liquidation prices, three views
    def array_lp() -> None:
        for b in books.values():
            liquidation_prices(b, evaluate(b))

    t_arr = median_ms(array_lp, 7)
    sample = 100 if args.quick else n_pos

    def loop_lp() -> None:
        for b in books.values():
            for i in range(sample):
                scalar.liquidation_price(b, i)

    t_loop = median_ms(loop_lp, 3) * n_pos / sample
    print(
        f"liquidation prices, 3 views x {n_pos} positions: array {t_arr:.1f} ms, python loop {t_loop:.0f} ms"
        f"{' (extrapolated from ' + str(sample) + ' positions)' if sample < n_pos else ''}; "
        f"ratio {t_loop / t_arr:.0f}x"
    )

    # 2. sweep of uniform shocks
    shocks = np.linspace(-0.9, 1.0, N_SHOCKS)
    marks = books["as_is"].marks[None, :] * (1.0 + shocks[:, None])

    def array_sweep() -> None:
        for b in books.values():
            res = uniform_sweep(b, shocks)
            _ = res.pool_equity, res.pool_maintenance, res.pool_liquidated

    def array_matrix() -> None:
        evs = evaluate_views(books, marks)
        for ev in evs.values():
            _ = ev.pool_equity, ev.pool_maintenance, ev.pool_liquidated

    t_matrix = median_ms(array_matrix, 9)
    t_sweep = median_ms(array_sweep, 9)
    rows = 20 if args.quick else 100

    def loop_sweep() -> None:
        for b in books.values():
            plain_python_sweep(b, marks[:rows])

    t_sweep_loop = median_ms(loop_sweep, 3) * N_SHOCKS / rows
    print(
        f"sweep {N_SHOCKS} shocks x {n_pos} positions, 3 views: array {t_sweep:.1f} ms (median of 9), "
        f"python loop {t_sweep_loop / 1e3:.1f} s (extrapolated from {rows} scenarios); "
        f"ratio {t_sweep_loop / t_sweep:.0f}x"
    )
    print(
        f"  same sweep through the general price-matrix path (evaluate_views): {t_matrix:.1f} ms, "
        f"ratio {t_sweep_loop / t_matrix:.0f}x"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
