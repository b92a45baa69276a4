"""Evaluation reports: the JSON document of ``python -m margin evaluate`` (``portfolio-format.md`` §4).

Every view (``as_is``, ``cross``, ``isolated``) lists its pools (cross pools first, one per settle
asset, then isolated pools in position order) and its positions in input order. Amounts are float64
in the pool's settle asset; rounding is left to display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, Evaluation, PriceLevels, compile_book, evaluate, liquidation_prices
from .market import MarketSnapshot
from .orders import order_rows
from .portfolio import Portfolio, Resolved, resolve
from .shocks import Shock, combine
from .states import pool_row_state

FloatArray = npt.NDArray[np.float64]


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class ViewResult:
    """One view evaluated at one set of marks."""

    book: Book
    evaluation: Evaluation
    levels: PriceLevels
    collateral_prices: FloatArray | None = None

    @cached_property
    def wallet(self) -> FloatArray:
        """Pool wallets, with backing collateral valued at the evaluation's collateral prices."""
        wallet: FloatArray = np.atleast_2d(self.book.wallet_at(self.collateral_prices))[0]
        return wallet

    def pools(self) -> list[dict[str, object]]:
        """One row per pool (format §4); every array is read once (linear in the number of pools)."""
        b, ev = self.book, self.evaluation
        ratio = ev.pool_margin_ratio[0].tolist()
        equity = ev.pool_equity[0].tolist()
        wallet = self.wallet.tolist()
        upnl = ev.pool_upnl[0].tolist()
        initial = ev.pool_initial[0].tolist()
        maintenance = ev.pool_maintenance[0].tolist()
        available = ev.pool_available[0].tolist()
        liquidated = ev.pool_liquidated[0].tolist()
        held = (np.bincount(b.pool, minlength=b.n_pools) > 0).tolist()
        levels = b.resolved.alert_levels
        return [
            {
                "settle": b.pool_settle[g],
                "mode": b.pool_mode[g],
                "position": None if pos is None else b.ids[pos],
                "equity": equity[g],
                "wallet_balance": wallet[g],
                "unrealized_pnl": upnl[g],
                "initial_margin": initial[g],
                "maintenance_margin": maintenance[g],
                "margin_ratio": _num(ratio[g]),
                "available": available[g],
                "liquidated": liquidated[g],
                "state": pool_row_state(_num(ratio[g]), liquidated[g], held[g], levels),
            }
            for g, pos in enumerate(b.pool_position)
        ]

    def positions(self) -> list[dict[str, object]]:
        """One row per position (format §4); every array is read once."""
        b, ev, lv = self.book, self.evaluation, self.levels
        marks = ev.mark[0].tolist()
        liq = lv.liquidation[0].tolist()
        bk = lv.bankruptcy[0].tolist()
        notional = ev.notional[0].tolist()
        upnl = ev.upnl[0].tolist()
        initial = ev.initial[0].tolist()
        maintenance = ev.maintenance[0].tolist()
        mmr = ev.mmr[0].tolist()
        liquidated = ev.position_liquidated[0].tolist()
        # orders (format §7): the key only when the file has orders, so that other outputs stay as they were
        orders = (
            order_rows(b.resolved, marks, [_num(x) for x in liq], liquidated) if b.resolved.portfolio.orders else None
        )
        out: list[dict[str, object]] = []
        for i, leg in enumerate(b.resolved.legs):
            mark = marks[i]
            lp = _num(liq[i])
            out.append(
                {
                    "id": b.ids[i],
                    "symbol": leg.position.symbol,
                    "side": leg.position.side,
                    "contracts": leg.position.contracts,
                    "notional": notional[i],
                    "entry_price": leg.position.entry_price,
                    "mark_price": mark,
                    "unrealized_pnl": upnl[i],
                    "initial_margin": initial[i],
                    "maintenance_margin": maintenance[i],
                    "mmr": mmr[i],
                    "liquidation_price": lp,
                    "bankruptcy_price": _num(bk[i]),
                    "distance_to_liquidation": None if lp is None else lp / mark - 1.0,
                    "liquidated": liquidated[i],
                }
            )
            if orders is not None:
                out[-1]["orders"] = orders[i]
        return out

    def to_dict(self) -> dict[str, object]:
        return {"pools": self.pools(), "positions": self.positions()}


def evaluate_view(resolved: Resolved, view: str, market: MarketSnapshot | None = None) -> ViewResult:
    """Compile the account's ``view`` and evaluate it on ``market`` (default: the snapshot in the file)."""
    book = compile_book(resolved, view)
    mkt = resolved.market if market is None else market
    marks = np.array([mkt.marks[s] for s in book.symbols], dtype=np.float64)
    cp = None
    if book.collateral_assets:
        cp = np.array([mkt.collateral_prices[a] for a in book.collateral_assets], dtype=np.float64)
    ev = evaluate(book, marks, collateral_prices=cp)
    return ViewResult(book=book, evaluation=ev, levels=liquidation_prices(book, ev), collateral_prices=cp)


def evaluate_portfolio(portfolio: Portfolio | Resolved, shocks: list[Shock] | None = None) -> dict[str, object]:
    """The ``evaluate`` JSON document (format §4) of ``portfolio`` after ``shocks``."""
    resolved = portfolio if isinstance(portfolio, Resolved) else resolve(portfolio)
    moves = combine(shocks or [], list(resolved.marks), list(resolved.market.collateral_prices))
    market = resolved.market.moved(moves)
    results = {view: evaluate_view(resolved, view, market) for view in VIEWS}
    doc: dict[str, object] = {
        "venue": resolved.venue.name,
        "shock": moves,
        "modes": {view: result.to_dict() for view, result in results.items()},
    }
    if resolved.portfolio.alerts:
        from .alerts import evaluate_alerts

        doc["alerts"] = evaluate_alerts(resolved, results, market)
    notes = table_notes(resolved)
    if notes:
        doc["notes"] = notes
    return doc


def table_notes(resolved: Resolved) -> list[str]:
    """What the output should say about the tier tables used (a partial table, format extension)."""
    notes = []
    for symbol, table in resolved.tables.items():
        if table.partial and table.given is not None:
            t0 = table.given[0]
            notes.append(
                f"tiers of {symbol} are a partial table (first tier from {t0.min_notional:g} with maintenance amount "
                f"{t0.maint_amount:g}): maintenance is N × mmr − maint_amount, never below 0, also below the "
                "table's first tier"
            )
    return notes
