"""Cached computations of the pages: pure functions of the portfolio's JSON text, with bounded caches.

``st.cache_data`` is shared by every session of the server and keyed by the arguments, so nothing
secret is ever passed here (keys stay in the session; ``dashboard/import_panel.py``). Each function
returns a typed, frozen result (``dashboard.results`` or ``margin.whatif``).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.results import CascadeReport, Report, StressReport, stress_reports
from dashboard.samples import load_sample
from margin import Portfolio, dump_portfolio_json, evaluate_portfolio, parse_portfolio_json, resolve
from margin.marketdata import PriceHistory, load_daily_closes
from margin.scenarios import DEFAULT_WINDOW_DAYS, ShockSet, evaluate_shock_set, market_sweep
from margin.shocks import parse_shock
from margin.whatif import FrontierMap, MarketPools, frontier_map, market_pools, shifted_marks


@st.cache_data(max_entries=64, show_spinner=False)
def parse_cached(text: str) -> Portfolio:
    """The portfolio of a canonical JSON text (validated by the core)."""
    return parse_portfolio_json(text, "portfolio")


@st.cache_data(max_entries=16, show_spinner=False)
def sample_text(name: str) -> str:
    """A bundled sample as canonical JSON text."""
    return dump_portfolio_json(load_sample(name))


def shipped_history() -> PriceHistory:
    """The shipped daily closes of the last year (the window betas and volatilities are estimated on)."""
    return load_daily_closes().window(DEFAULT_WINDOW_DAYS + 1)


@st.cache_data(max_entries=64, show_spinner=False)
def evaluate_cached(text: str, shocks: tuple[str, ...] = ()) -> Report:
    """Every view after ``shocks`` (``TARGET=MOVE`` strings, format §4)."""
    return Report.from_doc(evaluate_portfolio(parse_cached(text), [parse_shock(s) for s in shocks]))


@st.cache_data(max_entries=64, show_spinner=False)
def shock_set_cached(text: str, market_move: float, betas: tuple[tuple[str, float], ...]) -> Report:
    """Every view after a market move (each asset ``β × market_move``, with these betas)."""
    shock_set = ShockSet(market_move=market_move if market_move != 0.0 else None, betas=dict(betas))
    return Report.from_doc(evaluate_shock_set(resolve(parse_cached(text)), shock_set))


@st.cache_data(max_entries=32, show_spinner=False)
def market_sweep_cached(text: str, lo: float, hi: float, n: int, betas: tuple[tuple[str, float], ...]) -> MarketPools:
    """Equity and maintenance per pool of each view along ``n`` market moves from ``lo`` to ``hi`` (the Shock
    lab chart; the betas of a :class:`margin.whatif.BetaChoice`)."""
    sweep = market_sweep(resolve(parse_cached(text)), np.linspace(lo, hi, n), betas_given=dict(betas))
    return market_pools(sweep)


@st.cache_data(max_entries=64, show_spinner=False)
def shifted_text(text: str, asset_moves: tuple[tuple[str, float], ...]) -> str:
    """The portfolio with the marks of every symbol of each base asset moved (a new base for the lab)."""
    prices = shifted_marks(resolve(parse_cached(text)).marks, dict(asset_moves))
    if not prices:
        return text
    return dump_portfolio_json(parse_cached(text).with_prices(prices))


@st.cache_data(max_entries=16, show_spinner=False)
def frontier_cached(text: str, x: str, y: str, steps: int, range_: float) -> FrontierMap:
    """Worst-pool margin ratio of each view over the grid of joint moves of ``x`` and ``y``."""
    from margin.frontier import frontier

    return frontier_map(frontier(resolve(parse_cached(text)), x, y, steps=steps, range_=range_))


@st.cache_data(max_entries=16, show_spinner=False)
def stress_all_cached(text: str, measure: str) -> tuple[StressReport, ...]:
    """Every crash preset applied to the portfolio."""
    from margin.crashes import list_presets, stress

    resolved = resolve(parse_cached(text))
    presets = list_presets()
    docs = [stress(resolved, p["name"], measure) for p in presets]
    return stress_reports(docs, {p["name"]: p["btc_move"] for p in presets})


@st.cache_data(max_entries=32, show_spinner=False)
def cascade_cached(text: str, target: str, move: float, impact: str, strength: float) -> CascadeReport:
    """The liquidation cascade of ``target`` moving ``move``, with or without price impact."""
    from margin.contagion import cascade

    result = cascade(resolve(parse_cached(text)), {target: move}, impact=impact, params={"strength": strength})
    return CascadeReport.from_result(result)
