"""Venue presets (``portfolio-format.md`` §3), one small module each, naming its sources."""

from __future__ import annotations

from .base import LiquidationRules, Venue
from .binance import BINANCE_COINM, BINANCE_USDM
from .bybit import BYBIT
from .deribit import DERIBIT
from .dydx import DYDX
from .generic import GENERIC
from .hyperliquid import HYPERLIQUID
from .okx import OKX

VENUES: dict[str, Venue] = {
    v.name: v for v in (BINANCE_USDM, BINANCE_COINM, BYBIT, OKX, HYPERLIQUID, DYDX, DERIBIT, GENERIC)
}


def unified_symbol(text: str, venue: str | None = None) -> str | None:
    """The ccxt unified symbol for a venue's own contract name (``BTCUSDT`` on ``binance-usdm`` →
    ``BTC/USDT:USDT``); with no venue, the first venue's reading (a suggestion); ``None`` when none reads it."""
    if venue is not None:
        v = VENUES.get(venue)
        return None if v is None else v.native_symbol(text)
    for v in VENUES.values():
        if (found := v.native_symbol(text)) is not None:
            return found
    return None


def get_venue(name: str) -> Venue | None:
    """The preset called ``name``, or ``None``."""
    return VENUES.get(name)


__all__ = ["VENUES", "LiquidationRules", "Venue", "get_venue", "unified_symbol"]
