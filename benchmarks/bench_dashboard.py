"""Dashboard timings in headless Chromium (Debian's ``chromium``, Playwright) on books of every size.

Books: the six hand-made samples (up to 6 positions each), the 200-position sample (``book-200``) and a
1,000-position book from :func:`benchmarks.books.build_book` (uploaded through the Home page).

Targets (issue 10, on a 2-core machine): a Shock lab slider move redrawn under 150 ms with the 6-position
samples, under 300 ms with the 200-position book and under 1 s with 1,000 positions; the cold first page under
2.5 s; switching pages under 1 s.

What is measured (all clocks are the page's own ``performance.now()``, so no Python/CDP overhead is counted):
  - first page: from navigation start to the moment Home's figures and positions tables are drawn, the script
    run is over and no element is stale (a new browser session each time; the first one after the server
    started is "cold", with empty caches);
  - slider: from the key press on the focused market-move slider (keydown, captured) to the moment the move
    marker above the pools chart stands at the new move ("marker"), and to the end of that run with every
    element drawn ("run over": script state back to not running, nothing stale). The chart itself is built
    once per portfolio and not redrawn while the slider moves;
  - page switch: from the click on a sidebar link to the moment the new page's title is drawn, the run is
    over, no element is stale, and the page text stays unchanged for a further 0.5 s (the time reported is
    the first moment of that stable state).

Usage: ``python benchmarks/bench_dashboard.py [--moves 20] [--sessions 3] [--switch-rounds 2] [--books ...]``.
Medians are printed; nothing is asserted (these are not timed tests).
"""

from __future__ import annotations

import argparse
import json
import os
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
sys.path.insert(0, str(ROOT))

from benchmarks.books import build_book  # noqa: E402
from dashboard.navigation import PAGES  # noqa: E402

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
HOME_READY = (
    f"() => ({READY})() && document.querySelectorAll('[data-testid=stMetricValue]').length === 9 && "
    "document.querySelectorAll('[data-testid=stDataFrame]').length >= 1"
)
MARKER = "() => Array.from(document.querySelectorAll('.ml-move-mark')).map(e => e.style.left).join('|')"
SMALL = ["alt-basket-cross", "btc-long", "coin-margined", "hedged-pair", "hyperliquid-account", "mixed-cross-isolated"]


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


def wait_stable(page: Any, condition: str, timeout_s: float = 60.0, hold_ms: float = 500.0) -> float:
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


def open_book(context: Any, url: str, book: str, upload: Path | None) -> tuple[Any, float]:
    """A new session on Home with ``book`` loaded (a sample by name, or ``upload`` through the uploader);
    the seconds from navigation start to Home drawn, or for an upload from choosing the file to Home
    drawn with it."""
    page = context.new_page()
    page.goto(f"{url}/" if upload else f"{url}/?sample={book}", wait_until="commit")
    seconds = wait_stable(page, HOME_READY) / 1000.0
    if upload is not None:
        page.get_by_role("tab", name="Upload a file").click()
        start = float(page.evaluate("() => performance.now()"))
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
        page.get_by_text(f"file: {upload.name}", exact=False).first.wait_for(state="attached", timeout=120_000)
        seconds = (wait_stable(page, HOME_READY, timeout_s=120) - start) / 1000.0
    return page, seconds


def sidebar(page: Any, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()


def slider_moves(page: Any, moves: int) -> tuple[list[float], list[float]]:
    """Seconds from each key press to the move marker at its new place, and to the end of the run."""
    sidebar(page, "Shock lab")
    wait_stable(page, f"() => ({READY})() && document.querySelector('.ml-move-mark') !== null", timeout_s=120)
    page.evaluate("""() => { window.__t0 = null;
        document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, true); }""")
    slider = page.locator("[data-testid=stSlider] input[type=range]").first
    marker_times, run_times = [], []
    for k in range(moves):
        before = page.evaluate(MARKER)
        slider.focus()
        page.keyboard.press("ArrowLeft" if k % 10 < 5 else "ArrowRight")  # ±0.5 % per press, back and forth
        dt = page.wait_for_function(
            f"m => (window.__t0 !== null && ({MARKER})() !== m) ? performance.now() - window.__t0 : false",
            arg=before,
            polling="raf",
            timeout=60_000,
        ).json_value()
        marker_times.append(float(dt) / 1000.0)
        done = wait_stable(page, READY, hold_ms=300)
        run_times.append((done - float(page.evaluate("() => window.__t0"))) / 1000.0)
    return marker_times, run_times


def page_switches(page: Any, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for spec in PAGES:
            page.evaluate(
                "() => { window.__click = null; document.addEventListener('click', "
                "() => { if (window.__click === null) window.__click = performance.now(); }, "
                "{capture: true, once: true}); }"
            )
            sidebar(page, spec.title)
            cond = (
                f"() => ({READY})() && window.__click !== null && "
                "document.querySelector('[data-testid=stHeading] h1') !== null"
            )
            done = wait_stable(page, cond, timeout_s=120)
            start = float(page.evaluate("() => window.__click"))
            times.setdefault(spec.title, []).append((done - start) / 1000.0)
    return times


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {1000 * statistics.median(values):7.0f} ms  min {1000 * min(values):6.0f}  "
        f"max {1000 * max(values):6.0f}  (n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=20, help="slider moves per book (default 20)")
    parser.add_argument("--sessions", type=int, default=3, help="new sessions timed per book (default 3)")
    parser.add_argument("--switch-rounds", type=int, default=2, help="tours of every page (book-200; default 2)")
    parser.add_argument("--books", default="small,200,1000", help="comma list of small, 200, 1000")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not Path(args.chromium).is_file():
        raise SystemExit("Chromium is missing: apt-get install chromium (or bash scripts/run-tests.sh)")
    from playwright.sync_api import sync_playwright

    wanted = args.books.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    big = tmp / "book-1000.json"
    big.write_text(json.dumps(build_book(1000, seed=0)), encoding="utf-8")
    books: list[tuple[str, Path | None]] = []
    if "small" in wanted:
        books += [(name, None) for name in SMALL]
    if "200" in wanted:
        books.append(("book-200", None))
    if "1000" in wanted:
        books.append(("book-1000", big))
    proc, url = start_server(tmp / "server.log")
    results: dict[str, dict[str, Any]] = {}
    switches: dict[str, list[float]] = {}
    cold = None
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp / "profile"),
                executable_path=args.chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1440, "height": 1000},
            )
            for book, upload in books:
                firsts = []
                for _ in range(max(args.sessions, 1)):
                    page, seconds = open_book(context, url, book, upload)
                    if cold is None:
                        cold = seconds
                    firsts.append(seconds)
                    page.close()
                page, _ = open_book(context, url, book, upload)
                marker, run = slider_moves(page, args.moves)
                if book == "book-200" and args.switch_rounds:
                    switches = page_switches(page, args.switch_rounds)
                page.close()
                results[book] = {"first": firsts, "marker": marker, "run": run}
                print(f"  done {book}", file=sys.stderr)
            context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"Margin Lab dashboard, headless Chromium 1440 × 1000, {os.cpu_count()} CPU(s)")
    if cold is not None:
        print(f"first page, cold server (empty caches): {1000 * cold:7.0f} ms   target < 2500 ms")
    small = [b for b in results if b in SMALL]
    if small:
        print("six hand-made samples (≤ 6 positions each), pooled:")
        print(f"  first page (Home)              : {fmt([t for b in small for t in results[b]['first']])}")
        print(f"  slider -> move marker          : {fmt([t for b in small for t in results[b]['marker']])}")
        runs = fmt([t for b in small for t in results[b]["run"]])
        print(f"  slider -> run over, all drawn  : {runs}   target < 150 ms")
    for book in ("book-200", "book-1000"):
        if book in results:
            r = results[book]
            what = "first page (Home)" if book == "book-200" else "upload -> Home drawn"
            print(f"{book}:")
            print(f"  {what:<31}: {fmt(r['first'])}")
            target = "300 ms" if book == "book-200" else "1000 ms"
            print(f"  slider -> move marker          : {fmt(r['marker'])}")
            print(f"  slider -> run over, all drawn  : {fmt(r['run'])}   target < {target}")
    if switches:
        every = [t for ts in switches.values() for t in ts]
        print(f"page switch, book-200 (all pages)  : {fmt(every)}   target < 1000 ms")
        for label, ts in switches.items():
            print(f"    to {label:<22}: {fmt(ts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
