"""Orders (``portfolio-format.md`` §7) in the dashboard: Home's orders editor and orders tables, the calculator's
stop and take profit, the Liquidation map's order levels. Units on the pure modules, then Streamlit's AppTest.

Hand-worked figures come from §7's worked example, which is the sample ``eth-stop.json``: USDT 5,000; ETH long 2
at 3,000, mark 3,100, 25×, one tier at 1 % (maintenance amount 0), cross, slippage 0.001; stop ``sl-eth`` at
2,900 on the whole position, take profit ``tp-eth`` at 3,400 on 1 contract.

- stop fill 2,900 × (1 − 0.001) = 2,897.10; realised 2 × (2,897.10 − 3,000) = −205.80 USDT;
- take-profit fill 3,400 × 0.999 = 3,396.60; realised 1 × (3,396.60 − 3,000) = 396.60 USDT;
- cross (and as is): 5,000 + 2 (P − 3,000) = 0.01 × 2 P → P = 1,000 / 1.98 ≈ 505.05, below the stop: the stop
  fires first (``before_liquidation`` true);
- isolated: margin 2 × 3,000 / 25 = 240; 240 + 2 (P − 3,000) = 0.02 P → P = 5,760 / 1.98 ≈ 2,909.09, above the
  stop (2,900): the view liquidates first (false); the take profit, on the other side, fires first (true).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard.charts import ORDER_COLORS, VIEW_LABELS, price_ladder
from dashboard.editing import collateral_frame, orders_frame, portfolio_from_frames, positions_frame, prices_frame
from dashboard.orders import BEFORE_COLUMN, order_rows, orders_table
from margin import (
    Portfolio,
    PortfolioError,
    dump_portfolio_json,
    evaluate_portfolio,
    load_portfolio,
    portfolio_from_dict,
)
from margin.calculator import Candidate, calculate
from tests.conftest import ROOT
from tests.test_app_pages import assert_clean, open_app

APP = str(ROOT / "app.py")
SAMPLES = ROOT / "fixtures" / "portfolios"
ETH = "ETH/USDT:USDT"
SUBMIT = "FormSubmitter:edit_form-Apply edits"
KEY_DOC = "ml_portfolio_json"

STOP_FILL = 2900 * (1 - 0.001)  # 2,897.10
STOP_PNL = 2 * (STOP_FILL - 3000)  # −205.80
TP_FILL = 3400 * (1 - 0.001)  # 3,396.60
TP_PNL = 1 * (TP_FILL - 3000)  # 396.60
LIQ_CROSS = 1000 / 1.98  # 5,000 + 2 (P − 3,000) = 0.02 P
LIQ_ISOLATED = 5760 / 1.98  # 240 + 2 (P − 3,000) = 0.02 P


def eth_stop() -> Portfolio:
    return load_portfolio(SAMPLES / "eth-stop.json")


def hedged_with_orders() -> Portfolio:
    """hedged-pair (hedge mode: ETH long 12 @ 3,300 and short 8 @ 3,450, BTC short 0.2; marks ETH 3,400, BTC
    97,000) with a stop on each ETH leg (position_side required) and a partial take profit on BTC."""
    doc = json.loads((SAMPLES / "hedged-pair.json").read_text())
    doc["orders"] = [
        {"id": "sl-long", "symbol": ETH, "type": "stop", "trigger_price": 3000.0, "position_side": "long"},
        {"symbol": ETH, "type": "stop", "trigger_price": 3800.0, "contracts": 4.0, "position_side": "short"},
        {"id": "tp-btc", "symbol": "BTC/USDT:USDT", "type": "take_profit", "trigger_price": 90000.0, "contracts": 0.1},
    ]
    doc["slippage"] = 0.0005
    return portfolio_from_dict(doc)


def from_frames(p: Portfolio, orders: Any, slippage: Any = ...) -> Portfolio:
    return portfolio_from_frames(
        p, p.venue, p.position_mode, positions_frame(p), collateral_frame(p), prices_frame(p), orders, slippage
    )


# --------------------------------------------------------------------------- the editor's frames (units)


@pytest.mark.parametrize("make", [eth_stop, hedged_with_orders])
def test_orders_round_trip_through_the_tables(make: Any) -> None:
    p = make()
    assert p.orders
    assert from_frames(p, orders_frame(p), p.slippage) == p
    assert from_frames(p, orders_frame(p)) == p  # slippage kept when not given
    assert from_frames(p, None) == p  # no orders table: the file's orders kept


def test_orders_frame_shows_blank_contracts_and_side() -> None:
    frame = orders_frame(eth_stop())
    assert list(frame.columns) == ["id", "symbol", "type", "trigger_price", "contracts", "position_side"]
    assert list(frame["id"]) == ["sl-eth", "tp-eth"]
    assert frame["contracts"].isna().tolist() == [True, False]  # blank: the whole position
    assert frame["position_side"].isna().all()


@settings(max_examples=40, deadline=None)
@given(
    trigger=st.floats(min_value=1.0, max_value=3099.0, allow_nan=False),
    contracts=st.one_of(st.none(), st.floats(min_value=0.001, max_value=2.0, allow_nan=False)),
    slippage=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.4, allow_nan=False)),
)
def test_any_valid_stop_round_trips(trigger: float, contracts: float | None, slippage: float | None) -> None:
    """Any stop below the mark 3,100 on at most the 2 contracts held, with any slippage in [0, 0.5)."""
    doc = json.loads((SAMPLES / "eth-stop.json").read_text())
    doc["orders"] = [{"symbol": ETH, "type": "stop", "trigger_price": trigger}]
    if contracts is not None:
        doc["orders"][0]["contracts"] = contracts
    if slippage is None:
        del doc["slippage"]
    else:
        doc["slippage"] = slippage
    p = portfolio_from_dict(doc)
    assert from_frames(p, orders_frame(p), p.slippage) == p


BAD_ORDERS: dict[str, tuple[dict[str, Any], str]] = {
    # the mark is 3,100: a stop on a long must lie below it
    "fires at once": (
        {"symbol": ETH, "type": "stop", "trigger_price": 3200.0},
        "orders table row 3.trigger_price must be below the mark 3100 for a stop on a long (it would fire at once), "
        "got 3200.0",
    ),
    "take profit below the mark": (
        {"symbol": ETH, "type": "take_profit", "trigger_price": 3000.0},
        "orders table row 3.trigger_price must be above the mark 3100",
    ),
    "more contracts than held": (
        {"symbol": ETH, "type": "stop", "trigger_price": 2800.0, "contracts": 3.0},
        "orders table row 3.contracts must be <= the position's 2 contracts, got 3.0",
    ),
    "no such position": (
        {"symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 90000.0},
        "orders table row 3.symbol must be the symbol of an open position, got 'BTC/USDT:USDT'",
    ),
    "no type": ({"symbol": ETH, "trigger_price": 2800.0}, "orders table row 3.type is required"),
}


@pytest.mark.parametrize("case", list(BAD_ORDERS))
def test_a_bad_order_row_names_its_row_and_field(case: str) -> None:
    rec, phrase = BAD_ORDERS[case]
    p = eth_stop()
    frame = orders_frame(p)
    frame.loc[len(frame)] = {col: rec.get(col) for col in frame.columns}
    with pytest.raises(PortfolioError) as err:
        from_frames(p, frame)
    assert any(phrase in str(problem) for problem in err.value.problems), [str(x) for x in err.value.problems]


def test_an_ambiguous_hedge_leg_and_a_blank_row() -> None:
    """hedged-pair holds an ETH long and short: an order without position_side is ambiguous (and its default
    id ``ETH/USDT:USDT stop`` is row 2's). A blank row (row 4) is skipped but rows keep the numbers shown: the
    bad order is row 5, also in the rule's reference to row 2."""
    p = hedged_with_orders()
    frame = orders_frame(p)
    frame.loc[3] = {col: None for col in frame.columns}
    frame.loc[4] = {"id": None, "symbol": ETH, "type": "stop", "trigger_price": 3000.0, "contracts": None}
    frame.loc[4, "position_side"] = None
    with pytest.raises(PortfolioError) as err:
        from_frames(p, frame)
    lines = [str(x) for x in err.value.problems]
    assert lines == [
        "orders table row 5.id must be unique (also orders table row 2), got 'ETH/USDT:USDT stop'",
        "orders table row 5.position_side is required: ETH/USDT:USDT has both a long and a short (hedge mode)",
    ]


def test_slippage_out_of_range_is_refused() -> None:
    with pytest.raises(PortfolioError, match=r"slippage must be >= 0 and < 0.5 \(a fraction\), got 0.7"):
        from_frames(eth_stop(), orders_frame(eth_stop()), 0.7)


# --------------------------------------------------------------------------- Home's orders table (units)


def test_orders_table_holds_evaluates_figures() -> None:
    doc = evaluate_portfolio(eth_stop())
    rows = order_rows(doc)
    assert set(rows) == {"as_is", "cross", "isolated"}
    for view in rows:
        body = doc["modes"][view]
        frame = orders_table(rows[view])
        want = [o for pos in body["positions"] for o in pos["orders"]]
        assert list(frame["order"]) == [o["id"] for o in want]
        assert list(frame["fill price (USDT)"]) == [o["fill_price"] for o in want]
        assert list(frame["realized PnL (USDT)"]) == [o["realized_pnl"] for o in want]
        assert list(frame[BEFORE_COLUMN]) == ["yes" if o["before_liquidation"] else "no" for o in want]
    # and evaluate's are the hand-worked ones (module docstring)
    iso = orders_table(rows["isolated"])
    assert list(iso["fill price (USDT)"]) == pytest.approx([STOP_FILL, TP_FILL])
    assert list(iso["realized PnL (USDT)"]) == pytest.approx([STOP_PNL, TP_PNL])
    assert list(iso[BEFORE_COLUMN]) == ["no", "yes"]  # liquidated at ≈ 2,909.09 before the stop at 2,900
    assert list(orders_table(rows["cross"])[BEFORE_COLUMN]) == ["yes", "yes"]  # liquidation ≈ 505.05
    assert doc["modes"]["isolated"]["positions"][0]["liquidation_price"] == pytest.approx(LIQ_ISOLATED)


def test_no_orders_no_rows() -> None:
    rows = order_rows(evaluate_portfolio(load_portfolio(SAMPLES / "btc-long.json")))
    assert rows == {"as_is": (), "cross": (), "isolated": ()}  # the portfolio view carries no orders


# --------------------------------------------------------------------------- the calculator's orders (units)


def empty_eth_book(mode: str = "one-way") -> Portfolio:
    """§7's account before the position: USDT 5,000, ETH marked at 3,000 (the candidate opens at its mark),
    one tier at 1 %, slippage 0.001, no position."""
    return portfolio_from_dict(
        {
            "format": "margin-portfolio/1",
            "venue": "binance-usdm",
            "position_mode": mode,
            "collateral": {"USDT": 5000.0},
            "prices": {ETH: 3000.0},
            "tiers": {ETH: [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 100}]},
            "positions": [],
            "slippage": 0.001,
        }
    )


def eth_candidate(**fields: Any) -> Candidate:
    base: dict[str, Any] = {
        "symbol": ETH,
        "side": "long",
        "size": 2.0,
        "unit": "contracts",
        "leverage": 25.0,
        "price": 3000.0,
        "stop": 2900.0,
    }
    return Candidate(**{**base, **fields})


def test_calculator_stop_is_the_hand_worked_figure() -> None:
    calc = calculate(empty_eth_book(), eth_candidate(take_profit=3400.0))
    assert calc.liquidation_in_account == pytest.approx(LIQ_CROSS)
    stop, tp = calc.order("stop"), calc.order("take_profit")
    assert stop is not None and tp is not None
    assert stop.fill_price == pytest.approx(STOP_FILL)
    assert stop.realized_pnl == pytest.approx(STOP_PNL)
    assert stop.before_liquidation is True
    assert tp.fill_price == pytest.approx(TP_FILL)
    assert tp.realized_pnl == pytest.approx(2 * (TP_FILL - 3000))  # the whole candidate: 793.20
    assert calc.slippage == 0.001
    # the orders are in the combined portfolio, closing the whole candidate
    assert [(o.type, o.trigger_price, o.contracts) for o in calc.combined.orders] == [
        ("stop", 2900.0, None),
        ("take_profit", 3400.0, None),
    ]


def test_calculator_isolated_stop_comes_too_late() -> None:
    """Isolated at 25×: liquidation ≈ 2,909.09 (module docstring), above the stop at 2,900."""
    calc = calculate(empty_eth_book(), eth_candidate(margin_mode="isolated"))
    assert calc.liquidation_in_account == pytest.approx(LIQ_ISOLATED)
    stop = calc.order("stop")
    assert stop is not None and stop.before_liquidation is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"stop": 3100.0},
            "candidate.stop must be below the mark 3000 for a stop on a long (it would fire at once), got 3100.0",
        ),
        (
            {"side": "short", "stop": 2900.0},
            "candidate.stop must be above the mark 3000 for a stop on a short (it would fire at once), got 2900.0",
        ),
        (
            {"stop": None, "take_profit": 2999.0},
            "candidate.take_profit must be above the mark 3000 for a take_profit on a long (it would fire at once), "
            "got 2999.0",
        ),
        ({"stop": 0.0}, "candidate.stop must be > 0, got 0.0"),
    ],
)
def test_calculator_refuses_an_order_on_the_wrong_side(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PortfolioError) as err:
        calculate(empty_eth_book(), eth_candidate(**fields))
    assert [str(p) for p in err.value.problems] == [message]


def test_calculator_orders_in_hedge_mode_name_their_leg() -> None:
    """A short candidate beside a held ETH long with its own stop: the new stop names the short leg and takes
    a fresh id (the default ``ETH/USDT:USDT stop`` is the long's); the long's stop, which gave no side (the
    symbol had one leg), now names the long (else it would be ambiguous)."""
    base = empty_eth_book("hedge")
    held = portfolio_from_dict(
        {
            **json.loads(dump_portfolio_json(base)),
            "positions": [{"symbol": ETH, "side": "long", "contracts": 1, "entry_price": 3000.0, "leverage": 10}],
            "orders": [{"symbol": ETH, "type": "stop", "trigger_price": 2500.0}],
        }
    )
    calc = calculate(held, eth_candidate(side="short", stop=3300.0))
    old, new = calc.combined.orders
    assert old.position_side == "long" and old.trigger_price == 2500.0
    assert new.position_side == "short" and new.id == "ETH/USDT:USDT stop (what-if 1)"
    assert calculate(held, eth_candidate(side="short", stop=None)).combined.orders == (old,)
    stop = calc.order("stop")
    assert stop is not None
    assert stop.fill_price == pytest.approx(3300 * 1.001)  # a buy closes the short
    assert stop.realized_pnl == pytest.approx(-2 * (3300 * 1.001 - 3000))  # −600.60


def test_calculator_without_orders_is_unchanged() -> None:
    calc = calculate(empty_eth_book(), eth_candidate(stop=None))
    assert calc.orders == () and calc.combined.orders == ()


# --------------------------------------------------------------------------- the ladder's order levels (units)


def test_ladder_draws_each_order_in_every_view_column() -> None:
    views = ["as_is", "cross", "isolated"]
    levels: dict[str, list[tuple[str, float | None]]] = {v: [("ETH long", 500.0)] for v in views}
    fig = price_ladder(
        ETH,
        "USDT",
        [("ETH long", 3000.0)],
        3100.0,
        levels,
        None,
        [("sl-eth", "stop", 2900.0), ("tp-eth", "take_profit", 3400.0)],
    )
    by_name = {t.name: t for t in fig.data}
    stop, tp = by_name["stop sl-eth 2,900"], by_name["take profit tp-eth 3,400"]
    assert list(stop.y) == [2900.0] * 3 and list(tp.y) == [3400.0] * 3
    assert list(stop.x) == [VIEW_LABELS[v] for v in views]
    assert stop.marker.color == ORDER_COLORS["stop"] and tp.marker.color == ORDER_COLORS["take_profit"]
    assert len({ORDER_COLORS["stop"], ORDER_COLORS["take_profit"], fig.data[0].marker.color}) == 3
    # without orders the ladder is as before: one liquidation trace per view
    plain = price_ladder(ETH, "USDT", [("ETH long", 3000.0)], 3100.0, levels)
    assert [t.name for t in plain.data] == [f"liquidation ({v})" for v in views]


# --------------------------------------------------------------------------- AppTest


def edit(at: AppTest, orders: dict[str, Any] | None = None, slippage: float | object | None = ...) -> AppTest:
    blank = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    for key in ("edit_positions", "edit_collateral", "edit_prices"):
        at.session_state[key] = dict(blank)
    at.session_state["edit_orders"] = {**blank, **(orders or {})}
    if slippage is not ...:
        at.number_input(key="edit_slippage").set_value(slippage)
    at.button(key=SUBMIT).click()
    at.run()
    assert_clean(at)
    return at


def orders_tables(at: AppTest) -> list[Any]:
    return [df.value for df in at.dataframe if "order" in df.value.columns]


def test_home_orders_tables_show_evaluates_before_liquidation() -> None:
    at = open_app({"sample": "eth-stop"})
    doc = evaluate_portfolio(eth_stop())
    tables = orders_tables(at)
    assert len(tables) == 3  # one per view tab
    standard = [doc["modes"][v] for v in ("as_is", "cross", "isolated")]
    for frame, body in zip(tables, standard, strict=True):
        want = body["positions"][0]["orders"]
        assert list(frame[BEFORE_COLUMN]) == ["yes" if o["before_liquidation"] else "no" for o in want]
        assert list(frame["realized PnL (USDT)"]) == [o["realized_pnl"] for o in want]
    assert list(tables[2][BEFORE_COLUMN]) == ["no", "yes"]  # isolated: liquidated first (≈ 2,909.09 > 2,900)
    assert any("Fires before liquidation" in c.value for c in at.caption)


def test_home_shows_no_orders_table_without_orders() -> None:
    at = open_app()
    assert orders_tables(at) == []


def test_editor_round_trips_a_sample_with_orders() -> None:
    at = open_app({"sample": "eth-stop"})
    before = at.session_state[KEY_DOC]
    assert at.number_input(key="edit_slippage").value == 0.001
    edit(at)
    assert not at.error
    assert parse(at.session_state[KEY_DOC]) == parse(before)
    assert parse(at.session_state[KEY_DOC]).orders == eth_stop().orders


def parse(text: str) -> Portfolio:
    return portfolio_from_dict(json.loads(text))


def test_editor_applies_a_good_order_edit_and_slippage() -> None:
    """Stop 2,900 → 2,800 and slippage 0.001 → 0.002: fill 2,800 × 0.998 = 2,794.40, realised 2 × (2,794.40 −
    3,000) = −411.20, shown in Home's orders table."""
    at = open_app({"sample": "eth-stop"})
    edit(at, orders={"edited_rows": {0: {"trigger_price": 2800.0}}}, slippage=0.002)
    assert not at.error
    book = parse(at.session_state[KEY_DOC])
    assert book.orders[0].trigger_price == 2800.0 and book.slippage == 0.002
    frame = orders_tables(at)[0]
    assert frame["realized PnL (USDT)"].iloc[0] == pytest.approx(2 * (2800 * 0.998 - 3000))


@pytest.mark.parametrize(
    ("orders", "phrase"),
    [
        (
            {"added_rows": [{"symbol": ETH, "type": "stop", "trigger_price": 3200.0}]},
            "orders table row 3.trigger_price must be below the mark 3100 for a stop on a long",
        ),
        (
            {"edited_rows": {1: {"contracts": 5.0}}},
            "orders table row 2.contracts must be <= the position's 2 contracts, got 5.0",
        ),
        (
            {"added_rows": [{"symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 90000.0}]},
            "orders table row 3.symbol must be the symbol of an open position",
        ),
    ],
)
def test_editor_refuses_a_bad_order_and_keeps_the_portfolio(orders: dict[str, Any], phrase: str) -> None:
    at = open_app({"sample": "eth-stop"})
    before = at.session_state[KEY_DOC]
    edit(at, orders=orders)
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith("The edits were not applied; the previous portfolio is still in force.")
    assert phrase in errors[0], errors[0]
    assert at.session_state[KEY_DOC] == before


def test_editor_adds_an_order_to_a_book_without_orders() -> None:
    """btc-long (BTC long 0.8, mark 97,000): a stop at 90,000 on 0.5 contracts, no slippage: fill 90,000,
    realised 0.5 × (90,000 − 94,500) = −2,250 USDT."""
    at = open_app({"sample": "btc-long"})
    assert at.number_input(key="edit_slippage").value is None
    edit(
        at,
        orders={
            "added_rows": [{"symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 90000.0, "contracts": 0.5}]
        },
    )
    assert not at.error
    book = parse(at.session_state[KEY_DOC])
    assert [(o.type, o.trigger_price, o.contracts) for o in book.orders] == [("stop", 90000.0, 0.5)]
    assert book.slippage is None
    assert list(orders_tables(at)[0]["realized PnL (USDT)"]) == [0.5 * (90000 - 94500)]


CALC = "pages/7_Calculator.py"
STOP_KEY = f"calc_stop_{ETH}"


def open_calculator_on_empty_book() -> AppTest:
    at = open_app(page=CALC, doc=dump_portfolio_json(empty_eth_book()))
    assert at.selectbox(key="calc_symbol").value == ETH  # the one market with a mark
    at.radio(key="calc_unit").set_value("contracts").run()
    at.number_input(key="calc_size").set_value(2.0).run()
    at.slider(key="calc_leverage").set_value(25).run()
    assert_clean(at)
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def test_calculator_shows_the_loss_at_the_stop() -> None:
    at = open_calculator_on_empty_book()
    assert "Loss at the stop" not in metrics(at)  # no stop given: no order figure
    at.number_input(key=STOP_KEY).set_value(2900.0).run()
    assert_clean(at)
    shown = metrics(at)
    assert shown["Loss at the stop"] == "-205.80 USDT"  # 2 × (2,897.10 − 3,000)
    assert shown["Stop fires before liquidation"] == "yes"  # liquidation ≈ 505.05
    assert "505.05051" in shown["Liquidation price in the account"]
    assert any("fill 2,897.1 USDT" in str(m.delta) for m in at.metric)
    at.radio(key="calc_mode").set_value("isolated").run()
    assert metrics(at)["Stop fires before liquidation"] == "no"  # liquidation ≈ 2,909.09 above the stop


def test_calculator_refuses_a_wrong_side_stop() -> None:
    at = open_calculator_on_empty_book()
    at.number_input(key=STOP_KEY).set_value(3100.0).run()
    assert_clean(at)
    text = "\n".join(str(e.value) for e in at.error)
    assert "candidate.stop must be below the mark 3000 for a stop on a long (it would fire at once), got 3100.0" in text
    assert "calc_add" not in [b.key for b in at.button]  # nothing to add
    assert "Loss at the stop" not in metrics(at)


def test_add_to_portfolio_carries_the_orders() -> None:
    at = open_calculator_on_empty_book()
    at.number_input(key=STOP_KEY).set_value(2900.0).run()
    at.number_input(key=f"calc_take_profit_{ETH}").set_value(3400.0).run()
    at.button(key="calc_add").click().run()
    assert_clean(at)
    assert any("with a stop at 2,900 USDT, with a take profit at 3,400 USDT" in s.value for s in at.success)
    saved = json.loads(at.session_state[KEY_DOC])
    assert saved["orders"] == [
        {"symbol": ETH, "type": "stop", "trigger_price": 2900.0},
        {"symbol": ETH, "type": "take_profit", "trigger_price": 3400.0},
    ]
    assert saved["slippage"] == 0.001
    # Home shows the new orders with evaluate's figures
    at.switch_page("pages/0_Home.py")
    at.run()
    assert_clean(at)
    frame = orders_tables(at)[0]
    assert list(frame["realized PnL (USDT)"]) == pytest.approx([STOP_PNL, 2 * (TP_FILL - 3000)])


def test_liquidation_map_caption_explains_the_order_levels() -> None:
    at = open_app({"sample": "eth-stop"}, page="pages/3_Liquidation_map.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Orange ticks: stop-losses, teal: take-profits" in captions
    plain = open_app({"sample": "btc-long"}, page="pages/3_Liquidation_map.py")
    assert "stop-losses" not in " ".join(c.value for c in plain.caption)
