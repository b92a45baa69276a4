"""Pool states by margin ratio: ``safe``, ``warning``, ``margin_call``, ``liquidation``.

``portfolio-format.md`` §8 ("Alerts and monitoring"): every pool reports a state from its margin ratio
(maintenance margin / equity, format §2) and the levels in force — the venue's documented levels where
the preset names them, else the defaults below: ``warning`` at a margin ratio ≥ 0.5, ``margin_call`` at
≥ 0.8, ``liquidation`` at the trigger (≥ 1, or the pool ``liquidated``: equity at or below maintenance,
which includes equity ≤ 0 where the ratio is undefined). A venue preset may name its own documented
levels (``Venue.alert_levels``, with their source); none does today — no venue documents margin-ratio
warning levels that this product can cite in ``margin-models.md`` — so the defaults are in force on every
preset unless the file sets ``alert_levels``. A pool holding no position is never liquidated (format §2):
``evaluate`` reports it ``safe`` (:func:`pool_row_state`).
"""

from __future__ import annotations

from dataclasses import dataclass

SAFE, WARNING, MARGIN_CALL, LIQUIDATION = "safe", "warning", "margin_call", "liquidation"
#: every state, least to most severe
STATES: tuple[str, ...] = (SAFE, WARNING, MARGIN_CALL, LIQUIDATION)
#: the trigger: margin ratio 1 (equity = maintenance), format §2
TRIGGER = 1.0


@dataclass(frozen=True)
class AlertLevels:
    """Margin-ratio levels of the states below the trigger (format §8 defaults)."""

    warning: float = 0.5
    margin_call: float = 0.8
    source: str = "portfolio-format.md §8 default levels"


#: the levels in force (format §8 defaults; no venue preset names its own)
DEFAULT_LEVELS = AlertLevels()


def pool_state(margin_ratio: float | None, liquidated: bool, levels: AlertLevels = DEFAULT_LEVELS) -> str:
    """The state of a pool holding positions: ``liquidation`` when liquidated, at a ratio ≥ 1, or with
    equity ≤ 0 (``margin_ratio`` ``None``, format §4); else ``margin_call`` / ``warning`` / ``safe`` by
    the levels."""
    if liquidated or margin_ratio is None or margin_ratio >= TRIGGER:
        return LIQUIDATION
    if margin_ratio >= levels.margin_call:
        return MARGIN_CALL
    if margin_ratio >= levels.warning:
        return WARNING
    return SAFE


def pool_row_state(
    margin_ratio: float | None, liquidated: bool, holds_positions: bool, levels: AlertLevels = DEFAULT_LEVELS
) -> str:
    """The ``state`` of an ``evaluate`` pool row (format §8): :func:`pool_state` for a pool holding
    positions; ``safe`` for one holding none (it is never liquidated, whatever its equity)."""
    return pool_state(margin_ratio, liquidated, levels) if holds_positions else SAFE


def worst_state(states: list[str] | tuple[str, ...]) -> str | None:
    """The most severe of ``states`` (``None`` for none)."""
    return max(states, key=STATES.index) if states else None
