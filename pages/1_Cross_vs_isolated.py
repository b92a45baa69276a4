"""Cross vs isolated: the same positions side by side in both margin modes."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys
from dashboard.charts import grouped_bars
from dashboard.compare import compare
from dashboard.summary import money
from dashboard.views import page, table

text, _ = page("Cross vs isolated")
cmp = compare(compute.evaluate_cached(text))
if cmp.table.empty:
    st.info("The portfolio holds no position.")
    st.stop()

st.subheader("What each mode does to this book")
for line in cmp.verdict:
    st.markdown(f"- {line}")

st.subheader("Position by position")
table(cmp.table)
st.plotly_chart(
    grouped_bars(
        list(cmp.table["position"]),
        cmp.distance,
        "Distance to liquidation (a missing bar: no liquidation price)",
        "%",
        percent=True,
    ),
    width="stretch",
    key=keys.DIST_CHART,
)

st.subheader("Capital efficiency")
c1, c2 = st.columns(2)
c1.metric("Collateral tied up, all cross (initial margin)", money(cmp.tied_up["cross"]))
c1.metric("Free in the cross pool, all cross", money(cmp.free["cross"]))
c2.metric("Collateral tied up, all isolated (isolated margins)", money(cmp.tied_up["isolated"]))
c2.metric("Left in the cross pool, all isolated", money(cmp.free["isolated"]))
