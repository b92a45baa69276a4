"""End to end (issue 10): ``streamlit run app.py`` driven by Debian's headless Chromium through Playwright.

- the sidebar's Share link round-trips: a sample other than the default, a shock set on the Shock lab,
  Share, the link opened in a new tab (a new session) shows the same portfolio, numbers and slider;
- the Home positions table (its first view tab, "as is") holds the liquidation prices that
  ``python -m margin evaluate FILE --format json`` prints, for every sample;
- the Shock lab at −90 % and +90 %, betas on and off, on every sample, shows no exception;
- on a phone (390 × 844) Home and the Shock lab do not scroll sideways, and at 1440 px their tables are
  not cut off.

``st.dataframe`` draws its cells on a canvas (glide-data-grid); the grid also keeps an accessibility
table (``table[role=grid]``, cells with ``aria-rowindex`` / ``aria-colindex``) holding each cell's raw
value. That table is virtualised (only the rows and columns in view), so the grid is scrolled through
and the rows collected by their index.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard import share
from tests.browser import alerts, eventually, gauges, query, settle, shock_slider, sidebar, stable_gauges
from tests.conftest import SAMPLES, AppServer
from tests.test_dashboard_units import cli_evaluate

HOME_HEADING = "How far from losing the account"
SHOCK_HEADING = "Market move (BTC)"
SHARE_NOTE = "The link contains your positions (sizes"
#: the grid's accessibility rows in view: {row index: {column index: text}}
GRID_ROWS = (
    "e => Object.fromEntries(Array.from(e.querySelectorAll('table[role=grid] tr[aria-rowindex]')).map(r =>"
    " [r.getAttribute('aria-rowindex'), Object.fromEntries(Array.from(r.children).map(c =>"
    " [c.getAttribute('aria-colindex'), c.textContent]))]))"
)
GRID_WIDTHS = (
    "() => Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame]'))"
    ".map(e => e.querySelector('.dvn-scroller')).filter(s => s !== null && s.clientWidth > 0)"
    ".map(s => [s.scrollWidth, s.clientWidth])"
)
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


# ----------------------------------------------------------------------------- helpers (as test_e2e_browser)


def main_text(page: Any) -> str:
    return str(page.get_by_test_id("stMain").inner_text())


def metric_values(page: Any) -> list[str]:
    return [str(t) for t in page.get_by_test_id("stMetricValue").all_inner_texts()]


def grid_rows(grid: Any) -> list[dict[str, str]]:
    """Every row of an ``st.dataframe`` as {header: raw text}, scrolling the grid through its rows."""
    scroller = grid.locator(".dvn-scroller").first
    seen: dict[int, dict[str, str]] = {}
    total = int(grid.locator("table[role=grid]").get_attribute("aria-rowcount"))
    scroller.evaluate("s => { s.scrollTop = 0; s.scrollLeft = 0; }")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        shown = grid.evaluate(GRID_ROWS)
        for index, cells in shown.items():
            seen[int(index)] = {**seen.get(int(index), {}), **cells}
        if len(seen) >= total:
            break
        # a third of the view down, then wait for the accessibility table to follow (it lags the canvas)
        scroller.evaluate("s => { s.scrollTop += Math.max(1, Math.floor(s.clientHeight / 3)); }")
        before = max(int(i) for i in shown)
        for _ in range(40):
            grid.page.wait_for_timeout(50)
            if max(int(i) for i in grid.evaluate(GRID_ROWS)) != before:
                break
    assert sorted(seen) == list(range(1, total + 1)), f"rows {sorted(seen)[:5]}... of {total}"
    header = seen.pop(1)
    names = {col: header[col] for col in header}
    return [{names[c]: v for c, v in seen[i].items()} for i in sorted(seen)]


def same_number(text: str, value: float | None) -> bool:
    if value is None:
        return text.strip() == ""
    return math.isclose(float(text), value, rel_tol=1e-12, abs_tol=0.0)


# ----------------------------------------------------------------------------- (1) the Share link


def test_share_link_round_trips_portfolio_and_shock(app_server: AppServer, page: Any, browser_context: Any) -> None:
    page.goto(f"{app_server.url}/?sample=alt-basket-cross")
    settle(page, HOME_HEADING)
    home_numbers = metric_values(page)
    assert "sample: alt-basket-cross" in main_text(page)
    sidebar(page, "Shock lab")
    page.wait_for_url("**/Shock_lab*")
    settle(page, SHOCK_HEADING)
    slider = shock_slider(page)
    slider.focus()
    page.keyboard.press("PageDown")  # −18 %
    page.wait_for_function("() => document.querySelector('[data-testid=stSlider] input').value === '-18'")
    settle(page)
    seen_alerts, seen_gauges = alerts(page), stable_gauges(page)
    assert query(page)["move"] == "-0.18"
    bar = page.get_by_test_id("stSidebar")
    assert "The link contains your positions" in bar.inner_text()  # said before the button is pressed
    bar.get_by_role("button", name="Share").click()
    settle(page, SHARE_NOTE)
    note = bar.get_by_text(SHARE_NOTE).first
    code = bar.locator("[data-testid=stCode] code").first
    assert note.bounding_box()["y"] < code.bounding_box()["y"]  # the note first, then the link
    link = code.text_content().strip()
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == app_server.url and parts.path == "/Shock_lab"
    shared = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    assert shared["move"] == "-0.18" and shared["sample"] == "alt-basket-cross" and shared["p"]
    other = browser_context.new_page()  # another browser session following the link
    try:
        other.bring_to_front()  # a background tab draws no chart
        other.goto(link)
        settle(other, SHOCK_HEADING)
        assert "Portfolio: shared link (sample: alt-basket-cross)" in main_text(other)
        assert shock_slider(other).get_attribute("aria-valuetext") == "-18.00"
        assert alerts(other) == seen_alerts
        assert eventually(lambda: stable_gauges(other) == seen_gauges), (gauges(other), seen_gauges)
        assert "p" not in query(other), "the portfolio stays in the address bar after it was read"
        sidebar(other, "Home")
        settle(other, HOME_HEADING)
        assert metric_values(other) == home_numbers
        assert "Current portfolio: shared link (sample: alt-basket-cross)" in main_text(other)
    finally:
        other.close()


def test_share_link_never_holds_a_typed_key(app_server: AppServer, page: Any) -> None:
    tag = uuid.uuid4().hex
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    page.get_by_role("tab", name="Import from exchange").click()
    for label, value in (("API key", f"SENTINELKEY{tag}"), ("API secret", f"SENTINELSECRET{tag}")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        settle(page)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Share").click()
    settle(page, SHARE_NOTE)
    link = page.get_by_test_id("stSidebar").locator("[data-testid=stCode] code").first.text_content()
    assert link and "p=" in link and tag not in link
    assert tag not in share.decode({k: v[-1] for k, v in parse_qs(urlsplit(link).query).items()}["p"])


def test_bad_share_link_says_why_and_keeps_the_default(app_server: AppServer, page: Any) -> None:
    page.goto(f"{app_server.url}/Shock_lab?p=bm90IHpsaWI&move=-0.1")
    settle(page, SHOCK_HEADING)
    text = main_text(page)
    assert "URL parameter p (the shared portfolio) must be zlib-compressed data" in text
    assert "Portfolio: sample: mixed-cross-isolated" in text
    assert shock_slider(page).get_attribute("aria-valuetext") == "-10.00"


# ----------------------------------------------------------------------------- (2) Home table = CLI


@pytest.mark.parametrize("sample", SAMPLES)
def test_home_positions_table_equals_the_cli(app_server: AppServer, page: Any, sample: str) -> None:
    """The first view tab (as is): symbol, side, margin mode and liquidation price of every row, in the
    CLI's order, the price to the last digit (the grid keeps the float's shortest text, as JSON does)."""
    expected = cli_evaluate(sample)["modes"]["as_is"]["positions"]
    page.goto(f"{app_server.url}/?sample={sample}")
    settle(page, HOME_HEADING)
    tabs = page.get_by_test_id("stTabs").first
    grid = tabs.locator("[data-testid=stDataFrame]").first
    grid.wait_for(state="visible")
    rows = grid_rows(grid)
    assert len(rows) == len(expected)
    liq = next(name for name in rows[0] if name.startswith("liq. price"))
    for row, pos in zip(rows, expected, strict=True):
        assert (row["symbol"], row["side"]) == (pos["symbol"], pos["side"])
        assert same_number(row[liq], pos["liquidation_price"]), (pos["id"], row[liq], pos["liquidation_price"])
        assert same_number(row["distance"], pos["distance_to_liquidation"]), pos["id"]


# ----------------------------------------------------------------------------- (3) Shock lab at ±90 %


@pytest.mark.parametrize("sample", SAMPLES)
def test_shock_lab_at_the_limits_shows_no_exception(app_server: AppServer, page: Any, sample: str) -> None:
    for move in ("-0.9", "0.9"):
        for betas in ("1", "0"):
            page.goto(f"{app_server.url}/Shock_lab?sample={sample}&move={move}&betas={betas}")
            settle(page, SHOCK_HEADING, timeout=120)
            where = (sample, move, betas)
            assert shock_slider(page).get_attribute("aria-valuetext") == f"{100 * float(move):.2f}", where
            assert "URL parameter" not in main_text(page), where
            assert len(alerts(page)) >= 3, where  # each view says what is liquidated, or that nothing is


# ----------------------------------------------------------------------------- (4) phone and desktop widths


@pytest.mark.parametrize("path", ["/", "/Shock_lab"])
def test_no_sideways_scroll_on_a_phone(app_server: AppServer, page: Any, path: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    for sample in SAMPLES:
        page.goto(f"{app_server.url}{path}?sample={sample}")
        settle(page, HOME_HEADING if path == "/" else SHOCK_HEADING)
        scroll, client = page.evaluate(PAGE_WIDTH)
        assert scroll <= client + 1, (sample, path, scroll, client)


@pytest.mark.parametrize("path", ["/", "/Shock_lab"])
def test_tables_are_not_cut_off_at_1440(app_server: AppServer, page: Any, path: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 1000})
    try:
        for sample in SAMPLES:
            page.goto(f"{app_server.url}{path}?sample={sample}")
            settle(page, HOME_HEADING if path == "/" else SHOCK_HEADING)
            scroll, client = page.evaluate(PAGE_WIDTH)
            assert scroll <= client + 1, (sample, path, scroll, client)
            if path == "/Shock_lab":
                page.get_by_text("Betas used (daily log returns against BTC)").click()
                settle(page)
            widths = page.evaluate(GRID_WIDTHS)
            assert widths, (sample, path)
            assert all(w <= c + 1 for w, c in widths), (sample, path, widths)
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
