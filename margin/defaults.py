"""Venue default data shipped in ``fixtures/tiers/``: tier tables, contract sizes, taker fee.

An explicit loader (the only file access of the core besides portfolio load/save). A portfolio's
``tiers`` override these tables (``portfolio-format.md`` §1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .tiers import TierTable, parse_tier_table

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
TIERS_DIR = FIXTURES_DIR / "tiers"


@dataclass(frozen=True)
class VenueDefaults:
    """What a venue preset knows without the portfolio telling it."""

    venue: str
    tiers: dict[str, TierTable] = field(default_factory=dict)
    contract_sizes: dict[str, float] = field(default_factory=dict)
    taker_fee: float | None = None
    source: str = ""
    as_of: str | None = None


@lru_cache(maxsize=32)
def load_venue_defaults(venue: str, tiers_file: str | None) -> VenueDefaults:
    """Read ``fixtures/tiers/<tiers_file>``; an absent file gives empty defaults.

    Raises ``RuntimeError`` when a shipped table is invalid (a packaging defect, not user input).
    """
    if tiers_file is None:
        return VenueDefaults(venue=venue)
    path = TIERS_DIR / tiers_file
    if not path.is_file():
        return VenueDefaults(venue=venue)
    data = json.loads(path.read_text(encoding="utf-8"))
    tables: dict[str, TierTable] = {}
    for symbol, records in data.get("tiers", {}).items():
        table, problems = parse_tier_table(records, f"{tiers_file}: tiers[{symbol!r}]")
        if table is None:
            raise RuntimeError("; ".join(str(p) for p in problems))
        tables[symbol] = table
    sizes = {str(k): float(v) for k, v in data.get("contract_sizes", {}).items()}
    fee = data.get("taker_fee")
    return VenueDefaults(
        venue=venue,
        tiers=tables,
        contract_sizes=sizes,
        taker_fee=None if fee is None else float(fee),
        source=str(data.get("source", "")),
        as_of=data.get("as_of"),
    )
