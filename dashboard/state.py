"""Session state shared by the pages, URL settings, and cached computations.

The current portfolio lives in ``st.session_state`` as canonical JSON text (so it survives moving
between pages and only a valid portfolio is ever stored: bad input leaves the last good one in force).
Page settings (shock values, chosen symbols, preset) live in the URL; positions and keys never do.
Heavy pure computations are cached with bounded ``st.cache_data`` keyed by that JSON text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from dashboard.samples import DEFAULT_SAMPLE, load_sample, sample_names
from margin import Portfolio, PortfolioError, dump_portfolio_json, evaluate_portfolio, parse_portfolio_json, resolve
from margin.scenarios import ShockSet, bases_of, evaluate_shock_set, market_sweep
from margin.shocks import parse_shock

KEY_DOC = "ml_portfolio_json"
KEY_SOURCE = "ml_portfolio_source"
KEY_SAMPLE = "ml_sample"
KEY_HISTORY = "ml_market_history"


@st.cache_data(max_entries=64, show_spinner=False)
def parse_cached(text: str) -> Portfolio:
    return parse_portfolio_json(text, "portfolio")


@st.cache_data(max_entries=16, show_spinner=False)
def sample_text(name: str) -> str:
    return dump_portfolio_json(load_sample(name))


def ensure_portfolio() -> None:
    """Load the default (or the URL's ``sample``) portfolio the first time a session opens a page."""
    if KEY_DOC in st.session_state:
        return
    wanted = st.query_params.get("sample")
    name = wanted if wanted in sample_names() else DEFAULT_SAMPLE
    if wanted is not None and wanted not in sample_names():
        st.warning(
            f"URL parameter sample must be one of {', '.join(sample_names())}, got {wanted!r}; "
            f"showing {DEFAULT_SAMPLE}."
        )
    set_portfolio_text(sample_text(name), f"sample: {name}", sample=name)


def set_portfolio_text(text: str, source: str, sample: str | None = None) -> None:
    st.session_state[KEY_DOC] = text
    st.session_state[KEY_SOURCE] = source
    st.session_state[KEY_SAMPLE] = sample
    if sample is not None:
        st.query_params["sample"] = sample
    elif "sample" in st.query_params:
        del st.query_params["sample"]


def set_portfolio(portfolio: Portfolio, source: str, sample: str | None = None) -> None:
    """Make ``portfolio`` (already validated) the current one."""
    set_portfolio_text(dump_portfolio_json(portfolio), source, sample)


def current_text() -> str:
    ensure_portfolio()
    return str(st.session_state[KEY_DOC])


def current_portfolio() -> Portfolio:
    return parse_cached(current_text())


def current_source() -> str:
    ensure_portfolio()
    return str(st.session_state.get(KEY_SOURCE, ""))


# --------------------------------------------------------------------------- URL settings


def url_float(key: str, default: float, lo: float, hi: float) -> float:
    """A number from the URL, within [lo, hi]; a bad value is reported and the default used."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and lo <= value <= hi):
        st.warning(f"URL parameter {key} must be a number from {lo:g} to {hi:g}, got {raw!r}; using {default:g}.")
        return default
    return value


def url_choice(key: str, options: Sequence[str], default: str) -> str:
    raw = st.query_params.get(key)
    if raw is None:
        return default
    if raw not in options:
        st.warning(f"URL parameter {key} must be one of {', '.join(options)}, got {raw!r}; using {default}.")
        return default
    return raw


def set_url(**values: Any) -> None:
    for key, value in values.items():
        text = f"{value:g}" if isinstance(value, float) else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


# --------------------------------------------------------------------------- cached computations


@st.cache_data(max_entries=64, show_spinner=False)
def evaluate_cached(text: str, shocks: tuple[str, ...] = ()) -> dict[str, Any]:
    return evaluate_portfolio(parse_cached(text), [parse_shock(s) for s in shocks])


@st.cache_data(max_entries=64, show_spinner=False)
def shock_set_cached(
    text: str,
    market_move: float,
    asset_moves: tuple[tuple[str, float], ...],
    use_betas: bool,
    betas: tuple[tuple[str, float], ...],
) -> dict[str, Any]:
    resolved = resolve(parse_cached(text))
    relative = tuple(parse_shock(f"{a}={m}") for a, m in asset_moves if m != 0.0)
    shock_set = ShockSet(
        relative=relative,
        market_move=market_move if market_move != 0.0 else None,
        betas=dict(betas) if use_betas else {a: 1.0 for a in bases_of(resolved)},
    )
    return evaluate_shock_set(resolved, shock_set)


@st.cache_data(max_entries=32, show_spinner=False)
def market_sweep_cached(
    text: str, lo: float, hi: float, n: int, use_betas: bool, betas: tuple[tuple[str, float], ...]
) -> dict[str, Any]:
    """Equity and maintenance per pool of each view along market moves (for the Shock lab chart)."""
    resolved = resolve(parse_cached(text))
    moves = np.linspace(lo, hi, n)
    sweep = market_sweep(resolved, moves, betas_given=dict(betas), use_betas=use_betas)
    out: dict[str, Any] = {"moves": moves, "views": {}}
    for view, ev in sweep.views.items():
        book = ev.book
        out["views"][view] = {
            "pool_settle": book.pool_settle,
            "pool_mode": book.pool_mode,
            "labels": [
                f"{book.pool_settle[g]} cross" if p is None else book.ids[p] for g, p in enumerate(book.pool_position)
            ],
            "equity": ev.pool_equity,
            "maintenance": ev.pool_maintenance,
            "liquidated": ev.pool_liquidated,
            "has_positions": np.bincount(book.pool, minlength=book.n_pools) > 0,
        }
    return out


def portfolio_error_lines(err: PortfolioError) -> list[str]:
    return [str(p) for p in err.problems]


@st.cache_data(max_entries=64, show_spinner=False)
def shifted_text(text: str, asset_moves: tuple[tuple[str, float], ...]) -> str:
    """The portfolio with the marks of every symbol of each base asset moved (a new base for the lab)."""
    moves = {a: m for a, m in asset_moves if m != 0.0}
    if not moves:
        return text
    portfolio = parse_cached(text)
    resolved = resolve(portfolio)
    from margin.instruments import parse_symbol

    prices = {}
    for symbol, mark in resolved.marks.items():
        inst = parse_symbol(symbol)
        if inst is not None and inst.base in moves:
            prices[symbol] = mark * (1.0 + moves[inst.base])
    return dump_portfolio_json(portfolio.with_prices(prices))


@st.cache_data(max_entries=16, show_spinner=False)
def frontier_cached(text: str, x: str, y: str, steps: int, range_: float) -> dict[str, Any]:
    """Worst-pool margin ratio of each view over the grid of joint moves of ``x`` and ``y``."""
    from margin.frontier import frontier

    result = frontier(resolve(parse_cached(text)), x, y, steps=steps, range_=range_)
    return {
        "moves_x": result.moves_x,
        "moves_y": result.moves_y,
        "ratio": {v: m.margin_ratio for v, m in result.modes.items()},
        "liquidated": {v: m.liquidated for v, m in result.modes.items()},
    }


def frontier_section(text: str, bases: list[str]) -> None:
    """The frontier card of the Liquidation map (settings in the URL)."""
    from dashboard.charts import frontier_heatmap
    from dashboard.views import VIEW_TITLES

    c1, c2, c3, c4 = st.columns(4)
    ranges = [0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
    views = list(VIEW_TITLES)
    sticky("fr_x", url_choice("x", bases, bases[0]), bases)
    x = c1.selectbox("x asset", bases, key="fr_x")
    others = [b for b in bases if b != x]
    sticky("fr_y", url_choice("y", others, others[0]), others)
    y = c2.selectbox("y asset", others, key="fr_y")
    url_range = url_float("range", 0.5, 0.1, 0.9)
    sticky("fr_range", url_range if url_range in ranges else 0.5, ranges)
    rng = c3.select_slider("Range", options=ranges, format_func=lambda v: f"±{v:.0%}", key="fr_range")
    sticky("fr_view", url_choice("view", views, "as_is"), views)
    view = c4.selectbox("Heatmap of", views, format_func=lambda v: VIEW_TITLES[v], key="fr_view")
    set_url(x=x, y=y, range=rng, view=view)
    with st.spinner("Computing the 201 × 201 frontier..."):
        fr = frontier_cached(text, x, y, 201, float(rng))
    st.plotly_chart(
        frontier_heatmap(fr["moves_x"], fr["moves_y"], fr["ratio"][view], x, y, boundaries=fr["ratio"], view=view),
        width="stretch",
        key="frontier",
    )
    st.caption(
        "Colour: the worst pool's margin ratio (maintenance / equity) in the chosen view; lines: where "
        "each view reaches 100 % and is liquidated. Every other price is held at its mark."
    )
    cols = st.columns(3)
    for col, (v, liq) in zip(cols, fr["liquidated"].items(), strict=True):
        col.metric(f"Cells liquidated, {VIEW_TITLES[v]}", f"{liq.mean():.1%}")


@st.cache_data(max_entries=16, show_spinner=False)
def stress_all_cached(text: str, measure: str) -> list[dict[str, Any]]:
    """Every crash preset applied to the portfolio (the ``stress`` document of each)."""
    from margin.crashes import list_presets, stress

    resolved = resolve(parse_cached(text))
    return [stress(resolved, p["name"], measure) for p in list_presets()]


def probability_section(text: str) -> None:
    """Probability of liquidation over a chosen horizon (Monte Carlo; progress shown while it runs).

    Not cached through ``st.cache_data`` on purpose: it runs on a button, and its result is kept in the
    session for the portfolio and settings it was computed for.
    """
    from dashboard.charts import cumulative_probability
    from dashboard.views import VIEW_TITLES
    from margin.marketdata import annual_volatility, load_daily_closes
    from margin.risk import risk
    from margin.scenarios import bases_of, lookup_asset

    st.subheader("Probability of liquidation")
    resolved = resolve(parse_cached(text))
    if not resolved.legs:
        st.info("The portfolio holds no position.")
        return
    fetched, source_note = market_history(bases_of(resolved))
    st.caption(source_note)
    hist = fetched if fetched is not None else load_daily_closes().window(366)
    known = set(hist.assets)
    missing = [b for b in bases_of(resolved) if lookup_asset(b) not in known]
    c1, c2, c3 = st.columns(3)
    horizons = ["1d", "3d", "7d", "14d", "30d"]
    models = ["bootstrap", "student-t", "gbm"]
    path_options = [1000, 2000, 5000, 10000, 20000]
    sticky("risk_horizon", url_choice("horizon", horizons, "7d"), horizons)
    sticky("risk_model", url_choice("model", models, "bootstrap"), models)
    sticky("risk_paths", 5000, path_options)
    horizon = c1.selectbox("Horizon", horizons, key="risk_horizon")
    model = c2.selectbox("Model", models, key="risk_model")
    paths = c3.select_slider("Paths", options=path_options, key="risk_paths")
    set_url(horizon=horizon, model=model)
    vols: dict[str, float] = {}
    if missing:
        top = max(annual_volatility(hist).values())
        st.caption(
            f"No shipped price history for {', '.join(missing)}: their volatility is set to {top:.0%} a "
            "year (the highest of the shipped assets) and they move with BTC; change it here."
        )
        cols = st.columns(min(len(missing), 4))
        for k, base in enumerate(missing):
            sticky(f"risk_vol_{base}", round(top, 2))
            vols[base] = cols[k % len(cols)].number_input(
                f"{base} annual volatility", min_value=0.05, max_value=5.0, step=0.05, key=f"risk_vol_{base}"
            )
    settings = (text, horizon, model, int(paths), tuple(sorted(vols.items())), source_note)
    if st.button("Run the simulation", key="risk_run"):
        bar = st.progress(0.0, text="Simulating hourly paths...")
        try:
            doc = risk(
                resolved,
                horizon,
                paths=int(paths),
                seed=0,
                model=model,
                vols=vols,
                history=fetched,
                progress=lambda f: bar.progress(min(f, 1.0), text=f"Simulating hourly paths... {f:.0%}"),
            )
        except PortfolioError as err:
            bar.empty()
            st.error("\n".join(portfolio_error_lines(err)))
            return
        bar.empty()
        st.session_state["risk_result"] = (settings, doc)
    stored = st.session_state.get("risk_result")
    if not stored or stored[0] != settings:
        st.caption("Press the button to simulate (seeded: the same settings give the same result).")
        return
    doc = stored[1]
    rows = []
    for view, body in doc["modes"].items():
        t = body["time_to_liquidation_hours"] or {}
        rows.append(
            {
                "view": VIEW_TITLES[view],
                "probability": body["probability"],
                "95 % CI low": body["ci95"][0],
                "95 % CI high": body["ci95"][1],
                "median hours to liquidation": t.get("p50"),
                "p5 hours": t.get("p5"),
                "p95 hours": t.get("p95"),
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    cum = {view: body.get("cumulative") for view, body in doc["modes"].items()}
    st.plotly_chart(cumulative_probability(cum), width="stretch", key="risk_chart")


@st.cache_data(max_entries=32, show_spinner=False)
def cascade_cached(text: str, target: str, move: float, impact: str, strength: float) -> dict[str, Any]:
    from margin.contagion import cascade

    return cascade(resolve(parse_cached(text)), {target: move}, impact=impact, params={"strength": strength}).to_dict()


def sticky(key: str, default: Any, options: Sequence[Any] | None = None) -> None:
    """Seed widget ``key`` with its last value in this session, else ``default`` (usually from the URL).

    Streamlit forgets the state of widgets a page did not draw, and sidebar navigation drops the URL's
    query string, so a page's settings are also kept under a non-widget key. Call before creating the
    widget (and create it without ``value``/``index``); a kept value no longer among ``options`` (the
    portfolio changed) falls back to ``default``.
    """
    kept = f"_kept_{key}"
    if key not in st.session_state:
        value = st.session_state.get(kept, default)
        if options is not None and value not in options:
            value = default
        st.session_state[key] = value
    elif options is not None and st.session_state[key] not in options:
        st.session_state[key] = default
    st.session_state[kept] = st.session_state[key]


def market_history(bases: Sequence[str]) -> tuple[Any, str]:
    """The daily history refreshed from a venue's candles when it covers every base asset with enough
    returns (``margin.marketdata.MIN_RETURNS``), else ``None`` (the shipped history is used), with a note
    saying which and why."""
    from margin.marketdata import MIN_RETURNS, covers
    from margin.scenarios import lookup_asset

    got = st.session_state.get(KEY_HISTORY)
    if not got:
        return None, "Volatility, correlation and betas: the shipped Binance daily closes (last 365 days)."
    hist = got["history"]
    short = covers(hist, [lookup_asset(b) for b in bases])
    if short:
        return None, (
            f"The daily candles refreshed from {got['venue']} (as of {got['as_of']}) have fewer than "
            f"{MIN_RETURNS} daily returns for {', '.join(short)}: the shipped Binance daily closes are "
            "used instead."
        )
    return hist, f"Volatility, correlation and betas: {got['venue']} daily candles as of {got['as_of']}."
