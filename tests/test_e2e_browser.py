"""End to end: ``streamlit run app.py`` on a free local port, driven by Debian's headless Chromium (Playwright).

Scenarios: every page opens (a screenshot of each goes to ``artifacts/screenshots``); the shock slider moved
with the keyboard changes the liquidated positions, the gauges and the chart; a file is uploaded and the
portfolio and shocks survive moving between pages through the sidebar; a shared URL reproduces the view;
bad uploads and URL parameters show a message with no traceback; an import from the replay server shows the
reconciliation; a sentinel key typed into the masked inputs is found nowhere afterwards.

Expected liquidations are the ones worked by hand in ``test_app_pages.py`` (default sample, every asset
moved alike): at −36 % (two PageDown presses of 18 %) WIF isolated 580 + 8,000 × (1.42 × 0.64 − 1.45) =
−3,749.6, BTC isolated 4,600 + 0.5 × (62,080 − 92,000) = −10,360, ETH isolated 1,890 + 6 × (2,176 − 3,150) =
−3,954 are below zero; SOL short isolated 3,800 + 7,480 and the all-cross pool 30,000 − 14,960 − 5,844 +
7,480 − 4,329.6 = 12,346.4 are far above any maintenance (under 5 % of the notional).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from dashboard.navigation import PAGES as NAV_PAGES
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import ReplayServer
from tests.browser import alerts, eventually, gauges, query, settle, shock_slider, sidebar, stable_gauges
from tests.conftest import ROOT, SCREENSHOTS, AppServer

NONE_LIQUIDATED = "No position liquidated"
HOME_HEADING = "How far from losing the account"
AS_IS_36 = "Liquidated: WIF long 20x isolated"
ISOLATED_36 = "Liquidated: BTC/USDT:USDT long, ETH/USDT:USDT long, WIF long 20x isolated"


def step_slider(page: Any, slider: Any, key: str, times: int) -> None:
    """Press ``key`` on ``slider`` ``times`` times, letting each fragment run finish before the next press.

    Two fragment reruns overlapping (a second key press while the first run is still going) sometimes
    leave Streamlit's run indicator on "running" after the content has been drawn; this was seen on the
    Shock lab and not in a minimal fragment app, and is recorded in the closing note. One press at a time
    is also how the performance benchmark moves the slider."""
    for _ in range(times):
        slider.focus()
        page.keyboard.press(key)
        settle(page)


def chart_marker(page: Any) -> list[str]:
    """The move ruler over the pools chart: where each panel's dashed mark stands, and its label."""
    return page.eval_on_selector_all(
        ".ml-move-ruler .ml-move-mark", "els => els.map(e => e.style.left + ' ' + e.nextSibling.textContent)"
    )


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})
    return path


# ----------------------------------------------------------------------------- every page


def test_every_page_opens_and_is_screenshotted(app_server: AppServer, page: Any) -> None:
    page.goto(f"{app_server.url}/?sample=alt-basket-cross")
    settle(page, HOME_HEADING)
    assert "sample: alt-basket-cross" in page.get_by_test_id("stMain").inner_text()
    path = screenshot(page, "home")
    assert path.stat().st_size > 20_000
    for spec in NAV_PAGES[1:]:  # Home is open already; every other page by its sidebar label
        name = spec.url_path
        sidebar(page, spec.title)  # moving inside the session (a new URL would open a new one)
        page.wait_for_url(f"**/{name}*")
        settle(page)
        main = page.get_by_test_id("stMain").inner_text()
        assert "Page not found" not in main, name
        # the portfolio of this browser session (chosen on Home) is the one every page shows
        if "Portfolio:" in main:
            assert "alt-basket-cross" in main, name
        assert page.locator(".js-plotly-plot").count() + page.locator("[data-testid=stDataFrame]").count() > 0, name
        assert screenshot(page, name).stat().st_size > 20_000
        assert "positions" not in query(page) and "collateral" not in query(page)


# ----------------------------------------------------------------------------- shock slider


def test_shock_slider_moves_liquidations_gauges_and_chart(app_server: AppServer, page: Any) -> None:
    page.goto(f"{app_server.url}/Shock_lab?betas=0")
    settle(page, "Market move (BTC)")
    assert alerts(page) == [NONE_LIQUIDATED] * 3
    gauges_before, chart_before = stable_gauges(page), chart_marker(page)
    slider = shock_slider(page)
    step_slider(page, slider, "PageDown", 2)
    page.wait_for_function("() => document.querySelector('[data-testid=stSlider] input').value === '-36'")
    page.get_by_text(ISOLATED_36).first.wait_for(state="attached")
    settle(page)
    assert alerts(page) == [AS_IS_36, NONE_LIQUIDATED, ISOLATED_36]
    assert gauges(page) != gauges_before and chart_marker(page) != chart_before
    assert query(page)["move"] == "-0.36" and query(page)["betas"] == "0"
    screenshot(page, "Shock_lab_moved")
    step_slider(page, slider, "PageUp", 2)
    page.wait_for_function("() => document.querySelector('[data-testid=stSlider] input').value === '0'")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=stAlertContentSuccess]').length === n", arg=3)
    settle(page)
    assert alerts(page) == [NONE_LIQUIDATED] * 3
    assert eventually(lambda: gauges(page) == gauges_before), (gauges(page), gauges_before)  # numbers animate


def test_shared_url_reproduces_the_view(app_server: AppServer, page: Any, browser_context: Any) -> None:
    page.goto(f"{app_server.url}/Shock_lab?betas=0")
    settle(page, "Market move (BTC)")
    step_slider(page, shock_slider(page), "PageDown", 2)
    page.get_by_text(ISOLATED_36).first.wait_for(state="attached")
    settle(page)
    shared, seen = page.url, stable_gauges(page)
    other = browser_context.new_page()  # another browser session following the link
    try:
        other.bring_to_front()  # a background tab draws no chart
        other.goto(shared)
        settle(other, ISOLATED_36)
        other.wait_for_function(
            "() => { const f = document.querySelector('.js-plotly-plot'); return f !== null &&"
            " f.querySelectorAll('.indicatorlayer .number, .annotation-text').length === 3; }"
        )
        assert shock_slider(other).get_attribute("aria-valuetext") == "-36.00"
        assert alerts(other) == [AS_IS_36, NONE_LIQUIDATED, ISOLATED_36]
        assert eventually(lambda: gauges(other) == seen), (gauges(other), seen)
        # a Liquidation map link: symbol and frontier settings
        other.goto(f"{app_server.url}/Liquidation_map?symbol=ETH/USDT:USDT&x=ETH&y=SOL&range=0.3")
        settle(other, "Liquidation frontier")
        main = other.get_by_test_id("stMain").inner_text()
        assert "ETH/USDT:USDT: where each view liquidates" in other.content()
        assert "Liquidation frontier: ETH and SOL" in other.content(), main[:300]
    finally:
        other.close()


# ----------------------------------------------------------------------------- state across pages, uploads


def upload(page: Any, path: Path) -> None:
    page.get_by_role("tab", name="Upload a file").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))


def test_upload_and_state_survive_moving_between_pages(app_server: AppServer, page: Any) -> None:
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    upload(page, ROOT / "fixtures" / "portfolios" / "btc-long.json")
    settle(page, "file: btc-long.json")
    assert "10,000.00 USDT" in page.get_by_test_id("stMain").inner_text()  # 8,000 + 0.8 × 2,500
    screenshot(page, "home_uploaded")
    sidebar(page, "Cross vs isolated")
    settle(page, "Capital efficiency")
    assert "Portfolio: file: btc-long.json" in page.get_by_test_id("stMain").inner_text()
    sidebar(page, "Shock lab")
    settle(page, "Market move (BTC)")
    assert "Portfolio: file: btc-long.json" in page.get_by_test_id("stMain").inner_text()
    slider = shock_slider(page)
    slider.focus()
    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.querySelector('[data-testid=stSlider] input').value === '-18'")
    settle(page)
    moved = stable_gauges(page)
    # away and back through the sidebar: the shock the user set is still there
    sidebar(page, "How liquidation works")
    settle(page, "how your liquidation prices come about")
    sidebar(page, "Shock lab")
    settle(page, "Market move (BTC)")
    assert "Portfolio: file: btc-long.json" in page.get_by_test_id("stMain").inner_text()
    assert shock_slider(page).get_attribute("aria-valuetext") == "-18.00", "the shock was lost moving between pages"
    assert eventually(lambda: gauges(page) == moved), (gauges(page), moved)


def test_bad_upload_and_bad_url_show_message_keep_state(app_server: AppServer, page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "margin-portfolio/1", "venue": "binance-usdm", "positions": [')
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    before = page.get_by_test_id("stMetricValue").all_inner_texts()
    upload(page, bad)
    settle(page, "The file was not loaded")
    text = page.get_by_test_id("stMain").inner_text()
    assert "the previous portfolio is still in force" in text and "is not valid JSON" in text
    assert "sample: mixed-cross-isolated" in text
    assert page.get_by_test_id("stMetricValue").all_inner_texts() == before
    screenshot(page, "home_bad_upload")
    page.goto(f"{app_server.url}/Shock_lab?move=banana&m_BTC=9")
    settle(page, "Market move (BTC)")
    text = page.get_by_test_id("stMain").inner_text()
    assert "URL parameter move must be a number from -0.9 to 0.9, got 'banana'" in text
    assert "URL parameter m_BTC must be a number" in text
    assert shock_slider(page).get_attribute("aria-valuetext") == "0.00"


# ----------------------------------------------------------------------------- exchange import


def fill(page: Any, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def run_import(page: Any, url: str, key: str, secret: str) -> None:
    page.get_by_role("tab", name="Import from exchange").click()
    page.get_by_test_id("stExpander").get_by_text("Advanced").click()
    for label in ("API key", "API secret"):
        assert page.get_by_label(label, exact=True).get_attribute("type") == "password"
    fill(page, "API key", key)
    settle(page)
    fill(page, "API secret", secret)
    settle(page)
    box = page.get_by_test_id("stExpander").get_by_role("textbox")
    box.fill(url)
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Import account").click()


def test_import_from_replay_server_shows_reconciliation(app_server: AppServer, page: Any) -> None:
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        run_import(page, server.url, "e2e-key-0001", "e2e-secret-0001")
        settle(page, "Reconciliation with the exchange's own figures")
        received = list(server.requests)
    assert any(r.headers.get("X-MBX-APIKEY") == "e2e-key-0001" for r in received)
    text = page.get_by_test_id("stMain").inner_text()
    assert "Current portfolio: import: binanceusdm at" in text
    assert page.get_by_test_id("stDataFrame").count() >= 1
    screenshot(page, "home_imported")
    sidebar(page, "Cross vs isolated")
    settle(page, "Capital efficiency")
    assert "Portfolio: import: binanceusdm" in page.get_by_test_id("stMain").inner_text()


def files_changed_since(root: Path, since: float) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        dirnames[:] = [d for d in dirnames if d not in ("venv", ".venv") and not d.startswith("bash_jobs")]
        for name in filenames:
            p = Path(dirpath) / name
            try:
                st = p.stat()
            except OSError:
                continue
            if st.st_mtime >= since and st.st_size <= 50_000_000 and p.is_file():
                out.append(p)
    return out


def holding(paths: list[Path], needles: list[bytes]) -> list[Path]:
    hits = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            hits.append(p)
    return hits


def test_sentinel_key_is_found_nowhere(app_server: AppServer, page: Any, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    key, secret = f"SENTINELKEY{tag}", f"SENTINELSECRET{tag}"
    needles = [key.encode(), secret.encode()]
    start = time.time() - 1
    log = tmp_path / "replay.log"
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    with ReplayServer(scenario_routes("binanceusdm"), log_path=log) as server:
        run_import(page, server.url, key, secret)
        settle(page, "Reconciliation with the exchange's own figures")
        # switch pages and back: the key is carried by no URL
        sidebar(page, "Shock lab")
        settle(page, "Market move (BTC)")
        urls = [page.url]
        sidebar(page, "Home")
        settle(page, HOME_HEADING)
        urls.append(page.url)
        received = list(server.requests)
    # the key really went out (signed requests carry it), so searching for it means something
    assert any(r.headers.get("X-MBX-APIKEY") == key for r in received)
    for url in urls:
        assert tag not in url
    assert tag not in app_server.log_text()
    assert log.read_text().count("\n") >= 3 and tag not in log.read_text()
    project = [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    assert holding(project, needles) == []
    config = [Path.home() / ".streamlit", ROOT / ".streamlit", Path.home() / ".config" / "streamlit"]
    assert holding([p for d in config if d.is_dir() for p in d.rglob("*") if p.is_file()], needles) == []
    for tmp_root in {Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")}:
        assert holding(files_changed_since(tmp_root, start), needles) == []
