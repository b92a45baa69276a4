"""Venue default data shipped in ``fixtures/tiers/``: tier tables, contract sizes, taker fee.

Read by :mod:`margin.loader` (the core's one reader of shipped data); these names stay importable from
here. A portfolio's ``tiers`` override these tables (``portfolio-format.md`` §1).
"""

from __future__ import annotations

from .loader import VenueDefaults, load_venue_defaults, tier_files

__all__ = ["VenueDefaults", "load_venue_defaults", "tier_files"]
