"""Alert rules in ``evaluate`` (``portfolio-format.md`` §8): top-level ``alerts`` ``[{"id", "metric", "value",
"triggered"}]``, one per rule of the file, in its order.

Each rule reads one metric of one view (``as_is`` unless the rule names ``view``), at the evaluated marks
(after any ``--shock``):

- ``margin_ratio``: the worst (largest) margin ratio of the view's pools holding positions. A pool holding
  positions with equity ≤ 0 has no ratio (format §4: ``null``; it is past its trigger): ``value`` is then
  ``null`` and the rule is read as an infinite ratio (an ``above`` rule is triggered, a ``below`` one not).
- ``distance_to_liquidation``: the smallest ``|distance_to_liquidation|`` of the view's positions (those
  with a liquidation price).
- ``available`` and ``equity``: the sum over the view's pools (every pool, with or without positions), in
  USD, each pool's amount converted at the ``portfolio`` view's USD price of its asset (format §6.4,
  :func:`margin.portfolio_view.usd_prices`): 1 for a USD-like settle asset (USD, USDT, USDC, BUSD, FDUSD,
  DAI, USDE), else ``index_prices`` (moved with its base), else the mark (evaluated, so shocked with its
  symbol) of the first symbol of ``prices``, then of the positions, whose base is that asset and whose quote
  is USD-like (BTC collateral at the BTC/USD(T) mark). A pool whose asset has no such price is left out and
  its asset named in the row's ``unpriced_assets`` (a key present only then).
- In the ``portfolio`` view (§6.4) every metric is its one USD pool's: its margin ratio, the smallest
  ``|distance_to_liquidation|`` of its positions (at their risk unit's nearer liquidation move), its
  ``available`` and ``equity`` (USD, after haircuts; its ``unpriced_assets`` named), and ``account_move``: the
  smallest move of every risk unit at once, either way, at which the account meets its trigger (the whole
  requirement recomputed; a scan of 2,000 steps to −95 % and to +500 % refined by bisection, as §6.4's
  liquidation moves).
- ``account_move``: the smallest uniform move of every price, either way, that liquidates any pool of the
  view, as a positive fraction: ``min(|down|, up)`` of the view's first-pool uniform moves from
  :func:`margin.frontier.smallest_moves` (its search and resolution; 0 when a pool is already past its
  trigger).

``triggered``: ``value > above`` or ``value < below`` (strict); a ``null`` value (no pool with positions,
no liquidation price, no move that liquidates, nothing priced) triggers nothing, except the infinite
margin ratio above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .frontier import smallest_moves
from .market import MarketSnapshot
from .portfolio import AlertRule, Resolved
from .portfolio_margin import (
    BISECTION_RTOL,
    LIQUIDATION_DOWN,
    LIQUIDATION_STEPS,
    LIQUIDATION_UP,
    account_usd_equity,
    maintenance_at,
)
from .portfolio_view import VIEW as PORTFOLIO
from .portfolio_view import PortfolioView, evaluate_portfolio_view, usd_prices

if TYPE_CHECKING:
    from .report import ViewResult


def usd_price(resolved: Resolved, asset: str, market: MarketSnapshot) -> float | None:
    """The USD price of ``asset`` on ``market`` (module docstring; the ``portfolio`` view's, §6.4); ``None``
    when it has none."""
    return usd_prices(resolved, market, [asset])[asset]


def _usd_sum(
    resolved: Resolved, result: ViewResult, field: str, market: MarketSnapshot
) -> tuple[float | None, list[str]]:
    values = (result.evaluation.pool_equity if field == "equity" else result.evaluation.pool_available)[0].tolist()
    total, priced, unpriced = 0.0, False, []
    for settle, value in zip(result.book.pool_settle, values, strict=True):
        price = usd_price(resolved, settle, market)
        if price is None:
            if settle not in unpriced:
                unpriced.append(settle)
            continue
        total += value * price
        priced = True
    return (total if priced else None), unpriced


def _margin_ratio(result: ViewResult) -> tuple[float | None, bool]:
    """The worst margin ratio of the pools holding positions, and whether one has equity ≤ 0 (infinite)."""
    book = result.book
    held = np.bincount(book.pool, minlength=book.n_pools) > 0
    ratio = result.evaluation.pool_margin_ratio[0][held]
    if ratio.size == 0:
        return None, False
    if not np.isfinite(ratio).all():
        return None, True
    return float(ratio.max()), False


def _distance(result: ViewResult) -> float | None:
    mark = result.evaluation.mark[0]
    liq = result.levels.liquidation[0]
    ok = np.isfinite(liq)
    if not ok.any():
        return None
    return float(np.min(np.abs(liq[ok] / mark[ok] - 1.0)))


def _account_move(resolved: Resolved, view: str, market: MarketSnapshot) -> float | None:
    at_market = resolved if market == resolved.market else replace(resolved, market=market)
    uniform = smallest_moves(at_market, view)["uniform"]
    moves = [abs(m) for m in (uniform["down"], uniform["up"]) if m is not None]
    return min(moves) if moves else None


def _portfolio_metric(view: PortfolioView, metric: str) -> tuple[float | None, bool, list[str]]:
    """(value, infinite ratio, unpriced assets) of one metric of the ``portfolio`` view (module docstring)."""
    pool = view.pool()
    unpriced = list(view.inputs.unpriced)
    if metric == "margin_ratio":
        if not view.resolved.n_positions:
            return None, False, []
        ratio = pool["margin_ratio"]
        return (None, True, []) if ratio is None else (float(ratio), False, [])  # type: ignore[arg-type]
    if metric == "distance_to_liquidation":
        moves = [view.unit_move(u.underlying) for u in view.result.units]
        found = [abs(m) for m in moves if m is not None]
        return (min(found) if found else None), False, []
    if metric in ("available", "equity"):
        return float(pool[metric]), False, unpriced  # type: ignore[arg-type]
    return portfolio_account_move(view), False, []


def portfolio_account_move(view: PortfolioView) -> float | None:
    """The smallest move of every risk unit at once, either way, at which the ``portfolio`` view's account meets
    its trigger (module docstring), as a positive fraction; 0 when already liquidated, ``None`` when none."""
    book = view.inputs.book
    if book is None or not len(book.units) or not view.resolved.n_positions:
        return None
    if view.result.liquidated:
        return 0.0
    params = view.inputs.params
    n_u = len(book.units)

    def gap(m: np.ndarray) -> np.ndarray:
        moves = np.repeat(np.asarray(m, dtype=np.float64)[..., None], n_u, axis=-1)
        return account_usd_equity(book, moves, vol=params.vol_params) - maintenance_at(book, params, moves)

    found: list[float] = []
    for end in (LIQUIDATION_DOWN, LIQUIDATION_UP):
        grid = np.linspace(0.0, end, LIQUIDATION_STEPS + 1)[1:]
        g = gap(grid)
        hit = np.flatnonzero(g <= 0.0)
        if not hit.size:
            continue
        k = int(hit[0])
        lo, hi = (0.0 if k == 0 else float(grid[k - 1])), float(grid[k])
        for _ in range(200):
            if abs(hi - lo) <= BISECTION_RTOL * max(abs(hi), 1e-300):
                break
            mid = 0.5 * (lo + hi)
            if float(gap(np.array([mid]))[0]) <= 0.0:
                hi = mid
            else:
                lo = mid
        found.append(abs(hi))
    return min(found) if found else None


def _triggered(rule: AlertRule, value: float | None, infinite: bool = False) -> bool:
    if infinite:
        return rule.above is not None
    if value is None or not math.isfinite(value):
        return False
    if rule.above is not None:
        return value > rule.above
    return rule.below is not None and value < rule.below


def evaluate_alerts(
    resolved: Resolved,
    results: Mapping[str, ViewResult],
    market: MarketSnapshot,
    portfolio_view: PortfolioView | None = None,
) -> list[dict[str, object]]:
    """The ``alerts`` rows of ``evaluate`` (format §8) for the views ``results`` evaluated on ``market`` (and the
    ``portfolio`` view, evaluated here when a rule names it and ``portfolio_view`` is not given)."""
    rows: list[dict[str, object]] = []
    moves: dict[str, float | None] = {}  # account_move per view, searched once
    for rule in resolved.portfolio.alerts:
        view = rule.view or "as_is"
        value: float | None
        infinite = False
        unpriced: list[str] = []
        if view == PORTFOLIO:
            if portfolio_view is None:
                portfolio_view = evaluate_portfolio_view(resolved, market)
            value, infinite, unpriced = _portfolio_metric(portfolio_view, rule.metric)
            rows.append(_row(rule, value, infinite, unpriced))
            continue
        result = results[view]
        if rule.metric == "margin_ratio":
            value, infinite = _margin_ratio(result)
        elif rule.metric == "distance_to_liquidation":
            value = _distance(result)
        elif rule.metric in ("available", "equity"):
            value, unpriced = _usd_sum(resolved, result, rule.metric, market)
        else:  # account_move
            if view not in moves:
                moves[view] = _account_move(resolved, view, market)
            value = moves[view]
        rows.append(_row(rule, value, infinite, unpriced))
    return rows


def _row(rule: AlertRule, value: float | None, infinite: bool, unpriced: list[str]) -> dict[str, object]:
    row: dict[str, object] = {
        "id": rule.label,
        "metric": rule.metric,
        "value": value,
        "triggered": _triggered(rule, value, infinite),
    }
    if unpriced:
        row["unpriced_assets"] = unpriced
    return row
