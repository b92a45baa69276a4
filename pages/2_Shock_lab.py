"""Shock lab: move the market (and single assets) and watch equity, maintenance and liquidations."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import margin_ratio_gauges, pools_vs_move
from dashboard.summary import view_summary
from dashboard.views import VIEW_TITLES, page, table
from margin.scenarios import asset_betas, bases_of

text, resolved = page("Shock lab")
assets = bases_of(resolved)
st.caption(
    "Moves are relative to the current marks; every other price follows the market move with its beta "
    "(or moves the same, with the toggle off)."
)

# defaults from the URL (a shared link reproduces the view), then the session's last values (state.sticky)
url_defaults = {
    "shock_move": 100.0 * state.url_float("move", 0.0, -0.9, 0.9),
    "shock_betas": state.url_choice("betas", ["1", "0"], "1") == "1",
    **{f"shock_{a}": 100.0 * state.url_float(f"m_{a}", 0.0, -0.9, 0.9) for a in assets},
}

history, history_note = state.market_history(assets)
if history is not None and "BTC" in history.assets:
    from margin.marketdata import betas as estimate_betas
    from margin.scenarios import lookup_asset

    est = estimate_betas(history, [lookup_asset(a) for a in assets], "BTC")
    betas, fallback = {a: est[lookup_asset(a)] for a in assets}, []
else:
    betas, fallback = asset_betas(assets, None)
beta_pairs = tuple(sorted(betas.items()))


@st.fragment
def shock_card() -> None:
    for key, default in url_defaults.items():
        state.sticky(key, default)
    move = st.slider("Market move (BTC), %", -90.0, 90.0, step=0.5, key="shock_move")
    use_betas = st.toggle(
        "Other assets follow BTC with their betas (off: every asset moves the same)", key="shock_betas"
    )
    with st.expander("Per-asset moves, on top of the market move"):
        cols = st.columns(min(len(assets), 4))
        for k, a in enumerate(assets):
            cols[k % len(cols)].slider(f"{a}, %", -90.0, 90.0, step=0.5, key=f"shock_{a}")
    extra = tuple((a, st.session_state[f"shock_{a}"] / 100.0) for a in assets)
    state.set_url(move=move / 100.0, betas="1" if use_betas else "0", **{f"m_{a}": m for a, m in extra if m != 0.0})
    for a, m in extra:
        if m == 0.0 and f"m_{a}" in st.query_params:
            del st.query_params[f"m_{a}"]
    base_text = state.shifted_text(text, extra)
    settles = list(dict.fromkeys(leg.settle for leg in resolved.legs))
    settle = settles[0]
    if len(settles) > 1:
        settle = st.radio("Settle asset of the chart", settles, horizontal=True, key="shock_settle")
    sweep = state.market_sweep_cached(base_text, -0.9, 0.9, 121, use_betas, beta_pairs)
    doc = state.shock_set_cached(base_text, move / 100.0, (), use_betas, beta_pairs)
    summaries = {view: view_summary(body) for view, body in doc["modes"].items()}
    st.plotly_chart(
        margin_ratio_gauges(
            {
                f"{VIEW_TITLES[v]}: worst pool": None if s.bankrupt else s.worst_margin_ratio
                for v, s in summaries.items()
            }
        ),
        width="stretch",
        key="gauges",
    )
    cols = st.columns(3)
    for col, s in zip(cols, summaries.values(), strict=True):
        if s.liquidated:
            col.error("Liquidated: " + ", ".join(s.liquidated))
        else:
            col.success("No position liquidated")
    panels = {
        VIEW_TITLES[view]: [
            (v["labels"][g], v["equity"][:, g], v["maintenance"][:, g])
            for g in range(len(v["labels"]))
            if v["has_positions"][g] and v["pool_settle"][g] == settle
        ]
        for view, v in sweep["views"].items()
    }
    st.plotly_chart(
        pools_vs_move(sweep["moves"], panels, settle, current=move / 100.0), width="stretch", key="pools_chart"
    )
    st.caption(
        "Each margin pool: its equity (wallet plus unrealised PnL, solid) and its maintenance margin (the "
        "amount the venue compares equity with, dotted) against the market move; × marks where the pool "
        "is liquidated. In cross margin one pool carries every position; isolated, each position is its "
        "own pool."
    )
    if st.toggle("Show the positions at this shock", key="shock_show_positions"):
        for view, body in doc["modes"].items():
            st.markdown(f"**{VIEW_TITLES[view]}**")
            table(
                [
                    {
                        "position": p["id"],
                        "mark": p["mark_price"],
                        "uPnL": p["unrealized_pnl"],
                        "liquidation price": p["liquidation_price"],
                        "liquidated": p["liquidated"],
                    }
                    for p in body["positions"]
                ]
            )


shock_card()

with st.expander("Betas used (daily log returns against BTC)"):
    st.caption(history_note)
    table(
        [
            {
                "asset": a,
                "beta": betas[a],
                "source": "fallback 1.5 (no price history)" if a in fallback else "estimated",
            }
            for a in assets
        ]
    )
