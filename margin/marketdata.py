"""Historical prices shipped in ``fixtures/market-data``: the statistics built on them.

The files are read by :mod:`margin.loader` (re-exported here: :class:`PriceHistory`,
:func:`load_daily_closes`, :func:`load_intraday`, :func:`intraday_events`); this module holds the pure
statistics: daily log returns, annualised volatility (``std(daily log return) × √365``, crypto trades
every day), correlation, and betas against a market asset (``cov(rᵢ, r_m) / var(r_m)`` over the days
both have a price). Source of the data: ``fixtures/market-data/README.md`` (Binance spot closes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .loader import PriceHistory, intraday_events, load_daily_closes, load_intraday

__all__ = [
    "DAYS_PER_YEAR",
    "MIN_RETURNS",
    "PriceHistory",
    "annual_volatility",
    "betas",
    "correlation",
    "covers",
    "history_from_candles",
    "intraday_events",
    "load_daily_closes",
    "load_intraday",
]

FloatArray = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.0


def annual_volatility(history: PriceHistory, assets: list[str] | None = None) -> dict[str, float]:
    """Annualised volatility per asset: ``std(log returns) × √(bars per year)``."""
    r = history.log_returns()
    per_year = DAYS_PER_YEAR * 24.0 / history.hours
    out: dict[str, float] = {}
    for a in assets or list(history.assets):
        col = r[:, history.assets.index(a)]
        col = col[np.isfinite(col)]
        out[a] = float(np.std(col, ddof=1) * math.sqrt(per_year)) if col.size > 2 else math.nan
    return out


def correlation(history: PriceHistory, assets: list[str]) -> FloatArray:
    """Correlation matrix of log returns over the bars where every one of ``assets`` has a price."""
    r = history.log_returns()[:, [history.assets.index(a) for a in assets]]
    r = r[np.all(np.isfinite(r), axis=1)]
    if r.shape[0] < 3:
        raise ValueError(f"not enough common history for {', '.join(assets)}")
    return np.atleast_2d(np.corrcoef(r, rowvar=False))


def betas(history: PriceHistory, assets: list[str], market: str = "BTC") -> dict[str, float]:
    """``βᵢ = cov(rᵢ, r_m) / var(r_m)`` of each asset's log returns against ``market``'s (β_m = 1)."""
    r = history.log_returns()
    m = r[:, history.assets.index(market)]
    out: dict[str, float] = {}
    for a in assets:
        x = r[:, history.assets.index(a)]
        ok = np.isfinite(x) & np.isfinite(m)
        if ok.sum() < 3:
            out[a] = math.nan
            continue
        cov = np.cov(x[ok], m[ok], ddof=1)
        out[a] = float(cov[0, 1] / cov[1, 1])
    return out


#: fewest daily returns an asset needs before its volatility, correlations or beta are estimated from a history
MIN_RETURNS = 60


def history_from_candles(candles: Mapping[str, Sequence[Sequence[float]]]) -> PriceHistory:
    """Daily closes per base asset from ccxt OHLCV rows ``[timestamp_ms, open, high, low, close, volume]``
    keyed by unified symbol (a venue's public candles). The first symbol of each base asset is used; the
    dates are the union of all rows (UTC days), a missing close is NaN."""
    from datetime import UTC, datetime

    by_base: dict[str, dict[str, float]] = {}
    for symbol, rows in candles.items():
        base = symbol.split("/")[0]
        if base in by_base or not rows:
            continue
        by_base[base] = {
            datetime.fromtimestamp(float(r[0]) / 1000.0, UTC).strftime("%Y-%m-%d"): float(r[4])
            for r in rows
            if len(r) >= 5
        }
    days = sorted({d for closes in by_base.values() for d in closes})
    assets = tuple(by_base)
    closes = np.array([[by_base[a].get(d, math.nan) for a in assets] for d in days], dtype=np.float64)
    return PriceHistory(tuple(days), assets, closes.reshape(len(days), len(assets)), 24.0)


def covers(history: PriceHistory, assets: Sequence[str], min_returns: int = MIN_RETURNS) -> list[str]:
    """The assets of ``assets`` for which ``history`` has fewer than ``min_returns`` daily returns."""
    r = history.log_returns()
    short: list[str] = []
    for a in assets:
        if a not in history.assets or int(np.isfinite(r[:, history.assets.index(a)]).sum()) < min_returns:
            short.append(a)
    return short
