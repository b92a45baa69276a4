"""Cross vs isolated: the same positions side by side in both margin modes."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import grouped_bars
from dashboard.compare import compare, value
from dashboard.summary import money
from dashboard.views import page, table

text, _ = page("Cross vs isolated")
doc = state.evaluate_cached(text)
cmp = compare(doc)
if cmp.table.empty:
    st.info("The portfolio holds no position.")
    st.stop()

st.subheader("What each mode does to this book")
for line in cmp.verdict:
    st.markdown(f"- {line}")

st.subheader("Position by position")
table(cmp.table)
ids = list(cmp.table["position"])
dist = {
    view: [None if value(v) is None else abs(float(v)) for v in cmp.table[f"distance ({view})"]]
    for view in ("cross", "isolated")
}
st.plotly_chart(
    grouped_bars(ids, dist, "Distance to liquidation (a missing bar: no liquidation price)", "%", percent=True),
    width="stretch",
    key="dist_chart",
)

st.subheader("Capital efficiency")
c1, c2 = st.columns(2)
c1.metric("Collateral tied up, all cross (initial margin)", money(cmp.tied_up["cross"]))
c1.metric("Free in the cross pool, all cross", money(cmp.free["cross"]))
c2.metric("Collateral tied up, all isolated (isolated margins)", money(cmp.tied_up["isolated"]))
c2.metric("Left in the cross pool, all isolated", money(cmp.free["isolated"]))
