"""Margin models: the one place each maintenance and initial-margin rule is written.

A venue module names the model it uses (``Venue.margin_model``); every engine (evaluation, the
liquidation solver, the uniform sweep, the frontier, the Monte Carlo triggers, the cascade and the Learn
page) asks that model and keeps no copy of the arithmetic. The readable scalar reference
(:mod:`margin.scalar`) stays independent: it is the oracle the tests hold the models to.

- :class:`TieredAtMark`: tier of the notional at the price being evaluated, with the maintenance
  amount, the fee to close where the trigger reserves it, and size-dependent rates (Binance, OKX,
  Hyperliquid, dYdX, Deribit, generic).
- :class:`EntryValuedIsolated`: isolated maintenance valued at the entry notional (Bybit); cross
  positions as :class:`TieredAtMark`.
"""

from __future__ import annotations

from .base import MaintenanceTerms, MarginModel, NetTerms, net_terms
from .entry_valued import EntryValuedIsolated
from .tiered import TieredAtMark, entry_maintenance, initial_margin

__all__ = [
    "EntryValuedIsolated",
    "MaintenanceTerms",
    "MarginModel",
    "NetTerms",
    "TieredAtMark",
    "entry_maintenance",
    "initial_margin",
    "net_terms",
]
