"""One step of monitoring (``portfolio-format.md`` §8, ``watch`` and the dashboard's Monitor page).

:func:`status` evaluates the account on a market snapshot (the file's, or with some marks replaced by fresh
ones) in every view and keeps what a monitor watches: each pool's margin ratio and ``state`` (§8: ``safe``,
``warning``, ``margin_call``, ``liquidation``, from the levels in force, :mod:`margin.states`) and the ids of
the alert rules that are triggered (:func:`margin.alerts.evaluate_alerts`). :func:`transitions` compares two
steps: a pool whose state changed, an alert that became triggered or clear. The first step reports every
pool's state and every alert's as a transition from ``None`` (§8: "the first iteration reports every pool's
state as a transition from null"); a pool that is gone (a re-imported account without that position) goes to
``None``. :func:`watch_line` is the JSON line of one iteration (§8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .engine import VIEWS
from .portfolio import Resolved
from .portfolio_view import with_live_marks
from .report import evaluate_view

#: an alert rule's state in a transition
TRIGGERED, CLEAR = "triggered", "clear"


@dataclass(frozen=True)
class PoolStatus:
    """One pool of one view: what ``watch`` prints per pool (§8)."""

    view: str
    settle: str
    mode: str
    position: str | None
    margin_ratio: float | None
    state: str

    @property
    def key(self) -> str:
        """The pool's id in transitions: ``"<view> <settle> <mode>"``, and ``" <position>"`` for an isolated pool."""
        base = f"{self.view} {self.settle} {self.mode}"
        return base if self.position is None else f"{base} {self.position}"

    def to_dict(self) -> dict[str, object]:
        return {
            "view": self.view,
            "settle": self.settle,
            "mode": self.mode,
            "position": self.position,
            "margin_ratio": self.margin_ratio,
            "state": self.state,
        }


@dataclass(frozen=True)
class Status:
    """The account at one snapshot: marks used, every pool's status, and the alert rules' values."""

    marks: Mapping[str, float]
    pools: tuple[PoolStatus, ...]
    #: rule id → (value, triggered), in the file's order
    alerts: Mapping[str, tuple[float | None, bool]]

    @property
    def triggered(self) -> list[str]:
        """Ids of the triggered alert rules, in the file's order."""
        return [k for k, (_, on) in self.alerts.items() if on]


def status(resolved: Resolved, marks: Mapping[str, float] | None = None, views: Sequence[str] = VIEWS) -> Status:
    """Every pool's state and every alert rule's value with ``marks`` (symbol → price) replacing the file's."""
    market = resolved.market if marks is None else with_live_marks(resolved, marks)
    results = {view: evaluate_view(resolved, view, market) for view in views}
    pools = tuple(
        PoolStatus(
            view=view,
            settle=str(row["settle"]),
            mode=str(row["mode"]),
            position=None if row["position"] is None else str(row["position"]),
            margin_ratio=row["margin_ratio"] if isinstance(row["margin_ratio"], float) else None,
            state=str(row["state"]),
        )
        for view, result in results.items()
        for row in result.pools()
    )
    alerts: dict[str, tuple[float | None, bool]] = {}
    if resolved.portfolio.alerts:
        from .alerts import evaluate_alerts

        wanted = dict.fromkeys(rule.view or "as_is" for rule in resolved.portfolio.alerts)
        standard = [v for v in wanted if v not in results and v in VIEWS]  # the portfolio view: in evaluate_alerts
        results = {**results, **{v: evaluate_view(resolved, v, market) for v in standard}}
        for row in evaluate_alerts(resolved, results, market):
            value = row["value"]
            alerts[str(row["id"])] = (float(value) if isinstance(value, (int, float)) else None, bool(row["triggered"]))
    return Status(marks=dict(market.marks), pools=pools, alerts=alerts)


def transitions(previous: Status | None, current: Status) -> list[dict[str, object]]:
    """What changed from ``previous`` (``None``: the first step) to ``current`` (module docstring)."""
    out: list[dict[str, object]] = []
    before = {} if previous is None else {p.key: p.state for p in previous.pools}
    now = {p.key: p.state for p in current.pools}
    for key, state in now.items():
        if previous is None or before.get(key) != state:
            out.append({"kind": "pool", "id": key, "from": before.get(key), "to": state})
    out.extend(
        {"kind": "pool", "id": key, "from": state, "to": None} for key, state in before.items() if key not in now
    )
    was = {} if previous is None else {k: TRIGGERED if on else CLEAR for k, (_, on) in previous.alerts.items()}
    for key, (_, on) in current.alerts.items():
        state = TRIGGERED if on else CLEAR
        if previous is None or was.get(key) != state:
            out.append({"kind": "alert", "id": key, "from": was.get(key), "to": state})
    return out


def watch_line(current: Status, iteration: int, time: str, changes: list[dict[str, object]]) -> dict[str, object]:
    """The JSON line of one ``watch`` iteration (§8)."""
    return {
        "time": time,
        "iteration": iteration,
        "marks": dict(current.marks),
        "pools": [p.to_dict() for p in current.pools],
        "alerts": current.triggered,
        "transitions": changes,
    }
