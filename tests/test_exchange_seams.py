"""The seams around the exchange package: the core never imports it (``python -m margin fetch`` is found
through the ``margin.commands`` entry point), and the replay test kit has no import cycle and still serves
the offline demo (``python -m exchange.testkit``) on 127.0.0.1.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from margin import cli

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                out.add(".".join([*base, node.module] if node.module else base))
            else:
                out.add(node.module or "")
    return out


def test_no_core_module_imports_the_exchange_package() -> None:
    sources = sorted((ROOT / "margin").rglob("*.py"))
    assert len(sources) > 10
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m == "exchange" or m.startswith("exchange."))
        for p in sources
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert not any(m == "ccxt" or m.startswith("ccxt.") for p in sources for m in imported_modules(p))


def test_fetch_is_registered_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    (ep,) = entry_points(group="margin.commands", name="fetch")
    assert ep.value == "exchange.cli:main"


def test_margin_fetch_help_through_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "margin", "fetch", "-h"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m margin fetch")
    for needle in ("--address", "--api-url", "--out", "binanceusdm", "hyperliquid"):
        assert needle in proc.stdout
    assert "Traceback" not in proc.stderr


def test_missing_command_package_is_a_clear_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: [])
    assert cli.main(["fetch", "binanceusdm", "--out", "x.json"]) == 2
    err = capsys.readouterr().err
    assert "'fetch' command is not installed" in err and "margin.commands" in err
    with pytest.raises(SystemExit) as exit_:  # not a command at all: argparse's own message
        cli.main(["fetchh"])
    assert exit_.value.code == 2
    assert "invalid choice: 'fetchh'" in capsys.readouterr().err


def test_testkit_server_does_not_import_its_scenarios() -> None:
    kit = ROOT / "exchange" / "testkit"
    assert "exchange.testkit.scenarios" not in imported_modules(kit / "server.py")
    assert "exchange.testkit.server" in imported_modules(kit / "scenarios.py")
    assert not (ROOT / "exchange" / "replay.py").exists() and not (ROOT / "exchange" / "scenarios.py").exists()


def test_testkit_command_serves_a_scenario() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange.testkit", "--scenario", "binanceusdm", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("serving http://127.0.0.1:"), line
        url = line.removeprefix("serving ")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy from the env
        with direct.open(f"{url}/fapi/v1/exchangeInfo", timeout=10) as resp:
            body = json.loads(resp.read())
        assert any(s["symbol"] == "BTCUSDT" for s in body["symbols"])
    finally:
        proc.terminate()
        proc.wait(timeout=15)
