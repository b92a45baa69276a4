"""The option and portfolio-view samples of ``fixtures/portfolios/`` (issue 11): ``deribit-options.json`` and
``basis-usdm-coinm.json``. Both load, evaluate in the four views (``portfolio-format.md`` §4, §6.4) with finite
numbers and strict JSON, no pool liquidated at the current marks; their figures are worked by hand below
(Black-76 of §6.2 from ``math.erf``, §6.3's standard option margin, Deribit's D1 rates of
``fixtures/tiers/deribit.json``, Binance's tier rows copied into the basis file, §6.4's scenario grid).
Nothing expected is copied from the engine's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from margin.files import load_portfolio
from margin.report import evaluate_portfolio as _evaluate_portfolio
from margin.shocks import parse_shock

ROOT = Path(__file__).resolve().parent.parent


def evaluate(portfolio: Any, shocks: Any = None, vol_shocks: Any = None, days: float = 0.0) -> dict[str, Any]:
    """``margin.report.evaluate_portfolio``'s document, typed for the tests."""
    out: dict[str, Any] = _evaluate_portfolio(portfolio, shocks, vol_shocks, days)
    return out


SAMPLES = ROOT / "fixtures" / "portfolios"
TIERS = ROOT / "fixtures" / "tiers"
NAMES = ("deribit-options.json", "basis-usdm-coinm.json")
VIEWS = ("as_is", "cross", "isolated", "portfolio")
YEAR = 365.0


def ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def b76(f: float, k: float, t: float, iv: float, call: bool) -> float:
    """§6.2 Black-76 on the forward, undiscounted."""
    sd = iv * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    return f * ncdf(d1) - k * ncdf(d2) if call else k * ncdf(-d2) - f * ncdf(-d1)


def short_margin(s: float, k: float, mark: float, call: bool) -> tuple[float, float]:
    """§6.3 per unit (USD): (IM, MM) of a short option."""
    if call:
        otm = max(0.0, k - s)
        return max(0.15 * s - otm, 0.10 * s) + mark, 0.075 * s + mark
    otm = max(0.0, s - k)
    mm = max(0.075 * s, 0.075 * mark) + mark
    return max(max(0.15 * s - otm, 0.10 * s) + mark, mm), mm


def doc_of(name: str, *shocks: str) -> dict[str, Any]:
    return evaluate(load_portfolio(SAMPLES / name), [parse_shock(s) for s in shocks])


def pools(doc: dict[str, Any], view: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = doc["modes"][view]["pools"]
    return out


def cross(doc: dict[str, Any], view: str, settle: str) -> dict[str, Any]:
    (g,) = [p for p in pools(doc, view) if p["settle"] == settle and p["position"] is None]
    return g


def pos(doc: dict[str, Any], view: str, pid: str) -> dict[str, Any]:
    (r,) = [p for p in doc["modes"][view]["positions"] if p["id"] == pid]
    out: dict[str, Any] = r
    return out


@pytest.mark.parametrize("name", NAMES)
def test_sample_loads_and_is_healthy_in_every_view(name: str) -> None:
    portfolio = load_portfolio(SAMPLES / name)
    doc = evaluate(portfolio)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert tuple(doc["modes"]) == VIEWS
    for view in VIEWS:
        assert len(doc["modes"][view]["positions"]) == len(portfolio.positions)
        for g in pools(doc, view):
            for key in ("equity", "wallet_balance", "unrealized_pnl", "options_value", "initial_margin",
                        "maintenance_margin", "available"):  # fmt: skip
                assert math.isfinite(g[key]), (view, key)
            assert g["liquidated"] is False, (name, view, g)
            assert g["equity"] == pytest.approx(g["wallet_balance"] + g["unrealized_pnl"] + g["options_value"])
        for r in doc["modes"][view]["positions"]:
            assert r["liquidated"] is False
            for key in ("liquidation_price", "bankruptcy_price"):
                assert r[key] is None or (math.isfinite(r[key]) and r[key] > 0), (view, key)


# --------------------------------------------------------------------------- deribit-options.json

PERP = "perpetual long (covers the call, protected by the put)"
# (id, symbol, side sign, contracts, strike, call, iv, days to expiry from 2026-11-20 08:00)
OPTIONS = [
    ("covered call: short Dec 110k call", "BTC/USD:BTC-261225-110000-C", -1, 2.0, 110000.0, True, 0.49, 35),
    ("protective put: long Mar 85k put", "BTC/USD:BTC-270326-85000-P", 1, 2.0, 85000.0, False, 0.56, 126),
    ("strangle: short Mar 130k call", "BTC/USD:BTC-270326-130000-C", -1, 1.0, 130000.0, True, 0.53, 126),
    ("strangle: short Mar 75k put", "BTC/USD:BTC-270326-75000-P", -1, 1.0, 75000.0, False, 0.60, 126),
]


def test_deribit_options_by_hand() -> None:
    """Deribit, 1.5 BTC, index 97,000 (the options' forward), BTC-PERPETUAL mark 97,050:
    perpetual long 20,000 × 10 USD @ 94,800 (covers the short Dec 110k call, protected by the long Mar 85k put),
    and a short Mar strangle 130k C / 75k P. 261225 is 35 days after as_of, 270326 126 days
    (10 + 31 + 31 + 28 + 26).

    Perpetual (inverse, D1 rates of fixtures/tiers/deribit.json): n = 200,000 / 97,050 = 2.060794 BTC;
      UPNL = 200,000 × (1/94,800 − 1/97,050) = 0.048911 BTC; MM = n (1 % + 0.005 % n), IM = n (2 % + 0.005 % n).
    Each option: value = side × contracts × B76 / 97,000 BTC; a short one adds §6.3's margin × contracts /
      97,000; the long put none. Pool equity = 1.5 + UPNL + Σ values (§6.2).
    Portfolio view (§6.4): wallet 1.5 × 97,000 = 145,500 USD; contingency 0.006 × |200,000| (inverse delta
      notional: the USD face) + 0.01 × 97,000 × (2 + 1 + 1) shorts = 1,200 + 3,880 = 5,080.
    """
    portfolio = load_portfolio(SAMPLES / "deribit-options.json")
    assert portfolio.venue == "deribit" and portfolio.collateral == {"BTC": 1.5}
    assert portfolio.index_prices == {"BTC": 97000.0} and portfolio.prices == {"BTC/USD:BTC": 97050.0}
    d1 = json.loads((TIERS / "deribit.json").read_text(encoding="utf-8"))["tiers"]["BTC/USD:BTC"]
    assert "D1" in json.loads((TIERS / "deribit.json").read_text(encoding="utf-8"))["source"]
    assert d1, "the shipped Deribit BTC/USD:BTC rates"
    doc = evaluate(portfolio)

    n = 200000 / 97050
    upnl = 200000 * (1 / 94800 - 1 / 97050)
    fut_mm, fut_im = n * (0.01 + 0.00005 * n), n * (0.02 + 0.00005 * n)
    values, opt_im, opt_mm = 0.0, 0.0, 0.0
    for pid, symbol, s, q, k, call, iv, days in OPTIONS:
        price = b76(97000, k, days / YEAR, iv, call)
        v = s * q * price / 97000
        values += v
        im = mm = 0.0
        if s < 0:
            im, mm = (x * q / 97000 for x in short_margin(97000, k, price, call))
            opt_im, opt_mm = opt_im + im, opt_mm + mm
        for view in ("as_is", "cross", "isolated"):
            r = pos(doc, view, pid)
            assert r["symbol"] == symbol and r["kind"] == "option"
            assert r["value"] == pytest.approx(v, rel=1e-9)
            assert r["time_to_expiry"] == pytest.approx(days / YEAR, rel=1e-12)
            assert r["initial_margin"] == pytest.approx(im, rel=1e-9, abs=1e-15)
            assert r["maintenance_margin"] == pytest.approx(mm, rel=1e-9, abs=1e-15)
    for view in ("as_is", "cross"):
        g = cross(doc, view, "BTC")
        assert g["equity"] == pytest.approx(1.5 + upnl + values, rel=1e-9)
        assert g["options_value"] == pytest.approx(values, rel=1e-9)
        assert g["maintenance_margin"] == pytest.approx(fut_mm + opt_mm, rel=1e-9)
        assert g["initial_margin"] == pytest.approx(fut_im + opt_im, rel=1e-9)
        assert pos(doc, view, PERP)["unrealized_pnl"] == pytest.approx(upnl, rel=1e-9)
    # the isolated view: the perpetual alone; the options stay in the BTC cross pool (§6.1)
    g = cross(doc, "isolated", "BTC")
    assert g["maintenance_margin"] == pytest.approx(opt_mm, rel=1e-9)
    assert g["options_value"] == pytest.approx(values, rel=1e-9)

    pf = pools(doc, "portfolio")[0]
    assert pf["wallet_balance"] == pytest.approx(145500.0, rel=1e-12)
    assert pf["unrealized_pnl"] == pytest.approx(upnl * 97000, rel=1e-9)
    assert pf["options_value"] == pytest.approx(values * 97000, rel=1e-9)
    (unit,) = pf["risk_units"]
    assert unit["contingency"] == pytest.approx(0.006 * 200000 + 0.01 * 97000 * 4, rel=1e-12)
    assert unit["requirement"] == pytest.approx(unit["scenario_loss"] + 5080.0, rel=1e-12)
    # the book is long BTC (perpetual + 1.5 BTC of coin collateral): its worst standard scenario is a fall
    assert unit["delta"] > 0 and unit["worst"]["move"] < 0
    assert unit["liquidation_move_down"] is not None and -0.95 < unit["liquidation_move_down"] < 0


def test_deribit_options_strangle_and_covered_call_greeks() -> None:
    """Greeks in underlying units (§6.2): the covered call's short 2 calls have delta −2 N(d1)
    with d1 = (ln(97,000/110,000) + 0.49² × 35/730)/(0.49 √(35/365)); the short
    strangle's deltas partly offset: −N(d1_C) − (N(d1_P) − 1)."""
    doc = doc_of("deribit-options.json")

    def d1(k: float, iv: float, days: float) -> float:
        t = days / YEAR
        return (math.log(97000 / k) + 0.5 * iv * iv * t) / (iv * math.sqrt(t))

    cc = pos(doc, "as_is", OPTIONS[0][0])["greeks"]["delta"]
    assert cc == pytest.approx(-2 * ncdf(d1(110000, 0.49, 35)), rel=1e-9)
    sc = pos(doc, "as_is", OPTIONS[2][0])["greeks"]["delta"]
    sp = pos(doc, "as_is", OPTIONS[3][0])["greeks"]["delta"]
    assert sc == pytest.approx(-ncdf(d1(130000, 0.53, 126)), rel=1e-9)
    assert sp == pytest.approx(-(ncdf(d1(75000, 0.60, 126)) - 1), rel=1e-9)
    assert sc < 0 < sp and abs(sc + sp) < 0.5


# --------------------------------------------------------------------------- basis-usdm-coinm.json

LONG = "long BTC linear (USDⓈ-M style)"
SHORT = "short BTC inverse (COIN-M style)"


def test_basis_tiers_are_binances() -> None:
    """The file's tables are the shipped Binance ones, copied (generic has no default tables)."""
    data = json.loads((SAMPLES / "basis-usdm-coinm.json").read_text(encoding="utf-8"))
    usdm = json.loads((TIERS / "binance-usdm.json").read_text(encoding="utf-8"))["tiers"]["BTC/USDT:USDT"]
    coinm = json.loads((TIERS / "binance-coinm.json").read_text(encoding="utf-8"))["tiers"]["BTC/USD:BTC"]
    assert data["venue"] == "generic"
    assert data["tiers"]["BTC/USDT:USDT"] == usdm and data["tiers"]["BTC/USD:BTC"] == coinm
    assert (usdm[1]["min_notional"], usdm[1]["max_notional"], usdm[1]["mmr"], usdm[1]["maint_amount"]) == (
        50000,
        600000,
        0.005,
        50,
    )
    assert (coinm[0]["min_notional"], coinm[0]["max_notional"], coinm[0]["mmr"]) == (0.0, 5.0, 0.004)


def test_basis_two_pools_need_margin_the_portfolio_view_nets_them() -> None:
    """generic (Binance arithmetic), 25,000 USDT + 0.3 BTC, index 97,000.
    Long 2 BTC/USDT:USDT @ 96,500, mark 97,000, 10×: N = 194,000 → Binance row [50k, 600k) 0.5 %, cum 50:
      MM = 970 − 50 = 920; IM = 19,400; UPNL = 2 × 500 = 1,000; USDT pool equity 26,000.
    Short 1,940 × 100 USD BTC/USD:BTC @ 96,800, mark 97,050, 10×: N = 194,000/97,050 = 1.998969 BTC → COIN-M
      row [0, 5) 0.4 %: MM = 0.0079959; IM = 0.1998969; UPNL = −194,000 × (1/96,800 − 1/97,050) = −0.0051626;
      BTC pool equity 0.2948374.
    Sum of the cross pools' IM in USD: 19,400 + 0.1998969 × 97,000 = 38,790.
    Portfolio view, one BTC unit: with m the move of every BTC price (S = 97,000 (1+m)):
      linear pnl 2 × 97,000 m = 194,000 m; inverse: −194,000 (1/96,800 − 1/(97,050 (1+m))) × S, whose
      m-dependent part is −194,000 × 97,000 m / 96,800 = −194,400.83 m (the other term is constant);
      the 0.3 BTC: 29,100 m. pnl(m) = 28,699.17 m, linear: the worst is m = −0.16 (the first vol state, up, on a
      three-way tie): loss 4,591.87; extended −0.66 × 0.02 weighs only 378.8.
      Contingency 0.006 × |194,000 − 194,000| = 0 (linear delta notional 2 × 97,000, inverse −1,940 × 100).
      IM = 4,591.87, far below 38,790.
    """
    doc = doc_of("basis-usdm-coinm.json")
    upnl_s = -194000 * (1 / 96800 - 1 / 97050)
    for view in ("as_is", "cross"):
        u, b = cross(doc, view, "USDT"), cross(doc, view, "BTC")
        assert u["equity"] == pytest.approx(26000.0, rel=1e-12)
        assert u["maintenance_margin"] == pytest.approx(920.0, rel=1e-12)
        assert u["initial_margin"] == pytest.approx(19400.0, rel=1e-12)
        assert b["equity"] == pytest.approx(0.3 + upnl_s, rel=1e-12)
        assert b["maintenance_margin"] == pytest.approx(0.004 * 194000 / 97050, rel=1e-12)
        assert b["initial_margin"] == pytest.approx(194000 / 97050 / 10, rel=1e-12)
        assert u["initial_margin"] > 0 and b["initial_margin"] > 0
    standard_im_usd = (
        cross(doc, "cross", "USDT")["initial_margin"] + cross(doc, "cross", "BTC")["initial_margin"] * 97000
    )
    assert standard_im_usd == pytest.approx(19400 + 19400 * 97000 / 97050, rel=1e-12)

    pf = pools(doc, "portfolio")[0]
    slope = 194000 - 194000 * 97000 / 96800 + 0.3 * 97000
    assert slope == pytest.approx(28699.17, abs=0.01)
    (unit,) = pf["risk_units"]
    assert unit["delta"] == pytest.approx(slope, rel=1e-9)
    assert unit["worst"] == {"move": pytest.approx(-0.16), "vol": "up", "extended": False}
    assert unit["scenario_loss"] == pytest.approx(0.16 * slope, rel=1e-9)
    assert unit["contingency"] == pytest.approx(0.0, abs=1e-9)
    for s in unit["scenarios"]:
        assert s["pnl"] == pytest.approx(slope * s["move"], rel=1e-9, abs=1e-6)
    assert pf["initial_margin"] == pytest.approx(0.16 * slope, rel=1e-9)
    assert pf["equity"] == pytest.approx(25000 + 1000 + (0.3 + upnl_s) * 97000, rel=1e-12)
    # the netting: the portfolio view needs under an eighth of the two standard pools together
    assert pf["initial_margin"] < standard_im_usd / 8
    # each leg's liquidation price stays finite in the standard views (each pool needs its margin)
    assert pos(doc, "cross", LONG)["liquidation_price"] < 97000 < pos(doc, "cross", SHORT)["liquidation_price"]
