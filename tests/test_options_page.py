"""The Options & portfolio margin page, the Shock lab's volatility and days sliders, and option edits on Home,
through Streamlit's AppTest, on the worked example of portfolio-format.md §6.5.

The §6.5 book: Deribit, as_of 2026-11-20T08:00:00Z, collateral 0.3 BTC, index 97,000 USD, BTC/USD:BTC mark 97,100;
long 3,000 × 10 USD perpetual at 95,000; short 2 BTC-261225-100000-C at iv 0.52; long 2 BTC-261225-90000-P at iv
0.58. The section's independent evaluation gives: portfolio view equity 27,420.13 USD (wallet 29,100.00 + futures
PnL 662.47 + options −2,342.35), worst scenario +16 % with vol up, IM 19,365.84 USD, MM 15,492.68 USD, liquidation
move up +9.1920 %, down none.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from margin import dump_portfolio_json, portfolio_from_dict
from margin.report import evaluate_portfolio
from margin.shocks import Shock
from tests.examples import section_6_5_example
from tests.test_app_pages import assert_clean, open_app, texts

OPTIONS = "pages/9_Options.py"
SHOCK_LAB = "pages/2_Shock_lab.py"
HOME = "pages/0_Home.py"
SUBMIT = "FormSubmitter:edit_form-Apply edits"

BOOK: dict[str, Any] = section_6_5_example()


def book_text(book: dict[str, Any] = BOOK) -> str:
    return dump_portfolio_json(portfolio_from_dict(copy.deepcopy(book), "test book"))


def futures_only() -> dict[str, Any]:
    """The §6.5 book without its two options (as_of and index_prices kept)."""
    book = copy.deepcopy(BOOK)
    book["positions"] = book["positions"][:1]
    return book


def chart(at: AppTest, title_word: str) -> dict[str, Any]:
    """The plotly figure (its JSON spec, as the browser gets it) whose title contains ``title_word``."""
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if title_word in spec["layout"]["title"]["text"]:
            return dict(spec)
    raise AssertionError(f"no chart titled {title_word!r}")


def arr(value: Any) -> list[Any]:
    """A figure array as sent to the browser: plotly writes numpy arrays as ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return list(flat.reshape(shape).tolist())
    return list(value)


def metric_values(at: AppTest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(str(m.value))
    return out


# ----------------------------------------------------------------------------- the Options page


def test_risk_matrix_is_the_risk_units_scenarios_with_the_worst_cell_marked() -> None:
    at = open_app(page=OPTIONS, doc=book_text())
    assert not at.error
    unit = evaluate_portfolio(portfolio_from_dict(copy.deepcopy(BOOK), "x"))["modes"]["portfolio"]["pools"][0][
        "risk_units"
    ][0]
    spec = chart(at, "Risk matrix of BTC")
    heat, ring = spec["data"][0], spec["data"][1]
    # 9 standard moves k·0.16/4, k = −4…4 (§6.4), in %; rows up, unchanged, down
    assert arr(heat["x"]) == [100.0 * k * 0.16 / 4 for k in range(-4, 5)]
    standard = [s for s in unit["scenarios"] if not s["extended"]]
    for row, vol in enumerate(("up", "unchanged", "down")):
        assert arr(heat["z"])[row] == [s["pnl"] for s in standard if s["vol"] == vol]
    # §6.5: the worst scenario is +16 % with vol up: column 8, row 0
    assert arr(ring["x"]) == [16.0] and arr(ring["y"]) == [0.0]
    assert ring["name"] == "worst scenario"
    page = " ".join(texts(at.markdown))
    assert "worst scenario move +16.00% with vol up" in page
    assert "scenario loss 17,245.84 USD + contingency 2,120.00 USD = requirement 19,365.84 USD" in page


def test_four_views_margins_are_shown() -> None:
    """Portfolio view (§6.5): IM 19,365.84 USD, MM 0.8 × 19,365.84 = 15,492.68 USD. The standard views' pools are
    all BTC: their IM and MM are summed, in BTC, and include the short call's standard IM 0.3398605 BTC / MM
    0.2517162 BTC (§6.5)."""
    at = open_app(page=OPTIONS, doc=book_text())
    shown = metric_values(at)
    assert shown["Initial margin (USD)"] == ["19,365.84 USD"]
    assert shown["Maintenance margin (USD)"] == ["15,492.68 USD"]
    assert len(shown["Initial margin (BTC)"]) == 3 and len(shown["Maintenance margin (BTC)"]) == 3
    doc = evaluate_portfolio(portfolio_from_dict(copy.deepcopy(BOOK), "x"))
    for k, view in enumerate(("as_is", "cross", "isolated")):
        pools = doc["modes"][view]["pools"]  # all BTC: one cross pool (and, isolated, the perpetual's own)
        im, mm = sum(p["initial_margin"] for p in pools), sum(p["maintenance_margin"] for p in pools)
        assert im >= 0.3398605 and mm >= 0.2517162
        assert shown["Initial margin (BTC)"][k] == f"{im:,.6g} BTC"
        assert shown["Maintenance margin (BTC)"][k] == f"{mm:,.6g} BTC"


def test_liquidation_moves_and_pnl_chart() -> None:
    """Liquidation move up +9.1920 % (§6.5), down none; at expiry at move 0 both options expire out of the money
    (call strike 100,000 > 97,000, put 90,000 < 97,000): the equity gains back the options' −2,342.35 USD."""
    at = open_app(page=OPTIONS, doc=book_text())
    (units,) = [d.value for d in at.dataframe if "move up" in d.value.columns]  # the risk units' table
    assert list(units["underlying"]) == ["BTC"]
    assert abs(float(units["move up"][0]) - 0.091920) < 5e-7
    assert units["move down"].isna().all()
    assert abs(float(units["price up"][0]) - 97000 * 1.091920) < 0.05
    spec = chart(at, "PnL of the book")
    today, expiry = spec["data"][0], spec["data"][1]
    mid = arr(today["x"]).index(0.0)
    assert arr(today["y"])[mid] == 0.0
    assert abs(arr(expiry["y"])[mid] - 2342.35) < 0.01


def test_a_futures_book_still_shows_the_portfolio_view() -> None:
    at = open_app(page=OPTIONS, doc=book_text(futures_only()))
    assert any("holds no options" in t for t in texts(at.info))
    assert "Initial margin (USD)" in metric_values(at)
    assert chart(at, "Risk matrix of BTC")


# ----------------------------------------------------------------------------- the Shock lab's option sliders


def test_shock_lab_volatility_and_days_change_the_equity() -> None:
    """At no shock the portfolio view's equity is 27,420.13 USD (§6.5). 35 days on (the expiry) both options are
    worth their intrinsic value 0 at the current prices: 29,100.00 + 662.47 = 29,762.47 USD."""
    at = open_app(page=SHOCK_LAB, doc=book_text())
    vol, days = at.slider(key="shock_vol"), at.slider(key="shock_days")
    assert not vol.disabled and not days.disabled
    assert days.max == 35
    assert metric_values(at)["Equity (USD)"] == ["27,420.13 USD"]
    vol.set_value(50.0).run()
    assert_clean(at)
    core = evaluate_portfolio(portfolio_from_dict(copy.deepcopy(BOOK), "x"), vol_shocks=[Shock("ALL", 0.5)])
    shocked = core["modes"]["portfolio"]["pools"][0]["equity"]
    # the short call's vega (−238.25 USD per vol point, §6.5) and the long put's nearly cancel: the equity moves
    # by tens of USD, and the page shows the core's figure
    assert abs(shocked - 27420.13) > 1.0
    assert metric_values(at)["Equity (USD)"] == [f"{shocked:,.2f} USD"]
    vol.set_value(0.0).run()
    at.slider(key="shock_days").set_value(35).run()
    assert_clean(at)
    assert metric_values(at)["Equity (USD)"] == ["29,762.47 USD"]


def test_shock_lab_option_sliders_are_off_without_options() -> None:
    at = open_app(page=SHOCK_LAB, doc=book_text(futures_only()))
    assert at.slider(key="shock_vol").disabled and at.slider(key="shock_days").disabled


# ----------------------------------------------------------------------------- Home's editor with an option


def edit_positions(at: AppTest, change: dict[str, Any]) -> None:
    blank = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    at.session_state["edit_positions"] = {**blank, **change}
    at.session_state["edit_collateral"] = blank
    at.session_state["edit_prices"] = blank
    at.button(key=SUBMIT).click()
    at.run()
    assert_clean(at)


def test_editor_refuses_an_option_with_iv_0_and_keeps_the_book() -> None:
    at = open_app(page=HOME, doc=book_text(futures_only()))
    before = at.session_state["ml_portfolio_json"]
    row = {"symbol": "BTC/USD:BTC-261225-100000-C", "side": "short", "contracts": 2, "entry_price": 0.035, "iv": 0}
    edit_positions(at, {"added_rows": [row]})
    errors = texts(at.error)
    assert len(errors) == 1, errors
    assert errors[0].startswith("The edits were not applied; the previous portfolio is still in force.")
    assert "table row 2.iv must be > 0, got 0" in errors[0]
    assert at.session_state["ml_portfolio_json"] == before


def test_options_market_form_refuses_a_missing_as_of() -> None:
    """The Options page's as_of / index prices form: blanking as_of on a book holding options is refused naming
    ``as_of``, and the book stays."""
    at = open_app(page=OPTIONS, doc=book_text())
    before = at.session_state["ml_portfolio_json"]
    at.text_input(key="opt_as_of").set_value("")
    at.button(key="FormSubmitter:opt_market_form-Apply").click()
    at.run()
    assert_clean(at)
    errors = texts(at.error)
    assert errors and "as_of" in errors[0] and "previous portfolio is still in force" in errors[0]
    assert at.session_state["ml_portfolio_json"] == before


# ----------------------------------------------------------------------------- the calculator's option picker


def test_calculator_option_picker_margins_and_adds_the_short_call() -> None:
    """On the futures-only book, the picker builds BTC/USD:BTC-261225-100000-C; short 2 at iv 0.52 its standard
    margins are those of §6.5: IM 0.3398605 BTC, MM 0.2517162 BTC (shown with 6 significant digits)."""
    at = open_app(page="pages/7_Calculator.py", doc=book_text(futures_only()))
    at.date_input(key="calc_opt_expiry").set_value(date(2026, 12, 25))
    at.number_input(key="calc_opt_strike").set_value(100000.0)
    at.radio(key="calc_opt_side").set_value("short")
    at.number_input(key="calc_opt_contracts").set_value(2.0)
    at.number_input(key="calc_opt_iv").set_value(0.52)
    at.run()
    assert_clean(at)
    assert "Symbol: `BTC/USD:BTC-261225-100000-C`" in texts(at.markdown)
    shown = metric_values(at)
    assert shown["Initial margin (standard)"] == ["0.339861 BTC"]
    assert shown["Maintenance margin (standard)"] == ["0.251716 BTC"]
    at.button(key="calc_opt_add").click().run()
    assert_clean(at)
    held = portfolio_from_dict(json.loads(at.session_state["ml_portfolio_json"]), "x").positions
    assert [p.symbol for p in held] == ["BTC/USD:BTC", "BTC/USD:BTC-261225-100000-C"]
    assert (held[1].side, held[1].contracts, held[1].iv) == ("short", 2.0, 0.52)


def test_shock_lab_draws_the_pools_chart_of_an_option_book() -> None:
    """The market sweep values options (the engine, §6.2, §6.3), so the Shock lab draws its pools chart on the
    §6.5 book. At move 0 the all-cross BTC pool's equity is the wallet + the perpetual's coin PnL + the options'
    values: 3,000 × 10 × (1/95,000 − 1/97,100) = 63,000,000 / 9,224,500,000 = 0.0068296 BTC, options
    −0.1017162 + 0.0775683 = −0.0241479 BTC (§6.5), so 0.3 + 0.0068296 − 0.0241479 = 0.2826817 BTC. In the isolated
    view the options stay in the BTC cross pool (§6.1), which is drawn beside the perpetual's own pool. With the
    volatility slider moved the chart (today's volatility and time) is not drawn, and the page says why."""
    at = open_app(page=SHOCK_LAB, doc=book_text())
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    pools = [sp for sp in specs if any(t.get("name") == "BTC cross" for t in sp["data"])]
    assert len(pools) == 1  # the pools chart (its panels have no title; the gauges have no named pool)
    cross = [t for t in pools[0]["data"] if t.get("name") == "BTC cross"]
    assert len(cross) == 3  # one per view: as is, all cross, and the isolated view's options pool
    xs, ys = arr(cross[0]["x"]), arr(cross[0]["y"])
    assert abs(ys[xs.index(0.0)] - (0.3 + 63_000_000 / 9_224_500_000 - 0.1017162 + 0.0775683)) < 1e-6
    at.slider(key="shock_vol").set_value(20.0).run()
    assert_clean(at)
    assert any("set the volatility, the days forward and the per-asset moves to 0" in t for t in texts(at.caption))
    assert not any("BTC cross" in str(el.proto.spec) for el in at.get("plotly_chart"))


def test_home_editor_sets_as_of_and_index_prices() -> None:
    """Home's editor sets ``as_of`` and ``index_prices`` (format §6.1) with the tables, through the core's reader.
    BTC's index 97,000 → 100,000: an option without ``underlying_price`` takes the index as its forward, so the
    option rows' mark (their underlying price F, §6.4) becomes 100,000 while the perpetual's mark stays 97,100.
    ``as_of`` one day on (2026-11-21T08:00:00Z) is applied as given."""
    at = open_app(page=HOME, doc=book_text())
    at.text_input(key="edit_as_of").set_value("2026-11-21T08:00:00Z")
    at.session_state["edit_index_prices"] = {
        "edited_rows": {0: {"usd_price": 100000.0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key=SUBMIT).click()
    at.run()
    assert_clean(at)
    # the short call deeper in the money liquidates the pool at 100,000 (the page says so): only no refusal
    assert not any("not applied" in t for t in texts(at.error)), texts(at.error)
    doc = json.loads(at.session_state["ml_portfolio_json"])
    assert doc["as_of"] == "2026-11-21T08:00:00Z"
    assert doc["index_prices"] == {"BTC": 100000.0}
    assert at.text_input(key="edit_as_of").value == "2026-11-21T08:00:00Z"
    positions = at.dataframe[0].value  # Home's first positions table: the as-is view
    marks = positions[next(c for c in positions.columns if c.startswith("mark"))].tolist()
    assert marks == [97100.0, 100000.0, 100000.0]


def test_home_editor_refuses_an_as_of_past_an_expiry_and_keeps_the_book() -> None:
    """``as_of`` 2026-12-26T08:00:00Z is past the Dec 25 expiry of both options: the reader refuses it (an option at
    or past its expiry is invalid input, §6.2), the message names the field, and the last good book stays; a blank
    ``as_of`` is refused too (required when the portfolio holds an option, §6.1)."""
    at = open_app(page=HOME, doc=book_text())
    before = at.session_state["ml_portfolio_json"]
    for bad in ("2026-12-26T08:00:00Z", ""):
        at.text_input(key="edit_as_of").set_value(bad)
        at.button(key=SUBMIT).click()
        at.run()
        assert_clean(at)
        errors = texts(at.error)
        assert len(errors) == 1, errors
        assert errors[0].startswith("The edits were not applied; the previous portfolio is still in force.")
        assert "as_of" in errors[0] or "expir" in errors[0], errors[0]
        assert at.session_state["ml_portfolio_json"] == before
