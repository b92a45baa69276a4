"""Shock lab: move the market (and single assets) and watch equity, maintenance and liquidations."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, state, url
from dashboard.charts import margin_ratio_gauges, pools_vs_move
from dashboard.summary import view_summary
from dashboard.views import VIEW_TITLES, page, table
from margin.scenarios import FALLBACK_BETA, bases_of
from margin.whatif import ESTIMATED, FALLBACK, HAND_SET, UNIFORM, choose_betas

BETA_SOURCES = {
    ESTIMATED: "estimated",
    FALLBACK: f"fallback {FALLBACK_BETA:g} (no price history)",
    HAND_SET: "set by hand",
    UNIFORM: "uniform (every asset moves alike)",
}

text, resolved = page("Shock lab")
assets = bases_of(resolved)
st.caption(
    "Moves are relative to the current marks; every other price follows the market move with its beta "
    "(or moves the same, with the toggle off)."
)

# defaults from the URL (a shared link reproduces the view), then the session's last values (url.sticky);
# the sliders are in %, the URL and the core in fractions
url_defaults = {
    keys.SHOCK_MOVE: 100.0 * url.url_float("move", 0.0, -0.9, 0.9),
    keys.SHOCK_BETAS: url.url_choice("betas", ["1", "0"], "1") == "1",
    **{keys.shock_asset(a): 100.0 * url.url_float(f"m_{a}", 0.0, -0.9, 0.9) for a in assets},
}

history, history_note = state.market_history(assets)
shipped = compute.shipped_history()
estimated = choose_betas(assets, shipped, refreshed=history)
uniform = choose_betas(assets, shipped, uniform=True)
settles = list(dict.fromkeys(leg.settle for leg in resolved.legs))


@st.fragment
def shock_card() -> None:
    """Market and per-asset moves, the gauges, the liquidated positions and the pools chart."""
    for key, default in url_defaults.items():
        url.sticky(key, default)
    move = st.slider("Market move (BTC), %", -90.0, 90.0, step=0.5, key=keys.SHOCK_MOVE)
    use_betas = st.toggle(
        "Other assets follow BTC with their betas (off: every asset moves the same)", key=keys.SHOCK_BETAS
    )
    with st.expander("Per-asset moves, on top of the market move"):
        slots = st.columns(min(len(assets), 4))
        for k, a in enumerate(assets):
            slots[k % len(slots)].slider(f"{a}, %", -90.0, 90.0, step=0.5, key=keys.shock_asset(a))
    extra = tuple((a, st.session_state[keys.shock_asset(a)] / 100.0) for a in assets)
    url.set_url(move=move / 100.0, betas="1" if use_betas else "0", **{f"m_{a}": m for a, m in extra if m != 0.0})
    url.drop_url(*(f"m_{a}" for a, m in extra if m == 0.0))
    base_text = compute.shifted_text(text, extra)
    settle = settles[0]
    if len(settles) > 1:
        settle = st.radio("Settle asset of the chart", settles, horizontal=True, key=keys.SHOCK_SETTLE)
    betas = (estimated if use_betas else uniform).pairs()
    sweep = compute.market_sweep_cached(base_text, -0.9, 0.9, 121, betas)
    report = compute.shock_set_cached(base_text, move / 100.0, betas)
    summaries = {view: view_summary(body) for view, body in report.modes.items()}
    st.plotly_chart(
        margin_ratio_gauges(
            {
                f"{VIEW_TITLES[v]}: worst pool": None if s.bankrupt else s.worst_margin_ratio
                for v, s in summaries.items()
            }
        ),
        width="stretch",
        key=keys.GAUGES,
    )
    cols = st.columns(3)
    for col, s in zip(cols, summaries.values(), strict=True):
        if s.liquidated:
            col.error("Liquidated: " + ", ".join(s.liquidated))
        else:
            col.success("No position liquidated")
    panels = {
        VIEW_TITLES[view]: [(p.label, p.equity, p.maintenance) for p in pools if p.settle == settle]
        for view, pools in sweep.views.items()
    }
    st.plotly_chart(
        pools_vs_move(sweep.moves, panels, settle, current=move / 100.0), width="stretch", key=keys.POOLS_CHART
    )
    st.caption(
        "Each margin pool: its equity (wallet plus unrealised PnL, solid) and its maintenance margin (the "
        "amount the venue compares equity with, dotted) against the market move; × marks where the pool "
        "is liquidated. In cross margin one pool carries every position; isolated, each position is its "
        "own pool."
    )
    if st.toggle("Show the positions at this shock", key=keys.SHOCK_SHOW_POSITIONS):
        for view, body in report.modes.items():
            st.markdown(f"**{VIEW_TITLES[view]}**")
            table(
                [
                    {
                        "position": p.id,
                        "mark": p.mark_price,
                        "uPnL": p.unrealized_pnl,
                        "liquidation price": p.liquidation_price,
                        "liquidated": p.liquidated,
                    }
                    for p in body.positions
                ]
            )


shock_card()

with st.expander("Betas used (daily log returns against BTC)"):
    st.caption(history_note)
    table([{"asset": a, "beta": estimated.betas[a], "source": BETA_SOURCES[estimated.sources[a]]} for a in assets])
