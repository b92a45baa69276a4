"""Instruments from ccxt unified symbols.

``BASE/QUOTE:SETTLE`` is a perpetual swap, ``BASE/QUOTE:SETTLE-YYMMDD`` a dated future
(ccxt "Unified symbols", docs.ccxt.com "Contract naming conventions"). A contract whose settle asset
equals its base is inverse (coin-margined); otherwise it is linear. ``portfolio-format.md`` §1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SYMBOL = re.compile(r"^([^/:\s]+)/([^/:\s]+):([^/:\s-]+)(?:-([0-9A-Za-z]+))?$")
#: a contract-size multiplier before the coin's name: Binance/Bybit ``1000PEPE``, ``10000LADYS``,
#: ``1000000MOG``, ``1MBABYDOGE``; Hyperliquid ``kPEPE``, ``kBONK`` (a thousand). ``1INCH`` is a coin.
_MULTIPLIER = re.compile(r"^(?:1000000|100000|10000|1000|1M|k)(?=[A-Z])")


@dataclass(frozen=True)
class Instrument:
    """A derivatives contract: what it is quoted in and what it settles in."""

    symbol: str
    base: str
    quote: str
    settle: str
    expiry: str | None = None

    @property
    def inverse(self) -> bool:
        """Settle equal to base means inverse (portfolio-format.md §1, field ``symbol``)."""
        return self.settle == self.base

    @property
    def kind(self) -> str:
        return "inverse" if self.inverse else "linear"


def parse_symbol(symbol: str) -> Instrument | None:
    """Parse a ccxt unified derivatives symbol, or return ``None`` when it is not one."""
    match = _SYMBOL.match(symbol)
    if match is None:
        return None
    base, quote, settle, expiry = match.groups()
    return Instrument(symbol=symbol, base=base, quote=quote, settle=settle, expiry=expiry)


def underlying_asset(base: str) -> str:
    """The coin a contract's base stands for, as price histories name it: the multiplier prefix removed
    and upper-cased (``1000PEPE`` → ``PEPE``, ``kPEPE`` → ``PEPE``, ``1INCH`` → ``1INCH``, ``btc`` →
    ``BTC``). The one rule every lookup of a base asset uses."""
    return _MULTIPLIER.sub("", base).upper()


def symbol_base(symbol: str) -> str | None:
    """The base asset of a contract or option symbol (``BTC/USD:BTC-261225-100000-C`` → ``BTC``, format §6.1),
    ``None`` when ``symbol`` is neither."""
    inst = parse_symbol(symbol)
    if inst is not None:
        return inst.base
    head, sep, _ = symbol.partition(":")
    base, slash, _ = head.partition("/")
    return base if sep and slash and base else None
