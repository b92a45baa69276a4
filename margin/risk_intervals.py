"""Confidence intervals of the Monte Carlo: a probability (Wilson) and a median (order statistics).

- Wilson score interval for a binomial proportion (Wilson 1927, "Probable inference, the law of
  succession, and statistical inference", JASA 22:209-212).
- Distribution-free interval for the median from the order statistics: ranks ``n/2 ∓ z·√(n/4)``, the
  normal approximation to the Binomial(n, ½) count below the median (Conover, *Practical Nonparametric
  Statistics*, 3rd ed., §3.2), one rank wider on the upper side.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927): ``(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)``."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def median_ranks(n: int, z: float = Z95) -> tuple[int, int]:
    """1-based ranks ``(lo, hi)`` of the order statistics bounding the median of ``n`` draws (Conover §3.2):
    ``lo = max(1, ⌊n/2 − z√(n/4)⌋)``, ``hi = min(n, ⌈n/2 + z√(n/4)⌉ + 1)``."""
    half = z * math.sqrt(n * 0.25)
    lo = int(max(1, math.floor(n * 0.5 - half)))
    hi = int(min(n, math.ceil(n * 0.5 + half) + 1))
    return lo, hi


def median_interval(sorted_values: FloatArray, z: float = Z95) -> tuple[float, float]:
    """The distribution-free interval of the median of ``sorted_values`` (ascending, at least one value)."""
    lo, hi = median_ranks(int(sorted_values.size), z)
    return float(sorted_values[lo - 1]), float(sorted_values[hi - 1])
