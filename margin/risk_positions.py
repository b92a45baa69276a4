"""Closed-form probability that each position's mark touches its liquidation price within a horizon.

Each position's barrier is its liquidation price (:func:`margin.engine.liquidation_prices`: its pool's
equity meets maintenance, every other price held), its probability the first passage of GBM
(:func:`margin.risk_closed_form.first_passage_probability`) with continuous monitoring and, for the
hourly-close monitoring of the Monte Carlo, at the Broadie–Glasserman–Kou shifted barrier
(:func:`margin.risk_closed_form.discrete_barrier`). Exact only for a position alone in its pool (an
isolated position, or the only position of a cross pool): elsewhere the other positions move the level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .engine import compile_book, evaluate, liquidation_prices
from .marketdata import PriceHistory
from .portfolio import Resolved
from .risk_closed_form import discrete_barrier, first_passage_probability
from .risk_market import build_model


@dataclass(frozen=True)
class PositionPassage:
    """One position's closed-form probability of liquidation (JSON: :meth:`to_dict`)."""

    id: str
    symbol: str
    asset: str
    side: str
    pool: int
    mark: float
    liquidation_price: float | None  # None: no liquidation price
    barrier_ratio: float | None  # liquidation price / mark
    volatility: float  # annualised, of the position's base
    probability: float | None  # continuous monitoring; None in a pool holding options
    probability_hourly: float | None  # hourly closes (BGK-shifted barrier); None in a pool holding options
    exact: bool  # the position is alone in its pool

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "symbol": self.symbol,
            "asset": self.asset,
            "side": self.side,
            "pool": self.pool,
            "mark": self.mark,
            "liquidation_price": self.liquidation_price,
            "barrier_ratio": self.barrier_ratio,
            "volatility": self.volatility,
            "probability": self.probability,
            "probability_hourly": self.probability_hourly,
            "exact": self.exact,
        }


def asset_volatilities(
    resolved: Resolved, history: PriceHistory, vols: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Annualised volatility of every base asset of the positions: ``vols`` or the history's, as
    :func:`margin.risk_market.build_model` estimates them."""
    assets = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    if not assets:
        return {}
    m = build_model(assets, history, "gbm", vols)
    return {a: float(v) for a, v in zip(m.assets, m.vol, strict=True)}


def position_first_passage(
    resolved: Resolved,
    view: str,
    horizon_hours: int,
    volatility: Mapping[str, float],
    mu_annual: float = 0.0,
) -> tuple[PositionPassage, ...]:
    """Closed-form probability (module docstring) of every position of ``view`` within ``horizon_hours``.

    ``volatility`` gives the annualised volatility of every base asset (:func:`asset_volatilities`). A
    position with no liquidation price has probability 0; one whose pool is already liquidated has 1. In a
    pool holding options (format §6) the closed form is not available (the pool's equity is no single
    barrier in the future's price: the options' value and margin bend it, and their time to expiry passes):
    ``probability`` and ``probability_hourly`` are ``None`` there, ``exact`` is false.
    """
    book = compile_book(resolved, view)
    if book.n_positions == 0:
        return ()
    assets = [leg.instrument.base for leg in resolved.legs]
    missing = sorted(set(assets) - set(volatility))
    if missing:
        raise ValueError(f"volatility has no entry for {', '.join(missing)}")
    ev = evaluate(book)
    lp = liquidation_prices(book, ev).liquidation[0]
    sigma = np.array([volatility[a] for a in assets], dtype=np.float64)
    mark = ev.mark[0]
    with np.errstate(invalid="ignore"):
        ratio = lp / mark
    already = ev.pool_liquidated[0][book.pool]
    p = first_passage_probability(ratio, sigma, horizon_hours, mu_annual)
    p_hourly = first_passage_probability(discrete_barrier(ratio, sigma), sigma, horizon_hours, mu_annual)
    p = np.where(already, 1.0, p)
    p_hourly = np.where(already, 1.0, p_hourly)
    count = np.bincount(book.pool, minlength=book.n_pools)
    with_options = np.zeros(book.n_pools, dtype=bool)
    if book.options is not None:
        with_options[book.options.pool] = True
        count = count + np.bincount(book.options.pool, minlength=book.n_pools)
    closed = ~with_options[book.pool]
    return tuple(
        PositionPassage(
            id=book.ids[i],
            symbol=leg.position.symbol,
            asset=assets[i],
            side=leg.position.side,
            pool=int(book.pool[i]),
            mark=float(mark[i]),
            liquidation_price=None if math.isnan(lp[i]) else float(lp[i]),
            barrier_ratio=None if math.isnan(ratio[i]) else float(ratio[i]),
            volatility=float(sigma[i]),
            probability=float(p[i]) if closed[i] else None,
            probability_hourly=float(p_hourly[i]) if closed[i] else None,
            exact=bool(count[book.pool[i]] == 1),
        )
        for i, leg in enumerate(resolved.legs)
    )
