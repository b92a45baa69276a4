"""OKX linear and inverse swaps and futures.

Sources: ``margin-models.md`` §4 — O1 OKX "Tiered maintenance margin ratio rules" (liquidation when
"account equity is equal to or less than the required maintenance margin plus any applicable
liquidation fees"), O2 (isolated margin ratio with ``MMR + fee rate``), freqtrade
``exchange.py::dry_run_liquidation_price``. The maintenance requirement includes the taker fee to
close (``taker_fee``), valued at the price being evaluated.
"""

from __future__ import annotations

import re

from ..models import TieredAtMark
from .base import LiquidationRules, Venue

OKX = Venue(
    name="okx",
    title="OKX (linear and inverse)",
    sources=(
        "https://okx.huicker.com/fr-fr/help/v-tiered-maintenance-margin-ratio-rules",
        "margin-models.md §4",
    ),
    margin_model=TieredAtMark(fee_in_trigger=True),
    liquidation=LiquidationRules(None, "tiers", source="margin-models.md §4 (O1, O2)"),
    native_symbol=lambda text: okx_symbol(text),
    taker_fee=0.0005,
    tiers_file="okx.json",
    options=True,
)


_INST = re.compile(r"^([A-Z0-9]{1,20})-(USDT|USDC|USD)-(SWAP|\d{6})$")


def okx_symbol(text: str) -> str | None:
    """OKX instrument ids: ``BTC-USDT-SWAP`` → ``BTC/USDT:USDT``, ``BTC-USD-SWAP`` → ``BTC/USD:BTC``,
    ``BTC-USDT-250627`` → ``BTC/USDT:USDT-250627``."""
    m = _INST.match(text)
    if m is None:
        return None
    base, quote, kind = m.groups()
    settle = base if quote == "USD" else quote
    return f"{base}/{quote}:{settle}" + ("" if kind == "SWAP" else f"-{kind}")


def isolated_linear_liquidation_price(
    side: int, qty: float, entry_price: float, isolated_margin: float, mmr: float, taker_fee: float
) -> float:
    """§4 [okx_gate_isolated_linear]: ``(EP ∓ margin/Q) / (1 ∓ (MMR + fee))`` (long: −, short: +)."""
    return (entry_price - side * isolated_margin / qty) / (1 - side * (mmr + taker_fee))


def isolated_inverse_liquidation_price(
    side: int, contracts_usd: float, entry_price: float, isolated_margin: float, mmr: float, taker_fee: float
) -> float:
    """§4: ``(1 ± (MMR + fee)) / (1/EP ± margin/(FV·n))`` (long: +, short: −)."""
    return (1 + side * (mmr + taker_fee)) / (1 / entry_price + side * isolated_margin / contracts_usd)
