"""Shock lab: move the market (and single assets) and watch equity, maintenance and liquidations."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import compute, keys, state, url
from dashboard.charts import margin_ratio_gauges, move_ruler_html
from dashboard.options_view import VIEW_NAMES, equity_by_settle, last_expiry_days, portfolio_pool, worst_ratio
from dashboard.views import VIEW_TITLES, page, positions_table, table
from margin import PortfolioError
from margin.scenarios import FALLBACK_BETA, bases_of
from margin.whatif import (
    ASSET_MOVE_FLOOR,
    ESTIMATED,
    FALLBACK,
    HAND_SET,
    UNIFORM,
    MarketPools,
    choose_betas,
    market_asset_moves,
    view_at,
)

BETA_SOURCES = {
    ESTIMATED: "estimated",
    FALLBACK: f"fallback {FALLBACK_BETA:g} (no price history)",
    HAND_SET: "set by hand",
    UNIFORM: "uniform (every asset moves alike)",
}
#: the sliders: −90 % to +90 % in steps of 0.5 % (the URL carries fractions in the same range)
LIMIT, STEP = 0.9, 0.005
#: liquidated positions listed by name before "and N more"
LISTED = 8

text, resolved = page("Shock lab")
assets = bases_of(resolved)
st.caption(
    "Moves are relative to the current marks; every other price follows the market move with its beta "
    "(or moves the same, with the toggle off)."
)

# defaults from the URL (a shared link reproduces the view), then the session's last values (url.sticky);
# the sliders are in %, the URL and the core in fractions
url_defaults = {
    keys.SHOCK_MOVE: 100.0 * url.url_float("move", 0.0, -LIMIT, LIMIT),
    keys.SHOCK_BETAS: url.url_choice("betas", ["1", "0"], "1") == "1",
    **{keys.shock_asset(a): 100.0 * url.url_float(f"m_{a}", 0.0, -LIMIT, LIMIT) for a in assets},
}

history, history_note = state.market_history(assets)
shipped = compute.shipped_history()
estimated = choose_betas(assets, shipped, refreshed=history)
uniform = choose_betas(assets, shipped, uniform=True)
# the settle assets of the pools: futures, and options (each in its settle asset's cross pool, format §6.1)
settles = list(
    dict.fromkeys([*(leg.settle for leg in resolved.legs), *(o.option.settle for o in resolved.option_legs)])
)
has_options = bool(resolved.option_legs)
#: the volatility slider: −50 % to +100 % of every option's iv; the days slider: to the last expiry (else 90)
VOL_LOW, VOL_HIGH = -50.0, 100.0
max_days = max(1, math.floor(last_expiry_days(resolved))) if has_options else 90


def _names(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:LISTED])
    return shown if len(ids) <= LISTED else f"{len(ids)} positions: {shown} and {len(ids) - LISTED} more"


def _at_move(base_text: str, move: float, betas: tuple[tuple[str, float], ...]) -> tuple[MarketPools, int]:
    """The pools of every view at ``move``: read from the slider's grid (computed once), or computed at
    that one move when it is off the grid (a link with a finer move)."""
    grid = compute.market_grid_cached(base_text, LIMIT, STEP, betas)
    k = grid.index(move)
    if k is not None:
        return grid, k
    return compute.market_point_cached(base_text, move, betas), 0


def _pools_chart(base_text: str, move: float, betas: tuple[tuple[str, float], ...]) -> None:
    """The pools-against-market-move chart of one settle asset (built once per portfolio and betas), with the
    ruler marking ``move``; an option book's pools carry their options' values and margins (the sweep evaluates
    the engine, format §6.2, §6.3)."""
    settle = settles[0]
    if len(settles) > 1:
        settle = st.radio("Settle asset of the chart", settles, horizontal=True, key=keys.SHOCK_SETTLE)
    chart = compute.pools_chart_cached(base_text, LIMIT, STEP, betas, settle)
    # the chart is built once per portfolio and stays as it is; the ruler above it marks the move
    titles = list(VIEW_TITLES.values())
    st.markdown(move_ruler_html(move, compute.move_grid(LIMIT, STEP), titles), unsafe_allow_html=True)
    st.plotly_chart(chart, width="stretch", key=keys.POOLS_CHART)
    st.caption(
        "Each margin pool: its equity (wallet plus unrealised PnL, and the options' value where it holds some; "
        "solid) and its maintenance margin (the amount the venue compares equity with, dotted) against the market "
        "move (the strip above the panels marks the current move); × marks where the pool "
        "is liquidated. In cross margin one pool carries every position; isolated, each future is its "
        "own pool (options stay in their settle asset's cross pool): with many, the ones a move liquidates first "
        "are drawn and the others counted."
    )


def _option_sliders() -> tuple[float, float]:
    """The volatility move of every option base (%, format §6.5 ``--vol-shock ALL``) and the days forward
    (``--days``), enabled only when the portfolio holds options; as fractions and days."""
    off = "" if has_options else " (the portfolio holds no option)"
    c1, c2 = st.columns(2)
    vol = c1.slider(
        f"Volatility of every option, %{off}",
        VOL_LOW,
        VOL_HIGH,
        0.0,
        step=1.0,
        key=keys.SHOCK_VOL,
        disabled=not has_options,
        help="each option's iv × (1 + this move), portfolio-format.md §6.5",
    )
    days = c2.slider(
        f"Days forward{off}",
        0,
        max_days,
        0,
        key=keys.SHOCK_DAYS,
        disabled=not has_options,
        help="time passes: as_of moves this many days on; an option expiring within it is worth its intrinsic value",
    )
    if not has_options:
        return 0.0, 0.0
    return float(vol) / 100.0, float(days)


def _options_figures(shocks: tuple[str, ...], vol: float, days: float) -> None:
    """The shock's figures on a book holding options, from :func:`margin.report.evaluate_portfolio` with the
    volatility shock and days forward: every view's worst margin ratio, equity and liquidated positions."""
    try:
        doc = compute.evaluate_doc_cached(text, shocks, (("ALL", vol),) if vol else (), days)
    except PortfolioError as err:
        st.warning("This shock cannot be evaluated: " + "; ".join(state.portfolio_error_lines(err)))
        return
    report = compute.standard_report(doc)
    st.plotly_chart(
        margin_ratio_gauges(
            {f"{VIEW_TITLES[v]}: worst pool": worst_ratio(body.pools) for v, body in report.modes.items()},
            resolved.alert_levels,
        ),
        width="stretch",
        key=keys.GAUGES,
    )
    cols = st.columns(4)
    for col, (view, body) in zip(cols, report.modes.items(), strict=False):
        with col:
            st.markdown(f"**{VIEW_TITLES[view]}**")
            for settle, equity in equity_by_settle(body.pools).items():
                st.metric(f"Equity ({settle})", f"{equity:,.6g} {settle}")
            dead = tuple(p.id for p in body.positions if p.liquidated)
            if dead:
                st.error("Liquidated: " + _names(dead))
            else:
                st.success("No position liquidated")
    pool = portfolio_pool(doc)
    with cols[3]:
        st.markdown(f"**{VIEW_NAMES['portfolio']}**")
        st.metric("Equity (USD)", f"{float(pool['equity']):,.2f} USD")
        ratio = pool["margin_ratio"]
        st.metric("Margin ratio", "equity ≤ 0" if ratio is None else f"{float(ratio):.2%}")
        if pool["liquidated"]:
            st.error("Liquidated")
        else:
            st.success("Not liquidated")
    st.caption(
        "This book holds options: the figures are those of `python -m margin evaluate` with these shocks, "
        "`--vol-shock ALL=` the volatility move and `--days` the days forward (portfolio-format.md §6.5). The "
        "Options page draws the book's PnL across the underlying's move."
    )
    if st.toggle("Show the positions at this shock", key=keys.SHOCK_SHOW_POSITIONS):
        for view, body in report.modes.items():
            st.markdown(f"**{VIEW_TITLES[view]}**")
            table(positions_table(body))


@st.fragment
def shock_card() -> None:
    """Market and per-asset moves, the gauges, the liquidated positions and the pools chart."""
    for key, default in url_defaults.items():
        url.sticky(key, default)
    move = st.slider("Market move (BTC), %", -100.0 * LIMIT, 100.0 * LIMIT, step=100.0 * STEP, key=keys.SHOCK_MOVE)
    use_betas = st.toggle(
        "Other assets follow BTC with their betas (off: every asset moves the same)", key=keys.SHOCK_BETAS
    )
    with st.expander("Per-asset moves, on top of the market move"):
        slots = st.columns(min(len(assets), 4))
        for k, a in enumerate(assets):
            slots[k % len(slots)].slider(
                f"{a}, %", -100.0 * LIMIT, 100.0 * LIMIT, step=100.0 * STEP, key=keys.shock_asset(a)
            )
    vol, days = _option_sliders()
    extra = tuple((a, st.session_state[keys.shock_asset(a)] / 100.0) for a in assets)
    url.set_url(move=move / 100.0, betas="1" if use_betas else "0", **{f"m_{a}": m for a, m in extra if m != 0.0})
    url.drop_url(*(f"m_{a}" for a, m in extra if m == 0.0))
    choice = estimated if use_betas else uniform
    betas = choice.pairs()
    market = market_asset_moves(move / 100.0, choice.betas)
    if market.clamped:
        told = [f"{a} (β {choice.betas[a]:.2f}) would move {100 * m:+.1f} %" for a, m in market.clamped.items()]
        more = f"; and {len(told) - 4} more assets" if len(told) > 4 else ""
        st.warning(
            f"A price cannot go through zero: {'; '.join(told[:4])}{more} — held at {100 * ASSET_MOVE_FLOOR:+.2f} %."
        )
    if has_options:
        # the figures from evaluate (they take the volatility shock and the days forward); the pools chart from
        # the market sweep, which values the options at today's volatility and time, along the market move alone
        _options_figures(market.shocks() + tuple(f"{a}={m!r}" for a, m in extra if m != 0.0), vol, days)
        if vol or days or any(m != 0.0 for _, m in extra):
            st.caption(
                "The pools-against-move chart follows the market move alone, at today's volatility and time: set "
                "the volatility, the days forward and the per-asset moves to 0 to draw it."
            )
        else:
            _pools_chart(text, move / 100.0, betas)
        return
    try:
        base_text = compute.shifted_text(text, extra)
        pools, k = _at_move(base_text, move / 100.0, betas)
    except PortfolioError as err:
        st.warning("This shock cannot be evaluated: " + "; ".join(state.portfolio_error_lines(err)))
        return
    at = {view: view_at(view_pools, k, pools.ids) for view, view_pools in pools.views.items()}
    st.plotly_chart(
        margin_ratio_gauges(
            {f"{VIEW_TITLES[v]}: worst pool": a.worst_ratio for v, a in at.items()}, resolved.alert_levels
        ),
        width="stretch",
        key=keys.GAUGES,
    )
    cols = st.columns(3)
    for col, a in zip(cols, at.values(), strict=True):
        if a.liquidated:
            col.error("Liquidated: " + _names(a.liquidated))
        else:
            col.success("No position liquidated")
    _pools_chart(base_text, move / 100.0, betas)
    if st.toggle("Show the positions at this shock", key=keys.SHOCK_SHOW_POSITIONS):
        try:
            report = compute.evaluate_cached(base_text, market.shocks())
        except PortfolioError as err:
            st.warning("The positions cannot be shown at this shock: " + "; ".join(state.portfolio_error_lines(err)))
            return
        for view, body in report.modes.items():
            st.markdown(f"**{VIEW_TITLES[view]}**")
            table(positions_table(body))


shock_card()

with st.expander("Betas used (daily log returns against BTC)"):
    st.caption(history_note)
    table([{"asset": a, "beta": estimated.betas[a], "source": BETA_SOURCES[estimated.sources[a]]} for a in assets])
