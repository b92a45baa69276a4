"""Open stop / take-profit orders imported by ``fetch`` (issue 12 item 5, ``portfolio-format.md`` §7).

Each venue's ``*-orders`` replay scenario serves recorded positions plus open conditional orders (synthesized
from the venues' documented fields, plus Hyperliquid's recorded ccxt fixtures; see
``fixtures/exchange-responses/README.md``) through ccxt's real HTTP and parsing code. The numbers below are
the raw payload values; fills are worked by hand: a long's closing order is a sell, filled at
trigger × (1 − slippage) (§7).

The ``*-orders-recorded`` scenarios serve the RECORDED open-order answers (``<venue>/fetchOpenOrders.json``):
ccxt's OKX algo-order fixture, ccxt's Bybit /v5/order/realtime fixture, the Binance algo-service order quoted in
ccxt's source. None of them is a closing stop or a take-profit (an OKX buy stop-loss on a net-mode account, a
Bybit plain limit order, a Binance STOP buy), so the tests on them check the skip and its reason, and the same
recorded payload with only its side / reduce-only flag changed; the imported stops and take-profits (and every
hedge-leg, whole-position and past-the-mark case) are still covered only by the synthesized answers above.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.adapter import Credentials, fetch_account
from exchange.mapping import _orders, to_portfolio, validate
from exchange.specs import get_spec
from exchange.testkit.scenarios import _binanceusdm, _case, _okx, load_fixture, scenario_routes
from exchange.testkit.server import Fault, ReplayServer, Route
from margin.portfolio import portfolio_from_dict

ROOT = Path(__file__).resolve().parent.parent
CREDS = Credentials("test-key-0001", "test-secret-0001", "test-pass-0001")
ADDRESS = "0x" + "ab" * 20
SLIPPAGE = 0.001
ENTRY = "not reduce-only nor close-position: an entry order (it would open or add to a position)"

# venue -> (scenario, address, expected orders: (id, type, trigger, contracts or None, position_side or None, raw type))
EXPECTED: dict[str, tuple[str, str | None, list[tuple[str, str, float, float | None, str | None, str]]]] = {
    # synthesized algo answer: STOP_MARKET closePosition at 65000 (whole 0.009), TAKE_PROFIT_MARKET 0.004 at 70000
    "binanceusdm": (
        "binanceusdm-orders",
        None,
        [
            ("BTC/USDT:USDT stop 4001", "stop", 65000.0, None, None, "STOP_MARKET"),
            ("BTC/USDT:USDT take_profit 4002", "take_profit", 70000.0, 0.004, None, "TAKE_PROFIT_MARKET"),
        ],
    ),
    # StopOrder 'Stop' (plain conditional: below the 71.1 mark -> stop) 1.2 at 60; tpslOrder TakeProfit qty 0 at 90
    "bybit": (
        "bybit-orders",
        None,
        [
            ("LTC/USDT:USDT stop b-5001", "stop", 60.0, 1.2, None, "Stop"),
            ("LTC/USDT:USDT take_profit b-5003", "take_profit", 90.0, None, None, "TakeProfit"),
        ],
    ),
    # one OCO algo order (slTriggerPx 85000, tpTriggerPx 99000, sz 1) on the hedged BTC-USD-SWAP long
    "okx": (
        "okx-orders",
        None,
        [
            ("BTC/USD:BTC stop 7001", "stop", 85000.0, 1.0, "long", "oco"),
            ("BTC/USD:BTC take_profit 7001", "take_profit", 99000.0, 1.0, "long", "oco"),
        ],
    ),
    # SOL reduce-only Stop Market sz 3.34 at 100; ETH position Take Profit Market (sz 0.0: whole) at 4200
    "hyperliquid": (
        "hyperliquid-orders",
        ADDRESS,
        [
            ("SOL/USDC:USDC stop 9100000001", "stop", 100.0, 3.34, None, "Stop Market"),
            ("ETH/USDC:USDC take_profit 9100000002", "take_profit", 4200.0, None, None, "Take Profit Market"),
        ],
    ),
}

# venue -> (order id skipped as an entry order, order id skipped as past the mark, the mark it is past)
SKIPPED: dict[str, tuple[str, str, str]] = {
    "binanceusdm": ("4003", "4004", "trigger 68000 is already past the mark 67502.7 for a stop on a long"),
    "bybit": ("b-5002", "b-5004", "trigger 75 is already past the mark 71.1 for a stop on a long"),
    "okx": ("7003", "7002", "trigger 110 is already past the mark 101.33 for a stop on a long"),
    "hyperliquid": ("8670685324", "9100000003", "trigger 150 is already past the mark 138.91 for a stop on a long"),
}


def fetch(venue: str, routes: list[Route], fault: Fault | None = None) -> tuple[dict[str, Any], ReplayServer]:
    address = EXPECTED[venue][1]
    with ReplayServer(routes) as server:
        server.fault = fault
        raw = fetch_account(venue, None if address else CREDS, address, server.url, timeout_ms=3000)
    return to_portfolio(raw), server


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MARGIN_API_")}
    base.update(env or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=base, cwd=cwd, timeout=120)


def check_origins_and_summary(doc: dict[str, Any], ids: list[tuple[str, str, float]], venue: str, out: str) -> None:
    """Every imported order's ``origin`` (its venue id is the last word of its id) and its summary line."""
    for o, (oid, *_) in zip(doc["orders"], ids, strict=True):
        assert o["origin"] == {"venue": venue, "order_id": oid.rsplit(" ", 1)[1], "type": o["origin"]["type"]}
    for oid, kind, trigger in ids:  # the summary names each imported order
        assert f"order: {oid}: {kind} at {trigger:g}" in out


def evaluate_with_slippage(doc: dict[str, Any], path: Path, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """``python -m margin evaluate`` (exit 0) of ``doc`` with a slippage of :data:`SLIPPAGE`: its JSON."""
    doc["slippage"] = SLIPPAGE
    path.write_text(json.dumps(doc))
    ev = run(["-m", "margin", "evaluate", str(path), "--format", "json"], cwd, env)
    assert ev.returncode == 0, ev.stderr
    return json.loads(ev.stdout)


@pytest.mark.parametrize("venue", list(EXPECTED))
def test_fetch_imports_orders_and_the_file_evaluates(venue: str, tmp_path: Path) -> None:
    scenario, address, expected = EXPECTED[venue]
    out = tmp_path / "account.json"
    args = ["-m", "exchange", "fetch", venue, "--out", str(out)]
    args += ["--address", address] if address else []
    env = {"MARGIN_API_KEY": CREDS.api_key, "MARGIN_API_SECRET": CREDS.secret, "MARGIN_API_PASSWORD": "test-pass-0001"}
    with ReplayServer(scenario_routes(scenario)) as server:
        proc = run([*args, "--api-url", server.url], tmp_path, None if address else env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    got = [
        (o["id"], o["type"], o["trigger_price"], o.get("contracts"), o.get("position_side"), o["origin"]["type"])
        for o in doc["orders"]
    ]
    assert got == expected
    check_origins_and_summary(doc, [e[:3] for e in expected], venue, proc.stdout)
    # evaluate it (exit 0) with a slippage of 0.1 %: every order closes a long, i.e. a sell at trigger x (1 - 0.001)
    report = evaluate_with_slippage(doc, out, tmp_path)
    fills = {o["id"]: o for p in report["modes"]["as_is"]["positions"] for o in p.get("orders", [])}
    positions = {p["symbol"]: p for p in doc["positions"]}
    for oid, _, trigger, contracts, _, _ in expected:
        assert fills[oid]["fill_price"] == pytest.approx(trigger * (1 - SLIPPAGE), rel=1e-12)
        whole = positions[oid.split(" ")[0]]["contracts"]
        assert fills[oid]["contracts"] == pytest.approx(contracts if contracts is not None else whole, rel=1e-12)


def test_binance_stop_fill_and_realized_pnl_worked() -> None:
    doc, _ = fetch("binanceusdm", scenario_routes("binanceusdm-orders"))
    doc["slippage"] = SLIPPAGE
    from margin.report import evaluate_portfolio

    ev: Any = evaluate_portfolio(validate(doc))
    (pos,) = ev["modes"]["as_is"]["positions"]
    stop = next(o for o in pos["orders"] if o["type"] == "stop")
    # closePosition: the whole 0.009 BTC; fill 65000 x 0.999 = 64935; PnL 0.009 x (64935 - 67445.9) = -22.5981
    assert stop["fill_price"] == pytest.approx(64935.0, rel=1e-12)
    assert stop["realized_pnl"] == pytest.approx(0.009 * (64935.0 - 67445.9), rel=1e-9)
    # liquidation (cross, tier 1 mmr 0.4 %): (25.72964781 - 0.009 x 67445.9) / (0.009 x 0.004 - 0.009) = 64846.44,
    # below the 65000 trigger: the mark falling from 67502.69 reaches the stop first
    assert pos["liquidation_price"] == pytest.approx((25.72964781 - 0.009 * 67445.9) / (0.009 * 0.004 - 0.009))
    assert stop["before_liquidation"] is True


@pytest.mark.parametrize("venue", list(SKIPPED))
def test_entry_and_past_the_mark_orders_are_skipped_with_a_note(venue: str) -> None:
    entry, past, why = SKIPPED[venue]
    doc, _ = fetch(venue, scenario_routes(EXPECTED[venue][0]))
    skipped = {s["order_id"]: s for s in doc["origin"]["orders_skipped"]}
    assert skipped[entry]["reason"] == ENTRY
    assert skipped[past]["reason"] == f"{why} (it would fire at once)"
    imported = {o["origin"]["order_id"] for o in doc["orders"]}
    assert entry not in imported and past not in imported
    validate(doc)  # the import never writes a file the reader refuses


def test_skipped_orders_are_in_the_fetch_summary(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    env = {"MARGIN_API_KEY": CREDS.api_key, "MARGIN_API_SECRET": CREDS.secret}
    with ReplayServer(scenario_routes("binanceusdm-orders")) as server:
        proc = run(
            ["-m", "exchange", "fetch", "binanceusdm", "--api-url", server.url, "--out", str(out)], tmp_path, env
        )
    assert proc.returncode == 0, proc.stderr
    assert f"order not imported: BTC/USDT:USDT STOP 4003: {ENTRY}" in proc.stdout
    assert "order not imported: BTC/USDT:USDT STOP_MARKET 4004: trigger 68000 is already past" in proc.stdout


def test_hyperliquid_recorded_orders_skipped_for_their_reasons() -> None:
    doc, _ = fetch("hyperliquid", scenario_routes("hyperliquid-orders"))
    skipped = {s["order_id"]: s for s in doc["origin"]["orders_skipped"]}
    # recorded 'open orders': a plain SOL limit buy (no isTrigger); recorded 'trigger open order': an ADA Stop Limit
    # buy, reduceOnly false (an entry order, and no ADA position either)
    assert skipped["6928553534"]["reason"] == "a plain order is not a trigger order (not modelled)"
    assert skipped["8670685324"]["type"] == "Stop Limit" and skipped["8670685324"]["reason"] == ENTRY


def _failing(venue: str) -> tuple[list[Route], Fault | None]:
    routes = scenario_routes(EXPECTED[venue][0])
    if venue == "binanceusdm":
        return routes, Fault(403, "<html>403 Forbidden</html>", path_prefix="/fapi/v1/openAlgoOrders")
    bad = {
        "bybit": Route("GET", "/v5/order/realtime", "", status=503),
        "okx": Route("GET", "/api/v5/trade/orders-algo-pending", "", status=503),
        "hyperliquid": Route("POST", "/info", "", status=503, json_match={"type": "frontendOpenOrders"}),
    }[venue]
    return [bad, *routes], None


@pytest.mark.parametrize(
    ("venue", "kind"),
    [
        ("binanceusdm", "permission"),
        ("bybit", "exchange_down"),
        ("okx", "exchange_down"),
        ("hyperliquid", "exchange_down"),
    ],
)
def test_orders_endpoint_failure_leaves_the_import_working(venue: str, kind: str) -> None:
    routes, fault = _failing(venue)
    doc, _ = fetch(venue, routes, fault)
    assert "orders" not in doc and doc["positions"]  # positions, collateral imported; no orders
    notes = [n for n in doc["origin"]["notes"] if "open orders" in n and "not read" in n]
    assert notes and all(f"({kind})" in n and n.endswith("The import has no orders from it.") for n in notes)
    validate(doc)


def test_orders_requests_carry_the_conditional_order_parameter() -> None:
    _, server = fetch("binanceusdm", scenario_routes("binanceusdm-orders"))
    (req,) = [r for r in server.requests if r.path == "/fapi/v1/openAlgoOrders"]  # ccxt's trigger=True endpoint
    assert req.query["symbol"] == "BTCUSDT" and "signature" in req.query
    _, server = fetch("bybit", scenario_routes("bybit-orders"))
    reqs = [r.query for r in server.requests if r.path == "/v5/order/realtime"]
    assert [(q["category"], q["symbol"], q["orderFilter"]) for q in reqs] == [
        ("linear", "LTCUSDT", "StopOrder"),
        ("linear", "LTCUSDT", "tpslOrder"),
    ]
    _, server = fetch("okx", scenario_routes("okx-orders"))
    reqs = [r.query for r in server.requests if r.path == "/api/v5/trade/orders-algo-pending"]
    assert sorted((q["instId"], q["ordType"]) for q in reqs) == [
        ("BTC-USD-SWAP", "conditional,oco"),
        ("BTC-USD-SWAP", "trigger"),
        ("LTC-USDT-SWAP", "conditional,oco"),
        ("LTC-USDT-SWAP", "trigger"),
    ]
    _, server = fetch("hyperliquid", scenario_routes("hyperliquid-orders"))
    bodies = [json.loads(r.body) for r in server.requests if '"frontendOpenOrders"' in r.body]
    assert [b["user"].lower() for b in bodies] == [ADDRESS]


def test_account_without_orders_has_no_order_keys() -> None:
    doc, server = fetch("binanceusdm", scenario_routes("binanceusdm"))
    assert "GET /fapi/v1/openAlgoOrders" in server.paths()
    assert "orders" not in doc and "orders_skipped" not in doc["origin"]


def _long(mark: float) -> list[dict[str, Any]]:
    return [
        {
            "id": "BTC/USDT:USDT long",
            "symbol": "BTC/USDT:USDT",
            "side": "long",
            "contracts": 0.5,
            "entry_price": mark,
            "mark_price": mark,
            "leverage": 5.0,
            "margin_mode": "cross",
        }
    ]


@settings(max_examples=60, deadline=None)
@given(
    mark=st.floats(100, 1e5),
    ratio=st.floats(0.5, 1.5).filter(lambda r: abs(r - 1) > 1e-6),
    raw=st.sampled_from(["Stop", "StopLoss", "TakeProfit"]),
)
def test_property_type_follows_the_mark_and_the_file_is_valid(mark: float, ratio: float, raw: str) -> None:
    trigger = float(f"{mark * ratio:.6g}")
    order = {
        "id": "1",
        "symbol": "BTC/USDT:USDT",
        "side": "sell",
        "amount": 0.2,
        "info": {"stopOrderType": raw, "triggerPrice": str(trigger), "reduceOnly": True, "positionIdx": 0},
    }
    got, skipped, _ = _orders(get_spec("bybit"), [order], _long(mark), hedge=False)
    below = trigger < mark
    if raw == "Stop":  # a plain trigger: the side of the mark decides (below a long's mark: a stop)
        assert [o["type"] for o in got] == ["stop" if below else "take_profit"]
    elif (raw == "StopLoss") == below:
        assert [o["type"] for o in got] == [("stop" if raw == "StopLoss" else "take_profit")]
    else:
        assert got == [] and "already past the mark" in skipped[0]["reason"]
    doc = {
        "format": "margin-portfolio/1",
        "venue": "bybit",
        "collateral": {"USDT": 1e9},
        "positions": _long(mark),
        "orders": got,
    }
    portfolio_from_dict(doc, "property")  # never refused


# ----------------------------------------------------------------------------------- recorded open-order payloads

# venue -> (scenario, fixture, the recorded order's raw fields as ccxt must parse them, its skip reason)
RECORDED: dict[str, tuple[str, str, dict[str, Any], str]] = {
    # ccxt okx.json fetchOpenOrders[0]: "algoId": "2017146754403004416", "instId": "LTC-USDT-SWAP",
    # "ordType": "conditional", "side": "buy", "posSide": "net", "reduceOnly": "false", "sz": "1",
    # "slTriggerPx": "100", "slOrdPx": "-1" (market), "cTime": "1732618057878"
    "okx": (
        "okx-orders-recorded",
        "okx/fetchOpenOrders.json",
        {
            "id": "2017146754403004416",
            "symbol": "LTC/USDT:USDT",
            "side": "buy",
            "amount": 1.0,
            "stopLossPrice": 100.0,
            "takeProfitPrice": None,
            "reduceOnly": False,
            "status": "open",
            "timestamp": 1732618057878,
        },
        ENTRY,  # a buy, not reduce-only, on no hedge leg: it would add to the LTC long
    ),
    # ccxt bybit.json fetchOpenOrder[0]: "orderId": "3606515b-...", "symbol": "BTCUSDT", "orderType": "Limit",
    # "side": "Buy", "price": "102000", "qty": "0.001", "stopOrderType": "", "triggerPrice": "", "reduceOnly": false
    "bybit": (
        "bybit-orders-recorded",
        "bybit/fetchOpenOrders.json",
        {
            "id": "3606515b-e4d7-4ea4-b096-bb247d0661ae",
            "symbol": "BTC/USDT:USDT",
            "type": "limit",
            "side": "buy",
            "price": 102000.0,
            "amount": 0.001,
            "triggerPrice": None,
            "reduceOnly": False,
            "status": "open",
            "timestamp": 1758189775648,
        },
        "stopOrderType empty is not a stop or take-profit (not modelled)",
    ),
    # ccxt binance.py parse_order comment: "algoId": 3358, "orderType": "STOP", "symbol": "BTCUSDT", "side": "BUY",
    # "quantity": "0.002", "triggerPrice": "100000.00", "price": "102000.00", "reduceOnly": false,
    # "closePosition": false, "createTime": 1763458576201
    "binanceusdm": (
        "binanceusdm-orders-recorded",
        "binance/fetchOpenOrders.json",
        {
            "id": "3358",
            "symbol": "BTC/USDT:USDT",
            "side": "buy",
            "price": 102000.0,
            "triggerPrice": 100000.0,
            "amount": 0.002,
            "reduceOnly": False,
            "timestamp": 1763458576201,
        },
        ENTRY,  # a STOP buy, not reduce-only nor closePosition: an entry order for the BTCUSDT long
    ),
}


def _raw(venue: str, routes: list[Route]) -> Any:
    with ReplayServer(routes) as server:
        return fetch_account(venue, CREDS, None, server.url, timeout_ms=3000)


@pytest.mark.parametrize("venue", list(RECORDED))
def test_recorded_open_order_parses_through_ccxt_to_its_raw_fields(venue: str) -> None:
    scenario, fixture, fields, _ = RECORDED[venue]
    raw = _raw(venue, scenario_routes(scenario))
    (order,) = raw.orders  # one recorded order, read once (the other queries answer none)
    assert {k: order.get(k) for k in fields} == fields
    # and, where the recording has one (OKX a list, Bybit one order; Binance's source quotes none), ccxt's own
    # parsedResponse of the same payload, field by field
    expected = load_fixture(fixture)["cases"][0].get("expected", [])
    for exp in expected if isinstance(expected, list) else [expected]:
        assert {k: order.get(k) for k in exp} == exp


@pytest.mark.parametrize("venue", list(RECORDED))
def test_recorded_open_order_is_skipped_with_its_reason(venue: str) -> None:
    scenario, _, fields, reason = RECORDED[venue]
    doc = to_portfolio(_raw(venue, scenario_routes(scenario)))
    assert "orders" not in doc and doc["positions"]  # the positions are imported, the order is not
    (skip,) = doc["origin"]["orders_skipped"]
    assert (skip["order_id"], skip["symbol"], skip["reason"]) == (fields["id"], fields["symbol"], reason)
    validate(doc)


def test_recorded_orders_skips_are_in_the_fetch_summary(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    env = {"MARGIN_API_KEY": CREDS.api_key, "MARGIN_API_SECRET": CREDS.secret, "MARGIN_API_PASSWORD": "test-pass-0001"}
    with ReplayServer(scenario_routes("okx-orders-recorded")) as server:
        proc = run(["-m", "exchange", "fetch", "okx", "--api-url", server.url, "--out", str(out)], tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert f"order not imported: LTC/USDT:USDT conditional 2017146754403004416: {ENTRY}" in proc.stdout
    assert "orders" not in json.loads(out.read_text())


def _okx_recorded(**change: str) -> list[Route]:
    """The ``okx-orders-recorded`` routes with the recorded algo order's raw fields ``change``d."""
    algo = copy.deepcopy(_case("okx/fetchOpenOrders.json", 0))
    algo["data"][0].update(change)
    linear, inverse = _case("okx/fetchPosition.json", 0), _case("okx/fetchPosition.json", 1)
    return _okx({"code": "0", "msg": "", "data": [linear["data"][0], inverse["data"][0]]}, recorded_algo=algo)


def test_recorded_okx_order_as_a_closing_sell_is_a_stop_worked() -> None:
    # the recorded payload with only "side": "sell" and "reduceOnly": "true": a reduce-only stop-loss at
    # slTriggerPx 100 for 1 contract (sz "1") on the hedged LTC-USDT-SWAP long (pos 2 at avgPx 82.675, mark 101.33)
    doc = to_portfolio(_raw("okx", _okx_recorded(side="sell", reduceOnly="true")))
    assert "orders_skipped" not in doc["origin"]
    (order,) = doc["orders"]
    assert order == {
        "id": "LTC/USDT:USDT stop 2017146754403004416",
        "symbol": "LTC/USDT:USDT",
        "type": "stop",  # slTriggerPx -> a stop; 100 < 101.33: below the long's mark
        "trigger_price": 100.0,
        "contracts": 1.0,  # 1 <= 2
        "position_side": "long",
        "origin": {"venue": "okx", "order_id": "2017146754403004416", "type": "conditional"},
    }
    doc["slippage"] = SLIPPAGE
    from margin.report import evaluate_portfolio

    ev: Any = evaluate_portfolio(validate(doc))
    ltc = next(p for p in ev["modes"]["as_is"]["positions"] if p["symbol"] == "LTC/USDT:USDT")
    (fill,) = ltc["orders"]
    assert fill["fill_price"] == pytest.approx(100 * (1 - 0.001), rel=1e-12)  # a sell: 99.9
    # contract size 1 LTC: PnL 1 x 1 x (99.9 - 82.675) = 17.225
    assert fill["realized_pnl"] == pytest.approx(1 * 1 * (99.9 - 82.675), rel=1e-9)
    # the long's liquidation price lies below 100, so the mark falling from 101.33 reaches the stop first
    assert ltc["liquidation_price"] < 100
    assert fill["before_liquidation"] is True


def test_recorded_okx_order_as_a_sell_without_reduce_only_is_still_an_entry() -> None:
    # posSide "net" names no hedge leg, so only reduceOnly makes a sell close the hedged long
    doc = to_portfolio(_raw("okx", _okx_recorded(side="sell")))
    assert "orders" not in doc
    assert [s["reason"] for s in doc["origin"]["orders_skipped"]] == [ENTRY]


def test_recorded_binance_order_as_a_closing_sell_is_past_the_mark() -> None:
    # the recorded algo order with only "side": "SELL" and "reduceOnly": true: a STOP sell at triggerPrice
    # 100000 on the recorded BTCUSDT long whose mark is 67502.68519858 - above it, so it would fire at once
    algo = copy.deepcopy(_case("binance/fetchOpenOrders.json", 0))
    algo[0].update(side="SELL", reduceOnly=True)
    routes = _binanceusdm(_case("binance/fetchPositions.json", 0), _case("binance/fetchPositions.json", 2), algo)
    doc = to_portfolio(_raw("binanceusdm", routes))
    assert "orders" not in doc
    (skip,) = doc["origin"]["orders_skipped"]
    assert skip["reason"] == (
        f"trigger {100000:g} is already past the mark {67502.68519858:g} for a stop on a long (it would fire at once)"
    )
