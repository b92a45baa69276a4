"""Hyperliquid USDC-margined linear perpetuals.

Sources: ``margin-models.md`` §6 — H1 https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations,
H2 https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers; freqtrade
``hyperliquid.py::dry_run_liquidation_price``. Maintenance rate ``1/(2 × max_leverage)`` ("half of
the initial margin at max leverage"), tiered assets with a maintenance deduction; liquidation when
equity < MM at the mark price; one-way positions only.
"""

from __future__ import annotations

import re

from ..models import TieredAtMark
from .base import LiquidationRules, Venue

HYPERLIQUID = Venue(
    name="hyperliquid",
    title="Hyperliquid",
    sources=(
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers",
        "margin-models.md §6",
    ),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(None, "chunks", backstop=2.0 / 3.0, source="margin-models.md §6 (H1)"),
    native_symbol=lambda text: hyperliquid_symbol(text),
    contract_kinds=frozenset({"linear"}),
    position_modes=frozenset({"one-way"}),
    taker_fee=0.00045,
    tiers_file="hyperliquid.json",
)


_COIN = re.compile(r"^(k?[A-Z0-9]{1,20})(?:-PERP|-USD)?$")


def hyperliquid_symbol(text: str) -> str | None:
    """Hyperliquid names a perpetual by its coin: ``BTC`` / ``kPEPE`` → ``BTC/USDC:USDC`` / ``kPEPE/USDC:USDC``."""
    m = _COIN.match(text)
    return None if m is None else f"{m.group(1)}/USDC:USDC"


def margins(notional: float, leverage: float, max_leverage: float) -> tuple[float, float]:
    """``IM = notional / leverage``, ``MM = notional / (2 × max_leverage)`` (§6 [hyperliquid_margins])."""
    return notional / leverage, notional / (2 * max_leverage)


def liquidation_price(side: int, qty: float, price: float, margin: float, max_leverage: float) -> float:
    """H1 [hyperliquid_lp]::

        liq_price = price − side × margin_available / position_size / (1 − l × side)
        l = 1 / (2 × max_leverage),  margin_available = margin − size × price × l

    ``margin`` is the account value (cross) or the isolated margin (isolated).
    """
    lev_m = 1 / (2 * max_leverage)
    available = margin - qty * price * lev_m
    return price - side * available / qty / (1 - lev_m * side)
