"""Deribit futures and perpetuals, standard margin.

Sources: ``margin-models.md`` §5.1 — D1 Deribit "11 January 2022" margin change notice
(https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022): BTC IM rate
2 % + n × 0.005 %, MM rate 1 % + n × 0.005 %; ETH 0.0004 % per ETH; n = position size in coin.
Rates grow linearly with size (the tier's ``mmr_per_size``/``imr_per_size``); no selected leverage;
trigger MM > equity; no closing fee reserved (a liquidation fee is charged).
"""

from __future__ import annotations

import re

from ..models import TieredAtMark
from .base import LiquidationRules, Venue

DERIBIT = Venue(
    name="deribit",
    title="Deribit (standard margin)",
    sources=(
        "https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022",
        "margin-models.md §5.1",
    ),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(
        0.0075, "restore", fee_by_base={"BTC": 0.0075, "ETH": 0.009}, source="margin-models.md §5.1 (D1), §10"
    ),
    native_symbol=lambda text: deribit_symbol(text),
    has_leverage=False,
    taker_fee=0.0005,
    tiers_file="deribit.json",
    options=True,
)

_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_INSTRUMENT = re.compile(r"^([A-Z0-9]{1,20})(?:_(USDC|USDT))?-(PERPETUAL|(\d{1,2})([A-Z]{3})(\d{2}))$")


def deribit_symbol(text: str) -> str | None:
    """Deribit instrument names: ``BTC-PERPETUAL`` → ``BTC/USD:BTC``, ``BTC-27JUN25`` → ``BTC/USD:BTC-250627``,
    ``SOL_USDC-PERPETUAL`` → ``SOL/USDC:USDC``."""
    m = _INSTRUMENT.match(text)
    if m is None:
        return None
    base, stable, kind, day, month, year = m.groups()
    quote, settle = (stable, stable) if stable else ("USD", base)
    if kind == "PERPETUAL":
        return f"{base}/{quote}:{settle}"
    if month not in _MONTHS:
        return None
    return f"{base}/{quote}:{settle}-{year}{_MONTHS[month]:02d}{int(day):02d}"
