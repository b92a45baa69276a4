"""Small rendering helpers shared by the pages (layout only; no maths)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from dashboard import compute, state
from dashboard.charts import VIEW_TITLES
from dashboard.cockpit import PositionsTable
from dashboard.navigation import ensure_router
from dashboard.results import ViewReport
from margin import Resolved

__all__ = [
    "LAYOUT_CSS",
    "VIEW_TITLES",
    "apply_layout",
    "page",
    "positions_table",
    "render_positions",
    "render_problems",
    "table",
]

#: layout tweaks, applied on every page by the router (``app.py``): on a wide screen the main column's side
#: padding is 1.5 rem instead of Streamlit's 5 rem, so a 12-column positions table fits beside the sidebar
#: at 1440 px (on a phone Streamlit's own 1 rem applies; tables and charts scroll inside themselves)
LAYOUT_CSS = """<style>
@media (min-width: 1200px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; }
}
</style>"""


def apply_layout() -> None:
    """Inject :data:`LAYOUT_CSS` (a style-only ``st.html`` takes no space on the page)."""
    st.html(LAYOUT_CSS)


def render_problems(headline: str, lines: Sequence[str]) -> None:
    """Every problem of a rejected input, one per line (path, field, rule, value)."""
    st.error(headline + "\n\n" + "\n".join(f"- {line}" for line in lines))


def positions_table(view: ViewReport) -> pd.DataFrame:
    """One row per position of ``view``: mark, notional, PnL, maintenance, liquidation and bankruptcy; when the
    view holds an option (format §6), each row's kind and an option's value (settle asset) and delta (§6.2):
    an option's mark is its underlying price F and its liquidation price the underlying's at the crossing."""
    options = any(p.is_option for p in view.positions)
    rows: list[dict[str, object]] = []
    for p in view.positions:
        row: dict[str, object] = {"position": p.id}
        if options:
            row["kind"] = p.kind
        row |= {
            "mark": p.mark_price,
            "notional": p.notional,
            "uPnL": p.unrealized_pnl,
            "maintenance": p.maintenance_margin,
            "mmr": p.mmr,
            "liquidation price": p.liquidation_price,
            "distance": p.distance_to_liquidation,
            "bankruptcy price": p.bankruptcy_price,
            "liquidated": p.liquidated,
        }
        if options:
            row |= {"value": p.value, "delta": dict(p.greeks).get("delta")}
        rows.append(row)
    return pd.DataFrame(rows)


def page(title: str, *, need_positions: bool = True) -> tuple[str, Resolved]:
    """The common head of a page: config, title, the current portfolio (text and resolved); stops the page
    with a note when it holds no position and ``need_positions``."""
    ensure_router()
    st.set_page_config(page_title=f"{title} · Margin Lab", page_icon="📉", layout="wide")
    st.title(title)
    state.ensure_portfolio()
    text = state.current_text()
    resolved = compute.resolved_cached(text)
    st.caption(f"Portfolio: {state.current_source()}")
    if need_positions and not resolved.legs:
        if resolved.option_legs:
            # the page works on futures positions (their tiers, their single-price liquidation, format §2)
            st.info(
                "The portfolio holds options only: this page works on futures positions. The options' margins, "
                "greeks and liquidation moves are on the Options & portfolio margin page (portfolio-format.md §6)."
            )
        else:
            st.info("The portfolio holds no position: load or add one on the Home page.")
        st.stop()
    return text, resolved


PERCENT_COLUMNS = (
    "distance",
    "distance (cross)",
    "distance (isolated)",
    "mmr",
    "move",
    "BTC move",
    "probability",
    "95 % CI low",
    "95 % CI high",
    "relative",
)


def table(
    data: pd.DataFrame | Sequence[Mapping[str, object]],
    *,
    percent: Sequence[str] = PERCENT_COLUMNS,
    wide: Sequence[str] = (),
) -> None:
    """A data table with fractions shown as percentages and amounts in the locale's number format."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    config: dict[str, ColumnConfig] = {}
    for col in frame.columns:
        if col in percent:
            config[col] = st.column_config.NumberColumn(format="percent")
        elif col in wide:
            config[col] = st.column_config.TextColumn(width="large")
        elif pd.api.types.is_float_dtype(frame[col]):
            config[col] = st.column_config.NumberColumn(
                format="%.6g" if "price" in str(col) or col in ("mark", "value", "exchange", "ours") else "localized"
            )
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)


def render_positions(pt: PositionsTable, key: str) -> None:
    """The positions table of one view: prices with significant digits, amounts in the locale's format
    (significant digits for coin amounts), the distance as a percentage; sortable by any column."""
    config: dict[str, ColumnConfig] = {
        "distance": st.column_config.NumberColumn(format="percent", help="liquidation price ÷ mark − 1"),
        "size (contracts)": st.column_config.NumberColumn(format="%.6g"),
        "mode": st.column_config.TextColumn(help="margin mode of the position in this view"),
        "state": st.column_config.TextColumn(width="small", help="state of the position's pool (margin ratio)"),
    }
    for col in pt.price_columns:
        config[col] = st.column_config.NumberColumn(format="%.6g")
    for col in pt.amount_columns:
        config[col] = st.column_config.NumberColumn(format="%.6g" if pt.coin_amounts else "localized")
    for col in pt.greek_columns:
        config[col] = st.column_config.NumberColumn(format="%.6g", help="Black-76 greek (portfolio-format.md §6.2)")
    if "kind" in pt.frame.columns:
        config["kind"] = st.column_config.TextColumn(
            width="small",
            help="future or option; an option's mark and liquidation price are its underlying's price (§6.3)",
        )
    st.dataframe(pt.frame, hide_index=True, width="stretch", column_config=config, key=key)
