"""Account import per venue: recorded payloads replayed through ccxt's real HTTP, signing and parsing code.

Each test starts the local replay server on 127.0.0.1 with one scenario of ``exchange.testkit.scenarios`` (recorded
responses from ``fixtures/exchange-responses/``), points ccxt at it with ``api_url`` and checks the mapped
portfolio against the raw payload numbers (written out below), then that it is valid and evaluates.
No test reaches the internet: every request goes to the replay server, which answers 404 to anything not
recorded, and each test asserts that nothing went unanswered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from exchange.adapter import Credentials, ExchangeError, fetch_account
from exchange.mapping import to_portfolio, validate
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import ReplayServer
from margin.report import evaluate_portfolio

CREDS = Credentials("test-key", "test-secret", "test-pass")
ADDRESS = "0x" + "ab" * 20
NOW = datetime(2024, 7, 28, 10, 6, 6, tzinfo=UTC)


def imported(venue: str, scenario: str, address: str | None = None) -> tuple[dict[str, Any], ReplayServer]:
    with ReplayServer(scenario_routes(scenario)) as server:
        raw = fetch_account(venue, None if address else CREDS, address, server.url, now=NOW, timeout_ms=3000)
    assert server.unmatched == [] or all("risk-limit" in u or "position-tiers" in u for u in server.unmatched)
    doc = to_portfolio(raw)
    return doc, server


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in doc["positions"]}


def as_is(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ev = evaluate_portfolio(validate(doc))
    return {p["id"]: p for p in ev["modes"]["as_is"]["positions"]}


def test_binanceusdm_one_way_cross_with_exchange_tiers_and_origin() -> None:
    doc, server = imported("binanceusdm", "binanceusdm")
    # ccxt called: markets, leverage brackets (for its own position parsing), positions, account, brackets
    # again (fetch_leverage_tiers), and symbolConfig for the leverage the v3 positionRisk omits
    assert server.paths() == [
        "GET /fapi/v1/exchangeInfo",
        "GET /fapi/v1/leverageBracket",
        "GET /fapi/v3/positionRisk",
        "GET /fapi/v3/account",
        "GET /fapi/v1/leverageBracket",
        "GET /fapi/v1/symbolConfig",
    ]
    assert doc["venue"] == "binance-usdm" and doc["position_mode"] == "one-way"
    # raw account assets: USDT walletBalance "3.72964781", USDC "22.00000000"; Multi-Assets mode because
    # totalWalletBalance 25.72610060 != the USDT wallet, so USDC backs the USDT pool
    assert doc["collateral"] == {"USDT": 3.72964781, "USDC": 22.0}
    assert doc["collateral_assets"] == {"USDC": {"price": 1.0, "haircut": 0.0, "pool": "USDT"}}
    (pos,) = doc["positions"]
    # raw positionRisk: positionAmt "0.009", entryPrice "67445.9", markPrice "67502.68519858";
    # symbolConfig leverage "20"
    assert pos == {
        "id": "BTC/USDT:USDT long",
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "contracts": 0.009,
        "contract_size": 1.0,
        "entry_price": 67445.9,
        "mark_price": 67502.68519858,
        "margin_mode": "cross",
        "leverage": 20.0,
    }
    # tiers from the exchange (leverageBracket): first bracket 0-50000 at 0.4 %, cum 0, 125x
    assert doc["tiers"]["BTC/USDT:USDT"][0] == {
        "min_notional": 0.0,
        "max_notional": 50000.0,
        "mmr": 0.004,
        "max_leverage": 125.0,
        "maint_amount": 0.0,
    }
    origin = doc["origin"]
    assert origin["exchange"] == "binanceusdm" and origin["fetched_at"] == "2024-07-28T10:06:06Z"
    assert origin["ccxt_version"].startswith("4.") and origin["api_url"] == server.url
    assert origin["tiers_source"] == {"BTC/USDT:USDT": "exchange"}
    assert origin["fields"]["BTC/USDT:USDT long"]["leverage"] == "leverage settings (fetch_leverages)"
    figs = origin["exchange_figures"]["BTC/USDT:USDT long"]
    assert figs["liquidationPrice"] == 64846.9875379 and figs["notional"] == 607.52416678
    # evaluates: cross pool wallet 3.72964781 + 22 = 25.72964781; one-way long, tier 1 (mmr 0.004, cum 0):
    # LP = (W - Q*EP) / (Q*mmr - Q) = (25.72964781 - 0.009*67445.9) / (0.009*0.004 - 0.009)
    #    = (25.72964781 - 607.0131) / (-0.008964) = 64846.43599 (Binance B1 formula, margin-models.md §1.3)
    lp = as_is(doc)["BTC/USDT:USDT long"]["liquidation_price"]
    assert lp == pytest.approx((25.72964781 - 0.009 * 67445.9) / (0.009 * 0.004 - 0.009), rel=1e-9)


def test_binanceusdm_hedge_mode_isolated_and_cross() -> None:
    doc, _ = imported("binanceusdm", "binanceusdm-hedge")
    assert doc["position_mode"] == "hedge"
    pos = by_id(doc)
    assert set(pos) == {"BTC/USDT:USDT long", "BTC/USDT:USDT short", "ETH/USDT:USDT short"}
    assert pos["BTC/USDT:USDT short"]["contracts"] == 0.004 and pos["BTC/USDT:USDT short"]["margin_mode"] == "cross"
    eth = pos["ETH/USDT:USDT short"]
    # raw: isolatedWallet "3.3" (margin without PnL), positionAmt "-0.01", entry 3300, mark 3250
    assert eth["margin_mode"] == "isolated" and eth["isolated_margin"] == 3.3
    # no leverage in positionRisk v3 nor symbolConfig for ETH: notional / initialMargin = 32.5 / 3.25 = 10
    assert eth["leverage"] == 10.0
    assert doc["origin"]["fields"]["ETH/USDT:USDT short"]["leverage"] == "derived: notional / initialMargin"
    ev = as_is(doc)
    # isolated short: equity 3.3 + 0.01*(3300 - P) = MM = 0.01*P*0.0065 (ETH tier 1 of the docs bracket, 0.65 %)
    # -> P = (3.3 + 33) / (0.01*1.0065) = 3606.5574
    assert ev["ETH/USDT:USDT short"]["liquidation_price"] == pytest.approx(36.3 / (0.01 * 1.0065), rel=1e-9)


def test_binancecoinm_inverse_contracts() -> None:
    doc, _ = imported("binancecoinm", "binancecoinm")
    (pos,) = doc["positions"]  # the flat BCHUSD_241227 entry (positionAmt "0") is not imported
    # raw: BTCUSD_PERP positionAmt "-3", entryPrice "68911.00000037", leverage "20"; market contractSize 100 USD
    assert pos["symbol"] == "BTC/USD:BTC" and pos["side"] == "short" and pos["contracts"] == 3.0
    assert pos["contract_size"] == 100.0 and pos["leverage"] == 20.0
    assert doc["venue"] == "binance-coinm" and doc["collateral"] == {"BTC": 0.00023156}
    assert doc["tiers"]["BTC/USD:BTC"][1] == {
        "min_notional": 5.0,
        "max_notional": 10.0,
        "mmr": 0.005,
        "maint_amount": 0.005,
    }
    # notional at mark 68234.2: 300 / 68234.2 = 0.0043966 BTC (raw notionalValue "-0.00439662")
    ev = as_is(doc)["BTC/USD:BTC short"]
    assert ev["notional"] == pytest.approx(300 / 68234.2, rel=1e-12)


def test_bybit_unified_account_multi_collateral_and_implied_tier() -> None:
    doc, server = imported("bybit", "bybit")
    assert "GET /v5/account/wallet-balance" in server.paths()
    (pos,) = doc["positions"]
    # raw: LTCUSDT size "1.2", avgPrice "64.59947917", markPrice "71.1", leverage "6", tradeMode "0" (cross)
    assert (pos["contracts"], pos["entry_price"], pos["mark_price"], pos["leverage"]) == (1.2, 64.59947917, 71.1, 6.0)
    assert pos["margin_mode"] == "cross"
    assert doc["origin"]["fields"]["LTC/USDT:USDT long"]["margin_mode"].startswith("Bybit position tradeMode")
    assert doc["collateral"]["USDT"] == 3322.25896609  # coin USDT walletBalance
    # BTC backs the USDT pool at usdValue / equity = 82669.24739887 / 0.85581394 = 96597.21995
    assert doc["collateral_assets"]["BTC"]["price"] == pytest.approx(82669.24739887 / 0.85581394, rel=1e-10)
    # no risk-limit recorded for LTCUSDT and no shipped Bybit table: one tier at positionMM / positionValue
    # = 0.81072399 / 77.519375 = 1.04583 %
    assert doc["tiers"]["LTC/USDT:USDT"] == [
        {"min_notional": 0.0, "max_notional": None, "mmr": pytest.approx(0.81072399 / 77.519375, rel=1e-10)}
    ]
    assert doc["origin"]["tiers_source"]["LTC/USDT:USDT"].startswith("implied")
    assert as_is(doc)["LTC/USDT:USDT long"]["liquidation_price"] is None  # 92k USD of collateral: none


def test_okx_hedged_linear_and_inverse_cross() -> None:
    doc, _ = imported("okx", "okx")
    assert doc["position_mode"] == "hedge"  # posSide "long" (long/short mode)
    pos = by_id(doc)
    assert pos["LTC/USDT:USDT long"]["contracts"] == 2.0 and pos["LTC/USDT:USDT long"]["contract_size"] == 1.0
    inv = pos["BTC/USD:BTC long"]
    # raw: pos "1", avgPx "91957.1", markPx "92057.4", lever "20"; ctVal 100 USD
    assert (inv["contracts"], inv["contract_size"], inv["entry_price"], inv["mark_price"]) == (
        1.0,
        100.0,
        91957.1,
        92057.4,
    )
    assert doc["collateral"] == {"USDT": 100.0, "BTC": 0.01}  # cashBal of the synthesized balance
    figs = doc["origin"]["exchange_figures"]["LTC/USDT:USDT long"]
    assert figs["liquidationPrice"] is None and figs["reported_raw"] == {"liquidationPrice": ""}


def test_okx_isolated_inverse_matches_exchange_liquidation() -> None:
    doc, _ = imported("okx", "okx-isolated")
    (pos,) = doc["positions"]
    assert pos["margin_mode"] == "isolated" and pos["isolated_margin"] == 0.0003611412062116  # raw "margin"
    # implied tier: mmr field 0.0000043300962256 BTC / notional 100/92376.7 BTC = 0.4 %; OKX isolated inverse
    # (margin-models.md §4): LP = (1 + mmr + fee) / (1/EP + margin/(FV*n)) with fee 0.0005, FV*n = 100 USD
    #   = 1.0045 / (1/92300 + 0.0003611412062116/100) = 69536.51; the exchange reports 69536.6125
    expected = 1.0045 / (1 / 92300 + 0.0003611412062116 / 100)
    lp = as_is(doc)["BTC/USD:BTC long"]["liquidation_price"]
    assert lp == pytest.approx(expected, rel=1e-9)
    assert lp == pytest.approx(69536.6125000014, rel=1e-5)


def test_hyperliquid_cross_read_with_address_only() -> None:
    doc, server = imported("hyperliquid", "hyperliquid", address=ADDRESS)
    assert all(not any(k.lower() in ("authorization", "x-api-key") for k in r.headers) for r in server.requests)
    state = [r for r in server.requests if '"clearinghouseState"' in r.body]
    assert state and ADDRESS.lower() in state[0].body.lower()
    pos = by_id(doc)
    # raw szi "3.34", entryPx "112.0945", positionValue "463.9594": mark = 463.9594 / 3.34 = 138.91
    assert pos["SOL/USDC:USDC long"]["mark_price"] == pytest.approx(138.91)
    # accountValue 19762.483455 - uPnL (89.563507 + 9734.04) = 9938.879948 USDC wallet
    assert doc["collateral"] == {"USDC": pytest.approx(9938.879948, abs=1e-9)}
    assert doc["origin"]["tiers_source"]["SOL/USDC:USDC"].startswith("shipped defaults")
    assert doc["position_mode"] == "one-way"


def test_hyperliquid_isolated_short() -> None:
    doc, _ = imported("hyperliquid", "hyperliquid-isolated", address=ADDRESS)
    (pos,) = doc["positions"]
    # marginUsed 18.564417 - unrealizedPnl (-0.6071) = 19.171517 USDC isolated margin
    assert pos["margin_mode"] == "isolated" and pos["isolated_margin"] == pytest.approx(19.171517)
    # short 4 HYPE @ 47.9932, mmr 1/(2*10) = 5 %: 19.171517 + 4*(47.9932 - P) = 0.05*4*P
    #   -> P = (19.171517 + 191.9728) / 4.2 = 50.272456; the exchange says 50.2724802381
    lp = as_is(doc)["HYPE/USDC:USDC short"]["liquidation_price"]
    assert lp == pytest.approx((19.171517 + 4 * 47.9932) / 4.2, rel=1e-9)
    assert lp == pytest.approx(50.2724802381, rel=1e-6)


def test_deribit_inverse_size_in_usd_and_option_listed_not_margined() -> None:
    doc, _ = imported("deribit", "deribit")
    (pos,) = doc["positions"]
    # raw size 50 (USD) / contract_size 10 USD = 5 contracts; no leverage on the deribit preset
    assert pos["contracts"] == 5.0 and pos["contract_size"] == 10.0 and "leverage" not in pos
    (skip,) = doc["origin"]["skipped"]
    assert skip["symbol"] == "BTC/USD:BTC-241227-60000-C" and skip["reason"].startswith("option")
    assert doc["collateral"] == {"BTC": 0.0}  # summaries BTC balance "0.0" kept as the pool of the position


@pytest.mark.parametrize(
    ("venue", "scenario", "address", "collateral"),
    [
        ("binanceusdm", "binanceusdm-empty", None, {"USDT": 31.022612}),
        ("hyperliquid", "hyperliquid-empty", ADDRESS, {"USDC": 20.454862}),
        ("bybit", "bybit-empty", None, None),
    ],
)
def test_empty_account(venue: str, scenario: str, address: str | None, collateral: dict[str, float] | None) -> None:
    doc, _ = imported(venue, scenario, address)
    assert doc["positions"] == [] and doc["origin"]["exchange_figures"] == {}
    if collateral is not None:
        assert doc["collateral"] == collateral
    ev = evaluate_portfolio(validate(doc))
    assert ev["modes"]["as_is"]["positions"] == []


def test_missing_credentials_and_address_are_invalid_input() -> None:
    with pytest.raises(ExchangeError) as err:
        fetch_account("binanceusdm", None, api_url="http://127.0.0.1:9")
    assert err.value.kind == "invalid_input" and "MARGIN_API_KEY" in err.value.message
    with pytest.raises(ExchangeError) as err:
        fetch_account("hyperliquid", None, api_url="http://127.0.0.1:9")
    assert err.value.kind == "invalid_input" and "--address" in err.value.message
    with pytest.raises(ExchangeError) as err:
        fetch_account("okx", Credentials("k", "s"), api_url="http://127.0.0.1:9")
    assert "MARGIN_API_PASSWORD" in err.value.message
    with pytest.raises(ExchangeError) as err:
        fetch_account("kraken", CREDS)
    assert err.value.kind == "invalid_input" and "binanceusdm" in err.value.message
