"""Fault injection through the replay server: every ccxt failure gives its specific message, from the adapter
and from the command line (exit status 4, message on stderr, no traceback, ``--out`` untouched).

Error bodies are Binance's documented ones (``fixtures/exchange-responses/errors/binance_errors.json``); the
status codes, ``Retry-After`` header, delays and truncations are injected by the server. ccxt's own HTTP
client, error mapping (``handle_errors``/``httpExceptions``) and parsers run unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt  # type: ignore[import-untyped]
import pytest

from exchange.adapter import Credentials, ExchangeError, fetch_account, map_error
from exchange.testkit.scenarios import load_fixture, scenario_routes
from exchange.testkit.server import Fault, ReplayServer

ROOT = Path(__file__).resolve().parent.parent
ERRORS = {c["description"]: c for c in load_fixture("errors/binance_errors.json")["cases"]}
CREDS = Credentials("test-key-0001", "test-secret-0001")


def body(description: str) -> Any:
    return ERRORS[description]["httpResponse"]


# (fault, expected kind, phrases the message must contain)
FAULTS: dict[str, tuple[Fault, str, tuple[str, ...]]] = {
    "401 invalid key": (
        Fault(401, body("invalid key / IP / permission")),
        "authentication",
        ("authentication failed", "Invalid API-key, IP, or permissions for action.", "MARGIN_API_KEY"),
    ),
    "401 key format": (Fault(401, body("bad key format")), "authentication", ("API-key format invalid.",)),
    "400 bad signature": (
        Fault(400, body("bad signature (wrong secret)")),
        "authentication",
        ("Signature for this request is not valid.", "MARGIN_API_SECRET"),
    ),
    "400 clock skew": (Fault(400, body("clock skew (recvWindow)")), "bad_request", ("recvWindow", "clock")),
    "403 forbidden": (Fault(403, "<html>403 Forbidden</html>"), "permission", ("permission denied", "HTTP 403")),
    "429 retry-after": (
        Fault(429, body("rate limited"), {"Retry-After": "7"}),
        "rate_limit",
        ("rate limited", "HTTP 429", "retry after 7 s", "Too much request weight used"),
    ),
    "418 ip ban": (Fault(418, body("IP banned after 429s")), "rate_limit", ("HTTP 418", "IP banned")),
    "500": (Fault(500, ""), "exchange_down", ("unavailable or in maintenance", "HTTP 500")),
    "503 with body": (
        Fault(503, '{"code":-1001,"msg":"Internal error; unable to process your request."}'),
        "exchange_down",
        ("HTTP 503", "Internal error; unable to process your request."),
    ),
    "timeout": (Fault(200, "", delay=1.6), "timeout", ("no answer within 1 s", "timeout")),
    "truncated json": (Fault(truncate=40), "malformed_response", ("could not be read", "truncated")),
    "html page": (Fault(200, "<html>maintenance</html>"), "malformed_response", ("could not be read",)),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_adapter_fault_messages(name: str) -> None:
    fault, kind, phrases = FAULTS[name]
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = fault
        with pytest.raises(ExchangeError) as err:
            fetch_account("binanceusdm", CREDS, api_url=server.url, timeout_ms=1000)
    assert err.value.kind == kind
    for phrase in phrases:
        assert phrase in err.value.message
    assert "test-key-0001" not in err.value.message and "test-secret-0001" not in err.value.message
    assert "signature=" not in err.value.message and "http://" not in err.value.message
    if name == "429 retry-after":
        assert err.value.retry_after == 7.0


def test_fault_on_a_later_call_names_the_step() -> None:
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = Fault(401, body("invalid key / IP / permission"), path_prefix="/fapi/v3/positionRisk")
        with pytest.raises(ExchangeError) as err:
            fetch_account("binanceusdm", CREDS, api_url=server.url, timeout_ms=1000)
    assert err.value.kind == "authentication" and "(reading positions)" in err.value.message


@pytest.mark.parametrize(
    ("scenario", "venue", "address"),
    [
        ("bybit", "bybit", None),
        ("okx", "okx", None),
        ("hyperliquid", "hyperliquid", "0x" + "ab" * 20),
        ("deribit", "deribit", None),
        ("binancecoinm", "binancecoinm", None),
    ],
)
def test_other_venues_map_5xx_and_truncation(scenario: str, venue: str, address: str | None) -> None:
    creds = Credentials("test-key-0001", "test-secret-0001", "test-pass-0001")
    for fault, kind in ((Fault(503, ""), "exchange_down"), (Fault(truncate=30), "malformed_response")):
        with ReplayServer(scenario_routes(scenario)) as server:
            server.fault = fault
            with pytest.raises(ExchangeError) as err:
                fetch_account(venue, creds, address, server.url, timeout_ms=1000)
        assert err.value.kind == kind, (venue, fault)


def test_network_error_when_nothing_listens() -> None:
    with ReplayServer([]) as server:
        url = server.url  # the port is free again once the server stops
    with pytest.raises(ExchangeError) as err:
        fetch_account("binanceusdm", CREDS, api_url=url, timeout_ms=1000)
    assert err.value.kind == "network" and "could not reach the exchange" in err.value.message


def test_not_supported_and_generic_mapping() -> None:
    err = map_error(ccxt.NotSupported("okx fetchLeverageTiers() is not supported yet"), "okx")
    assert err.kind == "not_supported" and "not supported by ccxt" in err.message
    err = map_error(ccxt.ExchangeError('okx {"code":"51000","msg":"Parameter instId error"}'), "okx")
    assert err.kind == "exchange_error" and "Parameter instId error (code 51000)" in err.message


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MARGIN_API_")}
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "exchange", "fetch", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd,
        timeout=60,
    )


KEYS = {"MARGIN_API_KEY": "test-key-0001", "MARGIN_API_SECRET": "test-secret-0001"}


@pytest.mark.parametrize(
    "name",
    [
        "401 invalid key",
        "403 forbidden",
        "429 retry-after",
        "503 with body",
        "timeout",
        "truncated json",
        "400 clock skew",
    ],
)
def test_cli_fault_keeps_previous_portfolio(name: str, tmp_path: Path) -> None:
    fault, _, phrases = FAULTS[name]
    out = tmp_path / "account.json"
    out.write_text("PREVIOUS PORTFOLIO\n")
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = fault
        proc = run_cli(["binanceusdm", "--api-url", server.url, "--out", str(out), "--timeout", "1"], KEYS, tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for phrase in phrases:
        assert phrase in proc.stderr
    assert "was not changed" in proc.stderr
    assert out.read_text() == "PREVIOUS PORTFOLIO\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["account.json"]  # no temporary file left behind


def test_cli_success_writes_portfolio_and_reconciliation(tmp_path: Path) -> None:
    out = tmp_path / "account.json"
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        proc = run_cli(["binanceusdm", "--api-url", server.url, "--out", str(out)], KEYS, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "imported 1 position(s) from binanceusdm" in proc.stdout
    assert "liquidation_price" in proc.stdout and "exchange vs ours" in proc.stdout
    from margin.files import load_portfolio

    portfolio = load_portfolio(out)  # saved like any portfolio, origin kept
    assert portfolio.venue == "binance-usdm" and portfolio.origin is not None
    assert portfolio.origin["exchange"] == "binanceusdm"


@pytest.mark.parametrize(
    ("args", "env", "phrase"),
    [
        (["binanceusdm"], {}, "MARGIN_API_KEY"),
        (["kraken"], KEYS, "unknown venue 'kraken'"),
        (["hyperliquid"], {}, "--address"),
        (["okx"], KEYS, "MARGIN_API_PASSWORD"),
        (["binanceusdm", "--api-url", "ftp://example"], KEYS, "--api-url must look like"),
    ],
)
def test_cli_invalid_input_exit_2(args: list[str], env: dict[str, str], phrase: str, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    proc = run_cli([*args, "--out", str(out)], env, tmp_path)
    assert proc.returncode == 2 and phrase in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_has_no_key_argument(tmp_path: Path) -> None:
    proc = run_cli(["binanceusdm", "--api-key", "x", "--out", str(tmp_path / "p.json")], KEYS, tmp_path)
    assert proc.returncode == 2 and "unrecognized arguments: --api-key" in proc.stderr
