"""Liquidation map: a price ladder per symbol, and the two-asset liquidation frontier."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import price_ladder
from dashboard.views import page
from margin.scenarios import bases_of

text, resolved = page("Liquidation map")

doc = state.evaluate_cached(text)
symbols = list(resolved.marks)
state.sticky("map_symbol", state.url_choice("symbol", symbols, symbols[0]), symbols)
symbol = st.selectbox("Symbol", symbols, key="map_symbol")
state.set_url(symbol=symbol)
entry = [(p.label, p.entry_price) for p in resolved.portfolio.positions if p.symbol == symbol]
levels = {
    view: [(p["id"], p["liquidation_price"]) for p in body["positions"] if p["symbol"] == symbol]
    for view, body in doc["modes"].items()
}
bankrupt = {
    view: [(p["id"], p["bankruptcy_price"]) for p in body["positions"] if p["symbol"] == symbol]
    for view, body in doc["modes"].items()
}
settle = next(leg.settle for leg in resolved.legs if leg.position.symbol == symbol)
st.plotly_chart(
    price_ladder(symbol, settle, entry, resolved.marks[symbol], levels, bankrupt), width="stretch", key="ladder"
)
st.caption(
    "Red ticks: liquidation price in each view; purple: bankruptcy price (equity zero). A view with no tick "
    "has no liquidation price for this symbol with every other price held."
)

st.subheader("Liquidation frontier")
bases = bases_of(resolved)
if len(bases) < 2:
    st.info("The frontier needs positions on two different assets.")
    st.stop()
state.frontier_section(text, bases)
