"""Benchmark of the probability-of-liquidation Monte Carlo (``margin.risk``). Prints figures; asserts nothing.

Book: one position of 50,000 USDT on each of the 10 shipped assets (Binance USDT-M, real tiers), longs
and shorts at 2-6× leverage, every other one isolated, 150,000 USDT of collateral; all three views
(as_is, cross, isolated) are checked at every hourly close. Monte Carlo: 10,000 paths × 720 hourly
steps (30 days) × 10 assets, for each model, against a plain-Python loop (per path, per hour, per
position: draw, price, tier, pools, flags; gbm), timed on a few paths and extrapolated. Peak resident
memory from ``resource.getrusage``.

The machine is shared (2 cores, other jobs running): figures are noisy. Run:
``python benchmarks/bench_risk.py`` (``--quick``: fewer repeats and loop paths).
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import statistics
import sys
import time

import numpy as np

from margin.engine import VIEWS, Book, compile_book
from margin.marketdata import load_daily_closes
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from margin.risk import HOURS_PER_YEAR, build_model, risk

PATHS = 10_000
HOURS = 720


def build_resolved() -> Resolved:
    hist = load_daily_closes()
    prices: dict[str, float] = {}
    positions: list[dict[str, object]] = []
    for k, asset in enumerate(hist.assets):
        col = hist.column(asset)
        price = float(col[np.isfinite(col)][-1])
        sym = f"{asset}/USDT:USDT"
        prices[sym] = price
        positions.append(
            {
                "symbol": sym,
                "side": "short" if k % 3 == 2 else "long",
                "contracts": 50_000 / price,
                "entry_price": price,
                "leverage": 2 + k // 2,
                "margin_mode": "isolated" if k % 2 else "cross",
            }
        )
    return resolve(
        portfolio_from_dict(
            {
                "format": "margin-portfolio/1",
                "venue": "binance-usdm",
                "collateral": {"USDT": 150_000.0},
                "prices": prices,
                "positions": positions,
            }
        )
    )


def plain_python(
    books: dict[str, Book], chol: list[list[float]], sig_h: list[float], n_paths: int, seed: int
) -> dict[str, int]:
    """gbm, one path at a time, one hour at a time, one position at a time; liquidated paths per view."""
    rnd = random.Random(seed)
    first = books["as_is"]
    res = first.resolved
    n_a = len(sig_h)
    drift = [-0.5 * s * s for s in sig_h]
    legs = [(int(first.sym[i]), res.legs[i], res.tables[res.legs[i].position.symbol]) for i in range(first.n_positions)]
    per_view = [(v, [int(g) for g in b.pool], b.pool_wallet.tolist(), b.n_pools) for v, b in books.items()]
    marks0 = first.marks.tolist()
    hits = dict.fromkeys(books, 0)
    for _ in range(n_paths):
        logs = [0.0] * n_a
        alive = dict.fromkeys(books, True)
        for _ in range(HOURS):
            z = [rnd.gauss(0.0, 1.0) for _ in range(n_a)]
            for a in range(n_a):
                logs[a] += drift[a] + sig_h[a] * sum(chol[a][k] * z[k] for k in range(a + 1))
            net = []
            for sym, leg, table in legs:
                price = marks0[sym] * math.exp(logs[sym])
                n = leg.size * price
                tier = table.tier(n)
                upnl = leg.position.sign * leg.size * (price - leg.position.entry_price)
                net.append(upnl - (n * tier.mmr - tier.maint_amount))
            for view, pools, wallet, n_pools in per_view:
                if not alive[view]:
                    continue
                total = list(wallet)
                used = [False] * n_pools
                for i, g in enumerate(pools):
                    total[g] += net[i]
                    used[g] = True
                if any(u and t <= 0 for u, t in zip(used, total, strict=True)):
                    alive[view] = False
                    hits[view] += 1
    return hits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    resolved = build_resolved()
    books = {v: compile_book(resolved, v) for v in VIEWS}
    print(
        f"book: {books['as_is'].n_positions} positions on 10 assets, pools as_is/cross/isolated = "
        f"{books['as_is'].n_pools}/{books['cross'].n_pools}/{books['isolated'].n_pools}; "
        f"{PATHS:,} paths x {HOURS} hourly steps; numpy {np.__version__}; python {sys.version.split()[0]}"
    )
    repeat = 1 if args.quick else 3
    results = {}
    for model in ("bootstrap", "student-t", "gbm"):
        times = []
        out: dict[str, object] = {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = risk(resolved, HOURS, paths=PATHS, seed=1, model=model)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        results[model] = med
        modes = out["modes"]
        assert isinstance(modes, dict)
        probs = ", ".join(f"{v} {modes[v]['probability']:.3f}" for v in VIEWS)
        print(f"  {model:9s}: {med:.2f} s (median of {repeat}); P(liquidation in 30 d): {probs}")
    m = build_model([a for a in load_daily_closes().assets], "gbm")
    chol = np.linalg.cholesky(m.corr).tolist()
    sig_h = (m.vol / math.sqrt(HOURS_PER_YEAR)).tolist()
    sample = 3 if args.quick else 10
    t0 = time.perf_counter()
    plain_python(books, chol, sig_h, sample, 1)
    t_loop = (time.perf_counter() - t0) * PATHS / sample
    print(
        f"  plain-Python loop (gbm): {t_loop:.0f} s for {PATHS:,} paths (extrapolated from {sample} paths); "
        f"ratio {t_loop / results['gbm']:.0f}x vs the array gbm run, "
        f"{t_loop / results['bootstrap']:.0f}x vs bootstrap"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB (target < 2048 MB); time target < 3 s on 2 cores (noisy, shared)")


if __name__ == "__main__":
    main()
