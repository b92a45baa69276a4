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
  USD. There is no ``portfolio`` view yet (issue 11), so each pool's amount is converted at the USD price
  that view will use (format §6.4): 1 for a USD-like settle asset (USD, USDT, USDC, BUSD, FDUSD, DAI, USDE),
  else the mark (evaluated, so shocked with its symbol) of the first symbol of ``prices``, then of the
  positions, whose base is that asset and whose quote is USD-like (BTC collateral at the BTC/USD(T) mark).
  A pool whose asset has no such price is left out and its asset named in the row's ``unpriced_assets``
  (a key present only then).
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
from .instruments import parse_symbol
from .market import MarketSnapshot
from .portfolio import AlertRule, Resolved

if TYPE_CHECKING:
    from .report import ViewResult

#: assets valued at 1 USD (format §6.4)
USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "USDE"})


def usd_price(resolved: Resolved, asset: str, market: MarketSnapshot) -> float | None:
    """The USD price of ``asset`` (module docstring): 1 when USD-like, else the mark of the first symbol of
    ``prices``, then of the positions, with base ``asset`` and a USD-like quote; ``None`` when none."""
    if asset.upper() in USD_LIKE:
        return 1.0
    pf = resolved.portfolio
    for symbol in dict.fromkeys([*pf.prices, *(p.symbol for p in pf.positions)]):
        inst = parse_symbol(symbol)
        if inst is None or inst.base != asset or inst.quote.upper() not in USD_LIKE:
            continue
        price = market.marks.get(symbol, pf.prices.get(symbol))
        if price is not None:
            return float(price)
    return None


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


def _triggered(rule: AlertRule, value: float | None, infinite: bool = False) -> bool:
    if infinite:
        return rule.above is not None
    if value is None or not math.isfinite(value):
        return False
    if rule.above is not None:
        return value > rule.above
    return rule.below is not None and value < rule.below


def evaluate_alerts(
    resolved: Resolved, results: Mapping[str, ViewResult], market: MarketSnapshot
) -> list[dict[str, object]]:
    """The ``alerts`` rows of ``evaluate`` (format §8) for the views ``results`` evaluated on ``market``."""
    rows: list[dict[str, object]] = []
    moves: dict[str, float | None] = {}  # account_move per view, searched once
    for rule in resolved.portfolio.alerts:
        view = rule.view or "as_is"
        result = results[view]
        value: float | None
        infinite = False
        unpriced: list[str] = []
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
        row: dict[str, object] = {
            "id": rule.label,
            "metric": rule.metric,
            "value": value,
            "triggered": _triggered(rule, value, infinite),
        }
        if unpriced:
            row["unpriced_assets"] = unpriced
        rows.append(row)
    return rows
