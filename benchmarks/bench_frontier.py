"""Benchmark of the liquidation frontier (issue 3, item 2). Prints medians and ratios; asserts nothing.

Grid 201 × 201 (40,401 cells), three views, 1,000 positions, against a plain-Python loop over cells
and positions (:func:`bench_engine.plain_python_sweep`, extrapolated from a sample of cells).

Two books, because the frontier only re-prices the positions in the two moving assets:

1. ``bench_engine.build_portfolio(500)``: 1,000 positions on 500 symbols with bases S000..S499,
   x = S000, y = S001 (4 positions move, 996 are constant).
2. 1,000 positions on two bases only: 250 BTC and 250 ETH contracts (dated-future style symbols), a long
   and a short on each, hedge mode, every 4th symbol isolated: every position moves.

Figures are noisy: the machine has 2 cores shared with other jobs. Run: ``python benchmarks/bench_frontier.py``.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import build_portfolio, median_ms, plain_python_sweep

from margin.defaults import load_venue_defaults
from margin.engine import VIEWS, compile_book
from margin.frontier import frontier, smallest_moves
from margin.instruments import parse_symbol
from margin.portfolio import Resolved, portfolio_from_dict, resolve

STEPS = 201


def two_base_portfolio(per_base: int = 250) -> dict[str, object]:
    """1,000 positions on BTC and ETH: ``per_base`` symbols each, a long and a short per symbol."""
    rng = np.random.default_rng(3)
    real = load_venue_defaults("binance-usdm", "binance-usdm.json").tiers
    prices: dict[str, float] = {}
    tiers: dict[str, object] = {}
    positions: list[dict[str, object]] = []
    for base, price0 in (("BTC", 97000.0), ("ETH", 3400.0)):
        table = real[f"{base}/USDT:USDT"].to_records()
        for k in range(per_base):
            sym = f"{base}/USDT:USDT-{k:04d}"
            price = price0 * float(rng.uniform(0.98, 1.02))
            prices[sym] = price
            tiers[sym] = table
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


def run(name: str, resolved: Resolved, x: str, y: str, sample: int) -> None:
    n_pos = len(resolved.legs)
    moving = sum(1 for leg in resolved.legs if leg.instrument.base in (x, y))
    t_arr = median_ms(lambda: frontier(resolved, x, y, steps=STEPS), 7)
    result = frontier(resolved, x, y, steps=STEPS)
    t_json = median_ms(result.to_dict, 3)
    # plain loop: a random sample of cells, every view, extrapolated to the full grid
    rng = np.random.default_rng(0)
    cells = rng.integers(0, STEPS, size=(sample, 2))
    books = {v: compile_book(resolved, v) for v in VIEWS}
    book0 = books["as_is"]
    bases = [parse_symbol(s).base for s in book0.symbols]  # type: ignore[union-attr]
    fx = np.array([b == x for b in bases])
    fy = np.array([b == y for b in bases])
    mx, my = result.moves_x[cells[:, 1]], result.moves_y[cells[:, 0]]
    marks = book0.marks[None, :] * np.where(fx, 1.0 + mx[:, None], 1.0) * np.where(fy, 1.0 + my[:, None], 1.0)

    def loop() -> None:
        for b in books.values():
            plain_python_sweep(b, marks)

    t_loop = median_ms(loop, 3) * STEPS * STEPS / sample
    print(
        f"{name}: {n_pos} positions ({moving} in {x}/{y}), {STEPS}x{STEPS} grid, 3 views: "
        f"frontier {t_arr:.1f} ms (median of 7), to_dict {t_json:.0f} ms; python loop {t_loop / 1e3:.0f} s "
        f"(extrapolated from {sample} cells); ratio {t_loop / t_arr:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="time the Python loop on fewer cells")
    args = parser.parse_args()
    sample = 20 if args.quick else 100
    print(f"numpy {np.__version__}; python {sys.version.split()[0]}; 2 shared cores: figures are noisy")
    run("500 symbols (bench_engine)", resolve(portfolio_from_dict(build_portfolio(500))), "S000", "S001", sample)
    two = resolve(portfolio_from_dict(two_base_portfolio()))
    run("two bases", two, "BTC", "ETH", sample)
    for view in VIEWS:
        t_sm = median_ms(lambda v=view: smallest_moves(two, v), 3)  # type: ignore[misc]
        print(f"  smallest_moves, two bases, {view}: {t_sm:.0f} ms (uniform + each asset, down and up)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
