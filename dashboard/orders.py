"""Orders (``portfolio-format.md`` §7) in the dashboard: each position's stops and take-profits in one view.

Every figure is the core's: the ``orders`` rows that ``python -m margin evaluate`` gives each position
(``fill_price``, ``realized_pnl``, ``before_liquidation``, :mod:`margin.orders`); this module only lays them
out as a table (pure, pandas); the rows come with the page's cached evaluation (:attr:`ViewReport.orders`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.cockpit import symbol_units
from dashboard.results import PORTFOLIO, OrderRow, ViewReport
from margin.instruments import parse_symbol

#: how ``before_liquidation`` reads in a table
YES_NO = {True: "yes", False: "no"}
TYPE_LABELS = {"stop": "stop", "take_profit": "take profit"}
BEFORE_COLUMN = "fires before liquidation"


def order_rows(doc: Mapping[str, Any]) -> dict[str, tuple[OrderRow, ...]]:
    """Per view of an ``evaluate`` document, every position's orders in position order, then file order
    (empty when the file has no orders: the document then has no ``orders`` key)."""
    return {view: ViewReport.from_doc(body).orders for view, body in doc["modes"].items() if view != PORTFOLIO}


def orders_table(rows: Sequence[OrderRow]) -> pd.DataFrame:
    """One row per order: its position, trigger, contracts, fill (with the file's slippage), realised PnL at
    the fill and whether the mark reaches it before the position's liquidation price in this view. Prices
    are in the symbol's quote asset and PnL in its settle asset: in the headers when every order shares
    them, else in a ``quote`` / ``settle`` column."""
    quotes, settles, one_quote, one_settle = symbol_units([parse_symbol(r.symbol) for r in rows])
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
