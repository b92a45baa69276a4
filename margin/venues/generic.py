"""Generic preset: Binance-style arithmetic with the tiers given in the portfolio file.

Source: ``portfolio-format.md`` §3 (``generic``) and ``margin-models.md`` §0.1 equation (E) with
maintenance valued at the price being evaluated (§1.3). No default tiers: every symbol's table must be
in the file.
"""

from __future__ import annotations

from ..models import TieredAtMark
from .base import LiquidationRules, Venue, linear_concat_symbol

GENERIC = Venue(
    name="generic",
    title="Generic (tiers from the file)",
    sources=("portfolio-format.md §3", "margin-models.md §0.1, §1.3"),
    margin_model=TieredAtMark(),
    liquidation=LiquidationRules(0.005, "restore", source="margin-models.md §1.5 (Binance-style)"),
    native_symbol=linear_concat_symbol,
    taker_fee=0.0005,
    options=True,
)
