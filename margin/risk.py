"""Probability of liquidation over a horizon (``portfolio-format.md`` §5, ``python -m margin risk``).

The public façade of the probability of liquidation; each job lives in its own module:

- :mod:`margin.risk_closed_form`: first passage of GBM through a barrier (reflection principle), and the
  Broadie–Glasserman–Kou shift of the barrier for hourly monitoring;
- :mod:`margin.risk_intervals`: Wilson interval of a probability, order-statistic interval of a median;
- :mod:`margin.risk_inputs`: limits and checks of the inputs, problems that name parameters;
- :mod:`margin.risk_market`: the market model (volatilities, correlation; bootstrap, Student t or GBM)
  built from a :class:`~margin.loader.PriceHistory` the caller passes in;
- :mod:`margin.risk_triggers`: the liquidation trigger of every pool of every view, from the margin
  model's segment terms;
- :mod:`margin.risk_separable`: each pool's trigger as a sum of per-asset price functions (cross pools)
  or a price barrier (isolated pools): the Monte Carlo's cost grows with assets and pools, not positions;
- :mod:`margin.risk_simulation`: the Monte Carlo of the whole account (first liquidation hours);
- :mod:`margin.risk_evaluated`: the Monte Carlo of an account holding options, every pool checked with
  :func:`margin.engine.evaluate` at every hourly close (options' time to expiry passing along the path);
- :mod:`margin.risk_orders`: stop-losses and take-profits (format §7) along the same paths: each fills at
  the first hourly price beyond its trigger (gap risk), before its pool is checked at that hour;
- :mod:`margin.risk_positions`: the closed form applied to each position at its liquidation price;
- :mod:`margin.risk_results`: typed records of the results and their JSON.

Two tools, both with zero expected price drift by default: the closed form for one position
(:func:`position_first_passage`, exact for a position alone in its pool), and the Monte Carlo of the whole
account (:func:`risk`): hourly steps, every pool of every view checked at every hourly close with the
engine's trigger, the first touch liquidating.

Orders (format §7 ``risk``; only a file with orders changes the output): a view's ``probability`` is the
probability of liquidation with the orders working; ``probability_without_orders`` the same paths with
the orders ignored (what the stops buy); ``probability_order_filled`` the probability that at least one
of the view's orders fills within the horizon before its position's pool is liquidated, with a Wilson
95 % interval like ``probability``'s; ``orders`` each order's fill probability. The closed form per
position (``positions``) ignores the orders: a note in ``notes`` says so.

Options (format §6; only a file with options changes the output): every pool is checked with the engine
itself at every hourly close (:mod:`margin.risk_evaluated`): each option's forward moves with its base's
path, its ``iv`` stays as in the file and its time to expiry falls along the path (``T − h/8,760`` years at
hour ``h``, intrinsic value past expiry). The closed form per position is not available in a pool holding
options (``probability`` and ``probability_hourly`` null); a note in ``notes`` says so. Orders are not run
together with options yet (invalid input naming the first order).

The core reads no file and parses no flag: the caller loads the price history (:func:`margin.loader.load_daily_closes`)
and passes typed values (``horizon_hours`` an int, ``vols`` a mapping); the command line's flags
(``--horizon 7d``, ``--vol BTC=0.6``) are parsed by :mod:`margin.cli_args`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .engine import Book
from .errors import PortfolioError
from .marketdata import PriceHistory
from .portfolio import Resolved
from .risk_closed_form import BGK_BETA, HOURS_PER_YEAR, discrete_barrier, first_passage_probability, normal_cdf
from .risk_evaluated import OPTIONS_NOTE
from .risk_inputs import (
    DEFAULT_PATHS,
    MAX_HORIZON_HOURS,
    MAX_PATHS,
    MAX_VOL,
    MODELS,
    ParameterProblem,
    input_problems,
    risk_assets,
)
from .risk_intervals import Z95, median_interval, wilson_interval
from .risk_market import MIN_RETURNS, STUDENT_DF, WINDOW_DAYS, MarketModel, build_model
from .risk_positions import PositionPassage, asset_volatilities, position_first_passage
from .risk_results import (
    Fills,
    Liquidation,
    LiquidationTimes,
    OrderFill,
    PoolLiquidation,
    RiskResult,
    ViewOrders,
    ViewRisk,
)
from .risk_simulation import NEVER, Simulation, simulate
from .risk_triggers import Triggers

__all__ = [
    "BGK_BETA",
    "DEFAULT_PATHS",
    "HOURS_PER_YEAR",
    "MAX_HORIZON_HOURS",
    "MAX_PATHS",
    "MAX_VOL",
    "MIN_RETURNS",
    "MODELS",
    "NEVER",
    "OPTIONS_NOTE",
    "ORDERS_NOTE",
    "STUDENT_DF",
    "WINDOW_DAYS",
    "Z95",
    "Fills",
    "Liquidation",
    "LiquidationTimes",
    "MarketModel",
    "OrderFill",
    "ParameterProblem",
    "PoolLiquidation",
    "PositionPassage",
    "RiskResult",
    "Simulation",
    "Triggers",
    "ViewOrders",
    "ViewRisk",
    "asset_volatilities",
    "build_model",
    "discrete_barrier",
    "first_passage_probability",
    "median_interval",
    "normal_cdf",
    "position_first_passage",
    "risk",
    "risk_result",
    "simulate",
    "wilson_interval",
]


#: the note of a file with orders: the closed form per position does not see them
ORDERS_NOTE = (
    "positions: the closed form of each position ignores the orders (its liquidation price with the orders "
    "unfilled); the Monte Carlo figures fill them at the first hourly price beyond the trigger"
)


def _pool_members(resolved: Resolved, book: Book, g: int) -> tuple[str, ...]:
    """The ids of pool ``g``'s positions: its futures, and with options (format §6) its options too, in
    the file's position order."""
    futures = (book.pool == g).nonzero()[0]
    if book.options is None:
        return tuple(book.ids[i] for i in futures)
    rows = [(resolved.legs[i].index, book.ids[i]) for i in futures]
    rows += [(leg.index, leg.label) for leg, p in zip(resolved.option_legs, book.options.pool, strict=True) if p == g]
    return tuple(label for _, label in sorted(rows))


def _view_orders(sim: Simulation, view: str, ids: tuple[str, ...]) -> ViewOrders | None:
    """A view's order figures (format §7 ``risk``), ``None`` without orders."""
    if sim.orders is None:
        return None
    filled = sim.orders.fills[view] != NEVER  # (paths, orders)
    n = sim.paths
    return ViewOrders(
        without_orders=Liquidation.of(sim.view_first(view), sim.horizon_hours),
        any_filled=Fills(int(filled.any(axis=1).sum()), n),
        orders=tuple(OrderFill(i, Fills(int(k), n)) for i, k in zip(ids, filled.sum(axis=0), strict=True)),
    )


def risk_result(
    resolved: Resolved,
    horizon_hours: int,
    history: PriceHistory,
    *,
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    model: str = "bootstrap",
    vols: Mapping[str, float] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RiskResult:
    """Probability of liquidation per view over ``horizon_hours`` (1 to 8,760), from ``paths`` simulated
    paths seeded with ``seed``, the market model ``model`` (:data:`MODELS`) estimated on ``history`` with the
    annualised volatilities ``vols`` where given (asset → fraction, 0.6 for 60 %).

    ``progress`` (optional) is called with the fraction of the horizon simulated. Raises
    :class:`~margin.errors.PortfolioError` of :class:`ParameterProblem` s naming the bad parameters, all at once.
    """
    problems = input_problems(horizon_hours, paths, seed, model, vols, risk_assets(resolved))
    if problems:
        raise PortfolioError(tuple(problems))
    hours = int(horizon_hours)
    sim = simulate(resolved, hours, history, int(paths), int(seed), model, vols, progress=progress)
    asset_vols = {a: float(v) for a, v in zip(sim.model.assets, sim.model.vol, strict=True)}
    ids = tuple(o.label for o in resolved.portfolio.orders)
    first = sim.first if sim.orders is None else sim.orders.first  # with the orders working
    modes: dict[str, ViewRisk] = {}
    for view, book in sim.books.items():
        pools = []
        for g in range(book.n_pools):
            members = _pool_members(resolved, book, g)
            if members:
                summary = Liquidation.of(first[view][:, g], hours)
                pools.append(PoolLiquidation(g, book.pool_settle[g], book.pool_mode[g], members, summary))
        modes[view] = ViewRisk(
            liquidation=Liquidation.of(sim.view_first(view, with_orders=True), hours),
            pools=tuple(pools),
            positions=position_first_passage(resolved, view, hours, asset_vols),
            orders=_view_orders(sim, view, ids),
        )
    held = tuple(c for c in resolved.portfolio.collateral_assets if c not in sim.model.assets)
    notes = (ORDERS_NOTE,) if sim.orders is not None else ()
    if resolved.option_legs:
        notes = (*notes, OPTIONS_NOTE)
    return RiskResult(hours, int(paths), int(seed), sim.model, held, modes, notes)


def risk(
    resolved: Resolved,
    horizon_hours: int,
    history: PriceHistory,
    *,
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    model: str = "bootstrap",
    vols: Mapping[str, float] | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, object]:
    """The JSON document of ``python -m margin risk`` (format §5): :func:`risk_result` as plain data.

    ``{"horizon_hours", "paths", "seed", "model": {parameters used}, "modes": {VIEW: {"probability",
    "ci95" (Wilson), "liquidated_paths", "time_to_liquidation_hours": {"p5", "p50", "p95", "mean",
    "p50_ci95"} (null when no path liquidates), "cumulative": {"hours", "probability"}, "pools": [...],
    "positions": [closed form, :func:`position_first_passage`]}}}``; with orders also, per view,
    ``"probability_without_orders"``, ``"ci95_without_orders"``, ``"probability_order_filled"``,
    ``"ci95_order_filled"``, ``"orders": [{"id", "probability_filled", "ci95", "filled_paths"}]``, and a
    top-level ``"notes"`` (module docstring).
    """
    return risk_result(
        resolved, horizon_hours, history, paths=paths, seed=seed, model=model, vols=vols, progress=progress
    ).to_dict()
