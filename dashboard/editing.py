"""Portfolio ⇄ editable tables for the Home page (pure: pandas in, portfolio out).

Edited tables are turned back into a portfolio dict and validated by the core; every problem names
the table row and field (``table row 2.leverage must be >= 1, got 0``; an order's
``orders table row 1.trigger_price must be below the mark ...``). Fields the tables do not show (tiers,
taker fee, collateral assets, alert rules, origin; the orders and slippage when no orders table is given)
are kept from the portfolio being edited.
"""

from __future__ import annotations

import math
import re
from types import EllipsisType
from typing import Any

import pandas as pd

from margin import Portfolio, PortfolioError, portfolio_from_dict, portfolio_to_dict
from margin.errors import Problem
from margin.options import is_option_symbol
from margin.portfolio import FORMAT, ORDER_FIELDS

POSITION_COLUMNS = [
    "id",
    "symbol",
    "side",
    "contracts",
    "entry_price",
    "leverage",
    "margin_mode",
    "isolated_margin",
    "contract_size",
    "mark_price",
    "iv",
    "underlying_price",
]
#: ``iv`` and ``underlying_price`` are an option's (format §6.1: blank on a future; an option needs its iv)
NUMBER_COLUMNS = {
    "contracts",
    "entry_price",
    "leverage",
    "isolated_margin",
    "contract_size",
    "mark_price",
    "iv",
    "underlying_price",
}


def positions_frame(portfolio: Portfolio) -> pd.DataFrame:
    rows = []
    for p in portfolio.positions:
        rows.append(
            {
                "id": p.id or None,
                "symbol": p.symbol,
                "side": p.side,
                "contracts": p.contracts,
                "entry_price": p.entry_price,
                "leverage": p.leverage,
                "margin_mode": p.margin_mode,
                "isolated_margin": p.isolated_margin,
                "contract_size": p.contract_size,
                "mark_price": p.mark_price,
                "iv": p.iv,
                "underlying_price": p.underlying_price,
            }
        )
    frame = pd.DataFrame(rows, columns=POSITION_COLUMNS)
    for col in NUMBER_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("id", "symbol", "side", "margin_mode"):
        frame[col] = frame[col].astype("object")
    return frame


#: the orders table's columns: the order fields of portfolio-format.md §7, in the file's order
ORDER_COLUMNS = list(ORDER_FIELDS)
ORDER_NUMBER_COLUMNS = {"trigger_price", "contracts"}
#: how an order's problems are named: ``orders table row 2.trigger_price ...`` (1-based, as shown)
ORDER_ROW = "orders table row"


def orders_frame(portfolio: Portfolio) -> pd.DataFrame:
    """One row per order (format §7): blank ``contracts`` is the whole position, blank ``position_side`` the
    one position of the symbol (required in hedge mode when the symbol has both sides)."""
    rows = [
        {
            "id": o.id or None,
            "symbol": o.symbol,
            "type": o.type,
            "trigger_price": o.trigger_price,
            "contracts": o.contracts,
            "position_side": o.position_side,
        }
        for o in portfolio.orders
    ]
    frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    for col in ORDER_COLUMNS:
        if col in ORDER_NUMBER_COLUMNS:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        else:
            frame[col] = frame[col].astype("object")
    return frame


def order_symbols(portfolio: Portfolio) -> list[str]:
    """The symbols an order may name: those of the open positions, in order of first appearance."""
    return list(dict.fromkeys(p.symbol for p in portfolio.positions))


def collateral_frame(portfolio: Portfolio) -> pd.DataFrame:
    return pd.DataFrame(
        {"asset": list(portfolio.collateral), "amount": list(portfolio.collateral.values())},
        columns=["asset", "amount"],
    ).astype({"asset": "object", "amount": "float64"})


def prices_frame(portfolio: Portfolio) -> pd.DataFrame:
    # an option has no mark here: its underlying price is its ``underlying_price`` or the index price (§6.1)
    held = (p.symbol for p in portfolio.positions if not is_option_symbol(p.symbol))
    symbols = list(dict.fromkeys([*portfolio.prices, *held]))
    return pd.DataFrame(
        {"symbol": symbols, "mark_price": [portfolio.prices.get(s) for s in symbols]}, columns=["symbol", "mark_price"]
    ).astype({"symbol": "object", "mark_price": "float64"})


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if hasattr(value, "item"):
        return value.item()
    return value


def _column_map(frame: pd.DataFrame, key: str, value: str) -> dict[str, Any]:
    """``{key cell: value cell}`` of the rows whose key cell is filled."""
    out: dict[str, Any] = {}
    for _, row in frame.iterrows():
        name = _cell(row.get(key))
        if name is not None:
            out[str(name)] = _cell(row.get(value))
    return out


def index_prices_frame(portfolio: Portfolio) -> pd.DataFrame:
    """The file's ``index_prices`` (format §6.1: USD price per base asset), one row per asset."""
    return pd.DataFrame(
        {"asset": list(portfolio.index_prices), "usd_price": list(portfolio.index_prices.values())},
        columns=["asset", "usd_price"],
    ).astype({"asset": "object", "usd_price": "float64"})


#: the top-level fields of the options' market (format §6.1), set by :func:`portfolio_with_market`
MARKET_FIELDS = ("as_of", "index_prices")


def _set_market(doc: dict[str, Any], as_of: str | None, index_prices: pd.DataFrame) -> None:
    """``doc``'s ``as_of`` (blank: not given) and ``index_prices`` (the rows with an asset) replaced (§6.1)."""
    for field in MARKET_FIELDS:
        doc.pop(field, None)
    text = _cell(as_of)
    if text is not None:
        doc["as_of"] = text
    prices = _column_map(index_prices, "asset", "usd_price")
    if prices:
        doc["index_prices"] = prices


def portfolio_with_market(base: Portfolio, as_of: str | None, index_prices: pd.DataFrame) -> Portfolio:
    """``base`` with its ``as_of`` (blank: not given) and ``index_prices`` replaced (format §6.1), validated by
    the core's reader (an option needs ``as_of``; an option at or past its expiry is refused)."""
    doc: dict[str, Any] = dict(portfolio_to_dict(base))
    _set_market(doc, as_of, index_prices)
    return portfolio_from_dict(doc, "edited market")


#: the top-level fields the editor's tables and selectors rebuild (``as_of``, ``index_prices`` and the
#: ``portfolio_margin`` parameters of format §6 are kept unless ``market`` is given; :func:`portfolio_with_market`
#: sets the first two)
TABLE_FIELDS = frozenset({"format", "venue", "position_mode", "collateral", "prices", "positions"})


def portfolio_from_frames(
    base: Portfolio,
    venue: str,
    position_mode: str,
    positions: pd.DataFrame,
    collateral: pd.DataFrame,
    prices: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    slippage: float | EllipsisType | None = ...,
    market: tuple[str | None, pd.DataFrame] | None = None,
) -> Portfolio:
    """Validate the edited tables as a portfolio; raises :class:`margin.PortfolioError` naming rows.

    ``orders`` (the orders table, format §7) replaces the file's orders, ``None`` keeps them; ``slippage``
    replaces the file's (``None``: not given, i.e. 0), ``...`` keeps it; ``market`` (``as_of`` text, blank: not
    given, and the index prices table of :func:`index_prices_frame`, format §6.1) replaces the file's, ``None``
    keeps it. Everything is validated at once by the core's reader (an order that would fire at once, more
    contracts than held, no such position, an ambiguous hedge leg; an option without ``as_of`` or expired at it)."""
    # everything the tables do not show (tiers, fees, orders, alert rules, origin, ...) stays as it was
    shown = (
        TABLE_FIELDS | ({"orders"} if orders is not None else set()) | ({"slippage"} if slippage is not ... else set())
    )
    doc: dict[str, Any] = {k: v for k, v in portfolio_to_dict(base).items() if k not in shown}
    doc.update({"format": FORMAT, "venue": venue, "position_mode": position_mode})
    doc["collateral"] = _column_map(collateral, "asset", "amount")
    doc["prices"] = _column_map(prices, "symbol", "mark_price")
    recs: list[dict[str, Any]] = []
    paths: list[str] = []
    for n, (_, row) in enumerate(positions.iterrows(), start=1):
        rec = {col: _cell(row.get(col)) for col in POSITION_COLUMNS}
        if all(v is None for v in rec.values()):
            continue
        recs.append({k: v for k, v in rec.items() if v is not None})
        paths.append(f"table row {n}")
    doc["positions"] = recs
    rows: list[int] = []
    if orders is not None:
        order_recs: list[dict[str, Any]] = []
        for n, (_, row) in enumerate(orders.iterrows(), start=1):
            rec = {col: _cell(row.get(col)) for col in ORDER_COLUMNS}
            if all(v is None for v in rec.values()):
                continue
            order_recs.append({k: v for k, v in rec.items() if v is not None})
            rows.append(n)
        if order_recs:
            doc["orders"] = order_recs
    if slippage is not ... and slippage is not None:
        doc["slippage"] = _cell(slippage)
    if market is not None:
        _set_market(doc, *market)
    try:
        return portfolio_from_dict(doc, "edited table", position_paths=paths)
    except PortfolioError as err:
        if not rows:
            raise
        raise PortfolioError([_order_row(p, rows) for p in err.problems], err.source) from None


_ORDER_PATH = re.compile(r"\borders\[(\d+)\]")


def _order_row(problem: Problem, rows: list[int]) -> Problem:
    """``problem`` with every order path ``orders[j]`` in it (its own, or one its rule refers to: ``must be
    unique (also orders[1])``) named by that order's table row (blank rows are skipped, so ``j`` is not a row)."""

    def row(m: re.Match[str]) -> str:
        j = int(m.group(1))
        return f"{ORDER_ROW} {rows[j]}" if j < len(rows) else m.group(0)

    return Problem(
        _ORDER_PATH.sub(row, problem.path), _ORDER_PATH.sub(row, problem.rule), problem.value, problem.show_value
    )
