"""The What-if calculator page through Streamlit's AppTest (no browser): every control, "Add to portfolio", and bad
values, with each number shown checked against :func:`margin.calculator.calculate` (itself held to the engine and
the CLI in ``test_calculator.py``).

Default sample (mixed-cross-isolated, binance-usdm, one-way): BTC, ETH, SOL and WIF are held, so the first market
offered is BNB/USDT:USDT, for which the file has no mark: the price must be typed. BNB tiers: tier 1 notional
0–10,000 (mmr 0.5 %, cap 75×), tier 2 10,000–50,000 (0.6 %, 50×), tier 3 50,000–200,000 (1 %, 40×).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.calculator import price_text
from margin import load_portfolio, parse_portfolio_json
from margin.calculator import Candidate, calculate
from tests.conftest import ROOT, SAMPLES
from tests.test_app_pages import assert_clean, open_app

APP = str(ROOT / "app.py")
PAGE = "pages/7_Calculator.py"
SAMPLE = ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json"
BNB = "BNB/USDT:USDT"
PRICE = f"calc_price_{BNB}"


def open_calculator(query: dict[str, str] | None = None) -> AppTest:
    return open_app(query, PAGE)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def errors(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.error)


def priced(at: AppTest, price: float = 600.0) -> AppTest:
    at.number_input(key=PRICE).set_value(price).run()
    assert_clean(at)
    return at


def expected(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "symbol": BNB,
        "side": "long",
        "margin_mode": "cross",
        "size": 1000.0,
        "unit": "notional",
        "leverage": 10.0,
        "price": 600.0,
    }
    return calculate(load_portfolio(SAMPLE), Candidate(**{**base, **fields}))


def test_opens_with_the_first_free_market_and_asks_for_its_price() -> None:
    at = open_calculator()
    assert at.title[0].value == "What-if calculator"
    assert at.selectbox(key="calc_symbol").value == BNB
    assert BNB in at.selectbox(key="calc_symbol").options
    assert "BTC/USDT:USDT" not in at.selectbox(key="calc_symbol").options  # held (one-way mode)
    assert at.number_input(key=PRICE).value is None
    assert "candidate.price is required: the portfolio has no mark for BNB/USDT:USDT" in errors(at)
    # the candidate shows no figure (the held-isolated-margin card below has its own)
    assert not {"Liquidation price alone", "Liquidation price in the account"} & set(metrics(at))
    tiers = at.dataframe[0].value  # the market's tier table is shown all the same
    assert list(tiers["max leverage (×)"])[:3] == [75.0, 50.0, 40.0]
    assert list(tiers["notional from (USDT)"])[:3] == [0.0, 10_000.0, 50_000.0]


def test_default_candidate_equals_the_core() -> None:
    """1,000 USDT of BNB long cross at 600, 10×: the numbers shown are the core's, with their units."""
    at = priced(open_calculator())
    calc = expected()
    shown = metrics(at)
    assert shown["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")
    assert shown["Liquidation price in the account"] == price_text(calc.liquidation_in_account, "USDT")
    assert shown["Initial margin"] == "100.00 USDT"
    assert shown["Max leverage at this size"] == "75×"
    assert at.slider(key="calc_leverage").max == 75
    frame = at.dataframe[0].value
    assert list(frame["position"]) == [c.id for c in calc.others]
    assert list(frame["liquidation price after (USDT)"].fillna(-1)) == [
        -1 if c.after is None else c.after for c in calc.others
    ]
    assert "tier 1 of 10: notional 0 to 10,000 USDT, max leverage 75×" in " ".join(c.value for c in at.caption)


def test_every_control_changes_the_result() -> None:
    at = priced(open_calculator())
    at.radio(key="calc_side").set_value("short").run()
    assert metrics(at)["Liquidation price alone"] == price_text(expected(side="short").liquidation_alone, "USDT")
    at.radio(key="calc_mode").set_value("isolated").run()
    calc = expected(side="short", margin_mode="isolated")
    assert metrics(at)["Liquidation price in the account"] == price_text(calc.liquidation_in_account, "USDT")
    at.radio(key="calc_unit").set_value("margin").run()
    calc = expected(side="short", margin_mode="isolated", unit="margin")  # 1,000 USDT of margin at 10×
    assert metrics(at)["Initial margin"] == "1,000.00 USDT"
    assert metrics(at)["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")
    at.number_input(key="calc_size").set_value(500.0).run()
    at.slider(key="calc_leverage").set_value(20).run()
    calc = expected(side="short", margin_mode="isolated", unit="margin", size=500.0, leverage=20.0)
    assert metrics(at)["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")
    at.number_input(key=PRICE).set_value(650.0).run()
    calc = expected(side="short", margin_mode="isolated", unit="margin", size=500.0, leverage=20.0, price=650.0)
    assert metrics(at)["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")
    at.selectbox(key="calc_symbol").set_value("XRP/USDT:USDT").run()
    assert_clean(at)
    assert "no mark for XRP/USDT:USDT" in errors(at)
    at.number_input(key="calc_price_XRP/USDT:USDT").set_value(2.5).run()
    calc = expected(
        symbol="XRP/USDT:USDT", side="short", margin_mode="isolated", unit="margin", size=500.0, leverage=20.0,
        price=2.5,
    )  # fmt: skip
    assert metrics(at)["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")


def test_leverage_slider_follows_the_tier_cap() -> None:
    """20,000 USDT of BNB is in tier 2 (cap 50×); 100,000 in tier 3 (40×): the slider's top follows and a
    leverage above the new cap is brought down to it."""
    at = priced(open_calculator())
    at.slider(key="calc_leverage").set_value(70).run()
    at.number_input(key="calc_size").set_value(20_000.0).run()
    assert_clean(at)
    assert at.slider(key="calc_leverage").max == 50
    assert at.slider(key="calc_leverage").value == 50
    assert metrics(at)["Max leverage at this size"] == "50×"
    at.number_input(key="calc_size").set_value(100_000.0).run()
    assert at.slider(key="calc_leverage").max == 40
    assert "tier 3 of 10: notional 50,000 to 200,000 USDT, max leverage 40×" in " ".join(c.value for c in at.caption)


def test_isolated_margin_adjuster() -> None:
    at = priced(open_calculator())
    at.radio(key="calc_mode").set_value("isolated").run()
    at.number_input(key="calc_margin_change").set_value(50.0).run()
    calc = expected(margin_mode="isolated", margin_change=50.0)
    text = " ".join(m.value for m in at.markdown)
    assert "**Isolated margin** 100.00 USDT → 150.00 USDT" in text
    assert price_text(calc.liquidation_alone, "USDT") in text
    assert price_text(calc.liquidation_default_margin, "USDT") in text
    assert metrics(at)["Liquidation price alone"] == price_text(calc.liquidation_alone, "USDT")
    at.number_input(key="calc_margin_change").set_value(-99.0).run()  # 1 USDT left, below the 5 USDT maintenance
    assert_clean(at)
    assert "candidate.margin_change must keep the position out of liquidation at the mark, got -99.0" in errors(at)


def test_add_to_portfolio() -> None:
    at = priced(open_calculator())
    at.button(key="calc_add").click().run()
    assert_clean(at)
    assert any("Added to the portfolio: long 1.6666667 contracts of BNB/USDT:USDT" in s.value for s in at.success)
    book = parse_portfolio_json(at.session_state["ml_portfolio_json"], "session")
    assert len(book.positions) == 5
    assert book.positions[-1].symbol == BNB and book.positions[-1].entry_price == 600.0
    assert book.prices[BNB] == 600.0
    assert json.loads(at.session_state["ml_portfolio_json"])["positions"][-1]["leverage"] == 10.0
    assert BNB not in at.selectbox(key="calc_symbol").options  # held now
    assert "what-if BNB/USDT:USDT" in " ".join(c.value for c in at.caption)
    # the other pages see the new book
    at.switch_page("pages/0_Home.py")
    at.run()
    assert_clean(at)
    assert any(BNB in str(df.value.to_dict()) for df in at.dataframe)


def test_bad_values_give_messages_not_tracebacks() -> None:
    at = priced(open_calculator())
    at.number_input(key="calc_size").set_value(0.0).run()
    assert_clean(at)
    assert "candidate.size must be > 0, got 0.0" in errors(at)
    at.number_input(key="calc_size").set_value(-5.0).run()
    assert "candidate.size must be > 0, got -5.0" in errors(at)
    at.number_input(key="calc_size").set_value(1000.0).run()
    at.number_input(key=PRICE).set_value(0.0).run()
    assert_clean(at)
    assert "candidate.price must be > 0, got 0.0" in errors(at)
    at.number_input(key=PRICE).set_value(None).run()
    assert "candidate.price is required" in errors(at)
    assert not at.button  # nothing to add


def test_pages_with_no_open_market_say_why() -> None:
    at = open_calculator({"sample": "coin-margined"})
    assert "every market binance-coinm has a tier table for (2) is held already (one position per symbol)" in " ".join(
        i.value for i in at.info
    )


def test_hedge_book_offers_the_free_side() -> None:
    """hedged-pair holds a BTC long and a short of another symbol in hedge mode: the first market offered with a
    mark is a held one whose other side is free, and the side shown is that free side."""
    at = open_calculator({"sample": "hedged-pair"})
    symbol = at.selectbox(key="calc_symbol").value
    book = load_portfolio(ROOT / "fixtures" / "portfolios" / "hedged-pair.json")
    taken = {p.side for p in book.positions if p.symbol == symbol}
    assert at.radio(key="calc_side").value not in taken


@pytest.mark.parametrize("sample", SAMPLES)
def test_opens_on_every_sample(sample: str) -> None:
    """No traceback on any sample; the market's tier table, or a note saying why no market is open, is shown."""
    at = open_calculator({"sample": sample})
    assert at.title[0].value == "What-if calculator"
    assert at.dataframe or "No market is open" in " ".join(i.value for i in at.info)


def test_held_isolated_margin_adjuster_shows_and_applies_the_new_liquidation_price() -> None:
    """WIF long 8,000 at 1.45, isolated 580 USDT, mmr 1 %: +100 USDT moves its liquidation price from
    11,020 / 7,920 = 1.3914141 to 10,920 / 7,920 = 1.3787879 (test_calculator.py works it out)."""
    at = open_calculator()
    at.number_input(key="calc_iso_change").set_value(100.0).run()
    assert_clean(at)
    shown = metrics(at)
    assert shown["Liquidation price"].startswith("1.3787879"), shown
    assert shown["Isolated margin"].startswith("680"), shown
    at.button(key="calc_iso_apply").click().run()
    assert_clean(at)
    assert "Applied: isolated margin of WIF long 20x isolated" in " ".join(str(s.value) for s in at.success)
    doc = json.loads(at.session_state["ml_portfolio_json"])
    wif = next(p for p in doc["positions"] if p["symbol"].startswith("WIF"))
    assert wif["isolated_margin"] == 680.0


def test_held_isolated_margin_adjuster_refuses_a_removal_that_liquidates() -> None:
    at = open_calculator()
    at.number_input(key="calc_iso_change").set_value(-300.0).run()
    assert_clean(at)
    assert "must keep the position out of liquidation at the mark" in errors(at)
