"""Helpers of the end-to-end tests (``test_e2e_*.py``): the app served by ``streamlit run`` and driven by
Debian's Chromium through Playwright (fixtures in ``conftest.py``)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: the script run is over, the browser is connected and no "running" indicator is shown
IDLE = (
    "() => { const a = document.querySelector('[data-testid=stApp]'); return a !== null && "
    "a.dataset.testScriptState === 'notRunning' && a.dataset.testConnectionState === 'CONNECTED' && "
    "document.querySelector('[data-testid=stStatusWidget]') === null; }"
)


def settle(page: Any, text: str | None = None, timeout: float = 60.0) -> None:
    """Wait for ``text`` (if given), for the script run to finish and for the page to stop changing (the
    browser draws the last elements a little after the run ends); then no traceback may be on the page."""
    if text is not None:
        page.get_by_text(text, exact=False).first.wait_for(state="attached", timeout=1000 * timeout)
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        idle = page.evaluate(IDLE)
        now = page.locator("[data-testid=stMain]").inner_text() if idle else None
        if not idle or now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 0.4:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"the page did not settle within {timeout} s")
    assert_no_traceback(page)


def assert_no_traceback(page: Any) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, "an exception box is on the page"
    assert "Traceback" not in page.locator("[data-testid=stApp]").inner_text()


def eventually(check: Any, timeout: float = 10.0) -> bool:
    """Poll ``check()`` until it holds (charts animate their numbers for a moment after a run)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def alerts(page: Any) -> list[str]:
    """The alerts of the main column (the sidebar's Share note is not one of the page's)."""
    return [t.strip() for t in page.locator("[data-testid=stMain] [data-testid=stAlertContainer]").all_inner_texts()]


def gauges(page: Any) -> list[str]:
    """What each gauge of the Shock lab reads: its number, or the word that replaces it past the trigger."""
    return list(
        page.evaluate(
            "() => { const f = document.querySelector('.js-plotly-plot'); if (f === null) return [];"
            " return Array.from(f.querySelectorAll('.indicatorlayer .number, .annotation-text'))"
            ".map(e => e.textContent); }"
        )
    )


def stable_gauges(page: Any, timeout: float = 10.0) -> list[str]:
    """The gauges' numbers once their animation is over (two reads 0.5 s apart agree)."""
    deadline = time.monotonic() + timeout
    last = gauges(page)
    while True:
        page.wait_for_timeout(500)
        now = gauges(page)
        if (now == last and len(now) == 3) or time.monotonic() > deadline:
            return now
        last = now


def query(page: Any) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def sidebar(page: Any, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()


def shock_slider(page: Any) -> Any:
    return page.locator("[data-testid=stSlider] input[type=range]").first
