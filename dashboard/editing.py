"""Portfolio ⇄ editable tables for the Home page (pure: pandas in, portfolio out).

Edited tables are turned back into a portfolio dict and validated by the core; every problem names
the table row and field (``table row 2.leverage must be >= 1, got 0``). Fields the tables do not
show (tiers, taker fee, collateral assets, origin) are kept from the portfolio being edited.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from margin import Portfolio, portfolio_from_dict, portfolio_to_dict
from margin.portfolio import FORMAT

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
]
NUMBER_COLUMNS = {"contracts", "entry_price", "leverage", "isolated_margin", "contract_size", "mark_price"}


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
            }
        )
    frame = pd.DataFrame(rows, columns=POSITION_COLUMNS)
    for col in NUMBER_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("id", "symbol", "side", "margin_mode"):
        frame[col] = frame[col].astype("object")
    return frame


def collateral_frame(portfolio: Portfolio) -> pd.DataFrame:
    return pd.DataFrame(
        {"asset": list(portfolio.collateral), "amount": list(portfolio.collateral.values())},
        columns=["asset", "amount"],
    ).astype({"asset": "object", "amount": "float64"})


def prices_frame(portfolio: Portfolio) -> pd.DataFrame:
    symbols = list(dict.fromkeys([*portfolio.prices, *(p.symbol for p in portfolio.positions)]))
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


#: the top-level fields the editor's tables and selectors rebuild
TABLE_FIELDS = frozenset({"format", "venue", "position_mode", "collateral", "prices", "positions"})


def portfolio_from_frames(
    base: Portfolio,
    venue: str,
    position_mode: str,
    positions: pd.DataFrame,
    collateral: pd.DataFrame,
    prices: pd.DataFrame,
) -> Portfolio:
    """Validate the edited tables as a portfolio; raises :class:`margin.PortfolioError` naming rows."""
    # everything the tables do not show (tiers, fees, orders, alert rules, origin, ...) stays as it was
    doc: dict[str, Any] = {k: v for k, v in portfolio_to_dict(base).items() if k not in TABLE_FIELDS}
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
    return portfolio_from_dict(doc, "edited table", position_paths=paths)
