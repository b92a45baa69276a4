"""Small rendering helpers shared by the pages (layout only; no maths)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

VIEW_TITLES = {"as_is": "As is (each position in its own mode)", "cross": "All cross", "isolated": "All isolated"}


def render_problems(headline: str, lines: Sequence[str]) -> None:
    """Every problem of a rejected input, one per line (path, field, rule, value)."""
    st.error(headline + "\n\n" + "\n".join(f"- {line}" for line in lines))


def positions_table(view: dict[str, object]) -> pd.DataFrame:
    rows = []
    for p in view["positions"]:  # type: ignore[attr-defined]
        rows.append({
            "position": p["id"], "mark": p["mark_price"], "notional": p["notional"], "uPnL": p["unrealized_pnl"],
            "maintenance": p["maintenance_margin"], "mmr": p["mmr"], "liquidation price": p["liquidation_price"],
            "distance": p["distance_to_liquidation"], "bankruptcy price": p["bankruptcy_price"],
            "liquidated": p["liquidated"],
        })
    return pd.DataFrame(rows)
