"""The Contagion page's order-book depth control and waterfall, and the Stress tests page's probability
as a percentage with its interval, through Streamlit's AppTest (app.py + switch_page, as in
``test_app_pages.py``). Expected figures: ``test_impact_depth.py`` works them by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_app_pages import open_app

APP = str(ROOT / "app.py")
CONTAGION = "pages/4_Contagion.py"
STRESS = "pages/5_Stress_tests.py"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """``st.cache_data`` outlives an AppTest run inside one process: every test starts empty."""
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()


def open_page(page: str, query: dict[str, str]) -> AppTest:
    return open_app(query, page)


def metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label.startswith(label))


def test_depth_control_drives_the_amplification() -> None:
    """btc-long, ALL −30 %, linear book. Default BTC depth 8,265,000 USD per 1 %: the 67,889 USD forced
    sale moves BTC −0.0082 %, ×1.0002; set to 100,000 per 1 %: −0.679 %, ×1.0158."""
    at = open_page(CONTAGION, {"sample": "btc-long", "impact": "linear", "move": "-0.3"})
    box = at.number_input(key="ct_depth_BTC")
    assert box.label == "BTC, USD per 1 %" and box.value == pytest.approx(8265000.0) and not box.disabled
    assert metric(at, "Largest amplification") == "×1.0002"
    assert any("Amberdata" in str(c.value) and "assumption" in str(c.value) for c in at.caption)
    box.set_value(100000.0).run()
    assert [e.value for e in at.exception] == []
    assert metric(at, "Largest amplification") == "×1.0158"
    table = at.dataframe[0].value
    assert list(table["depth, USD per 1 %"]) == [pytest.approx(1e5)]
    assert list(table["final / shock"]) == [pytest.approx(1.0158, abs=1e-4)]
    assert len(at.get("plotly_chart")) == 2  # the cross and the isolated waterfalls


def test_depth_inputs_follow_the_impact_law() -> None:
    """No impact: no depth input; square-root law: the inputs are shown but disabled (it uses σ and V)."""
    at = open_page(CONTAGION, {"sample": "mixed-cross-isolated"})
    assert len(at.number_input) == 0
    assert not any(m.label.startswith("Largest amplification") for m in at.metric)
    at = open_page(CONTAGION, {"sample": "mixed-cross-isolated", "impact": "sqrt"})
    assert [n.key for n in at.number_input] == ["ct_depth_BTC", "ct_depth_ETH", "ct_depth_SOL", "ct_depth_WIF"]
    assert all(n.disabled for n in at.number_input)


def test_stress_probability_is_a_percentage_with_its_interval() -> None:
    at = open_page(STRESS, {"sample": "btc-long"})
    at.select_slider(key="risk_paths").set_value(1000)
    at.button(key="risk_run").click().run()
    assert [e.value for e in at.exception] == []
    table = next(d.value for d in at.dataframe if "probability of liquidation" in d.value.columns)
    pattern = re.compile(r"^\d+\.\d{1,2} % \(\d+\.\d{1,2}–\d+\.\d{1,2} %, 95 % interval\)$")
    assert all(pattern.match(s) for s in table["probability of liquidation"]), list(table["probability of liquidation"])
    assert any("Wilson" in str(c.value) for c in at.caption)


def test_order_fills_and_the_gap_switch() -> None:
    """eth-stop (format §7's example: USDT 5,000, ETH long 2 at 3,000, mark 3,100, stop 2,900, slippage
    0.001). ALL −30 % on the path: the stop fills at 2,900 × 0.999 = 2,897.10, realised 2 × (2,897.10 −
    3,000) = −205.80, collateral left 5,000 − 205.80 = 4,794.20 in the cross view. With the gap the shock
    is at once: the stop fills at the shocked mark 3,100 × 0.7 = 2,170 × 0.999 = 2,167.83, realised
    2 × (2,167.83 − 3,000) = −1,664.34, collateral left 3,335.66."""
    at = open_page(CONTAGION, {"sample": "eth-stop", "move": "-0.3"})
    assert metric(at, "Orders filled") == "1 of 2"
    cross = next(d.value for d in at.dataframe if "fill price" in d.value.columns)
    fill = cross[cross["event"] == "stop filled"].iloc[0]
    assert fill["order"] == "sl-eth"
    assert fill["fill price"] == pytest.approx(2897.10, rel=1e-12)
    assert fill["realized PnL"] == pytest.approx(-205.80, rel=1e-9)
    assert fill["collateral left"] == pytest.approx(4794.20, rel=1e-9)
    assert any("another order closed" in str(c.value) for c in at.caption)  # the take-profit's outcome
    at.toggle(key="ct_gap").set_value(True).run()
    assert [e.value for e in at.exception] == []
    cross = next(d.value for d in at.dataframe if "fill price" in d.value.columns)
    fill = cross[cross["event"] == "stop filled"].iloc[0]
    assert fill["fill price"] == pytest.approx(2167.83, rel=1e-12)
    assert fill["realized PnL"] == pytest.approx(-1664.34, rel=1e-9)
    assert fill["collateral left"] == pytest.approx(3335.66, rel=1e-9)


def test_a_stop_the_pool_never_reaches_is_said_plainly() -> None:
    """A cross pool liquidated before a stop fires shows a warning naming the order (the core's outcome
    ``liquidated_first``, worked in tests/test_cascade_orders.py)."""
    from margin.files import dump_portfolio_json
    from margin.portfolio import portfolio_from_dict
    from tests.test_cascade_orders import two_positions

    text = dump_portfolio_json(portfolio_from_dict(two_positions(2650.0)))
    at = open_app({"move": "-0.2"}, CONTAGION, text)
    words = [str(w.value) for w in at.warning]
    assert any("sl-a" in w and "liquidated" in w for w in words), words
