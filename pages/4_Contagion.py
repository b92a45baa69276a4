"""Contagion: how one position's loss drains the shared collateral in cross margin, step by step."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, url
from dashboard.charts import collateral_waterfall
from dashboard.results import CascadeView
from dashboard.views import VIEW_TITLES, page
from margin.scenarios import bases_of

IMPACTS = {"none": "off", "sqrt": "square-root law", "linear": "linear depth"}

text, resolved = page("Contagion")
st.caption(
    "The shock is walked from no move to the full move; each pool that reaches its trigger is "
    "liquidated the way its venue does it (partially where the venue does, with its liquidation fee), "
    "and the walk goes on with what is left. With price impact, the forced selling moves prices further."
)
targets = ["ALL", *bases_of(resolved)]


def _amount(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def steps_table(body: CascadeView) -> None:
    """The steps of one view's cascade, one row per event."""
    st.dataframe(
        [
            {
                "move": s.move,
                "event": s.event,
                "position": s.position,
                "equity before": s.equity_before,
                "equity after": s.equity_after,
                "collateral left": s.collateral_left,
                "positions open": s.positions_open,
                "fee": s.fee,
                "drained by": ", ".join(f"{k} {v:,.0f}" for k, v in s.drained_by),
            }
            for s in body.steps
        ],
        hide_index=True,
        width="stretch",
        column_config={"move": st.column_config.NumberColumn(format="percent")},
    )


@st.fragment
def contagion_card() -> None:
    """The shock and impact controls, the totals of each view, and the cross and isolated cascades."""
    impacts = list(IMPACTS)
    url.sticky(keys.CT_TARGET, url.url_choice("target", targets, "ALL"), targets)
    url.sticky(keys.CT_MOVE, 100.0 * url.url_float("move", -0.3, -0.9, 0.9))
    url.sticky(keys.CT_IMPACT, url.url_choice("impact", impacts, "none"), impacts)
    url.sticky(keys.CT_STRENGTH, url.url_float("strength", 1.0, 0.0, 5.0))
    c1, c2, c3, c4 = st.columns(4)
    target = c1.selectbox("Shock on", targets, key=keys.CT_TARGET)
    move = c2.slider("Move, %", -90.0, 90.0, step=1.0, key=keys.CT_MOVE)
    impact = c3.radio(
        "Price impact of forced selling", impacts, horizontal=True, key=keys.CT_IMPACT, format_func=IMPACTS.__getitem__
    )
    strength = c4.slider("Impact strength Y", 0.0, 5.0, step=0.25, key=keys.CT_STRENGTH, disabled=impact == "none")
    url.set_url(target=target, move=move / 100.0, impact=impact, strength=strength)
    if move == 0.0:
        st.info("Choose a move other than 0.")
        return
    report = compute.cascade_cached(text, target, move / 100.0, impact, float(strength))
    cols = st.columns(3)
    for col, view in zip(cols, ("as_is", "cross", "isolated"), strict=True):
        c = report.modes[view]
        col.metric(f"Positions lost, {VIEW_TITLES[view]}", c.positions_lost)
        col.metric("Collateral left", _amount(c.collateral_left), delta=None if c.loss is None else _amount(-c.loss))
    if report.amplification is not None and impact != "none":
        st.metric("Amplification (final move / initial move)", f"{report.amplification:.3f}")
    left, right = st.columns(2)
    for col, view in ((left, "cross"), (right, "isolated")):
        body = report.modes[view]
        with col:
            st.subheader(VIEW_TITLES[view])
            st.plotly_chart(
                collateral_waterfall(
                    body.steps,
                    body.collateral_start or 0.0,
                    body.collateral_left or 0.0,
                    body.settle,
                    "Account value through the cascade",
                ),
                width="stretch",
                key=keys.waterfall(view),
            )
            if body.steps:
                steps_table(body)
            else:
                st.success("No pool reaches its trigger along this shock.")


contagion_card()
