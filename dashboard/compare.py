"""Cross vs isolated, position by position, and a plain-language verdict (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.results import PoolRow, Report, ViewReport


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame
    tied_up: dict[str, dict[str, float]]  # view -> settle -> collateral tied up (initial margin)
    free: dict[str, dict[str, float]]  # view -> settle -> available
    verdict: list[str]
    distance: dict[str, list[float | None]]  # view -> |distance to liquidation| per position (cross, isolated)


def _settle(symbol: str) -> str:
    """The settle asset of a contract or option symbol (``BASE/QUOTE:SETTLE[-…]``)."""
    return symbol.partition(":")[2].split("-", 1)[0]


def _pools_by_position(view: ViewReport) -> dict[str, PoolRow]:
    return {p.position: p for p in view.pools if p.position is not None}


def compare(doc: Report) -> Comparison:
    """Per position: liquidation price and distance in cross and in isolated, margin used, and the most
    the position can take from the account (isolated: its isolated margin; cross: the whole cross pool's
    equity, since a loss on it is paid from the shared collateral)."""
    cross, iso = doc.modes["cross"], doc.modes["isolated"]
    pi = {p.id: p for p in iso.positions}
    iso_pools = _pools_by_position(iso)
    cross_pool = {p.settle: p for p in cross.pools if p.mode == "cross"}
    rows = []
    iso_cross = {p.settle: p for p in iso.pools if p.mode == "cross"}
    for c in cross.positions:
        i = pi[c.id]
        # an option stays in its settle asset's cross pool in the isolated view too (format §6.1)
        own = iso_pools.get(c.id) or iso_cross[_settle(c.symbol)]
        settle = own.settle
        rows.append(
            {
                "position": c.id,
                "settle": settle,
                "liq. price (cross)": c.liquidation_price,
                "distance (cross)": c.distance_to_liquidation,
                "liq. price (isolated)": i.liquidation_price,
                "distance (isolated)": i.distance_to_liquidation,
                "margin used (cross)": c.initial_margin,
                "margin used (isolated)": i.initial_margin,
                "worst-case loss (cross)": max(cross_pool[settle].equity, 0.0),
                "worst-case loss (isolated)": max(own.equity, 0.0),
            }
        )
    table = pd.DataFrame(rows)
    tied: dict[str, dict[str, float]] = {}
    free: dict[str, dict[str, float]] = {}
    for name, view in (("cross", cross), ("isolated", iso), ("as_is", doc.modes["as_is"])):
        tied[name], free[name] = {}, {}
        for pool in view.pools:
            s = pool.settle
            tied[name][s] = tied[name].get(s, 0.0) + pool.initial_margin
            if pool.mode == "cross":
                free[name][s] = free[name].get(s, 0.0) + pool.available
    by_id = {"cross": {p.id: p for p in cross.positions}, "isolated": pi}
    distance = {
        name: [_magnitude(pos[c.id].distance_to_liquidation) for c in cross.positions] for name, pos in by_id.items()
    }
    return Comparison(table, tied, free, _verdict(table, cross, iso), distance)


def _magnitude(x: float | None) -> float | None:
    return None if x is None else abs(x)


def value(x: Any) -> float | None:
    """A table cell as a float, ``None`` for a missing value (pandas stores ``None`` as NaN)."""
    return None if x is None or pd.isna(x) else float(x)


def _verdict(table: pd.DataFrame, cross: ViewReport, iso: ViewReport) -> list[str]:
    lines: list[str] = []
    if table.empty:
        return ["The portfolio holds no position: nothing can be liquidated in either mode."]
    for _, r in table.iterrows():
        dc, di = value(r["distance (cross)"]), value(r["distance (isolated)"])
        pid = r["position"]
        if di is not None and dc is None:
            lines.append(
                f"**{pid}**: isolated, it is liquidated after a {abs(di):.1%} move; in cross the shared "
                "collateral covers it at any price on its losing side."
            )
        elif di is not None and dc is not None and abs(dc) > abs(di):
            lines.append(
                f"**{pid}**: cross margin pushes its liquidation from {abs(di):.1%} to {abs(dc):.1%} away, "
                f"but a loss on it can take up to {r['worst-case loss (cross)']:,.2f} {r['settle']} of shared "
                f"collateral with it; isolated it can lose at most {r['worst-case loss (isolated)']:,.2f}."
            )
        elif di is None and dc is None:
            lines.append(f"**{pid}**: with every other price held, no price of its own liquidates it in either mode.")
        elif di is None and dc is not None:
            lines.append(
                f"**{pid}**: isolated, its own margin covers it at any price on its losing side; in cross, "
                f"the losses of the other positions make it liquidatable after a {abs(dc):.1%} move."
            )
        elif dc is not None and di is not None and abs(dc) <= abs(di):
            lines.append(
                f"**{pid}**: it is liquidated sooner in cross ({abs(dc):.1%}) than isolated ({abs(di):.1%}): "
                "losses elsewhere in the cross pool eat the collateral it would have used."
            )
    cross_liq = [p.id for p in cross.positions if p.liquidated]
    iso_liq = [p.id for p in iso.positions if p.liquidated]
    if cross_liq:
        lines.append(
            f"At these prices the cross pool is already past its trigger: {', '.join(cross_liq)} would "
            "all be liquidated together."
        )
    if iso_liq and not cross_liq:
        lines.append(
            f"Isolated, {', '.join(iso_liq)} is already liquidated while the rest survives; in cross "
            "the pool absorbs it."
        )
    lines.append(
        "In short: cross margin buys distance to liquidation for every position with the whole wallet "
        "as the stake; isolated margin caps each position's loss at its own margin, so one bad trade "
        "cannot take the others down."
    )
    return lines
