"""``margin.risk``: closed-form first passage, the Monte Carlo of the whole account, intervals, inputs.

Expected closed-form numbers are worked by hand below (Φ values from the normal table, to 5 digits);
the Monte Carlo is checked against the closed form for a position alone in its pool, with the
Broadie–Glasserman–Kou correction for hourly monitoring.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from margin import compile_book, evaluate, load_portfolio, portfolio_from_dict, resolve
from margin.cli_args import flag_error, parse_horizon, parse_vols, risk_args
from margin.engine import VIEWS, Book
from margin.errors import PortfolioError
from margin.instruments import symbol_base
from margin.loader import PriceHistory, load_daily_closes
from margin.marketdata import annual_volatility
from margin.portfolio import Portfolio, Resolved
from margin.risk import (
    HOURS_PER_YEAR,
    MAX_PATHS,
    Triggers,
    build_model,
    discrete_barrier,
    first_passage_probability,
    position_first_passage,
    risk,
    risk_result,
    simulate,
    wilson_interval,
)
from margin.risk_evaluated import pool_flags
from margin.risk_intervals import median_interval, median_ranks
from margin.risk_results import Liquidation, LiquidationTimes, checkpoints
from margin.risk_separable import SeparablePools
from margin.risk_simulation import CHUNK_ELEMENTS, MAX_CHUNK_STEPS, NEVER

HIST = load_daily_closes()
IntArray = npt.NDArray[np.intp]
SAMPLES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "portfolios").glob("*.json"))
Z99 = 2.5758293035489004


def _book(
    positions: list[dict[str, object]],
    prices: dict[str, float],
    collateral: float = 100_000.0,
    venue: str = "binance-usdm",
    **extra: object,
) -> dict[str, object]:
    return {
        "format": "margin-portfolio/1",
        "venue": venue,
        "collateral": {"USDT": collateral},
        "prices": prices,
        "positions": positions,
        **extra,
    }


def _two_isolated() -> dict[str, object]:
    """A 10× isolated BTC long and an 8× isolated ETH short: each alone in its pool (as_is view)."""
    return _book(
        [
            {
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 0.5,
                "entry_price": 80000.0,
                "leverage": 10,
                "margin_mode": "isolated",
            },
            {
                "symbol": "ETH/USDT:USDT",
                "side": "short",
                "contracts": 10,
                "entry_price": 2000.0,
                "leverage": 8,
                "margin_mode": "isolated",
            },
        ],
        {"BTC/USDT:USDT": 80000.0, "ETH/USDT:USDT": 2000.0},
    )


# --------------------------------------------------------------------------- closed form, by hand


def test_closed_form_down_barrier_by_hand() -> None:
    """σ = 0.8, T = 7 d = 168/8760 = 0.0191781 y, b = 0.9, μ = 0.

    √T = 0.138485, s = σ√T = 0.110788; ν = μ − σ²/2 = −0.32, νT = −0.0061370; a = ln 0.9 = −0.1053605.
    d₁ = (a − νT)/s = (−0.1053605 + 0.0061370)/0.110788 = −0.895617 → Φ = 0.18523
    d₂ = (a + νT)/s = (−0.1053605 − 0.0061370)/0.110788 = −1.006404 → Φ = 0.15711
    e^{2νa/σ²} = e^{−a} = 1/0.9 = 1.111111 (μ = 0)
    P = 0.18523 + 1.111111 × 0.15711 = 0.18523 + 0.17457 = 0.35980
    """
    assert first_passage_probability(0.9, 0.8, 168) == pytest.approx(0.35980, abs=2e-5)


def test_closed_form_up_barrier_by_hand() -> None:
    """A short: σ = 1.0, T = 30 d = 720/8760 = 0.0821918 y, b = 1.2, μ = 0.

    s = √0.0821918 = 0.286691; ν = −0.5, νT = −0.0410959; a = ln 1.2 = 0.1823216.
    e₁ = (−a + νT)/s = (−0.1823216 − 0.0410959)/0.286691 = −0.779297 → Φ = 0.21790
    e₂ = (−a − νT)/s = (−0.1823216 + 0.0410959)/0.286691 = −0.492606 → Φ = 0.31115
    e^{2νa/σ²} = e^{−a} = 1/1.2 = 0.833333
    P = 0.21790 + 0.833333 × 0.31115 = 0.21790 + 0.25929 = 0.47719
    """
    assert first_passage_probability(1.2, 1.0, 720) == pytest.approx(0.47719, abs=2e-5)
    assert first_passage_probability(1.2, 1.0, 720, direction="up") == pytest.approx(0.47719, abs=2e-5)


def test_closed_form_with_drift_by_hand() -> None:
    """σ = 0.6, μ = 0.5 per year, T = 168 h, b = 0.85.

    s = 0.6 × 0.138485 = 0.083091; ν = 0.5 − 0.18 = 0.32, νT = 0.0061370; a = ln 0.85 = −0.1625189.
    d₁ = (a − νT)/s = −0.1686559/0.083091 = −2.029774 → Φ = 0.021190
    d₂ = (a + νT)/s = −0.1563819/0.083091 = −1.882057 → Φ = 0.029914
    e^{2νa/σ²} = e^{2 × 0.32 × (−0.1625189)/0.36} = e^{−0.288922} = 0.749070
    P = 0.021190 + 0.749070 × 0.029914 = 0.021190 + 0.022408 = 0.043598
    """
    assert first_passage_probability(0.85, 0.6, 168, mu_annual=0.5) == pytest.approx(0.043598, abs=3e-6)


def test_closed_form_limits() -> None:
    p = first_passage_probability
    assert p(0.0, 0.8, 168) == 0.0  # a long whose barrier is price 0 is never liquidated
    assert p(1e-12, 0.8, 168) < 1e-100
    assert p(1.0, 0.8, 168, direction="down") == 1.0  # already at the level
    assert p(1.05, 0.8, 168, direction="down") == 1.0  # a long past its level
    assert p(0.95, 0.8, 168, direction="up") == 1.0  # a short past its level
    assert p(np.inf, 0.8, 168) == 0.0
    assert p(np.nan, 0.8, 168) == 0.0  # no liquidation price
    assert p(0.9, 0.0, 168) == 0.0  # no volatility, no drift: the price stays put
    assert p(0.9, 0.8, 0) == 0.0  # no time
    # σ = 0 with drift: X_T = νT = μT; μ = −1/y over 24 h gives −0.00274 > ln 0.999 = −0.0010005 → touched
    assert p(0.999, 0.0, 24, mu_annual=-1.0) == 1.0
    # close to the barrier, probability → 1; far, → 0; monotone in b, σ and T
    b = np.linspace(0.5, 0.999, 50)
    curve = p(b, 0.8, 168)
    assert np.all(np.diff(curve) > 0) and curve[-1] > 0.98 and curve[0] < 1e-6
    assert np.all(np.diff(p(0.9, np.linspace(0.1, 2.0, 20), 168)) > 0)
    assert np.all(np.diff(p(0.9, 0.8, np.arange(1, 500, 24))) > 0)


def test_closed_form_vectorised_and_symmetric() -> None:
    """Down barrier b with drift ν equals up barrier 1/b with drift −ν (X ↦ −X): μ' = σ² − μ."""
    b = np.array([0.5, 0.8, 0.95, 0.99])
    sig = np.array([0.4, 0.8, 1.2, 0.6])
    mu = np.array([0.0, 0.3, -0.2, 1.0])
    down = first_passage_probability(b, sig, 240, mu)
    up = first_passage_probability(1.0 / b, sig, 240, sig**2 - mu)
    assert down.shape == (4,)
    np.testing.assert_allclose(down, up, rtol=1e-12, atol=1e-15)
    for i in range(4):  # vectorised equals one at a time
        assert down[i] == first_passage_probability(b[i], sig[i], 240, mu[i])


def test_discrete_barrier_shift() -> None:
    """BGK: b·exp(∓0.5826 σ√Δt); σ = 0.8, Δt = 1 h: 0.5826 × 0.8 × √(1/8760) = 0.5826 × 0.8 × 0.0106843 = 0.0049797."""
    assert discrete_barrier(0.9, 0.8) == pytest.approx(0.9 * math.exp(-0.0049797), rel=1e-6)
    assert discrete_barrier(1.1, 0.8) == pytest.approx(1.1 * math.exp(0.0049797), rel=1e-6)


def test_wilson_interval_by_hand() -> None:
    """8 of 10, z = 1.96: p̂ = 0.8, z² = 3.8416, 1 + z²/n = 1.38416;
    centre = (0.8 + 3.8416/20)/1.38416 = 0.99208/1.38416 = 0.716738;
    half = 1.96 × √(0.8·0.2/10 + 3.8416/400)/1.38416 = 1.96 × √0.025604/1.38416 = 1.96 × 0.160013/1.38416 = 0.226582;
    → [0.490156, 0.943320]."""
    lo, hi = wilson_interval(8, 10, 1.96)
    assert lo == pytest.approx(0.490156, abs=2e-6) and hi == pytest.approx(0.943320, abs=2e-6)
    assert wilson_interval(0, 100)[0] == 0.0 and wilson_interval(100, 100)[1] == 1.0
    # 0 of 100: upper = z²/n/(1 + z²/n) = 0.0384146/1.0384146 = 0.036994
    assert wilson_interval(0, 100)[1] == pytest.approx(0.036994, abs=2e-6)


def test_median_ranks_by_hand() -> None:
    """n = 100, z = 1.959964: z·√(n/4) = 1.959964 × 5 = 9.79982; lo = ⌊50 − 9.79982⌋ = 40,
    hi = ⌈50 + 9.79982⌉ + 1 = 61. n = 3: z·√0.75 = 1.69741; lo = max(1, ⌊−0.197⌋) = 1, hi = min(3, 5) = 3."""
    assert median_ranks(100) == (40, 61)
    assert median_ranks(3) == (1, 3)
    assert median_interval(np.arange(1.0, 101.0)) == (40.0, 61.0)


def test_summary_of_first_hours_by_hand() -> None:
    """Five paths, first hours 3, never, 1, 5, never, horizon 6 h: k = 3, p = 0.6.

    Wilson (z = 1.959964, z² = 3.841459): denom = 1 + 3.841459/5 = 1.768292; centre = (0.6 + 0.384146)/1.768292
    = 0.556552; half = 1.959964 × √(0.24/5 + 3.841459/100)/1.768292 = 1.959964 × 0.293964/1.768292 = 0.325828
    → [0.230724, 0.882380]. Hours 1, 3, 5: numpy's linear quantiles p5 = 1 + 0.1 × 2 = 1.2, p50 = 3,
    p95 = 3 + 0.9 × 2 = 4.8, mean 3; median ranks (n = 3) 1 and 3 → [1, 5]. Checkpoints every hour
    (horizon ≤ 48): paths liquidated by 1..6 h = 1, 1, 2, 2, 3, 3 of 5."""
    first = np.array([3, NEVER, 1, 5, NEVER], dtype=np.int32)
    s = Liquidation.of(first, 6)
    assert (s.probability, s.liquidated_paths) == (0.6, 3)
    assert s.ci95 == pytest.approx((0.230724, 0.882380), abs=2e-6)
    t = s.times
    assert (t.p5, t.p50, t.p95, t.mean) == pytest.approx((1.2, 3.0, 4.8, 3.0), abs=1e-12)
    assert t.p50_ci95 == (1.0, 5.0)
    assert s.cumulative_hours == (1, 2, 3, 4, 5, 6)
    assert s.cumulative_probability == pytest.approx((0.2, 0.2, 0.4, 0.4, 0.6, 0.6), abs=1e-15)
    assert s.to_dict()["time_to_liquidation_hours"] == {
        "p5": t.p5,
        "p50": 3.0,
        "p95": t.p95,
        "mean": 3.0,
        "p50_ci95": [1.0, 5.0],
    }
    none = Liquidation.of(np.full(4, NEVER, dtype=np.int32), 6).to_dict()
    assert none["probability"] == 0.0 and none["ci95"] == [0.0, pytest.approx(1.959964**2 / 4 / (1 + 1.959964**2 / 4))]


def test_checkpoints() -> None:
    """Every hour up to 48 h; above, whole days in steps of 24·⌈H/24/60⌉ h: 720 h → 24 h steps (30 points);
    8760 h → ⌈6.08⌉ = 7 days = 168 h steps (52 points below 8760, then 8760); always ending at H."""
    assert checkpoints(3) == (1, 2, 3)
    assert checkpoints(49) == (24, 48, 49)
    assert checkpoints(720) == tuple(range(24, 721, 24))
    year = checkpoints(8760)
    assert len(year) == 53 and year[:2] == (168, 336) and year[-2:] == (8736, 8760)


# --------------------------------------------------------------------------- Monte Carlo vs closed form


def test_monte_carlo_matches_closed_form_for_isolated_positions() -> None:
    """gbm, 20,000 paths, 168 hourly closes, --vol BTC=0.8 ETH=0.9: each isolated pool's simulated
    probability holds the closed form at the BGK-shifted barrier within its 99 % Wilson interval, and
    the continuous-monitoring value (larger) lies above it: the correction is seen, not assumed."""
    resolved = resolve(portfolio_from_dict(_two_isolated()))
    n = 20_000
    out = risk_result(resolved, 168, HIST, paths=n, seed=3, model="gbm", vols={"BTC": 0.8, "ETH": 0.9})
    positions = {p.id: p for p in out.modes["as_is"].positions}
    pools = out.modes["as_is"].pools
    assert len(pools) == 2
    for pool in pools:
        (pid,) = pool.positions
        closed = positions[pid]
        assert closed.exact and closed.barrier_ratio is not None
        b, sig = closed.barrier_ratio, closed.volatility
        hourly = float(first_passage_probability(discrete_barrier(b, sig), sig, 168))
        continuous = float(first_passage_probability(b, sig, 168))
        k = pool.liquidation.liquidated_paths
        lo, hi = wilson_interval(k, n, Z99)
        assert lo <= hourly <= hi, (pid, k / n, hourly)
        assert continuous > hi, (pid, continuous, hi)
        assert closed.probability_hourly == pytest.approx(hourly, rel=1e-12)
    # the view is liquidated when either pool is: P(view) ≥ max of the pools, ≤ their sum
    view = out.modes["as_is"].liquidation.probability
    probs = [p.liquidation.probability for p in pools]
    assert max(probs) <= view <= sum(probs)


def test_time_to_liquidation_matches_closed_form() -> None:
    """One isolated 10× BTC long, σ = 0.8, gbm, 20,000 paths over 7 d: the cumulative probability at every
    daily checkpoint h is the closed form at horizon h (BGK barrier) within its 99 % Wilson interval, and
    the closed-form conditional median time (F(t) = F(168)/2, by bisection) lies in the reported
    distribution-free 95 % interval of the simulated median."""
    data = _two_isolated()
    data["positions"] = data["positions"][:1]  # type: ignore[index]
    data["prices"] = {"BTC/USDT:USDT": 80000.0}
    resolved = resolve(portfolio_from_dict(data))
    n = 20_000
    mode = risk_result(resolved, 168, HIST, paths=n, seed=21, model="gbm", vols={"BTC": 0.8}).modes["isolated"]
    (pos,) = mode.positions
    assert pos.barrier_ratio is not None
    b = float(discrete_barrier(pos.barrier_ratio, 0.8))

    def cdf(hours: float) -> float:
        return float(first_passage_probability(b, 0.8, hours))

    cum = mode.liquidation
    assert cum.cumulative_hours == (24, 48, 72, 96, 120, 144, 168)
    for hours, prob in zip(cum.cumulative_hours, cum.cumulative_probability, strict=True):
        lo, hi = wilson_interval(round(prob * n), n, Z99)
        assert lo <= cdf(hours) <= hi, (hours, prob, cdf(hours))
    target = cdf(168) / 2
    lo_t, hi_t = 0.0, 168.0
    for _ in range(60):
        mid = (lo_t + hi_t) / 2
        lo_t, hi_t = (mid, hi_t) if cdf(mid) < target else (lo_t, mid)
    ci = mode.liquidation.times.p50_ci95
    assert ci is not None
    # hourly closes: the simulated time is the first whole hour at or after the continuous touch
    assert ci[0] - 1 <= lo_t <= ci[1], (lo_t, ci)


def test_liquidation_price_barrier_for_a_long() -> None:
    """Barrier of the 10× isolated long (Binance BTC tier 1: mmr 0.4 %, cum 0): margin 0.5 × 80000/10 = 4000;
    4000 + 0.5 (P − 80000) = 0.5 P × 0.004 → 0.498 P = 36000 → P = 72289.157, b = 0.9036145."""
    resolved = resolve(portfolio_from_dict(_two_isolated()))
    (long,) = [p for p in position_first_passage(resolved, "as_is", 168, {"BTC": 0.8, "ETH": 0.9}) if p.side == "long"]
    assert long.liquidation_price == pytest.approx(72289.157, abs=1e-3)
    assert long.barrier_ratio == pytest.approx(0.9036145, abs=1e-7)


# --------------------------------------------------------------------------- whole-account Monte Carlo


def test_reproducible_with_seed() -> None:
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "coin-margined.json"))
    a: dict[str, Any] = risk(resolved, 48, HIST, paths=3000, seed=11)
    b = risk(resolved, 48, HIST, paths=3000, seed=11)
    c: dict[str, Any] = risk(resolved, 48, HIST, paths=3000, seed=12)
    assert a == b
    assert a["modes"] != c["modes"]


@pytest.mark.parametrize("model", ["bootstrap", "student-t", "gbm"])
def test_every_view_present_and_consistent(model: str) -> None:
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "hedged-pair.json"))
    out: dict[str, Any] = risk(resolved, 72, HIST, paths=4000, seed=5, model=model)
    assert out["horizon_hours"] == 72 and out["paths"] == 4000 and out["model"]["name"] == model
    assert json.loads(json.dumps(out, allow_nan=False)) == out  # plain JSON, no NaN
    assert set(out["modes"]) == set(VIEWS)
    for view, mode in out["modes"].items():
        p = mode["probability"]
        lo, hi = mode["ci95"]
        assert 0.0 <= lo <= p <= hi <= 1.0, view
        assert mode["liquidated_paths"] == round(p * 4000)
        times = mode["time_to_liquidation_hours"]
        if mode["liquidated_paths"]:
            assert 1 <= times["p5"] <= times["p50"] <= times["p95"] <= 72
        else:
            assert times["p5"] is None and times["p50"] is None and times["p95"] is None
        cum = mode["cumulative"]
        assert cum["hours"][-1] == 72 and cum["probability"][-1] == pytest.approx(p)
        assert all(x <= y for x, y in zip(cum["probability"], cum["probability"][1:], strict=False))
        assert all(pool["probability"] <= p for pool in mode["pools"])
    # hedged cross account survives what the isolated legs do not (3 independent pools)
    assert out["modes"]["isolated"]["probability"] > out["modes"]["cross"]["probability"]


def test_no_liquidation_price_gives_zero() -> None:
    """1× isolated long: margin = entry notional, liquidation only at price 0 → none, probability 0."""
    resolved = resolve(
        portfolio_from_dict(
            _book(
                [
                    {
                        "symbol": "BTC/USDT:USDT",
                        "side": "long",
                        "contracts": 0.5,
                        "entry_price": 80000.0,
                        "leverage": 1,
                        "margin_mode": "isolated",
                    }
                ],
                {"BTC/USDT:USDT": 80000.0},
            )
        )
    )
    out = risk_result(resolved, 720, HIST, paths=2000, seed=1, model="student-t")
    for mode in out.modes.values():
        assert mode.liquidation.probability == 0.0 and mode.liquidation.ci95[0] == 0.0
        assert mode.liquidation.times == LiquidationTimes()  # all None
    (pos,) = out.modes["isolated"].positions
    assert pos.liquidation_price is None and pos.probability == 0.0


def test_already_liquidated_is_certain_at_hour_zero() -> None:
    """10× isolated long from 80000 with the mark at 70000 (below its level 72289): liquidated now."""
    resolved = resolve(
        portfolio_from_dict(
            _book(
                [
                    {
                        "symbol": "BTC/USDT:USDT",
                        "side": "long",
                        "contracts": 0.5,
                        "entry_price": 80000.0,
                        "leverage": 10,
                        "margin_mode": "isolated",
                    }
                ],
                {"BTC/USDT:USDT": 70000.0},
            )
        )
    )
    mode = risk_result(resolved, 24, HIST, paths=500, seed=1).modes["isolated"]
    assert mode.liquidation.probability == 1.0
    assert mode.liquidation.times.p5 == 0.0 and mode.liquidation.times.p95 == 0.0
    assert mode.positions[0].probability == 1.0


def test_portfolio_without_positions_is_never_liquidated() -> None:
    """Only collateral: no pool holds a position (format §2: never liquidated), in every view."""
    resolved = resolve(portfolio_from_dict(_book([], {}, 1000.0)))
    out = risk_result(resolved, 24, HIST, paths=10, seed=0)
    for mode in out.modes.values():
        assert mode.liquidation.probability == 0.0 and mode.pools == () and mode.positions == ()


def test_shorter_horizon_is_a_prefix() -> None:
    """Same seed, gbm: the first 48 hours of a 96-hour run are the 48-hour run (draws in whole days)."""
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "coin-margined.json"))
    short = risk_result(resolved, 48, HIST, paths=3000, seed=4, model="gbm")
    long = risk_result(resolved, 96, HIST, paths=3000, seed=4, model="gbm")
    for view in VIEWS:
        cum = long.modes[view].liquidation
        at_48 = cum.cumulative_probability[cum.cumulative_hours.index(48)]
        assert short.modes[view].liquidation.probability == pytest.approx(at_48)
        assert short.modes[view].liquidation.probability <= cum.probability


def _engine_books() -> list[Portfolio]:
    """Samples (linear, inverse, hedge, isolated, several settle assets), synthetic OKX fee and Bybit at-entry
    maintenance, Deribit size-dependent rates (a cross long and an isolated short), non-settle collateral."""
    books = [load_portfolio(p) for p in SAMPLES]
    tiers = [
        {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 50},
        {"min_notional": 50000, "max_notional": None, "mmr": 0.01, "max_leverage": 20},
    ]
    for venue in ("okx", "bybit"):
        books.append(
            portfolio_from_dict(
                _book(
                    [
                        {
                            "symbol": "BTC/USDT:USDT",
                            "side": "long",
                            "contracts": 2,
                            "entry_price": 60000.0,
                            "leverage": 10,
                        },
                        {
                            "symbol": "ETH/USDT:USDT",
                            "side": "short",
                            "contracts": 20,
                            "entry_price": 3000.0,
                            "leverage": 10,
                            "margin_mode": "isolated",
                        },
                    ],
                    {"BTC/USDT:USDT": 60000.0, "ETH/USDT:USDT": 3000.0},
                    30000.0,
                    venue,
                    tiers={"BTC/USDT:USDT": tiers, "ETH/USDT:USDT": tiers},
                    taker_fee=0.0005,
                )
            )
        )
    books.append(
        portfolio_from_dict(
            {  # Deribit: inverse, maintenance rate growing with size (δ/P² term)
                "format": "margin-portfolio/1",
                "venue": "deribit",
                "collateral": {"BTC": 3.0},
                "prices": {"BTC/USD:BTC": 60000.0},
                "positions": [
                    {
                        "symbol": "BTC/USD:BTC",
                        "side": "long",
                        "contracts": 30000,
                        "contract_size": 10,
                        "entry_price": 58000.0,
                    }
                ],
            }
        )
    )
    books.append(
        portfolio_from_dict(
            {  # Deribit inverse isolated short: maintenance (q/P)²·per_size grows without bound as P falls
                "format": "margin-portfolio/1",
                "venue": "deribit",
                "collateral": {"BTC": 5.0},
                "prices": {"BTC/USD:BTC": 60000.0},
                "positions": [
                    {
                        "symbol": "BTC/USD:BTC",
                        "side": "short",
                        "contracts": 20000,
                        "contract_size": 10,
                        "entry_price": 61000.0,
                        "isolated_margin": 0.4,
                        "margin_mode": "isolated",
                    }
                ],
            }
        )
    )
    coll = _two_isolated()
    coll["collateral"] = {"USDT": 3000.0, "USDe": 5000.0}
    coll["collateral_assets"] = {"USDe": {"price": 1.0, "haircut": 0.1, "pool": "USDT"}}
    coll["positions"][0]["margin_mode"] = "cross"  # type: ignore[index]
    books.append(portfolio_from_dict(coll))
    return books


def _symbol_bases(book: Book) -> dict[str, str]:
    """The base of every symbol of the marks, futures and option columns (``margin.instruments.symbol_base``)."""
    out = {}
    for s in book.symbols:
        base = symbol_base(s)
        assert base is not None, s
        out[s] = base
    return out


def _asset_columns(resolved: Resolved, book: Book) -> tuple[list[str], IntArray, IntArray]:
    """The bases of the symbols (assets), each position's asset column and each symbol's."""
    base = _symbol_bases(book)
    assets = list(dict.fromkeys(base[s] for s in book.symbols))
    sym_col = np.array([assets.index(base[s]) for s in book.symbols], dtype=np.intp)
    return assets, sym_col[book.sym], sym_col


def _option_pools_equal_engine(resolved: Resolved, rng: np.random.Generator) -> int:
    """An account holding options has its pools checked by ``margin.risk_evaluated.pool_flags`` (the separable
    fast path does not value options): at hour ``h`` its flags equal ``evaluate`` on the book compiled
    ``h/24`` days later (``--days``, format §6.5: the options' time to expiry ``T − h/24/365`` years)."""
    checked = 0
    for view in VIEWS:
        book = compile_book(resolved, view)
        for hour in (0, 1, 24, 168, 2000):
            later = compile_book(resolved, view, dataclasses.replace(resolved.market, days=hour / 24.0))
            marks = book.marks * np.exp(rng.normal(0.0, 0.25, (400, 1)))  # one base: every column moves together
            flags = pool_flags(book, marks, np.full(400, float(hour)))
            expected = evaluate(later, marks).pool_liquidated
            np.testing.assert_array_equal(flags, expected, err_msg=f"{view} hour {hour}")
            checked += int(expected.sum())
    return checked


def test_separable_pools_equal_engine() -> None:
    """Every pool of every view as a sum of per-asset functions or a barrier (``margin.risk_separable``) gives
    ``margin.engine.evaluate``'s flags at random asset moves (each symbol's mark ``P₀ × r`` of its asset) and
    collateral prices; an account holding options, checked by the engine itself, too
    (:func:`_option_pools_equal_engine`)."""
    rng = np.random.default_rng(0)
    checked = barriers = evaluated_iso = option_checked = 0
    for pf in _engine_books():
        resolved = resolve(pf)
        if resolved.option_legs:
            option_checked += _option_pools_equal_engine(resolved, rng)
            continue
        compiled = {v: compile_book(resolved, v) for v in VIEWS}
        trig = Triggers(compiled)
        first = compiled["as_is"]
        assets, pos_col, sym_col = _asset_columns(resolved, first)
        pools = SeparablePools(trig, pos_col, len(assets))
        ratios = np.exp(rng.normal(0.0, 0.25, (400, len(assets))))
        marks = first.marks * ratios[:, sym_col]
        cp = None
        if first.collateral_assets:
            cp = first.collateral_price * np.exp(rng.normal(0.0, 0.5, (400, len(first.collateral_assets))))
        flags = pools.liquidated(ratios, cp)
        for view, book in compiled.items():
            expected = evaluate(book, marks, collateral_prices=cp).pool_liquidated
            np.testing.assert_array_equal(flags[view], expected, err_msg=f"{view}")
            checked += int(expected.sum())
        barriers += sum(b.down.size + b.up.size for b in pools.barriers)
        evaluated_iso += int(np.sum(pools.evaluated >= trig.n_cross))
    assert checked > 100  # the random moves do liquidate pools
    assert option_checked > 10  # and pools holding options
    assert barriers > 10 and evaluated_iso >= 1  # both ways of checking an isolated pool are exercised


def test_isolated_pools_are_barriers_at_their_liquidation_prices() -> None:
    """The two isolated pools of ``_two_isolated`` (as_is view; the isolated view holds the same pools) are
    ratio barriers at the liquidation price over the mark. Long: 4000 + 0.5 (P − 80000) = 0.5 P × 0.004 →
    P = 36000/0.498 = 72289.157, r = 0.9036145 (down). Short (ETH tier 1: mmr 0.4 %, cum 0): margin
    20000/8 = 2500; 2500 − 10 (P − 2000) = 10 P × 0.004 → P = 22500/10.04 = 2241.0359, r = 1.1205179 (up).
    The Deribit isolated short (size-dependent maintenance, not monotone in the mark) is evaluated instead."""
    resolved = resolve(portfolio_from_dict(_two_isolated()))
    compiled = {v: compile_book(resolved, v) for v in VIEWS}
    trig = Triggers(compiled)
    assets, pos_col, _ = _asset_columns(resolved, compiled["as_is"])
    pools = SeparablePools(trig, pos_col, len(assets))
    assert trig.n_unique == 3 and list(pools.evaluated) == [0]  # the cross view's USDT pool
    by_asset = {assets[b.asset]: b for b in pools.barriers}
    assert by_asset["BTC"].down == pytest.approx([72289.157 / 80000.0], rel=1e-8) and by_asset["BTC"].up.size == 0
    assert by_asset["ETH"].up == pytest.approx([2241.0359 / 2000.0], rel=1e-7) and by_asset["ETH"].down.size == 0
    deribit = resolve(_engine_books()[-2])
    compiled = {v: compile_book(deribit, v) for v in VIEWS}
    trig = Triggers(compiled)
    pools = SeparablePools(trig, np.zeros(1, dtype=np.intp), 1)
    assert pools.barriers == [] and trig.n_cross in pools.evaluated  # the isolated pool, evaluated


#: (venue, symbol, mark, contract size in quote units or None for coin, extra portfolio fields)
_VENUES: list[tuple[str, str, float, float | None, dict[str, object]]] = [
    ("binance-usdm", "BTC/USDT:USDT", 60000.0, None, {}),
    ("binance-coinm", "BTC/USD:BTC", 60000.0, 100.0, {}),
    ("bybit", "BTC/USDT:USDT", 60000.0, None, {}),  # isolated maintenance valued at entry (§3.2)
    ("deribit", "BTC/USD:BTC", 60000.0, 10.0, {}),  # inverse, rate growing with size (§5.1)
    (
        "okx",  # fee to close in the trigger (§4)
        "BTC/USDT:USDT",
        60000.0,
        None,
        {
            "tiers": {
                "BTC/USDT:USDT": [
                    {"min_notional": 0, "max_notional": 200000, "mmr": 0.004, "max_leverage": 100},
                    {"min_notional": 200000, "max_notional": 2000000, "mmr": 0.01, "max_leverage": 50},
                    {"min_notional": 2000000, "max_notional": None, "mmr": 0.025, "max_leverage": 20},
                ]
            },
            "taker_fee": 0.0005,
        },
    ),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    venue=st.sampled_from(range(len(_VENUES))),
    side=st.sampled_from(["long", "short"]),
    notional=st.floats(1_000.0, 30_000_000.0),
    leverage=st.floats(1.0, 50.0),
    entry_move=st.floats(-0.2, 0.2),
)
def test_isolated_pool_alone_equals_engine(
    venue: int, side: str, notional: float, leverage: float, entry_move: float
) -> None:
    """One isolated position (any venue model, any tier, either side, healthy or liquidated now): its pool's
    flags (a barrier when its net is monotone, else evaluated) equal the engine's at 300 random moves."""
    name, symbol, mark, contract, extra = _VENUES[venue]
    settle = symbol.rsplit(":", 1)[1]
    entry = mark * (1.0 + entry_move)
    contracts = notional / (contract if contract else entry)
    margin = notional / leverage / (entry if settle == "BTC" else 1.0)
    doc = {
        "format": "margin-portfolio/1",
        "venue": name,
        "collateral": {settle: 10 * margin},
        "prices": {symbol: mark},
        "positions": [
            {
                "symbol": symbol,
                "side": side,
                "contracts": contracts,
                "entry_price": entry,
                "leverage": leverage,
                "isolated_margin": margin,
                "margin_mode": "isolated",
                **({"contract_size": contract} if contract else {}),
            }
        ],
        **extra,
    }
    try:
        resolved = resolve(portfolio_from_dict(doc))
    except PortfolioError:
        assume(False)
        return
    compiled = {v: compile_book(resolved, v) for v in VIEWS}
    trig = Triggers(compiled)
    pools = SeparablePools(trig, np.zeros(1, dtype=np.intp), 1)
    ratios = np.exp(np.random.default_rng(round(notional)).normal(0.0, 0.3, (300, 1)))
    flags = pools.liquidated(ratios)
    for view, book in compiled.items():
        expected = evaluate(book, mark * ratios).pool_liquidated
        np.testing.assert_array_equal(flags[view], expected, err_msg=view)
    event("barrier" if pools.barriers else "evaluated")


def test_simulation_equals_the_engine_hour_by_hour() -> None:
    """``simulate``'s first liquidation hour of every pool of every view on every path equals a first touch
    computed with ``margin.engine.evaluate`` at the marks of the same paths (the model's own draws, in the
    same chunks as ``simulate`` draws them), on every sample portfolio. An option's time to expiry at hour
    ``h`` is ``T − h/(365 × 24)`` years (time passes along the path)."""
    vols = {"WIF": 1.2, "SUI": 0.9, "ARB": 0.9, "HYPE": 1.0, "1000PEPE": 1.1, "TON": 0.8, "OP": 0.9, "TRX": 0.5}
    hours, paths, seed = 96, 300, 5
    liquidations = 0
    for path in SAMPLES:
        resolved = resolve(load_portfolio(path))
        sim = simulate(resolved, hours, HIST, paths=paths, seed=seed, model="student-t", vols=vols)
        books = sim.books
        first_book = books["as_is"]
        mm = sim.model
        base = _symbol_bases(first_book)
        sym_col = np.array([mm.assets.index(base[s]) for s in first_book.symbols], dtype=np.intp)
        coll_col = [mm.assets.index(c) if c in mm.assets else -1 for c in first_book.collateral_assets]
        rng = np.random.default_rng(seed)
        n_a = len(mm.assets)
        chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // (paths * n_a)))
        draws, done = [], 0
        while done < hours:
            draws.append(mm.draw(rng, min(chunk, hours - done), paths))
            done += draws[-1].shape[1]
        level = np.concatenate([np.zeros((n_a, 1, paths)), np.cumsum(np.concatenate(draws, axis=1), axis=1)], axis=1)
        ratio = np.exp(level)  # (A, hours + 1, paths), hour 0 = today
        for view, book in books.items():
            expected = np.full((paths, book.n_pools), NEVER, dtype=np.int64)
            held = np.bincount(book.pool, minlength=book.n_pools) > 0
            if book.options is not None:
                held[book.options.pool] = True  # a pool holding options can be liquidated too
            for hour in range(hours + 1):
                at_hour = book
                if book.options is not None:
                    t = book.options.t - hour / (365.0 * 24.0)
                    at_hour = dataclasses.replace(book, options=dataclasses.replace(book.options, t=t))
                marks = first_book.marks * ratio[sym_col, hour].T
                cp = None
                if coll_col:
                    cp = np.column_stack(
                        [
                            first_book.collateral_price[j] * (ratio[c, hour] if c >= 0 else np.ones(paths))
                            for j, c in enumerate(coll_col)
                        ]
                    )
                hit = evaluate(at_hour, marks, collateral_prices=cp).pool_liquidated & held
                expected[hit & (expected == NEVER)] = hour
            np.testing.assert_array_equal(sim.first[view], expected, err_msg=f"{path.name} {view}")
            liquidations += int(np.sum(expected != NEVER))
    assert liquidations > 1000


# --------------------------------------------------------------------------- market models


def test_history_volatility_and_override() -> None:
    hist = load_daily_closes()
    window = hist.window(366)
    m = build_model(["BTC", "ETH"], HIST, "gbm", {"ETH": 0.7})
    assert m.vol[0] == pytest.approx(annual_volatility(window, ["BTC"])["BTC"], rel=1e-12)
    assert m.vol[1] == 0.7
    assert m.sources == {"BTC": "history", "ETH": "--vol"}
    assert m.window["to"] == hist.times[-1]
    # numpy.corrcoef is symmetric only to rounding on some CPUs (its product is not computed symmetrically)
    assert m.corr[0, 1] == pytest.approx(m.corr[1, 0], rel=1e-12, abs=1e-15) and 0.3 < m.corr[0, 1] < 1.0


@pytest.mark.parametrize("model", ["gbm", "bootstrap"])
def test_draws_have_the_model_covariance(model: str) -> None:
    """Hourly returns: std σ/√8760 per asset (2 % tolerance on 240,000 draws), correlation as the model's,
    mean −σ²/2/8760 (zero price drift), and a day (24 steps) has the daily variance σ²/365."""
    m = build_model(["BTC", "SOL", "DOGE"], HIST, model, {"SOL": 1.1})
    x = m.draw(np.random.default_rng(9), 24, 10_000).transpose(1, 2, 0)  # (24, 10000, 3)
    flat = x.reshape(-1, 3)
    np.testing.assert_allclose(flat.std(axis=0), m.vol / math.sqrt(HOURS_PER_YEAR), rtol=0.02)
    np.testing.assert_allclose(np.corrcoef(flat, rowvar=False), m.corr, atol=0.02)
    se = m.vol / math.sqrt(HOURS_PER_YEAR) / math.sqrt(flat.shape[0])
    assert np.all(np.abs(flat.mean(axis=0) - m.hourly_drift) < 4 * se)
    day = x.sum(axis=0)
    np.testing.assert_allclose(day.std(axis=0), m.vol / math.sqrt(365.0), rtol=0.04)


def test_student_t_has_fat_tails_with_the_same_variance() -> None:
    """Unit-variance t₄ is √(2/4)·t₄: quartile 0.7071 × 0.7407 = 0.5238 (normal 0.6745); 0.999 quantile
    0.7071 × 7.1732 = 5.072 (normal 3.090). Checked on standardised draws of one asset."""
    m = build_model(["BTC"], HIST, "student-t", {"BTC": 0.5})
    z = (m.draw(np.random.default_rng(2), 40, 10_000)[0].ravel() - m.hourly_drift[0]) / m.hourly_vol[0]
    assert np.quantile(z, 0.75) == pytest.approx(0.5238, abs=0.015)
    assert np.quantile(z, 0.999) == pytest.approx(5.072, abs=0.35)
    assert np.std(z) == pytest.approx(1.0, abs=0.05)


def test_asset_without_history_needs_vol_and_follows_btc() -> None:
    with pytest.raises(PortfolioError) as err:
        build_model(["BTC", "SUI"], HIST, "bootstrap")
    assert "SUI" in str(err.value) and "vols['SUI']=" in str(err.value)
    m = build_model(["ETH", "SUI"], HIST, "bootstrap", {"SUI": 0.9})
    assert m.proxied == ("SUI",) and m.proxy_rho is not None and 0.3 < m.proxy_rho < 1.0
    btc_eth = build_model(["BTC", "ETH"], HIST, "gbm").corr[0, 1]
    assert m.corr[0, 1] == pytest.approx(m.proxy_rho * btc_eth, rel=1e-12)  # ρ·corr(BTC, ETH)
    flat = m.draw(np.random.default_rng(1), 24, 10_000).transpose(1, 2, 0).reshape(-1, 2)
    assert flat[:, 1].std() == pytest.approx(0.9 / math.sqrt(HOURS_PER_YEAR), rel=0.02)
    assert np.atleast_2d(np.corrcoef(flat, rowvar=False))[0, 1] == pytest.approx(m.corr[0, 1], abs=0.02)


def test_alt_basket_runs_with_vols() -> None:
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "alt-basket-cross.json"))
    with pytest.raises(PortfolioError, match="ARB"):
        risk(resolved, 24, HIST, paths=100)
    out: dict[str, Any] = risk(resolved, 24, HIST, paths=1000, vols={"SUI": 1.0, "ARB": 1.0})
    assert out["model"]["volatility_source"]["SUI"] == "--vol"
    assert out["model"]["btc_proxy"]["assets"] == ["SUI", "ARB"]


# --------------------------------------------------------------------------- inputs: the core names parameters


def test_bad_risk_inputs_are_reported_together() -> None:
    """Every bad input at once, each naming its parameter; the command line renders the same problems
    with its flags (``margin.cli_args.flag_error``)."""
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "btc-long.json"))
    with pytest.raises(PortfolioError) as err:
        risk(resolved, "7x", HIST, paths=0, seed=-1, model="normal", vols={"BTC": 0.0, "XYZ": 0.5})  # type: ignore[arg-type]
    vol_rule = "must be an annualised volatility in (0, 10], as a fraction (0.6 for 60 %), got 0.0"
    assert [str(p) for p in err.value.problems] == [
        "horizon_hours must be a whole number of hours from 1 to 8760, got '7x'",
        "paths must be an integer from 1 to 200,000, got 0",
        "seed must be an integer >= 0, got -1",
        "model must be one of bootstrap, student-t, gbm, got 'normal'",
        f"vols['BTC'] {vol_rule}",
        "vols['XYZ'] names no asset of the portfolio (assets: BTC)",
    ]
    assert [str(p) for p in flag_error(err.value).problems] == [
        "--horizon must be a whole number of hours from 1 to 8760, got '7x'",
        "--paths must be an integer from 1 to 200,000, got 0",
        "--seed must be an integer >= 0, got -1",
        "--model must be one of bootstrap, student-t, gbm, got 'normal'",
        f"--vol BTC {vol_rule}",
        "--vol XYZ names no asset of the portfolio (assets: BTC)",
    ]
    for paths in (MAX_PATHS + 1, 2.5, True):
        with pytest.raises(PortfolioError, match=r"^paths must"):
            risk(resolved, 24, HIST, paths=paths)  # type: ignore[arg-type]
    for hours in (0, 8761, 24.0, True):
        with pytest.raises(PortfolioError, match=r"^horizon_hours must"):
            risk(resolved, hours, HIST)  # type: ignore[arg-type]
    assert risk_result(resolved, np.int64(2), HIST, paths=np.int32(10)).horizon_hours == 2  # type: ignore[arg-type]


def test_missing_history_names_the_parameter_or_the_flag() -> None:
    """The same problem in the core's words (``vols['SUI']=0.9``) and the command line's (``--vol SUI=0.9``);
    the bootstrap's own problem suggests ``model=gbm`` / ``--model gbm``."""
    with pytest.raises(PortfolioError) as err:
        build_model(["BTC", "SUI"], HIST, "bootstrap")
    (problem,) = err.value.problems
    assert str(problem).startswith("asset SUI has no price history (fewer than 60 daily returns in the last 365 days")
    assert str(problem).endswith("give its annual volatility, e.g. vols['SUI']=0.9")
    assert str(flag_error(err.value)).endswith("give its annual volatility, e.g. --vol SUI=0.9")
    # BTC priced on days 0-119, ETH on days 80-199: 119 returns each, 39 common (days 81-119) < 60
    days = tuple(f"2025-01-{i:03d}" for i in range(200))
    t = np.arange(200.0)
    closes = np.column_stack([100.0 * np.exp(0.02 * np.sin(t)), 50.0 * np.exp(0.03 * np.cos(1.3 * t))])
    closes[120:, 0] = np.nan
    closes[:80, 1] = np.nan
    short = PriceHistory(days, ("BTC", "ETH"), closes)
    with pytest.raises(PortfolioError) as err:
        build_model(["BTC", "ETH"], short, "bootstrap")
    assert str(err.value) == (
        "assets BTC, ETH need 60 days in the last 365 on which all have a price to bootstrap, got 39; "
        "use model=gbm or student-t"
    )
    assert str(flag_error(err.value)).endswith("got 39; use --model gbm or student-t")
    assert build_model(["BTC", "ETH"], short, "gbm").assets == ("BTC", "ETH")


# --------------------------------------------------------------------------- inputs: the command line's flags


def test_parse_horizon() -> None:
    assert parse_horizon("7d") == 168
    assert parse_horizon("36h") == 36
    assert parse_horizon("2w") == 336
    assert parse_horizon(" 1.5D ") == 36
    for bad in ("7", "7x", "-1d", "0h", "1.5h", "400d", "d", "", "7 days"):
        with pytest.raises(PortfolioError, match="--horizon") as err:
            parse_horizon(bad)
        assert "e.g. 7d" in str(err.value)


def test_parse_vols() -> None:
    assert parse_vols(["BTC=0.6", "SOL=85%"]) == {"BTC": 0.6, "SOL": pytest.approx(0.85)}
    for bad in (["BTC"], ["BTC=abc"], ["=0.5"], ["BTC=0"], ["BTC=-0.2"], ["BTC=60"], ["BTC=nan"]):
        with pytest.raises(PortfolioError, match="--vol"):
            parse_vols(bad)
    with pytest.raises(PortfolioError) as err:
        parse_vols(["BTC=60"])
    assert str(err.value) == (
        "--vol BTC must be an annualised volatility in (0, 10], as a fraction (0.6 for 60 %), got 60.0"
    )


def test_risk_args_report_every_flag_at_once() -> None:
    """``--vol`` problems first and alone (as the command line always did), then the rest together."""
    resolved = resolve(load_portfolio(SAMPLES[0].parent / "btc-long.json"))
    with pytest.raises(PortfolioError) as err:
        risk_args(resolved, "400d", 0, -1, "gbm", ["XYZ=0.5"])
    assert [p.path for p in err.value.problems] == ["--horizon", "--paths", "--seed", "--vol XYZ"]
    assert str(err.value.problems[0]).endswith("(e.g. 7d, 36h, 2w), got '400d'")
    with pytest.raises(PortfolioError) as err:
        risk_args(resolved, "400d", 0, -1, "gbm", ["BTC=0"])
    assert [p.path for p in err.value.problems] == ["--vol BTC"]
    args = risk_args(resolved, "2w", 10, 3, "student-t", ["BTC=50%"])
    assert (args.horizon_hours, args.paths, args.seed, args.model, args.vols) == (336, 10, 3, "student-t", {"BTC": 0.5})
