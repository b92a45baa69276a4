"""Evaluation reports: the JSON document of ``python -m margin evaluate`` (``portfolio-format.md`` §4).

Every view (``as_is``, ``cross``, ``isolated``) lists its pools (cross pools first, one per settle
asset, then isolated pools in position order) and its positions in input order. Amounts are float64
in the pool's settle asset; rounding is left to display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, Evaluation, PriceLevels, compile_book, evaluate, liquidation_prices
from .errors import PortfolioError, Problem
from .market import MarketSnapshot
from .option_legs import combine_vol_shocks, days_problem, entry_value, option_rows
from .orders import order_rows
from .portfolio import Portfolio, Resolved, resolve
from .portfolio_view import VIEW as PORTFOLIO_VIEW
from .portfolio_view import evaluate_portfolio_view
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
        held = b.pool_held.tolist()
        options = ev.pool_options_value[0].tolist() if ev.pool_options_value is not None else [0.0] * b.n_pools
        levels = b.resolved.alert_levels
        return [
            {
                "settle": b.pool_settle[g],
                "mode": b.pool_mode[g],
                "position": None if pos is None else b.ids[pos],
                "equity": equity[g],
                "wallet_balance": wallet[g],
                "unrealized_pnl": upnl[g],
                "options_value": options[g],
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
        if b.options is None:
            return out
        return _interleave(b, out, self.option_positions())

    def option_positions(self) -> list[dict[str, object]]:
        """One row per option position (format §6.4), in option order."""
        b, ev, lv = self.book, self.evaluation, self.levels
        opt = b.options
        if opt is None or ev.option_terms is None:
            return []
        arr = opt.arrays
        f = ev.marks[0, opt.sym]
        rows = option_rows(arr, f, opt.iv, opt.t)
        terms = ev.option_terms
        value = terms.value[0].tolist()
        initial = terms.initial[0].tolist()
        maintenance = terms.maintenance[0].tolist()
        entry = entry_value(arr).tolist()
        liq = lv.option_liquidation[0].tolist() if lv.option_liquidation is not None else [math.nan] * len(opt)
        bk = lv.option_bankruptcy[0].tolist() if lv.option_bankruptcy is not None else [math.nan] * len(opt)
        liquidated = ev.pool_liquidated[0, opt.pool].tolist()
        fl = f.tolist()
        size = (np.abs(arr.units) * np.where(arr.coin, 1.0, f)).tolist()
        out: list[dict[str, object]] = []
        for j, leg in enumerate(arr.legs):
            lp = _num(liq[j])
            out.append(
                {
                    "id": leg.label,
                    "symbol": leg.symbol,
                    "side": leg.side,
                    "contracts": leg.contracts,
                    "notional": size[j],
                    "entry_price": leg.entry_price,
                    "mark_price": fl[j],
                    "unrealized_pnl": value[j] - entry[j],
                    "initial_margin": initial[j],
                    "maintenance_margin": maintenance[j],
                    "mmr": None,
                    "liquidation_price": lp,
                    "bankruptcy_price": _num(bk[j]),
                    "distance_to_liquidation": None if lp is None else lp / fl[j] - 1.0,
                    "liquidated": liquidated[j],
                    **rows[j],
                }
            )
        return out

    def to_dict(self) -> dict[str, object]:
        return {"pools": self.pools(), "positions": self.positions()}


def _interleave(
    book: Book, futures: list[dict[str, object]], options: list[dict[str, object]]
) -> list[dict[str, object]]:
    """Futures and options rows in input order (format §4), futures tagged ``kind: "future"`` (§6.4)."""
    for row in futures:
        row["kind"] = "future"
    keyed = [(leg.index, row) for leg, row in zip(book.resolved.legs, futures, strict=True)]
    assert book.options is not None
    keyed += [(leg.index, row) for leg, row in zip(book.options.arrays.legs, options, strict=True)]
    return [row for _, row in sorted(keyed, key=lambda kv: kv[0])]


def evaluate_view(resolved: Resolved, view: str, market: MarketSnapshot | None = None) -> ViewResult:
    """Compile the account's ``view`` and evaluate it on ``market`` (default: the snapshot in the file)."""
    mkt = resolved.market if market is None else market
    # the book on the file's market (as before options: the same wallets to the bit), unless the options' volatility
    # or time moved (format §6.5), which the compiled options carry
    book = compile_book(resolved, view, mkt if (mkt.vol_moves or mkt.days) else None)
    marks = np.array([mkt.marks[s] for s in book.symbols], dtype=np.float64)
    cp = None
    if book.collateral_assets:
        cp = np.array([mkt.collateral_prices[a] for a in book.collateral_assets], dtype=np.float64)
    ev = evaluate(book, marks, collateral_prices=cp)
    return ViewResult(book=book, evaluation=ev, levels=liquidation_prices(book, ev), collateral_prices=cp)


def option_market(
    resolved: Resolved, market: MarketSnapshot, vol_shocks: list[Shock] | None = None, days: float = 0.0
) -> MarketSnapshot:
    """``market`` with the options' volatility shocks and days forward (format §6.5); an account without
    options takes neither (invalid input naming the flag)."""
    if not vol_shocks and not days:
        return market
    problems = []
    if days:
        rule = days_problem(days)
        if rule:
            problems.append(Problem("--days", rule, days))
    if not resolved.option_legs:
        flag = "--vol-shock" if vol_shocks else "--days"
        problems.append(Problem(flag, "needs an option in the portfolio (it moves options only)", None, False))
    if problems:
        raise PortfolioError(problems)
    bases = [leg.option.base for leg in resolved.option_legs]
    vol_moves = combine_vol_shocks([(s.target, s.move) for s in vol_shocks or []], bases)
    return replace(market, vol_moves=vol_moves, days=float(days))


def evaluate_portfolio(
    portfolio: Portfolio | Resolved,
    shocks: list[Shock] | None = None,
    vol_shocks: list[Shock] | None = None,
    days: float = 0.0,
) -> dict[str, object]:
    """The ``evaluate`` JSON document (format §4) of ``portfolio`` after ``shocks`` (and, §6.5, the options'
    ``vol_shocks`` and ``days`` forward)."""
    resolved = portfolio if isinstance(portfolio, Resolved) else resolve(portfolio)
    moves = combine(shocks or [], list(resolved.marks), list(resolved.market.collateral_prices))
    market = option_market(resolved, resolved.market.moved(moves), vol_shocks, days)
    results = {view: evaluate_view(resolved, view, market) for view in VIEWS}
    modes: dict[str, object] = {view: result.to_dict() for view, result in results.items()}
    pm_view = evaluate_portfolio_view(resolved, market)
    modes[PORTFOLIO_VIEW] = {"pools": [pm_view.pool()], "positions": pm_view.positions(results["as_is"].positions())}
    doc: dict[str, object] = {
        "venue": resolved.venue.name,
        "shock": moves,
        "modes": modes,
    }
    if market.vol_moves:
        doc["vol_shock"] = dict(market.vol_moves)
    if market.days:
        doc["days"] = market.days
    if resolved.portfolio.alerts:
        from .alerts import evaluate_alerts

        doc["alerts"] = evaluate_alerts(resolved, results, market, pm_view)
    notes = table_notes(resolved)
    if notes:
        doc["notes"] = notes
    return doc


def portfolio_view_dict(resolved: Resolved, market: MarketSnapshot, as_is: ViewResult) -> dict[str, object]:
    """The ``portfolio`` view's document (format §6.4): its pool and its positions (from the ``as_is`` rows)."""
    view = evaluate_portfolio_view(resolved, market)
    return {"pools": [view.pool()], "positions": view.positions(as_is.positions())}


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
