"""dYdX v4 USDC-margined linear perpetuals (cross subaccounts; isolated markets in their own).

Sources: ``margin-models.md`` §7 — dydxprotocol/v4-chain@84d4664 ``x/perpetuals/lib/lib.go`` (notional
and requirements), ``lib/margin/risk.go`` (liquidatable ⇔ TMMR > 0 and TMMR > NC). Initial and
maintenance margin fractions per market (``imr``, ``mmr`` on the tier); no user-selected leverage;
no closing fee reserved. (The ceil rounding of requirements to one quote quantum, 1e-6 USDC, is
below display precision and not modelled.)
"""

from __future__ import annotations

import re

from ..models import TieredAtMark
from .base import LiquidationRules, Venue

DYDX = Venue(
    name="dydx",
    title="dYdX v4",
    sources=(
        "https://github.com/dydxprotocol/v4-chain/blob/84d4664/protocol/x/perpetuals/lib/lib.go",
        "https://github.com/dydxprotocol/v4-chain/blob/84d4664/protocol/lib/margin/risk.go",
        "margin-models.md §7",
    ),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(0.005, "none", source="margin-models.md §7 (liquidations.go)"),
    native_symbol=lambda text: dydx_symbol(text),
    contract_kinds=frozenset({"linear"}),
    has_leverage=False,
    taker_fee=0.0005,
    tiers_file="dydx.json",
)


_MARKET = re.compile(r"^([A-Z0-9]{1,20})-USD$")


def dydx_symbol(text: str) -> str | None:
    """dYdX v4 market ids: ``BTC-USD`` → ``BTC/USD:USDC`` (USDC-settled)."""
    m = _MARKET.match(text)
    return None if m is None else f"{m.group(1)}/USD:USDC"


def liquidation_price(
    side: int, qty: float, oracle_price: float, net_collateral: float, other_maintenance: float, mmf: float
) -> float:
    """§7 dashboard convenience (every other oracle price frozen)::

    P_liq = (NC₀ − s·Q·P₀ − MMR_other) / (Q·MMF − s·Q)
    """
    return (net_collateral - side * qty * oracle_price - other_maintenance) / (qty * mmf - side * qty)
