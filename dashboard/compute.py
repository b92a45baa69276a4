"""Cached computations of the pages: pure functions of the portfolio's JSON text, with bounded caches.

``st.cache_data`` is shared by every session of the server and keyed by the arguments, so nothing
secret is ever passed here (keys stay in the session; ``dashboard/import_panel.py``). Each function
returns a typed, frozen result (``dashboard.results`` or ``margin.whatif``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import streamlit as st

from dashboard.charts import (
    VIEW_TITLES,
    PoolLine,
    cross_pool_color,
    pools_vs_move,
    position_colors,
)
from dashboard.options_view import PnlCurves, pnl_curves
from dashboard.results import CascadeReport, Report, StressReport, stress_reports
from dashboard.samples import load_sample
from margin import Portfolio, Resolved, dump_portfolio_json, evaluate_portfolio, parse_portfolio_json, resolve
from margin.distance import AccountDistance, account_distance
from margin.marketdata import PriceHistory, load_daily_closes
from margin.scenarios import DEFAULT_WINDOW_DAYS, ShockSet, evaluate_shock_set, market_sweep
from margin.shocks import Shock, parse_shock
from margin.whatif import (
    FrontierMap,
    MarketPools,
    chart_pools,
    frontier_map,
    market_pools,
    shifted_marks,
)


@st.cache_data(max_entries=64, show_spinner=False)
def parse_cached(text: str) -> Portfolio:
    """The portfolio of a canonical JSON text (validated by the core)."""
    return parse_portfolio_json(text, "portfolio")


@st.cache_resource(max_entries=16, show_spinner=False)
def resolved_cached(text: str) -> Resolved:
    """The resolved portfolio of a canonical JSON text. A resource (shared, not copied per call): a
    ``Resolved`` is frozen and its cached arrays are read-only, so every page and session may share it."""
    return resolve(parse_cached(text))


@st.cache_data(max_entries=16, show_spinner=False)
def sample_text(name: str) -> str:
    """A bundled sample as canonical JSON text."""
    return dump_portfolio_json(load_sample(name))


def shipped_history() -> PriceHistory:
    """The shipped daily closes of the last year (the window betas and volatilities are estimated on)."""
    return load_daily_closes().window(DEFAULT_WINDOW_DAYS + 1)


#: the views of format §4 the standard pages show (the ``portfolio`` view of §6.4 has the Options page)
STANDARD_VIEWS = ("as_is", "cross", "isolated")


def standard_report(doc: dict[str, Any]) -> Report:
    """The ``evaluate`` document as a :class:`Report` of the three standard views: the ``portfolio`` view
    (§6.4, USD, no per-position margins) is read by the Options page from the document itself."""
    return Report.from_doc({**doc, "modes": {v: b for v, b in doc["modes"].items() if v in STANDARD_VIEWS}})


@st.cache_data(max_entries=64, show_spinner=False)
def evaluate_cached(text: str, shocks: tuple[str, ...] = ()) -> Report:
    """Every standard view after ``shocks`` (``TARGET=MOVE`` strings, format §4)."""
    return standard_report(evaluate_portfolio(parse_cached(text), [parse_shock(s) for s in shocks]))


@st.cache_data(max_entries=64, show_spinner=False)
def evaluate_doc_cached(
    text: str, shocks: tuple[str, ...] = (), vol_shocks: tuple[tuple[str, float], ...] = (), days: float = 0.0
) -> dict[str, Any]:
    """The whole ``evaluate`` document (the four views, §6) after ``shocks``, the options' volatility shocks
    (``(target, move)``, §6.5 ``--vol-shock``) and ``days`` forward (``--days``)."""
    return evaluate_portfolio(
        resolved_cached(text),
        [parse_shock(s) for s in shocks],
        vol_shocks=[Shock(t, m) for t, m in vol_shocks],
        days=days,
    )


@st.cache_data(max_entries=16, show_spinner=False)
def pnl_curves_cached(text: str, base: str) -> PnlCurves:
    """The Options page's PnL of the book across ``base``'s move, today and at the last expiry."""
    return pnl_curves(resolved_cached(text), base)


@st.cache_data(max_entries=32, show_spinner=False)
def distance_cached(text: str, betas: tuple[tuple[str, float], ...] | None = None) -> AccountDistance:
    """The market moves that liquidate each view's first pool and whole account: every price alike
    (``betas`` None) or BTC with each asset at its β (the pairs of a :class:`margin.whatif.BetaChoice`)."""
    return account_distance(resolved_cached(text), None if betas is None else dict(betas))


@st.cache_data(max_entries=64, show_spinner=False)
def shock_set_cached(text: str, market_move: float, betas: tuple[tuple[str, float], ...]) -> Report:
    """Every view after a market move (each asset ``β × market_move``, with these betas)."""
    shock_set = ShockSet(market_move=market_move if market_move != 0.0 else None, betas=dict(betas))
    return Report.from_doc(evaluate_shock_set(resolved_cached(text), shock_set))


def move_grid(limit: float, step: float) -> npt.NDArray[np.float64]:
    """The moves a slider from −``limit`` to +``limit`` in steps of ``step`` (fractions) can take:
    ``k × step`` computed as ``k / (1 / step)``, so a slider value ``v`` % gives exactly ``v / 100``."""
    per_unit = round(1.0 / step)
    n = round(limit * per_unit)
    return np.arange(-n, n + 1, dtype=np.float64) / float(per_unit)


@st.cache_resource(max_entries=8, show_spinner=False)
def market_grid_cached(text: str, limit: float, step: float, betas: tuple[tuple[str, float], ...]) -> MarketPools:
    """Equity and maintenance per pool of each view at every move of the Shock lab's slider (each asset
    ``β × m``, the betas of a :class:`margin.whatif.BetaChoice`): computed once per portfolio and betas,
    read at the slider's move. A resource (shared, not copied per call): never mutated."""
    sweep = market_sweep(resolved_cached(text), move_grid(limit, step), betas_given=dict(betas))
    return market_pools(sweep)


@st.cache_data(max_entries=64, show_spinner=False)
def market_point_cached(text: str, move: float, betas: tuple[tuple[str, float], ...]) -> MarketPools:
    """The same at one market move (a move off the slider's grid, e.g. from a link)."""
    return market_pools(market_sweep(resolved_cached(text), np.array([move]), betas_given=dict(betas)))


@st.cache_resource(max_entries=8, show_spinner=False)
def pools_chart_cached(
    text: str, limit: float, step: float, betas: tuple[tuple[str, float], ...], settle: str
) -> go.Figure:
    """The Shock lab's pools chart of one settle asset, without a move marker: built once per portfolio,
    betas and settle asset, and drawn unchanged while the slider moves (only :func:`dashboard.charts.move_ruler_html`
    changes; an unchanged figure is not redrawn by the browser). A resource (shared, not copied): never
    mutated (``st.plotly_chart`` serialises a copy).
    Each view draws its cross pools and the isolated pools a move liquidates first, and counts the
    others (:func:`margin.whatif.chart_pools`); every position keeps its colour
    (:func:`dashboard.charts.position_colors`)."""
    grid = market_grid_cached(text, limit, step, betas)
    colors = position_colors(grid.ids)
    settles = grid.settles()
    panels: dict[str, list[PoolLine]] = {}
    notes: dict[str, str] = {}
    for view, pools in grid.views.items():
        chosen = chart_pools(grid.moves, [p for p in pools if p.settle == settle])
        lines = [
            PoolLine(
                p.label,
                p.equity,
                p.maintenance,
                cross_pool_color(settles.index(p.settle)) if p.mode == "cross" else colors[p.label],
            )
            for p in chosen.shown
        ]
        panels[VIEW_TITLES[view]] = lines
        if chosen.hidden:
            reach = (
                "none liquidated here"
                if not np.isfinite(chosen.hidden_reach)
                else f"nearest trigger ±{100 * chosen.hidden_reach:.1f} %"
            )
            notes[VIEW_TITLES[view]] = f"+{chosen.hidden} isolated pools not drawn ({reach})"
    return pools_vs_move(grid.moves, panels, settle, notes=notes, titles=False)


@st.cache_data(max_entries=64, show_spinner=False)
def shifted_text(text: str, asset_moves: tuple[tuple[str, float], ...]) -> str:
    """The portfolio with the marks of every symbol of each base asset moved (a new base for the lab), without
    its orders: a move past a stop or take-profit would make it fire at once, which the reader refuses (format
    §7), and the lab's figures are those with the orders unfilled (§7 ``evaluate``) either way."""
    prices = shifted_marks(resolved_cached(text).marks, dict(asset_moves))
    if not prices:
        return text
    return dump_portfolio_json(replace(parse_cached(text).with_prices(prices), orders=()))


@st.cache_data(max_entries=16, show_spinner=False)
def frontier_cached(text: str, x: str, y: str, steps: int, range_: float) -> FrontierMap:
    """Worst-pool margin ratio of each view over the grid of joint moves of ``x`` and ``y``."""
    from margin.frontier import frontier

    return frontier_map(frontier(resolved_cached(text), x, y, steps=steps, range_=range_))


@st.cache_data(max_entries=16, show_spinner=False)
def stress_all_cached(text: str, measure: str) -> tuple[StressReport, ...]:
    """Every crash preset applied to the portfolio."""
    from margin.crashes import list_presets, stress

    resolved = resolved_cached(text)
    presets = list_presets()
    docs = [stress(resolved, p["name"], measure) for p in presets]
    return stress_reports(docs, {p["name"]: p["btc_move"] for p in presets})


@st.cache_data(max_entries=32, show_spinner=False)
def cascade_cached(text: str, target: str, move: float, impact: str, strength: float) -> CascadeReport:
    """The liquidation cascade of ``target`` moving ``move``, with or without price impact."""
    from margin.contagion import cascade

    result = cascade(resolved_cached(text), {target: move}, impact=impact, params={"strength": strength})
    return CascadeReport.from_result(result)
