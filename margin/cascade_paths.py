"""The paths a cascade walks: marks (and backing-collateral prices) row by row.

An instant shock (:mod:`margin.shocks`; moves per symbol and per collateral asset) is walked from 0 to
the full move in ``steps`` equal increments of ``t ∈ [0, 1]``: marks ``P₀·(1 + t·move)``, collateral
prices ``c₀·(1 + t·move)``. A price path (T × n_symbols marks) is walked as given, ``t`` its row index,
collateral at its prices. The book's own forced trades are applied after the path (the observed path
already holds the market's own liquidations): :func:`impact_leg` extends it by a leg from the
path's last marks to ``× (1 + D)``, walked like a shock (``t`` from 0 to 1 again, phase ``impact``).
Between two rows the marks are linear in the fraction of the segment (the ``crossing`` fill).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .instruments import symbol_base
from .portfolio import Resolved

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Path:
    """Rows of a walk: marks (T, n_symbols), collateral prices (T, A) or ``None``, phase and ``t`` per row."""

    marks: FloatArray
    coll: FloatArray | None
    phase: tuple[str, ...]
    t: FloatArray

    @property
    def rows(self) -> int:
        return int(self.marks.shape[0])

    def coll_rows(self, start: int, stop: int) -> FloatArray | None:
        return None if self.coll is None else self.coll[start:stop]

    def coll_at(self, row: int) -> FloatArray | None:
        return None if self.coll is None else self.coll[row]


def leg(start: FloatArray, end: FloatArray, steps: int, t0: float, t1: float) -> tuple[FloatArray, FloatArray]:
    """``steps + 1`` rows from ``start`` to ``end`` in equal increments, and their ``t`` from t0 to t1."""
    frac = np.arange(steps + 1, dtype=np.float64) / steps
    return start[None, :] + frac[:, None] * (end - start)[None, :], t0 + frac * (t1 - t0)


def shock_path(resolved: Resolved, moves: Mapping[str, float], steps: int) -> tuple[Path, FloatArray]:
    """The walk of an instant shock (``moves`` per symbol and collateral asset) and the symbols' moves."""
    symbols = list(resolved.marks)
    move_vec = np.array([moves.get(s, 0.0) for s in symbols])
    m0 = np.array([resolved.marks[s] for s in symbols], dtype=np.float64)
    marks, t = leg(m0, m0 * (1.0 + move_vec), steps, 0.0, 1.0)
    backing = resolved.portfolio.collateral_assets
    coll = None
    if backing:
        c0 = np.array([c.price for c in backing.values()])
        c1 = np.array([c.price * (1.0 + moves.get(a, 0.0)) for a, c in backing.items()])
        coll, _ = leg(c0, c1, steps, 0.0, 1.0)
    return Path(marks, coll, ("shock",) * marks.shape[0], t), move_vec


def given_path(resolved: Resolved, marks: FloatArray) -> Path:
    """A price path as given (rows of marks), the backing collateral at its prices."""
    backing = resolved.portfolio.collateral_assets
    coll = np.repeat(np.array([[c.price for c in backing.values()]]), marks.shape[0], 0) if backing else None
    return Path(marks, coll, ("path",) * marks.shape[0], np.arange(marks.shape[0], dtype=np.float64))


def impact_leg(base: Path, d: FloatArray, steps: int) -> Path:
    """The walk that follows ``base`` when the book's forced trades move the marks by ``d`` (module
    docstring): ``base``'s last row, then ``steps`` rows to ``× (1 + d)``, collateral held at its last prices."""
    end = base.marks[-1]
    marks, t = leg(end, end * (1.0 + d), steps, 0.0, 1.0)
    coll = None if base.coll is None else np.repeat(base.coll[-1:], marks.shape[0], 0)
    t[0] = base.t[-1]
    return Path(marks, coll, (base.phase[-1],) + ("impact",) * steps, t)


def main_symbol(moves: FloatArray) -> int | None:
    """The symbol with the largest absolute move (first on ties), ``None`` when nothing moves."""
    return int(np.argmax(np.abs(moves))) if moves.size and np.any(moves != 0) else None


def path_from_history(resolved: Resolved, closes: FloatArray, assets: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Marks path (T, n_symbols) that applies an asset history's relative moves to the current marks.

    Each symbol follows the history column of its base asset: ``mark × close_t / close_0`` (missing
    closes carried forward); symbols whose base is not in ``assets`` stay at their mark (returned).
    """
    symbols = list(resolved.marks)
    c = np.asarray(closes, dtype=np.float64)
    out = np.empty((c.shape[0], len(symbols)))
    flat: list[str] = []
    upper = [a.upper() for a in assets]
    for j, s in enumerate(symbols):
        sb = symbol_base(s)  # an option's column (its forward) follows its base (format §6.3)
        base = sb.upper() if sb else ""
        if base in upper:
            col = c[:, upper.index(base)].copy()
            for k in range(col.size):
                if not math.isfinite(col[k]):
                    col[k] = col[k - 1] if k else math.nan
            first = np.flatnonzero(np.isfinite(col))
            if first.size == 0:
                out[:, j] = resolved.marks[s]
                flat.append(s)
                continue
            col[: first[0]] = col[first[0]]
            out[:, j] = resolved.marks[s] * col / col[0]
        else:
            out[:, j] = resolved.marks[s]
            flat.append(s)
    return out, flat
