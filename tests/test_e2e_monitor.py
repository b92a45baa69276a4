"""End to end (issue 12, item 6): the Monitor page in ``streamlit run app.py`` driven by Debian's headless
Chromium, against a local replay server whose BTCUSDT mark moves between polls (``Route.sequence``).

The portfolio is :data:`tests.test_app_monitor.BYBIT_DOC`, uploaded on Home: Bybit, 2,000 USDT, 1 BTC long
from 50,000, one tier of mmr 1 %. Its cross pool's margin ratio is 0.01 M / (2,000 + M − 50,000)
(margin-models.md §3.5): 500 / 2,000 = 0.25 (safe) at the first mark 50,000, 489 / 900 = 0.543 (warning,
≥ 0.5) at the next, 48,900. Started with the shortest interval (5 s), the page must show the state move from
"safe" to "warning" and toast it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exchange.testkit.server import ReplayServer
from tests.browser import settle, sidebar
from tests.conftest import SCREENSHOTS, AppServer
from tests.test_app_monitor import BYBIT_DOC, moving_routes

HOME_HEADING = "How far from losing the account"
#: generous but bounded: two refreshes 5 s apart plus the app's own start
WAIT_MS = 30_000


def main_text(page: Any) -> str:
    return str(page.get_by_test_id("stMain").inner_text())


def badges(page: Any) -> list[str]:
    """The state badges of the card (one per view), in order."""
    return [t.strip() for t in page.locator("[data-testid=stMain] .stMarkdownBadge").all_inner_texts()]


def toast_and_badge(page: Any, toast: str, badge: str) -> None:
    """Wait (bounded) for a toast holding ``toast`` and a state badge reading ``badge`` on the page."""
    page.get_by_test_id("stToast").filter(has_text=toast).first.wait_for(state="attached", timeout=WAIT_MS)
    page.wait_for_function(
        "(want) => Array.from(document.querySelectorAll('[data-testid=stMain] .stMarkdownBadge'))"
        ".some(e => e.textContent.trim() === want)",
        arg=badge,
        timeout=WAIT_MS,
    )


def test_monitor_shows_the_state_change_and_a_toast(app_server: AppServer, page: Any, tmp_path: Path) -> None:
    path = tmp_path / "bybit-btc.json"
    path.write_text(json.dumps(BYBIT_DOC), encoding="utf-8")
    page.goto(app_server.url)
    settle(page, HOME_HEADING)
    page.get_by_role("tab", name="Upload a file").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    settle(page, "file: bybit-btc.json")
    sidebar(page, "Monitor")
    settle(page, "Pool states")
    assert "Not started" in main_text(page)
    with ReplayServer(moving_routes()) as server:
        # the portfolio's venue (bybit) is the default; the shortest interval; the replay server's URL
        page.get_by_test_id("stSelectbox").filter(has_text="Refresh every").click()
        page.get_by_role("option", name="5 s").click()
        settle(page)
        page.get_by_test_id("stExpander").get_by_text("API URL (a testnet", exact=False).click()
        box = page.get_by_test_id("stExpander").get_by_role("textbox")
        box.fill(server.url)
        box.press("Enter")
        settle(page)
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Live: public marks from", exact=False).first.wait_for(timeout=WAIT_MS)
        toast_and_badge(page, "Monitoring started on bybit", "safe")
        # the next refresh reads 48,900: safe → warning, on screen and in a toast
        toast_and_badge(page, "safe → warning", "warning")
        assert "warning" in badges(page)
        assert "bybit" in main_text(page) and server.url in main_text(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "monitor_live.png"))
        page.get_by_role("button", name="Stop").click()
        settle(page, "Not started")
    assert all("X-BAPI-API-KEY" not in r.headers for r in server.requests)  # public data only, no key
