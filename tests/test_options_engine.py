"""Options in the engine end to end (issue 11, ``portfolio-format.md`` §6): the §6.5 worked example through
``python -m margin evaluate``, hand-worked short options, liquidation in pools holding options, ``--vol-shock``
and ``--days``, every validation message, properties against a scalar Black-76 and the scenario grid rebuilt
from an independent pricer.

Every expected figure is computed here from the inputs with the formulas of §6.2-§6.4 (Black-76 on the
forward with ``math.erf``, written in this file, independent of ``margin.options``) or quoted from §6.5;
nothing is copied from the engine's output.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.files import parse_portfolio_json as portfolio_from_json
from margin.portfolio import portfolio_from_dict
from margin.report import evaluate_portfolio as _evaluate_portfolio
from margin.shocks import parse_shock

ROOT = Path(__file__).resolve().parent.parent


def evaluate(portfolio: Any, shocks: Any = None, vol_shocks: Any = None, days: float = 0.0) -> dict[str, Any]:
    """``margin.report.evaluate_portfolio``'s document, typed for the tests."""
    out: dict[str, Any] = _evaluate_portfolio(portfolio, shocks, vol_shocks, days)
    return out


YEAR = 365.0

# ---------------------------------------------------------------------------------------------------------
# the independent pricer (§6.2: Black-76 on the forward, undiscounted; intrinsic at T <= 0)
# ---------------------------------------------------------------------------------------------------------


def ncdf(x: float) -> float:
    """Standard normal CDF from ``math.erf``."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def npdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def b76(f: float, k: float, t: float, iv: float, call: bool) -> float:
    """§6.2: call ``F·N(d1) − K·N(d2)``, put ``K·N(−d2) − F·N(−d1)`` with ``d1 = (ln(F/K) + σ²T/2)/(σ√T)``."""
    if t <= 0.0:
        return max(f - k, 0.0) if call else max(k - f, 0.0)
    sd = iv * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    return f * ncdf(d1) - k * ncdf(d2) if call else k * ncdf(-d2) - f * ncdf(-d1)


def b76_greeks(f: float, k: float, t: float, iv: float, call: bool) -> dict[str, float]:
    """Per unit: delta ``N(d1)`` (call) / ``N(d1) − 1`` (put), gamma ``n(d1)/(Fσ√T)``, vega per 0.01
    ``F·n(d1)·√T/100``, theta per day ``−F·n(d1)·σ/(2√T)/365`` (§6.2, rate 0)."""
    sd = iv * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    return {
        "delta": ncdf(d1) if call else ncdf(d1) - 1.0,
        "gamma": npdf(d1) / (f * sd),
        "vega": f * npdf(d1) * math.sqrt(t) / 100.0,
        "theta": -f * npdf(d1) * iv / (2.0 * math.sqrt(t)) / YEAR,
    }


def short_margin(s: float, k: float, mark: float, call: bool) -> tuple[float, float]:
    """§6.3 per unit of underlying (USD), ``S = F``: (IM, MM) of a short option with Black-76 price ``mark``."""
    if call:
        otm = max(0.0, k - s)
        return max(0.15 * s - otm, 0.10 * s) + mark, 0.075 * s + mark
    otm = max(0.0, s - k)
    mm = max(0.075 * s, 0.075 * mark) + mark
    return max(max(0.15 * s - otm, 0.10 * s) + mark, mm), mm


def rel(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


# ---------------------------------------------------------------------------------------------------------
# §6.5's worked example (the contract's text, verbatim numbers)
# ---------------------------------------------------------------------------------------------------------

EX_TEXT = """{"format": "margin-portfolio/1", "venue": "deribit", "as_of": "2026-11-20T08:00:00Z",
 "collateral": {"BTC": 0.3}, "index_prices": {"BTC": 97000}, "prices": {"BTC/USD:BTC": 97100},
 "positions": [
  {"symbol": "BTC/USD:BTC", "side": "long", "contracts": 3000, "contract_size": 10, "entry_price": 95000},
  {"symbol": "BTC/USD:BTC-261225-100000-C", "side": "short", "contracts": 2, "entry_price": 0.035, "iv": 0.52},
  {"symbol": "BTC/USD:BTC-261225-90000-P", "side": "long", "contracts": 2, "entry_price": 0.02, "iv": 0.58}
 ]}"""
CALL = "BTC/USD:BTC-261225-100000-C"
PUT = "BTC/USD:BTC-261225-90000-P"
PERP = "BTC/USD:BTC"
CALL_ID, PUT_ID, PERP_ID = f"{CALL} short", f"{PUT} long", f"{PERP} long"
T_EX = 35.0 / YEAR  # 2026-11-20 08:00 → 2026-12-25 08:00


def ex() -> dict[str, Any]:
    out: dict[str, Any] = json.loads(EX_TEXT)
    return out


def cli(doc: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "margin", "evaluate", str(path), "--format", "json", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def cli_json(doc: dict[str, Any], tmp_path: Path, *args: str) -> dict[str, Any]:
    run = cli(doc, tmp_path, *args)
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def row(doc: dict[str, Any], view: str, pid: str) -> dict[str, Any]:
    rows = [p for p in doc["modes"][view]["positions"] if p["id"] == pid]
    assert len(rows) == 1, (view, pid)
    out: dict[str, Any] = rows[0]
    return out


def cross_pool(doc: dict[str, Any], view: str, settle: str) -> dict[str, Any]:
    rows = [p for p in doc["modes"][view]["pools"] if p["settle"] == settle and p["position"] is None]
    assert len(rows) == 1, (view, settle)
    out: dict[str, Any] = rows[0]
    return out


def test_section_6_5_worked_example_through_the_command(tmp_path: Path) -> None:
    """§6.5, to 1e-6 of its quoted figures (which are rounded: each is checked to its printed digits too).

    Call: F = 97,000, K = 100,000, T = 35/365, σ = 0.52 → 4,933.2363 USD/unit; short 2 → −9,866.47 USD,
      ÷ F → −0.1017162 BTC. Put K = 90,000, σ = 0.58 → 3,762.0631; long 2 → +0.0775683 BTC.
    Short call margin (§6.3), OTM = 100,000 − 97,000 = 3,000:
      IM = (max(0.15 × 97,000 − 3,000, 0.10 × 97,000) + 4,933.2363) × 2 / 97,000
         = (11,550 + 4,933.2363) × 2 / 97,000 = 0.3398605 BTC
      MM = (0.075 × 97,000 + 4,933.2363) × 2 / 97,000 = (7,275 + 4,933.2363) × 2 / 97,000 = 0.2517162 BTC
    Portfolio view: wallet 0.3 × 97,000 = 29,100; futures PnL 3,000 × 10 × (1/95,000 − 1/97,100) × 97,000
      = 662.47; options −9,866.47 + 7,524.13 = −2,342.35; equity 27,420.13.
      Contingency 0.006 × 30,000 + 0.01 × 97,000 × 2 = 180 + 1,940 = 2,120; IM = 17,245.84 + 2,120 =
      19,365.84; MM = 0.8 × IM = 15,492.68; ratio 15,492.68 / 27,420.13 = 0.5650.
    """
    doc = cli_json(ex(), tmp_path)
    c = b76(97000, 100000, T_EX, 0.52, True)
    p = b76(97000, 90000, T_EX, 0.58, False)
    assert round(c, 4) == 4933.2363 and round(p, 4) == 3762.0631
    im_u, mm_u = short_margin(97000, 100000, c, True)
    assert round(im_u * 2 / 97000, 7) == 0.3398605 and round(mm_u * 2 / 97000, 7) == 0.2517162

    call = row(doc, "as_is", CALL_ID)
    assert call["kind"] == "option" and call["mmr"] is None
    assert call["initial_margin"] == pytest.approx(0.3398605, rel=1e-6)
    assert call["maintenance_margin"] == pytest.approx(0.2517162, rel=1e-6)
    assert call["initial_margin"] == pytest.approx(im_u * 2 / 97000, rel=1e-12)
    assert call["maintenance_margin"] == pytest.approx(mm_u * 2 / 97000, rel=1e-12)
    assert call["value"] == pytest.approx(-0.1017162, rel=1e-6)
    assert call["time_to_expiry"] == pytest.approx(T_EX, rel=1e-12)
    assert call["mark_price"] == 97000 and call["underlying_price"] == 97000 and call["notional"] == 2.0
    g = call["greeks"]
    want = b76_greeks(97000, 100000, T_EX, 0.52, True)
    assert g["delta"] == pytest.approx(-0.9134823, rel=1e-6) and g["delta"] == pytest.approx(-2 * want["delta"])
    assert g["vega"] == pytest.approx(-238.2518, rel=1e-6) and g["vega"] == pytest.approx(-2 * want["vega"])
    assert g["theta"] == pytest.approx(176.9870, rel=1e-6) and g["theta"] == pytest.approx(-2 * want["theta"])
    assert g["gamma"] == pytest.approx(-2 * want["gamma"])
    # unrealized_pnl = value − entry premium × units: −0.1017162 − (−2 × 0.035) (shown, not added again)
    assert call["unrealized_pnl"] == pytest.approx(-2 * c / 97000 + 2 * 0.035, rel=1e-9)
    put = row(doc, "as_is", PUT_ID)
    assert put["value"] == pytest.approx(0.0775683, rel=1e-6)
    assert put["initial_margin"] == 0.0 and put["maintenance_margin"] == 0.0  # a long option needs no margin

    pool = doc["modes"]["portfolio"]["pools"][0]
    assert (pool["settle"], pool["mode"], pool["position"]) == ("USD", "portfolio", None)
    for key, quoted in (
        ("wallet_balance", 29100.00),
        ("unrealized_pnl", 662.47),
        ("options_value", -2342.35),
        ("equity", 27420.13),
        ("initial_margin", 19365.84),
        ("maintenance_margin", 15492.68),
    ):
        assert round(pool[key], 2) == quoted, key  # the quoted figures are rounded to the cent
    assert round(pool["margin_ratio"], 4) == 0.5650
    upnl = 30000 * (1 / 95000 - 1 / 97100) * 97000
    options = -2 * c + 2 * p
    assert pool["unrealized_pnl"] == pytest.approx(upnl, rel=1e-12)
    assert pool["options_value"] == pytest.approx(options, rel=1e-12)
    assert pool["equity"] == pytest.approx(29100 + upnl + options, rel=1e-12)
    (unit,) = pool["risk_units"]
    assert unit["underlying"] == "BTC" and unit["price_range"] == 0.16
    assert round(unit["delta"], 2) == -88266.24
    assert unit["worst"] == {"move": 0.16, "vol": "up", "extended": False}
    assert round(unit["scenario_loss"], 2) == 17245.84
    assert unit["contingency"] == pytest.approx(0.006 * 30000 + 0.01 * 97000 * 2, rel=1e-12)
    assert unit["requirement"] == pytest.approx(unit["scenario_loss"] + 2120.0, rel=1e-12)
    assert pool["initial_margin"] == pytest.approx(unit["requirement"], rel=1e-12)
    assert pool["maintenance_margin"] == pytest.approx(0.8 * pool["initial_margin"], rel=1e-12)
    assert unit["liquidation_move_down"] is None
    assert round(unit["liquidation_move_up"], 6) == 0.091920


def test_standard_pool_of_the_example_counts_option_values() -> None:
    """as_is/cross BTC pool: equity = 0.3 + 30,000 × (1/95,000 − 1/97,100) + (−2c + 2p)/97,000 (§6.2);
    futures MM at Deribit's D1 rate 1 % + n × 0.005 % of n = 30,000/97,100 coin (fixtures/tiers/deribit.json),
    plus the short call's MM; the long put adds nothing."""
    doc = evaluate(portfolio_from_json(EX_TEXT))
    c = b76(97000, 100000, T_EX, 0.52, True)
    p = b76(97000, 90000, T_EX, 0.58, False)
    n = 30000 / 97100
    fut_mm = n * (0.01 + 0.00005 * n)
    fut_im = n * (0.02 + 0.00005 * n)
    opt_im, opt_mm = (x * 2 / 97000 for x in short_margin(97000, 100000, c, True))
    upnl = 30000 * (1 / 95000 - 1 / 97100)
    value = (-2 * c + 2 * p) / 97000
    for view in ("as_is", "cross"):
        g = cross_pool(doc, view, "BTC")
        assert g["equity"] == pytest.approx(0.3 + upnl + value, rel=1e-12)
        assert g["options_value"] == pytest.approx(value, rel=1e-12)
        assert g["unrealized_pnl"] == pytest.approx(upnl, rel=1e-12)  # futures only
        assert g["equity"] == pytest.approx(g["wallet_balance"] + g["unrealized_pnl"] + g["options_value"], rel=1e-12)
        assert g["maintenance_margin"] == pytest.approx(fut_mm + opt_mm, rel=1e-9)
        assert g["initial_margin"] == pytest.approx(fut_im + opt_im, rel=1e-9)
    # isolated view: the options stay in the cross pool (§6.1), the perpetual goes alone
    g = cross_pool(doc, "isolated", "BTC")
    assert g["maintenance_margin"] == pytest.approx(opt_mm, rel=1e-12)
    assert g["options_value"] == pytest.approx(value, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# (b) a hand-worked short put, USDC-settled, generic preset
# ---------------------------------------------------------------------------------------------------------


def usdc_put_book(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "as_of": "2026-11-20T08:00:00Z",
        "collateral": {"USDC": 20000.0},
        "index_prices": {"ETH": 3400.0},
        "positions": [
            {"symbol": "ETH/USDC:USDC-270326-3000-P", "side": "short", "contracts": 10, "entry_price": 120.0,
             "iv": 0.65, "underlying_price": 3420.0}
        ],
    }  # fmt: skip
    doc.update(extra)
    return doc


def test_short_usdc_put_on_generic_by_hand() -> None:
    """Short 10 ETH/USDC:USDC-270326-3000-P, iv 0.65, forward 3,420 (underlying_price wins over the index
    3,400), as_of 2026-11-20 08:00 → 2027-03-26 08:00 = 10 + 31 + 31 + 28 + 26 = 126 days, T = 126/365.
      σ√T = 0.65 × √0.345205 = 0.381902; d1 = (ln(3,420/3,000) + σ²T/2)/σ√T = (0.131028 + 0.072925)/0.381902
      = 0.534046; d2 = 0.152144; put = 3,000 N(−0.152144) − 3,420 N(−0.534046) ≈ 3,000 × 0.43954 −
      3,420 × 0.29665 ≈ 304.9 USDC per unit.
    Pool equity = wallet + value = 20,000 − 10 × put (USDC-settled: no ÷ F).
    §6.3 put, S = 3,420: OTM = max(0, 3,420 − 3,000) = 420; MM = max(0.075 × 3,420, 0.075 × put) + put
      = 256.5 + put; IM = max(max(0.15 × 3,420 − 420, 0.10 × 3,420) + put, MM) = max(93, 342) + put = 342 + put;
      × 10 contracts.
    """
    doc = evaluate(portfolio_from_dict(usdc_put_book()))
    t = 126 / YEAR
    put = b76(3420, 3000, t, 0.65, False)
    sd = 0.65 * math.sqrt(t)
    d1 = (math.log(3420 / 3000) + 0.5 * sd * sd) / sd
    assert put == pytest.approx(3000 * ncdf(-(d1 - sd)) - 3420 * ncdf(-d1))
    assert 300 < put < 310
    mm = (max(0.075 * 3420, 0.075 * put) + put) * 10
    im = max(max(0.15 * 3420 - 420, 0.10 * 3420) + put, mm / 10) * 10
    assert mm == pytest.approx(2565 + 10 * put) and im == pytest.approx(3420 + 10 * put)
    pid = "ETH/USDC:USDC-270326-3000-P short"
    for view in ("as_is", "cross", "isolated"):
        g = cross_pool(doc, view, "USDC")
        assert g["equity"] == pytest.approx(20000 - 10 * put, rel=1e-12)
        assert g["wallet_balance"] == 20000.0 and g["unrealized_pnl"] == 0.0
        assert g["options_value"] == pytest.approx(-10 * put, rel=1e-12)
        assert g["maintenance_margin"] == pytest.approx(mm, rel=1e-12)
        assert g["initial_margin"] == pytest.approx(im, rel=1e-12)
        assert g["margin_ratio"] == pytest.approx(mm / (20000 - 10 * put), rel=1e-12)
        r = row(doc, view, pid)
        assert r["value"] == pytest.approx(-10 * put, rel=1e-12)
        assert r["notional"] == pytest.approx(10 * 3420, rel=1e-12)  # USDC-settled: contracts × size × F
        assert r["unrealized_pnl"] == pytest.approx(-10 * put + 10 * 120, rel=1e-12)
        assert r["mark_price"] == 3420.0
        greeks = b76_greeks(3420, 3000, t, 0.65, False)
        for k, v in greeks.items():
            assert r["greeks"][k] == pytest.approx(-10 * v, rel=1e-9), k
    # a put only loses on the way down: the pool's liquidation is a fall of the forward
    lp = row(doc, "as_is", pid)["liquidation_price"]
    assert lp is not None and lp < 3420
    # by hand at that forward: equity − MM = 0 (T and iv held)
    v = b76(lp, 3000, t, 0.65, False)
    mm_lp = (max(0.075 * lp, 0.075 * v) + v) * 10
    assert abs(20000 - 10 * v - mm_lp) <= 1e-9 * 20000


# ---------------------------------------------------------------------------------------------------------
# (c) liquidation with options
# ---------------------------------------------------------------------------------------------------------


def two_pool_book() -> dict[str, Any]:
    """generic: a USDT pool with a BTC linear perpetual and an isolated ETH linear perpetual (no options), and
    a BTC pool with an inverse perpetual, a short call and a short put (options)."""
    tier = [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 100, "maint_amount": 0}]
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "as_of": "2026-11-20T08:00:00Z",
        "collateral": {"USDT": 6000.0, "BTC": 0.6},
        "index_prices": {"BTC": 97000.0},
        "prices": {"BTC/USDT:USDT": 97050.0, "BTC/USD:BTC": 97100.0, "ETH/USDT:USDT": 3400.0},
        "tiers": {"BTC/USDT:USDT": tier, "BTC/USD:BTC": tier, "ETH/USDT:USDT": tier},
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.5, "entry_price": 96000.0, "leverage": 10},
            {"symbol": "BTC/USD:BTC", "side": "long", "contracts": 300, "contract_size": 100,
             "entry_price": 95000.0, "leverage": 10},
            {"symbol": CALL, "side": "short", "contracts": 1.5, "entry_price": 0.04, "iv": 0.52},
            {"symbol": "ETH/USDT:USDT", "side": "short", "contracts": 3, "entry_price": 3300.0, "leverage": 5,
             "margin_mode": "isolated", "isolated_margin": 2000.0},
            {"symbol": "BTC/USD:BTC-270326-80000-P", "side": "short", "contracts": 1, "entry_price": 0.03,
             "iv": 0.55},
        ],
    }  # fmt: skip


def _pool_of(doc: dict[str, Any], view: str, pid: str) -> dict[str, Any]:
    """The pool that holds position ``pid`` in ``view``: its isolated pool, else the cross pool of its settle."""
    pools = doc["modes"][view]["pools"]
    own = [g for g in pools if g["position"] == pid]
    if own:
        found: dict[str, Any] = own[0]
        return found
    sym = row(doc, view, pid)["symbol"]
    settle = sym.split(":", 1)[1].split("-", 1)[0]
    return cross_pool(doc, view, settle)


@pytest.mark.parametrize("name", ["example", "two-pool"])
def test_liquidation_price_in_an_option_pool_sits_on_the_trigger(name: str) -> None:
    """§6.3: at each position's reported liquidation price (its own price × (1 + x)), moving every instrument
    of the base by the same x (``--shock BTC=x``: futures marks, option forwards, the index) puts the pool on
    its trigger: equity − MM = 0 to 1e-9 of equity. Bankruptcy likewise: equity = 0 to 1e-9 of |equity| at 0."""
    data = ex() if name == "example" else two_pool_book()
    pf = portfolio_from_dict(data)
    doc = evaluate(pf)
    checked = 0
    for view in ("as_is", "cross", "isolated"):
        for r in doc["modes"][view]["positions"]:
            g = _pool_of(doc, view, r["id"])
            holds_option = g["options_value"] != 0.0
            if not holds_option:
                continue
            base = r["symbol"].split("/", 1)[0]
            for key, bankrupt in (("liquidation_price", False), ("bankruptcy_price", True)):
                price = r[key]
                if price is None:
                    continue
                x = price / r["mark_price"] - 1.0
                moved = evaluate(pf, [parse_shock(f"{base}={x!r}")])
                mg = _pool_of(moved, view, r["id"])
                gap = mg["equity"] - (0.0 if bankrupt else mg["maintenance_margin"])
                scale = abs(g["equity"])
                assert abs(gap) <= 1e-9 * scale, (view, r["id"], key, x, gap)
                checked += 1
    assert checked >= (6 if name == "example" else 8)


def eth_beside_btc_options() -> dict[str, Any]:
    """One USDC pool: an ETH linear perpetual (one tier at 1 %) and a short BTC call, USDC-settled."""
    tier = [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0}]
    return {
        "format": "margin-portfolio/1", "venue": "generic", "as_of": "2026-11-20T08:00:00Z",
        "collateral": {"USDC": 3000.0}, "index_prices": {"BTC": 97000.0}, "prices": {"ETH/USDC:USDC": 3400.0},
        "tiers": {"ETH/USDC:USDC": tier},
        "positions": [
            {"symbol": "ETH/USDC:USDC", "side": "long", "contracts": 5, "entry_price": 3300.0, "leverage": 10},
            {"symbol": "BTC/USDC:USDC-261225-100000-C", "side": "short", "contracts": 0.1, "entry_price": 4000.0,
             "iv": 0.5},
        ],
    }  # fmt: skip


def test_a_future_of_another_base_in_an_option_pool() -> None:
    """The ETH perpetual's liquidation price in a pool whose option is on BTC: the option's value and margin are
    constants of an ETH move (§2 with them held). By hand, c = B76(97,000, 100,000, 35/365, 0.5):
    equity(P) = 3,000 + 5 (P − 3,300) − 0.1 c, MM(P) = 0.01 × 5 P + 0.1 (0.075 × 97,000 + c);
    equity = MM at P = (0.2 c + 727.5 + 16,500 − 3,000) / (5 × 0.99)."""
    doc = evaluate(portfolio_from_dict(eth_beside_btc_options()))
    c = b76(97000, 100000, T_EX, 0.5, True)
    lp = (0.2 * c + 727.5 + 16500 - 3000) / (5 * 0.99)
    bp = (0.1 * c + 16500 - 3000) / 5
    for view in ("as_is", "cross"):
        r = row(doc, view, "ETH/USDC:USDC long")
        assert r["liquidation_price"] == pytest.approx(lp, rel=1e-9)
        assert r["bankruptcy_price"] == pytest.approx(bp, rel=1e-9)


@pytest.mark.parametrize("btc", [0.3, 0.6, 1.0])
def test_portfolio_view_liquidation_move_sits_on_the_trigger(btc: float) -> None:
    """§6.4: at the unit's reported liquidation move, the portfolio view re-evaluated at ``--shock BTC=move``
    (futures marks, forwards and the index moved, the requirement recomputed) has equity − MM = 0 to 1e-9 of
    equity; each position's liquidation price in this view is its price × (1 + the nearer move)."""
    data = ex()
    data["collateral"] = {"BTC": btc}
    pf = portfolio_from_dict(data)
    doc = evaluate(pf)
    (unit,) = doc["modes"]["portfolio"]["pools"][0]["risk_units"]
    moves = [m for m in (unit["liquidation_move_down"], unit["liquidation_move_up"]) if m is not None]
    assert moves
    for x in moves:
        g = evaluate(pf, [parse_shock(f"BTC={x!r}")])["modes"]["portfolio"]["pools"][0]
        assert abs(g["equity"] - g["maintenance_margin"]) <= 1e-9 * g["equity"]
    nearer = min(moves, key=abs)
    for r in doc["modes"]["portfolio"]["positions"]:
        assert r["liquidation_price"] == pytest.approx(r["mark_price"] * (1 + nearer), rel=1e-12)
        assert r["initial_margin"] is None and r["maintenance_margin"] is None and r["bankruptcy_price"] is None


def test_liquidation_of_the_example_is_on_the_rally() -> None:
    """The example's BTC pool is short the call (delta −0.91 × 2) against +30,000 USD of inverse perpetual
    (+0.309 BTC of coin delta): in BTC terms it loses on a rally; the nearest crossing is above the mark, and
    every BTC instrument of the pool reports its own price at the same relative move."""
    doc = evaluate(portfolio_from_json(EX_TEXT))
    for view in ("as_is", "cross"):
        perp, call, put = (row(doc, view, i) for i in (PERP_ID, CALL_ID, PUT_ID))
        assert perp["liquidation_price"] > 97100
        x = perp["liquidation_price"] / 97100 - 1
        assert call["liquidation_price"] == pytest.approx(97000 * (1 + x), rel=1e-12)
        assert put["liquidation_price"] == pytest.approx(97000 * (1 + x), rel=1e-12)


def _strip_kind(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "kind"} for r in rows]


def test_a_pool_without_options_is_bit_identical() -> None:
    """§6.3 "Pools without options keep the rules of section 2": the USDT cross pool and the isolated ETH pool
    of :func:`two_pool_book` evaluate exactly (==) as in the same file with both options removed, in every
    standard view, also after a shock."""
    with_opts = two_pool_book()
    without = copy.deepcopy(with_opts)
    without["positions"] = [p for p in without["positions"] if "-C" not in p["symbol"] and "-P" not in p["symbol"]]
    del without["as_of"]
    for shocks in ([], ["BTC=-7%"], ["ALL=+4%"]):
        a = evaluate(portfolio_from_dict(with_opts), [parse_shock(s) for s in shocks])
        b = evaluate(portfolio_from_dict(without), [parse_shock(s) for s in shocks])
        for view in ("as_is", "cross", "isolated"):
            untouched = [g for g in a["modes"][view]["pools"] if g["settle"] == "USDT"]
            assert untouched == [g for g in b["modes"][view]["pools"] if g["settle"] == "USDT"], (view, shocks)
            ids = ("BTC/USDT:USDT long", "ETH/USDT:USDT short")
            rows_a = [r for r in a["modes"][view]["positions"] if r["id"] in ids]
            rows_b = [r for r in b["modes"][view]["positions"] if r["id"] in ids]
            assert len(rows_a) == 2 and _strip_kind(rows_a) == rows_b, (view, shocks)


def test_liquidated_option_pool_still_reports_the_crossing() -> None:
    """§2: a pool already past its trigger still reports the crossing and ``liquidated`` true; §6.3 nearest
    crossing either way. 0.05 BTC against the example's short call: MM 0.2517 > equity."""
    data = ex()
    data["collateral"] = {"BTC": 0.05}
    doc = evaluate(portfolio_from_dict(data))
    g = cross_pool(doc, "as_is", "BTC")
    assert g["liquidated"] is True and g["equity"] <= g["maintenance_margin"]
    for pid in (PERP_ID, CALL_ID, PUT_ID):
        r = row(doc, "as_is", pid)
        assert r["liquidated"] is True
        assert r["liquidation_price"] is not None


# ---------------------------------------------------------------------------------------------------------
# (d) --vol-shock, --days, and bad input
# ---------------------------------------------------------------------------------------------------------


def test_vol_shocks_compound(tmp_path: Path) -> None:
    """``--vol-shock BTC=+30% --vol-shock ALL=-10%``: iv × 1.3 × 0.9 = × 1.17 (§6.5, compounding as
    ``--shock``); the call is repriced at 0.52 × 1.17 = 0.6084, the put at 0.58 × 1.17 = 0.6786."""
    doc = cli_json(ex(), tmp_path, "--vol-shock", "BTC=+30%", "--vol-shock", "ALL=-10%")
    assert doc["vol_shock"]["BTC"] == pytest.approx(1.3 * 0.9 - 1, rel=1e-12)
    for view in ("as_is", "cross", "isolated"):
        call, put = row(doc, view, CALL_ID), row(doc, view, PUT_ID)
        assert call["iv"] == pytest.approx(0.52 * 1.17, rel=1e-12)
        assert put["iv"] == pytest.approx(0.58 * 1.17, rel=1e-12)
        c = b76(97000, 100000, T_EX, 0.52 * 1.17, True)
        assert call["value"] == pytest.approx(-2 * c / 97000, rel=1e-9)
        im, mm = short_margin(97000, 100000, c, True)
        assert call["maintenance_margin"] == pytest.approx(2 * mm / 97000, rel=1e-9)
        assert call["initial_margin"] == pytest.approx(2 * im / 97000, rel=1e-9)
    pool = doc["modes"]["portfolio"]["pools"][0]
    c = b76(97000, 100000, T_EX, 0.52 * 1.17, True)
    p = b76(97000, 90000, T_EX, 0.58 * 1.17, False)
    assert pool["options_value"] == pytest.approx(-2 * c + 2 * p, rel=1e-9)


def test_days_forward(tmp_path: Path) -> None:
    """``--days 7``: T = (35 − 7)/365 = 28/365 for every option; the vol factor of the portfolio view follows
    DTE = 28 < 30 (short-term power): checked in the scenario rebuild below."""
    doc = cli_json(ex(), tmp_path, "--days", "7")
    assert doc["days"] == 7
    c = b76(97000, 100000, 28 / YEAR, 0.52, True)
    call = row(doc, "as_is", CALL_ID)
    assert call["time_to_expiry"] == pytest.approx(28 / YEAR, rel=1e-12)
    assert call["value"] == pytest.approx(-2 * c / 97000, rel=1e-9)
    _check_scenarios(doc, days=7.0)


@pytest.mark.parametrize("days", ["35", "40"])
def test_an_option_expiring_within_days_is_worth_its_intrinsic_value(tmp_path: Path, days: str) -> None:
    """``--shock BTC=+10% --days 35|40``: F = 97,000 × 1.1 = 106,700, both options at or past expiry:
    the call is worth 106,700 − 100,000 = 6,700 USD/unit (in the money: delta −1 × 2 for the short), the put
    max(90,000 − 106,700, 0) = 0 (out of it: delta 0); gamma, vega, theta 0.
    Short call margin with mark 6,700, S = 106,700, OTM = 0: IM = (max(16,005, 10,670) + 6,700) × 2 / 106,700,
    MM = (8,002.5 + 6,700) × 2 / 106,700 BTC."""
    doc = cli_json(ex(), tmp_path, "--shock", "BTC=+10%", "--days", days)
    f = 97000 * 1.1
    for view in ("as_is", "cross", "isolated"):
        call, put = row(doc, view, CALL_ID), row(doc, view, PUT_ID)
        assert call["underlying_price"] == pytest.approx(f, rel=1e-12)
        assert call["value"] == pytest.approx(-2 * (f - 100000) / f, rel=1e-12)
        assert put["value"] == 0.0
        assert call["greeks"] == {"delta": pytest.approx(-2.0), "gamma": 0.0, "vega": 0.0, "theta": 0.0}
        assert put["greeks"] == {"delta": 0.0, "gamma": 0.0, "vega": 0.0, "theta": 0.0}
        im, mm = short_margin(f, 100000, f - 100000, True)
        assert im == pytest.approx(0.15 * f + 6700) and mm == pytest.approx(0.075 * f + 6700)
        assert call["initial_margin"] == pytest.approx(2 * im / f, rel=1e-12)
        assert call["maintenance_margin"] == pytest.approx(2 * mm / f, rel=1e-12)
    pool = doc["modes"]["portfolio"]["pools"][0]
    assert pool["options_value"] == pytest.approx(-2 * (f - 100000), rel=1e-12)


def test_an_expired_in_the_money_put_has_delta_plus_minus_one(tmp_path: Path) -> None:
    """``--shock BTC=-10% --days 36``: F = 87,300; the long put is worth 90,000 − 87,300 = 2,700 per unit,
    delta −1 per unit (long 2 → −2); the call is out of the money: 0, delta 0."""
    doc = cli_json(ex(), tmp_path, "--shock", "BTC=-10%", "--days", "36")
    put, call = row(doc, "as_is", PUT_ID), row(doc, "as_is", CALL_ID)
    assert put["value"] == pytest.approx(2 * 2700 / 87300, rel=1e-9)
    assert put["greeks"]["delta"] == pytest.approx(-2.0) and put["greeks"]["gamma"] == 0.0
    assert call["value"] == 0.0 and call["greeks"]["delta"] == 0.0
    # short call at mark 0, S = 87,300, OTM = 12,700: IM = max(13,095 − 12,700, 8,730) = 8,730; MM = 6,547.5
    assert call["initial_margin"] == pytest.approx(2 * 8730 / 87300, rel=1e-12)
    assert call["maintenance_margin"] == pytest.approx(2 * 0.075 * 87300 / 87300, rel=1e-12)


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = ex()
    where: Any = data
    *head, last = path.split(".")
    for key in head:
        where = where[int(key)] if key.isdigit() else where[key]
    if value is _DELETE:
        del where[last]
    else:
        where[last] = value
    return data


_DELETE = object()

BAD = [
    # (name, file, args, text that must appear in the message)
    ("expired", _mutate("positions.1.symbol", "BTC/USD:BTC-261119-100000-C"), [], "positions[1].symbol"),
    ("expires at as_of", _mutate("positions.1.symbol", "BTC/USD:BTC-261120-100000-C"), [], "positions[1].symbol"),
    ("missing iv", _mutate("positions.1.iv", _DELETE), [], "positions[1].iv"),
    ("missing as_of", _mutate("as_of", _DELETE), [], "as_of"),
    ("isolated option", _mutate("positions.1.margin_mode", "isolated"), [], "positions[1].margin_mode"),
    ("binance-usdm", _mutate("venue", "binance-usdm"), [], "positions[1].symbol"),
    ("binance-coinm", _mutate("venue", "binance-coinm"), [], "positions[2].symbol"),
    ("hyperliquid", _mutate("venue", "hyperliquid"), [], "positions[1].symbol"),
    ("dydx", _mutate("venue", "dydx"), [], "positions[1].symbol"),
    ("iv 0", _mutate("positions.1.iv", 0), [], "positions[1].iv"),
    ("iv 6", _mutate("positions.1.iv", 6), [], "positions[1].iv"),
    ("vol-shock matching nothing", ex(), ["--vol-shock", "ETH=+10%"], "--vol-shock"),
    ("vol-shock to -100%", ex(), ["--vol-shock", "BTC=-60%", "--vol-shock", "ALL=-60%", "--vol-shock", "BTC=-100%"],
     "--vol-shock"),
    ("days -1", ex(), ["--days", "-1"], "--days"),
    ("option in prices", _mutate("prices", {PERP: 97100, CALL: 4900}), [], "prices"),
    ("shock on an option", ex(), ["--shock", f"{CALL}=-10%"], "--shock"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "args", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_option_input_names_its_field(
    tmp_path: Path, name: str, data: dict[str, Any], args: list[str], field: str
) -> None:
    """Exit 2, one short message naming the field, no traceback (format §4, §6.1, §6.5)."""
    run = cli(data, tmp_path, *args)
    assert run.returncode == 2, (name, run.stdout[:200], run.stderr)
    assert field in run.stderr, (name, run.stderr)
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_vol_shock_and_days_need_an_option(tmp_path: Path) -> None:
    data = ex()
    data["positions"] = data["positions"][:1]
    del data["as_of"]
    for args, field in ((["--vol-shock", "BTC=+10%"], "--vol-shock"), (["--days", "3"], "--days")):
        run = cli(data, tmp_path, *args)
        assert run.returncode == 2 and field in run.stderr and "Traceback" not in run.stderr


# ---------------------------------------------------------------------------------------------------------
# (e) properties
# ---------------------------------------------------------------------------------------------------------

EXPIRIES = {"261127": 7.0, "261225": 35.0, "270129": 70.0, "270326": 126.0, "270625": 217.0}

option_leg = st.tuples(
    st.sampled_from(sorted(EXPIRIES)),
    st.integers(min_value=40, max_value=200),  # strike in thousands
    st.booleans(),  # call
    st.booleans(),  # long
    st.sampled_from([0.1, 0.5, 1.0, 2.0, 7.0]),
    st.floats(min_value=0.05, max_value=3.0),  # iv
    st.booleans(),  # coin-settled
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legs=st.lists(option_leg, min_size=1, max_size=6), forward=st.floats(min_value=30000, max_value=250000))
def test_option_values_equal_a_scalar_black76_loop(legs: list[tuple[Any, ...]], forward: float) -> None:
    """Every standard view's pool ``options_value`` (per settle asset) and each row's ``value`` equal a plain
    loop of the scalar Black-76 above: value = side × contracts × B76(F, K, T, σ), ÷ F when coin-settled."""
    positions, seen, want = [], set(), {"BTC": 0.0, "USDC": 0.0}
    for expiry, k, call, long, n, iv, coin in legs:
        settle = "BTC/USD:BTC" if coin else "BTC/USDC:USDC"
        symbol = f"{settle}-{expiry}-{k * 1000}-{'C' if call else 'P'}"
        if symbol in seen:
            continue
        seen.add(symbol)
        positions.append({"symbol": symbol, "side": "long" if long else "short", "contracts": n,
                          "entry_price": 0.01, "iv": iv})  # fmt: skip
        v = (1 if long else -1) * n * b76(forward, k * 1000.0, EXPIRIES[expiry] / YEAR, iv, call)
        want["BTC" if coin else "USDC"] += v / forward if coin else v
    data = {"format": "margin-portfolio/1", "venue": "generic", "as_of": "2026-11-20T08:00:00Z",
            "collateral": {"BTC": 50.0, "USDC": 5e6}, "index_prices": {"BTC": forward},
            "positions": positions}  # fmt: skip
    doc = evaluate(portfolio_from_dict(data))
    for view in ("as_is", "cross", "isolated"):
        for settle, v in want.items():
            got = cross_pool(doc, view, settle)["options_value"]
            assert got == pytest.approx(v, rel=1e-9, abs=1e-9 * max(1.0, forward if settle == "USDC" else 1.0))
    pool = doc["modes"]["portfolio"]["pools"][0]
    assert pool["options_value"] == pytest.approx(want["BTC"] * forward + want["USDC"], rel=1e-9, abs=1e-6)


def hedge_book(
    long_usd: float, short_usd: float, entry_l: float, entry_s: float, mark: float, usdt: float
) -> dict[str, Any]:
    tier = [{"min_notional": 0, "max_notional": None, "mmr": 0.004, "max_leverage": 125, "maint_amount": 0}]
    positions = []
    if long_usd:
        positions.append({"symbol": "BTC/USDT:USDT", "side": "long", "contracts": long_usd / mark,
                          "entry_price": entry_l, "leverage": 10})  # fmt: skip
    if short_usd:
        positions.append({"symbol": "BTC/USD:BTC", "side": "short", "contracts": round(short_usd / 100),
                          "contract_size": 100, "entry_price": entry_s, "leverage": 10})  # fmt: skip
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": usdt},
        "index_prices": {"BTC": mark},
        "prices": {"BTC/USDT:USDT": mark, "BTC/USD:BTC": mark * 1.0005},
        "tiers": {"BTC/USDT:USDT": tier, "BTC/USD:BTC": tier},
        "positions": positions,
    }


@settings(max_examples=25, deadline=None)
@given(
    long_usd=st.floats(min_value=1000, max_value=2e6),
    ratio=st.floats(min_value=0.1, max_value=2.0),
    entry_l=st.floats(min_value=0.8, max_value=1.2),
    entry_s=st.floats(min_value=0.8, max_value=1.2),
    mark=st.floats(min_value=20000, max_value=200000),
)
def test_portfolio_view_of_a_hedge_never_needs_more_than_its_legs(
    long_usd: float, ratio: float, entry_l: float, entry_s: float, mark: float
) -> None:
    """The portfolio view's IM of long linear + short inverse BTC is at most the sum of each leg's IM alone
    (§6.4: one risk unit; max over scenarios of a sum ≤ sum of maxes, |a + b| ≤ |a| + |b| for the
    contingency), with the same USDT collateral, which carries no risk."""
    short_usd = max(100.0, long_usd * ratio)
    usdt = 1e6

    def im(lu: float, su: float) -> float:
        data = hedge_book(lu, su, mark * entry_l, mark * entry_s, mark, usdt)
        doc = evaluate(portfolio_from_dict(data))
        return float(doc["modes"]["portfolio"]["pools"][0]["initial_margin"])

    both, alone_l, alone_s = im(long_usd, short_usd), im(long_usd, 0.0), im(0.0, short_usd)
    assert both <= (alone_l + alone_s) * (1 + 1e-12) + 1e-9


# ---------------------------------------------------------------------------------------------------------
# (f) every scenario of the example's BTC unit, rebuilt from the pricer
# ---------------------------------------------------------------------------------------------------------


def _check_scenarios(doc: dict[str, Any], days: float = 0.0, vol_mult: float = 1.0) -> None:
    """Rebuild each scenario's pnl of the example's BTC unit (§6.4): the move m scales the perpetual's mark
    (97,100), both forwards (97,000) and S_B (the index, 97,000); USD equity
      E(m, σ) = 0.3 S + 30,000 (1/95,000 − 1/(97,100 (1+m))) S + (−2 c(F, σ_c) + 2 p(F, σ_p)) S/F
    with S = F = 97,000 (1+m); pnl = E(m, vol state) − E(0, unchanged). Vol states with f = (30/DTE)^p,
    DTE = 35 − days, p = 0.3 below 30 days else 0.13: up σ(1 + 0.5 f), down σ max(1 − 0.25 f, 0.01).
    Standard moves k × 0.16/4 for k = −4…4 × (up, unchanged, down), weight 1; extended moves with vol up,
    weight 0.02. scenario_loss = max(0, max −pnl × weight); IM = loss + contingency."""
    t = (35.0 - days) / YEAR
    dte = max(t * YEAR, 1.0)
    f = (30.0 / dte) ** (0.3 if dte < 30 else 0.13)
    states = {"up": 1 + 0.5 * f, "unchanged": 1.0, "down": max(1 - 0.25 * f, 0.01)}
    sc, sp = 0.52 * vol_mult, 0.58 * vol_mult

    def equity(m: float, state: str) -> float:
        s = 97000 * (1 + m)
        mult = states[state]
        opts = -2 * b76(s, 100000, t, sc * mult, True) + 2 * b76(s, 90000, t, sp * mult, False)
        return 0.3 * s + 30000 * (1 / 95000 - 1 / (97100 * (1 + m))) * s + opts

    base = equity(0.0, "unchanged")
    want = [(k * 0.04, v, False, 1.0) for k in range(-4, 5) for v in ("up", "unchanged", "down")]
    want += [(m, "up", True, 0.02) for m in (-0.66, -0.33, 0.5, 1, 2, 3, 4, 5)]
    (unit,) = doc["modes"]["portfolio"]["pools"][0]["risk_units"]
    got = unit["scenarios"]
    assert len(got) == len(want) == 35
    scale = max(abs(equity(m, v) - base) for m, v, _, _ in want)
    losses = []
    for g, (m, v, ext, w) in zip(got, want, strict=True):
        assert g["move"] == pytest.approx(m, abs=1e-15) and g["vol"] == v and g["extended"] is ext
        assert g["weight"] == w
        pnl = equity(m, v) - base
        assert abs(g["pnl"] - pnl) <= 1e-9 * scale, (m, v, g["pnl"], pnl)
        losses.append(-pnl * w)
    assert unit["scenario_loss"] == pytest.approx(max(0.0, *losses), rel=1e-9)
    worst = want[losses.index(max(losses))]
    assert unit["worst"] == {"move": pytest.approx(worst[0]), "vol": worst[1], "extended": worst[2]}
    assert unit["contingency"] == pytest.approx(0.006 * 30000 + 0.01 * 97000 * 2, rel=1e-12)
    pool = doc["modes"]["portfolio"]["pools"][0]
    assert pool["initial_margin"] == pytest.approx(max(0.0, *losses) + unit["contingency"], rel=1e-9)


def test_every_scenario_of_the_example_rebuilt_from_black76(tmp_path: Path) -> None:
    _check_scenarios(cli_json(ex(), tmp_path))


def test_scenarios_after_a_vol_shock(tmp_path: Path) -> None:
    _check_scenarios(cli_json(ex(), tmp_path, "--vol-shock", "BTC=-20%"), vol_mult=0.8)


def test_the_unit_delta_is_the_derivative_of_usd_equity(tmp_path: Path) -> None:
    """The unit's ``delta`` = dE/dm at m = 0 (§6.4), by a central difference of the E(m) of the rebuild:
    E(m) = 0.3 S + 30,000 (1/95,000 − 1/(97,100 (1+m))) S + options, S = 97,000 (1+m)."""
    doc = cli_json(ex(), tmp_path)

    def e(m: float) -> float:
        s = 97000 * (1 + m)
        opts = -2 * b76(s, 100000, T_EX, 0.52, True) + 2 * b76(s, 90000, T_EX, 0.58, False)
        return 0.3 * s + 30000 * (1 / 95000 - 1 / (97100 * (1 + m))) * s + opts

    h = 1e-5
    want = (e(h) - e(-h)) / (2 * h)
    (unit,) = doc["modes"]["portfolio"]["pools"][0]["risk_units"]
    assert unit["delta"] == pytest.approx(want, rel=1e-6)
    assert round(want, 2) == pytest.approx(-88266.24, abs=0.02)
