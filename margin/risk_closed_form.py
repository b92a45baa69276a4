"""Closed-form first passage of geometric Brownian motion, and the correction for hourly monitoring.

Under GBM ``dS = μ S dt + σ S dW`` the log price ``X_t = ln(S_t/S_0) = ν t + σ W_t`` is a Brownian motion
with drift ``ν = μ − σ²/2``. By the reflection principle (Harrison 1985, *Brownian Motion and Stochastic
Flow Systems*, ch. 1; Shreve 2004, *Stochastic Calculus for Finance II*, §7.2; the barrier-option
literature: Merton 1973, Reiner & Rubinstein 1991 "Breaking down the barriers"), for a barrier ``a = ln b``
and ``s = σ√T``:

- down (``b < 1``, a long's liquidation level): ``P(min X ≤ a) = Φ((a − νT)/s) + e^{2νa/σ²} Φ((a + νT)/s)``
- up (``b > 1``, a short's): ``P(max X ≥ a) = Φ((−a + νT)/s) + e^{2νa/σ²} Φ((−a − νT)/s)``

With ``μ = 0`` (the default: the price is a martingale) ``ν = −σ²/2`` and ``e^{2νa/σ²} = 1/b``. Monitoring
at hourly closes only is matched by shifting the barrier away from the price (Broadie, Glasserman & Kou
1997, :func:`discrete_barrier`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .marketdata import DAYS_PER_YEAR

FloatArray = npt.NDArray[np.float64]

HOURS_PER_YEAR = DAYS_PER_YEAR * 24.0  # 8760: crypto trades every hour of the year
#: Broadie, Glasserman & Kou (1997), "A continuity correction for discrete barrier options",
#: Mathematical Finance 7(4): β = −ζ(1/2)/√(2π)
BGK_BETA = 0.5825971579390106

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal distribution function ``Φ(x) = erfc(−x/√2)/2``, elementwise."""
    arr = np.asarray(x, dtype=np.float64)
    return np.asarray(0.5 * _erfc(-arr / math.sqrt(2.0)), dtype=np.float64)


def first_passage_probability(
    barrier_ratio: npt.ArrayLike,
    sigma_annual: npt.ArrayLike,
    horizon_hours: npt.ArrayLike,
    mu_annual: npt.ArrayLike = 0.0,
    direction: str | None = None,
) -> FloatArray:
    """Probability that a GBM price touches ``b × S_0`` within the horizon (continuous monitoring).

    ``direction`` ``"down"``: ``P(min_{t≤T} S_t/S_0 ≤ b)`` (a long's liquidation level, b < 1);
    ``"up"``: ``P(max S_t/S_0 ≥ b)`` (a short's, b > 1); ``None``: down where ``b < 1``, up where ``b > 1``.
    Reflection principle for Brownian motion with drift ``ν = μ − σ²/2`` (Harrison 1985 ch. 1; Shreve,
    *Stochastic Calculus for Finance II*, §7.2), ``a = ln b``, ``s = σ√T``, ``T`` in years (8,760 h):

    ``P_down = Φ((a − νT)/s) + exp(2νa/σ²)·Φ((a + νT)/s)``,
    ``P_up = Φ((−a + νT)/s) + exp(2νa/σ²)·Φ((−a − νT)/s)``.

    Limits: a barrier already reached (down with ``b ≥ 1``, up with ``b ≤ 1``) gives 1; ``b ≤ 0`` down or
    ``b = ∞`` up gives 0; a NaN barrier (no liquidation price) gives 0; ``σ = 0`` or ``T = 0`` follows the
    deterministic path ``νt``. Vectorised: every argument broadcasts.
    """
    b, sigma, hours, mu = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (barrier_ratio, sigma_annual, horizon_hours, mu_annual))
    )
    if direction not in (None, "down", "up"):
        raise ValueError(f"direction must be 'down', 'up' or None, got {direction!r}")
    if np.any(sigma < 0) or np.any(hours < 0):
        raise ValueError("sigma_annual and horizon_hours must be >= 0")
    down = b < 1.0 if direction is None else np.full(b.shape, direction == "down")
    t = hours / HOURS_PER_YEAR
    nu = mu - 0.5 * sigma * sigma
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.log(np.where(b > 0, b, np.nan))
        s = sigma * np.sqrt(t)
        live = (s > 0) & np.isfinite(a)
        s1 = np.where(live, s, 1.0)
        a1 = np.where(live, a, 0.0)
        sig2 = np.where(live, sigma * sigma, 1.0)
        sign = np.where(down, 1.0, -1.0)
        # down: Φ((a − νT)/s) + e^{2νa/σ²} Φ((a + νT)/s); up: the same with a → −a, ν → −ν in Φ
        first = normal_cdf(sign * (a1 - nu * t) / s1)
        second_cdf = normal_cdf(sign * (a1 + nu * t) / s1)
        second = np.exp(np.minimum(2.0 * nu * a1 / sig2, 700.0)) * second_cdf
        p = np.clip(first + np.nan_to_num(second, nan=0.0, posinf=1.0), 0.0, 1.0)
        # deterministic path X_t = ν t (σ = 0 or T = 0): min X = min(0, νT), max X = max(0, νT)
        det = np.where(down, np.minimum(0.0, nu * t) <= a, np.maximum(0.0, nu * t) >= a)
        p = np.where(live, p, det.astype(np.float64))
        reached = np.where(down, b >= 1.0, b <= 1.0)
        unreachable = np.where(down, b <= 0.0, np.isposinf(b))
    p = np.where(reached, 1.0, np.where(unreachable, 0.0, p))
    return np.asarray(np.where(np.isnan(b), 0.0, p), dtype=np.float64)


def discrete_barrier(barrier_ratio: npt.ArrayLike, sigma_annual: npt.ArrayLike, step_hours: float = 1.0) -> FloatArray:
    """Barrier shifted away from the price so that continuous monitoring matches monitoring every
    ``step_hours``: ``b·exp(∓β σ √Δt)`` (− for a down barrier, + for an up one), ``β = −ζ(½)/√(2π) ≈
    0.5826`` (Broadie, Glasserman & Kou 1997, Mathematical Finance 7(4); error o(1/√m) for m monitoring
    dates)."""
    b = np.asarray(barrier_ratio, dtype=np.float64)
    shift = BGK_BETA * np.asarray(sigma_annual, dtype=np.float64) * math.sqrt(step_hours / HOURS_PER_YEAR)
    return np.asarray(np.where(b < 1.0, b * np.exp(-shift), b * np.exp(shift)), dtype=np.float64)
