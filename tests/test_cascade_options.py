"""The cascade with options (issue 11, format §6): option pools, their crossing, their liquidation, the portfolio
view along the path, ``--vol-shock`` / ``--days``, and books without options unchanged.

The reference values are computed here from the formulas of format §6.2-6.3 (Black-76 with ``math.erf``) or
checked against the evaluation engine (``margin.report.evaluate_portfolio``), never copied from the cascade.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from margin import resolve
from margin.cli import main
from margin.contagion import cascade
from margin.errors import PortfolioError
from margin.files import load_portfolio
from margin.portfolio import portfolio_from_dict
from margin.report import evaluate_portfolio
from margin.shocks import Shock

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20T08:00:00Z"
T = 35 / 365  # 2026-11-20 08:00 → 2026-12-25 08:00 (expiry 08:00 UTC, format §6.1)
CALL = "BTC/USD:BTC-261225-100000-C"
PERP = {"id": "perp long", "symbol": "BTC/USD:BTC", "side": "long", "contracts": 1000, "contract_size": 10,
        "entry_price": 100000.0}  # fmt: skip


def ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def call_coin(f: float, k: float, iv: float, t: float = T) -> float:
    """Black-76 call per unit in BTC (format §6.2: F·N(d1) − K·N(d2), ÷ F when coin-settled)."""
    s = iv * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * s * s) / s
    return (f * ncdf(d1) - k * ncdf(d1 - s)) / f


def f_star(target: float, iv: float = 0.5, t: float = T) -> float:
    """The forward where the call is worth ``target`` BTC per unit (bisection on the formula)."""
    lo, hi = 50000.0, 200000.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if call_coin(mid, 100000.0, iv, t) < target else (lo, mid)
    return 0.5 * (lo + hi)


def book(btc: float, extra: list[dict[str, Any]] | None = None, contracts: float = 1.0) -> dict[str, Any]:
    return {
        "format": "margin-portfolio/1",
        "venue": "deribit",
        "as_of": AS_OF,
        "collateral": {"BTC": btc},
        "index_prices": {"BTC": 100000.0},
        "prices": {"BTC/USD:BTC": 100000.0},
        "positions": [
            *(extra or []),
            {
                "id": "short call",
                "symbol": CALL,
                "side": "short",
                "contracts": contracts,
                "entry_price": 0.05,
                "iv": 0.5,
            },
        ],
    }


def btc_pool(doc: dict[str, Any], view: str = "cross") -> dict[str, Any]:
    (p,) = [p for p in doc["modes"][view]["pools"] if p["settle"] == "BTC" and p["mode"] == "cross"]
    return p


def at_trigger(p: dict[str, Any]) -> bool:
    return abs(p["equity"] - p["maintenance_margin"]) <= 1e-9 * (abs(p["equity"]) + p["maintenance_margin"])


# ----------------------------------------------------------------------------- (1) a short call alone


def test_a_short_call_alone_is_closed_where_equity_meets_maintenance() -> None:
    # Deribit, 0.3 BTC, short 1 call K = 100,000, iv 0.5, T = 35/365, F = 100,000 (coin-settled). Per unit
    # c = C/F in BTC. Equity = 0.3 − c; maintenance (§6.3, ÷ S when coin-settled) = 0.075 + c. Trigger:
    # 0.3 − c ≤ 0.075 + c, i.e. c ≥ 0.1125. At the start c ≈ 0.0617 (ATM: σ√T = 0.5·√(35/365) = 0.15483,
    # N(0.0774) − N(−0.0774)): healthy; c grows with F, the walk up crosses at F* with c(F*) = 0.1125.
    assert 0.0617 < call_coin(100000.0, 100000.0, 0.5) < 0.0618
    fs = f_star(0.1125)
    res = resolve(portfolio_from_dict(book(0.3)))
    body = cascade(res, ["ALL=+30%"], views=("cross",)).to_dict()["modes"]["cross"]
    assert [(s["event"], s["position"], s["symbol"]) for s in body["steps"]] == [("liquidated", "short call", CALL)]
    step = body["steps"][0]
    assert step["price"] == pytest.approx(fs, rel=1e-9)
    assert step["move"] == pytest.approx(fs / 100000.0 - 1.0, rel=1e-8)
    assert at_trigger(btc_pool(evaluate_portfolio(res, [Shock("ALL", step["move"])])))
    # closed at its value: the wallet pays c* = 0.1125, equity unchanged 0.3 − 0.1125 = 0.1875
    assert step["equity_before"] == pytest.approx(0.1875, rel=1e-9)
    assert step["equity_after"] == pytest.approx(step["equity_before"], abs=1e-15)
    assert step["collateral_left"] == pytest.approx(0.1875, rel=1e-9)
    assert step["realized_pnl"] == pytest.approx(-0.1125 + 0.05, rel=1e-8)  # −value − (−entry premium 0.05)
    assert step["fee"] == 0.0 and step["maintenance_after"] == 0.0
    assert body["positions_lost"] == 1 and body["positions_open"] == 0
    start = 0.3 - call_coin(100000.0, 100000.0, 0.5)
    assert body["collateral_start"] == pytest.approx(start, rel=1e-12)
    assert body["loss"] == pytest.approx(start - 0.1875, rel=1e-8)


def test_the_portfolio_view_closes_the_account_where_its_equity_meets_maintenance() -> None:
    # the book of the test above: the USD equity (0.3 BTC − the call, × the BTC price) against 0.8 × the worst
    # scenario loss (+16 %, vol up) + 0.01 × S contingency; the view meets its trigger on the way up
    res = resolve(portfolio_from_dict(book(0.3)))
    out = cascade(res, ["ALL=+30%"]).to_dict()
    assert list(out["modes"]) == ["cross", "isolated", "as_is", "portfolio"]
    pm = out["modes"]["portfolio"]
    assert pm["amplification"] is None
    (step,) = pm["steps"]
    assert step["position"] is None and step["event"] == "liquidated" and step["settle"] == "USD"
    view = evaluate_portfolio(res, [Shock("ALL", step["move"])])["modes"]["portfolio"]["pools"][0]
    assert at_trigger(view)
    before = evaluate_portfolio(res, [Shock("ALL", step["move"] - 1e-6)])["modes"]["portfolio"]["pools"][0]
    assert before["equity"] > before["maintenance_margin"]
    assert step["equity_before"] == pytest.approx(view["equity"], rel=1e-9)
    assert pm["collateral_left"] == step["collateral_left"] == step["equity_after"]
    assert pm["positions_lost"] == 1 and pm["positions_open"] == 0
    start = evaluate_portfolio(res, [])["modes"]["portfolio"]["pools"][0]["equity"]
    assert pm["collateral_start"] == pytest.approx(start, rel=1e-12)
    assert pm["loss"] == pytest.approx(start - pm["collateral_left"], rel=1e-12)


# ----------------------------------------------------------------------------- (2) a future and a short call


def test_the_option_is_closed_first_and_the_pool_is_healthy_again() -> None:
    # 0.3 BTC, long 10,000 USD of the inverse perpetual, short 1 call. At the start equity 0.3 − 0.0617 = 0.238 >
    # MM 0.075 + 0.0617 + the perpetual's (about 0.5 % of 0.1 BTC). Up the walk the call loses faster than the
    # perpetual gains (its PnL 10,000·(1/100,000 − 1/F) < 0.1 BTC). At the crossing equity = MM_fut + MM_opt;
    # closing the call at its value keeps the equity and releases MM_opt = 0.075 + c > 0: equity > MM_fut, the
    # pool is healthy again and the perpetual stays open (a long gains on the way up).
    res = resolve(portfolio_from_dict(book(0.3, [PERP])))
    body = cascade(res, ["ALL=+30%"], views=("cross",)).to_dict()["modes"]["cross"]
    assert [(s["event"], s["position"]) for s in body["steps"]] == [("liquidated", "short call")]
    step = body["steps"][0]
    assert step["equity_after"] > step["maintenance_after"] > 0.0
    assert body["positions_open"] == 1 and body["positions_lost"] == 1
    assert at_trigger(btc_pool(evaluate_portfolio(res, [Shock("ALL", step["move"])])))
    only_perp = dict(book(0.3), positions=[PERP])
    fut = btc_pool(evaluate_portfolio(resolve(portfolio_from_dict(only_perp)), [Shock("ALL", step["move"])]))
    assert step["maintenance_after"] == pytest.approx(fut["maintenance_margin"], rel=1e-9)


def test_after_a_gap_past_bankruptcy_the_future_follows_the_option() -> None:
    # 0.205 BTC, the same perpetual and call, +30 % at once (--gap). Start: equity 0.205 − 0.0617 = 0.1433 >
    # MM 0.075 + 0.0617 + ≈0.0005 = 0.1372: healthy. At F = 130,000 (c = 0.23328): equity 0.205 +
    # 10,000·(1/100,000 − 1/130,000) − 0.23328 = 0.205 + 0.023077 − 0.23328 = −0.0052 < 0: the call is closed
    # (bankrupt), the pool is still past its trigger and the perpetual follows; the insurance fund takes −equity.
    equity = 0.205 + 10000.0 * (1 / 100000.0 - 1 / 130000.0) - call_coin(130000.0, 100000.0, 0.5)
    assert equity < 0.0
    res = resolve(portfolio_from_dict(book(0.205, [PERP])))
    body = cascade(res, ["ALL=+30%"], views=("cross",), params={"gap": True}).to_dict()["modes"]["cross"]
    assert [(s["event"], s["position"]) for s in body["steps"]] == [
        ("bankrupt", "short call"),
        ("bankrupt", "perp long"),
    ]
    assert body["steps"][0]["equity_before"] == pytest.approx(equity, rel=1e-9)
    assert body["insurance_fund"] == pytest.approx(-equity, rel=1e-9)
    assert body["positions_lost"] == 2 and body["collateral_left"] == 0.0


# ----------------------------------------------------------------------------- (4) --vol-shock, --days, bad input


def _first_move(res: Any, **kw: Any) -> float:
    body = cascade(res, ["ALL=+30%"], views=("cross",), **kw).to_dict()["modes"]["cross"]
    return float(body["steps"][0]["move"])


def test_vol_shock_and_days_move_the_first_trigger() -> None:
    # the call's value grows with the volatility and shrinks with time: the trigger c(F*) = 0.1125 is met at a
    # lower F with iv 0.5 × 1.5 = 0.75, at a higher F with 20 days passed (T = 15/365)
    res = resolve(portfolio_from_dict(book(0.3)))
    base = _first_move(res)
    up = _first_move(res, vol_shocks=["BTC=+50%"])
    later = _first_move(res, days=20.0)
    assert up < base < later
    assert up == pytest.approx(f_star(0.1125, 0.75) / 100000.0 - 1.0, rel=1e-8)
    assert later == pytest.approx(f_star(0.1125, 0.5, 15 / 365) / 100000.0 - 1.0, rel=1e-8)
    out = cascade(res, ["ALL=+30%"], vol_shocks=["BTC=+50%"], days=20.0).to_dict()
    assert out["vol_shock"] == {"BTC": 0.5} and out["days"] == 20.0


def test_the_command_line_takes_the_option_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book(0.3)), encoding="utf-8")
    rc = main(["cascade", str(path), "--shock", "ALL=+30%", "--vol-shock", "ALL=+50%", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["vol_shock"] == {"BTC": 0.5}
    res = resolve(portfolio_from_dict(book(0.3)))
    assert doc["modes"]["cross"]["steps"][0]["move"] == pytest.approx(_first_move(res, vol_shocks=["BTC=+50%"]))
    rc = main(["cascade", str(path), "--shock", "ALL=+30%", "--format", "table"])
    assert rc == 0 and "== portfolio ==" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--vol-shock", "BTC=-100%"], ["--vol-shock"]),
        (["--vol-shock", "BTC"], ["--vol-shock", "TARGET=MOVE"]),
        (["--days", "-1"], ["--days"]),
    ],
)
def test_bad_option_flags_give_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needles: list[str]
) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book(0.3)), encoding="utf-8")
    try:
        rc = main(["cascade", str(path), "--shock", "ALL=+30%", *extra])
    except SystemExit as stop:  # argparse refuses a bad --days itself (exit 2)
        rc = int(stop.code or 0)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_option_flags_on_a_book_without_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "fixtures" / "portfolios" / "btc-long.json"
    rc = main(["cascade", str(path), "--shock", "ALL=-30%", "--vol-shock", "ALL=+10%"])
    assert rc == 2 and "--vol-shock needs an option in the portfolio" in capsys.readouterr().err
    res = resolve(load_portfolio(path))
    with pytest.raises(PortfolioError, match="--days needs an option"):
        cascade(res, ["ALL=-30%"], days=3.0)
    with pytest.raises(PortfolioError, match="views must be a non-empty list"):
        cascade(res, ["ALL=-30%"], views=("nope",))
