"""End to end: the What-if calculator in headless Chromium (``streamlit run app.py``, fixtures of ``conftest.py``).

On the default sample (mixed-cross-isolated), the first market offered is BNB/USDT:USDT, which the file holds no
mark for: the test types a mark of 600 USDT, switches the margin mode to isolated and reads the liquidation prices
the page shows; they must be the engine's (:func:`margin.calculator.calculate`, held to ``python -m margin
evaluate`` on the combined file in ``test_calculator.py``) to the 8 significant digits shown. For 1,000 USDT of
BNB long isolated at 10×: Q = 1,000 / 600, margin 100 USDT, tier 1 (mmr 0.5 %, cum 0), LP = (100 − 1,000) /
(0.005·Q − Q) = 900 × 600 / (0.995 × 1,000) = 542.71357 USDT.
"""

from __future__ import annotations

from typing import Any

import pytest

from margin import load_portfolio
from margin.calculator import Candidate, calculate
from tests.browser import settle
from tests.conftest import ROOT, AppServer

PRICE_LABEL = "Mark price (USDT); the position opens at it"


def metric(page: Any, label: str) -> str:
    box = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return str(box.locator("[data-testid=stMetricValue]").inner_text()).strip()


def shown_price(text: str, unit: str = "USDT") -> float:
    number, shown_unit = text.rsplit(" ", 1)
    assert shown_unit == unit, text
    return float(number.replace(",", ""))


def test_calculator_shows_the_engines_liquidation_price(app_server: AppServer, page: Any) -> None:
    page.goto(f"{app_server.url}/Calculator")
    settle(page, "What-if calculator")
    settle(page, "candidate.price is required")
    price = page.get_by_label(PRICE_LABEL)
    price.fill("600")
    price.press("Enter")
    settle(page, "Liquidation price in the account")
    page.locator("[data-testid=stRadio]").filter(has_text="Margin mode").get_by_text("isolated", exact=True).click()
    settle(page, "Isolated margin")
    engine = calculate(
        load_portfolio(ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json"),
        Candidate("BNB/USDT:USDT", "long", "isolated", 1000.0, "notional", 10.0, price=600.0),
    )
    assert engine.liquidation_in_account == pytest.approx(900.0 * 600.0 / 995.0, rel=1e-12)
    for label, expected in (
        ("Liquidation price in the account", engine.liquidation_in_account),
        ("Liquidation price alone", engine.liquidation_alone),
    ):
        assert expected is not None
        assert shown_price(metric(page, label)) == float(f"{expected:.8g}"), label
    assert metric(page, "Initial margin") == "100.00 USDT"
    assert metric(page, "Max leverage at this size") == "75×"


def test_calculator_shows_the_loss_at_a_stop(app_server: AppServer, page: Any) -> None:
    """The same BNB candidate, cross, with a stop at 550: the sample gives no slippage, so the stop fills at 550
    and closes Q = 1,000 / 600 contracts: realised (1,000 / 600) × (550 − 600) = −83.33 USDT; the account's
    liquidation price is far below 550, so the stop fires first."""
    page.goto(f"{app_server.url}/Calculator")
    settle(page, "What-if calculator")
    price = page.get_by_label(PRICE_LABEL)
    price.fill("600")
    price.press("Enter")
    settle(page, "Liquidation price in the account")
    stop = page.get_by_role("spinbutton", name="Stop at (USDT, optional)")
    stop.fill("550")
    stop.press("Enter")
    settle(page, "Loss at the stop")
    assert metric(page, "Loss at the stop") == f"{1000 / 600 * (550 - 600):,.2f} USDT" == "-83.33 USDT"
    assert metric(page, "Stop fires before liquidation") == "yes"
    stop.fill("650")  # above the price: a stop on a long would fire at once
    stop.press("Enter")
    settle(page, "candidate.stop must be below the mark 600")
