"""The margin-model protocol and the polynomial terms every engine derives from it.

On one tier segment a position's maintenance requirement (``margin-models.md`` §0.1 equation (E),
§1.1 [bracket_lookup]; OKX fee to close §4; Deribit size-dependent rate §5.1; Bybit entry-valued
isolated maintenance §3.2) is, in its notional ``N``::

    MM(N) = constant + (rate + fee)·N + per_size·N·coin,   coin = size (linear) or N (inverse)

and its PnL is linear in the mark ``P`` (linear contracts) or in ``1/P`` (inverse). So
``UPNL − MM`` is, per segment, ``α·P + β + γ/P + δ/P²`` (:func:`net_terms`): the closed forms of the
liquidation solver, the sweep, the frontier, the Monte Carlo triggers and the cascade all come from
these terms. A model that is not piecewise in the mark (a risk-based portfolio margin) says so with
``piecewise = False`` and answers only :meth:`MarginModel.maintenance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..engine import Book
    from ..tiers import TierMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
Index = slice | IntArray


@dataclass(frozen=True, eq=False)
class PositionRule:
    """What a model fixes per position when a view is compiled."""

    #: maintenance valued at the entry notional (constant in the mark)
    at_entry: BoolArray
    #: maintenance and rate at the entry notional (the tier of the entry notional)
    mm_entry: FloatArray
    mmr_entry: FloatArray
    #: fee rate reserved in the trigger, on the notional at the mark
    fee: FloatArray


@dataclass(frozen=True, eq=False)
class MaintenanceTerms:
    """``MM(N) = constant + (rate + fee)·N + per_size·N·coin`` on one tier segment (module docstring)."""

    constant: FloatArray
    rate: FloatArray
    per_size: FloatArray
    fee: FloatArray


@dataclass(frozen=True, eq=False)
class NetTerms:
    """``UPNL − MM = α·P + β + γ/P + δ/P²`` of a position on one tier segment, in mark space."""

    alpha: FloatArray
    beta: FloatArray
    gamma: FloatArray
    delta: FloatArray


def net_terms(
    sign: FloatArray, size: FloatArray, entry: FloatArray, inverse: BoolArray, mm: MaintenanceTerms
) -> NetTerms:
    """Mark-space terms of ``UPNL − MM`` (``margin-models.md`` §0: UPNL ``s·q·(P − EP)`` linear,
    ``s·q·(1/EP − 1/P)`` inverse; notional ``q·P`` or ``q/P``)::

        linear:  α = s·q − q·(rate + per_size·q) − fee·q,  β = −s·q·EP − constant,  γ = δ = 0
        inverse: α = 0,  β = s·q/EP − constant,  γ = −q·(s + rate + fee),  δ = −per_size·q²
    """
    s, q, ep = sign, size, entry
    lin = ~inverse
    return NetTerms(
        alpha=np.where(lin, s * q - q * (mm.rate + mm.per_size * q) - mm.fee * q, 0.0),
        beta=np.where(lin, -s * q * ep - mm.constant, s * q / ep - mm.constant),
        gamma=np.where(lin, 0.0, -q * (s + mm.rate + mm.fee)),
        delta=np.where(lin, 0.0, -mm.per_size * q * q),
    )


class MarginModel(Protocol):
    """Maintenance and initial margin of a compiled view's positions (nautilus_trader's ``MarginModel``,
    vectorised over scenarios × positions)."""

    @property
    def name(self) -> str:
        """The model's name."""
        ...

    @property
    def piecewise(self) -> bool:
        """``True`` when maintenance is a piecewise polynomial of the mark with the terms of :meth:`terms`."""
        ...

    def position_rule(
        self,
        tiers: TierMatrix,
        sym: IntArray,
        size: FloatArray,
        entry: FloatArray,
        inverse: BoolArray,
        isolated: BoolArray,
        taker_fee: float,
    ) -> PositionRule:
        """The per-position choices fixed when a view is compiled."""
        ...

    def mark_maintenance(
        self, tiers: TierMatrix, flat: IntArray, notional: FloatArray, size_coin: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """View-independent maintenance at the mark notional (no fee) and its rate, at flat tier indices."""
        ...

    def maintenance(self, book: Book, mm_at_mark: FloatArray, notional: FloatArray, idx: Index) -> FloatArray:
        """Maintenance in force of positions ``idx`` of ``book`` (fee and entry valuation applied)."""
        ...

    def rate_in_force(self, book: Book, rate_at_mark: FloatArray, idx: Index) -> FloatArray:
        """The maintenance rate reported for positions ``idx``."""
        ...

    def initial(
        self, book: Book, notional: FloatArray, flat: IntArray, size_coin: FloatArray, idx: Index
    ) -> FloatArray:
        """Initial margin of positions ``idx`` (format §2)."""
        ...

    def terms(self, book: Book, idx: IntArray, tier: IntArray) -> MaintenanceTerms:
        """Segment terms of positions ``idx`` on tiers ``tier`` (broadcasting)."""
        ...

    def floors(self, book: Book, idx: IntArray) -> FloatArray:
        """(len(idx), K−1) notionals at which the terms change (``inf``: never)."""
        ...

    def at_sizes(self, book: Book, i: int, sizes: FloatArray, mark: float) -> FloatArray:
        """Maintenance in force of position ``i`` at other sizes and one mark (a partial liquidation)."""
        ...

    def tier_notional(self, book: Book, i: int, size: float, notional: float) -> float:
        """The notional whose tier sets position ``i``'s maintenance, at ``size`` and mark ``notional``."""
        ...
