"""The Home page's cockpit: how far the account is from being lost, pool states, the positions table.

Pure (pandas and text in, text and frames out): every number comes from the core — the ``evaluate``
document (``portfolio-format.md`` §4, through :class:`dashboard.results.Report`), the market moves of
:func:`margin.distance.account_distance` and the pool states of :mod:`margin.states` — and is only
formatted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.results import PoolRow, PositionRow, ViewReport
from margin.distance import AccountDistance, SideDistance
from margin.instruments import Instrument, parse_symbol
from margin.options import is_option_symbol, read_option_symbol
from margin.states import DEFAULT_LEVELS, STATES, TRIGGER, AlertLevels, worst_state

STATE_LABELS = {"safe": "safe", "warning": "warning", "margin_call": "margin call", "liquidation": "liquidation"}
STATE_COLORS = {"safe": "green", "warning": "orange", "margin_call": "red", "liquidation": "red"}


#: the sentence every state display carries (where the levels come from)
def levels_note(levels: AlertLevels = DEFAULT_LEVELS) -> str:
    """The sentence every state display carries: the levels in force and where they come from."""
    origin = (
        "the default levels of portfolio-format.md §8; no venue preset names its own"
        if levels == DEFAULT_LEVELS
        else "the portfolio file's alert_levels"
    )
    return (
        f"Pool states by margin ratio (maintenance ÷ equity): safe below {levels.warning:.0%}, warning "
        f"from {levels.warning:.0%}, margin call from {levels.margin_call:.0%}, liquidation at "
        f"{TRIGGER:.0%} (equity at or below maintenance, or equity at or below zero) — {origin}."
    )


LEVELS_NOTE = levels_note()


# --------------------------------------------------------------------------- moves


def pct(x: float) -> str:
    """A move as a signed percentage with two decimals (``−21.39 %``)."""
    return f"{x:+.2%}".replace("-", "−").replace("%", " %")


def _limit(x: float) -> str:
    """A search limit: a whole percentage when it is one (``+1,000 %``), else two decimals."""
    whole = round(100.0 * x)
    if abs(100.0 * x - whole) < 1e-6:
        return f"{whole:+,d} %".replace("-", "−")
    return pct(x)


def _limit_text(dist: AccountDistance, side: str) -> str:
    if side == "down":
        if dist.limit_down_asset is None:
            return "down to −100 %"
        beta = dist.betas[dist.limit_down_asset]
        return f"down to {_limit(dist.limit_down)} (where {dist.limit_down_asset}, β {beta:.2f}, reaches zero)"
    if dist.limit_up_asset is None:
        return f"up to {_limit(dist.limit_up)}"
    beta = dist.betas[dist.limit_up_asset]
    return f"up to {_limit(dist.limit_up)} (where {dist.limit_up_asset}, β {beta:.2f}, reaches zero)"


def _first_cell(side: SideDistance) -> str:
    return "never" if side.first is None else f"{pct(side.first)} · {side.first_pool}"


def _account_cell(side: SideDistance) -> str:
    if side.account is not None:
        return pct(side.account)
    if side.first is None:
        return "never"
    if len(side.survivors) == 1:
        return f"never · {side.survivors[0]} survives"
    return f"never · {len(side.survivors)} pools survive"


#: the columns of the "how far" tables: (header, kind of move, what is liquidated)
MOVE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("first pool, every price alike", "uniform", "first"),
    ("whole account, every price alike", "uniform", "account"),
    ("first pool, BTC with betas", "betas", "first"),
    ("whole account, BTC with betas", "betas", "account"),
    ("one position, its own price alone", "single", "first"),
)


def move_cells(view: str, side: str, uniform: AccountDistance, betas: AccountDistance, body: ViewReport) -> list[str]:
    """One view's cells of the falling (``side`` "down") or rising ("up") table, in :data:`MOVE_COLUMNS`
    order: the moves that liquidate the first pool and the whole account (every price alike, and BTC with
    each asset at its β), and the nearest single-price liquidation (its own price alone, every other price
    held: the liquidation price of format §2)."""
    cells: list[str] = []
    for _, kind, what in MOVE_COLUMNS:
        if kind == "single":
            sign = -1.0 if side == "down" else 1.0
            found = [
                p
                for p in body.positions
                if p.distance_to_liquidation is not None and sign * p.distance_to_liquidation > 0
            ]
            cells.append(_nearest(found))
            continue
        dist = uniform if kind == "uniform" else betas
        s = getattr(dist.views[view], side)
        cells.append(_first_cell(s) if what == "first" else _account_cell(s))
    return cells


def _nearest(rows: Sequence[PositionRow]) -> str:
    if not rows:
        return "never"
    p = min(rows, key=lambda r: abs(r.distance_to_liquidation or 0.0))
    assert p.distance_to_liquidation is not None
    return f"{pct(p.distance_to_liquidation)} · {p.id}"


def moves_markdown(rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A Markdown table: one row per view (its title and its cells), the columns of :data:`MOVE_COLUMNS`."""
    lines = ["| view | " + " | ".join(h for h, _, _ in MOVE_COLUMNS) + " |", "|---" * (len(MOVE_COLUMNS) + 1) + "|"]
    lines += [f"| {_md(title)} | " + " | ".join(_md(c) for c in cells) + " |" for title, cells in rows]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def search_note(uniform: AccountDistance, betas: AccountDistance) -> str:
    """What "never" means: the moves searched, for each kind of move."""
    return (
        f"“never”: no move searched liquidates it — every price alike {_limit_text(uniform, 'down')} and "
        f"{_limit_text(uniform, 'up')}; BTC with betas {_limit_text(betas, 'down')} and {_limit_text(betas, 'up')}."
    )


# --------------------------------------------------------------------------- pool states


def has_positions(pool: PoolRow) -> bool:
    """A pool holding positions (an isolated pool always does; a cross pool when it carries margin)."""
    return pool.mode == "isolated" or pool.maintenance_margin > 0 or pool.initial_margin > 0


def symbol_units(instruments: Sequence[Instrument | None]) -> tuple[list[str], list[str], bool, bool]:
    """Each instrument's quote and settle asset (``""`` for an unparsed symbol), and whether all share one quote
    and one settle asset (a table then names the unit in its headers, else in a ``quote`` / ``settle`` column)."""
    quotes = ["" if i is None else i.quote for i in instruments]
    settles = ["" if i is None else i.settle for i in instruments]
    return quotes, settles, len(set(quotes)) <= 1, len(set(settles)) <= 1


def pool_label(pool: PoolRow) -> str:
    return f"{pool.settle} cross" if pool.position is None else str(pool.position)


def view_state(body: ViewReport) -> str | None:
    """The worst state of the view's pools holding positions (``None``: no such pool)."""
    return worst_state([p.state for p in body.pools if has_positions(p)])


def state_counts(body: ViewReport) -> dict[str, int]:
    """How many pools holding positions are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for p in body.pools:
        if has_positions(p):
            counts[p.state] += 1
    return counts


def pools_frame(body: ViewReport) -> pd.DataFrame:
    """The view's pools holding positions, the nearest their trigger first: equity, maintenance, margin
    ratio (``None`` where equity ≤ 0) and state."""
    rows = [
        {
            "pool": pool_label(p),
            "mode": p.mode,
            "settle": p.settle,
            "equity": p.equity,
            "maintenance": p.maintenance_margin,
            "margin ratio": p.margin_ratio,
            "state": STATE_LABELS[p.state],
        }
        for p in body.pools
        if has_positions(p)
    ]
    frame = pd.DataFrame(rows, columns=["pool", "mode", "settle", "equity", "maintenance", "margin ratio", "state"])
    order = frame["margin ratio"].fillna(float("inf")).sort_values(ascending=False, kind="stable").index
    return frame.loc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- positions table


@dataclass(frozen=True)
class PositionsTable:
    """The positions of one view with units in the headers (or a unit column where they differ)."""

    frame: pd.DataFrame
    price_columns: tuple[str, ...]
    amount_columns: tuple[str, ...]
    coin_amounts: bool  # amounts in a coin (inverse contracts, coin-settled options): significant digits
    #: the greeks of the option rows (format §6.2), blank on a future; empty when the view holds no option
    greek_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Units:
    """What a symbol's prices are quoted in and its amounts settle in; ``coin``: amounts in a coin."""

    quote: str
    settle: str
    coin: bool


def symbol_units_of(symbol: str) -> Units | None:
    """The units of a futures symbol (format §1) or an option symbol (§6.1: its underlying price in the quote
    asset, its premium, value and margins in the settle asset, in the coin when coin-settled); ``None`` for a
    symbol that is neither."""
    inst = parse_symbol(symbol)
    if inst is not None:
        return Units(inst.quote, inst.settle, inst.inverse)
    if is_option_symbol(symbol):
        opt, problems = read_option_symbol(symbol, "symbol")
        if opt is not None and not problems:
            return Units(opt.quote, opt.settle, opt.coin_settled)
    return None


def margin_modes(body: ViewReport) -> dict[str, str]:
    """Each position's margin mode in the view (isolated: it has a pool of its own)."""
    isolated = {p.position for p in body.pools if p.mode == "isolated"}
    return {p.id: "isolated" if p.id in isolated else "cross" for p in body.positions}


#: the option columns of a positions table (format §6.2, §6.4): greek name -> header (units: USD per unit of the
#: underlying's USD price; delta in underlying units, vega per 0.01 of volatility, theta per day)
GREEK_HEADERS = {"delta": "delta", "gamma": "gamma", "vega": "vega (USD)", "theta": "theta (USD/day)"}


def positions_table(body: ViewReport) -> PositionsTable:
    """Symbol, side, size, entry, mark, liquidation price, distance, margin mode, IM, MM and the pool's
    state of every position of one view, in input order (the ``evaluate`` document's figures, format §4).

    A position is named by its symbol and side (unique in one-way and in hedge mode). Prices are in the
    symbol's quote asset, margins in its settle asset: in the headers when every position shares them,
    else in a ``quote`` / ``settle`` column beside the numbers.

    When the view holds an option (format §6): the option rows' value (settle asset, §6.2); an option's entry
    cell is blank (its ``entry_price`` is a premium in the settle asset, not a price in the quote asset); its
    symbol says its kind; its premium and greeks are on the Options page, so the table fits a 1440-px screen;
    an option's mark is its underlying price F and its liquidation price the underlying's price at the crossing
    (§6.3, §6.4). Options sit in the cross pool of their settle asset in every view (§6.1)."""
    positions = body.positions
    units = [symbol_units_of(p.symbol) for p in positions]
    quotes = ["" if u is None else u.quote for u in units]
    settles = ["" if u is None else u.settle for u in units]
    one_quote, one_settle = len(set(quotes)) <= 1, len(set(settles)) <= 1
    q = f" ({quotes[0]})" if one_quote and quotes else " (quote)"
    s = f" ({settles[0]})" if one_settle and settles else " (settle)"
    options = any(p.is_option for p in positions)
    modes = margin_modes(body)
    iso_pool = {p.position: p for p in body.pools if p.mode == "isolated"}
    cross_pool = {p.settle: p for p in body.pools if p.mode == "cross"}
    rows = []
    for k, p in enumerate(positions):
        pool = iso_pool.get(p.id) or cross_pool.get(settles[k])
        row: dict[str, object] = {"symbol": p.symbol, "side": p.side}
        row["size (contracts)"] = p.contracts
        if not one_quote:
            row["quote"] = quotes[k]
        row |= {
            f"entry{q}": None if p.is_option else p.entry_price,
            f"mark{q}": p.mark_price,
            f"liq. price{q}": p.liquidation_price,
            "distance": p.distance_to_liquidation,
            "mode": modes[p.id],
        }
        if not one_settle:
            row["settle"] = settles[k]
        row |= {
            f"IM{s}": p.initial_margin,
            f"MM{s}": p.maintenance_margin,
            "state": None if pool is None else STATE_LABELS[pool.state],
        }
        if options:  # the greeks are on the Options page: this table stays within a 1440-px screen
            row[f"value{s}"] = p.value if p.is_option else None
        rows.append(row)
    columns = ["symbol", "side", "size (contracts)", *([] if one_quote else ["quote"])]
    columns += [f"entry{q}", f"mark{q}", f"liq. price{q}", "distance", "mode", *([] if one_settle else ["settle"])]
    columns += [f"IM{s}", f"MM{s}", "state"]
    amounts: tuple[str, ...] = (f"IM{s}", f"MM{s}")
    greek_columns: tuple[str, ...] = ()
    if options:
        columns += [f"value{s}"]
        amounts += (f"value{s}",)
    coin = any(u is not None and u.coin for u in units)
    return PositionsTable(
        pd.DataFrame(rows, columns=columns),
        (f"entry{q}", f"mark{q}", f"liq. price{q}"),
        amounts,
        coin,
        greek_columns,
    )
