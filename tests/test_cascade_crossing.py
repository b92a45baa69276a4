"""The cascade's crossings and event order (:mod:`margin.cascade_crossing`, :mod:`margin.cascade_walk`).

The first fill of a pool that holds one symbol is its liquidation price, which the engine solves in closed
form per tier segment (:func:`margin.engine.liquidation_prices`, equation (E) of ``margin-models.md``
§0.1): a property over positions, leverages, tiers (the shipped Binance tables, linear and inverse) and
path resolutions. The fill is found to ``TAU_TOL`` of its segment (plus the rounding of the pool's
sums), so the two prices agree to ``TAU_TOL`` × the segment's move plus a few ulps. The other expected
numbers are worked out by hand in the tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from margin import portfolio_from_dict, resolve
from margin.cascade_crossing import TAU_TOL
from margin.contagion import cascade
from margin.engine import compile_book, liquidation_prices

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PRICE = 60_000.0
#: a few ulps of a price: the rounding of the pool's sums at the fill, relative
ROUNDING = 1e-13


def _tier(mmr: float, max_leverage: float = 100) -> list[dict[str, object]]:
    return [{"min_notional": 0, "max_notional": None, "mmr": mmr, "max_leverage": max_leverage}]


def _first_fill_and_engine_price(doc: dict[str, Any], move: float, steps: int) -> tuple[float | None, float]:
    res = resolve(portfolio_from_dict(doc))
    lp = float(liquidation_prices(compile_book(res, "as_is")).liquidation[0, 0])
    symbol = next(iter(res.marks))
    out = cascade(res, {symbol: move}, params={"steps": steps, "merge_partials": False}, views=("as_is",))
    steps_ = out.to_dict()["modes"]["as_is"]["steps"]  # type: ignore[index]
    return (float(steps_[0]["price"]) if steps_ else None), lp


@SETTINGS
@given(
    long=st.booleans(),
    notional=st.floats(2_000, 4_000_000),
    leverage=st.sampled_from([2, 3, 5, 10, 20]),
    entry_shift=st.floats(-0.05, 0.05),
    isolated=st.booleans(),
    steps=st.sampled_from([1, 3, 40, 400]),
)
def test_first_fill_is_the_engine_liquidation_price_linear(
    long: bool, notional: float, leverage: int, entry_shift: float, isolated: bool, steps: int
) -> None:
    """Binance USDⓈ-M BTC (shipped tiers: the fill may sit several tiers below the start)."""
    entry = PRICE * (1 + entry_shift)
    contracts = notional / PRICE
    margin = contracts * entry / leverage
    doc = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": margin},
        "prices": {"BTC/USDT:USDT": PRICE},
        "positions": [
            {
                "symbol": "BTC/USDT:USDT",
                "side": "long" if long else "short",
                "contracts": contracts,
                "entry_price": entry,
                "leverage": leverage,
                "margin_mode": "isolated" if isolated else "cross",
            }
        ],
    }
    move = -0.7 if long else 2.0
    fill, lp = _first_fill_and_engine_price(doc, move, steps)
    end = PRICE * (1 + move)
    assume(min(PRICE, end) * (1 + 1e-9) < lp < max(PRICE, end) * (1 - 1e-9))
    assert fill is not None
    assert abs(fill - lp) <= TAU_TOL * abs(end - PRICE) / steps + ROUNDING * lp


@SETTINGS
@given(
    long=st.booleans(),
    contracts=st.integers(10, 30_000),
    leverage=st.sampled_from([2, 3, 5, 10, 20]),
    entry_shift=st.floats(-0.05, 0.05),
    isolated=st.booleans(),
    steps=st.sampled_from([1, 7, 400]),
)
def test_first_fill_is_the_engine_liquidation_price_inverse(
    long: bool, contracts: int, leverage: int, entry_shift: float, isolated: bool, steps: int
) -> None:
    """Binance COIN-M BTCUSD (inverse: the pool's surplus is rational in τ, found by bisection)."""
    entry = PRICE * (1 + entry_shift)
    doc = {
        "format": "margin-portfolio/1",
        "venue": "binance-coinm",
        "collateral": {"BTC": contracts * 100 / entry / leverage},
        "prices": {"BTC/USD:BTC": PRICE},
        "positions": [
            {
                "symbol": "BTC/USD:BTC",
                "side": "long" if long else "short",
                "contracts": contracts,
                "entry_price": entry,
                "leverage": leverage,
                "margin_mode": "isolated" if isolated else "cross",
            }
        ],
    }
    move = -0.7 if long else 2.0
    fill, lp = _first_fill_and_engine_price(doc, move, steps)
    end = PRICE * (1 + move)
    assume(min(PRICE, end) * (1 + 1e-9) < lp < max(PRICE, end) * (1 - 1e-9))
    assert fill is not None
    assert abs(fill - lp) <= TAU_TOL * abs(end - PRICE) / steps + ROUNDING * lp


@SETTINGS
@given(long_size=st.floats(0.05, 20), short_share=st.floats(0.05, 0.95), spare=st.floats(0.01, 0.3))
def test_first_fill_of_a_hedged_cross_pool(long_size: float, short_share: float, spare: float) -> None:
    """A long and a smaller short of BTC in one cross pool (hedge mode): one price for both (the engine's
    group), the fill on the net long's loss side."""
    doc = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "position_mode": "hedge",
        "collateral": {"USDT": spare * long_size * PRICE},
        "prices": {"BTC/USDT:USDT": PRICE},
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": long_size, "entry_price": PRICE, "leverage": 10},
            {
                "symbol": "BTC/USDT:USDT",
                "side": "short",
                "contracts": long_size * short_share,
                "entry_price": PRICE,
                "leverage": 10,
            },
        ],
    }
    fill, lp = _first_fill_and_engine_price(doc, -0.9, 400)
    end = PRICE * 0.1
    assume(end * (1 + 1e-9) < lp < PRICE * (1 - 1e-9))
    assert fill is not None
    assert abs(fill - lp) <= TAU_TOL * abs(end - PRICE) / 400 + ROUNDING * lp


def _isolated_longs(sizes: list[float], leverage: float) -> dict[str, object]:
    positions = [
        {
            "id": f"L{k}",
            "symbol": "BTC/USDT:USDT" if k == 0 else f"BTC/USDT:USDT-2{k:05d}",
            "side": "long",
            "contracts": q,
            "entry_price": 100000.0,
            "leverage": leverage,
            "margin_mode": "isolated",
        }
        for k, q in enumerate(sizes)
    ]
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "position_mode": "one-way",
        "collateral": {"USDT": sum(sizes) * 100000.0 / leverage},
        "prices": {p["symbol"]: 100000.0 for p in positions},
        "tiers": {p["symbol"]: _tier(0.004) for p in positions},
        "positions": positions,
    }


def test_equal_crossings_go_steepest_first() -> None:
    """Isolated longs @ 100,000, leverage 10, of 1, 3, 2, 5 and 4 BTC: each liquidates where
    margin + q·(P − 100,000) = 0.004·q·P, i.e. P = 90,000 / 0.996 = 90,361.45 (the size cancels). A pool of
    q BTC falls past its trigger q times as fast: the largest goes first (as the largest gap does at a
    row), all at the same price."""
    res = resolve(portfolio_from_dict(_isolated_longs([1.0, 3.0, 2.0, 5.0, 4.0], 10)))
    steps = cascade(res, {"BTC": -0.2}, views=("as_is",)).to_dict()["modes"]["as_is"]["steps"]  # type: ignore[index]
    assert [s["position"] for s in steps] == ["L3", "L4", "L1", "L2", "L0"]
    for s in steps:
        assert s["price"] == pytest.approx(90000 / 0.996, rel=1e-12)


def test_a_capped_fee_leaves_the_rest_of_the_pool_bankrupt() -> None:
    """Cross pool, 3,264.17 USDT, mmr 0.4 %, fee 0.5 %, four longs (contracts q, entry EP, mark P₀), shock
    ALL −20 % walked in t: equity W + A − B·t with A = Σ q (P₀ − EP), B = 0.2 Σ q P₀; maintenance
    0.004·G·(1 − 0.2 t), G = Σ q P₀; trigger at t₁ = (W + A − 0.004 G) / (B − 0.0008 G) = 0.385943, every
    notional N = q·P₀·c, c = 1 − 0.2 t₁. No partial close restores (the 0.5 % fee exceeds the 0.4 % it
    frees), so in full, largest maintenance first: P0 (fee 0.005 N₀, equity left 0.004 ΣN − 0.005 N₀ =
    46.40 < 0.004 (N₁ + N₂ + N₃)), P3 (fee 0.005 N₃, left 8.09), P1 (its fee 38.11 capped at the 8.09 left:
    equity exactly 0), then P2 is bankrupt: not "liquidated" for a fee of the 6e-14 that the rounding of
    the pool's sums leaves (the regression), and nothing for the insurance fund."""
    p0 = [569.63, 802.46, 64.04, 118.8]
    q = [47.752, 10.292, 43.844, 69.887]
    ep = [565.52, 779.75, 65.05, 117.13]
    w = 3264.17
    symbols = [f"S{k}/USDT:USDT" for k in range(4)]
    doc = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": w},
        "prices": dict(zip(symbols, p0, strict=True)),
        "tiers": {s: _tier(0.004) for s in symbols},
        "positions": [
            {"id": f"P{k}", "symbol": s, "side": "long", "contracts": q[k], "entry_price": ep[k], "leverage": 20}
            for k, s in enumerate(symbols)
        ],
    }
    res = resolve(portfolio_from_dict(doc))
    mode = cascade(res, {"ALL": -0.2}, params={"steps": 50}, views=("cross",)).to_dict()["modes"]["cross"]  # type: ignore[index]
    a = sum(qi * (p - e) for qi, p, e in zip(q, p0, ep, strict=True))
    g = sum(qi * p for qi, p in zip(q, p0, strict=True))
    t1 = (w + a - 0.004 * g) / (0.2 * g - 0.0008 * g)
    c = 1 - 0.2 * t1
    n = [qi * p * c for qi, p in zip(q, p0, strict=True)]
    eq = 0.004 * sum(n)
    after_p0 = eq - 0.005 * n[0]
    after_p3 = after_p0 - 0.005 * n[3]
    assert after_p3 < 0.005 * n[1]  # P1's fee is capped
    steps = mode["steps"]
    assert [(s["position"], s["event"]) for s in steps] == [
        ("P0", "liquidated"),
        ("P3", "liquidated"),
        ("P1", "liquidated"),
        ("P2", "bankrupt"),
    ]
    assert steps[0]["t"] == pytest.approx(t1, rel=1e-9)
    assert [s["equity_before"] for s in steps[:3]] == pytest.approx([eq, after_p0, after_p3], rel=1e-7)
    assert steps[2]["fee"] == pytest.approx(after_p3, rel=1e-7)
    assert steps[3]["equity_before"] == pytest.approx(0.0, abs=1e-9)
    assert steps[3]["fee"] == 0.0 and steps[3]["collateral_left"] == 0.0
    assert mode["insurance_fund"] == pytest.approx(0.0, abs=1e-9)


def test_impact_runs_go_on_from_the_plain_run() -> None:
    """The path's own liquidations do not depend on the impact D (module docstring of margin.contagion):
    with impact, the rows begin with the plain run's rows, exactly, and the rest are on the impact leg.
    Eight isolated longs, leverage 5..40: at −12 % the 40×..10× ones die on the path (liquidation price
    100,000 (1 − 1/lev)/0.996 ≥ 90,361 > 88,000), the 8× (87,851) only if impact pushes further."""
    sizes = [1.0] * 8
    doc = _isolated_longs(sizes, 5)
    for p, lev in zip(doc["positions"], (5, 8, 10, 12, 15, 20, 30, 40), strict=True):  # type: ignore[call-overload]
        p["leverage"] = lev
    doc["collateral"] = {"USDT": sum(100000.0 / lev for lev in (5, 8, 10, 12, 15, 20, 30, 40))}
    res = resolve(portfolio_from_dict(doc))
    plain = cascade(res, {"BTC": -0.12}, views=("as_is",)).to_dict()["modes"]["as_is"]  # type: ignore[index]
    params = {"daily_volatility": {"BTC": 0.03}, "daily_volume": {"BTC": 5e6}, "strength": 3.0}
    hit = cascade(res, {"BTC": -0.12}, impact="sqrt", params=params, views=("as_is",)).to_dict()
    mode = hit["modes"]["as_is"]  # type: ignore[index]
    n = len(plain["steps"])
    assert n == 6 and plain["positions_lost"] == 6
    assert mode["steps"][:n] == plain["steps"]
    assert mode["iterations"] > 1 and mode["extra_positions_lost"] >= 1
    assert [s["phase"] for s in mode["steps"][n:]] == ["impact"] * (len(mode["steps"]) - n)
    assert mode["steps"][n]["position"] == "L1"  # the 8× long
    assert mode["steps"][n]["price"] == pytest.approx(100000 * (1 - 1 / 8) / 0.996, rel=1e-9)
