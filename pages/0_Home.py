"""Home: how far the account is from being lost, its pools and positions in each view; load, edit, download."""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import compute, import_panel, keys, state
from dashboard.charts import VIEW_LABELS
from dashboard.cockpit import (
    STATE_COLORS,
    STATE_LABELS,
    levels_note,
    move_cells,
    moves_markdown,
    pools_frame,
    positions_table,
    search_note,
    state_counts,
    view_state,
)
from dashboard.editing import (
    collateral_frame,
    index_prices_frame,
    order_symbols,
    orders_frame,
    portfolio_from_frames,
    positions_frame,
    prices_frame,
)
from dashboard.navigation import ensure_router
from dashboard.orders import ORDERS_NOTE, orders_table
from dashboard.samples import sample_names
from dashboard.summary import money, view_summary
from dashboard.views import VIEW_TITLES, render_positions, render_problems, table
from margin import PortfolioError, dump_positions_csv, parse_portfolio_json, portfolio_from_csv
from margin.files import csv_order_gaps
from margin.portfolio import ORDER_TYPES, SIDES
from margin.scenarios import bases_of
from margin.venues import VENUES
from margin.whatif import choose_betas

ensure_router()
st.set_page_config(page_title="Margin Lab", page_icon="📉", layout="wide")
state.ensure_portfolio()
portfolio = state.current_portfolio()
text = state.current_text()

st.title("Margin Lab")
st.caption(
    "What happens to my account if prices move, and would isolated margin have saved me? Liquidation "
    "prices for the whole account, in cross and isolated margin, exactly as the venue computes them."
)
n_pos = len(portfolio.positions)
st.info(
    f"Current portfolio: **{state.current_source()}** · venue **{portfolio.venue}** · "
    f"{n_pos} position{'' if n_pos == 1 else 's'} · collateral {money(dict(portfolio.collateral))} "
    "(load another one at the bottom of this page)"
)

# --------------------------------------------------------------------------- how far from losing the account

st.subheader("How far from losing the account")
report = compute.evaluate_cached(text)
resolved = compute.resolved_cached(text)
assets = bases_of(resolved)
history, history_note = state.market_history(assets)
betas = choose_betas(assets, compute.shipped_history(), refreshed=history)
uniform_moves = compute.distance_cached(text)
beta_moves = compute.distance_cached(text, betas.pairs())
st.caption(
    "The market move that liquidates the account's first pool, and the one by which every pool holding "
    "positions is liquidated (the whole account): with every price moving alike, and with BTC moving and "
    "each asset following at its beta (as in the Shock lab). The last line is the nearest liquidation "
    "price of a single position: its own price moving alone, every other price held."
)
cols = st.columns(3)
for col, (view, body) in zip(cols, report.modes.items(), strict=True):
    s = view_summary(body)
    worst = view_state(body)
    with col:
        st.markdown(f"**{VIEW_TITLES[view]}**")
        if worst is not None:
            st.badge(STATE_LABELS[worst], color=STATE_COLORS[worst])
        st.metric("Equity", money(s.equity))
        ratio = "equity ≤ 0" if s.bankrupt else ("-" if s.worst_margin_ratio is None else f"{s.worst_margin_ratio:.2%}")
        st.metric("Margin ratio (worst pool)", ratio)
        st.metric("Available", money(s.available))
        if s.liquidated:
            st.error(f"Liquidated: {', '.join(s.liquidated)}")
if not resolved.n_positions:
    st.info("The portfolio holds no position: nothing can be liquidated.")
else:
    if resolved.option_legs:
        st.info(
            "The portfolio holds options: they move with their base in every market move below; each position's "
            "liquidation price moves every instrument of its base together (portfolio-format.md §6.3), and the "
            "portfolio view's liquidation moves are on the **Options & portfolio margin** page."
        )
    for side, heading in (("down", "Falling market"), ("up", "Rising market")):
        st.markdown(f"**{heading}: the move that liquidates**")
        st.markdown(
            moves_markdown(
                [
                    (VIEW_LABELS[view], move_cells(view, side, uniform_moves, beta_moves, body))
                    for view, body in report.modes.items()
                ]
            )
        )
    st.caption(search_note(uniform_moves, beta_moves) + " " + history_note)

    st.subheader("Positions")
    tabs = st.tabs([VIEW_TITLES[v] for v in report.modes])
    for tab, (view, body) in zip(tabs, report.modes.items(), strict=True):
        with tab:
            render_positions(positions_table(body), key=keys.home_positions(view))
            if portfolio.orders:
                st.markdown("**Orders**")
                table(orders_table(body.orders), percent=())
    if portfolio.orders:
        st.caption(ORDERS_NOTE)
    st.caption(
        "Every figure is the one `python -m margin evaluate` prints for this file. Liquidation price: the "
        "price of that symbol, every other price held, at which its pool meets the trigger (equity at or below "
        "maintenance, portfolio-format.md §2); distance = liquidation price ÷ mark − 1. Click a header to sort."
    )

    with st.expander("Pool states"):
        st.caption(levels_note(resolved.alert_levels))
        for view, body in report.modes.items():
            counts = state_counts(body)
            st.markdown(
                f"**{VIEW_TITLES[view]}**: " + ", ".join(f"{n} {STATE_LABELS[k]}" for k, n in counts.items() if n)
            )
            table(pools_frame(body), percent=("margin ratio",))

# --------------------------------------------------------------------------- load, edit, download

st.subheader("Load, edit or import a portfolio")
tab_sample, tab_upload, tab_edit, tab_import = st.tabs(
    ["Sample portfolio", "Upload a file", "Edit positions", "Import from exchange"]
)

with tab_sample:
    names = sample_names()
    current = state.current_sample()
    choice = st.selectbox("Sample", names, index=names.index(current) if current in names else 0, key=keys.SAMPLE_PICK)
    if st.button("Load sample", key=keys.LOAD_SAMPLE):
        state.set_portfolio_text(compute.sample_text(choice), f"sample: {choice}", sample=choice)
        st.rerun()

with tab_upload:
    st.write(
        "A portfolio JSON file (`margin-portfolio/1`), or a CSV of positions; a CSV takes the venue, "
        "collateral and prices of the current portfolio."
    )
    upload = st.file_uploader("Portfolio file", type=["json", "csv"], key=keys.UPLOAD)
    if upload is not None and st.session_state.get(keys.UPLOAD_DONE) != upload.file_id:
        st.session_state[keys.UPLOAD_DONE] = upload.file_id
        try:
            raw = upload.getvalue().decode("utf-8")
        except UnicodeDecodeError:
            st.session_state[keys.UPLOAD_ERROR] = [f"{upload.name}: (file) must be UTF-8 text"]
        else:
            try:
                if upload.name.lower().endswith(".csv"):
                    loaded = portfolio_from_csv(
                        raw,
                        portfolio.venue,
                        portfolio.collateral,
                        portfolio.prices,
                        portfolio.position_mode,
                        source=upload.name,
                    )
                else:
                    loaded = parse_portfolio_json(raw, upload.name)
            except PortfolioError as err:
                st.session_state[keys.UPLOAD_ERROR] = state.portfolio_error_lines(err)
            else:
                st.session_state.pop(keys.UPLOAD_ERROR, None)
                state.set_portfolio(loaded, f"file: {upload.name}")
                st.rerun()
    if st.session_state.get(keys.UPLOAD_ERROR):
        render_problems(
            "The file was not loaded; the previous portfolio is still in force.", st.session_state[keys.UPLOAD_ERROR]
        )

with tab_edit:
    venues = sorted(VENUES)
    # the slippage input keeps its value by key: refill it whenever another portfolio is in force
    built_for = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if st.session_state.get(keys.EDIT_BUILT_FOR) != built_for:
        st.session_state[keys.EDIT_BUILT_FOR] = built_for
        st.session_state[keys.EDIT_SLIPPAGE] = portfolio.slippage
        st.session_state[keys.EDIT_AS_OF] = portfolio.as_of or ""
    with st.form(keys.EDIT_FORM):
        c1, c2 = st.columns(2)
        venue = c1.selectbox("Venue", venues, index=venues.index(portfolio.venue), key=keys.EDIT_VENUE)
        mode = c2.selectbox(
            "Position mode",
            ["one-way", "hedge"],
            index=0 if portfolio.position_mode == "one-way" else 1,
            key=keys.EDIT_MODE,
        )
        st.caption("Positions (add, delete and edit rows)")
        positions = st.data_editor(
            positions_frame(portfolio), num_rows="dynamic", key=keys.EDIT_POSITIONS, width="stretch"
        )
        c3, c4 = st.columns(2)
        with c3:
            st.caption("Collateral (wallet balance per asset)")
            collateral = st.data_editor(collateral_frame(portfolio), num_rows="dynamic", key=keys.EDIT_COLLATERAL)
        with c4:
            st.caption("Mark prices")
            prices = st.data_editor(prices_frame(portfolio), num_rows="dynamic", key=keys.EDIT_PRICES)
        st.caption(
            "Orders: stop-losses and take-profits (portfolio-format.md §7). Symbol: an open position's; blank "
            "contracts: the whole position; position side: which leg, needed in hedge mode when the symbol "
            "has a long and a short. A stop lies on the position's loss side of the mark, a take profit on its "
            "profit side."
        )
        orders = st.data_editor(
            orders_frame(portfolio),
            num_rows="dynamic",
            key=keys.EDIT_ORDERS,
            width="stretch",
            column_config={
                "symbol": st.column_config.SelectboxColumn(options=order_symbols(portfolio)),
                "type": st.column_config.SelectboxColumn(options=list(ORDER_TYPES)),
                "trigger_price": st.column_config.NumberColumn("trigger price", format="%.8g"),
                "contracts": st.column_config.NumberColumn(format="%.8g", help="blank: the whole position"),
                "position_side": st.column_config.SelectboxColumn(
                    "position side", options=list(SIDES), help="only in hedge mode: which leg"
                ),
            },
        )
        slippage = st.number_input(
            "Slippage on order fills (a fraction: 0.001 = 0.1 %; blank = 0)",
            key=keys.EDIT_SLIPPAGE,
            value=None,
            format="%.6g",
            step=None,
        )
        st.caption(
            "Market of the options (portfolio-format.md §6.1): as_of, the ISO-8601 UTC time the marks are taken at "
            "(required when the portfolio holds an option), and the USD index price of each base asset (the "
            "options' underlying and the USD value of coin balances in the portfolio view)."
        )
        c5, c6 = st.columns(2)
        as_of = c5.text_input("as_of (ISO-8601 UTC, e.g. 2026-11-20T08:00:00Z; blank: not given)", key=keys.EDIT_AS_OF)
        with c6:
            index_prices = st.data_editor(
                index_prices_frame(portfolio),
                num_rows="dynamic",
                key=keys.EDIT_INDEX_PRICES,
                column_config={"usd_price": st.column_config.NumberColumn("USD price", format="%.8g")},
            )
        applied = st.form_submit_button("Apply edits")
    if applied:
        state.apply_portfolio(
            lambda: portfolio_from_frames(
                portfolio,
                venue,
                mode,
                positions,
                collateral,
                prices,
                orders=orders,
                slippage=slippage,
                market=(as_of, index_prices),
            ),
            "edited table",
            keys.EDIT_ERROR,
        )
    if st.session_state.get(keys.EDIT_ERROR):
        render_problems(
            "The edits were not applied; the previous portfolio is still in force.", st.session_state[keys.EDIT_ERROR]
        )

with tab_import:
    import_panel.render()

c1, c2 = st.columns(2)
c1.download_button(
    "Download portfolio (JSON)",
    state.current_text(),
    file_name="portfolio.json",
    mime="application/json",
    key=keys.DOWNLOAD_JSON,
)
c2.download_button(
    "Download positions (CSV)",
    dump_positions_csv(portfolio.positions, portfolio.orders),
    file_name="positions.csv",
    mime="text/csv",
    key=keys.DOWNLOAD_CSV,
)
gaps = csv_order_gaps(portfolio.positions, portfolio.orders)
if gaps:
    c2.caption(
        f"The CSV carries one whole-position stop and take-profit per position; {', '.join(gaps)} "
        "(and the slippage, collateral, prices and alert rules) are in the JSON only."
    )
