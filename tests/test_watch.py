"""``python -m margin watch`` (format §8) against the local replay server: ccxt's own HTTP path reads Binance
USD-M's premium index (its mark price), served as a sequence of marks that moves between polls.

The book (as in ``tests/test_monitor.py``): USDT 5,000, BTC/USDT:USDT long 1 at 50,000, 10x, cross, one tier
at mmr 1 % and maintenance amount 0 (margin-models.md "Binance USD-M"). At mark P:

    equity = 5,000 + (P − 50,000) = P − 45,000,   maintenance = 0.01 P,   r(P) = 0.01 P / (P − 45,000)

warning from r = 0.5 (P = 22,500 / 0.49 = 45,918.37), margin call from r = 0.8 (P = 36,000 / 0.79 = 45,569.62),
liquidation from r = 1 (P = 45,000 / 0.99 = 45,454.55): the marks 50,000 → 45,900 → 45,500 → 45,400 walk the
pools safe → warning → margin_call → liquidation. The isolated view isolates the position with 50,000 / 10 =
5,000, the whole collateral: same ratio, and its cross pool holds nothing (``safe`` throughout).
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from exchange.testkit.scenarios import binanceusdm_moving_marks, scenario_routes
from exchange.testkit.server import Fault, ReplayServer
from exchange.watch import DEFAULT_INTERVAL, WEBHOOK_BACKOFF, build_parser, main, post_webhook, run
from tests.examples import one_tier
from tests.test_monitor import AS_IS, BOOK, CROSS, ISO, ISO_CROSS

ROOT = Path(__file__).resolve().parent.parent
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
NOW = datetime(2025, 1, 14, 14, 47, 3, tzinfo=UTC)
HELD = (AS_IS, CROSS, ISO)  # the pools holding the position


def ratio(p: float) -> float:
    return 0.01 * p / (p - 45000)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(BOOK))
    return path


class Waits:
    """An injected wait: records the seconds asked, runs a hook after each iteration, never sleeps."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.asked: list[float] = []
        self.hook = hook

    def __call__(self, seconds: float) -> bool:
        self.asked.append(seconds)
        if self.hook is not None:
            self.hook(len(self.asked))
        return False


def watch(
    argv: list[str], environ: dict[str, str] | None = None, wait: Callable[[float], bool] | None = None
) -> tuple[int, list[dict[str, Any]], str, str]:
    """Run the watch in-process: exit status, the parsed stdout lines, raw stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = run(build_parser().parse_args(argv), environ or {}, out, err, clock=lambda: NOW, wait=wait or Waits())
    text = out.getvalue()
    return code, [json.loads(line) for line in text.splitlines()], text, err.getvalue()


def pool_transitions(line: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(t["id"], t["from"], t["to"]) for t in line["transitions"] if t["kind"] == "pool"]


def test_walks_safe_warning_margin_call_liquidation(book: Path) -> None:
    marks = [50000.0, 45900.0, 45500.0, 45400.0]
    waits = Waits()
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": marks})) as server:
        code, lines, text, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "4"], wait=waits
        )
    assert code == 0 and err == ""
    # one compact JSON line per iteration
    assert text.count("\n") == 4 and ", " not in text and '": ' not in text
    # the markets are loaded once; each poll reads the premium index of the book's one symbol
    assert server.paths() == ["GET /fapi/v1/exchangeInfo"] + ["GET /fapi/v1/premiumIndex"] * 4
    assert all(r.query.get("symbol") == "BTCUSDT" for r in server.requests[1:])
    # waits between iterations only (not after the last), at most the default interval
    assert len(waits.asked) == 3 and all(DEFAULT_INTERVAL - 5 < s <= DEFAULT_INTERVAL for s in waits.asked)
    assert [line["iteration"] for line in lines] == [1, 2, 3, 4]
    assert all(list(line) == ["time", "iteration", "marks", "pools", "alerts", "transitions"] for line in lines)
    assert all(line["time"] == "2025-01-14T14:47:03Z" for line in lines)
    assert [line["marks"] for line in lines] == [{BTC: m} for m in marks]
    for line, mark in zip(lines, marks, strict=True):
        by_key = {
            f"{p['view']} {p['settle']} {p['mode']}" + (f" {p['position']}" if p["position"] else ""): p
            for p in line["pools"]
        }
        for key in HELD:
            # r = 500 / 5,000 = 0.1; 459 / 900 = 0.51; 455 / 500 = 0.91; 454 / 400 = 1.135
            assert by_key[key]["margin_ratio"] == pytest.approx(ratio(mark), rel=1e-12)
    # transitions, in order, line by line
    assert pool_transitions(lines[0]) == [(k, None, "safe") for k in (AS_IS, CROSS, ISO_CROSS, ISO)]
    assert pool_transitions(lines[1]) == [(k, "safe", "warning") for k in HELD]
    assert pool_transitions(lines[2]) == [(k, "warning", "margin_call") for k in HELD]
    assert pool_transitions(lines[3]) == [(k, "margin_call", "liquidation") for k in HELD]
    # the alert "mr" (worst ratio > 0.7): clear at 0.1 and 0.51, triggered from 0.91 on
    alerts = [[(t["from"], t["to"]) for t in line["transitions"] if t["kind"] == "alert"] for line in lines]
    assert alerts == [[(None, "clear")], [], [("clear", "triggered")], []]
    assert [line["alerts"] for line in lines] == [[], [], ["mr"], ["mr"]]


def test_a_symbol_without_a_mark_keeps_its_last_one_and_is_reported(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(BOOK))
    doc["collateral"]["USDT"] = 6200
    doc["prices"][ETH] = 3000
    doc["tiers"][ETH] = one_tier(0.01)
    doc["positions"].append({"symbol": ETH, "side": "short", "contracts": 2, "entry_price": 3000, "leverage": 5})
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    # only BTCUSDT's premium index is served: ETHUSDT's request gets the replay server's 404
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [49000.0, 48000.0]})) as server:
        code, lines, _, _ = watch([str(path), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "2"])
    assert code == 0
    assert [line["marks"] for line in lines] == [{BTC: 49000.0, ETH: 3000.0}, {BTC: 48000.0, ETH: 3000.0}]
    assert all(list(line["errors"]) == [ETH] and "404" in line["errors"][ETH] for line in lines)


class Hook(BaseHTTPRequestHandler):
    """A webhook receiver: keeps each POST body, answers ``status`` (set on the server)."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: Any = self.server
        server.received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Any]:
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    httpd.received, httpd.status = [], 204
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_webhook_gets_the_transitions(book: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # a proxy in the environment that does not exist: the delivery must not use it
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/margin?token=t0k3n"
    # iteration 2 changes nothing (same mark): no POST for it
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0, 50000.0, 45900.0]})) as server:
        code, lines, _, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "3", "--webhook", hook]
        )
    assert code == 0 and err == ""
    assert lines[1]["transitions"] == []
    assert len(receiver.received) == 2
    for (path, ctype, body), line in zip(receiver.received, [lines[0], lines[2]], strict=True):
        assert path == "/hooks/margin?token=t0k3n" and ctype == "application/json"
        assert list(body) == ["portfolio", "time", "transitions", "pools"]
        assert body["portfolio"] == "book.json"
        assert (body["time"], body["transitions"], body["pools"]) == (line["time"], line["transitions"], line["pools"])


@pytest.mark.parametrize("failure", ["http 500", "unreachable"])
def test_failed_webhook_is_retried_reported_and_watching_goes_on(book: Path, receiver: Any, failure: str) -> None:
    receiver.status = 500
    port = receiver.server_address[1]
    if failure == "unreachable":
        receiver.shutdown()
        receiver.server_close()
    hook = f"http://127.0.0.1:{port}/secret-path?token=t0k3n"
    waits = Waits()
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0, 45900.0, 45900.0]})) as server:
        code, lines, _, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "3", "--webhook", hook],
            wait=waits,
        )
    assert code == 0 and len(lines) == 3
    # iterations 1 and 2 have transitions: two failed deliveries, one stderr line each, 3 attempts each
    failed = err.splitlines()
    assert len(failed) == 2
    assert all(f"webhook delivery to http://127.0.0.1:{port} failed after 3 attempt(s)" in x for x in failed)
    assert "iteration 1" in failed[0] and "iteration 2" in failed[1]
    assert "HTTP 500" in err if failure == "http 500" else "refused" in err
    assert "secret-path" not in err and "t0k3n" not in err
    if failure == "http 500":
        assert len(receiver.received) == 2 * 3
    # before each retry the watch waited 1 s, then 2 s; then the interval before the next iteration (none
    # after the last): 1, 2, interval, 1, 2, interval
    assert WEBHOOK_BACKOFF == (1.0, 2.0)
    assert len(waits.asked) == 6 and waits.asked[0:2] == waits.asked[3:5] == [1.0, 2.0]
    assert all(DEFAULT_INTERVAL - 5 < waits.asked[i] <= DEFAULT_INTERVAL for i in (2, 5))


def test_post_webhook_stops_retrying_when_the_watch_stops(receiver: Any) -> None:
    receiver.status = 503
    url = f"http://127.0.0.1:{receiver.server_address[1]}/h"
    got = post_webhook(url, {"a": 1}, wait=lambda s: True)
    assert (got.ok, got.attempts, got.cause) == (False, 1, "HTTP 503")
    receiver.status = 200
    assert post_webhook(url, {"a": 1}, wait=lambda s: False).attempts == 1


def test_a_redirect_is_a_failed_delivery(receiver: Any) -> None:
    receiver.status = 302
    got = post_webhook(f"http://127.0.0.1:{receiver.server_address[1]}/h", {"a": 1}, wait=lambda s: False)
    assert (got.ok, got.attempts, got.cause) == (False, 3, "HTTP 302")


def test_a_fault_in_the_middle_is_survived(book: Path) -> None:
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0, 45900.0, 45500.0]})) as server:

        def hook(done: int) -> None:  # after iteration 1 the venue fails for one poll, then recovers
            server.fault = Fault(503, "") if done == 1 else None

        code, lines, _, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "3"], wait=Waits(hook)
        )
    assert code == 0 and err == ""
    assert list(lines[1]) == ["time", "iteration", "error"] and lines[1]["iteration"] == 2
    assert "no mark could be read" in lines[1]["error"] and "HTTP 503" in lines[1]["error"]
    # the faulted poll consumed the sequence's second answer (45,900): the third reads 45,500, and its
    # transitions compare with the last good line (safe → margin_call, r = 0.91)
    assert lines[2]["marks"] == {BTC: 45500.0}
    assert pool_transitions(lines[2]) == [(k, "safe", "margin_call") for k in HELD]


def test_markets_failing_first_then_loaded(book: Path) -> None:
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [45900.0]})) as server:
        server.fault = Fault(503, "")
        code, lines, _, _ = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "2"],
            wait=Waits(lambda done: setattr(server, "fault", None)),
        )
    assert code == 0
    assert "loading markets" in lines[0]["error"] and "unavailable" in lines[0]["error"]
    # the first good line reports every pool from null
    assert pool_transitions(lines[1]) == [
        (AS_IS, None, "warning"),
        (CROSS, None, "warning"),
        (ISO_CROSS, None, "safe"),
        (ISO, None, "warning"),
    ]


def test_max_failures_in_a_row_exit_4(book: Path) -> None:
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0]})) as server:
        server.fault = Fault(503, "")
        code, lines, _, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "10", "--max-failures", "2"]
        )
    assert code == 4 and [line["iteration"] for line in lines] == [1, 2]
    assert all("error" in line for line in lines) and "--max-failures 2" in err


def test_a_success_resets_the_failure_count(book: Path) -> None:
    # polls: fail, ok, fail, fail → with --max-failures 2 the exit is after the 4th, not the 3rd
    pattern = {1: None, 2: Fault(503, ""), 3: Fault(503, "")}
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0]})) as server:
        server.fault = Fault(503, "")
        code, lines, _, _ = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "10", "--max-failures", "2"],
            wait=Waits(lambda done: setattr(server, "fault", pattern.get(done))),
        )
    assert code == 4 and [("error" in line) for line in lines] == [True, False, True, True]


def _readline(stream: Any, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no line from watch in time"
    return str(stream.readline())


@pytest.mark.parametrize(
    ("sig", "during"), [(signal.SIGTERM, "wait"), (signal.SIGINT, "wait"), (signal.SIGTERM, "fetch")]
)
def test_signal_ends_the_watch_with_exit_0(book: Path, sig: int, during: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARGIN_API_")}
    interval = "3600" if during == "wait" else "0.05"
    with ReplayServer(binanceusdm_moving_marks({"BTCUSDT": [50000.0]})) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "margin",
                "watch",
                str(book),
                "--venue",
                "binanceusdm",
                "--api-url",
                server.url,
                "--interval",
                interval,
                "--iterations",
                "1000000",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        try:
            first = json.loads(_readline(proc.stdout, 60))
            assert first["iteration"] == 1
            if during == "fetch":  # every later poll hangs 8 s in the server: the signal comes mid-request
                server.fault = Fault(200, "", delay=8.0)
                time.sleep(0.5)
            sent = time.monotonic()
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert took < 5  # the hour-long wait or the 8-second request was cut short


def test_account_keys_are_never_printed_and_file_alerts_are_kept(book: Path) -> None:
    key, secret = "SENTINEL-KEY-7f3a9c", "SENTINEL-SECRET-0d41e2"
    env = {"MARGIN_API_KEY": key, "MARGIN_API_SECRET": secret}
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        code, lines, text, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--iterations", "2", "--account"], env
        )
        received = list(server.requests)
    assert code == 0, err
    # the key really was sent (Binance's header on the signed calls), so the search below means something
    assert any(r.headers.get("X-MBX-APIKEY") == key for r in received)
    assert key not in text + err and secret not in text + err
    # the imported account (one BTCUSDT long, cross) at the import's mark, with the file's alert rule "mr"
    assert [t for t in lines[0]["transitions"] if t["kind"] == "alert"] == [
        {"kind": "alert", "id": "mr", "from": None, "to": "clear"}
    ]
    assert list(lines[0]["marks"]) == [BTC] and lines[0]["marks"][BTC] != 50000
    # each iteration re-imports the whole account
    assert sum(p == "GET /fapi/v3/positionRisk" for p in server.paths()) == 2


def test_account_failures_keep_keys_out_and_exit_4(book: Path) -> None:
    key, secret = "SENTINEL-KEY-55aa11", "SENTINEL-SECRET-66bb22"
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = Fault(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
        code, lines, text, err = watch(
            [str(book), "--venue", "binanceusdm", "--api-url", server.url, "--account", "--max-failures", "1"],
            {"MARGIN_API_KEY": key, "MARGIN_API_SECRET": secret},
        )
    assert code == 4 and len(lines) == 1 and "authentication failed" in lines[0]["error"]
    assert key not in text + err and secret not in text + err


def test_account_without_keys_is_invalid_input(book: Path) -> None:
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        code, lines, _, err = watch([str(book), "--venue", "binanceusdm", "--api-url", server.url, "--account"])
    assert code == 2 and lines == [] and "MARGIN_API_KEY" in err
    assert server.requests == []


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--interval", "0"], "argument --interval: must be a number > 0 and <= 86400, got '0'"),
        (["--interval", "86401"], "argument --interval: must be a number > 0 and <= 86400, got '86401'"),
        (["--interval", "nan"], "argument --interval:"),
        (["--iterations", "0"], "argument --iterations: must be a whole number >= 1"),
        (["--iterations", "2.5"], "got '2.5'"),
        (["--max-failures", "0"], "argument --max-failures: must be a whole number >= 1"),
        (["--webhook", "ftp://example.com/x"], "argument --webhook: must be an http:// or https:// URL"),
        (["--webhook", "nohost"], "argument --webhook:"),
        (["--webhook", "https://user:pw@example.com/"], "no user:password, got 'https://example.com'"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(book: Path, args: list[str], phrase: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as stop:
        main([str(book), "--venue", "binanceusdm", *args])
    assert stop.value.code == 2 and phrase in capsys.readouterr().err


@pytest.mark.parametrize(
    ("venue", "extra", "content", "phrase"),
    [
        ("kraken", [], None, "--venue: unknown venue 'kraken'"),
        ("binanceusdm", ["--api-url", "ftp://x"], None, "--api-url must look like"),
        ("hyperliquid", ["--account"], None, "--account: hyperliquid is read with a wallet address"),
        ("binanceusdm", [], '{"format": "margin-portfolio/1", "venue": "binance-usdm"}', "collateral"),
        ("binanceusdm", [], "not json", "book.json"),
    ],
)
def test_bad_input_exit_2(
    book: Path, venue: str, extra: list[str], content: str | None, phrase: str, capsys: Any
) -> None:
    if content is not None:
        book.write_text(content)
    assert main([str(book), "--venue", venue, *extra]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err


def test_missing_file_and_the_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "margin", "watch", str(tmp_path / "nope.json"), "--venue", "binanceusdm"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "margin", "-h"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "watch" in helped.stdout
