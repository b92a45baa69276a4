"""The Options page's figures, read from the core's ``evaluate`` document (pure: no Streamlit, no Plotly).

Every number comes from :mod:`margin` (``margin.report.evaluate_portfolio`` and the portfolio view of
``portfolio-format.md`` §6.4); this module only picks them out and arranges them into frozen tables the
page and the chart builders read. The PnL curves (§6.2, §6.5) are the core's portfolio-view equity at
moved prices: today (Black-76 values) and at the last expiry (``--days`` to it: intrinsic values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dashboard.results import PoolRow
from margin import Resolved
from margin.portfolio_view import evaluate_portfolio_view, usd_prices
from margin.report import option_market
from margin.shocks import Shock, combine

FloatArray = npt.NDArray[np.float64]

#: the three volatility states of a risk unit's standard scenarios, in the order of §6.4
VOL_STATES = ("up", "unchanged", "down")
#: the four views in the order the page shows them
VIEWS = ("as_is", "cross", "isolated", "portfolio")
VIEW_NAMES = {
    "as_is": "As is",
    "cross": "All cross",
    "isolated": "All isolated",
    "portfolio": "Portfolio margin",
}
#: the PnL chart's moves of the underlying: −50 % … +50 % in steps of 1 %
PNL_MOVES = np.linspace(-0.5, 0.5, 101)


# --------------------------------------------------------------------------- risk matrix (§6.4 risk units)


@dataclass(frozen=True)
class ExtendedScenario:
    move: float
    vol: str
    weight: float
    pnl: float

    @property
    def weighted_loss(self) -> float:
        """``−pnl × weight``: what the scenario adds to the scenario loss (§6.4)."""
        return -self.pnl * self.weight


@dataclass(frozen=True)
class RiskMatrix:
    """One risk unit: its standard scenarios' PnL as a grid (rows: volatility state, columns: move)."""

    underlying: str
    moves: tuple[float, ...]  # the standard moves, ascending
    pnl: tuple[tuple[float, ...], ...]  # pnl[vol state][move], USD after haircuts
    worst_move: float
    worst_vol: str
    worst_extended: bool
    extended: tuple[ExtendedScenario, ...]
    price_range: float
    scenario_loss: float
    contingency: float
    requirement: float
    delta: float  # USD per 1.0 move
    liquidation_move_down: float | None
    liquidation_move_up: float | None

    @property
    def worst_cell(self) -> tuple[int, int] | None:
        """(vol state row, move column) of the worst scenario, ``None`` when it is an extended one."""
        if self.worst_extended:
            return None
        return VOL_STATES.index(self.worst_vol), self.moves.index(self.worst_move)


def _opt(x: Any) -> float | None:
    return None if x is None else float(x)


def risk_matrix(unit: Mapping[str, Any]) -> RiskMatrix:
    """The grid of one ``risk_units[]`` entry (its ``scenarios`` in §6.4 order: each standard move with
    ``up``, ``unchanged``, ``down``, then the extended ones)."""
    standard = [s for s in unit["scenarios"] if not s["extended"]]
    moves = tuple(dict.fromkeys(float(s["move"]) for s in standard))
    cell = {(str(s["vol"]), float(s["move"])): float(s["pnl"]) for s in standard}
    grid = tuple(tuple(cell[(v, m)] for m in moves) for v in VOL_STATES)
    extended = tuple(
        ExtendedScenario(float(s["move"]), str(s["vol"]), float(s["weight"]), float(s["pnl"]))
        for s in unit["scenarios"]
        if s["extended"]
    )
    worst = unit["worst"]
    return RiskMatrix(
        underlying=str(unit["underlying"]),
        moves=moves,
        pnl=grid,
        worst_move=float(worst["move"]),
        worst_vol=str(worst["vol"]),
        worst_extended=bool(worst["extended"]),
        extended=extended,
        price_range=float(unit["price_range"]),
        scenario_loss=float(unit["scenario_loss"]),
        contingency=float(unit["contingency"]),
        requirement=float(unit["requirement"]),
        delta=float(unit["delta"]),
        liquidation_move_down=_opt(unit.get("liquidation_move_down")),
        liquidation_move_up=_opt(unit.get("liquidation_move_up")),
    )


def portfolio_pool(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one pool of the ``portfolio`` view."""
    pool: Mapping[str, Any] = doc["modes"]["portfolio"]["pools"][0]
    return pool


def risk_matrices(doc: Mapping[str, Any]) -> list[RiskMatrix]:
    return [risk_matrix(u) for u in portfolio_pool(doc).get("risk_units", [])]


# --------------------------------------------------------------------------- greeks (§6.2)

GREEKS = ("delta", "gamma", "vega", "theta")


def option_rows(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The option positions of the ``as_is`` view (their greeks are the same in every standard view)."""
    return [p for p in doc["modes"]["as_is"]["positions"] if p.get("kind") == "option"]


def base_of(symbol: str) -> str:
    """``BTC`` of ``BTC/USD:BTC-261225-100000-C`` (the text before the ``/``)."""
    return symbol.split("/", 1)[0]


def greeks_rows(doc: Mapping[str, Any]) -> list[dict[str, object]]:
    """One row per option position: underlying price, iv, years to expiry, value (settle asset) and greeks."""
    rows: list[dict[str, object]] = []
    for p in option_rows(doc):
        g = p["greeks"]
        rows.append(
            {
                "position": p["id"],
                "underlying": base_of(str(p["symbol"])),
                "underlying price": float(p["underlying_price"]),
                "iv": float(p["iv"]),
                "days to expiry": 365.0 * float(p["time_to_expiry"]),
                "value": float(p["value"]),
                **{k: float(g[k]) for k in GREEKS},
            }
        )
    return rows


def greeks_by_underlying(doc: Mapping[str, Any]) -> list[dict[str, object]]:
    """Per underlying: the sum of its options' greeks, and the account's USD delta of its risk unit (§6.4,
    per 1 % move: the unit's ``delta`` ÷ 100)."""
    sums: dict[str, dict[str, float]] = {}
    for row in greeks_rows(doc):
        acc = sums.setdefault(str(row["underlying"]), dict.fromkeys(GREEKS, 0.0))
        for k in GREEKS:
            acc[k] += float(row[k])  # type: ignore[arg-type]
    unit_delta = {m.underlying: m.delta for m in risk_matrices(doc)}
    return [
        {
            "underlying": base,
            **{f"options {k}": v for k, v in acc.items()},
            "account delta (USD per 1 % move)": None if base not in unit_delta else unit_delta[base] / 100.0,
        }
        for base, acc in sums.items()
    ]


# --------------------------------------------------------------------------- IM / MM of the four views


@dataclass(frozen=True)
class ViewMargin:
    view: str
    unit: str  # the settle asset of the summed pools, "USD" for the portfolio view
    equity: float
    initial_margin: float
    maintenance_margin: float
    pools: int


def view_margins(doc: Mapping[str, Any]) -> list[ViewMargin]:
    """Each view's equity, IM and MM per settle asset, summed over its pools (one cross pool per settle asset,
    plus the isolated pools), in that asset; the portfolio view's one pool in USD (§6.4)."""
    out: list[ViewMargin] = []
    for view in VIEWS:
        by_settle: dict[str, list[Mapping[str, Any]]] = {}
        for pool in doc["modes"][view]["pools"]:
            by_settle.setdefault(str(pool["settle"]), []).append(pool)
        for settle, pools in by_settle.items():
            out.append(
                ViewMargin(
                    view,
                    settle,
                    sum(float(p["equity"]) for p in pools),
                    sum(float(p["initial_margin"]) for p in pools),
                    sum(float(p["maintenance_margin"]) for p in pools),
                    len(pools),
                )
            )
    return out


# --------------------------------------------------------------------------- liquidation (§6.3, §6.4)


def unit_liquidation_rows(resolved: Resolved, doc: Mapping[str, Any]) -> list[dict[str, object]]:
    """Each risk unit's liquidation moves and the underlying's USD price at them (its price S_B of §6.4
    × (1 + move), ``None`` where no move liquidates)."""
    mats = risk_matrices(doc)
    prices = usd_prices(resolved, resolved.market, [m.underlying for m in mats])
    rows: list[dict[str, object]] = []
    for m in mats:
        s = prices.get(m.underlying)
        rows.append(
            {
                "underlying": m.underlying,
                "USD price": s,
                "move down": m.liquidation_move_down,
                "price down": None
                if s is None or m.liquidation_move_down is None
                else s * (1 + m.liquidation_move_down),
                "move up": m.liquidation_move_up,
                "price up": None if s is None or m.liquidation_move_up is None else s * (1 + m.liquidation_move_up),
            }
        )
    return rows


def position_liquidation_rows(doc: Mapping[str, Any]) -> list[dict[str, object]]:
    """Each position's liquidation price in each of the four views (an option's is its underlying's price at
    the crossing, §6.3)."""
    rows: dict[str, dict[str, object]] = {}
    for view in VIEWS:
        for p in doc["modes"][view]["positions"]:
            row = rows.setdefault(str(p["id"]), {"position": p["id"], "kind": p.get("kind", "future")})
            row[f"{VIEW_NAMES[view]}"] = _opt(p.get("liquidation_price"))
    return list(rows.values())


# --------------------------------------------------------------------------- PnL across the underlying's moves


@dataclass(frozen=True)
class PnlCurves:
    underlying: str
    moves: FloatArray
    today: FloatArray  # USD equity change of the portfolio view at each move, now
    at_expiry: FloatArray  # the same with time moved to the last expiry (options at intrinsic value)
    expiry_days: float


def _usd_equity(resolved: Resolved, base: str, move: float, days: float) -> float:
    """The portfolio view's USD equity (§6.4) with every price of ``base`` moved by ``move`` (``--shock BASE``)
    and ``days`` passed (``--days``, §6.5)."""
    moves = combine([Shock(base, move)], list(resolved.marks), list(resolved.market.collateral_prices))
    market = option_market(resolved, resolved.market.moved(moves), [], days)
    return float(evaluate_portfolio_view(resolved, market, liquidation=False).result.equity)


def last_expiry_days(resolved: Resolved) -> float:
    """Days from ``as_of`` to the last option's expiry (``resolved.options.t`` × 365, §6.2); 0 without options."""
    if not resolved.option_legs or resolved.options is None:
        return 0.0
    return float(np.max(resolved.options.t(0.0)) * 365.0)


def pnl_curves(resolved: Resolved, base: str, moves: Sequence[float] = tuple(PNL_MOVES)) -> PnlCurves:
    """The account's USD equity change against ``base``'s move, today and at the last expiry (every option
    then at its intrinsic value, §6.5), both from the equity at the current prices today."""
    days = last_expiry_days(resolved)
    start = _usd_equity(resolved, base, 0.0, 0.0)
    xs = np.asarray(moves, dtype=np.float64)
    today = np.array([_usd_equity(resolved, base, float(m), 0.0) - start for m in xs])
    expiry = np.array([_usd_equity(resolved, base, float(m), days) - start for m in xs])
    return PnlCurves(base, xs, today, expiry, days)


def option_bases(resolved: Resolved) -> list[str]:
    """The bases the options are written on, in order of first appearance."""
    return list(dict.fromkeys(leg.option.base for leg in resolved.option_legs))


# --------------------------------------------------------------------------- the Shock lab's figures on an options book


def worst_ratio(pools: Sequence[PoolRow]) -> float | None:
    """The worst pool's margin ratio (format §4: maintenance ÷ equity; ``None``, the worst, where a pool's
    equity ≤ 0, or without pools), as :func:`margin.whatif.view_at` reads it off the sweep."""
    ratios = [p.margin_ratio for p in pools]
    if not ratios or any(r is None for r in ratios):
        return None
    return max(r for r in ratios if r is not None)


def equity_by_settle(pools: Sequence[PoolRow]) -> dict[str, float]:
    """A view's equity per settle asset: the sum over its pools of that asset (the views move collateral
    between pools, not in or out of the account)."""
    out: dict[str, float] = {}
    for p in pools:
        out[p.settle] = out.get(p.settle, 0.0) + p.equity
    return out
