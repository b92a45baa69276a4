"""``margin.whatif``: the what-if arithmetic behind the pages, checked against figures worked by hand."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dashboard.samples import load_sample
from margin import resolve
from margin.marketdata import PriceHistory
from margin.scenarios import FALLBACK_BETA, market_sweep
from margin.whatif import (
    ESTIMATED,
    FALLBACK,
    HAND_SET,
    UNIFORM,
    choose_betas,
    fill_missing_volatilities,
    frontier_map,
    liquidation_crossings,
    market_pools,
    shifted_marks,
)

ROOT = Path(__file__).resolve().parents[1]

# daily log returns, mean 0 each:
#   BTC  m = [+0.02, −0.02, +0.02, −0.02]
#   SOL  1.5·m + e with e = [+0.01, +0.01, −0.01, −0.01] (Σ e·m = 0.0002 − 0.0002 − 0.0002 + 0.0002 = 0)
#        = [+0.04, −0.02, +0.02, −0.04]
BTC_R = [0.02, -0.02, 0.02, -0.02]
SOL_R = [0.04, -0.02, 0.02, -0.04]


def history(columns: dict[str, list[float]]) -> PriceHistory:
    """Daily closes starting at 100 whose log returns are exactly ``columns``."""
    closes = np.column_stack([100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)])) for r in columns.values()])
    days = tuple(f"2026-01-0{k + 1}" for k in range(closes.shape[0]))
    return PriceHistory(days, tuple(columns), closes, 24.0)


SHIPPED = history({"BTC": BTC_R, "SOL": SOL_R})


def test_shifted_marks_move_every_symbol_of_the_asset() -> None:
    """BTC −20 %: the linear 97,000 × 0.8 = 77,600 and the inverse 96,950 × 0.8 = 77,560 (format §4: a base
    target moves every symbol of that base); SOL +10 %: 190 × 1.1 = 209; ETH at 0 % and DOGE (no symbol)
    change nothing."""
    marks = {"BTC/USDT:USDT": 97000.0, "BTC/USD:BTC": 96950.0, "ETH/USDT:USDT": 3400.0, "SOL/USDT:USDT": 190.0}
    got = shifted_marks(marks, {"BTC": -0.2, "ETH": 0.0, "SOL": 0.1, "DOGE": -0.5})
    assert got == pytest.approx({"BTC/USDT:USDT": 77600.0, "BTC/USD:BTC": 77560.0, "SOL/USDT:USDT": 209.0})
    assert shifted_marks(marks, {"BTC": 0.0}) == {}


def test_estimated_betas_by_hand() -> None:
    """β_SOL = cov(1.5·m + e, m) / var(m) = 1.5 · Σm² / Σm² + Σe·m / Σm² = 1.5 + 0 = 1.5; BTC, the market, 1;
    1000SOL is SOL (leading multiplier stripped); WIF has no history: the fallback β 1.5, listed."""
    c = choose_betas(["BTC", "SOL", "1000SOL", "WIF"], SHIPPED)
    assert c.betas["BTC"] == 1.0
    assert c.betas["SOL"] == pytest.approx(1.5, rel=1e-12) and c.betas["1000SOL"] == pytest.approx(1.5, rel=1e-12)
    assert c.betas["WIF"] == FALLBACK_BETA
    assert c.sources == {"BTC": ESTIMATED, "SOL": ESTIMATED, "1000SOL": ESTIMATED, "WIF": FALLBACK}
    assert c.fallbacks == ["WIF"]
    assert c.pairs() == tuple(sorted(c.betas.items()))


def test_hand_set_uniform_and_refreshed_betas() -> None:
    """A hand-set β wins (case-insensitive); uniform gives 1 to all; a refreshed history holding BTC is used
    instead of the shipped one (there SOL = 3·m exactly: β = 3), one without BTC is not."""
    hand = choose_betas(["BTC", "SOL"], SHIPPED, given={"sol": 2.5})
    assert hand.betas == {"BTC": 1.0, "SOL": 2.5} and hand.sources["SOL"] == HAND_SET
    flat = choose_betas(["BTC", "SOL", "WIF"], SHIPPED, uniform=True)
    assert flat.betas == {"BTC": 1.0, "SOL": 1.0, "WIF": 1.0} and set(flat.sources.values()) == {UNIFORM}
    refreshed = history({"BTC": BTC_R, "SOL": [3.0 * r for r in BTC_R]})
    assert choose_betas(["SOL"], SHIPPED, refreshed=refreshed).betas["SOL"] == pytest.approx(3.0, rel=1e-12)
    no_market = history({"SOL": BTC_R})
    assert choose_betas(["SOL"], SHIPPED, refreshed=no_market).betas["SOL"] == pytest.approx(1.5, rel=1e-12)


def test_missing_volatility_gets_the_highest_of_the_history() -> None:
    """Annual volatility = sample std of daily log returns × √365 (means are 0):
    BTC √(4 × 0.0004 / 3) × √365 = √(0.0016 × 365 / 3) = √0.19467 = 0.44121;
    SOL √((0.0016 + 0.0004 + 0.0004 + 0.0016) / 3) × √365 = √(0.004 × 365 / 3) = √0.48667 = 0.69761: the highest.
    WIF has no history: it gets 0.69761 (0.70 to the input's precision), and the note says so."""
    fill = fill_missing_volatilities(["BTC", "1000SOL", "WIF"], SHIPPED)
    assert fill.missing == ("WIF",)
    assert fill.highest == pytest.approx(math.sqrt(0.004 * 365 / 3), rel=1e-12)
    assert fill.highest == pytest.approx(0.69761, abs=1e-5)
    assert fill.volatility == 0.70
    assert fill.note.startswith("No shipped price history for WIF: their volatility is set to 70% a year")
    assert "the highest of the shipped assets" in fill.note and fill.note.endswith("they move with BTC")
    none = fill_missing_volatilities(["BTC", "SOL"], SHIPPED)
    assert none.missing == () and none.volatility is None and none.note == ""


def test_liquidation_crossings() -> None:
    """Moves −50 % … +50 % by 10 % (index 5 is 0). Equity 10·m + 5 against maintenance 1: liquidated where
    m ≤ −0.4 (indices 0, 1); the first going down from 0 is index 1. Equity 5 − 10·m: liquidated from m = +0.4
    (index 9) up. A pool dead everywhere is met at 0 both ways."""
    moves = np.linspace(-0.5, 0.5, 11)
    one = np.ones(11)
    assert liquidation_crossings(moves, 10 * moves + 5, one) == [1]
    assert liquidation_crossings(moves, 5 - 10 * moves, one) == [9]
    assert liquidation_crossings(moves, np.zeros(11), one) == [5, 5]
    assert liquidation_crossings(moves, np.full(11, 50.0), one) == []


def test_market_pools_of_btc_long() -> None:
    """btc-long: 8,000 USDT, 0.8 BTC long at 94,500 in cross, mark 97,000; moves −10 %, 0, +10 % with β = 1:
    marks 87,300 / 97,000 / 106,700.
    - cross pool (as is and all cross): 8,000 + 0.8 × (mark − 94,500) = 2,240 / 10,000 / 17,760; maintenance on
      notional 69,840 / 77,600 / 85,360, Binance tier 2 (50,000-600,000: 0.5 %, amount 50) = 299.2 / 338 / 376.8.
    - all isolated: the position's own pool with 0.8 × 94,500 / 15 = 5,040: equity −720 / 7,040 / 14,800; the
      USDT cross pool holds no position and is left out."""
    sweep = market_sweep(resolve(load_sample("btc-long")), np.array([-0.1, 0.0, 0.1]), betas_given={"BTC": 1.0})
    pools = market_pools(sweep)
    assert list(pools.moves) == pytest.approx([-0.1, 0.0, 0.1])
    assert pools.settles() == ["USDT"]
    for view in ("as_is", "cross"):
        (cross,) = pools.views[view]
        assert (cross.label, cross.settle, cross.mode) == ("USDT cross", "USDT", "cross")
        assert list(cross.equity) == pytest.approx([2240.0, 10000.0, 17760.0])
        assert list(cross.maintenance) == pytest.approx([299.2, 338.0, 376.8])
    (iso,) = pools.views["isolated"]
    assert (iso.label, iso.mode) == ("BTC long 15x", "isolated")
    assert list(iso.equity) == pytest.approx([-720.0, 7040.0, 14800.0])
    assert list(iso.maintenance) == pytest.approx([299.2, 338.0, 376.8])


def test_frontier_map_share_liquidated() -> None:
    """A 2 × 2 grid: one liquidated cell of four is 1/4; three of four 3/4."""
    grid = np.array([-0.1, 0.1])
    ratio = np.array([[1.2, 0.5], [0.5, 0.4]])
    views: dict[str, Any] = {
        "as_is": SimpleNamespace(margin_ratio=ratio, liquidated=np.array([[True, False], [False, False]])),
        "cross": SimpleNamespace(margin_ratio=ratio, liquidated=np.array([[True, True], [True, False]])),
    }
    fm = frontier_map(SimpleNamespace(x="BTC", y="ETH", moves_x=grid, moves_y=grid, modes=views))  # type: ignore[arg-type]
    assert fm.liquidated_share == {"as_is": 0.25, "cross": 0.75}
    assert fm.margin_ratio["cross"] is ratio and (fm.x, fm.y) == ("BTC", "ETH")


def test_whatif_is_pure() -> None:
    """No UI library and no file access in the module (every history and sweep is passed in)."""
    tree = ast.parse((ROOT / "margin" / "whatif.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("streamlit", "pandas", "plotly", "dashboard")}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    attrs = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "open" not in called and not attrs & {"read_text", "open", "load_daily_closes", "load_intraday"}
