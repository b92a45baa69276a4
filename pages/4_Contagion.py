"""Contagion: how one position's loss drains the shared collateral in cross margin, step by step."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import collateral_waterfall
from dashboard.views import VIEW_TITLES, page
from margin.scenarios import bases_of

text, resolved = page("Contagion")
st.caption(
    "The shock is walked from no move to the full move; each pool that reaches its trigger is "
    "liquidated the way its venue does it (partially where the venue does, with its liquidation fee), "
    "and the walk goes on with what is left. With price impact, the forced selling moves prices further."
)

targets = ["ALL", *bases_of(resolved)]
impacts = ["none", "sqrt", "linear"]
state.sticky("ct_target", state.url_choice("target", targets, "ALL"), targets)
state.sticky("ct_move", 100.0 * state.url_float("move", -0.3, -0.9, 0.9))
state.sticky("ct_impact", state.url_choice("impact", impacts, "none"), impacts)
state.sticky("ct_strength", state.url_float("strength", 1.0, 0.0, 5.0))
c1, c2, c3, c4 = st.columns(4)
target = c1.selectbox("Shock on", targets, key="ct_target")
move = c2.slider("Move, %", -90.0, 90.0, step=1.0, key="ct_move")
impact = c3.radio(
    "Price impact of forced selling",
    impacts,
    horizontal=True,
    key="ct_impact",
    format_func=lambda v: {"none": "off", "sqrt": "square-root law", "linear": "linear depth"}[v],
)
strength = c4.slider("Impact strength Y", 0.0, 5.0, step=0.25, key="ct_strength", disabled=impact == "none")
state.set_url(target=target, move=move / 100.0, impact=impact, strength=strength)
if move == 0.0:
    st.info("Choose a move other than 0.")
    st.stop()
doc = state.cascade_cached(text, target, move / 100.0, impact, float(strength))

cmp = doc["comparison"]
cols = st.columns(3)
for col, view in zip(cols, ("as_is", "cross", "isolated"), strict=True):
    c = cmp[view]
    col.metric(f"Positions lost, {VIEW_TITLES[view]}", c["positions_lost"])
    col.metric("Collateral left", f"{c['collateral_left']:,.2f}", delta=f"{-c['loss']:,.2f}")
if doc.get("amplification") is not None and impact != "none":
    st.metric("Amplification (final move / initial move)", f"{doc['amplification']:.3f}")

left, right = st.columns(2)
for col, view in ((left, "cross"), (right, "isolated")):
    body = doc["modes"][view]
    settle = next(iter(body.get("by_settle") or {"": None}))
    with col:
        st.subheader(VIEW_TITLES[view])
        st.plotly_chart(
            collateral_waterfall(
                body["steps"],
                body["collateral_start"],
                body["collateral_left"],
                settle,
                "Account value through the cascade",
            ),
            width="stretch",
            key=f"water_{view}",
        )
        if body["steps"]:
            st.dataframe(
                [
                    {
                        "move": s["move"],
                        "event": s["event"],
                        "position": s["position"],
                        "equity before": s["equity_before"],
                        "equity after": s["equity_after"],
                        "collateral left": s["collateral_left"],
                        "positions open": s.get("positions_open"),
                        "fee": s.get("fee"),
                        "drained by": ", ".join(f"{k} {v:,.0f}" for k, v in (s.get("drained_by") or {}).items()),
                    }
                    for s in body["steps"]
                ],
                hide_index=True,
                width="stretch",
                column_config={"move": st.column_config.NumberColumn(format="percent")},
            )
        else:
            st.success("No pool reaches its trigger along this shock.")
