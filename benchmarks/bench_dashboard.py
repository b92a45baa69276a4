"""Dashboard timings in headless Chromium (Debian's ``chromium``, Playwright), with the largest sample portfolio.

Targets (issue "dashboard: tests + performance", on a 2-core machine):
  - first page fully rendered under 3 s,
  - a shock-slider move reflected in the chart under 300 ms (median of 20 moves),
  - switching pages under 1 s.

What is measured (all clocks are the page's own ``performance.now()``, so no Python/CDP overhead is counted):
  - first page: from navigation start to the moment the Home page's 12 metrics are drawn, the script run is
    over and no element is stale; "cold" is the first session after the server started (empty caches),
    "warm" new sessions (new tabs) afterwards;
  - slider: from the key press on the focused market-move slider (keydown, captured) to the moment the
    equity chart's marker line of the current move has been redrawn at the new position;
  - page switch: from the click on a sidebar link to the moment the new page's title is drawn, the run is
    over, no element is stale, and the page text stays unchanged for a further 0.5 s (the time reported is
    the first moment of that stable state).

Usage: ``python benchmarks/bench_dashboard.py [--moves 20] [--sessions 5] [--switch-rounds 3]``.
Figures are printed; nothing is asserted (these are not timed tests).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = (
    "() => { const a = document.querySelector('[data-testid=stApp]'); return a !== null && "
    "a.dataset.testScriptState === 'notRunning' && a.dataset.testConnectionState === 'CONNECTED' && "
    "document.querySelector('[data-testid=stStatusWidget]') === null && "
    "document.querySelector('[data-stale=true]') === null; }"
)


def largest_sample() -> str:
    best = max(
        (ROOT / "fixtures" / "portfolios").glob("*.json"),
        key=lambda p: (len(json.loads(p.read_text())["positions"]), p.stat().st_size),
    )
    return best.stem


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
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
            ],
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"streamlit did not start; see {log}")


def page_titles() -> list[tuple[str, str]]:
    """(sidebar label, URL path) of every page file, in order."""
    out = []
    for p in sorted((ROOT / "pages").glob("*.py")):
        path = re.sub(r"^\d+_", "", p.stem)
        out.append((path.replace("_", " "), path))
    return out


def wait_stable(page: Any, condition: str, timeout_s: float = 30.0, hold_ms: float = 500.0) -> float:
    """``performance.now()`` at the first moment ``condition`` held and the page text then stayed the same for
    ``hold_ms`` (in ms since the page's time origin)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        t = page.wait_for_function(
            f"() => ({condition})() ? performance.now() : false", polling="raf", timeout=1000 * timeout_s
        ).json_value()
        text = page.locator("[data-testid=stMain]").inner_text()
        page.wait_for_timeout(hold_ms)
        if page.evaluate(f"({condition})()") and page.locator("[data-testid=stMain]").inner_text() == text:
            return float(t)
    raise SystemExit("the page did not settle")


def home_ready() -> str:
    return f"() => ({READY})() && document.querySelectorAll('[data-testid=stMetricValue]').length === 12"


def first_page(context: Any, url: str, sample: str) -> float:
    page = context.new_page()
    try:
        page.goto(f"{url}/?sample={sample}", wait_until="commit")
        return wait_stable(page, home_ready()) / 1000.0
    finally:
        page.close()


def slider_moves(page: Any, moves: int, phases: list[tuple[float, float]]) -> list[float]:
    """Seconds from each key press to the chart's redraw; ``phases`` gets (key press → script run starts,
    script run start → end) of each move, to tell the browser's share from the server's."""
    page.get_by_test_id("stSidebarNav").get_by_text("Shock lab", exact=True).click()
    cond = (
        "() => (" + READY + ")() && document.querySelectorAll('.js-plotly-plot').length >= 2 && "
        "document.querySelector('.js-plotly-plot .shapelayer path') !== null"
    )
    wait_stable(page, cond)
    page.evaluate("""() => { window.__t0 = null; window.__run = [];
        document.addEventListener('keydown', () => { window.__t0 = performance.now(); window.__run = []; }, true);
        const app = document.querySelector('[data-testid=stApp]');
        new MutationObserver(() => window.__run.push([app.dataset.testScriptState, performance.now()]))
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }""")
    slider = page.locator("[data-testid=stSlider] input[type=range]").first
    out = []
    for k in range(moves):
        marker = page.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot .shapelayer path'))"
            ".map(e => e.getAttribute('d')).join('|')"
        )
        slider.focus()
        page.keyboard.press("ArrowLeft" if k % 10 < 5 else "ArrowRight")  # ±0.5 % per press, back and forth
        dt = page.wait_for_function(
            """m => { const d = Array.from(document.querySelectorAll('.js-plotly-plot .shapelayer path'))
                       .map(e => e.getAttribute('d')).join('|');
                     return (window.__t0 !== null && d !== m) ? performance.now() - window.__t0 : false; }""",
            arg=marker,
            polling="raf",
            timeout=30_000,
        ).json_value()
        out.append(float(dt) / 1000.0)
        wait_stable(page, READY, hold_ms=300)
        run = page.evaluate("() => [window.__t0, window.__run]")
        starts = [t for state, t in run[1] if state == "running"]
        ends = [t for state, t in run[1] if state == "notRunning"]
        if starts and ends:
            phases.append(((starts[0] - run[0]) / 1000.0, (ends[-1] - starts[0]) / 1000.0))
    return out


def page_switches(page: Any, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    tour = [("app", ""), *page_titles()]
    for _ in range(rounds):
        for label, path in tour:
            page.evaluate(
                "() => { window.__click = null; document.addEventListener('click', "
                "() => { if (window.__click === null) window.__click = performance.now(); }, "
                "{capture: true, once: true}); }"
            )
            page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
            page.wait_for_url(re.compile(rf"/{re.escape(path)}(\?.*)?$"))
            cond = (
                f"() => ({READY})() && window.__click !== null && "
                "document.querySelector('[data-testid=stHeading] h1') !== null"
            )
            done = wait_stable(page, cond)
            start = float(page.evaluate("() => window.__click"))
            times.setdefault(label, []).append((done - start) / 1000.0)
    return times


def fmt(values: list[float]) -> str:
    return (
        f"median {1000 * statistics.median(values):7.0f} ms  min {1000 * min(values):6.0f}  "
        f"max {1000 * max(values):6.0f}  (n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--switch-rounds", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not Path(args.chromium).is_file():
        raise SystemExit("Chromium is missing: apt-get install chromium (or bash scripts/run-tests.sh)")
    from playwright.sync_api import sync_playwright

    sample = largest_sample()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    proc, url = start_server(tmp / "server.log")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp / "profile"),
                executable_path=args.chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000},
            )
            cold = first_page(context, url, sample)
            warm = [first_page(context, url, sample) for _ in range(args.sessions)]
            page = context.new_page()
            page.goto(f"{url}/?sample={sample}")
            wait_stable(page, home_ready())
            phases: list[tuple[float, float]] = []
            moves = slider_moves(page, args.moves, phases)
            switches = page_switches(page, args.switch_rounds)
            page.close()
            context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"Margin Lab dashboard, headless Chromium, sample '{sample}', {os.cpu_count()} CPU(s)")
    print(f"first page, cold session (empty caches): {1000 * cold:7.0f} ms   target < 3000 ms")
    print(f"first page, new sessions               : {fmt(warm)}   target < 3000 ms")
    print(f"shock slider move -> chart redrawn     : {fmt(moves)}   target < 300 ms")
    if phases:
        print(f"    key press -> server run starts     : {fmt([a for a, _ in phases])}")
        print(f"    server run (script state running)  : {fmt([b for _, b in phases])}")
    every = [t for ts in switches.values() for t in ts]
    print(f"page switch (all pages)                : {fmt(every)}   target < 1000 ms")
    for label, ts in switches.items():
        print(f"    to {label:<22}: {fmt(ts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
