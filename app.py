"""Margin Lab: the router. Every page script lives in ``pages/``; ``dashboard.navigation`` names and groups them."""

from __future__ import annotations

import streamlit as st

from dashboard.navigation import st_pages

st.set_page_config(page_title="Margin Lab", page_icon="📉", layout="wide")
st.navigation(st_pages()).run()
