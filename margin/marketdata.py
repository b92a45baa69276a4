"""Historical prices shipped in ``fixtures/market-data``: loaders and the statistics built on them.

Explicit load functions (the core's only file access besides portfolios and venue defaults) and pure
statistics: daily log returns, annualised volatility (``std(daily log return) × √365``, crypto trades
every day), correlation, and betas against a market asset (``cov(rᵢ, r_m) / var(r_m)`` over the days
both have a price). Source of the data: ``fixtures/market-data/README.md`` (Binance spot closes).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .defaults import FIXTURES_DIR

FloatArray = npt.NDArray[np.float64]
MARKET_DIR = FIXTURES_DIR / "market-data"
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, eq=False)
class PriceHistory:
    """Closes on a regular time grid: ``closes[t, a]`` (NaN where an asset has no price)."""

    times: tuple[str, ...]
    assets: tuple[str, ...]
    closes: FloatArray
    #: bar length in hours (24 for daily)
    hours: float = 24.0

    def column(self, asset: str) -> FloatArray:
        return self.closes[:, self.assets.index(asset)]

    def window(self, last_days: int | None) -> PriceHistory:
        """The last ``last_days`` bars (all when ``None``)."""
        if last_days is None or last_days >= len(self.times):
            return self
        return PriceHistory(self.times[-last_days:], self.assets, self.closes[-last_days:], self.hours)

    def log_returns(self) -> FloatArray:
        """(T−1, A) log returns; NaN where either close is missing."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diff(np.log(self.closes), axis=0)


def _read_closes(path: Path, time_col: str, close_cols: list[str] | None) -> tuple[list[str], list[str], FloatArray]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    t = header.index(time_col)
    cols = [c for c in header if c != time_col] if close_cols is None else close_cols
    idx = [header.index(c) for c in cols]
    data = np.array([[float(r[i]) if r[i] != "" else math.nan for i in idx] for r in rows], dtype=np.float64)
    return [r[t] for r in rows], cols, data.reshape(len(rows), len(cols))


@lru_cache(maxsize=4)
def load_daily_closes(path: str | None = None) -> PriceHistory:
    """Daily closes of the shipped assets (``daily_close.csv``: date, BTC, ETH, ...)."""
    times, assets, closes = _read_closes(Path(path) if path else MARKET_DIR / "daily_close.csv", "date", None)
    return PriceHistory(tuple(times), tuple(assets), closes, 24.0)


def intraday_events() -> list[str]:
    """Event prefixes of the shipped hourly crash windows, e.g. ``2022-11-08_ftx-collapse``."""
    names = {p.name.rsplit("_", 2)[0] for p in (MARKET_DIR / "intraday").glob("*_1h.csv")}
    return sorted(names)


@lru_cache(maxsize=16)
def load_intraday(event: str) -> PriceHistory:
    """Hourly closes of every asset shipped for ``event`` on a common grid (``intraday/<event>_<SYM>_1h.csv``)."""
    files = sorted((MARKET_DIR / "intraday").glob(f"{event}_*_1h.csv"))
    if not files:
        raise KeyError(f"no intraday data for event {event!r}; events: {', '.join(intraday_events())}")
    times: list[str] | None = None
    assets: list[str] = []
    cols: list[FloatArray] = []
    for f in files:
        ts, _, data = _read_closes(f, "timestamp_utc", ["close"])
        if times is None:
            times = ts
        if ts != times:
            raise ValueError(f"{f.name}: timestamps differ from the other assets of {event}")
        assets.append(f.name[len(event) + 1 : -len("_1h.csv")])
        cols.append(data[:, 0])
    return PriceHistory(tuple(times or ()), tuple(assets), np.column_stack(cols), 1.0)


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
