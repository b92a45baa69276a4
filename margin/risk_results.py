"""Results of ``python -m margin risk``: typed records of the simulated first liquidation hours, and their JSON.

From the first liquidation hour of every path (``NEVER`` where none within the horizon,
:mod:`margin.risk_simulation`): the probability ``k/n`` with its Wilson 95 % interval, the quantiles and
mean of the time to liquidation of the liquidated paths with the distribution-free interval of their
median (:mod:`margin.risk_intervals`), and the cumulative probability at checkpoints. :meth:`RiskResult.to_dict`
is the JSON document of ``portfolio-format.md`` §5.

With orders (§7, a file with stop-losses or take-profits only): the view's figures are those with the
orders working, plus ``probability_without_orders`` / ``ci95_without_orders`` (the same paths, orders
ignored), ``probability_order_filled`` / ``ci95_order_filled`` (at least one of the view's orders fills
within the horizon before its position's liquidation, Wilson interval) and ``orders``: ``[{"id",
"probability_filled", "ci95", "filled_paths"}]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .risk_intervals import median_interval, wilson_interval
from .risk_market import MarketModel
from .risk_positions import PositionPassage
from .risk_simulation import NEVER

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LiquidationTimes:
    """Time to liquidation of the liquidated paths, in hours (all ``None`` when none is liquidated)."""

    p5: float | None = None
    p50: float | None = None
    p95: float | None = None
    mean: float | None = None
    p50_ci95: tuple[float, float] | None = None

    @classmethod
    def of(cls, hours: FloatArray) -> LiquidationTimes:
        """Quantiles (``numpy.quantile``, linear interpolation), mean and median interval of ``hours``."""
        if hours.size == 0:
            return cls()
        q = np.quantile(hours, [0.05, 0.5, 0.95])
        return cls(float(q[0]), float(q[1]), float(q[2]), float(hours.mean()), median_interval(np.sort(hours)))

    def to_dict(self) -> dict[str, object]:
        return {
            "p5": self.p5,
            "p50": self.p50,
            "p95": self.p95,
            "mean": self.mean,
            "p50_ci95": None if self.p50_ci95 is None else list(self.p50_ci95),
        }


def checkpoints(horizon: int) -> tuple[int, ...]:
    """Hours of the cumulative curve: every hour up to 48 h, else whole days (at most about 60 points),
    and the horizon itself."""
    step = 1 if horizon <= 48 else 24 * max(1, math.ceil(horizon / 24 / 60))
    return (*range(step, horizon, step), horizon)


@dataclass(frozen=True)
class Liquidation:
    """Probability of liquidation over the paths, its interval, the times and the cumulative curve."""

    probability: float
    ci95: tuple[float, float]
    liquidated_paths: int
    times: LiquidationTimes
    cumulative_hours: tuple[int, ...]
    cumulative_probability: tuple[float, ...]

    @classmethod
    def of(cls, first: npt.NDArray[np.int32], horizon: int) -> Liquidation:
        """Summary of first liquidation hours ``first`` (one per path) within ``horizon`` hours."""
        n = first.size
        hit = first != NEVER
        k = int(hit.sum())
        hours = np.sort(first[hit]).astype(np.float64)
        marks = checkpoints(horizon)
        cumulative = np.searchsorted(hours, np.array(marks, dtype=np.float64), side="right") / max(n, 1)
        return cls(
            probability=k / n if n else 0.0,
            ci95=wilson_interval(k, n),
            liquidated_paths=k,
            times=LiquidationTimes.of(hours),
            cumulative_hours=marks,
            cumulative_probability=tuple(float(c) for c in cumulative),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "probability": self.probability,
            "ci95": list(self.ci95),
            "liquidated_paths": self.liquidated_paths,
            "time_to_liquidation_hours": self.times.to_dict(),
            "cumulative": {"hours": list(self.cumulative_hours), "probability": list(self.cumulative_probability)},
        }


@dataclass(frozen=True)
class PoolLiquidation:
    """One margin pool holding positions, and its probability of liquidation."""

    pool: int
    settle: str
    mode: str
    positions: tuple[str, ...]
    liquidation: Liquidation

    def to_dict(self) -> dict[str, object]:
        s = self.liquidation
        return {
            "pool": self.pool,
            "settle": self.settle,
            "mode": self.mode,
            "positions": list(self.positions),
            "probability": s.probability,
            "ci95": list(s.ci95),
            "time_to_liquidation_hours": s.times.to_dict(),
        }


@dataclass(frozen=True)
class Fills:
    """How often something fills over the paths: ``filled_paths`` of ``paths``, the Wilson 95 % interval."""

    filled_paths: int
    paths: int

    @property
    def probability(self) -> float:
        return self.filled_paths / self.paths if self.paths else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.filled_paths, self.paths)


@dataclass(frozen=True)
class OrderFill:
    """One order of a view (format §7): the paths on which it fills before its pool's liquidation."""

    id: str
    fills: Fills

    def to_dict(self) -> dict[str, object]:
        f = self.fills
        return {
            "id": self.id,
            "probability_filled": f.probability,
            "ci95": list(f.ci95),
            "filled_paths": f.filled_paths,
        }


@dataclass(frozen=True)
class ViewOrders:
    """A view's orders: the liquidation with the orders ignored, any order filled, each order."""

    without_orders: Liquidation
    any_filled: Fills
    orders: tuple[OrderFill, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "probability_without_orders": self.without_orders.probability,
            "ci95_without_orders": list(self.without_orders.ci95),
            "probability_order_filled": self.any_filled.probability,
            "ci95_order_filled": list(self.any_filled.ci95),
            "orders": [o.to_dict() for o in self.orders],
        }


@dataclass(frozen=True)
class ViewRisk:
    """One view: the account (liquidated when any pool is), its pools and the closed form per position;
    with orders (``orders`` not ``None``) the liquidation is with the orders working."""

    liquidation: Liquidation
    pools: tuple[PoolLiquidation, ...]
    positions: tuple[PositionPassage, ...]
    orders: ViewOrders | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            **self.liquidation.to_dict(),
            **({} if self.orders is None else self.orders.to_dict()),
            "pools": [p.to_dict() for p in self.pools],
            "positions": [p.to_dict() for p in self.positions],
        }


@dataclass(frozen=True, eq=False)
class RiskResult:
    """Probability of liquidation per view (``portfolio-format.md`` §5), with the market model used."""

    horizon_hours: int
    paths: int
    seed: int
    model: MarketModel
    #: non-settle collateral assets held at their price (no history, no volatility given)
    held_constant: tuple[str, ...]
    modes: Mapping[str, ViewRisk]
    #: remarks on the figures (only when there are some, e.g. the closed form ignoring the orders)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``python -m margin risk``."""
        model_doc = self.model.describe()
        if self.held_constant:
            model_doc["held_constant"] = list(self.held_constant)
        out: dict[str, object] = {
            "horizon_hours": self.horizon_hours,
            "paths": self.paths,
            "seed": self.seed,
            "model": model_doc,
            "modes": {view: body.to_dict() for view, body in self.modes.items()},
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out
