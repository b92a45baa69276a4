"""The option positions of one compiled view: where each sits and how it is valued at a matrix of marks.

Options sit in the cross pool of their settle asset in every standard view (format §6.1: venues margin
options only in the cross pool; in the ``isolated`` view too). An option's column in the marks is its
underlying's forward F (§6.3: the base's instruments move together). Its volatility and time to expiry come
from the market it is compiled on (§6.5 ``--vol-shock``, ``--days``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .option_legs import OptionArrays, OptionTerms, option_terms, vol_multipliers

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class OptionBook:
    """Options of one view: arrays, marks column, pool, and the volatility and time they are priced with."""

    arrays: OptionArrays
    sym: IntArray  # column of each option in the marks
    pool: IntArray  # pool of each option (the cross pool of its settle asset)
    iv: FloatArray  # after the volatility shock
    t: FloatArray  # years to expiry after the days forward
    n_pools: int

    def __len__(self) -> int:
        return len(self.arrays)

    @cached_property
    def member(self) -> FloatArray:
        """(O, G) 0/1: the pool of each option."""
        out = np.zeros((len(self), self.n_pools))
        out[np.arange(len(self)), self.pool] = 1.0
        return out

    def terms(self, marks: FloatArray) -> OptionTerms:
        """Value and standard margin of every option at ``marks`` (S, n_symbols) (§6.2, §6.3)."""
        return option_terms(self.arrays, marks[..., self.sym], self.iv, self.t)

    def pooled(self, values: FloatArray) -> FloatArray:
        """(S, O) option amounts summed into (S, G) pools."""
        return values @ self.member


def compile_options(
    arrays: OptionArrays | None,
    symbol_index: Mapping[str, int],
    pool_of_settle: Mapping[str, int],
    n_pools: int,
    vol_moves: Mapping[str, float],
    days: float,
) -> OptionBook | None:
    """The :class:`OptionBook` of a view, ``None`` when the account holds no option."""
    if arrays is None or not len(arrays):
        return None
    legs = arrays.legs
    return OptionBook(
        arrays=arrays,
        sym=np.array([symbol_index[leg.symbol] for leg in legs], dtype=np.intp),
        pool=np.array([pool_of_settle[leg.option.settle] for leg in legs], dtype=np.intp),
        iv=arrays.iv * vol_multipliers(arrays.bases(), vol_moves),
        t=arrays.t(days),
        n_pools=n_pools,
    )
