"""Public data without keys (marks, public tiers, daily candles) refreshing a loaded portfolio, with fallback.

Bybit's recorded public answers (ticker with markPrice, kline, risk-limit docs example) are replayed; no key
is configured, so ccxt sends no signed request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from exchange.adapter import ExchangeError, PublicData, fetch_public
from exchange.mapping import apply_public, validate
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import Fault, ReplayServer
from margin.files import load_portfolio
from margin.portfolio import portfolio_to_dict

NOW = datetime(2025, 1, 14, 14, 47, 3, tzinfo=UTC)


def test_fetch_public_bybit_marks_and_candles_without_keys() -> None:
    with ReplayServer(scenario_routes("bybit")) as server:
        data = fetch_public(
            "bybit",
            ["BTC/USDT:USDT", "LTC/USDT:USDT"],
            server.url,
            days=3,
            now=NOW,
            timeout_ms=2000,
            what=("marks", "ohlcv"),
        )
    assert all("X-BAPI-API-KEY" not in r.headers and "X-BAPI-SIGN" not in r.headers for r in server.requests)
    # raw ticker markPrice of BTCUSDT in fixtures/exchange-responses/bybit/fetchTicker.json
    from exchange.testkit.scenarios import load_fixture

    raw_mark = float(
        load_fixture("bybit/fetchTicker.json")["cases"][0]["httpResponse"]["result"]["list"][0]["markPrice"]
    )
    assert data.marks["BTC/USDT:USDT"] == raw_mark and data.as_of == "2025-01-14T14:47:03Z"
    # kline: bybit answers newest first, ccxt returns oldest first
    candles = data.ohlcv["BTC/USDT:USDT"]
    assert len(candles) >= 2 and candles[0][0] < candles[-1][0]
    # LTC has no recorded ticker: an error for it, and the others are still returned
    assert "mark LTC/USDT:USDT" in data.errors


def test_apply_public_refreshes_marks_with_as_of_and_keeps_the_rest() -> None:
    doc = portfolio_to_dict(load_portfolio("fixtures/portfolios/btc-long.json"))
    before = json.dumps(doc, sort_keys=True)
    symbol = doc["positions"][0]["symbol"]
    public = PublicData(
        venue="bybit", as_of="2025-01-14T14:47:03Z", marks={symbol: 101234.5}, errors={"ohlcv " + symbol: "offline"}
    )
    out = apply_public(doc, public)
    assert out["prices"][symbol] == 101234.5 and "mark_price" not in out["positions"][0]
    assert out["origin"]["public"]["as_of"] == "2025-01-14T14:47:03Z"
    assert out["origin"]["public"]["not_refreshed"] == {"ohlcv " + symbol: "offline"}
    validate(out)
    assert json.dumps(doc, sort_keys=True) == before  # the loaded portfolio itself is left as it was


def test_public_refresh_offline_raises_and_caller_keeps_bundled_data() -> None:
    with ReplayServer(scenario_routes("bybit")) as server:
        server.fault = Fault(503, "")
        with pytest.raises(ExchangeError) as err:
            fetch_public("bybit", ["BTC/USDT:USDT"], server.url, timeout_ms=1000)
    assert err.value.kind == "exchange_down"


def test_fetch_public_tiers_where_public() -> None:
    with ReplayServer(scenario_routes("bybit")) as server:
        data = fetch_public("bybit", ["BTC/USD:BTC"], server.url, timeout_ms=2000, what=("tiers",))
    # Bybit docs example of GET /v5/market/risk-limit (inverse BTCUSD): riskLimitValue "150", maintenanceMargin
    # "0.5", maxLeverage "100.00" (illustrative values, as the docs give them)
    (tier,) = data.tiers["BTC/USD:BTC"]
    assert (tier["minNotional"], tier["maxNotional"], tier["maintenanceMarginRate"], tier["maxLeverage"]) == (
        0,
        150,
        0.5,
        100,
    )


def test_apply_public_drops_orders_the_new_marks_carried_past_their_trigger() -> None:
    """eth-stop (§7): long ETH, stop 2,900 and take-profit 3,400 at mark 3,100. A refreshed mark of 2,850
    is past the stop (a stop on a long must lie below the mark): the refreshed file drops it, says so, and
    stays valid; the take-profit (3,400 > 2,850) is kept. A mark of 3,000 keeps both."""
    doc = portfolio_to_dict(load_portfolio("fixtures/portfolios/eth-stop.json"))
    symbol = doc["positions"][0]["symbol"]
    out = apply_public(doc, PublicData(venue="binanceusdm", as_of="t", marks={symbol: 2850.0}))
    assert [o["type"] for o in out["orders"]] == ["take_profit"]
    (dropped,) = out["origin"]["public"]["orders_dropped"]
    assert dropped["id"] == "sl-eth" and "2850" in dropped["reason"] and "2900" in dropped["reason"]
    validate(out)
    kept = apply_public(doc, PublicData(venue="binanceusdm", as_of="t", marks={symbol: 3000.0}))
    assert len(kept["orders"]) == 2 and "orders_dropped" not in kept["origin"]["public"]
