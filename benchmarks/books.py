"""Seeded generator of realistic books for the benchmarks (and the shipped ``binance-full-book`` sample).

``build_book(n_positions=1000, seed=0)`` returns a ``margin-portfolio/1`` document on Binance USDⓈ-M:

- **Real tier tables.** Every symbol carries the shipped table of its base
  (``fixtures/tiers/binance-usdm.json``, Binance ``/fapi/v1/leverageBracket`` snapshot of 2024-10-24): the
  20 real symbols use the venue defaults; beyond them the book lists further contracts of the same
  underlyings, named ``<real symbol>-NNNN`` (synthetic listing names, dated-contract style) with the real
  table of their base written into the file's ``tiers``. Shocks by base (``BTC=-20%``), betas, volatilities
  and impact volumes therefore act on them as on the real contract.
- **Marks** consistent with the shipped prices: the ``daily_close.csv`` closes of 2024-10-24 (the tier
  snapshot's date) for the ten assets it has, illustrative late-October-2024 levels for the others
  (``ILLUSTRATIVE_MARKS``; no price of them is shipped); a synthetic listing trades at a basis of at most
  ±0.5 % to its base's mark.
- **Mixed margin modes** (about 30 % of the symbols isolated, both legs of a symbol in the same mode, as
  Binance sets the mode per symbol), **hedge pairs** (hedge mode; about 35 % of the symbols hold a long
  and a short), **two settle assets** (USDT and USDC pools).
- **Realistic sizes and leverages**: log-normal notionals (median ≈ 12k, 300 .. 1.5M settle units),
  leverage 2-25× within the tier's maximum at the entry notional, entries within a few percent of the mark
  and never so far on the loss side that a position would be liquidated at the current marks in any view;
  collateral per settle asset of 1.25 × the cross positions' initial margin plus the isolated margins
  (positive available margin in every pool at the current marks).

``python benchmarks/books.py`` prints a summary of the default book; ``--write-sample PATH`` writes the
40-position sample (the 20 real symbols, a long and a short each) shipped as
``fixtures/portfolios/binance-full-book.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from margin.loader import load_daily_closes, load_venue_defaults

VENUE = "binance-usdm"
TIERS_FILE = "binance-usdm.json"
#: the date of the shipped Binance tier snapshot; marks are the shipped closes of that day
AS_OF = "2024-10-24"
#: late-October-2024 levels of the bases without shipped prices (illustrative, rounded; not data)
ILLUSTRATIVE_MARKS = {"1000PEPE": 0.0098, "SUI": 2.05, "WIF": 2.45, "TON": 5.1, "ARB": 0.53, "OP": 1.62, "TRX": 0.16}
LEVERAGES = (2.0, 3.0, 5.0, 10.0, 20.0, 25.0)
LEVERAGE_WEIGHTS = (0.15, 0.2, 0.3, 0.2, 0.1, 0.05)


def real_tables() -> dict[str, list[dict[str, Any]]]:
    """The shipped Binance USDⓈ-M tier tables (symbol → tier records), in file order."""
    return {s: t.to_records() for s, t in load_venue_defaults(VENUE, TIERS_FILE).tiers.items()}


def base_of(symbol: str) -> str:
    return symbol.split("/", 1)[0]


def real_marks() -> dict[str, float]:
    """Mark per real symbol: the shipped close of ``AS_OF`` or the illustrative level."""
    hist = load_daily_closes()
    row = hist.times.index(AS_OF)
    out: dict[str, float] = {}
    for symbol in real_tables():
        base = base_of(symbol)
        if base in hist.assets:
            out[symbol] = float(hist.closes[row, hist.assets.index(base)])
        else:
            out[symbol] = ILLUSTRATIVE_MARKS[base]
    return out


def _cap(records: list[dict[str, Any]], notional: float) -> float:
    cap = math.inf
    for r in records:
        if notional >= r["min_notional"]:
            cap = float(r["max_leverage"]) if r.get("max_leverage") is not None else math.inf
    return cap


def _round_price(x: float) -> float:
    digits = max(2, 6 - math.floor(math.log10(abs(x))))
    return round(x, digits)


def build_book(
    n_positions: int = 1000,
    seed: int = 0,
    *,
    hedge_share: float = 0.35,
    isolated_share: float = 0.3,
    real_only: bool = False,
) -> dict[str, Any]:
    """An ``n_positions`` book (see the module docstring). ``real_only``: only the 20 real symbols, each with
    a long and a short (at most 40 positions)."""
    rng = np.random.default_rng(seed)
    tables = real_tables()
    marks0 = real_marks()
    reals = list(tables)
    if real_only and n_positions > 2 * len(reals):
        raise ValueError(f"real_only allows at most {2 * len(reals)} positions (one long and one short per symbol)")
    prices: dict[str, float] = {}
    tiers: dict[str, list[dict[str, Any]]] = {}
    positions: list[dict[str, Any]] = []
    cross_initial: dict[str, float] = {}
    isolated_margin: dict[str, float] = {}
    k = 0
    while len(positions) < n_positions:
        real = reals[k % len(reals)]
        listing = k // len(reals)
        k += 1
        symbol = real if listing == 0 else f"{real}-{_listing(listing)}"
        records = tables[real]
        mark = marks0[real] if listing == 0 else _round_price(marks0[real] * (1 + rng.uniform(-0.005, 0.005)))
        settle = real.rsplit(":", 1)[1]
        isolated = bool(rng.random() < isolated_share)
        both = real_only or bool(rng.random() < hedge_share)
        main_side = "long" if rng.random() < 0.6 else "short"
        sides = [main_side, "short" if main_side == "long" else "long"] if both else [main_side]
        sides = sides[: n_positions - len(positions)]
        prices[symbol] = mark
        if listing:
            tiers[symbol] = records
        for j, side in enumerate(sides):
            notional = float(np.clip(rng.lognormal(math.log(12_000), 1.1), 300, 1_500_000))
            if j == 1:  # the hedge leg is usually smaller than the main leg
                notional *= float(rng.uniform(0.2, 0.9))
            leverage = float(rng.choice(LEVERAGES, p=LEVERAGE_WEIGHTS))
            sign = 1.0 if side == "long" else -1.0
            # entry: up to 8 % on the profit side, at most 40 % of the initial margin on the loss side
            adverse = float(rng.uniform(-0.08, 0.4 / leverage))
            entry = _round_price(mark * (1 + sign * adverse))
            leverage = min(leverage, _cap(records, notional * entry / mark))
            contracts = float(f"{notional / mark:.6g}")
            pos: dict[str, Any] = {
                "symbol": symbol,
                "side": side,
                "contracts": contracts,
                "entry_price": entry,
                "leverage": leverage,
                "margin_mode": "isolated" if isolated else "cross",
            }
            positions.append(pos)
            if isolated:
                isolated_margin[settle] = isolated_margin.get(settle, 0.0) + contracts * entry / leverage
            else:
                cross_initial[settle] = cross_initial.get(settle, 0.0) + contracts * mark / leverage
    settles = sorted(set(cross_initial) | set(isolated_margin))
    collateral = {
        s: float(round(1.25 * cross_initial.get(s, 0.0) + isolated_margin.get(s, 0.0) + 1_000.0, -2)) for s in settles
    }
    return {
        "format": "margin-portfolio/1",
        "venue": VENUE,
        "position_mode": "hedge",
        "collateral": collateral,
        "prices": prices,
        "tiers": tiers,
        "positions": positions,
    }


#: illustrative quarterly expiries (Binance USDⓈ-M style, last Friday of the quarter) for the first extra listings
QUARTERLIES = ("250328", "250627", "250926", "251226")


def _listing(k: int) -> str:
    """The expiry code of the k-th extra listing of a base: a quarterly date, then ``NNNN`` beyond four."""
    return QUARTERLIES[k - 1] if k <= len(QUARTERLIES) else f"{k:04d}"


def sample_book_200() -> dict[str, Any]:
    """The shipped 200-position sample (seed 2025): the 20 real perpetuals and up to four quarterly-style
    dated listings per base, each with the base's real tier table, mixed modes and hedge pairs."""
    return build_book(200, seed=2025)


def sample_book() -> dict[str, Any]:
    """The shipped 40-position sample: the 20 real symbols, a long and a short each (seed 2024)."""
    doc = build_book(40, seed=2024, real_only=True)
    del doc["tiers"]  # every symbol is real: the venue defaults apply
    return doc


def summary(doc: dict[str, Any]) -> str:
    from margin.portfolio import portfolio_from_dict, resolve

    resolved = resolve(portfolio_from_dict(doc, "generated"))
    legs = resolved.legs
    iso = sum(1 for leg in legs if leg.position.margin_mode == "isolated")
    pairs = len(legs) - len({leg.position.symbol for leg in legs})
    settles = sorted({leg.instrument.settle for leg in legs})
    return (
        f"{len(legs)} positions on {len(resolved.symbols)} symbols ({len({base_of(s) for s in resolved.symbols})} "
        f"bases), {iso} isolated, {pairs} hedge pairs, settle {'/'.join(settles)}; collateral {doc['collateral']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-sample", type=Path, help="write the 40-position real-symbol sample here")
    parser.add_argument("--write-sample-200", type=Path, help="write the 200-position sample here")
    args = parser.parse_args()
    if args.write_sample_200:
        doc = sample_book_200()
        args.write_sample_200.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.write_sample_200}: {summary(doc)}")
        return
    if args.write_sample:
        doc = sample_book()
        args.write_sample.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.write_sample}: {summary(doc)}")
        return
    print(summary(build_book(args.positions, args.seed)))


if __name__ == "__main__":
    main()
