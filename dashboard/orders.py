"""Orders (``portfolio-format.md`` §7) in the dashboard: each position's stops and take-profits in one view.

Every figure is the core's: the ``orders`` rows that ``python -m margin evaluate`` gives each position
(``fill_price``, ``realized_pnl``, ``before_liquidation``, :mod:`margin.orders`); this module only lays them
out as a table (pure, pandas) and caches the evaluation per portfolio text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.compute import parse_cached
from margin import evaluate_portfolio
from margin.instruments import parse_symbol

#: how ``before_liquidation`` reads in a table
YES_NO = {True: "yes", False: "no"}
TYPE_LABELS = {"stop": "stop", "take_profit": "take profit"}
BEFORE_COLUMN = "fires before liquidation"


@dataclass(frozen=True)
class OrderRow:
    """One order of one position in one view (format §7 ``positions[].orders[]``), with its position."""

    position: str
    symbol: str
    side: str
    id: str
    type: str
    trigger_price: float
    contracts: float
    fill_price: float
    realized_pnl: float
    before_liquidation: bool


def order_rows(doc: Mapping[str, Any]) -> dict[str, tuple[OrderRow, ...]]:
    """Per view of an ``evaluate`` document, every position's orders in position order, then file order
    (empty when the file has no orders: the document then has no ``orders`` key)."""
    out: dict[str, tuple[OrderRow, ...]] = {}
    for view, body in doc["modes"].items():
        out[view] = tuple(
            OrderRow(
                str(p["id"]),
                str(p["symbol"]),
                str(p["side"]),
                str(o["id"]),
                str(o["type"]),
                float(o["trigger_price"]),
                float(o["contracts"]),
                float(o["fill_price"]),
                float(o["realized_pnl"]),
                bool(o["before_liquidation"]),
            )
            for p in body["positions"]
            for o in p.get("orders", ())
        )
    return out


@st.cache_data(max_entries=32, show_spinner=False)
def orders_cached(text: str) -> dict[str, tuple[OrderRow, ...]]:
    """The orders rows of every view of the portfolio ``text`` (``python -m margin evaluate``'s figures)."""
    return order_rows(evaluate_portfolio(parse_cached(text)))


def orders_table(rows: Sequence[OrderRow]) -> pd.DataFrame:
    """One row per order: its position, trigger, contracts, fill (with the file's slippage), realised PnL at
    the fill and whether the mark reaches it before the position's liquidation price in this view. Prices
    are in the symbol's quote asset and PnL in its settle asset: in the headers when every order shares
    them, else in a ``quote`` / ``settle`` column."""
    instruments = [parse_symbol(r.symbol) for r in rows]
    quotes = ["" if i is None else i.quote for i in instruments]
    settles = ["" if i is None else i.settle for i in instruments]
    one_quote, one_settle = len(set(quotes)) <= 1, len(set(settles)) <= 1
    q = f" ({quotes[0]})" if one_quote and quotes else ""
    s = f" ({settles[0]})" if one_settle and settles else ""
    records = []
    for k, r in enumerate(rows):
        rec: dict[str, object] = {"position": r.position, "order": r.id, "type": TYPE_LABELS.get(r.type, r.type)}
        if not one_quote:
            rec["quote"] = quotes[k]
        rec |= {f"trigger price{q}": r.trigger_price, "contracts": r.contracts, f"fill price{q}": r.fill_price}
        if not one_settle:
            rec["settle"] = settles[k]
        rec |= {f"realized PnL{s}": r.realized_pnl, BEFORE_COLUMN: YES_NO[r.before_liquidation]}
        records.append(rec)
    columns = ["position", "order", "type", *([] if one_quote else ["quote"])]
    columns += [f"trigger price{q}", "contracts", f"fill price{q}", *([] if one_settle else ["settle"])]
    columns += [f"realized PnL{s}", BEFORE_COLUMN]
    return pd.DataFrame(records, columns=columns)


ORDERS_NOTE = (
    "Orders (portfolio-format.md §7) are reduce-only market closes: a stop when the mark crosses its trigger "
    "against the position, a take profit in its favour. Fill price = trigger × (1 − slippage) for a sell "
    "(closing a long), × (1 + slippage) for a buy; realized PnL = the closed contracts' PnL at the fill. "
    "Fires before liquidation: the mark of that symbol moving alone reaches the trigger before the position's "
    "liquidation price in this view. Every other figure is that of the portfolio with its orders unfilled."
)
