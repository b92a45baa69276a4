"""Default order-book depth near the mark per base asset: the quote notional that moves the price 1 %.

The shared market data hold no order-book snapshot, so the default is an ASSUMPTION, stated here and on
the Contagion page, and replaceable per asset (``params.depth``, ``--depth ASSET=USD``, the page's inputs):

- **BTC**, the anchor: about 16.53 million USD of orders rest within 100 bps of the mid-price on Binance's
  BTC/FDUSD spot book (minute average over 1 July – 12 August 2025; Amberdata, "How liquidity really
  works in crypto markets", https://blog.amberdata.io/how-liquidity-really-works-in-crypto-markets).
  A forced sale meets one side of the book only; with a symmetric book that is half of it:
  :data:`BTC_DEPTH_1PCT` = 16.53e6 / 2 ≈ 8.27e6 USD per 1 % move. Binance's USDⓈ-M perpetual book is
  usually deeper than this spot pair, so the figure errs on the thin side (more impact).
- **Other assets**: the BTC figure scaled by the ratio of the shipped daily quote volumes
  (:func:`margin.loader.default_daily_volumes`, Binance spot, median over the crash windows):
  ``D₁(asset) = D₁(BTC) × V(asset) / V(BTC)``, i.e. depth proportional to traded volume (a model
  choice: no per-asset depth was available); an asset without shipped volume takes the fallback volume
  of :mod:`margin.cascade_impact` (5e7 quote per day, illustrative).

The linear book of :func:`margin.cascade_impact.impact_move` is written per 100 % move
(``ΔP/P = Y·F / depth``), so its default depth is ``100 × D₁``: a forced sale of ``D₁`` moves the
price 1 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .errors import PortfolioError, Problem

#: Binance BTC/FDUSD spot, bids and asks within 100 bps of mid (Amberdata, Jul–Aug 2025), USD
BTC_BOOK_WITHIN_1PCT = 16.53e6
#: one side of that book: the quote notional that moves BTC by 1 %
BTC_DEPTH_1PCT = BTC_BOOK_WITHIN_1PCT / 2.0
DEPTH_SOURCE = (
    "assumption: BTC ≈ 8.3 M USD per 1 % (half of the 16.5 M USD resting within 1 % of mid on Binance "
    "BTC/FDUSD spot, Jul–Aug 2025, Amberdata), other assets scaled by their shipped daily volume"
)


def depth_1pct(base: str, daily_volumes: Mapping[str, float], fallback_volume: float) -> float:
    """Default quote notional per 1 % move of ``base``: ``D₁(BTC) × V(base) / V(BTC)`` (module docstring)."""
    btc = daily_volumes.get("BTC")
    if not btc:
        return BTC_DEPTH_1PCT
    return BTC_DEPTH_1PCT * daily_volumes.get(base.upper(), fallback_volume) / btc


def parse_depths(items: Sequence[str]) -> dict[str, float]:
    """``--depth`` values, ``["BTC=8e6", "WIF=250000"]`` (quote notional per 1 % move, > 0), as the
    cascade's ``params.depth`` (per 100 % move: ``{"BTC": 8e8, "WIF": 2.5e7}``); PortfolioError otherwise."""
    out: dict[str, float] = {}
    problems: list[Problem] = []
    for item in items:
        name, sep, value = str(item).partition("=")
        name = name.strip()
        try:
            number = float(value.replace("_", "").strip()) if sep and name else math.nan
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            problems.append(Problem("--depth", "must be ASSET=USD_PER_1%_MOVE (a number > 0), e.g. BTC=8e6", item))
            continue
        out[name] = 100.0 * number
    if problems:
        raise PortfolioError(problems)
    return out
