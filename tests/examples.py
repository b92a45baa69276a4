"""The example portfolio of ``portfolio-format.md`` §1, verbatim: a file valid today stays valid.

Shared by the file, validation and command-line tests (text as in the contract, and as a dict).
"""

from __future__ import annotations

import json
from typing import Any

SECTION_1_EXAMPLE = """\
{
  "format": "margin-portfolio/1",
  "venue": "binance-usdm",
  "position_mode": "one-way",
  "collateral": {"USDT": 25000.0},
  "prices": {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0},
  "tiers": {
    "BTC/USDT:USDT": [
      {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 125, "maint_amount": 0}
    ]
  },
  "positions": [
    {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.5, "entry_price": 95000.0,
     "leverage": 10, "margin_mode": "cross"},
    {"symbol": "ETH/USDT:USDT", "side": "short", "contracts": 4, "entry_price": 3300.0,
     "leverage": 5, "margin_mode": "isolated", "isolated_margin": 2640.0}
  ]
}
"""


def example() -> dict[str, Any]:
    """A fresh copy of the §1 example as a dict (tests may mutate it)."""
    out: dict[str, Any] = json.loads(SECTION_1_EXAMPLE)
    return out
