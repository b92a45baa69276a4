"""Secrecy: an import with a sentinel key and secret leaves them nowhere on disk or in output.

The sentinel credentials go to the command line through the environment only; ccxt signs real requests with
them against the replay server (the test checks the key did reach the server in the ``X-MBX-APIKEY`` header,
so the search below is meaningful). Then the project directory (``.git`` included), every file created or
changed under the temporary directories during the run, the server's written log, the output portfolio,
stdout and stderr are searched: the key, the secret and the passphrase must be found nowhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from exchange.adapter import Credentials
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import Fault, ReplayServer

ROOT = Path(__file__).resolve().parent.parent


def files_changed_since(root: Path, since: float, limit: int = 20_000_000) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        # the venv and the session machinery's job directories are not written by an import
        dirnames[:] = [d for d in dirnames if d not in ("venv", ".git") and not d.startswith("bash_jobs")]
        for name in filenames:
            p = Path(dirpath) / name
            try:
                st = p.stat()
            except OSError:
                continue
            if st.st_mtime >= since and st.st_size <= limit and p.is_file():
                out.append(p)
    return out


def contains(path: Path, needles: list[bytes]) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return any(n in data for n in needles)


def test_sentinel_credentials_are_written_nowhere(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    key, secret, password = f"SENTINELKEY{tag}", f"SENTINELSECRET{tag}", f"SENTINELPASS{tag}"
    needles = [s.encode() for s in (key, secret, password)]
    start = time.time() - 1
    log = tmp_path / "replay.log"
    out = tmp_path / "account.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARGIN_API_")}
    env.update(
        {"MARGIN_API_KEY": key, "MARGIN_API_SECRET": secret, "MARGIN_API_PASSWORD": password, "TMPDIR": str(tmp_path)}
    )
    with ReplayServer(scenario_routes("binanceusdm"), log_path=log) as server:
        ok = subprocess.run(
            [
                sys.executable,
                "-m",
                "exchange",
                "fetch",
                "binanceusdm",
                "--api-url",
                server.url,
                "--out",
                str(out),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        server.fault = Fault(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
        failed = subprocess.run(
            [
                sys.executable,
                "-m",
                "exchange",
                "fetch",
                "binanceusdm",
                "--api-url",
                server.url,
                "--out",
                str(tmp_path / "other.json"),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        received = list(server.requests)
    assert ok.returncode == 0, ok.stderr
    assert failed.returncode == 4
    # the key really was used: ccxt sent it in Binance's header on the signed calls (never the secret)
    assert any(r.headers.get("X-MBX-APIKEY") == key for r in received)
    assert all(secret not in r.body and secret not in str(r.query) for r in received)
    # outputs
    for text in (ok.stdout, ok.stderr, failed.stdout, failed.stderr):
        assert not any(n.decode() in text for n in needles)
    assert log.read_text().count("\n") >= 6 and not contains(log, needles)
    assert out.is_file() and not contains(out, needles)
    # the project tree (including .git) and every file touched under the temp directories
    hits = [p for p in ROOT.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000 and contains(p, needles)]
    assert hits == []
    for tmp_root in {Path(tempfile.gettempdir()), tmp_path, Path("/tmp")}:
        touched = files_changed_since(tmp_root, start)
        assert [p for p in touched if contains(p, needles)] == []


def test_credentials_repr_is_masked() -> None:
    c = Credentials("AKIA-very-secret-key", "shh-secret", "pass-phrase")
    for text in (repr(c), str(c), f"{c}", str([c])):
        assert "very-secret" not in text and "shh" not in text and "phrase" not in text
