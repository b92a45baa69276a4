"""Isolated maintenance valued at the entry notional (Bybit).

``margin-models.md`` §3.2 [bybit_usdt_isolated_doc] (Y1) and §3.3 (Y4, 2024 UTA text): an isolated
position's maintenance is ``PV × MMR − deduction`` with ``PV`` the position value at ENTRY and the tier of
that value, constant in the mark — not at the price being evaluated as Binance does (§11.5). Cross
positions are valued at the mark as in :class:`~margin.models.tiered.TieredAtMark`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import BoolArray, FloatArray, Index, IntArray, MaintenanceTerms, PositionRule
from .tiered import TieredAtMark

if TYPE_CHECKING:
    from ..engine import Book
    from ..tiers import TierMatrix


@dataclass(frozen=True)
class EntryValuedIsolated(TieredAtMark):
    """Isolated positions: maintenance at the entry notional's tier; cross positions: at the mark."""

    name: str = "entry-valued-isolated"

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
        rule = super().position_rule(tiers, sym, size, entry, inverse, isolated, taker_fee)
        return PositionRule(at_entry=isolated.copy(), mm_entry=rule.mm_entry, mmr_entry=rule.mmr_entry, fee=rule.fee)

    def maintenance(self, book: Book, mm_at_mark: FloatArray, notional: FloatArray, idx: Index) -> FloatArray:
        at = book.at_entry[idx]
        if at.any():
            mm_at_mark = np.where(at, book.mm_entry[idx], mm_at_mark)
        return super().maintenance(book, mm_at_mark, notional, idx)

    def rate_in_force(self, book: Book, rate_at_mark: FloatArray, idx: Index) -> FloatArray:
        at = book.at_entry[idx]
        return np.where(at, book.mmr_entry[idx], rate_at_mark) if at.any() else rate_at_mark

    def terms(self, book: Book, idx: IntArray, tier: IntArray) -> MaintenanceTerms:
        t = super().terms(book, idx, tier)
        extra = (1,) * (np.ndim(tier) - np.ndim(idx))
        at = book.at_entry[idx].reshape(np.shape(idx) + extra)
        if not at.any():
            return t
        mm_entry = book.mm_entry[idx].reshape(np.shape(idx) + extra)
        return MaintenanceTerms(
            constant=np.where(at, mm_entry, t.constant),
            rate=np.where(at, 0.0, t.rate),
            per_size=np.where(at, 0.0, t.per_size),
            fee=t.fee,
        )

    def floors(self, book: Book, idx: IntArray) -> FloatArray:
        f = super().floors(book, idx)
        return np.asarray(np.where(book.at_entry[idx][:, None], np.inf, f), dtype=np.float64)

    def at_sizes(self, book: Book, i: int, sizes: FloatArray, mark: float) -> FloatArray:
        if not bool(book.at_entry[i]):
            return super().at_sizes(book, i, sizes, mark)
        inv = bool(book.inverse[i])
        n = sizes / mark if inv else sizes * mark
        ne = sizes / book.entry[i] if inv else sizes * book.entry[i]
        mm = self._tier_mm(book, i, sizes, ne)
        return np.asarray(np.where(sizes > 0, mm + book.fee[i] * n, 0.0), dtype=np.float64)

    def tier_notional(self, book: Book, i: int, size: float, notional: float) -> float:
        if not bool(book.at_entry[i]):
            return notional
        return float(size / book.entry[i] if bool(book.inverse[i]) else size * book.entry[i])
