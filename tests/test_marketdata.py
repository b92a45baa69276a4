"""Price histories: the shipped loader and histories built from a venue's public candles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from margin.marketdata import (
    MIN_RETURNS,
    annual_volatility,
    betas,
    covers,
    history_from_candles,
    load_daily_closes,
)

DAY_MS = 86_400_000


def _candles(closes: list[float], start_ms: int = 1_700_006_400_000) -> list[list[float]]:
    return [[start_ms + k * DAY_MS, c, c, c, c, 1.0] for k, c in enumerate(closes)]


def test_history_from_candles_aligns_days_by_base() -> None:
    """BTC has 3 days, ETH the last 2 of them: the union of days, ETH's first close missing (NaN); the
    first symbol of a base wins (BTC/USDT:USDT, not BTC/USDC:USDC)."""
    hist = history_from_candles(
        {
            "BTC/USDT:USDT": _candles([100.0, 110.0, 99.0]),
            "BTC/USDC:USDC": _candles([1.0, 1.0, 1.0]),
            "ETH/USDT:USDT": _candles([10.0, 11.0], start_ms=1_700_006_400_000 + DAY_MS),
        }
    )
    assert hist.assets == ("BTC", "ETH")
    assert hist.times == ("2023-11-15", "2023-11-16", "2023-11-17")
    assert list(hist.column("BTC")) == [100.0, 110.0, 99.0]
    assert math.isnan(hist.column("ETH")[0]) and list(hist.column("ETH")[1:]) == [10.0, 11.0]
    # log returns: BTC ln(1.1) then ln(0.9); ETH only ln(1.1)
    r = hist.log_returns()
    assert r[0, 0] == pytest.approx(math.log(1.1)) and r[1, 0] == pytest.approx(math.log(0.9))
    assert math.isnan(r[0, 1]) and r[1, 1] == pytest.approx(math.log(1.1))


def test_covers_names_assets_with_too_little_history() -> None:
    rng = np.random.default_rng(3)
    long = list(100.0 * np.exp(np.cumsum(rng.normal(0, 0.03, MIN_RETURNS + 1))))
    hist = history_from_candles({"BTC/USDT:USDT": _candles(long), "ETH/USDT:USDT": _candles(long[:20])})
    assert covers(hist, ["BTC"]) == []
    assert covers(hist, ["BTC", "ETH", "SOL"]) == ["ETH", "SOL"]


def test_statistics_from_candles_match_the_formulas() -> None:
    """σ_annual = std(daily log returns, ddof 1) × √365 and β = cov/var, recomputed here by hand."""
    rng = np.random.default_rng(5)
    m = rng.normal(0, 0.03, 200)
    x = 1.5 * m + rng.normal(0, 0.01, 200)
    btc = list(100.0 * np.exp(np.concatenate([[0.0], np.cumsum(m)])))
    eth = list(10.0 * np.exp(np.concatenate([[0.0], np.cumsum(x)])))
    hist = history_from_candles({"BTC/USDT:USDT": _candles(btc), "ETH/USDT:USDT": _candles(eth)})
    assert annual_volatility(hist, ["BTC"])["BTC"] == pytest.approx(np.std(m, ddof=1) * math.sqrt(365), rel=1e-9)
    cov = np.cov(x, m, ddof=1)
    assert betas(hist, ["ETH"], "BTC")["ETH"] == pytest.approx(cov[0, 1] / cov[1, 1], rel=1e-9)


def test_shipped_history_has_the_ten_assets() -> None:
    hist = load_daily_closes()
    assert set(hist.assets) == {"BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "LTC"}
    assert covers(hist.window(366), ["BTC", "ETH", "SOL"]) == []
