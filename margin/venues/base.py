"""The rules that make one venue's margin arithmetic differ from another's.

Every venue liquidates when equity ≤ maintenance requirement at the mark price (``margin-models.md``
§0.1, equation (E)); they differ only in (a) whether maintenance is valued at the price being
evaluated or at entry, (b) whether a closing fee is reserved in the trigger, (c) the tier tables, and
(d) linear versus inverse PnL (§0.1). A :class:`Venue` names its margin model (:mod:`margin.models`,
where (a) and (b) are written once) and its liquidation process (fees, partial liquidation, backstop);
every engine asks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..models import MarginModel
from ..states import AlertLevels

#: quote assets a concatenated exchange symbol may end in (``BTCUSDT``)
_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD")
_CONCAT = re.compile(r"^([A-Z0-9]{1,20}?)(USDT|USDC|FDUSD|BUSD)(?:_(\d{6}))?$")


def linear_concat_symbol(text: str) -> str | None:
    """``BTCUSDT`` → ``BTC/USDT:USDT``, ``BTCUSDT_250627`` → ``BTC/USDT:USDT-250627`` (Binance USDⓈ-M and
    Bybit linear contract names, ccxt "Contract naming conventions")."""
    m = _CONCAT.match(text)
    if m is None:
        return None
    base, quote, expiry = m.groups()
    return f"{base}/{quote}:{quote}" + (f"-{expiry}" if expiry else "")


def no_native_symbol(text: str) -> str | None:
    """A venue without a native symbol form of its own."""
    return None


@dataclass(frozen=True)
class LiquidationRules:
    """How a venue liquidates: the fee charged, how much it closes at once, its backstop.

    Used by the cascade (:mod:`margin.contagion`); each venue module states its own with its source.
    """

    #: liquidation fee rate on the closed notional; ``None``: the portfolio's taker fee
    fee: float | None
    #: ``restore`` (close until the margin ratio is restored), ``tiers`` (down one tier at a time),
    #: ``chunks`` (a fixed fraction of large positions) or ``none`` (close the whole position)
    partial: str
    fee_by_base: Mapping[str, float] = field(default_factory=dict)
    chunk_notional: float = 100_000.0
    chunk_fraction: float = 0.2
    #: backstop liquidation below this fraction of maintenance (Hyperliquid 2/3), else ``None``
    backstop: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Venue:
    """One venue preset of ``portfolio-format.md`` §3."""

    name: str
    title: str
    sources: tuple[str, ...]
    #: the margin model: where this venue's maintenance and initial-margin arithmetic lives
    margin_model: MarginModel
    #: the venue's liquidation process
    liquidation: LiquidationRules
    #: the venue's own contract name (``BTCUSDT``, ``BTC-USDT-SWAP``, ``BTC-PERPETUAL``) → ccxt unified symbol
    native_symbol: Callable[[str], str | None] = no_native_symbol
    contract_kinds: frozenset[str] = frozenset({"linear", "inverse"})
    position_modes: frozenset[str] = frozenset({"one-way", "hedge"})
    #: the venue has a user-selected leverage (dYdX and Deribit do not: their tiers give ``imr``)
    has_leverage: bool = True
    #: default taker fee rate (used where the trigger reserves the fee to close)
    taker_fee: float = 0.0005
    #: settle assets the venue offers (``None``: any)
    settle_assets: frozenset[str] | None = None
    #: name of the default tier file in ``fixtures/tiers/`` (``None``: tiers come from the portfolio)
    tiers_file: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: the venue's own documented margin-ratio levels of the pool states (format §8), with their source in
    #: ``AlertLevels.source``; ``None``: the venue publishes none this product can cite, the defaults apply
    alert_levels: AlertLevels | None = None
    #: the venue margins options (format §6.1: deribit, okx, bybit, generic)
    options: bool = False
