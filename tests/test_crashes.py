"""Crash library (``margin.crashes``): recorded moves vs the shipped data, presets on every sample,
collateral shocks, the β fallback and errors.

The recorded numbers are recomputed here from the CSV files with the csv module and plain Python,
independently of ``margin.crashes``; definitions (module docstring of ``margin.crashes``):
reference = open of the window's first 1h bar (daily event: close of the day before the window),
close move = min(closes) / reference − 1, low move = min(lows) / reference − 1.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import statistics
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from margin.crashes import get_preset, list_presets, load_presets, lookup_base, preset_moves, preset_path, stress
from margin.engine import ALL_VIEWS, VIEWS
from margin.errors import PortfolioError
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from margin.report import evaluate_view

ROOT = Path(__file__).resolve().parent.parent
MARKET = ROOT / "fixtures" / "market-data"
SAMPLES = sorted((ROOT / "fixtures" / "portfolios").glob("*.json"))
NAMES = [
    "covid-2020-03-12",
    "may-2021-05-19",
    "luna-2022-05",
    "ftx-2022-11",
    "usdc-depeg-2023-03",
    "yen-carry-2024-08-05",
    "tariff-2025-02-03",
    "cascade-2025-10-10",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _recompute(preset_name: str) -> dict[str, tuple[float, float, float]]:
    """asset -> (reference, close move, low move) straight from the CSV files."""
    p = get_preset(preset_name)
    out: dict[str, tuple[float, float, float]] = {}
    if p.data == "intraday":
        for f in sorted((MARKET / "intraday").glob(f"{p.event}_*_1h.csv")):
            asset = f.name.split("_")[-2]
            rows = _rows(f)
            ref = float(rows[0]["open"])
            out[asset] = (
                ref,
                min(float(r["close"]) for r in rows) / ref - 1.0,
                min(float(r["low"]) for r in rows) / ref - 1.0,
            )
    else:
        daily = _rows(MARKET / "daily_close.csv")
        start, end = p.window["start"][:10], p.window["end"][:10]
        prior = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
        ref_row = next(r for r in daily if r["date"] == prior)
        window = [r for r in daily if start <= r["date"] <= end]
        for asset in ref_row:
            if asset == "date" or ref_row[asset] == "":
                continue
            ref = float(ref_row[asset])
            move = min(float(r[asset]) for r in window) / ref - 1.0
            out[asset] = (ref, move, move)  # no daily lows shipped: low = close
    return out


def _median_beta(preset_name: str) -> float:
    """Median over the non-BTC assets of cov(r_a, r_BTC)/var(r_BTC), log returns of the 365 daily closes
    ending the day before the window, assets with >= 180 joint returns (plain Python)."""
    p = get_preset(preset_name)
    start = p.window["start"][:10]
    first = (date.fromisoformat(start) - timedelta(days=365)).isoformat()
    rows = [r for r in _rows(MARKET / "daily_close.csv") if first <= r["date"] < start]
    assert len(rows) == 365

    def rets(a: str) -> list[float | None]:
        v = [float(r[a]) if r[a] else None for r in rows]
        return [math.log(y / x) if x and y else None for x, y in itertools.pairwise(v)]

    btc = rets("BTC")
    betas = []
    for a in [c for c in rows[0] if c not in ("date", "BTC")]:
        pairs = [(x, m) for x, m in zip(rets(a), btc, strict=True) if x is not None and m is not None]
        if len(pairs) < 180:
            continue
        mx = sum(x for x, _ in pairs) / len(pairs)
        mm = sum(m for _, m in pairs) / len(pairs)
        cov = sum((x - mx) * (m - mm) for x, m in pairs)
        var = sum((m - mm) ** 2 for _, m in pairs)
        betas.append(cov / var)
    return statistics.median(betas)


def _finite(obj: Any) -> None:
    if isinstance(obj, dict):
        for v in obj.values():
            _finite(v)
    elif isinstance(obj, list):
        for v in obj:
            _finite(v)
    elif isinstance(obj, float):
        assert math.isfinite(obj)


def _resolved(data: dict[str, Any]) -> Resolved:
    return resolve(portfolio_from_dict(data, "test"))


def _cross_wallet(mode: Any) -> float:
    """wallet_balance of the (single) cross pool of one view's JSON."""
    return float(next(p for p in mode["pools"] if p["mode"] == "cross")["wallet_balance"])


def _sample(path: Path) -> Resolved:
    return _resolved(json.loads(path.read_text(encoding="utf-8")))


# ------------------------------------------------------------------ recorded numbers vs data


@pytest.mark.parametrize("name", NAMES)
def test_recorded_moves_recomputed_from_csv(name: str) -> None:
    p = get_preset(name)
    expected = _recompute(name)
    assert set(p.moves["close"]) == set(expected) == set(p.reference)
    for asset, (ref, close_move, low_move) in expected.items():
        assert p.reference[asset] == ref
        assert abs(p.moves["close"][asset] - close_move) <= 1e-12, asset
        assert abs(p.moves["low"][asset] - low_move) <= 1e-12, asset
        assert p.moves["close"][asset] > -1.0 and p.moves["low"][asset] <= p.moves["close"][asset]


@pytest.mark.parametrize("name", NAMES)
def test_default_beta_recomputed(name: str) -> None:
    assert get_preset(name).default_beta == pytest.approx(_median_beta(name), rel=1e-9, abs=0.0)


def test_moves_agree_with_published_spot_facts() -> None:
    """Spot checks against SOURCE-README's table of well-known facts (Binance BTCUSDT), by hand:

    * 2024-08-05: BTC low 49,000 (06:20 UTC); window reference = open of 2024-08-04 00:00 = 60,697.99;
      49,000 / 60,697.99 = 0.807276... → low move −0.19272 (about −19.3 %).
    * 2025-10-10: BTC low 102,000 (21:20 UTC); reference = open of 2025-10-09 00:00 = 123,306.01;
      102,000 / 123,306.01 = 0.827210... → low move −0.17279.
    * 2020-03-12: BTC intraday low 3,782.13 (2020-03-13 02:00 UTC); reference 7,894.57;
      3,782.13 / 7,894.57 = 0.479080... → low move −0.52092.
    """
    assert get_preset("yen-carry-2024-08-05").moves["low"]["BTC"] == pytest.approx(49000 / 60697.99 - 1, abs=1e-15)
    assert get_preset("yen-carry-2024-08-05").moves["low"]["BTC"] == pytest.approx(-0.19272, abs=5e-6)
    assert get_preset("cascade-2025-10-10").moves["low"]["BTC"] == pytest.approx(-0.17279, abs=5e-6)
    assert get_preset("covid-2020-03-12").moves["low"]["BTC"] == pytest.approx(-0.52092, abs=5e-6)
    # FTX week: SOURCE-README gives SOL daily closes 29.62 → 14.08 (−52 %); the hourly trough is lower still
    assert get_preset("ftx-2022-11").moves["close"]["SOL"] < -0.5


def test_list_presets_has_all_events_with_sources_and_windows() -> None:
    listed = list_presets()
    assert [p["name"] for p in listed] == NAMES
    for p in listed:
        assert p["window"]["start"] < p["window"]["end"]
        assert p["window"]["start"].endswith("Z") and p["window"]["end"].endswith("Z")
        assert any(s.get("url") for s in p["sources"]), p["name"]  # a published account of the event
        assert any("fixtures/market-data" in s["title"] for s in p["sources"]), p["name"]  # the data used
        assert "BTC" in p["assets"] and "ETH" in p["assets"]
        assert p["has_path"] is True
    by_name = {p["name"]: p for p in listed}
    assert by_name["cascade-2025-10-10"]["collateral_shocks"] == ["USDe", "wBETH", "BNSOL"]
    assert by_name["usdc-depeg-2023-03"]["collateral_shocks"] == ["USDC"]
    for preset in load_presets():
        for c in preset.collateral_shocks:
            assert c.basis and any(s.get("url") for s in c.sources)


# ------------------------------------------------------------------ every preset on every sample


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_every_preset_runs_clean_on_every_sample(sample: Path) -> None:
    resolved = _sample(sample)
    for name in NAMES:
        for measure in ("close", "low"):
            doc = stress(resolved, name, measure)
            json.dumps(doc, allow_nan=False)
            _finite(doc)
            assert doc["preset"] == name
            assert set(doc["modes"]) == set(ALL_VIEWS)
            for view in VIEWS:
                assert set(doc["modes"][view]) == {"pools", "positions"}
                assert len(doc["modes"][view]["positions"]) == resolved.n_positions  # futures and options (format §6)
            for symbol, move in doc["symbol_moves"].items():
                assert -1.0 < move < 1.0
                mark = resolved.marks[symbol]
                assert any(
                    p["mark_price"] == pytest.approx(mark * (1 + move), rel=1e-12)
                    for p in doc["modes"]["as_is"]["positions"]
                    if p["symbol"] == symbol
                )
        times, marks, coll = preset_path(get_preset(name), resolved)
        assert marks.shape == (len(times), len(resolved.symbols))
        assert np.all(np.isfinite(marks)) and np.all(marks > 0)
        assert coll is None  # no sample has non-settle collateral


def test_path_trough_equals_instant_close_move() -> None:
    """The path is close_t / reference, so its minimum is the recorded close move (for assets with data)."""
    resolved = _sample(ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json")
    for name in NAMES:
        p = get_preset(name)
        _, marks, _ = preset_path(p, resolved)
        moves, _, _ = preset_moves(p, resolved)
        for j, symbol in enumerate(resolved.symbols):
            lowest = float(np.min(marks[:, j])) / resolved.marks[symbol] - 1.0
            assert lowest == pytest.approx(moves[symbol], rel=1e-12, abs=1e-15), (name, symbol)


# ------------------------------------------------------------------ collateral shocks


def _collateral_portfolio() -> dict[str, Any]:
    return {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": 10000.0, "USDE": 5000.0, "WBETH": 2.0},
        "collateral_assets": {
            "USDE": {"price": 0.999, "haircut": 0.1, "pool": "USDT"},
            "WBETH": {"price": 4700.0, "haircut": 0.05, "pool": "USDT"},
        },
        "prices": {"BTC/USDT:USDT": 100000.0},
        "positions": [
            {
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 0.5,
                "entry_price": 100000.0,
                "leverage": 10,
                "margin_mode": "cross",
            }
        ],
    }


def test_collateral_shocks_move_the_wallet_by_hand_worked_amounts() -> None:
    """10 Oct 2025 on USDT 10,000 + USDE 5,000 (price 0.999, haircut 10 %) + WBETH 2 (price 4,700, haircut 5 %).

    USDE (peg shock, low 0.65 against a 1.00 peg): move = 0.65 − 1 = −0.35;
        Δwallet = amount × price × move × (1 − haircut) = 5,000 × 0.999 × (−0.35) × 0.9 = −1,573.425.
    WBETH (discount shock): d = 1 − 430 / 3,800; move = (1 + m_ETH)(430 / 3,800) − 1 with m_ETH the ETH close
        move recomputed from the CSV; Δwallet = 2 × 4,700 × move × 0.95.
    Names match case-insensitively (USDE ↔ USDe, WBETH ↔ wBETH); BNSOL is not held.
    """
    resolved = _resolved(_collateral_portfolio())
    m_eth = _recompute("cascade-2025-10-10")["ETH"][1]
    wbeth_move = (1 + m_eth) * (430.0 / 3800.0) - 1
    assert m_eth == pytest.approx(3695.15 / 4525.72 - 1, abs=1e-15)  # ETH trough close / first open, by hand
    doc = stress(resolved, "cascade-2025-10-10")
    assert doc["collateral_moves"]["USDE"] == pytest.approx(-0.35, abs=1e-15)
    assert doc["collateral_moves"]["WBETH"] == pytest.approx(wbeth_move, rel=1e-12)
    assert doc["collateral_not_held"] == ["BNSOL"]
    expected_delta = 5000 * 0.999 * (-0.35) * 0.9 + 2 * 4700 * wbeth_move * 0.95
    for view in VIEWS:
        before = _cross_wallet(evaluate_view(resolved, view).to_dict())
        after = _cross_wallet(doc["modes"][view])
        assert after - before == pytest.approx(expected_delta, rel=1e-9)
    # the USDE leg alone, written out: 10,000 + 5,000 × 0.999 × 0.9 = 14,495.5 before; 14,495.5 − 1,573.425 after
    only_usde = _collateral_portfolio()
    del only_usde["collateral"]["WBETH"], only_usde["collateral_assets"]["WBETH"]
    usde = _resolved(only_usde)
    assert _cross_wallet(stress(usde, "cascade-2025-10-10")["modes"]["cross"]) == pytest.approx(
        14495.5 - 1573.425, rel=1e-12
    )


def test_collateral_path_applies_the_low_in_its_bar() -> None:
    resolved = _resolved(_collateral_portfolio())
    times, _, coll = preset_path(get_preset("cascade-2025-10-10"), resolved)
    assert coll is not None and coll.shape == (len(times), 2)
    at = times.index("2025-10-10T21:00:00Z")
    assert coll[at, 0] == pytest.approx(0.999 * 0.65, rel=1e-15)
    assert np.all(np.delete(coll[:, 0], at) == 0.999)
    # WBETH tracks ETH (close_t / 4525.72, the window's first ETH open) and trades at 430/3800 of it in that bar
    eth = [float(r["close"]) for r in _rows(MARKET / "intraday" / "2025-10-10_liquidation-cascade_ETH_1h.csv")]
    assert coll[at, 1] == pytest.approx(4700 * eth[at] / 4525.72 * 430 / 3800, rel=1e-12)
    assert coll[0, 1] == pytest.approx(4700 * eth[0] / 4525.72, rel=1e-12)


def test_usdc_depeg_on_usdc_collateral_asset_and_settle_note() -> None:
    """USDC backing a USDT pool: move 0.8774 − 1 = −0.1226; Δwallet = 3,000 × 1.0 × (−0.1226) × (1 − 0.02)
    = −360.444. On a USDC-settled account (hyperliquid sample) USDC is the unit of account: not moved, noted."""
    data = _collateral_portfolio()
    data["collateral"] = {"USDT": 10000.0, "USDC": 3000.0}
    data["collateral_assets"] = {"USDC": {"price": 1.0, "haircut": 0.02, "pool": "USDT"}}
    resolved = _resolved(data)
    doc = stress(resolved, "usdc-depeg-2023-03")
    assert doc["collateral_moves"] == {"USDC": pytest.approx(-0.1226, abs=1e-15)}
    before = _cross_wallet(evaluate_view(resolved, "cross").to_dict())
    assert _cross_wallet(doc["modes"]["cross"]) - before == pytest.approx(-360.444, rel=1e-12)
    times, _, coll = preset_path(get_preset("usdc-depeg-2023-03"), resolved)
    assert times == ("2023-03-10", "2023-03-11", "2023-03-12", "2023-03-13")
    assert coll is not None and list(coll[:, 0]) == pytest.approx([1.0, 0.8774, 1.0, 1.0], abs=1e-15)
    hl = stress(_sample(ROOT / "fixtures" / "portfolios" / "hyperliquid-account.json"), "usdc-depeg-2023-03")
    assert hl["collateral_moves"] == {}
    assert any("USDC is a settle asset" in n for n in hl["notes"])


# ------------------------------------------------------------------ fallback β rule


def test_fallback_beta_for_bases_without_data() -> None:
    """TRX and 1000PEPE are not in the shipped data: 1 + move = (1 + m_BTC)^β with β the event's median beta.
    ``1000PEPE`` is looked up as PEPE."""
    data = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": 10000.0},
        "prices": {"TRX/USDT:USDT": 0.25, "1000PEPE/USDT:USDT": 0.012, "BTC/USDT:USDT": 100000.0},
        "positions": [
            {"symbol": "TRX/USDT:USDT", "side": "long", "contracts": 10000, "entry_price": 0.25, "leverage": 5},
            {"symbol": "1000PEPE/USDT:USDT", "side": "short", "contracts": 100000, "entry_price": 0.012, "leverage": 5},
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.01, "entry_price": 100000.0, "leverage": 5},
        ],
    }
    resolved = _resolved(data)
    assert lookup_base("1000PEPE") == "PEPE" and lookup_base("kPEPE") == "PEPE" and lookup_base("btc") == "BTC"
    for name in ("ftx-2022-11", "cascade-2025-10-10"):
        beta = _median_beta(name)
        m_btc = _recompute(name)["BTC"][1]
        expected = (1 + m_btc) ** beta - 1
        doc = stress(resolved, name)
        assert set(doc["fallbacks"]) == {"TRX", "PEPE"}
        assert doc["fallbacks"]["TRX"]["beta"] == pytest.approx(beta, rel=1e-9)
        assert "median beta" in doc["fallbacks"]["TRX"]["rule"]
        assert doc["moves"]["TRX"] == pytest.approx(expected, rel=1e-9)
        assert doc["symbol_moves"]["1000PEPE/USDT:USDT"] == pytest.approx(expected, rel=1e-9)
        assert doc["moves"]["BTC"] == pytest.approx(m_btc, abs=1e-12)


def test_unlisted_shipped_asset_uses_fallback_in_2020() -> None:
    """SOL was not listed in March 2020 (no event data, no year of history): default beta on BTC's path."""
    resolved = _sample(ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json")
    doc = stress(resolved, "covid-2020-03-12")
    assert set(doc["fallbacks"]) == {"SOL", "WIF"}
    beta = _median_beta("covid-2020-03-12")
    assert doc["moves"]["SOL"] == pytest.approx((1 + _recompute("covid-2020-03-12")["BTC"][1]) ** beta - 1, rel=1e-9)
    assert "SOL" in doc["fallbacks"] and "ETH" not in doc["fallbacks"]


# ------------------------------------------------------------------ errors


def test_unknown_preset_is_a_clear_error() -> None:
    resolved = _sample(ROOT / "fixtures" / "portfolios" / "btc-long.json")
    with pytest.raises(PortfolioError) as err:
        stress(resolved, "crash-of-1929")
    assert str(err.value) == f"--preset must be one of {', '.join(NAMES)}, got 'crash-of-1929'"
    with pytest.raises(PortfolioError, match="--measure must be one of close, low"):
        stress(resolved, "ftx-2022-11", "wick")
