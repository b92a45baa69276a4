"""Tiered maintenance at the mark: Binance, OKX (fee to close), Hyperliquid, dYdX, Deribit, generic.

``MM = N × (mmr_k + mmr_per_size_k × coin) − maint_amount_k`` with ``k`` the tier of the notional ``N``
at the price being evaluated (``margin-models.md`` §1.1 [bracket_lookup]; Hyperliquid tiers §6; Deribit
size-dependent rates §5.1, ``coin`` = the size in base coin), plus ``taker_fee × N`` where the venue's
trigger reserves the fee to close (OKX, §4 O1/O2). Initial margin of a cross position is ``N / leverage``,
or ``N × (imr + imr_per_size × coin)`` where the tier gives an ``imr`` (dYdX, Deribit: no leverage
setting); an isolated position holds its ``isolated_margin`` (format §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import BoolArray, FloatArray, Index, IntArray, MaintenanceTerms, PositionRule

if TYPE_CHECKING:
    from ..engine import Book
    from ..tiers import TierMatrix


def initial_margin(
    notional: FloatArray | float,
    leverage: FloatArray | float,
    imr: FloatArray | float,
    imr_per_size: FloatArray | float,
    size_coin: FloatArray | float,
) -> FloatArray:
    """Initial margin of a position: ``N × (imr + imr_per_size × coin)`` where the tier gives an ``imr``
    (NaN where it does not), else ``N / leverage`` (leverage NaN: 1×). Format §2; §5.1 for Deribit."""
    n = np.asarray(notional, dtype=np.float64)
    lev = np.asarray(leverage, dtype=np.float64)
    rate = np.asarray(imr, dtype=np.float64)
    im = n / np.where(np.isnan(lev), 1.0, lev)
    has_imr = ~np.isnan(rate)
    if has_imr.any():
        im_imr = n * (np.where(has_imr, rate, 0.0) + np.asarray(imr_per_size, dtype=np.float64) * size_coin)
        im = np.where(has_imr, im_imr, im)
    return np.asarray(im, dtype=np.float64)


def entry_maintenance(
    tiers: TierMatrix, sym: IntArray, size: FloatArray, entry: FloatArray, inverse: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Maintenance and rate at the entry notional ``q·EP`` (linear) or ``q/EP`` (inverse), at its tier."""
    ne = np.where(inverse, size / entry, size * entry)
    k = tiers.index(sym, ne)
    coin = np.where(inverse, ne, size)
    rate = tiers.mmr[sym, k] + tiers.mmr_per_size[sym, k] * coin
    return ne * rate - tiers.cum[sym, k], rate


@dataclass(frozen=True)
class TieredAtMark:
    """Maintenance at the tier of the notional at the mark (module docstring)."""

    #: the trigger reserves the taker fee to close (OKX, ``margin-models.md`` §4)
    fee_in_trigger: bool = False
    name: str = "tiered-at-mark"
    piecewise: bool = True

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
        mm_entry, mmr_entry = entry_maintenance(tiers, sym, size, entry, inverse)
        return PositionRule(
            at_entry=np.zeros(sym.shape, dtype=bool),
            mm_entry=mm_entry,
            mmr_entry=mmr_entry,
            fee=np.full(sym.shape, taker_fee if self.fee_in_trigger else 0.0),
        )

    def mark_maintenance(
        self, tiers: TierMatrix, flat: IntArray, notional: FloatArray, size_coin: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        rate = np.take(tiers.mmr, flat)
        if tiers.mmr_per_size.any():
            rate += np.take(tiers.mmr_per_size, flat) * size_coin
        mm = notional * rate
        mm -= np.take(tiers.cum, flat)
        return mm, rate

    def maintenance(self, book: Book, mm_at_mark: FloatArray, notional: FloatArray, idx: Index) -> FloatArray:
        fee = book.fee[idx]
        if fee.any():
            return np.asarray(mm_at_mark + fee * notional, dtype=np.float64)
        return mm_at_mark

    def rate_in_force(self, book: Book, rate_at_mark: FloatArray, idx: Index) -> FloatArray:
        return rate_at_mark

    def initial(
        self, book: Book, notional: FloatArray, flat: IntArray, size_coin: FloatArray, idx: Index
    ) -> FloatArray:
        tiers = book.tiers
        im = initial_margin(
            notional, book.leverage[idx], np.take(tiers.imr, flat), np.take(tiers.imr_per_size, flat), size_coin
        )
        return np.asarray(np.where(book.isolated[idx], book.iso_margin[idx], im), dtype=np.float64)

    def terms(self, book: Book, idx: IntArray, tier: IntArray) -> MaintenanceTerms:
        tiers = book.tiers
        extra = (1,) * (np.ndim(tier) - np.ndim(idx))
        sym = book.sym[idx].reshape(np.shape(idx) + extra)
        fee = np.broadcast_to(
            book.fee[idx].reshape(np.shape(idx) + extra), np.broadcast_shapes(sym.shape, np.shape(tier))
        )
        return MaintenanceTerms(
            constant=-tiers.cum[sym, tier],
            rate=tiers.mmr[sym, tier],
            per_size=tiers.mmr_per_size[sym, tier],
            fee=fee,
        )

    def floors(self, book: Book, idx: IntArray) -> FloatArray:
        return np.asarray(book.tiers.floor[book.sym[idx], 1:], dtype=np.float64)

    def at_sizes(self, book: Book, i: int, sizes: FloatArray, mark: float) -> FloatArray:
        inv = bool(book.inverse[i])
        n = sizes / mark if inv else sizes * mark
        mm = self._tier_mm(book, i, sizes, n)
        return np.asarray(np.where(sizes > 0, mm + book.fee[i] * n, 0.0), dtype=np.float64)

    def tier_notional(self, book: Book, i: int, size: float, notional: float) -> float:
        return notional

    @staticmethod
    def _tier_mm(book: Book, i: int, sizes: FloatArray, notional: FloatArray) -> FloatArray:
        """``N × (mmr + mmr_per_size × coin) − maint_amount`` of position ``i`` at the tier of ``notional``."""
        tiers = book.tiers
        sym = np.full(sizes.shape, int(book.sym[i]), dtype=np.intp)
        k = tiers.index(sym, notional)
        coin = notional if bool(book.inverse[i]) else sizes
        return np.asarray(
            notional * (tiers.mmr[sym, k] + tiers.mmr_per_size[sym, k] * coin) - tiers.cum[sym, k], dtype=np.float64
        )
