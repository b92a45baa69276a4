"""The Options page's pure parts: the chart builders (tested on the figure objects), the figures picked out of
the core's document (dashboard.options_view), the calculator's option symbol and the editor's option columns,
on the worked example of portfolio-format.md §6.5."""

from __future__ import annotations

import copy
from datetime import date

import pandas as pd
import pytest

from dashboard.calculator import option_symbol
from dashboard.charts import option_pnl_chart, risk_matrix_heatmap
from dashboard.editing import (
    collateral_frame,
    index_prices_frame,
    portfolio_from_frames,
    portfolio_with_market,
    positions_frame,
    prices_frame,
)
from dashboard.options_view import (
    greeks_by_underlying,
    greeks_rows,
    pnl_curves,
    risk_matrices,
    view_margins,
)
from margin import PortfolioError, portfolio_from_dict, resolve
from margin.report import evaluate_portfolio
from tests.test_options_page import BOOK


def book():  # type: ignore[no-untyped-def]
    return portfolio_from_dict(copy.deepcopy(BOOK), "test book")


# ----------------------------------------------------------------------------- chart builders


def test_risk_matrix_heatmap_figure() -> None:
    """A 2-move × 3-state grid: x in %, z the grid as given, the ring on (row 1, column 0)."""
    fig = risk_matrix_heatmap("BTC", [-0.1, 0.1], ("up", "unchanged", "down"), [[1, 2], [-3, 4], [5, 6]], (1, 0))
    heat, ring = fig.data
    assert list(heat.x) == [-10.0, 10.0]
    assert heat.z.tolist() == [[1, 2], [-3, 4], [5, 6]]
    assert list(fig.layout.yaxis.ticktext) == ["up", "unchanged", "down"]
    assert list(ring.x) == [-10.0] and list(ring.y) == [1.0]
    assert heat.zmid == 0.0


def test_risk_matrix_heatmap_without_a_standard_worst_cell_has_no_ring() -> None:
    fig = risk_matrix_heatmap("ETH", [0.0], ("up", "unchanged", "down"), [[0.0], [0.0], [0.0]], None)
    assert len(fig.data) == 1


def test_option_pnl_chart_figure() -> None:
    fig = option_pnl_chart("BTC", [-0.5, 0.0, 0.5], [10.0, 0.0, -10.0], [20.0, 5.0, -30.0])
    today, expiry = fig.data
    assert list(today.x) == [-50.0, 0.0, 50.0] and list(today.y) == [10.0, 0.0, -10.0]
    assert list(expiry.y) == [20.0, 5.0, -30.0]
    assert (today.name, expiry.name) == ("today", "at expiry")


# ----------------------------------------------------------------------------- figures of the document


def test_risk_matrix_of_the_worked_example() -> None:
    """§6.5: worst scenario +16 % with vol up (row 0, column 8 of the moves −16 … +16 % in 4 % steps); scenario
    loss 17,245.84 + contingency 0.006 × 30,000 + 0.01 × 97,000 × 2 = 180 + 1,940 = 2,120.00 USD."""
    (m,) = risk_matrices(evaluate_portfolio(book()))
    assert m.moves == pytest.approx([k * 0.04 for k in range(-4, 5)])
    assert m.worst_cell == (0, 8)
    assert m.scenario_loss == pytest.approx(17245.84, abs=0.005)
    assert m.contingency == pytest.approx(2120.0, abs=1e-9)
    assert -m.pnl[0][8] == pytest.approx(m.scenario_loss)
    assert [e.move for e in m.extended] == [-0.66, -0.33, 0.5, 1, 2, 3, 4, 5]


def test_greeks_and_view_margins_of_the_worked_example() -> None:
    """The short call's delta −0.9134823, vega −238.2518, theta +176.9870 (§6.5); the per-underlying sums add the
    put's greeks to them; the portfolio view's IM 19,365.84 and MM 15,492.68 USD."""
    doc = evaluate_portfolio(book())
    call, put = greeks_rows(doc)
    assert call["delta"] == pytest.approx(-0.9134823, abs=1e-7)
    assert call["vega"] == pytest.approx(-238.2518, abs=1e-4)
    assert call["theta"] == pytest.approx(176.9870, abs=1e-4)
    assert call["days to expiry"] == pytest.approx(35.0)
    (btc,) = greeks_by_underlying(doc)
    assert btc["options delta"] == pytest.approx(float(call["delta"]) + float(put["delta"]))  # type: ignore[arg-type]
    assert btc["account delta (USD per 1 % move)"] == pytest.approx(-882.6624, abs=1e-4)  # −88,266.24 / 100
    (pm,) = [v for v in view_margins(doc) if v.view == "portfolio"]
    assert (pm.unit, round(pm.initial_margin, 2), round(pm.maintenance_margin, 2)) == ("USD", 19365.84, 15492.68)


def test_pnl_curves_of_the_worked_example() -> None:
    """Today at move 0: no change. At expiry at move 0 both options are out of the money (100,000 > 97,000 >
    90,000): the options' value −0.1017162 + 0.0775683 = −0.0241479 BTC × 97,000 = −2,342.35 USD goes. At +10 %
    (S = 106,700) the short call is 6,700 in the money: at expiry it costs its intrinsic −2 × 6,700 USD, today
    that plus its time value, so today's loss is the larger."""
    curves = pnl_curves(resolve(book()), "BTC", [0.0, 0.1])
    assert curves.expiry_days == pytest.approx(35.0)
    assert curves.today[0] == 0.0
    assert curves.at_expiry[0] == pytest.approx(2342.35, abs=0.01)
    assert curves.today[1] < curves.at_expiry[1] < 0


# ----------------------------------------------------------------------------- calculator symbol and editor


def test_option_symbol_is_ccxts() -> None:
    assert option_symbol("BTC", "coin", date(2026, 12, 25), 100000.0, True) == "BTC/USD:BTC-261225-100000-C"
    assert option_symbol("ETH", "USDC", date(2027, 1, 8), 3500.0, False) == "ETH/USDC:USDC-270108-3500-P"


def frames(p):  # type: ignore[no-untyped-def]
    return positions_frame(p), collateral_frame(p), prices_frame(p)


def test_editor_keeps_iv_as_of_and_index_prices() -> None:
    p = book()
    pos, coll, prices = frames(p)
    assert list(pos["iv"])[1:] == [0.52, 0.58]
    again = portfolio_from_frames(p, p.venue, p.position_mode, pos, coll, prices)
    assert again == p


def test_editor_names_a_bad_iv_row() -> None:
    p = book()
    pos, coll, prices = frames(p)
    pos.loc[1, "iv"] = 0.0
    with pytest.raises(PortfolioError, match=r"table row 2\.iv must be > 0, got 0"):
        portfolio_from_frames(p, p.venue, p.position_mode, pos, coll, prices)


def test_market_form_names_a_missing_as_of_and_an_expired_option() -> None:
    p = book()
    with pytest.raises(PortfolioError, match="as_of"):
        portfolio_with_market(p, "", index_prices_frame(p))
    with pytest.raises(PortfolioError, match="must not be expired"):
        portfolio_with_market(p, "2026-12-26T08:00:00Z", index_prices_frame(p))
    moved = portfolio_with_market(p, "2026-11-21T08:00:00Z", pd.DataFrame({"asset": ["BTC"], "usd_price": [98000.0]}))
    assert (moved.as_of, moved.index_prices) == ("2026-11-21T08:00:00Z", {"BTC": 98000.0})
