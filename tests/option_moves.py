"""A small Deribit book with one option, and its pool worked by hand (shared by the sweep, distance and
frontier tests of option books).

``covered_call()``: as_of 2026-11-20T08:00:00Z, collateral 0.3 BTC, ``index_prices`` BTC 97,000 (the
option's forward F, format §6.1), BTC/USD:BTC mark 97,000;

- a long BTC/USD:BTC perpetual, 3,000 contracts × 10 USD (30,000 USD face) at 95,000 (inverse);
- a short BTC/USD:BTC-261225-100000-C, 1 contract (1 BTC), iv 0.52; T = 35 days / 365 (Nov 20 → Dec 25,
  08:00 UTC both, format §6.2).

Every mark moves alike by ``m``: P = F = 97,000 × (1 + m). One BTC cross pool holds both (options sit in the
cross pool of their settle asset, §6.1); in BTC:

- perpetual UPNL ``30000 × (1/95000 − 1/P)`` (format §2, inverse); maintenance with n = 30000 / P BTC:
  ``n × (1 % + n × 0.005 %)`` (``margin-models.md`` §5.1, D1);
- option value ``−C / F`` with C the Black-76 call (§6.2: ``F·N(d1) − K·N(d2)``,
  ``d1 = (ln(F/K) + σ²T/2)/(σ√T)``, ``d2 = d1 − σ√T``, coin-settled: ÷ F); its maintenance
  ``(0.075 × F + C) / F`` (§6.3, short call);
- equity ``0.3 + UPNL − C/F``, maintenance ``MM_perp + 0.075 + C/F``.

At m = 0: UPNL = 30000 × 2000 / (95000 × 97000) = 0.0065111 BTC; σ√T = 0.52 × √(35/365) = 0.161024,
d1 = (ln 0.97 + 0.0129644) / 0.161024 = −0.108647, d2 = −0.269671, C = 97000 × 0.456741 − 100000 × 0.393707
≈ 4,933.24 USD (the §6.5 worked example's call price at F = 97,000), C/F = 0.0508581; equity ≈ 0.255653;
n = 0.309278, MM_perp = 0.309278 × 0.0100155 = 0.0030976; maintenance ≈ 0.128956. The pool is healthy; a fall
costs the perpetual without bound (1/P), a rise costs the call up to C/F → 1 BTC while the inverse perpetual's
gain is capped at 30000/95000 = 0.3158 BTC: it is liquidated both ways.
"""

from __future__ import annotations

import math
from typing import Any

AS_OF = "2026-11-20T08:00:00Z"
T = 35.0 / 365.0
F0 = 97000.0
STRIKE = 100000.0
IV = 0.52
FACE = 3000 * 10.0  # USD
ENTRY = 95000.0
WALLET = 0.3


def covered_call(venue: str = "deribit") -> dict[str, Any]:
    return {
        "format": "margin-portfolio/1",
        "venue": venue,
        "as_of": AS_OF,
        "collateral": {"BTC": WALLET},
        "index_prices": {"BTC": F0},
        "prices": {"BTC/USD:BTC": F0},
        "positions": [
            {
                "id": "perp",
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": 3000,
                "contract_size": 10,
                "entry_price": ENTRY,
            },
            {
                "id": "call",
                "symbol": "BTC/USD:BTC-261225-100000-C",
                "side": "short",
                "contracts": 1,
                "entry_price": 0.05,
                "iv": IV,
            },
        ],
    }


def _ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def call_price(f: float) -> float:
    """Black-76 call in USD per BTC (format §6.2), with ``math.erfc``."""
    s = IV * math.sqrt(T)
    d1 = (math.log(f / STRIKE) + 0.5 * s * s) / s
    return f * _ncdf(d1) - STRIKE * _ncdf(d1 - s)


def pool_by_hand(m: float) -> tuple[float, float]:
    """(equity, maintenance) of the BTC cross pool in BTC with every mark × (1 + m) (module docstring)."""
    p = F0 * (1.0 + m)
    upnl = FACE * (1.0 / ENTRY - 1.0 / p)
    n = FACE / p
    mm_perp = n * (0.01 + n * 0.00005)
    c = call_price(p)
    return WALLET + upnl - c / p, mm_perp + 0.075 + c / p
