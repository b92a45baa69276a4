"""Contagion that explains itself (issue 10, item 6): the loss split into the market move and each
liquidation's own cost, the order-book depth of the impact law, the waterfall chart, the CLI's ``--depth``
and the probability written as a percentage with its interval.

Every expected figure is worked by hand in the comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashboard import charts
from margin import load_portfolio, portfolio_from_dict, resolve
from margin.cascade_depth import BTC_DEPTH_1PCT, depth_1pct, parse_depths
from margin.cascade_impact import FALLBACK_DAILY_VOLUME, default_depths_1pct, impact_model
from margin.cascade_params import CascadeParams
from margin.cascade_results import WaterfallBar
from margin.cli import main
from margin.contagion import cascade
from margin.errors import PortfolioError
from margin.loader import default_daily_volumes

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "fixtures" / "portfolios").glob("*.json"))
BTC_LONG = ROOT / "fixtures" / "portfolios" / "btc-long.json"
MIXED = ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json"


def _one_long() -> dict[str, Any]:
    """1 BTC long at 100,000, isolated with 10,900 USDT, generic venue, one tier: MMR 1 %, no maintenance
    amount. Liquidation price: equity = maintenance ⇔ 10,900 + (P − 100,000) = 0.01 × P ⇔ 0.99 P = 89,100
    ⇔ P = 90,000."""
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 10900.0},
        "prices": {"BTC/USDT:USDT": 100000.0},
        "tiers": {
            "BTC/USDT:USDT": [
                {"min_notional": 0, "max_notional": 1e12, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0}
            ]
        },
        "positions": [
            {
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 1,
                "entry_price": 100000.0,
                "leverage": 10,
                "margin_mode": "isolated",
                "isolated_margin": 10900.0,
            }
        ],
    }


FULL_CLOSE = {"partial": False, "fee": 0.005}


def test_hand_worked_waterfall_separates_the_market_move_from_the_liquidation() -> None:
    """BTC −20 % (to 80,000), full close, 0.5 % liquidation fee.

    - start: 10,900 (the isolated margin, no PnL at the entry price);
    - the walk reaches the trigger at 90,000: equity 10,900 − 1 × (100,000 − 90,000) = 900 = maintenance
      0.01 × 90,000. Market move = 900 − 10,900 = −10,000: the equity lost with no liquidation at all
      down to 90,000, 1 × (90,000 − 100,000);
    - the liquidation closes 1 BTC at 90,000: fee 0.005 × 90,000 = 450 (under the equity of 900, not
      capped); its own cost is 450 − 900 = −450 (the pool's equity after − before, at 90,000);
    - the position is gone, so the fall from 90,000 to 80,000 costs nothing more: left 450.
    Bars: 10,900 − 10,000 − 450 = 450, the end bar exactly.
    """
    res = resolve(portfolio_from_dict(_one_long()))
    view = cascade(res, {"BTC": -0.2}, params=FULL_CLOSE, views=("as_is",)).modes["as_is"]
    (step,) = view.steps
    assert step.event == "liquidated" and step.price == pytest.approx(90000.0)
    assert step.fee == pytest.approx(450.0) and step.liquidation_cost == pytest.approx(-450.0)
    bars = view.waterfall()
    assert bars is not None
    assert [b.kind for b in bars] == ["start", "market", "liquidation", "end"]
    assert [b.value for b in bars] == pytest.approx([10900.0, -10000.0, -450.0, 450.0])
    assert bars[0].value + sum(b.value for b in bars[1:-1]) == pytest.approx(bars[-1].value, abs=1e-9)
    # the market-move bar is the no-liquidation equity loss down to the trigger: 1 × (90,000 − 100,000)
    no_liquidation_loss = 1.0 * (step.price - 100000.0)
    assert view.market_move == pytest.approx(no_liquidation_loss)
    assert view.price_impact == 0.0  # no impact law: no impact bar
    doc = cascade(res, {"BTC": -0.2}, params=FULL_CLOSE, views=("as_is",)).to_dict()["modes"]["as_is"]
    assert doc["market_move"] == pytest.approx(-10000.0)
    assert doc["steps"][0]["liquidation_cost"] == pytest.approx(-450.0)


def test_without_liquidation_the_market_bar_is_the_whole_equity_change() -> None:
    """BTC −5 % (to 95,000), above the 90,000 trigger: nothing is liquidated; market move =
    1 × (95,000 − 100,000) = −5,000 = the equity change at the shocked price; left 10,900 − 5,000 = 5,900."""
    res = resolve(portfolio_from_dict(_one_long()))
    view = cascade(res, {"BTC": -0.05}, params=FULL_CLOSE, views=("as_is",)).modes["as_is"]
    assert view.steps == ()
    bars = view.waterfall()
    assert bars is not None and [b.kind for b in bars] == ["start", "market", "end"]
    assert [b.value for b in bars] == pytest.approx([10900.0, -5000.0, 5900.0])


def test_a_capped_fee_costs_the_whole_remaining_equity() -> None:
    """Same long, fee 2 %: at 90,000 the fee would be 1,800 > the 900 of equity: capped at 900, the pool is
    left at 0 (``bankrupt`` follows with no position left). Bars: 10,900 − 10,000 − 900 = 0."""
    res = resolve(portfolio_from_dict(_one_long()))
    view = cascade(res, {"BTC": -0.2}, params={"partial": False, "fee": 0.02}, views=("as_is",)).modes["as_is"]
    bars = view.waterfall()
    assert bars is not None
    assert view.market_move == pytest.approx(-10000.0)
    assert sum(b.value for b in bars if b.kind == "liquidation") == pytest.approx(-900.0)
    assert bars[-1].value == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("law", ["none", "linear", "sqrt"])
def test_the_bars_add_up_exactly_on_every_sample(path: Path, law: str) -> None:
    res = resolve(load_portfolio(path))
    out = cascade(res, {"ALL": -0.3}, impact=law)
    for view in out.modes.values():
        bars = view.waterfall()
        if bars is None:  # pools of settle assets that cannot be added
            assert view.collateral_left is None
            continue
        total = bars[0].value + sum(b.value for b in bars[1:-1])
        assert total == pytest.approx(bars[-1].value, abs=1e-6 * max(1.0, abs(bars[0].value)))
        # one bar per liquidation; an order fill (format §7, a sample with orders) is no liquidation: no bar
        assert len([b for b in bars if b.kind == "liquidation"]) == len([s for s in view.steps if not s.is_order])
        assert all(b.value <= 1e-9 for b in bars if b.kind == "liquidation" and b.event != "bankrupt")


def test_default_depth_is_the_assumed_order_book_depth() -> None:
    """BTC: half of the 16.53 M USD within 1 % of mid (Amberdata, Binance BTC/FDUSD): 8.265 M per 1 %;
    another asset scales with its shipped daily volume; the linear book is written per 100 % move."""
    assert abs(BTC_DEPTH_1PCT - 8.265e6) < 1e-6
    volumes = default_daily_volumes()
    d = default_depths_1pct(["BTC", "ETH", "WIF"])
    assert d["BTC"] == pytest.approx(8.265e6)
    assert d["ETH"] == pytest.approx(8.265e6 * volumes["ETH"] / volumes["BTC"])
    assert d["WIF"] == pytest.approx(8.265e6 * FALLBACK_DAILY_VOLUME / volumes["BTC"])  # no shipped volume
    assert depth_1pct("BTC", {}, FALLBACK_DAILY_VOLUME) == BTC_DEPTH_1PCT
    model = impact_model(["BTC/USDT:USDT", "WIF/USDT:USDT"], "linear", CascadeParams())
    assert list(model.depth) == pytest.approx([100 * d["BTC"], 100 * d["WIF"]])
    described = model.describe()["per_base"]
    assert isinstance(described, dict) and described["BTC"]["depth_1pct"] == pytest.approx(d["BTC"])


def test_a_thin_book_amplifies_and_a_huge_one_does_not() -> None:
    """btc-long, ALL −30 %: the 0.6 BTC long is liquidated on the way; its forced sale is 67,889 USD
    (the notional at the fill). Linear book, ``D`` = flow / (100 × depth per 1 %):

    - 100,000 USD per 1 %: D = −67,889 / 1e7 = −0.679 %; final move (1 − 0.30)(1 − 0.00679) − 1 = −30.475 %;
      amplification 30.475 / 30 = 1.0158;
    - 1e13 USD per 1 %: D = −6.8e-9, amplification 1 + 2.3e-8 (none to speak of).
    """
    res = resolve(load_portfolio(BTC_LONG))
    thin = cascade(res, {"ALL": -0.3}, impact="linear", params={"depth": {"BTC": 100 * 1e5}})
    huge = cascade(res, {"ALL": -0.3}, impact="linear", params={"depth": {"BTC": 100 * 1e13}})
    flow = thin.modes["as_is"].flows["BTC/USDT:USDT"]
    assert flow == pytest.approx(-67889.447, rel=1e-6)
    d = flow / 1e7
    assert thin.modes["as_is"].impact["BTC/USDT:USDT"] == pytest.approx(d, rel=1e-6)
    assert thin.amplification == pytest.approx((0.7 * (1 + d) - 1) / -0.3, rel=1e-9)
    assert thin.amplification is not None and thin.amplification > 1.015
    assert huge.amplification is not None and huge.amplification == pytest.approx(1.0, abs=1e-7)


def test_a_thin_book_reaches_more_positions_on_a_larger_book() -> None:
    """book-200, ALL −10 %: at the default depths 7 positions are lost; at a tenth of them the forced
    sales push AVAX and its neighbours further and 2 more go (measured; never fewer)."""
    res = resolve(load_portfolio(ROOT / "fixtures" / "portfolios" / "book-200.json"))
    bases = sorted({leg.instrument.base.upper() for leg in res.legs})
    d = default_depths_1pct(bases)
    plain = cascade(res, {"ALL": -0.1}, views=("as_is",)).modes["as_is"]
    thin = cascade(
        res, {"ALL": -0.1}, impact="linear", params={"depth": {b: 10.0 * v for b, v in d.items()}}, views=("as_is",)
    ).modes["as_is"]
    assert thin.positions_lost > plain.positions_lost
    assert thin.positions_lost - thin.positions_lost_without_impact == thin.positions_lost - plain.positions_lost
    bars = thin.waterfall()
    assert bars is not None and [b.kind for b in bars].count("impact") == 1


def test_parse_depths_and_the_cli_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_depths(["BTC=8e6", "WIF = 250_000"]) == {"BTC": 8e8, "WIF": 2.5e7}
    with pytest.raises(PortfolioError, match=r"--depth must be ASSET=USD_PER_1%_MOVE"):
        parse_depths(["BTC=0"])
    with pytest.raises(PortfolioError, match=r"got 'BTC'"):
        parse_depths(["BTC"])
    args = ["cascade", str(BTC_LONG), "--shock", "ALL=-30%", "--impact", "linear", "--format", "json"]
    assert main([*args, "--depth", "BTC=100000"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["amplification"] == pytest.approx(1.0158, abs=1e-4)
    assert doc["impact_model"]["per_base"]["BTC"]["depth_1pct"] == pytest.approx(1e5)
    body = doc["modes"]["as_is"]
    assert {"market_move", "price_impact", "collateral_left_before_impact"} <= set(body)
    assert main([*args, "--depth", "BTC=-5"]) == 2
    assert "--depth must be" in capsys.readouterr().err


def test_waterfall_chart_draws_the_bars_as_given() -> None:
    """start 10,900; market −10,000; the liquidation −450; end 450 (Plotly's ``total``: y 0)."""
    bars = [
        WaterfallBar("start", 10900.0),
        WaterfallBar("market", -10000.0),
        WaterfallBar("liquidation", -450.0, "BTC long", "liquidated", -0.1, 450.0),
        WaterfallBar("impact", -25.0),
        WaterfallBar("end", 425.0),
    ]
    fig = charts.cascade_waterfall(bars, "USDT", "t")
    trace = fig.data[0]
    assert list(trace.y) == [10900.0, -10000.0, -450.0, -25.0, 0.0]
    assert list(trace.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(trace.x) == ["start", "market move", "1. liquidated: BTC long", "price impact", "left"]
    assert list(trace.text) == ["10,900.00", "-10,000.00", "-450.00", "-25.00", "425.00"]
    assert "fee 450.00 USDT" in trace.hovertext[2]


def test_probability_reads_as_a_percentage_with_its_interval() -> None:
    assert charts.percent_interval(0.9234, (0.901, 0.942)) == "92.3 % (90.1–94.2 %, 95 % interval)"
    assert charts.percent_interval(0.0, (0.0, 0.00074)) == "0.00 % (0.00–0.07 %, 95 % interval)"
    assert charts.percent_interval(1.0, (0.9992, 1.0)) == "100.0 % (99.9–100.0 %, 95 % interval)"
