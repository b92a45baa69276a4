"""``margin.contagion``: liquidation cascades step by step, isolated comparison, impact feedback loop.

Every expected number below is worked out by hand in the test (one-tier ``generic`` tables so the
arithmetic is short); none is copied from the code's output.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from margin import load_portfolio, portfolio_from_dict, resolve
from margin.contagion import EVENTS, CascadeResult, cascade, cascade_path, impact_move, path_from_history
from margin.errors import PortfolioError
from margin.marketdata import load_intraday
from margin.portfolio import Resolved

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "portfolios").glob("*.json"))


def _doc(result: CascadeResult) -> dict[str, Any]:
    """The ``cascade`` JSON document (format §5)."""
    return result.to_dict()


def _tier(mmr: float, max_leverage: float = 100) -> list[dict[str, object]]:
    return [{"min_notional": 0, "max_notional": None, "mmr": mmr, "max_leverage": max_leverage}]


def alt_btc_portfolio() -> dict[str, Any]:
    """Cross pool: a weak ALT long (200,000 notional) and a BTC long (100,000), both mmr 0.4 %.

    Wallet 12,000 USDT. ALT 20,000 @ 10, leverage 20 (isolated margin 10,000); BTC 1 @ 100,000,
    leverage 50 (isolated margin 2,000); the two isolated margins use the whole wallet.
    """
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 12000.0},
        "prices": {"ALT/USDT:USDT": 10.0, "BTC/USDT:USDT": 100000.0},
        "tiers": {"ALT/USDT:USDT": _tier(0.004), "BTC/USDT:USDT": _tier(0.004)},
        "positions": [
            {
                "id": "ALT",
                "symbol": "ALT/USDT:USDT",
                "side": "long",
                "contracts": 20000,
                "entry_price": 10.0,
                "leverage": 20,
            },
            {
                "id": "BTC",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 1,
                "entry_price": 100000.0,
                "leverage": 50,
            },
        ],
    }


@pytest.fixture(scope="module")
def alt_btc() -> dict[str, Any]:
    res = resolve(portfolio_from_dict(alt_btc_portfolio()))
    return _doc(cascade(res, {"ALT": -0.2}))


def test_cross_alt_drains_pool_then_btc_goes(alt_btc: dict[str, Any]) -> None:
    """ALT moves by m (price 10·(1+m)); BTC does not move.

    Cross pool: equity = 12,000 + 20,000·(10(1+m) − 10) = 12,000 + 200,000·m;
    maintenance = 0.004·200,000·(1+m) + 0.004·100,000 = 1,200 + 800·m.
    Trigger: 12,000 + 200,000 m = 1,200 + 800 m  →  m* = −10,800 / 199,200 = −0.0542169
    (ALT at 9.457831). There equity = maintenance = 1,200 + 800 m* = 1,156.627.
    ALT's maintenance (0.004 × 189,156.63 = 756.63) is the largest, so it goes first; no partial
    reduction can restore the pool (the 0.5 % fee exceeds the 0.4 % rate it frees), so in full:
    realised −20,000 × 0.542169 = −10,843.373, fee 0.005 × 189,156.627 = 945.783,
    wallet 12,000 − 10,843.373 − 945.783 = 210.843 = the pool's equity (BTC has no PnL).
    BTC's maintenance 400 ≥ 210.843: BTC is liquidated at once; its fee 0.005 × 100,000 = 500 is
    capped at the 210.843 left → collateral left 0. Loss 12,000, two positions lost.
    """
    m_star = -10800 / 199200
    cross = alt_btc["modes"]["cross"]
    steps = cross["steps"]
    assert [(s["position"], s["event"]) for s in steps] == [("ALT", "liquidated"), ("BTC", "liquidated")]
    alt, btc = steps
    assert alt["move"] == pytest.approx(m_star, rel=1e-9)
    assert alt["price"] == pytest.approx(10 * (1 + m_star), rel=1e-9)
    eq_trigger = 1200 + 800 * m_star
    assert alt["equity_before"] == pytest.approx(eq_trigger, rel=1e-7)
    realised = 20000 * 10 * m_star
    fee = 0.005 * 200000 * (1 + m_star)
    assert alt["realized_pnl"] == pytest.approx(realised, rel=1e-7)
    assert alt["fee"] == pytest.approx(fee, rel=1e-7)
    left = 12000 + realised - fee
    assert left == pytest.approx(210.843, abs=1e-3)
    assert alt["equity_after"] == pytest.approx(left, rel=1e-6)
    assert alt["collateral_left"] == pytest.approx(left, rel=1e-6)
    assert alt["positions_open"] == 1
    assert next(iter(alt["drained_by"])) == "ALT"
    assert alt["drained_by"]["ALT"] == pytest.approx(realised, rel=1e-7)
    assert btc["move"] == pytest.approx(m_star, rel=1e-9)  # same marks: a cascade inside the pool
    assert btc["equity_before"] == pytest.approx(left, rel=1e-6)
    assert btc["fee"] == pytest.approx(left, rel=1e-6)
    assert btc["equity_after"] == pytest.approx(0.0, abs=1e-6)
    assert btc["collateral_left"] == pytest.approx(0.0, abs=1e-6)
    assert btc["positions_open"] == 0
    assert cross["positions_lost"] == 2
    assert cross["collateral_left"] == pytest.approx(0.0, abs=1e-6)
    assert cross["loss"] == pytest.approx(12000.0, rel=1e-9)
    assert alt_btc["modes"]["as_is"]["steps"] == steps  # the file is all cross


def test_isolated_only_the_alt_dies(alt_btc: dict[str, Any]) -> None:
    """Isolated ALT: equity = 10,000 + 200,000·m, maintenance = 800·(1+m):
    m* = −9,200 / 199,200 = −0.0461847 (ALT 9.538153), equity there 800·(1+m*) = 763.052;
    fee 0.005 × 190,763.05 = 953.815 > 763.052 → capped, the isolated pool keeps 0.
    BTC (isolated, 2,000) does not move: kept. Collateral left 2,000, loss 10,000, one position lost.
    """
    m_star = -9200 / 199200
    iso = alt_btc["modes"]["isolated"]
    assert [(s["position"], s["event"]) for s in iso["steps"]] == [("ALT", "liquidated")]
    step = iso["steps"][0]
    assert step["move"] == pytest.approx(m_star, rel=1e-9)
    assert step["equity_before"] == pytest.approx(800 * (1 + m_star), rel=1e-7)
    assert step["fee"] == pytest.approx(800 * (1 + m_star), rel=1e-7)
    assert step["collateral_left"] == pytest.approx(0.0, abs=1e-6)
    assert step["pool"] == "isolated ALT"
    assert iso["positions_lost"] == 1
    assert iso["collateral_left"] == pytest.approx(2000.0, rel=1e-9)
    assert iso["loss"] == pytest.approx(10000.0, rel=1e-9)
    comp = alt_btc["comparison"]
    assert comp["isolated"]["positions_lost"] < comp["cross"]["positions_lost"]
    assert comp["isolated"]["collateral_left"] > comp["cross"]["collateral_left"]


def test_json_shape(alt_btc: dict[str, Any]) -> None:
    assert set(alt_btc["modes"]) == {"cross", "isolated", "as_is"}
    assert "amplification" in alt_btc
    for mode in alt_btc["modes"].values():
        assert {"steps", "positions_lost", "collateral_left", "loss"} <= set(mode)
        for s in mode["steps"]:
            assert {"move", "event", "position", "equity_before", "equity_after", "collateral_left"} <= set(s)
            assert s["event"] in EVENTS


def test_takeover_loses_the_pool_collateral() -> None:
    """``takeover``: at the ALT trigger (cross) both positions are taken over, the 1,156.627 equity is
    lost; collateral left 0, two positions lost in one go (no fee row)."""
    res = resolve(portfolio_from_dict(alt_btc_portfolio()))
    cross = _doc(cascade(res, {"ALT": -0.2}, params={"takeover": True}, views=("cross",)))["modes"]["cross"]
    assert [s["mechanism"] for s in cross["steps"]] == ["takeover", "takeover"]
    assert cross["steps"][0]["equity_before"] == pytest.approx(1200 + 800 * (-10800 / 199200), rel=1e-7)
    assert cross["collateral_left"] == 0.0
    assert cross["positions_lost"] == 2


def test_gap_shock_is_bankrupt() -> None:
    """1 BTC long @ 100,000 on 1,000 USDT, gap of −5 % (one step, filled at the step's marks):
    equity = 1,000 − 5,000 = −4,000 ≤ 0 → bankrupt; the insurance fund takes 4,000; nothing left."""
    doc = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 1000.0},
        "prices": {"BTC/USDT:USDT": 100000.0},
        "tiers": {"BTC/USDT:USDT": _tier(0.004)},
        "positions": [
            {
                "id": "BTC",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 1,
                "entry_price": 100000.0,
                "leverage": 100,
            }
        ],
    }
    res = resolve(portfolio_from_dict(doc))
    out = _doc(cascade(res, ["BTC=-5%"], params={"steps": 1, "fill": "step"}))
    for view in ("cross", "isolated"):
        mode = out["modes"][view]
        assert [s["event"] for s in mode["steps"]] == ["bankrupt"]
        assert mode["steps"][0]["equity_before"] == pytest.approx(-4000.0)
        assert mode["steps"][0]["collateral_left"] == 0.0
        assert mode["insurance_fund"] == pytest.approx(4000.0)
        assert mode["collateral_left"] == 0.0
    # walked continuously the same shock fills at the trigger instead: equity there = MM > 0
    cont = _doc(cascade(res, ["BTC=-5%"]))["modes"]["cross"]
    assert [s["event"] for s in cont["steps"]] == ["liquidated"]
    # trigger: 1,000 + (P − 100,000) = 0.004 P → P = 99,000 / 0.996
    assert cont["steps"][0]["price"] == pytest.approx(99000 / 0.996, rel=1e-9)


def test_hyperliquid_liquidates_in_20_percent_chunks() -> None:
    """Hyperliquid (§6, H1): positions above 100k USDC are liquidated 20 % at a time.

    BTC max leverage 40 → mmr 1/80 = 0.0125 (shipped table). 2 BTC long @ 100,000 on 10,000 USDC,
    fee set to 0 for the arithmetic. Size q, wallet W: trigger W + q(P − 100,000) = 0.0125 q P
    → P = (100,000 q − W) / (0.9875 q). First: P = 190,000 / 1.975 = 96,202.53, notional 192,405 > 100k
    → 20 % closed, realised 0.4 × (P − 100,000) into W. Repeat while the notional at the trigger
    exceeds 100k; then the rest is closed in full.
    """
    doc = {
        "format": "margin-portfolio/1",
        "venue": "hyperliquid",
        "collateral": {"USDC": 10000.0},
        "prices": {"BTC/USDC:USDC": 100000.0},
        "positions": [
            {
                "id": "BTC",
                "symbol": "BTC/USDC:USDC",
                "side": "long",
                "contracts": 2,
                "entry_price": 100000.0,
                "leverage": 20,
            }
        ],
    }
    res = resolve(portfolio_from_dict(doc))
    out = _doc(cascade(res, ["BTC=-15%"], params={"fee": 0.0, "merge_partials": False}, views=("cross",)))
    steps = out["modes"]["cross"]["steps"]
    expected = []
    q, w = 2.0, 10000.0
    while True:
        p = (100000 * q - w) / (0.9875 * q)
        if q * p > 100000:
            expected.append(("partially_liquidated", p, 0.2))
            w += 0.2 * q * (p - 100000)
            q *= 0.8
        else:
            expected.append(("liquidated", p, 1.0))
            break
    assert len(expected) == 4  # 2 → 1.6 → 1.28 → 1.024 BTC, then 1.024 × ~96.8k < 100k: in full
    assert [s["event"] for s in steps] == [e[0] for e in expected]
    for s, (_, p, frac) in zip(steps, expected, strict=True):
        assert s["price"] == pytest.approx(p, rel=1e-9)
        assert s["closed_fraction"] == pytest.approx(frac, rel=1e-12)
    assert steps[0]["price"] == pytest.approx(96202.53, abs=0.01)
    assert steps[0]["closed_notional"] == pytest.approx(0.4 * 190000 / 1.975, rel=1e-9)


def test_binance_style_restore_is_partial() -> None:
    """generic (Binance-style ``restore``): mmr 2 % > fee 0.5 %, so a partial reduction restores the pool.

    10,000 ALT long @ 10 (mmr 0.02) on 2,500 USDT: equity = 2,500 + 10,000 (P − 10) = 10,000 P − 97,500,
    maintenance 200 P; trigger 9,800 P = 97,500 → P = 9.948980, equity = maintenance = 1,989.80,
    notional N = 99,489.80. Restore to margin ratio 0.8 after the fee:
    0.8 (1,989.80 − 0.005 f N) ≥ 1,989.80 (1 − f)
    → f ≥ 0.2 × 1,989.80 / (1,989.80 − 0.004 × 99,489.80) = 397.959 / 1,591.837 = 0.25.
    """
    doc = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 2500.0},
        "prices": {"ALT/USDT:USDT": 10.0},
        "tiers": {"ALT/USDT:USDT": _tier(0.02, 50)},
        "positions": [
            {
                "id": "ALT",
                "symbol": "ALT/USDT:USDT",
                "side": "long",
                "contracts": 10000,
                "entry_price": 10.0,
                "leverage": 10,
            }
        ],
    }
    res = resolve(portfolio_from_dict(doc))
    out = _doc(cascade(res, ["ALT=-1%"], params={"merge_partials": False}, views=("cross",)))
    first = out["modes"]["cross"]["steps"][0]
    p = 97500 / 9800
    eq = 200 * p
    n = 10000 * p
    assert first["event"] == "partially_liquidated"
    assert first["price"] == pytest.approx(p, rel=1e-9)
    assert first["closed_fraction"] == pytest.approx((eq - 0.8 * eq) / (eq - 0.8 * 0.005 * n), rel=1e-6)
    assert first["closed_fraction"] == pytest.approx(0.25, rel=1e-6)


def test_step_rows_value_the_backing_collateral_at_its_shocked_price() -> None:
    """Regression: the step rows priced the backing collateral at its unshocked price.

    Cross pool: 1,000 USDT + 10,000 USDe (price 1, haircut 10 % → 9,000 of collateral value), 1 BTC long
    @ 100,000 (mmr 0.4 %), liquidation fee 0. Shock BTC −10 % and USDe −50 %, walked in t:
    equity = 1,000 + 9,000·(1 − 0.5 t) + 100,000·(−0.1 t) = 10,000 − 14,500 t; maintenance
    0.004 × 100,000·(1 − 0.1 t) = 400 − 40 t. Trigger: 9,600 = 14,460 t → t* = 0.663900, BTC at
    P* = 100,000 (1 − 0.1 t*) = 93,360.996, USDe at c* = 1 − 0.5 t* = 0.668050; equity = 0.004 P* = 373.444.
    Restore (ratio 0.8, fee 0): 0.8 × 0.004 N ≥ 0.004 N (1 − f) → f = 0.2 closed, and again at each
    re-trigger down the walk. Every row's wallet is 1,000 + the PnL realised so far + 9,000 × the USDe price
    at that row (c* for the first: valuing it at 1 would add 9,000 × (1 − c*) = 2,987.55).
    """
    doc = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 1000.0, "USDe": 10000.0},
        "collateral_assets": {"USDe": {"price": 1.0, "haircut": 0.1, "pool": "USDT"}},
        "prices": {"BTC/USDT:USDT": 100000.0},
        "tiers": {"BTC/USDT:USDT": _tier(0.004)},
        "positions": [
            {
                "id": "BTC",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 1,
                "entry_price": 100000.0,
                "leverage": 20,
            }
        ],
    }
    res = resolve(portfolio_from_dict(doc))
    params = {"fee": 0.0, "merge_partials": False}
    steps = _doc(cascade(res, {"BTC": -0.1, "USDe": -0.5}, params=params, views=("cross",)))["modes"]["cross"]["steps"]
    t_star = 9600 / 14460
    p_star = 100000 * (1 - 0.1 * t_star)
    c_star = 1 - 0.5 * t_star
    first = steps[0]
    assert (first["event"], first["closed_fraction"]) == ("partially_liquidated", pytest.approx(0.2, rel=1e-9))
    assert first["price"] == pytest.approx(p_star, rel=1e-9)
    assert first["t"] == pytest.approx(t_star, rel=1e-9)
    assert first["equity_before"] == pytest.approx(0.004 * p_star, rel=1e-7)
    assert first["collateral_left"] == pytest.approx(1000 + 9000 * c_star + first["realized_pnl"], rel=1e-9)
    realised = 0.0
    for s in steps:
        realised += s["realized_pnl"]
        assert s["collateral_left"] == pytest.approx(1000 + 9000 * (1 - 0.5 * s["t"]) + realised, rel=1e-9)
        assert s["account_value"] == pytest.approx(s["equity_after"], rel=1e-12)  # the only pool
    assert steps[-1]["event"] == "liquidated"
    assert steps[-1]["collateral_left"] == pytest.approx(steps[-1]["equity_after"], rel=1e-12)


# --------------------------------------------------------------------------- feedback loop


def ladder_portfolio() -> dict[str, Any]:
    """Eight isolated BTC longs @ 100,000 with leverage 5..40: liquidation prices staggered below."""
    positions = [
        {
            "id": f"L{lev}",
            "symbol": "BTC/USDT:USDT",
            "side": "long",
            "contracts": 1,
            "entry_price": 100000.0,
            "leverage": lev,
            "margin_mode": "isolated",
        }
        for lev in (5, 8, 10, 12, 15, 20, 30, 40)
    ]
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "position_mode": "one-way",
        "collateral": {"USDT": 200000.0},
        "prices": {"BTC/USDT:USDT": 100000.0},
        "tiers": {"BTC/USDT:USDT": _tier(0.004)},
        "positions": positions,
    }


def _ladder() -> Resolved:
    doc = ladder_portfolio()
    # one-way mode allows one position per symbol: give each its own symbol with the same base
    for k, pos in enumerate(doc["positions"]):
        pos["symbol"] = "BTC/USDT:USDT" if k == 0 else f"BTC/USDT:USDT-2{k:05d}"
    doc["prices"] = {p["symbol"]: 100000.0 for p in doc["positions"]}
    doc["tiers"] = {p["symbol"]: _tier(0.004) for p in doc["positions"]}
    return resolve(portfolio_from_dict(doc))


def test_impact_law_formulas() -> None:
    """sqrt: σ√(F/V) = 0.03 × √(1e6 / 1e8) = 0.003 down for a 1e6 sell; linear: 1e6 / 1e8 = 0.01."""
    assert impact_move("sqrt", -1e6, daily_volatility=0.03, daily_volume=1e8, depth=1.0) == pytest.approx(-0.003)
    assert impact_move("sqrt", 4e6, daily_volatility=0.03, daily_volume=1e8, depth=1.0) == pytest.approx(0.006)
    assert impact_move("linear", -1e6, daily_volatility=0.0, daily_volume=1.0, depth=1e8) == pytest.approx(-0.01)
    assert impact_move("none", -1e9, daily_volatility=1, daily_volume=1, depth=1) == 0.0
    assert impact_move("linear", -1e12, daily_volatility=1, daily_volume=1, depth=1) == -0.99


def test_zero_impact_reproduces_the_plain_shock_exactly() -> None:
    res = _ladder()
    plain = _doc(cascade(res, ["BTC=-12%"]))
    for law in ("sqrt", "linear"):
        zero = _doc(cascade(res, ["BTC=-12%"], impact=law, params={"strength": 0.0}))
        assert zero["modes"] == plain["modes"]
        assert zero["amplification"] == plain["amplification"] == 1.0


def test_impact_amplifies_monotonically_and_never_saves_a_position() -> None:
    """BTC −12 % (to 88,000): isolated long LP = 100,000 × (1 − 1/lev) / (1 − 0.004): 40× 97,892,
    30× 97,055, 20× 95,382, 15× 93,708, 12× 92,035, 10× 90,361 die on the shock itself; 8× 87,851 and
    5× 80,321 survive it. Their forced sales (σ 3 %/day, V 5e6/day, sqrt law) push BTC lower and reach
    the 8× (and 5×) longs as the strength grows."""
    res = _ladder()
    params: dict[str, object] = {"daily_volatility": {"BTC": 0.03}, "daily_volume": {"BTC": 5e6}}
    amps, lost = [], []
    for strength in (0.0, 0.1, 0.3, 1.0, 3.0):
        out = _doc(cascade(res, ["BTC=-12%"], impact="sqrt", params={**params, "strength": strength}, views=("as_is",)))
        mode = out["modes"]["as_is"]
        assert mode["converged"]
        assert mode["positions_lost"] >= mode["positions_lost"] - mode["extra_positions_lost"]
        amps.append(out["amplification"])
        lost.append(mode["positions_lost"])
    assert amps[0] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(amps))
    assert amps[-1] > 1.0
    assert all(b >= a for a, b in itertools.pairwise(lost))
    assert lost[0] == 6 and lost[-1] > lost[0]
    # amplification = final move / initial move: −12 % extended by the impact D of BTC/USDT:USDT
    final = out["modes"]["as_is"]["final_moves"]["BTC/USDT:USDT"]
    assert out["amplification"] == pytest.approx(final / -0.12, rel=1e-12)


def test_linear_impact_fixed_point() -> None:
    """Linear book, depth 1e7 per 100 %: the fixed point D satisfies D = Σ flow / depth (sales negative),
    the flows being the notionals, at their fill prices, of the positions that the walk down to
    (1 − 0.12)(1 + D) liquidates; every BTC contract moves by the same D."""
    res = _ladder()
    out = _doc(cascade(res, ["BTC=-12%"], impact="linear", params={"depth": {"BTC": 1e7}}, views=("as_is",)))
    mode = out["modes"]["as_is"]
    d = mode["impact"].get("BTC/USDT:USDT", 0.0)
    sold = sum(mode["forced_flow"].values())  # every contract of the ladder is on BTC: one impact
    assert mode["converged"]
    assert d == pytest.approx(sold / 1e7, rel=1e-6, abs=1e-12)
    assert sold < 0 and d < 0
    assert set(mode["impact"].values()) == {d}


# --------------------------------------------------------------------------- price paths, samples, errors


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_price_path_runs_clean_for_every_sample(path: Path) -> None:
    hist = load_intraday("2022-11-08_ftx-collapse")
    res = resolve(load_portfolio(path))
    marks, _ = path_from_history(res, hist.closes, hist.assets)
    assert marks.shape == (len(hist.times), len(res.marks))
    for impact in ("none", "sqrt"):
        out = _doc(cascade_path(res, marks, impact=impact))
        for mode in out["modes"].values():
            ts = [s["t"] for s in mode["steps"]]
            assert ts == sorted(ts)
            assert all(s["event"] in EVENTS for s in mode["steps"])
            assert all(s["collateral_left"] >= 0 for s in mode["steps"])
            # futures and options (format §6) both count
            assert 0 <= mode["positions_lost"] <= len(res.legs) + len(res.option_legs)
            assert mode["collateral_left"] is None or math.isfinite(mode["collateral_left"])
            assert mode["extra_positions_lost"] >= 0
    # a flat path liquidates nothing and loses nothing, in every settle asset: a view whose pools settle in
    # assets that cannot be added (USDT and BTC in basis-usdm-coinm) has no total (loss null, format §5), so
    # the check is per settle asset
    flat = _doc(cascade_path(res, np.repeat(marks[:1], 5, 0)))
    for mode in flat["modes"].values():
        assert mode["steps"] == []
        if mode["loss"] is None:
            assert len(mode["by_settle"]) > 1
        else:
            assert mode["loss"] == pytest.approx(0.0, abs=1e-9)
        for d in mode["by_settle"].values():
            scale = max(1.0, abs(d["collateral_start"]))
            assert d["collateral_left"] == pytest.approx(d["collateral_start"], abs=1e-9 * scale)


def test_bad_inputs_give_clear_errors() -> None:
    res = resolve(portfolio_from_dict(alt_btc_portfolio()))
    with pytest.raises(PortfolioError, match=r"impact must be one of none, sqrt, linear, got 'cubic'"):
        cascade(res, ["ALT=-10%"], impact="cubic")
    with pytest.raises(PortfolioError) as err:
        cascade(
            res,
            ["ALT=-10%"],
            params={"steps": 0, "fill": "teleport", "bogus": 1, "fee": 0.5, "daily_volume": {"BTC": -1}},
        )
    paths = {p.path for p in err.value.problems}
    assert paths == {"params.steps", "params.fill", "params.bogus", "params.fee", "params.daily_volume['BTC']"}
    with pytest.raises(PortfolioError, match="matches no symbol"):
        cascade(res, ["DOGE=-10%"])
    with pytest.raises(PortfolioError, match=r"shocks\['ALT'\] must be a move above -100%"):
        cascade(res, {"ALT": -1.5})
    with pytest.raises(PortfolioError, match=r"marks_path must be a \(T, 2\) array"):
        cascade_path(res, np.ones((4, 3)))
    with pytest.raises(PortfolioError, match="marks_path must hold finite marks > 0"):
        cascade_path(res, np.array([[10.0, 100000.0], [0.0, 100000.0]]))
    with pytest.raises(PortfolioError, match="views must be"):
        cascade(res, ["ALT=-10%"], views=("sideways",))
