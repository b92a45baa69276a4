"""Per-view summaries of an evaluation (pure; shared by the pages)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.results import ViewReport


@dataclass(frozen=True)
class ViewSummary:
    equity: dict[str, float]  # per settle asset, all pools of that asset
    available: dict[str, float]
    worst_margin_ratio: float | None  # None: no pool with positions, or a pool with equity <= 0 (see bankrupt)
    bankrupt: bool
    nearest: tuple[str, float] | None  # (position id, distance to liquidation)
    liquidated: list[str]  # ids of liquidated positions


def view_summary(view: ViewReport) -> ViewSummary:
    """Equity and available per settle asset, the worst pool's margin ratio, the nearest liquidation."""
    equity: dict[str, float] = {}
    available: dict[str, float] = {}
    worst: float | None = None
    bankrupt = False
    for pool in view.pools:
        s = pool.settle
        equity[s] = equity.get(s, 0.0) + pool.equity
        available[s] = available.get(s, 0.0) + pool.available
        has_positions = pool.mode == "isolated" or pool.maintenance_margin > 0 or pool.initial_margin > 0
        if not has_positions:
            continue
        if pool.margin_ratio is None:
            bankrupt = True
        elif worst is None or pool.margin_ratio > worst:
            worst = pool.margin_ratio
    nearest: tuple[str, float] | None = None
    for pos in view.positions:
        d = pos.distance_to_liquidation
        if d is not None and (nearest is None or abs(d) < abs(nearest[1])):
            nearest = (pos.id, d)
    return ViewSummary(equity, available, worst, bankrupt, nearest, [p.id for p in view.positions if p.liquidated])


def money(amounts: dict[str, float]) -> str:
    return " + ".join(f"{v:,.2f} {k}" for k, v in amounts.items()) or "-"
