"""Evaluation reports: the JSON document of ``python -m margin evaluate`` (``portfolio-format.md`` §4).

Every view (``as_is``, ``cross``, ``isolated``) lists its pools (cross pools first, one per settle
asset, then isolated pools in position order) and its positions in input order. Amounts are float64
in the pool's settle asset; rounding is left to display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, Evaluation, PriceLevels, compile_book, evaluate, liquidation_prices
from .portfolio import Portfolio, Resolved, resolve
from .shocks import Shock, combine, shocked_prices

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

    @property
    def wallet(self) -> FloatArray:
        """Pool wallets, with backing collateral valued at the evaluation's collateral prices."""
        wallet: FloatArray = np.atleast_2d(self.book.wallet_at(self.collateral_prices))[0]
        return wallet

    def pools(self) -> list[dict[str, object]]:
        b, ev = self.book, self.evaluation
        ratio = ev.pool_margin_ratio[0]
        out: list[dict[str, object]] = []
        for g in range(b.n_pools):
            pos = b.pool_position[g]
            out.append(
                {
                    "settle": b.pool_settle[g],
                    "mode": b.pool_mode[g],
                    "position": None if pos is None else b.ids[pos],
                    "equity": float(ev.pool_equity[0, g]),
                    "wallet_balance": float(self.wallet[g]),
                    "unrealized_pnl": float(ev.pool_upnl[0, g]),
                    "initial_margin": float(ev.pool_initial[0, g]),
                    "maintenance_margin": float(ev.pool_maintenance[0, g]),
                    "margin_ratio": _num(ratio[g]),
                    "available": float(ev.pool_available[0, g]),
                    "liquidated": bool(ev.pool_liquidated[0, g]),
                }
            )
        return out

    def positions(self) -> list[dict[str, object]]:
        b, ev, lv = self.book, self.evaluation, self.levels
        out: list[dict[str, object]] = []
        for i, leg in enumerate(b.resolved.legs):
            mark = float(ev.mark[0, i])
            lp = _num(lv.liquidation[0, i])
            out.append(
                {
                    "id": b.ids[i],
                    "symbol": leg.position.symbol,
                    "side": leg.position.side,
                    "contracts": leg.position.contracts,
                    "notional": float(ev.notional[0, i]),
                    "entry_price": leg.position.entry_price,
                    "mark_price": mark,
                    "unrealized_pnl": float(ev.upnl[0, i]),
                    "initial_margin": float(ev.initial[0, i]),
                    "maintenance_margin": float(ev.maintenance[0, i]),
                    "mmr": float(ev.mmr[0, i]),
                    "liquidation_price": lp,
                    "bankruptcy_price": _num(lv.bankruptcy[0, i]),
                    "distance_to_liquidation": None if lp is None else lp / mark - 1.0,
                    "liquidated": bool(ev.position_liquidated[0, i]),
                }
            )
        return out

    def to_dict(self) -> dict[str, object]:
        return {"pools": self.pools(), "positions": self.positions()}


def evaluate_view(
    resolved: Resolved,
    view: str,
    prices: dict[str, float] | None = None,
    collateral_prices: dict[str, float] | None = None,
) -> ViewResult:
    """Compile ``view`` and evaluate it at ``prices`` (default: the portfolio's marks) and, for
    non-settle collateral, ``collateral_prices`` (default: the prices in the file)."""
    book = compile_book(resolved, view)
    marks = book.price_vector(prices)
    cp = None
    if collateral_prices and book.collateral_assets:
        cp = book.collateral_price.copy()
        for name, price in collateral_prices.items():
            cp[book.collateral_assets.index(name)] = price
    ev = evaluate(book, marks, collateral_prices=cp)
    return ViewResult(book=book, evaluation=ev, levels=liquidation_prices(book, ev), collateral_prices=cp)


def evaluate_portfolio(portfolio: Portfolio | Resolved, shocks: list[Shock] | None = None) -> dict[str, object]:
    """The ``evaluate`` JSON document (format §4) of ``portfolio`` after ``shocks``."""
    resolved = portfolio if isinstance(portfolio, Resolved) else resolve(portfolio)
    backing = resolved.portfolio.collateral_assets
    moves = combine(shocks or [], list(resolved.marks), list(backing))
    prices = shocked_prices(resolved.marks, moves)
    coll = {a: c.price * (1.0 + moves[a]) for a, c in backing.items() if a in moves}
    return {
        "venue": resolved.venue.name,
        "shock": moves,
        "modes": {view: evaluate_view(resolved, view, prices, coll).to_dict() for view in VIEWS},
    }


def nearest_liquidation(view: dict[str, object]) -> tuple[str, float] | None:
    """The position whose liquidation price is nearest its mark (relative distance), if any."""
    best: tuple[str, float] | None = None
    for pos in view["positions"]:  # type: ignore[attr-defined]
        d = pos["distance_to_liquidation"]
        if d is not None and (best is None or abs(d) < abs(best[1])):
            best = (pos["id"], d)
    return best
