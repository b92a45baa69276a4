"""Options & portfolio margin: each underlying's risk matrix, the greeks, the PnL of the book across the
underlying's move, the four views' margins and the liquidation moves (portfolio-format.md §6)."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, state
from dashboard.charts import option_pnl_chart, risk_matrix_heatmap
from dashboard.editing import index_prices_frame, portfolio_with_market
from dashboard.options_view import (
    VIEW_NAMES,
    VOL_STATES,
    greeks_by_underlying,
    greeks_rows,
    option_bases,
    position_liquidation_rows,
    risk_matrices,
    unit_liquidation_rows,
    view_margins,
)
from dashboard.views import page, render_problems, table
from margin import PortfolioError

text, resolved = page("Options & portfolio margin", need_positions=False)
st.caption(
    "The portfolio view margins the whole account as risk-based portfolio margin does: one pool in USD whose "
    "requirement is the worst loss over a grid of price and volatility scenarios per underlying, plus "
    "contingencies (portfolio-format.md §6.4, after Deribit's published portfolio-margin parameters)."
)
try:
    doc = compute.evaluate_doc_cached(text)
except PortfolioError as err:
    render_problems("This portfolio cannot be evaluated:", state.portfolio_error_lines(err))
    st.stop()
has_options = bool(resolved.option_legs)
if not has_options:
    st.info("The portfolio holds no options: the portfolio view below margins its futures and balances only.")


def _amount(x: float, unit: str) -> str:
    """USD with cents; a coin with 6 significant digits."""
    return f"{x:,.2f} {unit}" if unit == "USD" else f"{x:,.6g} {unit}"


@st.fragment
def margins_card() -> None:
    """(d) IM and MM of the four views side by side."""
    st.subheader("Initial and maintenance margin of the four views")
    cols = st.columns(4)
    rows = view_margins(doc)
    for col, view in zip(cols, VIEW_NAMES, strict=True):
        with col:
            st.markdown(f"**{VIEW_NAMES[view]}**")
            for vm in (r for r in rows if r.view == view):
                st.metric(f"Initial margin ({vm.unit})", _amount(vm.initial_margin, vm.unit))
                st.metric(f"Maintenance margin ({vm.unit})", _amount(vm.maintenance_margin, vm.unit))
                st.caption(f"equity {_amount(vm.equity, vm.unit)} · {vm.pools} pool{'' if vm.pools == 1 else 's'}")
    st.caption(
        "Standard views: the sum over each view's pools of one settle asset, in that asset (a short option's "
        "margin is Deribit's standard option margin, §6.3; a long option needs none). Portfolio margin: its one "
        "pool in USD, IM = Σ risk-unit requirements, MM = mm_factor × IM (§6.4)."
    )


@st.fragment
def risk_card() -> None:
    """(a) the risk matrix of each underlying, worst cell marked, extended scenarios listed."""
    st.subheader("Risk matrix per underlying")
    mats = risk_matrices(doc)
    if not mats:
        st.info("No risk unit: the portfolio exposes no base asset.")
        return
    for m in mats:
        st.plotly_chart(
            risk_matrix_heatmap(m.underlying, m.moves, VOL_STATES, m.pnl, m.worst_cell),
            width="stretch",
            key=keys.opt_matrix(m.underlying),
        )
        worst = "extended " if m.worst_extended else ""
        st.markdown(
            f"**{m.underlying}**: worst scenario {worst}move {m.worst_move:+.2%} with vol {m.worst_vol} · "
            f"scenario loss {m.scenario_loss:,.2f} USD + contingency {m.contingency:,.2f} USD = requirement "
            f"{m.requirement:,.2f} USD (price range ±{m.price_range:.0%})"
        )
        with st.expander(f"Extended scenarios of {m.underlying} (weighted)"):
            table(
                [
                    {
                        "move": e.move,
                        "vol": e.vol,
                        "weight": e.weight,
                        "PnL (USD)": e.pnl,
                        "weighted loss (USD)": e.weighted_loss,
                    }
                    for e in m.extended
                ]
            )
    st.caption(
        "Each cell: the change of the account's USD equity (after haircuts) when every price of the underlying "
        "moves by the column's move and its options' volatility goes up, stays or goes down (§6.4); the ring "
        "marks the worst cell. Extended scenarios count at their weight."
    )


@st.fragment
def greeks_card() -> None:
    """(b) greeks per position and per underlying."""
    st.subheader("Greeks")
    if not has_options:
        st.caption("No option is held.")
        return
    table(greeks_rows(doc))
    st.markdown("**Per underlying (sum of its options)**")
    table(greeks_by_underlying(doc))
    st.caption(
        "Black-76 on the forward (§6.2), per position: delta in underlying units, gamma per USD, vega in USD per "
        "0.01 of volatility, theta in USD per day; value in the settle asset. The account delta is the "
        "portfolio view's USD equity change for a 1 % move of the underlying (its futures and balances too)."
    )


@st.fragment
def pnl_card() -> None:
    """(c) PnL of the book across the underlying's move, today and at expiry."""
    st.subheader("PnL across the underlying's move")
    if not has_options:
        st.caption("No option is held.")
        return
    bases = option_bases(resolved)
    base = bases[0] if len(bases) == 1 else str(st.radio("Underlying", bases, horizontal=True, key=keys.OPT_PNL_BASE))
    try:
        curves = compute.pnl_curves_cached(text, base)
    except PortfolioError as err:
        render_problems("The PnL curve cannot be drawn:", state.portfolio_error_lines(err))
        return
    st.plotly_chart(
        option_pnl_chart(base, curves.moves, curves.today, curves.at_expiry), width="stretch", key=keys.OPT_PNL
    )
    st.caption(
        f"The account's USD equity (portfolio view) against {base}'s move, from its value now: today with the "
        f"options at their Black-76 value, and {curves.expiry_days:.1f} days on, at the last expiry, every option "
        "at its intrinsic value (`--days`, §6.5)."
    )


@st.fragment
def liquidation_card() -> None:
    """(e) the liquidation moves of each risk unit and each position's liquidation price per view."""
    st.subheader("Liquidation")
    st.markdown("**Portfolio margin: the move of each underlying that liquidates the account**")
    table(unit_liquidation_rows(resolved, doc), percent=("move down", "move up"))
    st.markdown("**Each position's liquidation price per view**")
    table(position_liquidation_rows(doc))
    st.caption(
        "An option's liquidation price is its underlying's price at the crossing (§6.3); in the portfolio view "
        "a position's is its price at its unit's liquidation move nearer to 0 (§6.4). None: no move in range "
        "liquidates (down to −95 %, up to +500 %)."
    )


@st.fragment
def market_card() -> None:
    """The file's ``as_of`` and index prices, settable (the reader checks them; a refusal keeps the book)."""
    portfolio = state.current_portfolio()
    with st.expander("Market of the options: as of and index prices"):
        with st.form(keys.OPT_MARKET_FORM):
            as_of = st.text_input("as_of (ISO-8601 UTC)", value=portfolio.as_of or "", key=keys.OPT_AS_OF)
            prices = st.data_editor(index_prices_frame(portfolio), num_rows="dynamic", key=keys.OPT_INDEX_PRICES)
            applied = st.form_submit_button("Apply")
        if applied:
            state.apply_portfolio(
                lambda: portfolio_with_market(portfolio, as_of, prices), "edited market", keys.OPT_MARKET_ERROR
            )
        if st.session_state.get(keys.OPT_MARKET_ERROR):
            render_problems(
                "The market was not applied; the previous portfolio is still in force.",
                st.session_state[keys.OPT_MARKET_ERROR],
            )


margins_card()
risk_card()
greeks_card()
pnl_card()
liquidation_card()
market_card()
