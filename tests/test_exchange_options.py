"""Deribit options imported by ``fetch`` (issue 11 item 6, ``portfolio-format.md`` §6.1) and reconciled with
Deribit's own account figures.

The replay server on 127.0.0.1 serves ``fixtures/exchange-responses/synthesized/deribit_options.json`` (synthesized
from Deribit's documented response shapes: no recorded Deribit option payload exists; the file's ``source`` says
how) through ccxt 4.5.90's real HTTP and parsing code: ``public/get_instruments``, ``private/get_positions``,
``private/get_account_summaries`` and one ``public/ticker`` per live option (ccxt ``fetch_greeks``). The book is
§6.5's worked example: as_of 2026-11-20T08:00:00Z, BTC index 97,000; BTC-PERPETUAL long 30,000 USD at 95,000
(mark 97,100); short 2 BTC-25DEC26-100000-C (average_price 0.035 BTC, mark_iv 52); long 2 BTC-25DEC26-90000-P
(0.02 BTC, mark_iv 58); the options' underlying_price 97,000. The fetch time is the portfolio's ``as_of``.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exchange.adapter import Credentials, PublicData, RawAccount, fetch_account
from exchange.cli import main as fetch_main
from exchange.mapping import apply_public, to_portfolio
from exchange.reconcile import reconcile, render_rows
from exchange.specs import deribit_option_marks, get_spec
from exchange.testkit.scenarios import load_fixture
from exchange.testkit.server import ReplayServer, Route

CREDS = Credentials("test-key-0001", "test-secret-0001")
AS_OF = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
CALL, PUT = "BTC/USD:BTC-261225-100000-C", "BTC/USD:BTC-261225-90000-P"
USDC_PUT = "BTC/USDC:USDC-261225-90000-P"
TICKER = "/api/v2/public/ticker"
SYNTH = "synthesized/deribit_options.json"


def routes(
    positions: str = "get_positions", summaries: str = "segregated_sm", extra: Sequence[Route] = ()
) -> list[Route]:
    s = load_fixture(SYNTH)
    return [
        *extra,
        Route("GET", "/api/v2/public/get_instruments", s["get_instruments"]),
        Route("GET", "/api/v2/private/get_positions", s[positions]),
        Route("GET", "/api/v2/private/get_account_summaries", s["get_account_summaries"][summaries]),
        Route(
            "GET",
            "/api/v2/private/get_open_orders_by_instrument",
            load_fixture("synthesized/deribit_open_orders.json")["empty"],
        ),
        *(Route("GET", TICKER, t, query={"instrument_name": n}) for n, t in s["tickers"].items()),
    ]


def imported(rs: list[Route], now: datetime = AS_OF) -> tuple[dict[str, Any], ReplayServer]:
    with ReplayServer(rs) as server:
        raw = fetch_account("deribit", CREDS, None, server.url, now=now, timeout_ms=3000)
    assert server.unmatched == []
    return to_portfolio(raw), server


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in doc["positions"]}


def test_deribit_options_imported_with_iv_underlying_as_of_and_index() -> None:
    doc, server = imported(routes())
    # one public ticker per live option (ccxt fetch_greeks -> public/ticker?instrument_name=...)
    assert sorted(r.query["instrument_name"] for r in server.requests if r.path == TICKER) == [
        "BTC-25DEC26-100000-C",
        "BTC-25DEC26-90000-P",
    ]
    pos = by_id(doc)
    # instrument BTC-25DEC26-100000-C: base BTC, counter USD, settlement BTC, expiry 2026-12-25 -> ccxt's unified
    # BTC/USD:BTC-261225-100000-C; raw size -2.0 (BTC, a sell) / contract_size 1 = 2 contracts, short;
    # average_price 0.035 BTC per BTC; ticker mark_iv 52 -> 52 / 100 = 0.52; underlying_price 97000
    assert pos[f"{CALL} short"] == {
        "id": f"{CALL} short",
        "symbol": CALL,
        "side": "short",
        "contracts": 2.0,
        "contract_size": 1.0,
        "entry_price": 0.035,
        "iv": 0.52,
        "underlying_price": 97000.0,
    }
    # the put: size +2.0 BTC (a buy), average_price 0.02, mark_iv 58 -> 0.58
    put = pos[f"{PUT} long"]
    assert (put["side"], put["contracts"], put["entry_price"], put["iv"]) == ("long", 2.0, 0.02, 0.58)
    # options are cross-only (§6.1): no margin mode, no leverage, no mark price in ``prices``
    for p in (pos[f"{CALL} short"], put):
        assert not {"margin_mode", "leverage", "mark_price", "isolated_margin"} & set(p)
    assert doc["prices"] == {"BTC/USD:BTC": 97100.0}
    # the perpetual as before: 30,000 USD / 10 USD = 3,000 contracts
    assert pos["BTC/USD:BTC long"]["contracts"] == 3000.0
    # as_of: the fetch time; index: the tickers' index_price
    assert doc["as_of"] == "2026-11-20T08:00:00Z" and doc["index_prices"] == {"BTC": 97000.0}
    origin = doc["origin"]
    assert origin["as_of_source"].startswith("the fetch time (fetched_at)")
    assert origin["index_prices_source"] == {"BTC": f"Deribit ticker index_price of {CALL}"}
    f = origin["fields"][f"{CALL} short"]
    assert f["iv"] == "ccxt fetch_greeks markImpliedVolatility (Deribit ticker mark_iv, percent): 52 / 100"
    assert f["underlying_price"] == "Deribit ticker underlying_price (forward of BTC-25DEC26)"
    assert f["contracts"].startswith("position size (in BTC) / market contractSize")
    assert "negative" in f["contracts"]
    fig = origin["exchange_figures"][f"{CALL} short"]
    # the exchange's own option figures, as Deribit reported them (synthesized: IM 0.3401, MM 0.2519 BTC)
    assert (fig["kind"], fig["initialMargin"], fig["maintenanceMargin"]) == ("option", 0.3401, 0.2519)
    assert fig["ticker_time"] == "2026-11-20T08:00:00.000Z" and fig["mark_iv"] == 0.52
    # Deribit's account summary per currency: IM, MM and the margin model in use
    btc = origin["exchange_account"]["BTC"]
    assert (btc["initial_margin"], btc["maintenance_margin"], btc["margin_model"]) == (0.3463, 0.255, "segregated_sm")
    assert btc["portfolio_margining_enabled"] is False and btc["balance"] == 0.3
    assert doc["collateral"]["BTC"] == 0.3
    assert origin["skipped"] == []


def test_expired_no_iv_and_usdc_settled_options() -> None:
    doc, server = imported(routes("get_positions_extra"))
    # no ticker for the option expired at the fetch time
    assert "BTC-20NOV26-95000-C" not in [r.query.get("instrument_name") for r in server.requests]
    skipped = {s["symbol"]: s["reason"] for s in doc["origin"]["skipped"]}
    assert skipped == {
        "BTC/USD:BTC-261120-95000-C": (
            "option: expired at 2026-11-20T08:00:00Z, at or before the fetch time 2026-11-20T08:00:00Z (format §6.2)"
        ),
        "BTC/USD:BTC-261127-80000-P": "option: no mark IV in the ticker (Deribit ticker mark_iv (percent): none / 100)",
    }
    # the USDC-settled linear option: BTC_USDC-25DEC26-90000-P -> BTC/USDC:USDC-261225-90000-P; size -0.5 BTC;
    # average_price 2,500 USDC per BTC; mark_iv 55 -> 0.55
    usdc = by_id(doc)[f"{USDC_PUT} short"]
    assert (usdc["contracts"], usdc["entry_price"], usdc["iv"]) == (0.5, 2500.0, 0.55)
    assert doc["origin"]["fields"][f"{USDC_PUT} short"]["entry_price"].endswith("in USDC)")


def test_a_failed_ticker_skips_that_option_only() -> None:
    bad = Route("GET", TICKER, "", status=503, query={"instrument_name": "BTC-25DEC26-90000-P"})
    doc, _ = imported(routes(extra=[bad]))
    assert f"{CALL} short" in by_id(doc)
    (skip,) = doc["origin"]["skipped"]
    assert skip["symbol"] == PUT
    assert skip["reason"].startswith(
        f"option: no mark IV (ticker not read (exchange_down): deribit (reading the ticker of {PUT})"
    )


def test_option_marks_parser_on_the_ticker_ccxt_quotes() -> None:
    # ccxt 4.5.90 deribit.py fetch_greeks quotes Deribit's ticker of BTC-27SEP24-40000-C: mark_iv 61.27,
    # underlying_index BTC-27SEP24, underlying_price 38992.71, index_price 36552.72, timestamp 1699578548021
    info = {
        "mark_iv": 61.27,
        "underlying_index": "BTC-27SEP24",
        "underlying_price": 38992.71,
        "index_price": 36552.72,
        "timestamp": 1699578548021,
    }
    greeks = {"markImpliedVolatility": 61.27, "underlyingPrice": 38992.71, "timestamp": 1699578548021, "info": info}
    m = deribit_option_marks(greeks)
    # 61.27 % -> 0.6127; 1699578548021 ms = 2023-11-10T01:09:08.021Z
    assert m.iv == pytest.approx(0.6127, rel=1e-12)
    assert (m.underlying_price, m.index_price, m.timestamp) == (38992.71, 36552.72, "2023-11-10T01:09:08.021Z")
    assert deribit_option_marks({"info": {"mark_iv": None}}).iv is None
    assert deribit_option_marks({"info": {"mark_iv": 0}}).iv is None


def _raw(venue: str, positions: list[dict[str, Any]], markets: dict[str, Any], balance: dict[str, Any]) -> RawAccount:
    return RawAccount(venue, "2026-11-20T08:00:00Z", "4.5.90", None, markets, positions, balance)


def test_venues_without_options_skip_them_and_unloaded_option_markets_are_named() -> None:
    # Binance USDⓈ-M imports no option (its spec has no option reader): the skip line says so
    usdt = {"info": {"assets": [{"asset": "USDT", "walletBalance": "100"}]}}
    opt: dict[str, Any] = {"symbol": "BTC/USDT:USDT-261225-100000-C", "side": "short", "contracts": 1.0}
    doc = to_portfolio(_raw("binanceusdm", [opt], {opt["symbol"]: {"option": True, "settle": "USDT"}}, usdt))
    (skip,) = doc["origin"]["skipped"]
    assert skip["reason"] == get_spec("binanceusdm").option_skip
    assert skip["reason"].startswith("option: not imported on Binance")
    # OKX imports options now (tests/test_exchange_options_okx_bybit.py); an option whose market was not loaded
    # (the raw instType says it is an option) is skipped, naming why
    okx_balance = {"info": {"data": [{"details": [{"ccy": "USDT", "cashBal": "100"}]}]}}
    raw_id = {"symbol": "BTC-USD-261225-100000-C", "side": "long", "contracts": 1.0, "info": {"instType": "OPTION"}}
    doc = to_portfolio(_raw("okx", [raw_id], {}, okx_balance))
    (skip,) = doc["origin"]["skipped"]
    assert skip["reason"].startswith("option: its market BTC-USD-261225-100000-C is not among the option markets")


def test_refreshed_option_premium_is_not_a_mark() -> None:
    doc, _ = imported(routes())
    public = PublicData("deribit", "2026-11-20T09:00:00Z", marks={"BTC/USD:BTC": 97500.0, CALL: 0.0509})
    out = apply_public(doc, public)
    # the perpetual's mark is refreshed; the option's ticker mark (its premium, 0.0509 BTC) is not a §1 price
    assert out["prices"] == {"BTC/USD:BTC": 97500.0}
    assert out["origin"]["public"]["not_refreshed"][f"mark {CALL}"].startswith("an option's mark is its premium")


def test_fetch_summary_shows_the_account_lines(tmp_path: Path) -> None:
    env = {"MARGIN_API_KEY": CREDS.api_key, "MARGIN_API_SECRET": CREDS.secret}
    out = tmp_path / "p.json"
    with ReplayServer(routes()) as server:
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = fetch_main(["fetch", "deribit", "--api-url", server.url, "--out", str(out)], env)
    text = buf.getvalue()
    assert code == 0, text
    # the fetch time is the real clock here (no --now): the options are imported before their expiry
    # (2026-12-25T08:00Z) and skipped as expired after it; the account lines (the BTC pool holds the perpetual
    # whatever the clock) compare Deribit's summary IM 0.3463 / MM 0.255 BTC with ours
    lines = [line for line in text.splitlines() if line.startswith("account BTC")]
    assert [line.split()[2:4] for line in lines] == [["initial_margin", "0.3463"], ["maintenance_margin", "0.255"]]


# --------------------------------------------------------------------------- engine-level (needs the §6 reader)


def evaluated(doc: dict[str, Any]) -> dict[str, Any]:
    from margin.portfolio import portfolio_from_dict, resolve
    from margin.report import evaluate_portfolio

    return evaluate_portfolio(resolve(portfolio_from_dict(copy.deepcopy(doc), "deribit import")))


def test_standard_margin_account_line_against_our_as_is_pool() -> None:
    doc, _ = imported(routes("get_positions_options_only", "segregated_sm_options_only"))
    rows = {(r["id"], r["metric"]): r for r in reconcile(doc, evaluated(doc))}
    # §6.3, short call, per unit of underlying with S = F = 97,000, K = 100,000: OTM = max(0, K - S) = 3,000;
    # mark = Black-76 at iv 0.52, T = 35/365: 4,933.2363 USD (§6.5);
    # IM = max(0.15 x 97,000 - 3,000, 0.10 x 97,000) + mark = max(11,550, 9,700) + 4,933.2363 = 16,483.2363 USD;
    # x 2 contracts / 97,000 = 0.3398605 BTC. MM = (0.075 x 97,000 + 4,933.2363) x 2 / 97,000 = 0.2517162 BTC.
    # The long put needs none: the BTC pool's IM and MM are the call's.
    im = (max(0.15 * 97000 - 3000, 0.10 * 97000) + 4933.2363) * 2 / 97000
    mm = (0.075 * 97000 + 4933.2363) * 2 / 97000
    assert im == pytest.approx(0.3398605, abs=1e-7) and mm == pytest.approx(0.2517162, abs=1e-7)
    acc_im, acc_mm = rows[("account BTC", "initial_margin")], rows[("account BTC", "maintenance_margin")]
    # Deribit's summary (synthesized): IM 0.3401, MM 0.2519 BTC, margin_model segregated_sm
    assert acc_im["exchange"] == 0.3401 and acc_im["ours"] == pytest.approx(im, abs=1e-7)
    assert acc_im["difference"] == pytest.approx(im - 0.3401, abs=1e-7)  # -0.0002395
    assert acc_mm["exchange"] == 0.2519 and acc_mm["ours"] == pytest.approx(mm, abs=1e-7)
    assert acc_im["cause"].startswith("standard margin (segregated_sm): ours is our as_is cross pool of BTC")
    # the option's own rows: the short call against the same §6.3 figures; the long put 0 = 0
    call_im = rows[(f"{CALL} short", "initial_margin")]
    assert call_im["exchange"] == 0.3401 and call_im["ours"] == pytest.approx(im, abs=1e-7)
    assert rows[(f"{PUT} long", "initial_margin")]["cause"] == "agrees"
    assert render_rows(list(rows.values())).count("\n") == len(rows) + 1


def test_portfolio_margin_account_line_against_our_portfolio_view() -> None:
    doc, _ = imported(routes("get_positions", "cross_pm"))
    assert doc["origin"]["exchange_account"]["BTC"]["margin_model"] == "cross_pm"
    rows = {(r["id"], r["metric"]): r for r in reconcile(doc, evaluated(doc))}
    # §6.5: the portfolio view's initial margin 19,365.84 USD, maintenance 0.8 x that = 15,492.68 USD; converted
    # at index_prices.BTC 97,000: 19,365.84 / 97,000 = 0.1996478 BTC, 15,492.68 / 97,000 = 0.1597183 BTC
    acc_im, acc_mm = rows[("account BTC", "initial_margin")], rows[("account BTC", "maintenance_margin")]
    assert acc_im["exchange"] == 0.2021 and acc_im["ours"] == pytest.approx(19365.84 / 97000, rel=1e-6)
    assert acc_mm["exchange"] == 0.1617 and acc_mm["ours"] == pytest.approx(15492.68 / 97000, rel=1e-6)
    assert acc_im["cause"].startswith("portfolio margin (cross_pm): ours is the portfolio view's pool")
    assert "index_prices.BTC 97000" in acc_im["cause"] and "not Deribit's engine" in acc_im["cause"]
    # one portfolio pool for the whole account: not repeated against the USDC and SOL summaries' 0
    assert [k for k in rows if k[0].startswith("account")] == [
        ("account BTC", "initial_margin"),
        ("account BTC", "maintenance_margin"),
    ]
    # the futures' own figures are portfolio-margin figures now: the cause says so
    assert rows[("BTC/USD:BTC long", "maintenance_margin")]["cause"].startswith("portfolio margin")
