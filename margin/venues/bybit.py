"""Bybit linear (USDT/USDC) and inverse contracts.

Sources: ``margin-models.md`` §3 — Y1 "Liquidation Price (USDT Contract)", Y4 "Liquidation Price
Calculation under Isolated Mode (Unified Trading Account)" (2024-09-10 text), Y5 "Trading Rules:
Liquidation Process (UTA)"; freqtrade ``bybit.py::dry_run_liquidation_price``. Risk-limit tiers with
an MM deduction (§3.1). Isolated maintenance is valued at the ENTRY value with no closing fee (Y1;
Y4 2024 text) — not at the liquidation price as Binance does (§11.5): that difference is modelled,
not averaged. Cross (UTA) maintenance is valued at the mark (account MM rate ≥ 100 %, Y5).
"""

from __future__ import annotations

import re

from ..models import EntryValuedIsolated
from .base import LiquidationRules, Venue, linear_concat_symbol

BYBIT = Venue(
    name="bybit",
    title="Bybit (linear and inverse)",
    sources=(
        "https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract",
        "https://bybit.nl/nl-NL/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account",
        "margin-models.md §3",
    ),
    margin_model=EntryValuedIsolated(),
    liquidation=LiquidationRules(None, "tiers", source="margin-models.md §3.5 (Y5), §3.2"),
    native_symbol=lambda text: bybit_symbol(text),
    taker_fee=0.00055,
    tiers_file="bybit.json",
    options=True,
)


_INVERSE = re.compile(r"^([A-Z0-9]{1,20})USD$")
_PERP = re.compile(r"^([A-Z0-9]{1,20})PERP$")


def bybit_symbol(text: str) -> str | None:
    """Bybit contract names: ``BTCUSDT`` (linear USDT), ``BTCPERP`` (USDC perpetual), ``BTCUSD`` (inverse)."""
    if (linear := linear_concat_symbol(text)) is not None:
        return linear
    if m := _PERP.match(text):
        return f"{m.group(1)}/USDC:USDC"
    if m := _INVERSE.match(text):
        return f"{m.group(1)}/USD:{m.group(1)}"
    return None


def isolated_linear_liquidation_price(
    side: int, qty: float, entry_price: float, isolated_margin: float, mmr: float, deduction: float = 0.0
) -> float:
    """Bybit isolated linear LP with MM at entry value (§3.2 [bybit_usdt_isolated_doc], Y1)::

        PV = Q·EP,  MM = PV·MMR − deduction
        LP_long  = EP − (IM + Extra − MM)/Q,   LP_short = EP + (IM + Extra − MM)/Q

    (``isolated_margin`` = IM + ExtraMargin). Y1: 1 BTC @ 20,000, 50×, MMR 0.5 % → 19,700.
    """
    mm = qty * entry_price * mmr - deduction
    return entry_price - side * (isolated_margin - mm) / qty


def isolated_simple_liquidation_price(side: int, entry_price: float, leverage: float, mmr: float) -> float:
    """``EP·(1 − 1/lev + MMR)`` (long) / ``EP·(1 + 1/lev − MMR)`` (short): §3.2 [bybit_isolated_simple]."""
    return entry_price * (1 - side / leverage + side * mmr)


def isolated_inverse_liquidation_price(
    side: int, contracts_usd: float, entry_price: float, isolated_margin: float, mmr: float, deduction: float = 0.0
) -> float:
    """Bybit isolated inverse LP, 2024 UTA text, MM at entry (§3.3 [bybit_inverse_isolated_uta_2024])::

        PV = Q_usd / EP,  MM = PV·MMR − D
        LP_long = Q_usd / (PV + (IM − MM)),   LP_short = Q_usd / (PV − (IM − MM))

    Y4: 60,000 USD long @ 50,000, 10×, MMR 0.5 % → 45,662.10.
    """
    pv = contracts_usd / entry_price
    mm = pv * mmr - deduction
    return contracts_usd / (pv + side * (isolated_margin - mm))
