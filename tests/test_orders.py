"""Stop-loss and take-profit orders (``portfolio-format.md`` §7, issue 12): reading, validation, the JSON
round trip and what ``evaluate`` reports per position.

Every expected number is worked by hand in the comments (``margin-models.md`` §0: linear PnL
``s·Q·(P − EP)``, inverse ``s·Q·(1/EP − 1/P)``, maintenance ``N × mmr`` with one tier and no amount).
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from margin.errors import PortfolioError
from margin.files import dump_portfolio_json, parse_portfolio_json, portfolio_from_csv
from margin.portfolio import Order, portfolio_from_dict, resolve
from margin.report import evaluate_portfolio
from margin.shocks import parse_shock
from tests.conftest import ROOT
from tests.examples import assert_messages, one_tier, section_7_example, single_order_book

REPO = Path(__file__).resolve().parent.parent
ETH = "ETH/USDT:USDT"
BTC = "BTC/USDT:USDT"
BTC_INV = "BTC/USD:BTC"
VIEWS = ("as_is", "cross", "isolated")


def worked_example(**extra: Any) -> dict[str, Any]:
    """§7's worked example (:func:`tests.examples.section_7_example`)."""
    return section_7_example(**extra)


def position(doc: dict[str, Any], view: str = "as_is", k: int = 0) -> dict[str, Any]:
    row: dict[str, Any] = doc["modes"][view]["positions"][k]
    return row


def evaluated(data: dict[str, Any], *shocks: str) -> dict[str, Any]:
    return evaluate_portfolio(portfolio_from_dict(data), [parse_shock(s) for s in shocks])


# --------------------------------------------------------------------------- §7 worked example


def test_section_7_worked_example() -> None:
    doc = evaluated(worked_example())
    # liquidation: equity 5,000 + 2 (P − 3,000) meets maintenance 2 × P × 0.01 = 0.02 P:
    # 5,000 − 6,000 + 2 P = 0.02 P → 1.98 P = 1,000 → P = 505.0505...
    lp = 1000 / 1.98
    for view in VIEWS:  # one cross position: isolated moves it to a pool of entry notional 6,000 / 10 = 600
        row = position(doc, view)
        assert len(row["orders"]) == 1
        order = row["orders"][0]
        # a stop on a long is a sell: 2,900 × (1 − 0.001) = 2,897.10
        assert order["fill_price"] == pytest.approx(2897.10, rel=1e-12)
        # realized: s·Q·(fill − entry) = +1 × 2 × (2,897.10 − 3,000) = −205.80
        assert order["realized_pnl"] == pytest.approx(-205.80, rel=1e-12)
        assert order["id"] == "sl-eth" and order["type"] == "stop"
        assert order["trigger_price"] == 2900.0 and order["contracts"] == 2.0
        assert set(order) == {
            "id",
            "type",
            "trigger_price",
            "contracts",
            "fill_price",
            "realized_pnl",
            "before_liquidation",
        }
    assert position(doc)["liquidation_price"] == pytest.approx(lp, rel=1e-12)
    assert round(position(doc)["liquidation_price"], 2) == 505.05
    # the mark falling from 3,100 reaches 2,900 before 505.05
    assert position(doc)["orders"][0]["before_liquidation"] is True
    # isolated view (margin 6,000 / 10 = 600): 600 + 2 (P − 3,000) = 0.02 P → 1.98 P = 5,400 → P = 2,727.27,
    # below the stop at 2,900: the stop still comes first
    assert position(doc, "isolated")["liquidation_price"] == pytest.approx(5400 / 1.98, rel=1e-12)
    assert position(doc, "isolated")["orders"][0]["before_liquidation"] is True


def test_orders_leave_every_other_figure_unchanged() -> None:
    """Pools and every other figure are those of the portfolio with its orders unfilled; without orders
    the positions carry no ``orders`` key (the output of a file without orders is unchanged)."""
    with_orders = evaluated(worked_example())
    plain = worked_example()
    del plain["orders"], plain["slippage"]
    without = evaluated(plain)
    for view in VIEWS:
        assert with_orders["modes"][view]["pools"] == without["modes"][view]["pools"]
        for a, b in zip(with_orders["modes"][view]["positions"], without["modes"][view]["positions"], strict=True):
            assert "orders" not in b
            assert {k: v for k, v in a.items() if k != "orders"} == b
    assert set(with_orders) == set(without) == {"venue", "shock", "modes"}


def test_a_position_without_orders_gets_an_empty_list() -> None:
    data = worked_example()
    data["prices"][BTC] = 100_000.0
    data["tiers"][BTC] = one_tier(0.005)
    data["positions"].append({"symbol": BTC, "side": "long", "contracts": 0.01, "entry_price": 95_000, "leverage": 5})
    doc = evaluated(data)
    assert position(doc, k=1)["orders"] == []
    assert len(position(doc, k=0)["orders"]) == 1


# --------------------------------------------------------------------------- before_liquidation by view


def test_stop_below_an_isolated_liquidation_price() -> None:
    """The same long, isolated with margin 600 (6,000 / 10): its liquidation price is
    600 + 2 (P − 3,000) = 0.02 P → P = 5,400 / 1.98 = 2,727.27. A stop at 2,700 lies beyond it: the pool is
    liquidated first (``false``) in ``as_is`` and ``isolated``; in ``cross`` (the whole 5,000, liquidation
    505.05) the stop comes first."""
    data = worked_example(orders=[{"id": "deep", "symbol": ETH, "type": "stop", "trigger_price": 2700.0}])
    data["positions"][0]["margin_mode"] = "isolated"
    doc = evaluated(data)
    assert position(doc)["liquidation_price"] == pytest.approx(5400 / 1.98, rel=1e-12)
    assert position(doc)["orders"][0]["before_liquidation"] is False
    assert position(doc, "isolated")["orders"][0]["before_liquidation"] is False
    assert position(doc, "cross")["orders"][0]["before_liquidation"] is True
    # fill 2,700 × 0.999 = 2,697.30; realized 2 × (2,697.30 − 3,000) = −605.40 (the same in every view)
    for view in VIEWS:
        assert position(doc, view)["orders"][0]["realized_pnl"] == pytest.approx(-605.40, rel=1e-12)


def test_trigger_at_the_liquidation_price_counts_as_first() -> None:
    """A path fills orders before it checks the pools at a point (§7 cascade): a trigger equal to the
    liquidation price is reached first."""
    data = worked_example(orders=[{"symbol": ETH, "type": "stop", "trigger_price": 1000 / 1.98}])
    doc = evaluated(data)
    assert position(doc)["orders"][0]["before_liquidation"] is True


# --------------------------------------------------------------------------- a short


def short_book(**extra: Any) -> dict[str, Any]:
    """USDT 10,000; BTC short 0.5 at 100,000, mark 98,000, one tier at 0.5 %, cross, slippage 0.002."""
    data: dict[str, Any] = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 10_000.0},
        "prices": {BTC: 98_000.0},
        "tiers": {BTC: one_tier(0.005)},
        "positions": [{"symbol": BTC, "side": "short", "contracts": 0.5, "entry_price": 100_000.0, "leverage": 20}],
        "orders": [
            {"id": "sl", "symbol": BTC, "type": "stop", "trigger_price": 105_000},
            {"id": "tp", "symbol": BTC, "type": "take_profit", "trigger_price": 90_000, "contracts": 0.2},
            {"id": "late", "symbol": BTC, "type": "stop", "trigger_price": 125_000},
        ],
        "slippage": 0.002,
    }
    data.update(extra)
    return data


def test_short_stop_and_take_profit() -> None:
    doc = evaluated(short_book())
    row = position(doc)
    # liquidation: 10,000 − 0.5 (P − 100,000) = 0.005 × 0.5 P → 60,000 = 0.5025 P → P = 119,402.99
    assert row["liquidation_price"] == pytest.approx(60_000 / 0.5025, rel=1e-12)
    sl, tp, late = row["orders"]
    # closing a short is a buy: 105,000 × 1.002 = 105,210; realized −1 × 0.5 × (105,210 − 100,000) = −2,605
    assert sl["fill_price"] == pytest.approx(105_210.0, rel=1e-12)
    assert sl["realized_pnl"] == pytest.approx(-2605.0, rel=1e-12)
    assert sl["contracts"] == 0.5 and sl["before_liquidation"] is True
    # take-profit on 0.2: 90,000 × 1.002 = 90,180; realized −1 × 0.2 × (90,180 − 100,000) = +1,964; the mark
    # falling is the short's profit side, its liquidation price lies the other way
    assert tp["fill_price"] == pytest.approx(90_180.0, rel=1e-12)
    assert tp["realized_pnl"] == pytest.approx(1964.0, rel=1e-12)
    assert tp["contracts"] == 0.2 and tp["before_liquidation"] is True
    # a stop at 125,000 lies beyond the liquidation price 119,402.99 on the way up
    assert late["before_liquidation"] is False


# --------------------------------------------------------------------------- an inverse contract


def inverse_book() -> dict[str, Any]:
    """BTC 1; BTC/USD:BTC long 1,000 contracts × 100 USD at 50,000, mark 52,000, one tier at 0.5 %, cross;
    a stop at 48,000 with slippage 0.001."""
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"BTC": 1.0},
        "prices": {BTC_INV: 52_000.0},
        "tiers": {BTC_INV: one_tier(0.005)},
        "positions": [
            {
                "symbol": BTC_INV,
                "side": "long",
                "contracts": 1000,
                "contract_size": 100,
                "entry_price": 50_000.0,
                "leverage": 10,
            }
        ],
        "orders": [{"symbol": BTC_INV, "type": "stop", "trigger_price": 48_000}],
        "slippage": 0.001,
    }


def test_inverse_stop() -> None:
    doc = evaluated(inverse_book())
    row = position(doc)
    # liquidation: 1 + 100,000 (1/50,000 − 1/P) = 0.005 × 100,000 / P → 3 = 100,500 / P → P = 33,500
    assert row["liquidation_price"] == pytest.approx(33_500.0, rel=1e-12)
    (order,) = row["orders"]
    assert order["id"] == "BTC/USD:BTC stop"  # default id "<symbol> <type>"
    # a sell: 48,000 × 0.999 = 47,952; realized in coin s·Q·CS·(1/entry − 1/fill)
    # = 1 × 1,000 × 100 × (1/50,000 − 1/47,952) = 2 − 2.0854187...= −0.0854187... BTC
    assert order["fill_price"] == pytest.approx(47_952.0, rel=1e-12)
    assert order["realized_pnl"] == pytest.approx(100_000 * (1 / 50_000 - 1 / 47_952), rel=1e-12)
    assert order["realized_pnl"] == pytest.approx(-0.08541875, abs=1e-8)
    assert order["before_liquidation"] is True  # 48,000 lies between the mark 52,000 and 33,500


# --------------------------------------------------------------------------- after a shock


def test_shock_past_the_trigger_and_past_the_liquidation() -> None:
    """ETH=−10 % takes the mark to 2,790, past the stop at 2,900: the order would fire at once (true).
    ETH=−90 % takes it to 310, past the liquidation price 505.05: the pool is liquidated (false)."""
    near = evaluated(worked_example(), "ETH=-10%")
    assert position(near)["mark_price"] == pytest.approx(2790.0)
    assert position(near)["orders"][0]["before_liquidation"] is True
    far = evaluated(worked_example(), "ETH=-90%")
    assert position(far)["liquidated"] is True
    assert position(far)["orders"][0]["before_liquidation"] is False
    # the fill and the realized PnL come from the trigger, not the mark
    assert position(far)["orders"][0]["realized_pnl"] == pytest.approx(-205.80, rel=1e-12)


# --------------------------------------------------------------------------- reading and writing


def test_any_case_enums_and_plain_exchange_symbols() -> None:
    data = worked_example(
        venue="binance-usdm",
        orders=[
            {"symbol": "ETHUSDT", "type": "STOP", "trigger_price": 2900},
            {"symbol": "ETHUSDT", "type": "Take_Profit", "trigger_price": 3500, "position_side": "LONG"},
        ],
    )
    pf = portfolio_from_dict(data)
    assert pf.orders == (
        Order(symbol=ETH, type="stop", trigger_price=2900.0),
        Order(symbol=ETH, type="take_profit", trigger_price=3500.0, position_side="long"),
    )


def test_json_round_trip_keeps_orders_and_slippage() -> None:
    data = short_book()
    data["position_mode"] = "hedge"
    data["positions"].append({"symbol": BTC, "side": "long", "contracts": 0.1, "entry_price": 90_000, "leverage": 5})
    for order in data["orders"]:
        order["position_side"] = "short"
    data["orders"].append({"symbol": BTC, "type": "stop", "trigger_price": 80_000, "position_side": "long"})
    pf = portfolio_from_dict(data)
    text = dump_portfolio_json(pf)
    again = parse_portfolio_json(text)
    assert again == pf
    written = json.loads(text)
    assert written["slippage"] == 0.002
    assert written["orders"][3] == {"symbol": BTC, "type": "stop", "trigger_price": 80_000.0, "position_side": "long"}
    assert written["orders"][1]["contracts"] == 0.2
    # a file without orders writes neither key
    plain = worked_example()
    del plain["orders"], plain["slippage"]
    assert {"orders", "slippage"}.isdisjoint(json.loads(dump_portfolio_json(portfolio_from_dict(plain))))


CSV_HEAD = "id,symbol,side,contracts,entry_price,leverage,stop,take_profit\n"


def test_csv_stop_and_take_profit_columns_are_whole_position_orders() -> None:
    """The positions CSV may carry ``stop`` and ``take_profit`` trigger prices (a compatible extension of §1
    with §7's orders): each is an order closing the whole position, the same as the JSON order. §7's numbers:
    the stop at 2,900 on the long 2 at 3,000 fills at 2,900 (no slippage in a CSV) and realises
    2 × (2,900 − 3,000) = −200; the take-profit at 3,500 realises 2 × 500 = +1,000."""
    text = CSV_HEAD + "eth,ETH/USDT:USDT,long,2,3000,10,2900,3500\n"
    p = portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100})
    assert [(o.label, o.type, o.trigger_price, o.contracts) for o in p.orders] == [
        ("eth stop", "stop", 2900.0, None),
        ("eth take_profit", "take_profit", 3500.0, None),
    ]
    rows = evaluate_portfolio(p)["modes"]["cross"]["positions"][0]["orders"]
    assert [(r["fill_price"], r["realized_pnl"]) for r in rows] == [(2900.0, -200.0), (3500.0, 1000.0)]
    # an empty cell is no order; a row without an id gets the default id "<symbol> <type>"
    text = "symbol,side,contracts,entry_price,leverage,stop\nETH/USDT:USDT,long,2,3000,10,\n"
    assert portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100}).orders == ()
    text = "symbol,side,contracts,entry_price,leverage,stop\nETH/USDT:USDT,long,2,3000,10,2900\n"
    assert [o.label for o in portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100}).orders] == [
        "ETH/USDT:USDT long stop"
    ]


@pytest.mark.parametrize(
    ("cells", "needle"),
    [
        ("2900,3050", "row 2.take_profit must be above the mark 3100"),  # would fire at once
        ("3200,", "row 2.stop must be below the mark 3100"),
        ("abc,", "row 2.stop must be a number"),
        ("-5,", "row 2.stop"),
    ],
)
def test_csv_order_cells_are_refused_naming_the_cell(cells: str, needle: str) -> None:
    text = CSV_HEAD + f"eth,ETH/USDT:USDT,long,2,3000,10,{cells}\n"
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100})
    assert needle in str(info.value), str(info.value)


def test_csv_unknown_column_still_refused() -> None:
    text = "symbol,side,contracts,entry_price,stop_loss\nETH/USDT:USDT,long,2,3000,2900\n"
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100})
    assert "header column 'stop_loss' is not a position field" in str(info.value)


# --------------------------------------------------------------------------- validation


def messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(data, "book.json")
    return [str(p) for p in info.value.problems]


def test_every_order_problem_at_once() -> None:
    data = short_book(slippage=0.5)
    data["orders"] = [
        {"id": "a", "symbol": BTC, "type": "trailing", "trigger_price": 105_000},  # 0: unknown type
        {"id": "b", "symbol": BTC, "type": "stop", "trigger_price": 0},  # 1: trigger <= 0
        {"id": "c", "symbol": BTC, "type": "stop", "trigger_price": 1e13},  # 2: beyond the price bounds
        {"id": "d", "symbol": BTC, "type": "stop", "trigger_price": 97_000},  # 3: stop on a short's profit side
        {"id": "e", "symbol": BTC, "type": "take_profit", "trigger_price": 99_000},  # 4: tp on the loss side
        {"id": "f", "symbol": BTC, "type": "stop", "trigger_price": 105_000, "contracts": 0.6},  # 5: > 0.5
        {"id": "g", "symbol": BTC, "type": "stop", "trigger_price": 105_000, "contracts": 0},  # 6: <= 0
        {"id": "h", "symbol": ETH, "type": "stop", "trigger_price": 2000},  # 7: no such position
        {"id": "a", "symbol": BTC, "type": "stop", "trigger_price": 106_000},  # 8: duplicate id
        {"id": "j", "symbol": BTC, "type": "stop", "trigger_price": 98_000},  # 9: at the mark: fires at once
        {"id": "k", "symbol": BTC, "type": "stop", "trigger_price": 105_000, "position_side": "long"},  # 10
        {"id": "l", "symbol": BTC, "type": "stop", "trigger_price": 105_000, "limit": 1},  # 11: unknown field
        {"id": "m", "symbol": BTC, "type": "stop", "trigger_price": "105000"},  # 12: not a number
        {"id": "n", "symbol": "BTC-USDT", "type": "stop", "trigger_price": 105_000},  # 13: not a symbol
        {"id": "o", "symbol": BTC, "trigger_price": 105_000},  # 14: no type
    ]
    found = messages(data)
    want = [
        "orders[0].type must be 'stop' or 'take_profit', got 'trailing'",
        "orders[1].trigger_price must be > 0, got 0",
        "orders[2].trigger_price must be <= 1e+12, got 10000000000000.0",
        "orders[3].trigger_price must be above the mark 98000 for a stop on a short (it would fire at once), "
        "got 97000.0",
        "orders[4].trigger_price must be below the mark 98000 for a take_profit on a short (it would fire at once), "
        "got 99000.0",
        "orders[5].contracts must be <= the position's 0.5 contracts, got 0.6",
        "orders[6].contracts must be > 0, got 0",
        "orders[7].symbol must be the symbol of an open position, got 'ETH/USDT:USDT'",
        "orders[8].id must be unique (also orders[0]), got 'a'",
        "orders[9].trigger_price must be above the mark 98000 for a stop on a short (it would fire at once), "
        "got 98000.0",
        "orders[10].symbol must be the symbol of a long open position, got 'BTC/USDT:USDT'",
        "orders[11].limit is not an order field",
        "orders[12].trigger_price must be a number, got '105000'",
        "orders[13].symbol must be a ccxt unified symbol",
        "orders[14].type is required",
        "slippage must be >= 0 and < 0.5 (a fraction), got 0.5",
    ]
    assert_messages(found, want)


def test_hedge_mode_needs_the_leg() -> None:
    data = short_book(position_mode="hedge")
    data["positions"].append({"symbol": BTC, "side": "long", "contracts": 0.1, "entry_price": 90_000, "leverage": 5})
    data["orders"] = [{"symbol": BTC, "type": "stop", "trigger_price": 105_000}]
    assert messages(data) == [
        "orders[0].position_side is required: BTC/USDT:USDT has both a long and a short (hedge mode)"
    ]
    data["orders"][0]["position_side"] = "short"
    assert portfolio_from_dict(data).orders[0].position_side == "short"


@pytest.mark.parametrize("slippage", [-0.001, 0.5, 2, "0.01", True, math.inf])
def test_bad_slippage(slippage: object) -> None:
    found = messages(worked_example(slippage=slippage))
    assert len(found) == 1 and found[0].startswith("slippage must be"), found


def test_orders_must_be_a_list_of_objects() -> None:
    assert messages(worked_example(orders={"sl": 1})) == ["orders must be a list of orders, got {'sl': 1}"]
    assert messages(worked_example(orders=[3])) == ["orders[0] must be an object, got 3"]


def test_resolve_checks_orders_built_in_code() -> None:
    """A portfolio built in code (the app) is held to the same rules by ``resolve``."""
    pf = portfolio_from_dict(worked_example())
    bad = type(pf)(**{**pf.__dict__, "orders": (Order(symbol=ETH, type="stop", trigger_price=3200.0),)})
    with pytest.raises(PortfolioError, match=r"orders\[0\].trigger_price must be below the mark 3100"):
        resolve(bad)


# --------------------------------------------------------------------------- command line


def test_cli_json_and_table(tmp_path: Path) -> None:
    path = tmp_path / "eth.json"
    path.write_text(json.dumps(worked_example()), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "margin", "evaluate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["modes"]["as_is"]["positions"][0]["orders"][0]["fill_price"] == pytest.approx(2897.10)
    table = subprocess.run(
        [sys.executable, "-m", "margin", "evaluate", str(path)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert table.returncode == 0, table.stderr
    assert "sl-eth" in table.stdout and "2,897.1000" in table.stdout and "-205.80" in table.stdout
    bad = copy.deepcopy(worked_example())
    bad["orders"][0]["trigger_price"] = 3200
    path.write_text(json.dumps(bad), encoding="utf-8")
    err = subprocess.run(
        [sys.executable, "-m", "margin", "evaluate", str(path)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert err.returncode == 2 and "orders[0].trigger_price must be below the mark 3100" in err.stderr


# --------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from(["long", "short"]),
    contracts=st.floats(0.01, 100.0),
    entry=st.floats(100.0, 10_000.0),
    mark_ratio=st.floats(0.5, 1.5),
    trigger_frac=st.floats(0.01, 0.99),
    collateral=st.floats(100.0, 1e6),
    mmr=st.floats(0.001, 0.1),
    slippage=st.floats(0.0, 0.05),
    order_type=st.sampled_from(["stop", "take_profit"]),
)
def test_property_fill_pnl_and_order_of_events(
    side: str,
    contracts: float,
    entry: float,
    mark_ratio: float,
    trigger_frac: float,
    collateral: float,
    mmr: float,
    slippage: float,
    order_type: str,
) -> None:
    """One linear position in a cross pool: ``realized_pnl`` = s·Q·(fill − entry) with the fill on the
    closing side's slippage; ``before_liquidation`` is true iff the pool is not liquidated and the trigger lies
    between the mark and the liquidation price (or there is none on the way)."""
    mark = entry * mark_ratio
    s = 1 if side == "long" else -1
    # a stop on the loss side of the mark, a take-profit on the profit side, trigger_frac of the way to 0 or
    # to twice the mark
    loss_way = -s if order_type == "stop" else s
    trigger = mark * (1 - trigger_frac) if loss_way < 0 else mark * (1 + trigger_frac)
    data = single_order_book(
        side, contracts, entry, mark, collateral, mmr, {"type": order_type, "trigger_price": trigger}, slippage
    )
    row = position(evaluated(data))
    (order,) = row["orders"]
    fill = trigger * (1 - slippage) if side == "long" else trigger * (1 + slippage)
    assert order["fill_price"] == pytest.approx(fill, rel=1e-12)
    assert order["realized_pnl"] == pytest.approx(s * contracts * (fill - entry), rel=1e-9, abs=1e-9)
    lp = row["liquidation_price"]
    assume(lp is None or abs(trigger - lp) > 1e-9 * mark)  # no knife-edge tie
    if row["liquidated"]:
        assert order["before_liquidation"] is False
    elif lp is None:
        assert order["before_liquidation"] is True
    else:
        between = min(mark, lp) <= trigger <= max(mark, lp)
        other_side = (lp - mark) * (trigger - mark) < 0
        assert order["before_liquidation"] is (between or other_side)


def test_csv_stops_on_both_legs_of_a_hedge() -> None:
    """Hedge mode, no id column: ETH long 2 at 3,000 with a stop at 2,900 and ETH short 1 at 3,200 with a stop
    at 3,300, mark 3,100. Each order's default id is its leg's label plus the type (unique); the long stop
    realises 2 × (2,900 − 3,000) = −200, the short stop −1 × (3,300 − 3,200) = −100."""
    text = (
        "symbol,side,contracts,entry_price,leverage,stop\n"
        "ETH/USDT:USDT,long,2,3000,10,2900\n"
        "ETH/USDT:USDT,short,1,3200,10,3300\n"
    )
    p = portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100}, position_mode="hedge")
    assert [o.label for o in p.orders] == ["ETH/USDT:USDT long stop", "ETH/USDT:USDT short stop"]
    rows = evaluate_portfolio(p)["modes"]["as_is"]["positions"]
    assert [r["orders"][0]["realized_pnl"] for r in rows] == [-200.0, -100.0]
    # a repeated id names both cells, never the generated orders[k]
    text = "id,symbol,side,contracts,entry_price,leverage,stop\nx,ETH/USDT:USDT,long,2,3000,10,2900\n"
    text += "x,BTC/USDT:USDT,long,1,90000,10,80000\n"
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, "binance-usdm", {"USDT": 5000}, {ETH: 3100, "BTC/USDT:USDT": 95000})
    assert "orders[" not in str(info.value), str(info.value)


def test_csv_download_carries_whole_position_orders_and_names_the_rest() -> None:
    """eth-stop has a whole-position stop at 2,900 and a take-profit of 1 of its 2 contracts at 3,400: the
    CSV carries the stop (read back as the same order) and names the take-profit as JSON-only."""
    from margin.files import csv_order_gaps, dump_positions_csv, load_portfolio

    p = load_portfolio(ROOT / "fixtures" / "portfolios" / "eth-stop.json")
    text = dump_positions_csv(p.positions, p.orders)
    assert text.splitlines()[0].endswith(",stop")
    back = portfolio_from_csv(text, p.venue, {"USDT": 5000}, dict(p.prices), position_mode=p.position_mode)
    assert [(o.type, o.trigger_price, o.contracts) for o in back.orders] == [("stop", 2900.0, None)]
    assert csv_order_gaps(p.positions, p.orders) == ["tp-eth"]
    assert "stop" not in dump_positions_csv(p.positions).splitlines()[0]  # no orders: the columns as before
