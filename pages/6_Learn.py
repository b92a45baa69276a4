"""Learn: cross and isolated margin on your own numbers, every formula written out."""

from __future__ import annotations

import streamlit as st

from dashboard import keys, url
from dashboard.explain import explain
from dashboard.views import VIEW_TITLES, page, table
from margin import compile_book

_, resolved = page("Learn: how your liquidation prices come about")

st.markdown(
    "Every venue liquidates a margin **pool** when its **equity** (wallet balance plus unrealised PnL) falls to "
    "its **maintenance margin** (notional × tier rate − tier amount, at the mark price). In **cross** margin all "
    "your cross positions share one pool per settle asset: a loss on one eats the collateral of all, and a gain "
    "on one props up the others. In **isolated** margin each position is a pool of its own holding only its "
    "isolated margin: it dies alone, and can never lose more than that margin.\n\n"
    "The **liquidation price** of a position is the price of its symbol, every other price held, at which its "
    "pool's equity meets its maintenance margin, with the tier of the notional at that price."
)

if resolved.option_legs:
    st.info(
        "This portfolio holds options. A futures position in a pool holding an option on its base has no closed "
        "form: its price moves every instrument of the base together (futures marks and option forwards) and the "
        "engine finds the crossing by root finding (portfolio-format.md §6.3); the explanation re-checks the "
        "trigger at that move. The options themselves are on the Options & portfolio margin page."
    )

labels = [leg.position.label for leg in resolved.legs]
ids = list(range(len(labels)))


@st.fragment
def explain_card() -> None:
    """The chosen position's liquidation price written out in cross and in isolated."""
    url.sticky(keys.LEARN_POS, labels.index(url.url_choice("position", labels, labels[0])), ids)
    pick = st.selectbox("Position", ids, format_func=lambda k: labels[k], key=keys.LEARN_POS)
    url.set_url(position=labels[pick])
    cols = st.columns(2)
    for col, view in zip(cols, ("cross", "isolated"), strict=True):
        e = explain(compile_book(resolved, view), pick)
        with col:
            st.subheader(VIEW_TITLES[view])
            st.caption(f"Pool: {e.pool}")
            st.code(e.formula, language=None)
            table([{"term": t, "meaning": m, "value": v} for t, m, v in e.terms])
            if e.substituted:
                st.code(e.substituted, language=None)
            cf = "none (no positive price liquidates it)" if e.closed_form is None else f"{e.closed_form:,.6f}"
            en = "none" if e.engine is None else f"{e.engine:,.6f}"
            if e.option_pool:
                # format §6.3: no closed form in a pool holding options; the trigger re-checked at the engine's move
                st.metric("Liquidation price by the engine (root finding)", en)
                if e.recheck is not None:
                    st.metric("Re-check: equity − maintenance at that move", f"{e.recheck:.3g}")
            else:
                st.metric("Liquidation price by the formula", cf)
                st.metric("Liquidation price by the engine", en)
            st.caption(e.note)


explain_card()
