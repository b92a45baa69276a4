"""Account import per venue: recorded payloads replayed through ccxt's real HTTP, signing and parsing code.

Each test starts the local replay server on 127.0.0.1 with one scenario of ``exchange.testkit.scenarios`` (recorded
responses from ``fixtures/exchange-responses/``), points ccxt at it with ``api_url`` and checks the mapped
portfolio against the raw payload numbers (written out below), then that it is valid and evaluates.
No test reaches the internet: every request goes to the replay server, which answers 404 to anything not
recorded, and each test asserts that nothing went unanswered.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from exchange.adapter import Credentials, ExchangeError, fetch_account
from exchange.mapping import MappingError, to_portfolio, validate
from exchange.testkit.scenarios import load_fixture, scenario_routes
from exchange.testkit.server import ReplayServer, Route
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
    # again (fetch_leverage_tiers), symbolConfig for the leverage the v3 positionRisk omits, and the open
    # conditional orders (algo service)
    assert server.paths() == [
        "GET /fapi/v1/exchangeInfo",
        "GET /fapi/v1/leverageBracket",
        "GET /fapi/v3/positionRisk",
        "GET /fapi/v3/account",
        "GET /fapi/v1/leverageBracket",
        "GET /fapi/v1/symbolConfig",
        "GET /fapi/v1/openAlgoOrders",  # open conditional orders (issue 12): none in this scenario
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


def test_bybit_regular_margin_account_mode_is_read_not_assumed() -> None:
    doc, server = imported("bybit", "bybit")
    # ccxt 4.5.90: fetch_balance reads /v5/account/info to tell a unified account (is_unified_enabled); the import
    # then asks fetch_margin_mode, which calls the same endpoint again (privateGetV5AccountInfo)
    paths = server.paths()
    assert paths.count("GET /v5/account/info") == 2
    assert paths.index("GET /v5/account/wallet-balance") < len(paths) - 1 - paths[::-1].index("GET /v5/account/info")
    # the Bybit docs example of GET /v5/account/info: marginMode REGULAR_MARGIN, unifiedMarginStatus 4 (UTA 1.0 pro)
    assert doc["origin"]["account_margin_mode"]["mode"] == "cross"
    assert doc["origin"]["account_margin_mode"]["raw"]["marginMode"] == "REGULAR_MARGIN"
    assert doc["origin"]["fields"]["LTC/USDT:USDT long"]["margin_mode"] == (
        "Bybit position tradeMode '0' not used: Bybit account marginMode 'REGULAR_MARGIN' "
        "(GET /v5/account/info, unifiedMarginStatus 4)"
    )
    assert doc["positions"][0]["margin_mode"] == "cross" and "isolated_margin" not in doc["positions"][0]


def test_bybit_unified_isolated_account_takes_position_balance() -> None:
    doc, server = imported("bybit", "bybit-isolated")
    assert server.paths().count("GET /v5/account/info") == 2
    (pos,) = doc["positions"]
    # raw: tradeMode "0" (deprecated on a UTA), account marginMode ISOLATED_MARGIN; size "1", avgPrice "20000",
    # leverage "50", positionBalance "400" (Bybit's worked example, synthesized/bybit_position_isolated.json)
    assert pos == {
        "id": "BTC/USDT:USDT long",
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "contracts": 1.0,
        "contract_size": 1.0,
        "entry_price": 20000.0,
        "mark_price": 20000.0,
        "margin_mode": "isolated",
        "leverage": 50.0,
        "isolated_margin": 400.0,
    }
    fields = doc["origin"]["fields"]["BTC/USDT:USDT long"]
    assert fields["margin_mode"] == (
        "Bybit position tradeMode '0' not used: Bybit account marginMode 'ISOLATED_MARGIN' "
        "(GET /v5/account/info, unifiedMarginStatus 4)"
    )
    assert fields["isolated_margin"] == "Bybit positionBalance"
    assert doc["origin"]["account_margin_mode"] == {
        "mode": "isolated",
        "raw": load_fixture("synthesized/bybit_account_modes.json")["isolated"]["result"],
    }
    # shipped Bybit BTCUSDT tier 1 (mmr 0.5 %, deduction 0); isolated, MM at the entry value (margin-models §3.2):
    # LP = EP - (IM - Q*EP*mmr)/Q = 20000 - (400 - 100)/1 = 19700, Bybit's published figure for this example
    assert doc["origin"]["tiers_source"]["BTC/USDT:USDT"].startswith("shipped defaults")
    ev = as_is(doc)["BTC/USDT:USDT long"]
    assert ev["liquidation_price"] == pytest.approx(20000 - (400 - 20000 * 0.005), rel=1e-12)
    assert ev["maintenance_margin"] == pytest.approx(100.0, rel=1e-12) and ev["initial_margin"] == 400.0


def test_bybit_isolated_without_position_balance_falls_back_to_initial_margin() -> None:
    # positionBalance is deprecated on UTA and may come "": the position's initial margin (positionIM) is used
    body = copy.deepcopy(load_fixture("synthesized/bybit_position_isolated.json")["httpResponse"])
    body["result"]["list"][0]["positionBalance"] = ""
    route = Route("GET", "/v5/position/list", body, query={"category": "linear", "settleCoin": "USDT"})
    with ReplayServer([route, *scenario_routes("bybit-isolated")]) as server:
        raw = fetch_account("bybit", CREDS, None, server.url, now=NOW, timeout_ms=3000)
    doc = to_portfolio(raw)
    (pos,) = doc["positions"]
    assert pos["margin_mode"] == "isolated" and pos["isolated_margin"] == 400.0  # raw positionIM "400"
    assert doc["origin"]["fields"]["BTC/USDT:USDT long"]["isolated_margin"] == "position initialMargin"


def test_bybit_portfolio_margin_imported_as_cross_with_a_note() -> None:
    doc, _ = imported("bybit", "bybit-portfolio")
    (pos,) = doc["positions"]
    assert pos["margin_mode"] == "cross" and "isolated_margin" not in pos
    origin = doc["origin"]
    assert origin["account_margin_mode"]["mode"] == "portfolio"
    assert origin["account_margin_mode"]["raw"]["marginMode"] == "PORTFOLIO_MARGIN"
    assert origin["account_margin_mode"]["imported_as"] == "cross"
    assert origin["account_margin_mode"]["positions"] == ["LTC/USDT:USDT long"]
    assert origin["fields"]["LTC/USDT:USDT long"]["margin_mode"].endswith(
        "imported as cross (the venue margins the account by portfolio)"
    )
    assert any(n.startswith("Bybit margins this account by portfolio") for n in origin["notes"])
    assert origin["exchange_figures"]["LTC/USDT:USDT long"]["account_margin_mode"] == "portfolio"
    assert as_is(doc)["LTC/USDT:USDT long"]["liquidation_price"] is None  # cross view, 92k USD of collateral


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


def test_deribit_inverse_size_in_usd_and_option_without_mark_iv_skipped() -> None:
    doc, _ = imported("deribit", "deribit")
    (pos,) = doc["positions"]
    # raw size 50 (USD) / contract_size 10 USD = 5 contracts; no leverage on the deribit preset
    assert pos["contracts"] == 5.0 and pos["contract_size"] == 10.0 and "leverage" not in pos
    # the option's ticker gives mark_iv null: without its implied volatility it cannot be priced (format §6.1 iv)
    (skip,) = doc["origin"]["skipped"]
    assert skip["symbol"] == "BTC/USD:BTC-241227-60000-C" and "iv" in skip["reason"].lower()
    # the recorded summaries' wallet balances (balance "0.0" BTC, "42.217" USDC, "0.42569894" SOL). Until issue 9
    # this read {"BTC": 0.0}: the parser looked for result.summaries[] but ccxt's balance ``info`` is the JSON-RPC
    # ``result`` itself ({"summaries": [...]}), so no collateral was found and only the position's settle asset
    # was kept at 0. BTC stays 0.0: it is the recorded BTC balance (the pool of the BTC-PERPETUAL position)
    assert doc["collateral"] == {"USDC": 42.217, "SOL": 0.42569894, "BTC": 0.0}
    assert doc["origin"]["collateral_source"] == "Deribit account summaries[].balance"


def test_deribit_contracts_times_contract_size_is_the_usd_size() -> None:
    doc, _ = imported("deribit", "deribit-eth")
    raw = {
        p["instrument_name"]: p
        for p in load_fixture("synthesized/deribit_eth_perpetual.json")["get_positions"]["result"]
    }
    instruments = load_fixture("synthesized/deribit_eth_perpetual.json")["get_instruments"]["result"]
    sizes = {i["instrument_name"]: i["contract_size"] for i in instruments}
    # contract sizes come from get_instruments (ccxt market contractSize): BTC-PERPETUAL 10 USD (recorded), ETH 1 USD
    assert sizes == {"BTC-PERPETUAL": 10.0, "ETH-PERPETUAL": 1.0}
    pos = by_id(doc)
    btc, eth = pos["BTC/USD:BTC long"], pos["ETH/USD:ETH short"]
    # ccxt puts the USD size in ``contracts`` (ccxt issue #13313): BTC size 50 USD -> 5 contracts of 10 USD;
    # ETH size -120 USD (a sell) -> 120 contracts of 1 USD, short
    assert (btc["contracts"], btc["contract_size"]) == (5.0, 10.0)
    assert (eth["contracts"], eth["contract_size"], eth["side"]) == (120.0, 1.0, "short")
    assert btc["contracts"] * btc["contract_size"] == raw["BTC-PERPETUAL"]["size"]
    assert eth["contracts"] * eth["contract_size"] == abs(raw["ETH-PERPETUAL"]["size"])
    assert "negative" in doc["origin"]["fields"]["ETH/USD:ETH short"]["contracts"]
    # no leverage on the deribit preset: none imported nor invented (the recorded 34 is a note, not a setting)
    assert all("leverage" not in p for p in doc["positions"])
    assert all("leverage" not in f for f in doc["origin"]["fields"].values())
    assert any("leverage 34 is not imported" in n for n in doc["origin"]["notes"])
    ev = as_is(doc)
    # inverse notional in coin at the mark: 120 x 1 / 2450 ETH (= |size_currency| 0.04897959); initial margin from
    # the shipped tier's imr: N x (2 % + N x 0.0004 %), no leverage involved
    n = 120 / 2450
    assert ev["ETH/USD:ETH short"]["notional"] == pytest.approx(n, rel=1e-12)
    assert ev["ETH/USD:ETH short"]["initial_margin"] == pytest.approx(n * (0.02 + n * 0.000004), rel=1e-9)


def _deribit_with_summaries(summaries: Any) -> list[Route]:
    body = {"jsonrpc": "2.0", "result": {"summaries": summaries}}
    return [Route("GET", "/api/v2/private/get_account_summaries", body), *scenario_routes("deribit")]


def test_deribit_collateral_is_the_wallet_balance_not_equity() -> None:
    # an account whose equity (unrealised PnL included) differs from its wallet balance: the balance is imported
    summaries = [
        {"currency": "BTC", "balance": "0.5", "equity": "0.52", "margin_balance": "0.52", "available_funds": "0.4"}
    ]
    with ReplayServer(_deribit_with_summaries(summaries)) as server:
        raw = fetch_account("deribit", CREDS, None, server.url, now=NOW, timeout_ms=3000)
    assert raw.balance["total"]["BTC"] == 0.52  # ccxt's total is Deribit's equity
    doc = to_portfolio(raw)
    assert doc["collateral"] == {"BTC": 0.5}


def test_deribit_balance_without_wallet_balances_is_refused() -> None:
    with ReplayServer(_deribit_with_summaries([])) as server:
        raw = fetch_account("deribit", CREDS, None, server.url, now=NOW, timeout_ms=3000)
    with pytest.raises(MappingError) as err:
        to_portfolio(raw)
    assert "no wallet balance per currency" in str(err.value) and "equity" in str(err.value)


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
