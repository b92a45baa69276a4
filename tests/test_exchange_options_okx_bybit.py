"""OKX and Bybit options imported by ``fetch`` (issue 11 item 6, ``portfolio-format.md`` §6.1), evaluated and
reconciled with the venues' own position figures.

The replay server on 127.0.0.1 serves ``fixtures/exchange-responses/synthesized/bybit_options.json`` and
``okx_options.json`` (synthesized from the venues' documented response shapes: no option payload of either venue is
recorded; each file's ``source`` says how) through ccxt 4.5.90's real HTTP and parsing code. Both books are §6.5's
option pair at as_of 2026-11-20T08:00:00Z with the BTC index and forward at 97,000: short 2 BTC of the 25 Dec 2026
100,000 call (iv 0.52) and long 2 BTC of the 90,000 put (iv 0.58).

- Bybit (USDC-settled, one BTC per contract): GET /v5/market/instruments-info?category=option per baseCoin,
  /v5/position/list?category=option, one /v5/market/tickers?category=option&symbol=... per live option (ccxt
  ``fetch_greeks``: ``markIv`` is a fraction).
- OKX (coin-margined, ctVal 1 x ctMult 0.01 BTC per contract): GET /api/v5/public/instruments?instType=OPTION per
  underlying, /api/v5/account/positions (every type), one /api/v5/public/opt-summary?uly&instFamily&expTime per live
  option (ccxt ``fetch_greeks``: ``markVol`` a fraction, ``fwdPx`` the forward); the index is the position's
  ``idxPx``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from exchange.adapter import Credentials, fetch_account
from exchange.mapping import to_portfolio
from exchange.reconcile import reconcile
from exchange.specs import bybit_option_marks, okx_option_contract_size, okx_option_marks
from exchange.testkit.scenarios import _bybit, _empty, _okx, load_fixture, scenario_routes
from exchange.testkit.server import ReplayServer, Route

CREDS = Credentials("test-key-0001", "test-secret-0001", "test-pass-0001")
AS_OF = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
BY_CALL, BY_PUT = "BTC/USD:USDC-261225-100000-C", "BTC/USD:USDC-261225-90000-P"
OKX_CALL, OKX_PUT = "BTC/USD:BTC-261225-100000-C", "BTC/USD:BTC-261225-90000-P"
TICKERS, SUMMARY = "/v5/market/tickers", "/api/v5/public/opt-summary"
# §6.5 (an independent evaluation): Black-76 at F = 97,000, T = 35/365 (2026-11-20T08:00Z to 2026-12-25T08:00Z):
# the 100,000 call at iv 0.52 is worth 4,933.2363 USD per BTC, the 90,000 put at iv 0.58 3,762.0631 USD per BTC
CALL_USD, PUT_USD = 4933.2363, 3762.0631
# §6.3, short call per unit of underlying with S = F = 97,000, K = 100,000: OTM = max(0, K - S) = 3,000;
# IM = max(0.15 x 97,000 - 3,000, 0.10 x 97,000) + mark = max(11,550, 9,700) + 4,933.2363 = 16,483.2363 USD;
# MM = 0.075 x 97,000 + mark = 7,275 + 4,933.2363 = 12,208.2363 USD; the long put needs none
CALL_IM_USD = max(0.15 * 97000 - 3000, 0.10 * 97000) + CALL_USD
CALL_MM_USD = 0.075 * 97000 + CALL_USD


def imported(venue: str, routes: list[Route]) -> tuple[dict[str, Any], ReplayServer]:
    with ReplayServer(routes) as server:
        raw = fetch_account(venue, CREDS, None, server.url, now=AS_OF, timeout_ms=3000)
    assert server.unmatched == []
    return to_portfolio(raw), server


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in doc["positions"]}


def evaluated(doc: dict[str, Any]) -> dict[str, Any]:
    from margin.portfolio import portfolio_from_dict, resolve
    from margin.report import evaluate_portfolio

    return evaluate_portfolio(resolve(portfolio_from_dict(copy.deepcopy(doc), "import")))


def as_is(ev: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    view = ev["modes"]["as_is"]
    return {p["id"]: p for p in view["positions"]}, view["pools"]


# --------------------------------------------------------------------------- Bybit


def test_bybit_options_imported_through_ccxt() -> None:
    doc, server = imported("bybit", scenario_routes("bybit-options"))
    # ccxt 4.5.90 loads the option markets per baseCoin of its default list, reads the option positions with
    # category=option and one option ticker per live option
    bases = [
        r.query.get("baseCoin") for r in server.requests if r.query.get("category") == "option" and "info" in r.path
    ]
    assert bases == ["BTC", "ETH", "SOL", "XRP", "MNT", "DOGE"]
    assert [r.query for r in server.requests if r.path == "/v5/position/list" and r.query["category"] == "option"] == [
        {"category": "option", "limit": "200"}
    ]
    assert sorted(r.query["symbol"] for r in server.requests if r.path == TICKERS) == [
        "BTC-25DEC26-100000-C",
        "BTC-25DEC26-90000-P",
    ]
    pos = by_id(doc)
    # instrument BTC-25DEC26-100000-C: baseCoin BTC, quoteCoin USD, settleCoin USDC, deliveryTime 1798185600000
    # (2026-12-25T08:00Z) -> ccxt's BTC/USD:USDC-261225-100000-C; side Sell -> short; size "2" (BTC) with ccxt
    # contractSize 1 -> 2 contracts; avgPrice "3395" USDC per BTC; ticker markIv "0.52" (a fraction) -> 0.52,
    # underlyingPrice "97000"
    assert pos[f"{BY_CALL} short"] == {
        "id": f"{BY_CALL} short",
        "symbol": BY_CALL,
        "side": "short",
        "contracts": 2.0,
        "contract_size": 1.0,
        "entry_price": 3395.0,
        "iv": 0.52,
        "underlying_price": 97000.0,
    }
    put = pos[f"{BY_PUT} long"]  # Buy 2 at 1,940, markIv "0.58"
    assert (put["side"], put["contracts"], put["entry_price"], put["iv"]) == ("long", 2.0, 1940.0, 0.58)
    assert doc["venue"] == "bybit" and doc["collateral"] == {"USDC": 50000.0}  # the USDC walletBalance
    assert doc["as_of"] == "2026-11-20T08:00:00Z" and doc["index_prices"] == {"BTC": 97000.0}  # ticker indexPrice
    origin = doc["origin"]
    assert origin["index_prices_source"] == {"BTC": f"Bybit ticker indexPrice of {BY_CALL}"}
    f = origin["fields"][f"{BY_CALL} short"]
    assert f["iv"] == "ccxt fetch_greeks markImpliedVolatility (Bybit ticker markIv, a fraction): 0.52"
    assert f["entry_price"].endswith("in USDC)") and f["contract_size"] == "market contractSize (load_markets)"
    fig = origin["exchange_figures"][f"{BY_CALL} short"]
    # the position's own positionIM / positionMM (synthesized, illustrative) through ccxt initialMargin / maintenance
    assert (fig["kind"], fig["initialMargin"], fig["maintenanceMargin"]) == ("option", 32980.0, 24420.0)
    assert fig["ticker_time"] == "2026-11-20T08:00:00.000Z" and fig["markPrice"] == 4933.2363
    assert origin["skipped"] == [] and "account_margin_mode" not in fig  # REGULAR_MARGIN account


def test_bybit_option_evaluated_and_reconciled_after_import() -> None:
    doc, _ = imported("bybit", scenario_routes("bybit-options"))
    ev = evaluated(doc)
    positions, pools = as_is(ev)
    (pool,) = [p for p in pools if p["settle"] == "USDC"]
    assert pool["mode"] == "cross" and pool["position"] is None
    # a USDC-settled option's margin is in USDC (no division by S, §6.3): short call x 2 contracts x 1 BTC
    im, mm = CALL_IM_USD * 2, CALL_MM_USD * 2  # 32,966.4726 and 24,416.4726 USDC
    assert im == pytest.approx(32966.4726, abs=1e-9) and mm == pytest.approx(24416.4726, abs=1e-9)
    call = positions[f"{BY_CALL} short"]
    assert call["kind"] == "option"
    assert call["initial_margin"] == pytest.approx(im, rel=1e-7)
    assert call["maintenance_margin"] == pytest.approx(mm, rel=1e-7)
    assert positions[f"{BY_PUT} long"]["maintenance_margin"] == 0.0
    # the pool holds only the options: its maintenance is the call's; its equity the wallet plus the options'
    # value (§6.2, premium style): 50,000 - 2 x 4,933.2363 + 2 x 3,762.0631 = 47,657.6536 USDC
    assert pool["maintenance_margin"] == pytest.approx(mm, rel=1e-7)
    assert pool["equity"] == pytest.approx(50000 - 2 * CALL_USD + 2 * PUT_USD, rel=1e-7)
    rows = {(r["id"], r["metric"]): r for r in reconcile(doc, ev)}
    row = rows[(f"{BY_CALL} short", "initial_margin")]
    # exchange positionIM 32,980 vs ours 32,966.4726: ours - exchange = -13.5274
    assert row["exchange"] == 32980.0 and row["difference"] == pytest.approx(im - 32980.0, abs=1e-3)
    assert row["cause"].startswith("option margin rule: ours is format §6.3")
    assert "Bybit's own option margin formula is not modelled" in row["cause"]
    assert rows[(f"{BY_CALL} short", "maintenance_margin")]["exchange"] == 24420.0
    assert rows[(f"{BY_PUT} long", "initial_margin")]["cause"] == "agrees"  # 0 and 0


def test_bybit_skips_expired_no_iv_and_unloaded_options() -> None:
    doc, server = imported("bybit", _bybit(_empty("bybit_linear"), options="positions_extra"))
    asked = sorted(r.query["symbol"] for r in server.requests if r.path == TICKERS)
    # no ticker for the expired option nor for the one whose market ccxt did not load
    assert asked == ["BTC-25DEC26-100000-C", "BTC-25DEC26-90000-P", "BTC-27NOV26-80000-P"]
    skipped = {s["symbol"]: s["reason"] for s in doc["origin"]["skipped"]}
    assert skipped == {
        # deliveryTime 1795161600000 = 2026-11-20T08:00:00Z, the fetch time
        "BTC/USD:USDC-261120-95000-C": (
            "option: expired at 2026-11-20T08:00:00Z, at or before the fetch time 2026-11-20T08:00:00Z (format §6.2)"
        ),
        # ticker markIv "0"
        "BTC/USD:USDC-261127-80000-P": (
            "option: no mark IV in the ticker (ccxt fetch_greeks markImpliedVolatility (Bybit ticker markIv, a "
            "fraction): 0)"
        ),
        # BNB is not among ccxt's default option bases: ccxt makes a placeholder market from the id (an "expired
        # option", USDC assumed) that the import does not trust
        "BNB/USDC:USDC-261225-900-C": (
            "option: its market BNB/USDC:USDC-261225-900-C is not among the option markets ccxt 4.5.90 loaded for "
            "Bybit (the default underlyings only), so its strike, expiry and contract size are unknown"
        ),
    }
    assert set(by_id(doc)) == {f"{BY_CALL} short", f"{BY_PUT} long"}


def test_bybit_failed_ticker_skips_that_option_only() -> None:
    bad = Route("GET", TICKERS, "", status=503, query={"category": "option", "symbol": "BTC-25DEC26-90000-P"})
    doc, _ = imported("bybit", [bad, *scenario_routes("bybit-options")])
    assert set(by_id(doc)) == {f"{BY_CALL} short"}
    (skip,) = doc["origin"]["skipped"]
    assert skip["symbol"] == BY_PUT
    assert skip["reason"].startswith("option: no mark IV (ticker not read (exchange_down): bybit (reading the ticker")


def test_bybit_portfolio_margin_option_figures_say_so() -> None:
    modes = load_fixture("synthesized/bybit_account_modes.json")
    doc, _ = imported("bybit", _bybit(_empty("bybit_linear"), modes["portfolio"], options="positions"))
    fig = doc["origin"]["exchange_figures"][f"{BY_CALL} short"]
    assert fig["account_margin_mode"] == "portfolio"
    assert any(n.startswith("Bybit margins this account by portfolio") for n in doc["origin"]["notes"])
    rows = {(r["id"], r["metric"]): r for r in reconcile(doc, evaluated(doc))}
    assert rows[(f"{BY_CALL} short", "initial_margin")]["cause"].startswith(
        "portfolio margin: Bybit margins this currency by portfolio"
    )


def test_bybit_option_marks_on_the_ticker_ccxt_quotes() -> None:
    # ccxt 4.5.90 bybit.py fetch_greeks quotes the ticker of BTC-26JAN24-39000-C: markIv "0.5577", underlyingPrice
    # "37649.67254894", indexPrice "36790.96", answer time 1699584008326 (ccxt's timestamp)
    info = {"markIv": "0.5577", "underlyingPrice": "37649.67254894", "indexPrice": "36790.96"}
    greeks = {"markImpliedVolatility": 0.5577, "underlyingPrice": 37649.67254894, "timestamp": 1699584008326}
    m = bybit_option_marks({**greeks, "info": info})
    # a fraction: iv 0.5577 as is (Deribit's mark_iv is percent and divided by 100; Bybit's is not)
    assert m.iv == 0.5577 and (m.underlying_price, m.index_price) == (37649.67254894, 36790.96)
    assert m.timestamp == "2023-11-10T02:40:08.326Z"  # 1699584008.326 s after the epoch
    assert bybit_option_marks({"info": {"markIv": ""}}).iv is None


# --------------------------------------------------------------------------- OKX


def test_okx_options_imported_through_ccxt() -> None:
    doc, server = imported("okx", scenario_routes("okx-options"))
    # ccxt 4.5.90: option markets per underlying of options.defaultUnderlying (BTC-USD, ETH-USD)
    ulys = [r.query.get("uly") for r in server.requests if r.query.get("instType") == "OPTION"]
    assert ulys == ["BTC-USD", "ETH-USD"]
    # fetch_greeks: one opt-summary per live option with the market's uly, instFamily and the id's expiry (261225)
    summaries = [r.query for r in server.requests if r.path == SUMMARY]
    assert summaries == [{"uly": "BTC-USD", "instFamily": "BTC-USD", "expTime": "261225"}] * 2
    pos = by_id(doc)
    # instId BTC-USD-261225-100000-C, uly BTC-USD, settleCcy BTC -> BTC/USD:BTC-261225-100000-C; pos "-200" (net
    # mode) -> short 200 contracts; ctVal 1 x ctMult 0.01 = 0.01 BTC per contract (200 x 0.01 = 2 BTC); avgPx 0.035
    # BTC per BTC; opt-summary markVol "0.52" (a fraction) -> 0.52, fwdPx "97000"
    assert pos[f"{OKX_CALL} short"] == {
        "id": f"{OKX_CALL} short",
        "symbol": OKX_CALL,
        "side": "short",
        "contracts": 200.0,
        "contract_size": 0.01,
        "entry_price": 0.035,
        "iv": 0.52,
        "underlying_price": 97000.0,
    }
    put = pos[f"{OKX_PUT} long"]  # pos "200", avgPx 0.02, markVol "0.58"
    assert (put["side"], put["contracts"], put["contract_size"], put["iv"]) == ("long", 200.0, 0.01, 0.58)
    assert doc["venue"] == "okx" and doc["collateral"] == {"BTC": 0.3}
    # opt-summary has no index: the position's idxPx 97,000
    assert doc["as_of"] == "2026-11-20T08:00:00Z" and doc["index_prices"] == {"BTC": 97000.0}
    origin = doc["origin"]
    assert origin["index_prices_source"] == {"BTC": f"OKX position idxPx of {OKX_CALL}"}
    f = origin["fields"][f"{OKX_CALL} short"]
    assert f["contract_size"] == "OKX instrument ctVal 1 x ctMult 0.01 (in BTC)"
    assert f["iv"] == "ccxt fetch_greeks markImpliedVolatility (OKX opt-summary markVol, a fraction): 0.52"
    assert f["underlying_price"] == "OKX opt-summary fwdPx (forward of the option's expiry)"
    fig = origin["exchange_figures"][f"{OKX_CALL} short"]
    # the position's imr / mmr (cross; synthesized, illustrative) through ccxt initialMargin / maintenanceMargin
    assert (fig["initialMargin"], fig["maintenanceMargin"], fig["index_price"]) == (0.3401, 0.2519, 97000.0)
    assert origin["skipped"] == []


def test_okx_option_evaluated_and_reconciled_after_import() -> None:
    doc, _ = imported("okx", scenario_routes("okx-options"))
    ev = evaluated(doc)
    positions, pools = as_is(ev)
    (pool,) = [p for p in pools if p["settle"] == "BTC"]
    # coin-settled: ÷ S; 200 contracts x 0.01 BTC = 2 units: IM = 16,483.2363 x 2 / 97,000 = 0.3398605 BTC,
    # MM = 12,208.2363 x 2 / 97,000 = 0.2517162 BTC (§6.5's short call)
    im, mm = CALL_IM_USD * 2 / 97000, CALL_MM_USD * 2 / 97000
    assert im == pytest.approx(0.3398605, abs=1e-7) and mm == pytest.approx(0.2517162, abs=1e-7)
    call = positions[f"{OKX_CALL} short"]
    assert call["initial_margin"] == pytest.approx(im, rel=1e-7)
    assert call["maintenance_margin"] == pytest.approx(mm, rel=1e-7)
    assert pool["maintenance_margin"] == pytest.approx(mm, rel=1e-7) and pool["position"] is None
    # equity 0.3 - 2 x 4,933.2363 / 97,000 + 2 x 3,762.0631 / 97,000 = 0.3 - 0.1017162 + 0.0775683 = 0.2758521 BTC
    assert pool["equity"] == pytest.approx(0.3 - 2 * CALL_USD / 97000 + 2 * PUT_USD / 97000, rel=1e-7)
    rows = {(r["id"], r["metric"]): r for r in reconcile(doc, ev)}
    row = rows[(f"{OKX_CALL} short", "maintenance_margin")]
    assert row["exchange"] == 0.2519 and row["difference"] == pytest.approx(mm - 0.2519, abs=1e-9)  # -0.0001838
    # markPx 0.050858 BTC vs ours 4,933.2363 / 97,000 = 0.0508581: within 0.1 %, so not the cause
    assert "OKX's own option margin formula is not modelled" in row["cause"]
    assert rows[(f"{OKX_PUT} long", "maintenance_margin")]["cause"] == "agrees"


def test_okx_skips_expired_no_iv_and_unloaded_options() -> None:
    positions = load_fixture("synthesized/okx_options.json")["positions_extra"]
    doc, server = imported("okx", _okx(positions, options=True))
    asked = sorted(r.query["expTime"] for r in server.requests if r.path == SUMMARY)
    assert asked == ["261127", "261225", "261225"]  # not the expired 261120 nor the SOL option
    skipped = {s["symbol"]: s["reason"] for s in doc["origin"]["skipped"]}
    assert skipped == {
        # expTime 1795161600000 = 2026-11-20T08:00:00Z
        "BTC/USD:BTC-261120-95000-C": (
            "option: expired at 2026-11-20T08:00:00Z, at or before the fetch time 2026-11-20T08:00:00Z (format §6.2)"
        ),
        "BTC/USD:BTC-261127-80000-P": (
            "option: no mark IV in the ticker (ccxt fetch_greeks markImpliedVolatility (OKX opt-summary markVol, a "
            "fraction): 0)"
        ),
        # SOL-USD is not among ccxt's default underlyings: ccxt makes a placeholder market (contractSize 1, not the
        # instrument's) that the import does not trust
        "SOL/USD:SOL-261225-200-C": (
            "option: its market SOL/USD:SOL-261225-200-C is not among the option markets ccxt 4.5.90 loaded for OKX "
            "(the default underlyings only), so its strike, expiry and contract size are unknown"
        ),
    }


def test_okx_option_marks_and_contract_size_on_what_ccxt_quotes() -> None:
    # ccxt 4.5.90 okx.py fetch_greeks quotes the opt-summary entry of BTC-USD-240329-32000-C: markVol
    # "0.5916253554539876", fwdPx "37675.80158694987186", ts "1699586421976"; ccxt's underlyingPrice is None
    info = {"markVol": "0.5916253554539876", "fwdPx": "37675.80158694987186", "ts": "1699586421976"}
    greeks = {"markImpliedVolatility": 0.5916253554539876, "underlyingPrice": None, "timestamp": 1699586421976}
    m = okx_option_marks({**greeks, "info": info})
    assert m.iv == 0.5916253554539876 and m.underlying_price == pytest.approx(37675.80158694987, rel=1e-15)
    assert m.index_price is None and m.timestamp == "2023-11-10T03:20:21.976Z"
    # ccxt's quoted OKX option instrument: ctVal "1", ctMult "0.1", ctValCcy BTC -> 0.1 BTC per contract
    assert okx_option_contract_size({"ctVal": "1", "ctMult": "0.1", "ctValCcy": "BTC"}) == (
        0.1,
        "OKX instrument ctVal 1 x ctMult 0.1 (in BTC)",
    )
    assert okx_option_contract_size({"ctVal": "1", "ctMult": ""}) is None
