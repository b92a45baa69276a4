"""The analysis commands of the command line: ``stress`` and ``frontier`` (``portfolio-format.md`` §5).

Figures are checked against the library functions they wrap only where the wrapping is the point (JSON
shape, exit status, messages); the numbers themselves are tested in test_crashes.py and test_frontier.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIXED = str(ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "margin", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_stress_list() -> None:
    out = run("stress", "--list", "--format", "json")
    assert out.returncode == 0, out.stderr
    presets = json.loads(out.stdout)["presets"]
    assert len(presets) == 8
    assert all(p["sources"] and p["window"] for p in presets)
    text = run("stress", "--list")
    assert text.returncode == 0 and "ftx-2022-11" in text.stdout and "source:" in text.stdout


def test_stress_json_shape() -> None:
    out = run("stress", MIXED, "--preset", "ftx-2022-11", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["preset"] == "ftx-2022-11"
    assert set(doc["modes"]) == {"as_is", "cross", "isolated", "portfolio"}
    # FTX week: BTC fell about 25 %; every move a fraction
    assert -0.3 < doc["moves"]["BTC"] < -0.2
    pools = doc["modes"]["as_is"]["pools"]
    wif = next(p for p in pools if p["position"] == "WIF long 20x isolated")
    assert wif["liquidated"] is True  # the weak isolated WIF long dies; the cross pool lives
    assert pools[0]["mode"] == "cross" and pools[0]["liquidated"] is False


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--preset", "nope"), "--preset must be one of"),
        (("--preset", "ftx-2022-11", "--measure", "mid"), "invalid choice"),
        ((), "needs PORTFOLIO and --preset"),
    ],
)
def test_stress_bad_input(args: tuple[str, ...], needle: str) -> None:
    out = run("stress", MIXED, *args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_frontier_json_shape() -> None:
    out = run("frontier", MIXED, "--x", "BTC", "--y", "ETH", "--steps", "21", "--range", "0.4", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["x"] == "BTC" and doc["y"] == "ETH"
    assert len(doc["moves_x"]) == 21 and doc["moves_x"][0] == pytest.approx(-0.4) and doc["moves_x"][-1] == 0.4
    for view in ("as_is", "cross", "isolated"):
        grid = doc["modes"][view]["liquidated"]
        assert len(grid) == 21 and all(len(row) == 21 for row in grid)
        assert len(doc["modes"][view]["margin_ratio"]) == 21


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--x", "BTC", "--y", "DOGE"), "--y must be a base asset"),
        (("--x", "BTC", "--y", "btc"), "--y must differ from --x"),
        (("--x", "BTC", "--y", "ETH", "--steps", "2"), "--steps"),
        (("--x", "BTC", "--y", "ETH", "--range", "1.5"), "--range"),
        (("--x", "BTC", "--y", "ETH", "--steps", "many"), "argument --steps: must be a whole number"),
    ],
)
def test_frontier_bad_input(args: tuple[str, ...], needle: str) -> None:
    out = run("frontier", MIXED, *args)
    assert out.returncode == 2, out.stdout
    assert needle in out.stderr
    assert "Traceback" not in out.stderr


BTC_LONG = str(ROOT / "fixtures" / "portfolios" / "btc-long.json")


def test_cascade_json_shape_and_comparison() -> None:
    out = run("cascade", MIXED, "--shock", "ALL=-30%", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc["modes"]) == {"cross", "isolated", "as_is"}
    for body in doc["modes"].values():
        assert {"steps", "positions_lost", "collateral_left", "loss"} <= set(body)
        for step in body["steps"]:
            assert {"move", "event", "position", "equity_before", "equity_after", "collateral_left"} <= set(step)
            assert step["event"] in ("liquidated", "partially_liquidated", "bankrupt")
    # isolated: the weak WIF long dies first; its first event starts at its liquidation price (−2.01 %)
    first = doc["modes"]["isolated"]["steps"][0]
    assert first["position"] == "WIF long 20x isolated"
    assert first["move"] == pytest.approx(1.3914141414 / 1.42 - 1, rel=1e-6)
    assert doc["amplification"] == pytest.approx(1.0)  # no impact: the final move is the initial move


def test_cascade_impact_never_loses_fewer_positions() -> None:
    plain = json.loads(run("cascade", MIXED, "--shock", "ALL=-15%", "--format", "json").stdout)
    hit = json.loads(
        run("cascade", MIXED, "--shock", "ALL=-15%", "--impact", "sqrt", "--strength", "3", "--format", "json").stdout
    )
    for view in ("cross", "isolated", "as_is"):
        assert hit["modes"][view]["positions_lost"] >= plain["modes"][view]["positions_lost"]
    assert hit["amplification"] >= 1.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "--shock is required"),
        (("--shock", "ALL=-20%", "--impact", "cubic"), "invalid choice"),
        (("--shock", "DOGE=-20%"), "matches no symbol"),
    ],
)
def test_cascade_bad_input(args: tuple[str, ...], needle: str) -> None:
    out = run("cascade", MIXED, *args)
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


def test_risk_json_is_seeded_and_shaped() -> None:
    args = ("risk", BTC_LONG, "--horizon", "3d", "--paths", "500", "--seed", "7", "--model", "gbm", "--format", "json")
    a, b = run(*args), run(*args)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout  # seeded and reproducible
    doc = json.loads(a.stdout)
    assert doc["horizon_hours"] == 72 and doc["paths"] == 500
    for body in doc["modes"].values():
        assert 0.0 <= body["ci95"][0] <= body["probability"] <= body["ci95"][1] <= 1.0
        t = body["time_to_liquidation_hours"]
        assert t is None or {"p5", "p50", "p95"} <= set(t)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--horizon", "soon"), "--horizon"),
        (("--horizon", "7d", "--model", "magic"), "invalid choice"),
        (("--horizon", "7d", "--vol", "BTC=abc"), "--vol"),
        (("--horizon", "7d", "--paths", "0"), "--paths"),
    ],
)
def test_risk_bad_input(args: tuple[str, ...], needle: str) -> None:
    out = run("risk", BTC_LONG, *args)
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


def test_risk_names_the_asset_without_history() -> None:
    out = run("risk", MIXED, "--horizon", "1d", "--paths", "200")
    assert out.returncode == 2
    assert "WIF" in out.stderr and "--vol WIF=" in out.stderr
