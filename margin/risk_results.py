"""Results of ``python -m margin risk``: typed records of the simulated first liquidation hours, and their JSON.

From the first liquidation hour of every path (``NEVER`` where none within the horizon,
:mod:`margin.risk_simulation`): the probability ``k/n`` with its Wilson 95 % interval, the quantiles and
mean of the time to liquidation of the liquidated paths with the distribution-free interval of their
median (:mod:`margin.risk_intervals`), and the cumulative probability at checkpoints. :meth:`RiskResult.to_dict`
is the JSON document of ``portfolio-format.md`` §5.
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
class ViewRisk:
    """One view: the account (liquidated when any pool is), its pools and the closed form per position."""

    liquidation: Liquidation
    pools: tuple[PoolLiquidation, ...]
    positions: tuple[PositionPassage, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            **self.liquidation.to_dict(),
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

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``python -m margin risk``."""
        model_doc = self.model.describe()
        if self.held_constant:
            model_doc["held_constant"] = list(self.held_constant)
        return {
            "horizon_hours": self.horizon_hours,
            "paths": self.paths,
            "seed": self.seed,
            "model": model_doc,
            "modes": {view: body.to_dict() for view, body in self.modes.items()},
        }
