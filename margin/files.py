"""Read and write portfolio files: canonical JSON and the positions CSV (``portfolio-format.md`` §1).

With :mod:`margin.loader` (the shipped data), the only file access of the core. Parsing is strict: malformed JSON, an
empty file, a wrongly typed or non-finite number, an unknown field or a broken rule raises a
:class:`~margin.errors.PortfolioError` that names the file, the row or path, the field, the rule and
the value, with every problem at once.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import jsontext
from .errors import PortfolioError, Problem, number_rule, parse_number
from .portfolio import (
    FORMAT,
    POSITION_FIELDS,
    Order,
    Portfolio,
    Position,
    portfolio_from_dict,
    portfolio_to_dict,
    position_from_dict,
    position_to_dict,
)

CSV_NUMBER_FIELDS = (
    "contracts",
    "contract_size",
    "entry_price",
    "mark_price",
    "leverage",
    "isolated_margin",
    "iv",
    "underlying_price",
)
#: the option columns (format §6.1), written only when a position gives them (a futures CSV keeps its shape)
CSV_OPTION_COLUMNS = ("iv", "underlying_price")


def parse_portfolio_json(text: str, source: str = "portfolio") -> Portfolio:
    """A portfolio from JSON text; raises :class:`PortfolioError`."""
    if not text.lstrip("\ufeff").strip():
        raise PortfolioError(
            [Problem("(file)", "is empty: expected a JSON portfolio object", None, show_value=False)], source
        )
    data = jsontext.loads(text, source)
    return portfolio_from_dict(data, source)


def dump_portfolio_json(portfolio: Portfolio) -> str:
    """Canonical JSON text (format §1); :func:`parse_portfolio_json` reads it back equal."""
    return json.dumps(portfolio_to_dict(portfolio), indent=2, allow_nan=False) + "\n"


def parse_positions_csv(text: str, source: str = "positions.csv") -> list[Position]:
    """Positions from CSV text (see :func:`read_positions_csv`, which also gives each row's name)."""
    return [p for p, _ in read_positions_csv(text, source)]


#: optional CSV columns giving a position's orders (format §7, a compatible extension of the positions CSV):
#: the trigger price of a ``stop`` / ``take_profit`` closing the whole position; empty: none
CSV_ORDER_COLUMNS: tuple[str, ...] = ("stop", "take_profit")


def read_positions_csv(text: str, source: str = "positions.csv") -> list[tuple[Position, str]]:
    """Positions from CSV text: one row each, columns named as the position fields (format §1).

    Rows are reported as ``row N`` counting the header as row 1.
    """
    return read_csv_book(text, source)[0]


def read_csv_book(
    text: str, source: str = "positions.csv"
) -> tuple[list[tuple[Position, str]], list[tuple[dict[str, object], str]]]:
    """Positions and their orders from CSV text: the positions as :func:`read_positions_csv` reads them, and
    for every ``stop`` / ``take_profit`` cell (:data:`CSV_ORDER_COLUMNS`) an order of the whole position at
    that trigger (format §7 fields; ``id`` ``"<position label> <type>"``: the row's id, else ``"<symbol>
    <side>"``, then the type), with the
    cell's name (``row N.stop``). The orders are checked against the positions by the portfolio's reader."""
    if not text.strip():
        raise PortfolioError(
            [Problem("(file)", "is empty: expected a header row and one row per position", None, show_value=False)],
            source,
        )
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise PortfolioError([Problem("(file)", f"is not valid CSV ({err})", None, show_value=False)], source) from None
    header = [h.strip() for h in rows[0]]
    problems: list[Problem] = []
    for name in header:
        if name not in POSITION_FIELDS and name not in CSV_ORDER_COLUMNS:
            problems.append(
                Problem(
                    f"header column {name!r}",
                    f"is not a position field (fields: {', '.join(POSITION_FIELDS)}; orders: "
                    f"{', '.join(CSV_ORDER_COLUMNS)})",
                    name,
                )
            )
    for name in ("symbol", "side", "contracts", "entry_price"):
        if name not in header:
            problems.append(Problem(f"header column {name!r}", "is required", None, show_value=False))
    if len(set(header)) != len(header):
        problems.append(Problem("header", "must not repeat a column", ",".join(header)))
    if problems:
        raise PortfolioError(problems, source)
    positions: list[tuple[Position, str]] = []
    orders: list[tuple[dict[str, object], str]] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        path = f"row {n}"
        if len(row) != len(header):
            problems.append(Problem(path, f"must have {len(header)} cells like the header", len(row)))
            continue
        rec: dict[str, object] = {}
        bad = False
        for name, raw in zip(header, row, strict=True):
            cell = raw if name == "id" else raw.strip()  # an id is kept exactly as written
            if cell == "":
                continue
            if name in CSV_NUMBER_FIELDS or name in CSV_ORDER_COLUMNS:
                value = parse_number(cell)
                if value is None:
                    problems.append(Problem(f"{path}.{name}", number_rule(cell), cell))
                    bad = True
                    continue
                rec[name] = value
            else:
                rec[name] = cell
        if bad:
            continue
        triggers = {name: rec.pop(name) for name in CSV_ORDER_COLUMNS if name in rec}
        pos, pos_problems = position_from_dict(rec, path)
        problems.extend(pos_problems)
        if pos is not None:
            positions.append((pos, path))
            for kind, trigger in triggers.items():
                order: dict[str, object] = {
                    "symbol": pos.symbol,
                    "type": kind,
                    "trigger_price": trigger,
                    "position_side": pos.side,
                    "id": f"{pos.label} {kind}",  # unique: a position's label is (both legs of a hedge too)
                }
                orders.append((order, f"{path}.{kind}"))
    if problems:
        raise PortfolioError(problems, source)
    return positions, orders


def dump_positions_csv(positions: list[Position] | tuple[Position, ...], orders: Sequence[Order] | None = None) -> str:
    """Positions as CSV with every position column (empty cells for unset optional fields); with ``orders``,
    the ``stop`` / ``take_profit`` columns (:data:`CSV_ORDER_COLUMNS`) of the orders a CSV can carry — one
    of each type per position, closing it whole — and nothing for the others (:func:`csv_order_gaps`)."""
    carried = _csv_orders(positions, orders or ())
    columns = [
        c for c in POSITION_FIELDS if c not in CSV_OPTION_COLUMNS or any(getattr(p, c) is not None for p in positions)
    ]
    fields = columns + ([c for c in CSV_ORDER_COLUMNS if any(c in v for v in carried.values())])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for k, pos in enumerate(positions):
        rec = position_to_dict(pos)
        row = {name: ("" if rec.get(name) is None else rec[name]) for name in columns}
        row.update({c: carried.get(k, {}).get(c, "") for c in fields[len(columns) :]})
        writer.writerow(row)
    return out.getvalue()


def _csv_orders(positions: Sequence[Position], orders: Sequence[Order]) -> dict[int, dict[str, float]]:
    """Position index → {column: trigger} of the orders a positions CSV can carry."""
    out: dict[int, dict[str, float]] = {}
    for order, k in zip(orders, _carried(positions, orders), strict=True):
        if k is not None:
            out.setdefault(k, {})[order.type] = order.trigger_price
    return out


def _carried(positions: Sequence[Position], orders: Sequence[Order]) -> list[int | None]:
    """Per order, the position whose CSV row carries it, or ``None``: the CSV holds the first order of each
    type per position when it closes the whole position; the others only the JSON holds."""
    by_symbol: dict[str, list[int]] = {}
    for i, p in enumerate(positions):  # once: each order then looks up its symbol's legs
        by_symbol.setdefault(p.symbol, []).append(i)
    seen: set[tuple[int, str]] = set()
    out: list[int | None] = []
    for order in orders:
        legs = [
            j
            for j in by_symbol.get(order.symbol, ())
            if order.position_side is None or positions[j].side == order.position_side
        ]
        k = legs[0] if len(legs) == 1 else None
        if k is None or order.contracts not in (None, positions[k].contracts) or (k, order.type) in seen:
            out.append(None)
            continue
        seen.add((k, order.type))
        out.append(k)
    return out


def csv_order_gaps(positions: Sequence[Position], orders: Sequence[Order]) -> list[str]:
    """The labels of the orders a positions CSV cannot carry (partial contracts, a second order of a type)."""
    return [o.label for o, k in zip(orders, _carried(positions, orders), strict=True) if k is None]


def portfolio_from_csv(
    text: str,
    venue: str,
    collateral: Mapping[str, float],
    prices: Mapping[str, float] | None = None,
    position_mode: str = "one-way",
    source: str = "positions.csv",
    as_of: str | None = None,
    index_prices: Mapping[str, float] | None = None,
) -> Portfolio:
    """A portfolio from a positions CSV plus venue, collateral and prices (and, for options, ``as_of`` and
    ``index_prices``, format §6.1) given elsewhere."""
    rows, orders = read_csv_book(text, source)
    data: dict[str, object] = {
        "format": FORMAT,
        "venue": venue,
        "position_mode": position_mode,
        "collateral": dict(collateral),
        "prices": dict(prices or {}),
        "positions": [position_to_dict(p) for p, _ in rows],
    }
    if as_of is not None:
        data["as_of"] = as_of
    if index_prices:
        data["index_prices"] = dict(index_prices)
    if orders:
        data["orders"] = [o for o, _ in orders]
    try:
        return portfolio_from_dict(data, source, position_paths=[path for _, path in rows])
    except PortfolioError as err:  # an order's problem names its CSV cell, not the generated ``orders[k]``
        cells = {f"orders[{k}]": cell for k, (_, cell) in enumerate(orders)}
        renamed = [_cell_problem(p, cells) for p in err.problems]
        raise PortfolioError(renamed, err.source) from None


def _cell_problem(problem: Problem, cells: Mapping[str, str]) -> Problem:
    """``orders[k].field …`` as the CSV cell it came from (``row N.stop``), in the path and in the rule."""
    head = problem.path.partition(".")[0]
    rule = re.sub(r"orders\[\d+\]", lambda m: cells.get(m.group(0), m.group(0)), problem.rule)
    return Problem(cells.get(head, problem.path), rule, problem.value, problem.show_value)


def read_portfolio_text(path: str | Path) -> str:
    """The text of a portfolio file (JSON or positions CSV); raises :class:`PortfolioError` naming the file."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PortfolioError([Problem(str(p), "does not exist", None, show_value=False)]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PortfolioError(
            [Problem(str(p), f"cannot be read ({err.__class__.__name__})", None, show_value=False)]
        ) from None


def load_portfolio(path: str | Path) -> Portfolio:
    """Read a JSON portfolio file (format §1); raises :class:`PortfolioError` naming the file."""
    return parse_portfolio_json(read_portfolio_text(path), Path(path).name)


def save_portfolio(portfolio: Portfolio, path: str | Path) -> None:
    """Write ``portfolio`` as canonical JSON."""
    Path(path).write_text(dump_portfolio_json(portfolio), encoding="utf-8")
