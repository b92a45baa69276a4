"""What-if calculator: an exchange calculator on the whole account (one candidate position, alone and in the book)."""

from __future__ import annotations

import streamlit as st

from dashboard.calculator import calculator_card, isolated_margin_card, option_card
from dashboard.views import page

page("What-if calculator", need_positions=False)
st.caption(
    "Try a position before opening it: its liquidation price alone and inside this account, the leverage the "
    "venue's tier allows at that size, and what it does to every other position's liquidation price; with an "
    "optional stop and take profit, the PnL at each fill and whether the stop fires before liquidation."
)
calculator_card()

st.subheader("Margin of a held isolated position")
isolated_margin_card()

st.subheader("An option")
st.caption(
    "Pick an expiry, a strike and a call or a put: the option's ccxt symbol, its standard margin and greeks, and "
    "the portfolio-margin requirement with it in the book (portfolio-format.md §6)."
)
option_card()
