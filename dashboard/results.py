"""Typed results the pages read: frozen mirrors of the core's documents (pure; no Streamlit).

Built once from the core's output (``portfolio-format.md`` §4 ``evaluate``, §5 ``stress``, ``cascade``,
``risk``) so the pages use attributes, not dictionary keys. Fields keep the format's names. Containers
are plain ``dict`` and ``tuple`` so the results pickle (``st.cache_data`` stores them pickled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from margin.contagion import CascadeResult

#: the name of the fourth view (format §6.4)
PORTFOLIO = "portfolio"


def _float(x: Any) -> float:
    return float(x)


def _opt(x: Any) -> float | None:
    return None if x is None else float(x)


def _nan(x: Any) -> float:
    """A number the ``portfolio`` view gives as ``null`` (a position's own margins, format §6.4): NaN."""
    return float("nan") if x is None else float(x)


# --------------------------------------------------------------------------- evaluate (format §4)


@dataclass(frozen=True)
class PoolRow:
    """One margin pool of one view (format §4 ``pools[]``)."""

    settle: str
    mode: str  # "cross" | "isolated"
    position: str | None  # the isolated position's id; None for a cross pool
    equity: float
    wallet_balance: float
    unrealized_pnl: float
    initial_margin: float
    maintenance_margin: float
    margin_ratio: float | None  # None when equity ≤ 0
    available: float
    liquidated: bool
    #: the pool's state as ``evaluate`` gives it (format §8: the levels in force, the file's or the defaults)
    state: str = "safe"
    #: Σ option values (premium-style, format §6.2); 0 without options
    options_value: float = 0.0

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> PoolRow:
        return cls(
            str(d["settle"]),
            str(d["mode"]),
            None if d.get("position") is None else str(d["position"]),
            _float(d["equity"]),
            _float(d.get("wallet_balance", 0.0)),
            _float(d.get("unrealized_pnl", 0.0)),
            _float(d["initial_margin"]),
            _float(d["maintenance_margin"]),
            _opt(d.get("margin_ratio")),
            _float(d["available"]),
            bool(d["liquidated"]),
            str(d.get("state", "safe")),
            _float(d.get("options_value", 0.0)),
        )


@dataclass(frozen=True)
class PositionRow:
    """One position in one view (format §4 ``positions[]``)."""

    id: str
    symbol: str
    side: str
    contracts: float
    notional: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    initial_margin: float
    maintenance_margin: float
    mmr: float
    liquidation_price: float | None
    bankruptcy_price: float | None
    distance_to_liquidation: float | None  # liquidation_price / mark_price − 1
    liquidated: bool
    #: ``"future"`` or ``"option"`` (format §6.4); an option's value (settle asset) and greeks (USD)
    kind: str = "future"
    value: float | None = None
    greeks: tuple[tuple[str, float], ...] = ()

    @property
    def is_option(self) -> bool:
        return self.kind == "option"

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> PositionRow:
        return cls(
            str(d["id"]),
            str(d["symbol"]),
            str(d["side"]),
            _float(d["contracts"]),
            _nan(d["notional"]),
            _float(d["entry_price"]),
            _float(d["mark_price"]),
            _nan(d["unrealized_pnl"]),
            _nan(d["initial_margin"]),
            _nan(d["maintenance_margin"]),
            _nan(d["mmr"]),
            _opt(d.get("liquidation_price")),
            _opt(d.get("bankruptcy_price")),
            _opt(d.get("distance_to_liquidation")),
            bool(d["liquidated"]),
            str(d.get("kind", "future")),
            _opt(d.get("value")),
            tuple((str(k), float(v)) for k, v in (d.get("greeks") or {}).items()),
        )


@dataclass(frozen=True)
class OrderRow:
    """One order of one position in one view (format §7 ``positions[].orders[]``), with its position."""

    position: str
    symbol: str
    side: str
    id: str
    type: str
    trigger_price: float
    contracts: float
    fill_price: float
    realized_pnl: float
    before_liquidation: bool

    @classmethod
    def from_doc(cls, p: Mapping[str, Any], o: Mapping[str, Any]) -> OrderRow:
        """Order ``o`` of the position row ``p``."""
        return cls(
            str(p["id"]),
            str(p["symbol"]),
            str(p["side"]),
            str(o["id"]),
            str(o["type"]),
            float(o["trigger_price"]),
            float(o["contracts"]),
            float(o["fill_price"]),
            float(o["realized_pnl"]),
            bool(o["before_liquidation"]),
        )


@dataclass(frozen=True)
class ViewReport:
    """One view (``as_is``, ``cross`` or ``isolated``): its pools and its positions in input order, and the
    positions' orders (position order, then file order; empty without orders)."""

    pools: tuple[PoolRow, ...]
    positions: tuple[PositionRow, ...]
    orders: tuple[OrderRow, ...] = ()

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ViewReport:
        return cls(
            tuple(PoolRow.from_doc(p) for p in d["pools"]),
            tuple(PositionRow.from_doc(p) for p in d["positions"]),
            tuple(OrderRow.from_doc(p, o) for p in d["positions"] for o in p.get("orders", ())),
        )

    def position(self, pid: str) -> PositionRow:
        return next(p for p in self.positions if p.id == pid)


@dataclass(frozen=True)
class Report:
    """The ``evaluate`` document: every view at one set of (possibly shocked) marks."""

    venue: str
    shock: dict[str, float]  # resulting move of each symbol (and collateral asset) that moved
    #: the standard views (``as_is``, ``cross``, ``isolated``, format §2), as every page compares them
    modes: dict[str, ViewReport]
    #: the ``portfolio`` view (format §6.4: one USD pool; positions' own margins NaN), when the document has it
    portfolio: ViewReport | None = None
    #: its pool's risk units as the document gives them (§6.4)
    risk_units: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Report:
        modes = {str(v): body for v, body in d["modes"].items()}
        pm = modes.pop(PORTFOLIO, None)
        return cls(
            str(d.get("venue", "")),
            {str(k): float(v) for k, v in (d.get("shock") or {}).items()},
            {v: ViewReport.from_doc(body) for v, body in modes.items()},
            None if pm is None else ViewReport.from_doc(pm),
            () if pm is None else tuple(dict(u) for u in pm["pools"][0].get("risk_units", ())),
        )


# --------------------------------------------------------------------------- stress (format §5)


@dataclass(frozen=True)
class Source:
    title: str
    url: str | None


@dataclass(frozen=True)
class StressReport:
    """One crash preset applied to the portfolio (format §5 ``stress``)."""

    preset: str
    title: str
    window_start: str
    window_end: str
    btc_move: float | None  # the preset's BTC move (hourly closes), for the overview table
    moves: dict[str, float]  # base asset -> move
    collateral_moves: dict[str, float]
    fallbacks: tuple[str, ...]  # assets without data in the window, moved by the β rule
    sources: tuple[Source, ...]
    modes: dict[str, ViewReport]

    @classmethod
    def from_doc(cls, d: Mapping[str, Any], btc_move: float | None = None) -> StressReport:
        window = d.get("window") or {}
        raw = d.get("fallbacks") or ()
        fallbacks = (
            tuple(str(k) for k in raw)
            if isinstance(raw, Mapping)
            else tuple(str(f.get("asset", f)) if isinstance(f, Mapping) else str(f) for f in raw)
        )
        return cls(
            str(d["preset"]),
            str(d.get("title", d["preset"])),
            str(window.get("start", "")),
            str(window.get("end", "")),
            btc_move,
            {str(a): float(m) for a, m in (d.get("moves") or {}).items()},
            {str(a): float(m) for a, m in (d.get("collateral_moves") or {}).items()},
            fallbacks,
            tuple(Source(str(s.get("title", "")), s.get("url") or None) for s in d.get("sources") or ()),
            {str(v): ViewReport.from_doc(body) for v, body in d["modes"].items() if v != PORTFOLIO},
        )


# --------------------------------------------------------------------------- cascade (format §5)


@dataclass(frozen=True)
class CascadeStep:
    """One event of a cascade (format §5 ``cascade`` ``steps[]``); fields beyond ``event`` may be missing."""

    event: str  # liquidated | partially_liquidated | bankrupt
    position: str = ""
    move: float | None = None
    equity_before: float | None = None
    equity_after: float | None = None
    collateral_left: float | None = None
    positions_open: int | None = None
    fee: float | None = None
    account_value: float | None = None
    drained_by: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> CascadeStep:
        open_ = d.get("positions_open")
        return cls(
            str(d["event"]),
            str(d.get("position", "")),
            _opt(d.get("move")),
            _opt(d.get("equity_before")),
            _opt(d.get("equity_after")),
            _opt(d.get("collateral_left")),
            None if open_ is None else int(open_),
            _opt(d.get("fee")),
            _opt(d.get("account_value")),
            tuple((str(k), float(v)) for k, v in (d.get("drained_by") or {}).items()),
        )


@dataclass(frozen=True)
class CascadeView:
    """One view's cascade: its steps and totals."""

    steps: tuple[CascadeStep, ...]
    positions_lost: int
    collateral_start: float | None
    collateral_left: float | None
    loss: float | None
    settle: str  # the first settle asset of the view ("" when none)


@dataclass(frozen=True)
class CascadeReport:
    """Every view's cascade of one shock, and the amplification of the price impact."""

    amplification: float | None
    modes: dict[str, CascadeView]

    @classmethod
    def from_result(cls, result: CascadeResult) -> CascadeReport:
        modes = {
            view: CascadeView(
                tuple(CascadeStep.from_doc(s.to_dict()) for s in vc.steps),
                int(vc.positions_lost),
                _opt(vc.collateral_start),
                _opt(vc.collateral_left),
                _opt(vc.loss),
                next(iter(vc.by_settle), ""),
            )
            for view, vc in result.modes.items()
        }
        return cls(_opt(result.amplification), modes)


# --------------------------------------------------------------------------- risk (format §5)


@dataclass(frozen=True)
class RiskView:
    """Probability of liquidation of one view within the horizon."""

    probability: float
    ci95: tuple[float, float]  # Wilson interval
    hours_p5: float | None  # time-to-liquidation quantiles (None: no path liquidates)
    hours_p50: float | None
    hours_p95: float | None
    cumulative_hours: tuple[float, ...]  # checkpoints of the cumulative probability
    cumulative_probability: tuple[float, ...]

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> RiskView:
        t = d.get("time_to_liquidation_hours") or {}
        ci = d.get("ci95") or (0.0, 0.0)
        cum = d.get("cumulative") or {}
        return cls(
            _float(d["probability"]),
            (float(ci[0]), float(ci[1])),
            _opt(t.get("p5")),
            _opt(t.get("p50")),
            _opt(t.get("p95")),
            tuple(float(h) for h in cum.get("hours", ())),
            tuple(float(p) for p in cum.get("probability", ())),
        )


@dataclass(frozen=True)
class RiskReport:
    """The ``risk`` document: per view, the probability of liquidation over the horizon."""

    horizon_hours: int
    paths: int
    modes: dict[str, RiskView]

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> RiskReport:
        return cls(
            int(d["horizon_hours"]),
            int(d["paths"]),
            {str(v): RiskView.from_doc(body) for v, body in d["modes"].items()},
        )


def stress_reports(docs: Sequence[Mapping[str, Any]], btc_moves: Mapping[str, float]) -> tuple[StressReport, ...]:
    """Stress documents as :class:`StressReport` (with each preset's BTC move, when known)."""
    return tuple(StressReport.from_doc(d, btc_moves.get(str(d["preset"]))) for d in docs)
