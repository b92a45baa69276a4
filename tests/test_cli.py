"""The command line contract (``portfolio-format.md`` §4): ``python -m margin evaluate``.

Runs the real command in a subprocess: exit status, one JSON document on stdout with the documented
keys and ordering, hand-worked numbers for the §1 example, ``--shock``, ``--format table``, CSV input,
and every class of bad input (exit 2, the message on stderr, nothing on stdout, no traceback).
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from examples import example

REPO = Path(__file__).resolve().parent.parent

POOL_KEYS = {
    "options_value",  # format §6.4: 0 without options
    "settle",
    "mode",
    "position",
    "equity",
    "wallet_balance",
    "unrealized_pnl",
    "initial_margin",
    "maintenance_margin",
    "margin_ratio",
    "available",
    "liquidated",
    "state",  # format §8 (added with issue 12)
}
POSITION_KEYS = {
    "id",
    "symbol",
    "side",
    "contracts",
    "notional",
    "entry_price",
    "mark_price",
    "unrealized_pnl",
    "initial_margin",
    "maintenance_margin",
    "mmr",
    "liquidation_price",
    "bankruptcy_price",
    "distance_to_liquidation",
    "liquidated",
}
VIEWS = ("as_is", "cross", "isolated")
ALL_VIEWS = (*VIEWS, "portfolio")

EXAMPLE: dict[str, Any] = example()  # portfolio-format.md §1, verbatim (tests/examples.py)
BTC, ETH = "BTC/USDT:USDT long", "ETH/USDT:USDT short"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "margin", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_json(tmp_path: Path, data: object, name: str = "book.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def evaluate_ok(path: Path, *extra: str) -> dict[str, Any]:
    """Run ``evaluate --format json``; check the success contract; return the document."""
    proc = run("evaluate", path, "--format", "json", *extra)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)  # exactly one JSON document (json.loads rejects trailing data)
    assert isinstance(doc, dict)
    return doc


def assert_invalid(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, a message on stderr naming ``needles``, nothing on stdout, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def pool(view: dict[str, Any], mode: str, position: str | None = None, settle: str = "USDT") -> dict[str, Any]:
    hits = [p for p in view["pools"] if p["mode"] == mode and p["position"] == position and p["settle"] == settle]
    assert len(hits) == 1, view["pools"]
    return hits[0]


def position(view: dict[str, Any], pid: str) -> dict[str, Any]:
    hits = [p for p in view["positions"] if p["id"] == pid]
    assert len(hits) == 1
    return hits[0]


def close(a: float | None, b: float, rel: float = 1e-9, abs_: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def check(obj: dict[str, Any], **expected: float | bool | None) -> None:
    for key, want in expected.items():
        got = obj[key]
        if want is None or isinstance(want, bool):
            assert got is want, (key, got, want)
        else:
            assert close(got, want), (key, got, want)


@pytest.fixture
def example_path(tmp_path: Path) -> Path:
    return write_json(tmp_path, EXAMPLE)


@pytest.fixture(scope="module")
def example_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return evaluate_ok(write_json(tmp_path_factory.mktemp("example"), EXAMPLE))


# --------------------------------------------------------------------------- document shape


def test_document_shape(example_doc: dict[str, Any]) -> None:
    assert set(example_doc) == {"venue", "shock", "modes"}
    assert example_doc["venue"] == "binance-usdm"
    assert example_doc["shock"] == {}
    assert list(example_doc["modes"]) == list(ALL_VIEWS)
    for view in VIEWS:
        body = example_doc["modes"][view]
        assert set(body) == {"pools", "positions"}
        for p in body["pools"]:
            assert set(p) == POOL_KEYS
        for q in body["positions"]:
            assert set(q) == POSITION_KEYS


def test_positions_in_input_order(example_doc: dict[str, Any]) -> None:
    for view in VIEWS:
        assert [q["id"] for q in example_doc["modes"][view]["positions"]] == [BTC, ETH]


def test_pools_order_of_example(example_doc: dict[str, Any]) -> None:
    def order(view: str) -> list[tuple[str, str, str | None]]:
        return [(p["settle"], p["mode"], p["position"]) for p in example_doc["modes"][view]["pools"]]

    assert order("as_is") == [("USDT", "cross", None), ("USDT", "isolated", ETH)]
    assert order("cross") == [("USDT", "cross", None)]
    assert order("isolated") == [
        ("USDT", "cross", None),
        ("USDT", "isolated", BTC),
        ("USDT", "isolated", ETH),
    ]


def test_distance_to_liquidation_definition(example_doc: dict[str, Any]) -> None:
    for view in VIEWS:
        for q in example_doc["modes"][view]["positions"]:
            assert q["liquidation_price"] is not None
            assert close(q["distance_to_liquidation"], q["liquidation_price"] / q["mark_price"] - 1.0, 1e-12)


# --------------------------------------------------------------------------- hand-worked numbers


def test_example_as_is(example_doc: dict[str, Any]) -> None:
    """§1 example, view as_is, worked by hand.

    BTC: long 0.5 @ 95,000, mark 97,000, 10× cross; file tier: mmr 0.4 %, cum 0 (0-50,000).
      notional = 0.5 × 97,000 = 48,500; UPNL = 0.5 × (97,000 − 95,000) = 1,000
      MM = 48,500 × 0.004 = 194; IM = 48,500 / 10 = 4,850
    ETH: short 4 @ 3,300, mark 3,400, isolated margin 2,640; binance-usdm default ETH tiers
      (fixtures/tiers/binance-usdm.json) first tier 0-50,000: mmr 0.004, maint_amount 0.
      notional = 4 × 3,400 = 13,600; UPNL = −4 × (3,400 − 3,300) = −400; MM = 13,600 × 0.004 = 54.4
    Cross USDT pool: wallet = 25,000 − 2,640 = 22,360; equity = 22,360 + 1,000 = 23,360
      ratio = 194 / 23,360; available = 23,360 − 4,850 = 18,510
      BTC LP: 22,360 + 0.5 (P − 95,000) = 0.5 P × 0.004 → P = (22,360 − 47,500) / (0.5 (0.004 − 1))
              = −25,140 / −0.498 = 50,481.927...  (notional 25,241 stays in the first tier)
      BTC BP: 22,360 + 0.5 (P − 95,000) = 0 → P = 95,000 − 44,720 = 50,280
    ETH isolated pool: wallet 2,640; equity 2,640 − 400 = 2,240; IM 2,640; available = −400
      ratio = 54.4 / 2,240
      ETH LP: 2,640 − 4 (P − 3,300) = 4 P × 0.004 → P = (2,640 + 13,200) / 4.016 = 3,944.223...
      ETH BP: 2,640 − 4 (P − 3,300) = 0 → P = 3,960
    """
    view = example_doc["modes"]["as_is"]
    check(
        pool(view, "cross"),
        wallet_balance=22360.0,
        unrealized_pnl=1000.0,
        equity=23360.0,
        initial_margin=4850.0,
        maintenance_margin=194.0,
        margin_ratio=194.0 / 23360.0,
        available=18510.0,
        liquidated=False,
    )
    check(
        pool(view, "isolated", ETH),
        wallet_balance=2640.0,
        unrealized_pnl=-400.0,
        equity=2240.0,
        initial_margin=2640.0,
        maintenance_margin=54.4,
        margin_ratio=54.4 / 2240.0,
        available=-400.0,
        liquidated=False,
    )
    btc = position(view, BTC)
    assert (btc["symbol"], btc["side"]) == ("BTC/USDT:USDT", "long")
    check(
        btc,
        contracts=0.5,
        notional=48500.0,
        entry_price=95000.0,
        mark_price=97000.0,
        unrealized_pnl=1000.0,
        initial_margin=4850.0,
        maintenance_margin=194.0,
        mmr=0.004,
        liquidation_price=25140.0 / 0.498,
        bankruptcy_price=50280.0,
        distance_to_liquidation=(25140.0 / 0.498) / 97000.0 - 1.0,
        liquidated=False,
    )
    eth = position(view, ETH)
    assert (eth["symbol"], eth["side"]) == ("ETH/USDT:USDT", "short")
    check(
        eth,
        contracts=4.0,
        notional=13600.0,
        entry_price=3300.0,
        mark_price=3400.0,
        unrealized_pnl=-400.0,
        initial_margin=2640.0,
        maintenance_margin=54.4,
        mmr=0.004,
        liquidation_price=15840.0 / 4.016,
        bankruptcy_price=3960.0,
        liquidated=False,
    )
    assert close(round(btc["liquidation_price"], 2), 50481.93)


def test_example_cross(example_doc: dict[str, Any]) -> None:
    """View cross: both positions in one USDT pool holding the whole 25,000.

    UPNL = 1,000 − 400 = 600; equity = 25,600; MM = 194 + 54.4 = 248.4
    IM = 48,500 / 10 + 13,600 / 5 = 4,850 + 2,720 = 7,570; available = 25,600 − 7,570 = 18,030
    BTC LP (ETH held at 3,400: UPNL −400, MM 54.4):
      25,000 − 400 + 0.5 (P − 95,000) = 0.002 P + 54.4 → P = (47,500 − 24,600 + 54.4) / 0.498
      = 22,954.4 / 0.498 = 46,093.17...;  BP: P = 95,000 − 2 × 24,600 = 45,800
    ETH LP (BTC held at 97,000: UPNL 1,000, MM 194):
      26,000 − 4 (P − 3,300) = 194 + 0.016 P → P = (26,000 + 13,200 − 194) / 4.016 = 39,006 / 4.016
      = 9,712.65... (notional 38,851 < 50,000: first tier);  BP: P = 3,300 + 26,000 / 4 = 9,800
    """
    view = example_doc["modes"]["cross"]
    assert len(view["pools"]) == 1
    check(
        pool(view, "cross"),
        wallet_balance=25000.0,
        unrealized_pnl=600.0,
        equity=25600.0,
        initial_margin=7570.0,
        maintenance_margin=248.4,
        margin_ratio=248.4 / 25600.0,
        available=18030.0,
        liquidated=False,
    )
    check(
        position(view, BTC),
        initial_margin=4850.0,
        maintenance_margin=194.0,
        liquidation_price=22954.4 / 0.498,
        bankruptcy_price=45800.0,
    )
    check(
        position(view, ETH),
        initial_margin=2720.0,
        maintenance_margin=54.4,
        liquidation_price=39006.0 / 4.016,
        bankruptcy_price=9800.0,
    )


def test_example_isolated(example_doc: dict[str, Any]) -> None:
    """View isolated: BTC isolated with its default margin 0.5 × 95,000 / 10 = 4,750.

    Cross pool: wallet = 25,000 − 4,750 − 2,640 = 17,610, no position, never liquidated.
    BTC pool: equity = 4,750 + 1,000 = 5,750; available = 5,750 − 4,750 = 1,000; ratio 194 / 5,750
      LP: 4,750 + 0.5 (P − 95,000) = 0.002 P → P = 42,750 / 0.498 = 85,843.37...
      BP: P = 95,000 − 9,500 = 85,500
    ETH pool: as in as_is.
    """
    view = example_doc["modes"]["isolated"]
    check(
        pool(view, "cross"),
        wallet_balance=17610.0,
        equity=17610.0,
        unrealized_pnl=0.0,
        initial_margin=0.0,
        maintenance_margin=0.0,
        available=17610.0,
        liquidated=False,
    )
    check(
        pool(view, "isolated", BTC),
        wallet_balance=4750.0,
        equity=5750.0,
        initial_margin=4750.0,
        maintenance_margin=194.0,
        margin_ratio=194.0 / 5750.0,
        available=1000.0,
        liquidated=False,
    )
    check(pool(view, "isolated", ETH), wallet_balance=2640.0, equity=2240.0, available=-400.0)
    check(
        position(view, BTC),
        initial_margin=4750.0,
        liquidation_price=42750.0 / 0.498,
        bankruptcy_price=85500.0,
    )
    check(position(view, ETH), liquidation_price=15840.0 / 4.016, bankruptcy_price=3960.0)


# --------------------------------------------------------------------------- pool ordering


def test_pool_ordering_across_settle_assets(tmp_path: Path) -> None:
    """Cross pools: collateral order (FDUSD with 0 and no position still gets a pool), then settles first
    seen in positions (USDC); isolated pools follow in position order."""
    data = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"FDUSD": 0.0, "USDT": 25000.0},
        "prices": {
            "BTC/USDT:USDT": 97000.0,
            "ETH/USDT:USDT": 3400.0,
            "SOL/USDT:USDT": 200.0,
            "BTC/USDC:USDC": 97000.0,
        },
        "positions": [
            {
                "id": "sol",
                "symbol": "SOL/USDT:USDT",
                "side": "long",
                "contracts": 10,
                "entry_price": 190.0,
                "leverage": 5,
                "margin_mode": "isolated",
            },
            {
                "id": "btcc",
                "symbol": "BTC/USDC:USDC",
                "side": "long",
                "contracts": 0.01,
                "entry_price": 95000.0,
                "leverage": 10,
            },
            {
                "id": "eth",
                "symbol": "ETH/USDT:USDT",
                "side": "short",
                "contracts": 1,
                "entry_price": 3300.0,
                "leverage": 5,
                "margin_mode": "isolated",
            },
            {
                "id": "btc",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 0.1,
                "entry_price": 95000.0,
                "leverage": 10,
            },
        ],
    }
    doc = evaluate_ok(write_json(tmp_path, data))

    def order(view: str) -> list[tuple[str, str, str | None]]:
        return [(p["settle"], p["mode"], p["position"]) for p in doc["modes"][view]["pools"]]

    cross_pools = [("FDUSD", "cross", None), ("USDT", "cross", None), ("USDC", "cross", None)]
    assert order("as_is") == [*cross_pools, ("USDT", "isolated", "sol"), ("USDT", "isolated", "eth")]
    assert order("cross") == cross_pools
    assert order("isolated") == [
        *cross_pools,
        ("USDT", "isolated", "sol"),
        ("USDC", "isolated", "btcc"),
        ("USDT", "isolated", "eth"),
        ("USDT", "isolated", "btc"),
    ]
    for view in VIEWS:
        assert [q["id"] for q in doc["modes"][view]["positions"]] == ["sol", "btcc", "eth", "btc"]
    # FDUSD: a pool with no position is never liquidated; USDC: a cross position with no collateral
    fdusd = doc["modes"]["as_is"]["pools"][0]
    assert fdusd["liquidated"] is False
    assert fdusd["equity"] == 0.0


def test_empty_positions(tmp_path: Path) -> None:
    data = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": 100.0},
        "positions": [],
    }
    doc = evaluate_ok(write_json(tmp_path, data))
    for view in VIEWS:
        assert doc["modes"][view]["positions"] == []
        assert [(p["settle"], p["mode"], p["equity"], p["liquidated"]) for p in doc["modes"][view]["pools"]] == [
            ("USDT", "cross", 100.0, False)
        ]


# --------------------------------------------------------------------------- --shock


def marks(doc: dict[str, Any]) -> dict[str, float]:
    return {q["symbol"]: q["mark_price"] for q in doc["modes"]["as_is"]["positions"]}


def test_shock_base_moves_only_that_base(example_path: Path) -> None:
    doc = evaluate_ok(example_path, "--shock", "BTC=-20%")
    assert doc["shock"] == {"BTC/USDT:USDT": pytest.approx(-0.2, rel=1e-12)}
    m = marks(doc)
    assert close(m["BTC/USDT:USDT"], 97000.0 * 0.8, 1e-12)  # 77,600
    assert m["ETH/USDT:USDT"] == 3400.0


def test_shock_symbol_fraction_same_as_percent(example_path: Path) -> None:
    a = evaluate_ok(example_path, "--shock", "BTC/USDT:USDT=-0.2")
    b = evaluate_ok(example_path, "--shock", "BTC=-20%")
    assert a == b


def test_shock_all(example_path: Path) -> None:
    doc = evaluate_ok(example_path, "--shock", "ALL=-10%")
    assert doc["shock"] == {
        "BTC/USDT:USDT": pytest.approx(-0.1, rel=1e-12),
        "ETH/USDT:USDT": pytest.approx(-0.1, rel=1e-12),
    }
    m = marks(doc)
    assert close(m["BTC/USDT:USDT"], 87300.0, 1e-12)  # 97,000 × 0.9
    assert close(m["ETH/USDT:USDT"], 3060.0, 1e-12)  # 3,400 × 0.9


def test_shocks_compound(example_path: Path) -> None:
    """BTC=-20% and ALL=-10%: BTC 97,000 × 0.8 × 0.9 = 69,840; ETH 3,400 × 0.9 = 3,060.

    as_is cross pool: BTC UPNL = 0.5 × (69,840 − 95,000) = −12,580; equity = 22,360 − 12,580 = 9,780;
      BTC notional 34,920, MM = 139.68. The BTC LP does not move with the mark: 50,481.93.
    ETH isolated: UPNL = −4 × (3,060 − 3,300) = 960; equity = 2,640 + 960 = 3,600;
      MM = 12,240 × 0.004 = 48.96.
    cross view BTC LP (ETH at 3,060: UPNL 960, MM 48.96):
      25,000 + 960 + 0.5 (P − 95,000) = 0.002 P + 48.96 → P = (47,500 − 25,960 + 48.96) / 0.498
      = 21,588.96 / 0.498 = 43,351.33...
    isolated view: BTC pool equity 4,750 − 12,580 = −7,830 ≤ 0 → liquidated, margin_ratio null.
    """
    doc = evaluate_ok(example_path, "--shock", "BTC=-20%", "--shock", "ALL=-10%")
    assert doc["shock"]["BTC/USDT:USDT"] == pytest.approx(0.72 - 1.0, rel=1e-12)
    assert doc["shock"]["ETH/USDT:USDT"] == pytest.approx(-0.1, rel=1e-12)
    for view in VIEWS:
        q = {p["symbol"]: p for p in doc["modes"][view]["positions"]}
        assert close(q["BTC/USDT:USDT"]["mark_price"], 97000.0 * 0.72, 1e-12, 0.0)
        assert close(q["ETH/USDT:USDT"]["mark_price"], 3400.0 * 0.9, 1e-12, 0.0)
    as_is = doc["modes"]["as_is"]
    check(
        pool(as_is, "cross"),
        unrealized_pnl=-12580.0,
        equity=9780.0,
        maintenance_margin=139.68,
        liquidated=False,
    )
    check(position(as_is, BTC), notional=34920.0, liquidation_price=25140.0 / 0.498, liquidated=False)
    check(pool(as_is, "isolated", ETH), unrealized_pnl=960.0, equity=3600.0, maintenance_margin=48.96)
    check(position(doc["modes"]["cross"], BTC), liquidation_price=21588.96 / 0.498)
    iso_btc = pool(doc["modes"]["isolated"], "isolated", BTC)
    check(iso_btc, equity=-7830.0, liquidated=True, margin_ratio=None)
    assert position(doc["modes"]["isolated"], BTC)["liquidated"] is True
    assert position(doc["modes"]["isolated"], ETH)["liquidated"] is False


@pytest.mark.parametrize(
    ("shock", "needle"),
    [
        ("DOGE=-20%", "DOGE"),  # target matching nothing
        ("BTC=abc", "abc"),
        ("BTC=-100%", "-100%"),
        ("BTC=-150%", "-150%"),
        ("BTC", "BTC"),
        ("=-20%", "--shock"),
    ],
)
def test_invalid_shock(example_path: Path, shock: str, needle: str) -> None:
    assert_invalid(run("evaluate", example_path, "--format", "json", f"--shock={shock}"), "--shock", needle)


# --------------------------------------------------------------------------- --format table, CSV


def test_format_table(example_path: Path) -> None:
    proc = run("evaluate", example_path, "--format", "table", "--shock", "BTC=-20%")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = proc.stdout
    for needle in ("binance-usdm", "as_is", "cross", "isolated", BTC, ETH):
        assert needle in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_csv_input_matches_json(tmp_path: Path, example_doc: dict[str, Any]) -> None:
    """The §1 positions as CSV. binance-usdm's default BTC first tier (0-50,000, 0.4 %, cum 0) is the
    file's override, so the document is the JSON example's."""
    path = tmp_path / "positions.csv"
    path.write_text(
        "symbol,side,contracts,entry_price,leverage,margin_mode,isolated_margin\n"
        "BTC/USDT:USDT,long,0.5,95000,10,cross,\n"
        "ETH/USDT:USDT,short,4,3300,5,isolated,2640\n",
        encoding="utf-8",
    )
    doc = evaluate_ok(
        path,
        "--venue",
        "binance-usdm",
        "--collateral",
        "USDT=25000",
        "--price",
        "BTC/USDT:USDT=97000",
        "--price",
        "ETH/USDT:USDT=3400",
    )
    assert doc == example_doc


# --------------------------------------------------------------------------- bad input


def mutated(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    change(data)
    return data


def _add_btc_short(d: dict[str, Any]) -> None:
    d["positions"].append(
        {"symbol": "BTC/USDT:USDT", "side": "short", "contracts": 0.1, "entry_price": 96000.0, "leverage": 10}
    )


def _add_unknown_symbol(d: dict[str, Any]) -> None:
    d["positions"].append(
        {"symbol": "FOO/USDT:USDT", "side": "long", "contracts": 1, "entry_price": 2.0, "leverage": 2}
    )
    d["prices"]["FOO/USDT:USDT"] = 2.0


def _inverse_without_size(d: dict[str, Any]) -> None:
    d.update(
        venue="bybit",
        collateral={"ETH": 10.0},
        prices={"ETH/USD:ETH": 3400.0},
        tiers={"ETH/USD:ETH": [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 100}]},
        positions=[{"symbol": "ETH/USD:ETH", "side": "long", "contracts": 100, "entry_price": 3300.0, "leverage": 10}],
    )


BAD_BOOKS: list[tuple[str, Callable[[dict[str, Any]], object], tuple[str, ...]]] = [
    (
        "negative",
        lambda d: d["positions"][0].update(contracts=-0.5),
        ("positions[0].contracts", "> 0", "-0.5"),
    ),
    ("zero", lambda d: d["positions"][1].update(leverage=0), ("positions[1].leverage must be >= 1, got 0",)),
    ("zero price", lambda d: d["prices"].update({"ETH/USDT:USDT": 0}), ("prices['ETH/USDT:USDT']", "> 0")),
    (
        "string",
        lambda d: d["positions"][0].update(entry_price="95000"),
        ("positions[0].entry_price", "must be a number", "'95000'"),
    ),
    ("boolean", lambda d: d["positions"][0].update(contracts=True), ("positions[0].contracts", "true")),
    ("unknown venue", lambda d: d.update(venue="kraken"), ("venue", "kraken")),
    ("unknown symbol", _add_unknown_symbol, ("positions[2].symbol", "FOO/USDT:USDT", "tier")),
    ("inverse without contract size", _inverse_without_size, ("positions[0].contract_size", "inverse")),
    (
        "leverage above tier max",
        lambda d: d["positions"][0].update(leverage=126),
        ("positions[0].leverage", "<= 125", "126"),
    ),
    ("one-way long and short", _add_btc_short, ("positions[2].side", "one-way")),
    ("isolated above collateral", lambda d: d["collateral"].update(USDT=100.0), ("collateral.USDT", "100")),
    (
        "hyperliquid hedge",
        lambda d: d.update(venue="hyperliquid", position_mode="hedge"),
        ("position_mode", "hedge"),
    ),
    ("mark missing", lambda d: d["prices"].pop("ETH/USDT:USDT"), ("positions[1].mark_price",)),
    (
        "unknown field",
        lambda d: d["positions"][0].update(lev=3),
        ("positions[0].lev", "not a position field"),
    ),
    ("duplicate ids", lambda d: [p.update(id="x") for p in d["positions"]], ("positions[1].id", "unique")),
    (
        "wrong contract kind",
        lambda d: d["positions"][1].update(symbol="ETH/USD:ETH", contract_size=10),
        ("positions[1].symbol", "linear"),
    ),
]


@pytest.mark.parametrize(("change", "needles"), [(c, n) for _, c, n in BAD_BOOKS], ids=[b[0] for b in BAD_BOOKS])
def test_bad_portfolio_through_cli(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], needles: tuple[str, ...]
) -> None:
    path = write_json(tmp_path, mutated(change), "bad.json")
    assert_invalid(run("evaluate", path, "--format", "json"), "bad.json", *needles)


def test_several_problems_through_cli(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["positions"][0]["leverage"] = 0
        d["positions"][1]["contracts"] = -4
        d["collateral"]["USDT"] = -1

    path = write_json(tmp_path, mutated(change), "bad.json")
    assert_invalid(
        run("evaluate", path, "--format", "json"),
        "3 problems",
        "positions[0].leverage",
        "positions[1].contracts",
        "collateral.USDT",
    )


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_literal_through_cli(tmp_path: Path, literal: str) -> None:
    text = json.dumps(EXAMPLE).replace('"contracts": 0.5', f'"contracts": {literal}')
    assert literal in text
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    assert_invalid(run("evaluate", path, "--format", "json"), "bad.json", literal.lstrip("-"))


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("malformed.json", '{"format": "margin-portfolio/1", "venue": ', "not valid JSON"),
        ("trailing.json", json.dumps(EXAMPLE) + "\n}", "not valid JSON"),
        ("empty.json", "", "empty"),
        ("blank.json", "  \n", "empty"),
        ("array.json", "[]", "JSON object"),
    ],
)
def test_bad_json_files_through_cli(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert_invalid(run("evaluate", path, "--format", "json"), name, needle)


CSV_ARGS = ("--venue", "binance-usdm", "--collateral", "USDT=25000", "--price", "BTC/USDT:USDT=97000")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("", ("empty",)),
        ("symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000\n", ("row 2", "cells")),
        (
            "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,abc,95000,10\n",
            ("row 2.contracts must be a number, got 'abc'",),
        ),
        (
            "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,nan,95000,10\n",
            ("row 2.contracts", "finite"),
        ),
        ("symbol,side,contracts,entry_price,colour\nBTC/USDT:USDT,long,1,95000,red\n", ("colour",)),
        (
            "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000,0\n",
            ("row 2.leverage", ">= 1"),
        ),
    ],
)
def test_bad_csv_through_cli(tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(text, encoding="utf-8")
    assert_invalid(run("evaluate", path, "--format", "json", *CSV_ARGS), "positions.csv", *needles)


def test_header_only_csv_through_cli(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_text("symbol,side,contracts,entry_price,leverage\n", encoding="utf-8")
    doc = evaluate_ok(path, *CSV_ARGS)
    assert doc["modes"]["cross"]["positions"] == []
    assert doc["modes"]["cross"]["pools"][0]["equity"] == 25000.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--collateral", "USDT=25000", "--price", "BTC/USDT:USDT=97000"), "--venue"),
        (
            ("--venue", "binance-usdm", "--collateral", "USDT=lots", "--price", "BTC/USDT:USDT=97000"),
            "--collateral",
        ),
        (("--venue", "binance-usdm", "--collateral", "USDT=25000", "--price", "BTC/USDT:USDT"), "--price"),
        (("--venue", "binance-usdm", "--collateral", "USDT=25000", "--price", "BTC/USDT:USDT=-5"), "> 0"),
        (("--venue", "binance-usdm", "--collateral", "USDT=nan", "--price", "BTC/USDT:USDT=97000"), "USDT"),
        (("--venue", "kraken", "--collateral", "USDT=25000", "--price", "BTC/USDT:USDT=97000"), "kraken"),
        (("--venue", "binance-usdm", "--collateral", "USDT=25000"), "mark_price"),
    ],
)
def test_bad_csv_context_through_cli(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    path = tmp_path / "positions.csv"
    path.write_text("symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000,10\n", encoding="utf-8")
    assert_invalid(run("evaluate", path, "--format", "json", *args), needle)


@pytest.mark.parametrize("name", ["missing.json", "missing.csv"])
def test_nonexistent_file(tmp_path: Path, name: str) -> None:
    assert_invalid(run("evaluate", tmp_path / name, "--format", "json", *CSV_ARGS[:2]), name)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert_invalid(run("evaluate", folder, "--format", "json"), "folder.json")


@pytest.mark.parametrize("args", [("evaluate",), ("evaluate", "x.json", "--format", "xml"), ("frobnicate",), ()])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "usage" in proc.stderr
    assert "Traceback" not in proc.stderr
