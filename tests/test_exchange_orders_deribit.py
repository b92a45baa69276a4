"""Deribit's open trigger orders imported by ``fetch`` (issue 12 item 5, ``portfolio-format.md`` §7).

The ``deribit-orders`` replay scenario serves the recorded BTC-PERPETUAL long (docs example: size 50 USD = 5
contracts of 10 USD, entry 7440.18, mark 7476.65) with the synthesized answer of
``private/get_open_orders_by_instrument`` (``type=trigger_all``;
``fixtures/exchange-responses/synthesized/deribit_open_orders.json``) through ccxt 4.5.90's real HTTP and parsing
code, and the recorded account summaries with a BTC wallet of 0.01 (recorded 0.0). Deribit states order amounts
like position sizes, in USD on perpetuals and inverse futures: contracts = amount / 10 USD. A long's closing order
is a sell, filled at trigger × (1 − slippage) (§7); on an inverse contract the realised PnL is in coin:
contracts × contract size × (1/entry − 1/fill) (``margin-models.md`` §0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.adapter import Credentials, RawAccount, fetch_account
from exchange.mapping import _orders, to_portfolio, validate
from exchange.specs import deribit_orders, get_spec
from exchange.testkit.scenarios import load_fixture, scenario_routes
from exchange.testkit.server import ReplayServer, Route
from margin.portfolio import portfolio_from_dict
from margin.report import evaluate_portfolio
from tests.test_exchange_orders import check_origins_and_summary, evaluate_with_slippage

CREDS = Credentials("test-key-0001", "test-secret-0001")
ENV = {"MARGIN_API_KEY": CREDS.api_key, "MARGIN_API_SECRET": CREDS.secret}
SLIPPAGE = 0.001
ENTRY = "not reduce-only nor close-position: an entry order (it would open or add to a position)"
SYMBOL = "BTC/USD:BTC"
ENTRY_PRICE, MARK, CS = 7440.18, 7476.65, 10.0  # recorded position; BTC-PERPETUAL contract_size 10 USD
ORDERS_PATH = "/api/v2/private/get_open_orders_by_instrument"

# (id, type, trigger, contracts, raw order_type): amounts 30, 50, 20 USD / 10 USD per contract
EXPECTED = [
    (f"{SYMBOL} stop BTC-1001", "stop", 7000.0, 30 / CS, "stop_market"),
    (f"{SYMBOL} take_profit BTC-1002", "take_profit", 8000.0, 50 / CS, "take_market"),
    (f"{SYMBOL} stop BTC-1003", "stop", 6900.0, 20 / CS, "stop_limit"),
]


def raw_account(routes: list[Route]) -> tuple[RawAccount, ReplayServer]:
    with ReplayServer(routes) as server:
        raw = fetch_account("deribit", CREDS, None, server.url, timeout_ms=3000)
    return raw, server


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARGIN_API_")}
    env.update(ENV)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_deribit_fetch_imports_stop_and_take_profit_and_the_file_evaluates(tmp_path: Path) -> None:
    out = tmp_path / "account.json"
    with ReplayServer(scenario_routes("deribit-orders")) as server:
        proc = run(["-m", "exchange", "fetch", "deribit", "--api-url", server.url, "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    got = [(o["id"], o["type"], o["trigger_price"], o["contracts"], o["origin"]["type"]) for o in doc["orders"]]
    assert got == EXPECTED
    assert all("position_side" not in o for o in doc["orders"])  # Deribit is one-way
    check_origins_and_summary(doc, [e[:3] for e in EXPECTED], "deribit", proc.stdout)
    (pos,) = evaluate_with_slippage(doc, out, tmp_path, ENV)["modes"]["as_is"]["positions"]
    fills = {o["id"]: o for o in pos["orders"]}
    # sells closing the long: 7000 x 0.999 = 6993, 8000 x 0.999 = 7992, 6900 x 0.999 = 6893.1
    for oid, fill in zip([e[0] for e in EXPECTED], [6993.0, 7992.0, 6893.1], strict=True):
        assert fills[oid]["fill_price"] == pytest.approx(fill, rel=1e-12)
    # inverse PnL in BTC: stop 3 x 10 x (1/7440.18 - 1/6993) = -0.000257844; take-profit 5 x 10 x
    # (1/7440.18 - 1/7992) = +0.000464011
    stop, tp = fills[EXPECTED[0][0]], fills[EXPECTED[1][0]]
    assert stop["contracts"] == 3.0 and tp["contracts"] == 5.0
    assert stop["realized_pnl"] == pytest.approx(30 * (1 / 7440.18 - 1 / 6993), rel=1e-9)
    assert stop["realized_pnl"] == pytest.approx(-0.000257844, abs=1e-9)
    assert tp["realized_pnl"] == pytest.approx(50 * (1 / 7440.18 - 1 / 7992), rel=1e-9)
    assert tp["realized_pnl"] == pytest.approx(0.000464011, abs=1e-9)


def test_deribit_stop_reaches_before_liquidation_worked() -> None:
    raw, _ = raw_account(scenario_routes("deribit-orders"))
    doc = to_portfolio(raw)
    assert doc["collateral"]["BTC"] == 0.01  # the scenario's BTC wallet (recorded 0.0: already liquidated)
    doc["slippage"] = SLIPPAGE
    ev: Any = evaluate_portfolio(validate(doc))
    (pos,) = ev["modes"]["as_is"]["positions"]
    # inverse long, wallet W = 0.01 BTC, 50 USD, n = 50 / P BTC; MM rate 1 % + n x 0.005 % (margin-models.md
    # §5.1): W + 50/7440.18 - n = n (0.01 + 0.00005 n), i.e. 0.00005 n^2 + 1.01 n - c = 0, c = 0.0167202
    c = 0.01 + 50 / ENTRY_PRICE
    n = (-1.01 + (1.01**2 + 4 * 0.00005 * c) ** 0.5) / (2 * 0.00005)
    assert pos["mmr"] == pytest.approx(0.01 + 0.00005 * 50 / MARK, rel=1e-9)  # at the mark: n = 50 / 7476.65
    assert pos["liquidation_price"] == pytest.approx(50 / n, rel=1e-9)
    assert pos["liquidation_price"] == pytest.approx(3020.29, abs=0.01)  # 50 x 1.01 / 0.0167202 = 3020.3
    # every stop (7000, 6900) lies above 3020.3: the mark falling from 7476.65 reaches it first
    assert all(o["before_liquidation"] is True for o in pos["orders"])


def test_deribit_usd_amounts_become_contracts_with_a_note() -> None:
    raw, _ = raw_account(scenario_routes("deribit-orders"))
    amounts = {o["id"]: o["info"]["amount"] for o in raw.orders}
    assert (amounts["BTC-1001"], amounts["BTC-1002"], amounts["BTC-1003"]) == (30, 50, 20)  # raw USD
    doc = to_portfolio(raw)
    (pos,) = doc["positions"]
    assert pos["contracts"] * pos["contract_size"] == 50  # the position: 5 x 10 USD, as recorded
    notes = doc["origin"]["notes"]
    for oid, _, _, contracts, _ in EXPECTED:
        usd = amounts[oid.rsplit(" ", 1)[1]]
        note = f"{oid}: amount {usd:g} USD / contract size 10 USD = {contracts:g} contracts"
        assert any(n.startswith(note) for n in notes), note
    # the stop-limit is a market fill at its trigger, said so
    assert any("BTC-1003: limit-triggered (stop_limit, limit 6880)" in n for n in notes)


def test_deribit_entry_past_the_mark_and_trailing_orders_are_skipped_with_reasons() -> None:
    raw, _ = raw_account(scenario_routes("deribit-orders"))
    doc = to_portfolio(raw)
    skipped = {s["order_id"]: s for s in doc["origin"]["orders_skipped"]}
    assert set(skipped) == {"BTC-1004", "BTC-1005", "BTC-1006"}
    # a stop_market buy at 7600, reduce_only false: it would add to the long
    assert (skipped["BTC-1004"]["type"], skipped["BTC-1004"]["reason"]) == ("stop_market", ENTRY)
    # a stop on a long at 7500 > mark 7476.65 would fire at once
    assert skipped["BTC-1005"]["reason"] == (
        "trigger 7500 is already past the mark 7476.65 for a stop on a long (it would fire at once)"
    )
    assert skipped["BTC-1006"]["reason"] == "order_type trailing_stop is not a stop or take-profit (not modelled)"
    validate(doc)  # the import never writes a file the reader refuses


def test_deribit_skipped_orders_are_in_the_fetch_summary(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    with ReplayServer(scenario_routes("deribit-orders")) as server:
        proc = run(["-m", "exchange", "fetch", "deribit", "--api-url", server.url, "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"order not imported: {SYMBOL} stop_market BTC-1004: {ENTRY}" in proc.stdout


def test_deribit_orders_request_carries_the_trigger_order_parameter() -> None:
    _, server = raw_account(scenario_routes("deribit-orders"))
    reqs = [r.query for r in server.requests if r.path == ORDERS_PATH]
    assert reqs == [{"instrument_name": "BTC-PERPETUAL", "type": "trigger_all"}]
    assert server.unmatched == []
    # the account with an option: one query for the perpetual only (the option is imported with its mark IV (format §6))
    _, server = raw_account(scenario_routes("deribit"))
    assert [r.query for r in server.requests if r.path == ORDERS_PATH] == [
        {"instrument_name": "BTC-PERPETUAL", "type": "trigger_all"}
    ]


def test_ccxt_reads_the_trigger_from_stop_price_so_the_import_reads_trigger_price() -> None:
    raw, _ = raw_account(scenario_routes("deribit-orders"))
    order = next(o for o in raw.orders if o["id"] == "BTC-1001")
    # ccxt 4.5.90 parse_order: type from parse_order_type (stop_market -> market), triggerPrice from stop_price
    # (absent in the documented answer), amount the raw USD amount
    assert (order["symbol"], order["side"], order["type"], order["amount"]) == (SYMBOL, "sell", "market", 30.0)
    assert order["triggerPrice"] is None and order["info"]["trigger_price"] == 7000.0
    (facts,) = deribit_orders(order)
    assert (facts.kind, facts.trigger, facts.contracts, facts.closes) == ("stop", 7000.0, 30.0, True)


def test_deribit_orders_endpoint_failure_leaves_the_import_working() -> None:
    bad = Route("GET", ORDERS_PATH, "", status=503)
    raw, _ = raw_account([bad, *scenario_routes("deribit-orders")])
    doc = to_portfolio(raw)
    assert "orders" not in doc and doc["positions"]
    (note,) = [n for n in doc["origin"]["notes"] if "open orders" in n]
    assert note.startswith(f"open orders of {SYMBOL} (type=trigger_all) not read (exchange_down)")
    assert note.endswith("The import has no orders from it.")
    validate(doc)


def test_deribit_account_without_orders_has_no_order_keys() -> None:
    raw, server = raw_account(scenario_routes("deribit"))
    doc = to_portfolio(raw)
    assert f"GET {ORDERS_PATH}" in server.paths()
    assert "orders" not in doc and "orders_skipped" not in doc["origin"]
    assert not any("open orders" in n for n in doc["origin"]["notes"])


def _order(order_type: str, trigger: float, amount: float, reduce_only: bool = True, **info: Any) -> dict[str, Any]:
    """A ccxt-parsed Deribit order (the fields the parser reads) on the BTC-PERPETUAL long."""
    raw = {"order_type": order_type, "trigger_price": trigger, "amount": amount, "reduce_only": reduce_only, **info}
    return {"id": "BTC-9", "symbol": SYMBOL, "side": "sell", "amount": amount, "info": raw}


def _long(contracts: float = 5.0) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{SYMBOL} long",
            "symbol": SYMBOL,
            "side": "long",
            "contracts": contracts,
            "contract_size": CS,
            "entry_price": ENTRY_PRICE,
            "mark_price": MARK,
            "margin_mode": "cross",
        }
    ]


def test_take_limit_is_a_take_profit_and_an_older_stop_price_answer_is_read() -> None:
    (tp,) = deribit_orders(_order("take_limit", 8100.0, 10, price=8090.0))
    assert (tp.kind, tp.trigger, tp.limit, tp.raw_type) == ("take_profit", 8100.0, 8090.0, "take_limit")
    # an answer with only the older stop_price: ccxt's triggerPrice carries it
    old = _order("stop_market", 0, 10)
    del old["info"]["trigger_price"]
    old["triggerPrice"] = 7100.0
    (stop,) = deribit_orders(old)
    assert (stop.kind, stop.trigger, stop.limit) == ("stop", 7100.0, None)
    (plain,) = deribit_orders(_order("limit", 0, 10, price=7000.0))
    assert plain.unsupported == "order_type limit is not a stop or take-profit"


def test_amount_more_than_the_position_is_imported_for_the_whole_position() -> None:
    # 80 USD / 10 = 8 contracts > the 5 held: a reduce-only order closes at most the position
    got, _, notes = _orders(get_spec("deribit"), [_order("stop_market", 7000, 80)], _long(), False, frozenset({SYMBOL}))
    (rec,) = got
    assert "contracts" not in rec
    assert any("8 contracts, more than the position's 5" in n for n in notes)


def test_amounts_are_not_divided_on_symbols_whose_sizes_are_not_usd() -> None:
    # a symbol the mapping did not convert (a linear contract: amount in coin, like its position size)
    got, _, notes = _orders(get_spec("deribit"), [_order("stop_market", 7000, 2)], _long(), False)
    assert got[0]["contracts"] == 2 and not any("USD / contract size" in n for n in notes)


@settings(max_examples=60, deadline=None)
@given(
    usd=st.integers(1, 5).map(lambda k: 10.0 * k),
    ratio=st.floats(0.5, 1.5).filter(lambda r: abs(r - 1) > 1e-6),
    raw=st.sampled_from(["stop_market", "stop_limit", "take_market", "take_limit"]),
)
def test_property_usd_amount_over_contract_size_and_the_file_is_valid(usd: float, ratio: float, raw: str) -> None:
    trigger = float(f"{MARK * ratio:.6g}")
    order = _order(raw, trigger, usd, price=trigger)
    got, skipped, _ = _orders(get_spec("deribit"), [order], _long(), False, frozenset({SYMBOL}))
    kind = "stop" if raw.startswith("stop") else "take_profit"
    if (kind == "stop") == (trigger < MARK):  # a stop below a long's mark, a take-profit above it
        (rec,) = got
        assert rec["type"] == kind and rec["contracts"] == pytest.approx(usd / CS, rel=1e-12)
    else:
        assert got == [] and "already past the mark" in skipped[0]["reason"]
    doc = {
        "format": "margin-portfolio/1",
        "venue": "deribit",
        "collateral": {"BTC": 1.0},
        "positions": _long(),
        "orders": got,
    }
    portfolio_from_dict(doc, "property")  # never refused


def test_fixture_says_what_it_is_made_of() -> None:
    synth = load_fixture("synthesized/deribit_open_orders.json")
    assert synth["source"].startswith("SYNTHESIZED, not recorded data")
    assert "docs.deribit.com/#private-get_open_orders_by_currency" in synth["source"]
    types = [o["order_type"] for o in synth["get_open_orders_by_instrument"]["result"]]
    assert types == ["stop_market", "take_market", "stop_limit", "stop_market", "stop_market", "trailing_stop"]
