"""Shock sets (``margin.scenarios``): relative, market-with-betas, k-sigma and collateral shocks.

Expected numbers are worked out here by hand or recomputed from the shipped CSV with the csv module,
independently of ``margin.marketdata``.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from margin import PortfolioError, compile_book, evaluate, load_portfolio, portfolio_from_dict, resolve
from margin.scenarios import ShockSet, evaluate_shock_set, lookup_asset, market_sweep, resolve_moves
from margin.shocks import parse_shock

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "portfolios"


def _book(**extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": 10000.0},
        "prices": {"BTC/USDT:USDT": 100000.0, "ETH/USDT:USDT": 4000.0},
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.5, "entry_price": 100000.0, "leverage": 10},
            {"symbol": "ETH/USDT:USDT", "side": "long", "contracts": 10, "entry_price": 4000.0, "leverage": 10},
        ],
    }
    doc.update(extra)
    return doc


def test_market_move_with_hand_betas() -> None:
    """β_BTC = 1 (the market), β_ETH = 1.4 set by hand; market −10 %: BTC −10 %, ETH −14 %.
    Marks 90,000 and 3,440; UPNL 0.5 × (−10,000) + 10 × (−560) = −5,000 − 5,600 = −10,600;
    cross equity 10,000 − 10,600 = −600 → liquidated."""
    r = resolve(portfolio_from_dict(_book()))
    doc = evaluate_shock_set(r, ShockSet(market_move=-0.10, betas={"ETH": 1.4}))
    assert doc["asset_moves"]["BTC"] == pytest.approx(-0.10, abs=1e-15)  # type: ignore[index]
    assert doc["asset_moves"]["ETH"] == pytest.approx(-0.14, abs=1e-15)  # type: ignore[index]
    pos = {p["id"]: p for p in doc["modes"]["cross"]["positions"]}  # type: ignore[index]
    assert pos["ETH/USDT:USDT long"]["mark_price"] == pytest.approx(3440.0, rel=1e-15)
    pool = doc["modes"]["cross"]["pools"][0]  # type: ignore[index]
    assert pool["equity"] == pytest.approx(-600.0, abs=1e-9)
    assert pool["liquidated"] is True


def _betas_by_hand(asset: str, days: int = 365) -> float:
    with (ROOT / "fixtures" / "market-data" / "daily_close.csv").open() as fh:
        rows = list(csv.DictReader(fh))[-(days + 1) :]
    rm, ra = [], []
    for a, b in itertools.pairwise(rows):
        if a[asset] and b[asset] and a["BTC"] and b["BTC"]:
            ra.append(math.log(float(b[asset]) / float(a[asset])))
            rm.append(math.log(float(b["BTC"]) / float(a["BTC"])))
    n = len(rm)
    mm, ma = sum(rm) / n, sum(ra) / n
    cov = sum((x - mm) * (y - ma) for x, y in zip(rm, ra, strict=True)) / (n - 1)
    var = sum((x - mm) ** 2 for x in rm) / (n - 1)
    return cov / var


def test_estimated_beta_is_cov_over_var_of_daily_log_returns() -> None:
    r = resolve(portfolio_from_dict(_book()))
    moves = resolve_moves(r, ShockSet(market_move=-0.2))
    assert moves.betas["ETH"] == pytest.approx(_betas_by_hand("ETH"), rel=1e-10)
    assert moves.asset_moves["ETH"] == pytest.approx(-0.2 * _betas_by_hand("ETH"), rel=1e-10)
    assert moves.fallbacks == []


def test_k_sigma_move() -> None:
    """k = −2, σ_ETH = 0.8 set by hand, 7 days: exp(−2 × 0.8 × √(7/365)) − 1 = exp(−0.221576) − 1 = −0.198745."""
    r = resolve(portfolio_from_dict(_book()))
    moves = resolve_moves(r, ShockSet(sigma=-2, horizon_days=7, volatilities={"ETH": 0.8, "BTC": 0.5}))
    assert moves.asset_moves["ETH"] == pytest.approx(math.exp(-2 * 0.8 * math.sqrt(7 / 365)) - 1, rel=1e-12)
    assert moves.asset_moves["ETH"] == pytest.approx(-0.198745, abs=1e-6)
    assert moves.asset_moves["BTC"] == pytest.approx(math.exp(-2 * 0.5 * math.sqrt(7 / 365)) - 1, rel=1e-12)


def test_components_compound() -> None:
    """BTC: relative −10 % then market −20 % (β 1): 0.9 × 0.8 = 0.72 → −28 %."""
    r = resolve(portfolio_from_dict(_book()))
    moves = resolve_moves(r, ShockSet(relative=(parse_shock("BTC=-10%"),), market_move=-0.2, betas={"ETH": 1.0}))
    assert moves.symbol_moves["BTC/USDT:USDT"] == pytest.approx(-0.28, abs=1e-15)
    assert moves.symbol_moves["ETH/USDT:USDT"] == pytest.approx(-0.20, abs=1e-15)


def test_collateral_shock_counts_the_haircut() -> None:
    """USDe 20,000 at 1.00 with a 5 % haircut backs the USDT pool: 20,000 × 0.95 = 19,000.
    USDe −35 %: 20,000 × 0.65 × 0.95 = 12,350; the wallet drops by 20,000 × 0.35 × 0.95 = 6,650."""
    doc = _book(
        collateral={"USDT": 10000.0, "USDe": 20000.0},
        collateral_assets={"USDe": {"price": 1.0, "haircut": 0.05, "pool": "USDT"}},
    )
    r = resolve(portfolio_from_dict(doc))
    before = evaluate_shock_set(r, ShockSet())["modes"]["as_is"]["pools"][0]  # type: ignore[index]
    after = evaluate_shock_set(r, ShockSet(collateral={"USDe": -0.35}))["modes"]["as_is"]["pools"][0]  # type: ignore[index]
    assert before["wallet_balance"] == pytest.approx(29000.0, rel=1e-15)
    assert after["wallet_balance"] == pytest.approx(22350.0, rel=1e-15)
    assert before["wallet_balance"] - after["wallet_balance"] == pytest.approx(6650.0, rel=1e-12)


def test_fallback_beta_reported_for_unknown_asset() -> None:
    r = resolve(load_portfolio(SAMPLES / "hyperliquid-account.json"))
    moves = resolve_moves(r, ShockSet(market_move=-0.1))
    assert "HYPE" in moves.fallbacks
    assert moves.asset_moves["HYPE"] == pytest.approx(-0.15, abs=1e-15)  # fallback β 1.5


def test_lookup_asset_strips_multiplier() -> None:
    assert lookup_asset("1000PEPE") == "PEPE"
    assert lookup_asset("BTC") == "BTC"
    assert lookup_asset("1INCH") == "1INCH"


@pytest.mark.parametrize("name", sorted(p.stem for p in SAMPLES.glob("*.json")))
def test_market_sweep_equals_engine(name: str) -> None:
    r = resolve(load_portfolio(SAMPLES / f"{name}.json"))
    moves = np.linspace(-0.6, 0.6, 61)
    sweep = market_sweep(r, moves, betas_given={"HYPE": 1.5})
    for view, ev in sweep.views.items():
        book = compile_book(r, view)
        k = 17
        direct = evaluate(book, book.marks * (1 + sweep.asset_moves[k]))
        np.testing.assert_allclose(ev.pool_equity[k], direct.pool_equity[0], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(ev.pool_maintenance[k], direct.pool_maintenance[0], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    ("shock_set", "field"),
    [
        (ShockSet(market_move=-1.0), "market_move"),
        (ShockSet(market_move=-0.8, betas={"ETH": 1.5}), "beta.ETH"),
        (ShockSet(sigma=float("nan")), "sigma"),
        (ShockSet(sigma=-1, horizon_days=0), "horizon_days"),
        (ShockSet(collateral={"USDe": -0.1}), "collateral.USDe"),
        (ShockSet(relative=(parse_shock("DOGE=-10%"),)), "--shock"),
    ],
)
def test_bad_shock_sets(shock_set: ShockSet, field: str) -> None:
    r = resolve(portfolio_from_dict(_book()))
    with pytest.raises(PortfolioError) as err:
        resolve_moves(r, shock_set)
    assert any(p.path == field for p in err.value.problems), err.value.message
