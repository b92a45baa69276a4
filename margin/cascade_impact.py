"""Price impact of the cascade's forced trades: the laws and their per-asset defaults.

Closing a long sells (price down), closing a short buys (price up). The signed quote notional of the
forced trades of one base asset, ``F`` (sells negative), moves it by (:func:`impact_move`):

- ``sqrt``: ``ΔP/P = sign(F)·Y·σ_daily·√(|F| / V_daily)``, the square-root impact law (Tóth,
  Lemperière, Deremble, de Lataillade, Kockelkoren, Bouchaud, "Anomalous price impact and the critical
  nature of liquidity in financial markets", Phys. Rev. X 1, 021006 (2011); Bouchaud, Bonart, Donier,
  Gould, "Trades, Quotes and Prices", CUP 2018, ch. 12), ``Y`` = ``strength``;
- ``linear``: ``ΔP/P = Y·F / depth`` (a linear order book of ``depth`` quote per 100 % move: a sale of
  ``depth / 100`` moves the price 1 %; the linear price impact of Kyle, "Continuous Auctions and Insider
  Trading", Econometrica 53(6), 1985, with ``λ = 1 / depth`` in relative terms),

floored at −99 %. Defaults per base asset (overridable per symbol or base, ``daily_volatility``,
``daily_volume``, ``depth``): ``σ_daily`` = standard deviation of the daily log returns of the last 365
shipped daily closes (:func:`margin.loader.load_daily_closes`); ``V_daily`` =
:func:`margin.loader.default_daily_volumes` (median over the shipped crash windows of 24 × the mean
hourly quote volume, Binance spot); unknown assets σ 5 %/day, V 5e7 quote (illustrative);
``depth`` defaults to the order-book depth near the mark, ``100 × D₁`` with ``D₁`` the quote notional
per 1 % move of :func:`margin.cascade_depth.depth_1pct` (an assumption anchored on Binance's BTC book,
sources there). The core reads no file itself: :mod:`margin.loader` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .cascade_depth import depth_1pct
from .cascade_params import CascadeParams, lookup
from .instruments import symbol_base
from .loader import default_daily_volumes, load_daily_closes
from .marketdata import annual_volatility

FloatArray = npt.NDArray[np.float64]

FALLBACK_DAILY_VOLATILITY = 0.05
FALLBACK_DAILY_VOLUME = 5e7


@lru_cache(maxsize=1)
def default_daily_volatilities() -> dict[str, float]:
    """σ of daily log returns per base asset over the last 365 days of the shipped daily closes."""
    hist = load_daily_closes().window(365)
    return {a: v / math.sqrt(365.0) for a, v in annual_volatility(hist).items() if math.isfinite(v)}


def default_depths_1pct(bases: Sequence[str]) -> dict[str, float]:
    """The default order-book depth of each base asset, quote notional per 1 % move
    (:func:`margin.cascade_depth.depth_1pct`: an assumption, sources there)."""
    volumes = default_daily_volumes()
    return {b: depth_1pct(b, volumes, FALLBACK_DAILY_VOLUME) for b in bases}


def impact_move(
    law: str, flow: float, *, daily_volatility: float, daily_volume: float, depth: float, strength: float = 1.0
) -> float:
    """Relative price move caused by a signed forced flow ``flow`` (quote notional, sells negative).

    ``sqrt``: ``sign(F)·Y·σ_daily·√(|F|/V_daily)`` (Tóth et al. 2011; Bouchaud et al. 2018);
    ``linear``: ``Y·F/depth``; ``none``: 0. Floored at −0.99 (prices stay positive).
    """
    if law == "none" or flow == 0.0 or strength == 0.0:
        return 0.0
    if law == "sqrt":
        move = math.copysign(strength * daily_volatility * math.sqrt(abs(flow) / daily_volume), flow)
    elif law == "linear":
        move = strength * flow / depth
    else:
        raise ValueError(f"unknown impact law {law!r}")
    return max(move, -0.99)


@dataclass(frozen=True)
class ImpactModel:
    """Impact parameters per base asset (every contract on one base moves together) and the law."""

    law: str
    strength: float
    bases: tuple[str, ...]
    of_symbol: npt.NDArray[np.intp]  # base index of each book symbol
    daily_volatility: FloatArray
    daily_volume: FloatArray
    depth: FloatArray

    def moves(self, flow: FloatArray) -> FloatArray:
        """Per-symbol moves from per-symbol forced flows (summed per base asset)."""
        per_base = np.bincount(self.of_symbol, weights=flow, minlength=len(self.bases))
        d = np.array(
            [
                impact_move(
                    self.law,
                    float(f),
                    daily_volatility=float(s),
                    daily_volume=float(v),
                    depth=float(dp),
                    strength=self.strength,
                )
                for f, s, v, dp in zip(per_base, self.daily_volatility, self.daily_volume, self.depth, strict=True)
            ]
        )
        return d[self.of_symbol] if d.size else np.zeros(len(self.of_symbol))

    def describe(self) -> dict[str, object]:
        return {
            "law": self.law,
            "strength": self.strength,
            "per_base": {
                b: {
                    "daily_volatility": float(self.daily_volatility[k]),
                    "daily_volume": float(self.daily_volume[k]),
                    "depth": float(self.depth[k]),
                    "depth_1pct": float(self.depth[k]) / 100.0,
                }
                for k, b in enumerate(self.bases)
            },
        }


def impact_model(symbols: Sequence[str], law: str, params: CascadeParams) -> ImpactModel:
    """Impact parameters of the base assets of ``symbols``: ``params`` overrides (by base asset or by a
    symbol of that base), else the documented defaults."""
    vols = default_daily_volatilities() if law != "none" else {}
    volumes = default_daily_volumes() if law != "none" else {}
    bases: list[str] = []
    of_symbol = []
    for s in symbols:
        sb = symbol_base(s)  # an option's column moves with its base (format §6.3, §6.5)
        base = sb.upper() if sb else s
        if base not in bases:
            bases.append(base)
        of_symbol.append(bases.index(base))
    sig, vol, dep = [], [], []
    for base in bases:
        group = [x for x, b in zip(symbols, of_symbol, strict=True) if bases[b] == base]

        def given(table: Mapping[str, float], group: list[str] = group) -> float | None:
            for x in group:
                v = lookup(table, x)
                if v is not None:
                    return v
            return None

        sv, vv, dv = given(params.daily_volatility), given(params.daily_volume), given(params.depth)
        sigma = sv if sv is not None else vols.get(base, FALLBACK_DAILY_VOLATILITY)
        volume = vv if vv is not None else volumes.get(base, FALLBACK_DAILY_VOLUME)
        sig.append(sigma)
        vol.append(volume)
        dep.append(dv if dv is not None else 100.0 * depth_1pct(base, volumes, FALLBACK_DAILY_VOLUME))
    return ImpactModel(
        law,
        params.strength,
        tuple(bases),
        np.array(of_symbol, dtype=np.intp),
        np.array(sig),
        np.array(vol),
        np.array(dep),
    )
