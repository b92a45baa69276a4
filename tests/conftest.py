"""Fixtures of the dashboard tests (``test_app_pages.py``: Streamlit's AppTest; ``test_e2e_browser.py``:
the app served by ``streamlit run`` and driven by Debian's Chromium through Playwright).

Browser tests never skip: without Chromium they fail with a message saying how to install it.
Each xdist worker gets its own session, hence its own server on its own free port and its own browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
SAMPLES = sorted(p.stem for p in (ROOT / "fixtures" / "portfolios").glob("*.json"))
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _fresh_streamlit_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test of a module that uses Streamlit's AppTest starts with empty caches (``st.cache_data``
    outlives an AppTest run inside one process) and with the router's one-time hand-back already done.

    ``dashboard.navigation.ensure_router`` hands the first page run of a server process that bypassed
    ``app.py`` back to the router with one ``st.rerun()`` (a browser session opening a page URL on a fresh
    server). AppTest marks every run as such a bypass; in the first test of a worker process that rerun
    would swallow the next widget event (a button click), so the hand-back, a server-process matter tested
    in the browser, is marked as done here."""
    if "AppTest" not in vars(request.module):
        yield
        return
    import streamlit as st

    import dashboard.navigation

    request.getfixturevalue("monkeypatch").setattr(dashboard.navigation, "_handed_back", True)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_executable() -> str:
    """Debian's Chromium (``scripts/run-tests.sh`` installs it); a missing browser is a failure, not a skip."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "Chromium is not installed: run `bash scripts/run-tests.sh` (it installs Debian's chromium) "
        "or `apt-get install chromium`",
        pytrace=False,
    )


@dataclass
class AppServer:
    """A ``streamlit run app.py`` subprocess; ``log`` holds everything it printed."""

    url: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_app_server(log: Path, env: dict[str, str] | None = None, timeout: float = 60.0) -> AppServer:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    fh = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env or dict(os.environ))
    fh.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read() == b"ok":
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")
        time.sleep(0.2)
    return AppServer(url, port, log, proc)


def stop_app_server(server: AppServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=15)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = start_app_server(tmp_path_factory.mktemp("streamlit") / "server.log")
    yield server
    stop_app_server(server)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium (fresh profile under the session's tmp dir) per xdist worker."""
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A new tab (a new Streamlit session); the test fails on any uncaught error in the page's JavaScript."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"
