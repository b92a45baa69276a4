"""Binance USDⓈ-M (linear) and COIN-M (inverse) futures.

Sources: ``margin-models.md`` §1 (B1 "How to Calculate Liquidation Price of USDⓈ-M Futures
Contracts", B2, B4, B5; freqtrade ``binance.py::dry_run_liquidation_price``) and §2 (C1 "How to
Calculate Liquidation Price of COIN-M Futures Contracts", C2). Maintenance margin is tiered on the
notional at the mark price with a maintenance amount (``cum``); the trigger is margin balance ≤ MM
(margin ratio ≥ 100 %); no closing fee is reserved (the liquidation fee is charged on liquidation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import TieredAtMark
from .base import LiquidationRules, Venue, linear_concat_symbol

BINANCE_USDM = Venue(
    name="binance-usdm",
    title="Binance USDⓈ-M futures",
    sources=(
        "https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93",
        "margin-models.md §1.1-§1.3",
    ),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(0.005, "restore", source="margin-models.md §1.5 (B5)"),
    native_symbol=linear_concat_symbol,
    contract_kinds=frozenset({"linear"}),
    taker_fee=0.0005,
    tiers_file="binance-usdm.json",
)

BINANCE_COINM = Venue(
    name="binance-coinm",
    title="Binance COIN-M futures",
    sources=(
        "https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46",
        "margin-models.md §2",
    ),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(0.005, "restore", source="margin-models.md §1.5 (B5), §2"),
    native_symbol=lambda text: coinm_symbol(text),
    contract_kinds=frozenset({"inverse"}),
    taker_fee=0.0005,
    tiers_file="binance-coinm.json",
)


_COINM = re.compile(r"^([A-Z0-9]{1,20})USD_(PERP|\d{6})$")


def coinm_symbol(text: str) -> str | None:
    """``BTCUSD_PERP`` → ``BTC/USD:BTC``, ``BTCUSD_250627`` → ``BTC/USD:BTC-250627`` (Binance COIN-M names)."""
    m = _COINM.match(text)
    if m is None:
        return None
    base, kind = m.groups()
    return f"{base}/USD:{base}" + ("" if kind == "PERP" else f"-{kind}")


@dataclass(frozen=True)
class Leg:
    """A position in the closed forms: side ±1, size, entry price, tier rate and amount."""

    side: int
    qty: float
    entry_price: float
    mmr: float
    cum: float


def usdm_liquidation_price(
    wallet_balance: float,
    other_maintenance: float,
    other_upnl: float,
    both: Leg | None = None,
    long: Leg | None = None,
    short: Leg | None = None,
) -> float:
    """Binance USDⓈ-M liquidation price, one-way (``both``) or hedge (``long``/``short``).

    ``margin-models.md`` §1.3 [binance_usdm_lp] (B1/B4)::

        LP = (WB − TMM₁ + UPNL₁ + cum_B + cum_L + cum_S − Side_B·Pos_B·EP_B − Pos_L·EP_L + Pos_S·EP_S)
             / (Pos_B·MMR_B + Pos_L·MMR_L + Pos_S·MMR_S − Side_B·Pos_B − Pos_L + Pos_S)

    The tier (MMR, cum) must be the one of the notional at the returned price (bracket consistency,
    §1.3); a result ≤ 0 means no liquidation price ("--").
    """
    num = wallet_balance - other_maintenance + other_upnl
    den = 0.0
    if both is not None:
        num += both.cum - both.side * both.qty * both.entry_price
        den += both.qty * both.mmr - both.side * both.qty
    if long is not None:
        num += long.cum - long.qty * long.entry_price
        den += long.qty * long.mmr - long.qty
    if short is not None:
        num += short.cum + short.qty * short.entry_price
        den += short.qty * short.mmr + short.qty
    return num / den


def coinm_liquidation_price(
    wallet_balance: float,
    other_maintenance: float,
    other_upnl: float,
    contract_size: float,
    both: Leg | None = None,
    long: Leg | None = None,
    short: Leg | None = None,
) -> float:
    """Binance COIN-M liquidation price (``qty`` in contracts of ``contract_size`` USD).

    ``margin-models.md`` §2 [binance_coinm_lp] (C1)::

        LP = CS·(Pos_B·MMR_B + Pos_L·MMR_L + Pos_S·MMR_S + Side_B·Pos_B + Pos_L − Pos_S)
             / (WB − TMM₁ + UPNL₁ + cum_B + cum_L + cum_S + CS·(Side_B·Pos_B/EP_B + Pos_L/EP_L − Pos_S/EP_S))
    """
    num = 0.0
    den = wallet_balance - other_maintenance + other_upnl
    for leg, sign in ((both, None), (long, 1), (short, -1)):
        if leg is None:
            continue
        s = leg.side if sign is None else sign
        num += leg.qty * leg.mmr + s * leg.qty
        den += leg.cum + contract_size * s * leg.qty / leg.entry_price
    return contract_size * num / den


def coinm_maintenance_margin(
    contracts: float, contract_size: float, mark_price: float, mmr: float, cum: float
) -> float:
    """COIN-M maintenance margin in coin: ``contracts × CS / mark × MMR − cum`` (§2 [binance_coinm_mm]).

    C1: 100 contracts × 100 USD at mark 25,000 → 0.4 BTC × 0.4 % − 0 = 0.0016 BTC.
    """
    return contracts * contract_size / mark_price * mmr - cum
