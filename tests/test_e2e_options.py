"""End to end: the Options & portfolio margin page in headless Chromium (``streamlit run app.py``, fixtures of
``conftest.py``), opened on a shared link holding the worked example of portfolio-format.md §6.5.

The section's independent evaluation: portfolio view IM 19,365.84 USD, MM 0.8 × 19,365.84 = 15,492.68 USD; worst
scenario +16 % with vol up; scenario loss 17,245.84 + contingency 2,120.00 (0.006 × 30,000 + 0.01 × 97,000 × 2).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dashboard.share import PARAM, encode
from tests.browser import settle
from tests.conftest import AppServer
from tests.test_options_page import book_text


def metric(page: Any, label: str) -> list[str]:
    boxes = page.locator("[data-testid=stMetric]").filter(has_text=label)
    return [str(b.locator("[data-testid=stMetricValue]").inner_text()).strip() for b in boxes.all()]


def test_options_page_shows_the_portfolio_views_margin_and_risk_matrix(app_server: AppServer, page: Any) -> None:
    page.goto(f"{app_server.url}/Options?{PARAM}={quote(encode(book_text()))}")
    settle(page, "Initial and maintenance margin of the four views")
    settle(page, "Risk matrix per underlying")
    assert metric(page, "Initial margin (USD)") == ["19,365.84 USD"]
    assert metric(page, "Maintenance margin (USD)") == ["15,492.68 USD"]
    main = page.get_by_test_id("stMain").inner_text()
    assert "worst scenario move +16.00% with vol up" in main
    assert "scenario loss 17,245.84 USD + contingency 2,120.00 USD = requirement 19,365.84 USD" in main
    # the heatmap and the PnL chart are drawn (plotly's SVG main layers)
    assert page.locator("[data-testid=stPlotlyChart]").count() == 2
    page.locator("[data-testid=stPlotlyChart]").first.locator(".heatmaplayer").first.wait_for(state="attached")
