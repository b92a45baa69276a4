"""Margin Lab home page: a bundled sample portfolio evaluated in the three views."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.samples import load_sample, sample_names
from margin import PortfolioError, evaluate_portfolio

st.set_page_config(page_title="Margin Lab", layout="wide")
st.title("Margin Lab")
st.caption("Cross vs isolated margin, liquidation prices and what-if shocks for a crypto-derivatives account.")


@st.cache_data(max_entries=32, show_spinner=False)
def _evaluate(name: str) -> dict[str, object]:
    return evaluate_portfolio(load_sample(name))


name = st.selectbox("Sample portfolio", sample_names())
try:
    doc = _evaluate(name)
except PortfolioError as err:
    st.error(err.message)
    st.stop()
st.write(f"Venue: **{doc['venue']}**")
for view, body in doc["modes"].items():  # type: ignore[union-attr]
    st.subheader(view)
    st.dataframe(pd.DataFrame(body["pools"]), hide_index=True)
    st.dataframe(pd.DataFrame(body["positions"]), hide_index=True)
