"""Liquidation map: a price ladder per symbol, and the two-asset liquidation frontier."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, url
from dashboard.charts import frontier_heatmap, price_ladder
from dashboard.views import VIEW_TITLES, page
from margin.scenarios import bases_of

FRONTIER_STEPS = 201
RANGES = [0.1, 0.2, 0.3, 0.5, 0.7, 0.9]

text, resolved = page("Liquidation map")
symbols = list(resolved.marks)
bases = bases_of(resolved)


@st.fragment
def ladder_card() -> None:
    """The chosen symbol's entry, mark, liquidation and bankruptcy prices in each view, and its orders."""
    url.sticky(keys.MAP_SYMBOL, url.url_choice("symbol", symbols, symbols[0]), symbols)
    symbol = st.selectbox("Symbol", symbols, key=keys.MAP_SYMBOL)
    url.set_url(symbol=symbol)
    report = compute.evaluate_cached(text)
    entry = [(p.label, p.entry_price) for p in resolved.portfolio.positions if p.symbol == symbol]
    levels = {
        view: [(p.id, p.liquidation_price) for p in body.positions if p.symbol == symbol]
        for view, body in report.modes.items()
    }
    bankrupt = {
        view: [(p.id, p.bankruptcy_price) for p in body.positions if p.symbol == symbol]
        for view, body in report.modes.items()
    }
    # stops and take-profits of the symbol (portfolio-format.md §7): the same level in every view
    orders = [(o.label, o.type, o.trigger_price) for o in resolved.portfolio.orders if o.symbol == symbol]
    settle = symbol.partition(":")[2].split("-", 1)[0]  # BASE/QUOTE:SETTLE[-expiry[-strike-C|P]]
    st.plotly_chart(
        price_ladder(symbol, settle, entry, resolved.marks[symbol], levels, bankrupt, orders),
        width="stretch",
        key=keys.LADDER,
    )
    note = (
        "Red ticks: liquidation price in each view; purple: bankruptcy price (equity zero). A view with no "
        "tick has no liquidation price for this symbol with every other price held."
    )
    if orders:
        note += (
            " Orange ticks: stop-losses, teal: take-profits (portfolio-format.md §7), at their trigger price and "
            "the same in every view (an order does not depend on the margin mode). A stop drawn between the mark "
            "and a view's liquidation tick fires before that view liquidates the position; one beyond the tick "
            "comes too late."
        )
    st.caption(note)


@st.fragment
def frontier_card() -> None:
    """The worst pool's margin ratio over joint moves of two assets, with each view's boundary."""
    c1, c2, c3, c4 = st.columns(4)
    views = list(VIEW_TITLES)
    url.sticky(keys.FR_X, url.url_choice("x", bases, bases[0]), bases)
    x = c1.selectbox("x asset", bases, key=keys.FR_X)
    others = [b for b in bases if b != x]
    url.sticky(keys.FR_Y, url.url_choice("y", others, others[0]), others)
    y = c2.selectbox("y asset", others, key=keys.FR_Y)
    url_range = url.url_float("range", 0.5, 0.1, 0.9)
    url.sticky(keys.FR_RANGE, url_range if url_range in RANGES else 0.5, RANGES)
    rng = c3.select_slider("Range", options=RANGES, format_func=lambda v: f"±{v:.0%}", key=keys.FR_RANGE)
    url.sticky(keys.FR_VIEW, url.url_choice("view", views, "as_is"), views)
    view = c4.selectbox("Heatmap of", views, format_func=lambda v: VIEW_TITLES[v], key=keys.FR_VIEW)
    url.set_url(x=x, y=y, range=rng, view=view)
    with st.spinner(f"Computing the {FRONTIER_STEPS} × {FRONTIER_STEPS} frontier..."):
        fr = compute.frontier_cached(text, x, y, FRONTIER_STEPS, float(rng))
    st.plotly_chart(
        frontier_heatmap(
            fr.moves_x,
            fr.moves_y,
            fr.margin_ratio[view],
            x,
            y,
            boundaries=fr.margin_ratio,
            view=view,
            levels=resolved.alert_levels,
        ),
        width="stretch",
        key=keys.FRONTIER,
    )
    st.caption(
        "Colour: the worst pool's margin ratio (maintenance / equity) in the chosen view; lines: where "
        "each view reaches 100 % and is liquidated. Every other price is held at its mark."
    )
    cols = st.columns(3)
    for col, (v, share) in zip(cols, fr.liquidated_share.items(), strict=True):
        col.metric(f"Cells liquidated, {VIEW_TITLES[v]}", f"{share:.1%}")


ladder_card()

st.subheader("Liquidation frontier")
if len(bases) < 2:
    st.info("The frontier needs positions on two different assets.")
    st.stop()
frontier_card()
