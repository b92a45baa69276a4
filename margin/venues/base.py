"""The rules that make one venue's margin arithmetic differ from another's.

Every venue liquidates when equity ≤ maintenance requirement at the mark price (``margin-models.md``
§0.1, equation (E)); they differ only in (a) whether maintenance is valued at the price being
evaluated or at entry, (b) whether a closing fee is reserved in the trigger, (c) the tier tables, and
(d) linear versus inverse PnL (§0.1). A :class:`Venue` states those choices as data; the engine
applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Venue:
    """One venue preset of ``portfolio-format.md`` §3."""

    name: str
    title: str
    sources: tuple[str, ...]
    contract_kinds: frozenset[str] = frozenset({"linear", "inverse"})
    position_modes: frozenset[str] = frozenset({"one-way", "hedge"})
    #: the venue has a user-selected leverage (dYdX and Deribit do not: their tiers give ``imr``)
    has_leverage: bool = True
    #: default taker fee rate (used where the trigger reserves the fee to close)
    taker_fee: float = 0.0005
    #: maintenance requirement includes the fee to close (OKX, §4)
    fee_in_trigger: bool = False
    #: isolated maintenance valued at the entry notional (Bybit, §3.2 and §3.3 2024 text)
    isolated_mm_at_entry: bool = False
    #: settle assets the venue offers (``None``: any)
    settle_assets: frozenset[str] | None = None
    #: name of the default tier file in ``fixtures/tiers/`` (``None``: tiers come from the portfolio)
    tiers_file: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
