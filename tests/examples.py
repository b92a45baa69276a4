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


def one_tier(mmr: float, max_leverage: float = 100) -> list[dict[str, Any]]:
    """A tier table of one bracket at maintenance rate ``mmr`` and no maintenance amount (every notional)."""
    return [{"min_notional": 0, "max_notional": None, "mmr": mmr, "max_leverage": max_leverage, "maint_amount": 0}]


ETH = "ETH/USDT:USDT"


def section_7_example(**extra: Any) -> dict[str, Any]:
    """§7's worked example: USDT 5,000; ETH/USDT:USDT long 2 at 3,000, mark 3,100, one tier at 1 %, cross,
    slippage 0.001, a stop at 2,900 (``extra`` replaces top-level fields)."""
    data: dict[str, Any] = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 5000.0},
        "prices": {ETH: 3100.0},
        "tiers": {ETH: one_tier(0.01)},
        "positions": [{"symbol": ETH, "side": "long", "contracts": 2, "entry_price": 3000.0, "leverage": 10}],
        "orders": [{"id": "sl-eth", "symbol": ETH, "type": "stop", "trigger_price": 2900.0}],
        "slippage": 0.001,
    }
    data.update(extra)
    return data


def assert_messages(found: list[str], want: list[str]) -> None:
    """Every wanted problem message starts one of ``found``, and nothing else was found."""
    for needle in want:
        assert any(m.startswith(needle) for m in found), (needle, found)
    assert len(found) == len(want), found


def single_order_book(
    side: str,
    contracts: float,
    entry: float,
    mark: float,
    collateral: float,
    mmr: float,
    order: dict[str, Any],
    slippage: float,
) -> dict[str, Any]:
    """USDT ``collateral``; one ETH/USDT:USDT position (leverage 1, cross) at ``entry``, mark ``mark``, one tier at
    ``mmr``, with ``order`` (its ``symbol`` added) and ``slippage``."""
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": collateral},
        "prices": {ETH: mark},
        "tiers": {ETH: one_tier(mmr)},
        "positions": [{"symbol": ETH, "side": side, "contracts": contracts, "entry_price": entry, "leverage": 1}],
        "orders": [{"symbol": ETH, **order}],
        "slippage": slippage,
    }


def section_6_5_example() -> dict[str, Any]:
    """The worked example of format §6.5 (a Deribit book: long perpetual, short 100k call, long 90k put on 0.3 BTC):
    portfolio view equity 27,420.13 USD, IM 19,365.84, MM 15,492.68, ratio 0.5650, BTC unit up +9.1920 %."""
    return {
        "format": "margin-portfolio/1",
        "venue": "deribit",
        "as_of": "2026-11-20T08:00:00Z",
        "collateral": {"BTC": 0.3},
        "index_prices": {"BTC": 97000},
        "prices": {"BTC/USD:BTC": 97100},
        "positions": [
            {"symbol": "BTC/USD:BTC", "side": "long", "contracts": 3000, "contract_size": 10, "entry_price": 95000},
            {
                "symbol": "BTC/USD:BTC-261225-100000-C",
                "side": "short",
                "contracts": 2,
                "entry_price": 0.035,
                "iv": 0.52,
            },
            {"symbol": "BTC/USD:BTC-261225-90000-P", "side": "long", "contracts": 2, "entry_price": 0.02, "iv": 0.58},
        ],
    }
