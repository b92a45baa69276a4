"""Command-level benchmark of options and the ``portfolio`` view (issue 11, ``portfolio-format.md`` §6): a
1,000-position book (800 futures, 200 options) through the path ``python -m margin evaluate`` takes, against a
plain per-scenario loop. Prints figures.

Book (:func:`options_book`, seeded): ``venue: generic`` with every table from the shipped fixtures: 798 linear
futures from :func:`benchmarks.books.build_book` (the 20 Binance USDⓈ-M symbols of ``fixtures/tiers/binance-usdm.json``
and synthetic dated listings of them with their base's real table, USDT and USDC pools, hedge mode, about 30 %
isolated), a long and a short ``BTC/USD:BTC`` inverse perpetual (100 USD contracts) with the
``fixtures/tiers/binance-coinm.json`` table, and 200 options on BTC (60 %) and ETH: 70 % coin-settled
(``BTC/USD:BTC-…``, ``ETH/USD:ETH-…``), the rest USDC-settled, strikes log-normal around the index (≈ 12 % ×
√(days/30), on a 1,000 / 50 USD grid), five expiries 8 to 246 days after ``as_of`` 2024-10-24T08:00:00Z, a smile on
ATM IVs 0.52 / 0.62. Marks are the 2024-10-24 closes of ``books.py``; coin collateral BTC 2, ETH 30.

Timed (median of ``--repeat``):

- ``margin.report.evaluate_portfolio`` on the resolved book: the whole ``evaluate`` document, four views with
  liquidation prices (the options' root finding in the standard views, the portfolio view's scans);
- ``margin.portfolio_view.evaluate_portfolio_view`` alone, with and without its liquidation moves;
- the baseline: :class:`benchmarks.bench_portfolio_margin.LoopBook` on the same account (per risk unit, per
  scenario, every leg repriced in Python with ``math.erfc`` Black-76 and the USD equity summed; no liquidation
  moves: it cannot scan 2,000 steps per unit side on 1,000 legs in benchmark time).

Checked before a ratio is printed (exit 1 otherwise): every unit's 35 scenario pnl, scenario losses,
contingencies, IM and MM of the portfolio view equal the loop's to 1e-9 relative, and the loop's USD equity
equals the ``evaluate`` document's portfolio pool equity to 1e-9.

Noisy: 2 shared cores. Run: ``python benchmarks/bench_options.py [--repeat 5] [--seed 11]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_portfolio_margin import Disagreement, LoopBook, check, check_requirements, close, median_ms  # noqa: E402
from books import build_book, real_tables  # noqa: E402

from margin.loader import load_venue_defaults  # noqa: E402
from margin.portfolio import portfolio_from_dict, resolve  # noqa: E402
from margin.portfolio_view import evaluate_portfolio_view, portfolio_book  # noqa: E402
from margin.report import evaluate_portfolio  # noqa: E402

AS_OF = "2024-10-24T08:00:00Z"
#: expiries (08:00 UTC) and their days from AS_OF
EXPIRIES = {"241101": 8, "241129": 36, "241227": 64, "250328": 155, "250627": 246}
ATM_IV = {"BTC": 0.52, "ETH": 0.62}
TICK = {"BTC": 1000.0, "ETH": 50.0}
COIN = {"BTC": 2.0, "ETH": 30.0}


def options_book(seed: int = 11, n_futures: int = 800, n_options: int = 200) -> dict[str, Any]:
    """The seeded book of the module docstring, as a ``margin-portfolio/1`` document."""
    rng = np.random.default_rng(seed)
    doc = build_book(n_futures - 2, seed=seed)
    tables = real_tables()
    doc["venue"] = "generic"  # linear and inverse, Binance arithmetic, every table in the file
    doc["tiers"] = {**{s: t for s, t in tables.items()}, **doc["tiers"]}
    coinm = load_venue_defaults("binance-coinm", "binance-coinm.json")
    doc["tiers"]["BTC/USD:BTC"] = coinm.tiers["BTC/USD:BTC"].to_records()
    btc, eth = doc["prices"]["BTC/USDT:USDT"], doc["prices"]["ETH/USDT:USDT"]
    doc["prices"]["BTC/USD:BTC"] = round(btc * 1.0004, 1)
    for side, q, entry in (("long", 900, btc * 0.97), ("short", 400, btc * 1.01)):
        doc["positions"].append({"symbol": "BTC/USD:BTC", "side": side, "contracts": q, "contract_size": 100,
                                 "entry_price": round(entry, 1), "leverage": 10, "margin_mode": "cross"})  # fmt: skip
    doc["as_of"] = AS_OF
    index = {"BTC": btc, "ETH": eth}
    doc["index_prices"] = index
    seen: set[str] = set()
    while len(seen) < n_options:
        base = "BTC" if rng.random() < 0.6 else "ETH"
        expiry = str(rng.choice(list(EXPIRIES)))
        days = EXPIRIES[expiry]
        f = index[base]
        strike = max(
            TICK[base], round(f * math.exp(rng.normal(0, 0.12 * math.sqrt(days / 30))) / TICK[base]) * TICK[base]
        )
        call = bool(rng.random() < 0.5)
        coin = rng.random() < 0.7
        settle = f"{base}/USD:{base}" if coin else f"{base}/USDC:USDC"
        symbol = f"{settle}-{expiry}-{strike:g}-{'C' if call else 'P'}"
        if symbol in seen:
            continue
        seen.add(symbol)
        x = math.log(strike / f)
        t = days / 365.0
        iv = ATM_IV[base] * (1 + 0.04 * x * x / t + 0.1 * abs(x))
        doc["positions"].append(
            {"symbol": symbol, "side": "long" if rng.random() < 0.5 else "short",
             "contracts": float(rng.choice([0.5, 1, 2, 5, 10])), "entry_price": 0.01 if coin else 100.0,
             "iv": round(iv, 4)}
        )  # fmt: skip
    order = rng.permutation(len(doc["positions"]))
    doc["positions"] = [doc["positions"][i] for i in order]
    doc["collateral"] = {**doc["collateral"], **COIN}
    doc["collateral"]["USDC"] = doc["collateral"].get("USDC", 0.0) + 400_000.0  # the USDC options' margin
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    doc = options_book(args.seed)
    t0 = time.perf_counter()
    resolved = resolve(portfolio_from_dict(doc, "bench"))
    resolve_ms = 1e3 * (time.perf_counter() - t0)
    inputs = portfolio_book(resolved)
    assert inputs.book is not None
    book, params = inputs.book, inputs.params
    n_opt = len(resolved.option_legs)
    view = evaluate_portfolio_view(resolved)
    full = evaluate_portfolio(resolved)
    lb = LoopBook(book, params)
    t0 = time.perf_counter()
    loop = lb.evaluate()
    loop_ms = 1e3 * (time.perf_counter() - t0)
    loop_equity = lb.usd([1.0] * lb.u, ["unchanged"] * lb.u)
    pool = full["modes"]["portfolio"]["pools"][0]  # type: ignore[index]
    try:
        check_requirements(view.result, loop, "portfolio view")
        check("USD equity", close(pool["equity"], loop_equity), f"{pool['equity']!r} vs loop {loop_equity!r}")
        check("document IM", close(pool["initial_margin"], loop["im"]), f"{pool['initial_margin']!r} vs {loop['im']!r}")
    except Disagreement:
        return 1

    print(f"book: {resolved.n_positions} positions ({n_opt} options, {len(resolved.legs)} futures) on "
          f"{len(resolved.symbols)} symbols, venue generic, {len(book.units)} units, seed {args.seed}")  # fmt: skip
    print(f"portfolio view: equity {pool['equity']:,.2f} USD, IM {pool['initial_margin']:,.2f}, "
          f"MM {pool['maintenance_margin']:,.2f}")  # fmt: skip
    for u in pool["risk_units"]:
        print(f"  {u['underlying']:9s} requirement {u['requirement']:14,.2f}  moves {u['liquidation_move_down']} / "
              f"{u['liquidation_move_up']}")  # fmt: skip
    print("agreement: portfolio view = loop to 1e-9 (every unit's 35 pnl, losses, contingencies, IM, MM; USD equity)")
    whole = median_ms(lambda: evaluate_portfolio(resolved), args.repeat)
    pv_full = median_ms(lambda: evaluate_portfolio_view(resolved), args.repeat)
    pv_noliq = median_ms(lambda: evaluate_portfolio_view(resolved, liquidation=False), args.repeat)
    print(f"resolve (file -> account):                      {resolve_ms:9.1f} ms (one run)")
    print(f"report.evaluate_portfolio (4 views, all prices): {whole:9.1f} ms (median of {args.repeat})")
    print(f"portfolio view with liquidation moves:          {pv_full:9.1f} ms (median of {args.repeat})")
    print(f"portfolio view without liquidation moves:       {pv_noliq:9.1f} ms (median of {args.repeat})")
    print(f"loop baseline, no liquidation moves:            {loop_ms:9.1f} ms (one run)   "
          f"ratio {loop_ms / pv_noliq:6.0f}x vs the view without moves, {loop_ms / pv_full:5.0f}x vs the view "
          "with every unit's moves (a lower bound)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
