"""The Monte Carlo of the whole account: first liquidation hour of every pool of every view on every path.

The assets are the bases of the positions (every symbol of a base moves by the same ratio; the quote
currency is the unit) plus non-settle collateral assets that have a price history or a ``vols`` entry
(others are held at their price). Hourly log returns come from the market model
(:mod:`margin.risk_market`); at every hourly close every pool of every view is checked with the engine's
trigger (``portfolio-format.md`` §2: equity ≤ maintenance, :mod:`margin.risk_triggers`); the first touch
liquidates (the hourly close crossing: excursions inside an hour are not seen, which biases
probabilities down; compare with the closed form at the Broadie–Glasserman–Kou shifted barrier,
:func:`margin.risk_closed_form.discrete_barrier`). A view is liquidated on a path when any of its pools
holding positions is. Seeded with ``numpy.random.default_rng(seed)``: the same inputs and seed give the
same output on one machine (the BLAS library may round the correlation product differently elsewhere).

Limits: marks follow their base's ratio (basis and funding ignored); non-settle collateral without a
history or ``vols`` entry is held at its price; an hourly close is the only monitoring; no liquidation
cascade or partial liquidation (a pool's first touch ends it for that path).

Options (format §6): an account holding options has every pool checked with the engine itself
(:mod:`margin.risk_evaluated`: ``evaluate`` at every hourly close, the options' forwards moving with their
base and their time to expiry falling along the path), on the same draws; orders are not run together with
options yet (invalid input).

Orders (``portfolio-format.md`` §7): a file with stop-losses or take-profits also runs them along the
same paths (:mod:`margin.risk_orders`, fed each chunk's hourly ratios): the pools holding orders are
valued again with the orders working; ``Simulation.first`` stays the run with the orders ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, compile_book
from .errors import PortfolioError, Problem
from .instruments import symbol_base
from .marketdata import PriceHistory
from .portfolio import Resolved
from .risk_evaluated import EvaluatedTouch
from .risk_inputs import DEFAULT_PATHS
from .risk_market import MarketModel, build_model
from .risk_orders import OrderOutcome, OrderPaths
from .risk_separable import NEVER as NEVER
from .risk_separable import FirstTouch, SeparablePools
from .risk_triggers import Triggers

#: elements of one chunk of draws (steps × paths × assets): bounds its memory
CHUNK_ELEMENTS = 2_400_000
MAX_CHUNK_STEPS = 24


def symbol_assets(symbols: Sequence[str], resolved: Resolved) -> list[str]:
    """The base asset of each symbol: its (first) futures position's instrument base, else
    :func:`margin.instruments.symbol_base` (an option column, format §6.1), else the text before ``/``."""
    base: dict[str, str] = {}
    for leg in resolved.legs:
        base.setdefault(leg.position.symbol, leg.instrument.base)
    return [base.get(s) or symbol_base(s) or s.split("/", 1)[0] for s in symbols]


@dataclass(frozen=True, eq=False)
class Simulation:
    """First liquidation hour of every (path, pool) of every view; ``NEVER`` where none in the horizon.

    ``first`` ignores the orders; ``orders`` (a file with orders only): the same paths with the orders
    working (:mod:`margin.risk_orders`).
    """

    model: MarketModel
    horizon_hours: int
    paths: int
    seed: int
    first: dict[str, npt.NDArray[np.int32]]  # view -> (paths, G)
    books: dict[str, Book]
    orders: OrderOutcome | None = None

    def view_first(self, view: str, with_orders: bool = False) -> npt.NDArray[np.int32]:
        """First liquidation hour of the view (any of its pools) per path, orders ignored or working."""
        f = self.orders.first[view] if with_orders and self.orders is not None else self.first[view]
        return f.min(axis=1) if f.shape[1] else np.full(self.paths, NEVER, dtype=np.int32)


def simulate(
    resolved: Resolved,
    horizon_hours: int,
    history: PriceHistory,
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    model: str | MarketModel = "bootstrap",
    vols: Mapping[str, float] | None = None,
    views: Sequence[str] = VIEWS,
    progress: Callable[[float], None] | None = None,
) -> Simulation:
    """Run the Monte Carlo: paths × hourly steps, first touch of every pool of every view.

    ``progress`` (optional) is called with the fraction of the horizon simulated after each chunk of steps.

    Returns are drawn in chunks of up to 24 hourly steps (assets × steps × paths); the pools are checked
    at every hourly close, one step at a time, vectorised over paths, as sums of per-asset functions or
    barriers (:mod:`margin.risk_separable`): the cost of a step grows with assets and pools, not positions.
    """
    refused = options_with_orders_problem(resolved)
    if refused is not None:
        raise refused
    books = {v: compile_book(resolved, v) for v in views}
    first_book = books[views[0]]
    symbols = first_book.symbols
    sym_assets = symbol_assets(symbols, resolved)
    coll_names = first_book.collateral_assets
    vols = dict(vols or {})
    known = set(history.assets) | set(vols)
    coll_sim = [c for c in coll_names if c in known]
    assets = list(dict.fromkeys([*sym_assets, *coll_sim]))
    mm = model if isinstance(model, MarketModel) else build_model(assets, history, model, vols)
    a_index = {a: i for i, a in enumerate(mm.assets)}
    pos_col = np.array([a_index[sym_assets[s]] for s in first_book.sym], dtype=np.intp)
    coll_cols = np.array([a_index.get(c, -1) for c in coll_names], dtype=np.intp)
    if first_book.options is not None:  # options: every pool checked by the engine (margin.risk_evaluated)
        sym_col = np.array([a_index[a] for a in sym_assets], dtype=np.intp)
        first_e = _simulate_evaluated(books, sym_col, coll_cols, mm, horizon_hours, paths, seed, progress)
        return Simulation(model=mm, horizon_hours=horizon_hours, paths=paths, seed=seed, first=first_e, books=books)
    moving = np.flatnonzero(coll_cols >= 0)
    coll0 = first_book.collateral_price[:, None]
    triggers = Triggers(books)
    n_a = len(mm.assets)
    touch = FirstTouch(SeparablePools(triggers, pos_col, n_a), paths)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // max(1, paths * max(n_a, 1))))
    level = np.zeros((n_a, paths))
    ratio = np.empty((n_a, paths))
    cp = np.repeat(coll0, paths, axis=1) if coll_names else None
    orders = None
    if resolved.portfolio.orders:
        orders = OrderPaths(resolved, books, pos_col, paths, triggers.view_pools, triggers.n_cross)
    # a file with orders keeps the chunk's ratios, collateral prices and cross pools' values for its orders
    kept = np.empty((n_a, chunk, paths)) if orders is not None else None
    kept_cp = np.empty((len(coll_names), chunk, paths)) if orders is not None and cp is not None else None
    kept_v = np.empty((triggers.n_cross, chunk, paths)) if orders is not None and touch.tables else None
    done = 0
    while done < horizon_hours and n_a and triggers.n_unique:
        steps = min(chunk, horizon_hours - done)
        x = mm.draw(rng, steps, paths)
        for j in range(steps):
            level += x[:, j]
            np.exp(level, out=ratio)
            if cp is not None and moving.size:
                cp[moving] = coll0[moving] * ratio[coll_cols[moving]]
            touch.step(done + j + 1, ratio, cp)
            if kept is not None:
                kept[:, j] = ratio
                if kept_cp is not None and cp is not None:
                    kept_cp[:, j] = cp
                if kept_v is not None:
                    kept_v[:, j] = touch.vals
        if orders is not None and kept is not None:
            orders.chunk(
                done,
                kept[:, :steps],
                None if kept_cp is None else kept_cp[:, :steps],
                None if kept_v is None else kept_v[:, :steps],
                touch.so_far,
            )
        done += steps
        if progress is not None:
            progress(done / horizon_hours)
    first = touch.result()
    per_view = {}
    for view in books:
        cols = triggers.view_pools[view]
        if not first.shape[0]:  # no pool holds a position: none is ever liquidated
            per_view[view] = np.full((paths, cols.size), NEVER, dtype=np.int32)
            continue
        per_view[view] = np.where(cols[None, :] >= 0, first[np.maximum(cols, 0)].T, NEVER).astype(np.int32)
    return Simulation(
        model=mm,
        horizon_hours=horizon_hours,
        paths=paths,
        seed=seed,
        first=per_view,
        books=books,
        orders=None if orders is None else orders.outcome(per_view, known=True),
    )


def _simulate_evaluated(
    books: Mapping[str, Book],
    sym_col: npt.NDArray[np.intp],
    coll_cols: npt.NDArray[np.intp],
    mm: MarketModel,
    horizon_hours: int,
    paths: int,
    seed: int,
    progress: Callable[[float], None] | None,
) -> dict[str, npt.NDArray[np.int32]]:
    """The Monte Carlo of an account holding options (:mod:`margin.risk_evaluated`): the same draws, in the
    same chunks, as the separable run; every pool of every view checked with ``evaluate`` at every hourly
    close."""
    n_a = len(mm.assets)
    touch = EvaluatedTouch(books, sym_col, coll_cols, n_a, paths)
    touch.now()
    rng = np.random.default_rng(seed)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // max(1, paths * max(n_a, 1))))
    level = np.zeros((n_a, paths))
    kept = np.empty((n_a, chunk, paths))
    done = 0
    while done < horizon_hours and n_a:
        steps = min(chunk, horizon_hours - done)
        x = mm.draw(rng, steps, paths)
        for j in range(steps):
            level += x[:, j]
            np.exp(level, out=kept[:, j])
        touch.block(done, kept[:, :steps])
        done += steps
        if progress is not None:
            progress(done / horizon_hours)
    return touch.result()


def options_with_orders_problem(resolved: Resolved) -> PortfolioError | None:
    """Orders (format §7) are not run together with options yet: invalid input naming the first order."""
    if not (resolved.option_legs and resolved.portfolio.orders):
        return None
    label = resolved.portfolio.orders[0].label
    return PortfolioError(
        [
            Problem(
                "orders[0]",
                "cannot be simulated in an account holding options yet (risk runs orders on futures-only "
                "accounts; remove the orders or the options)",
                label,
            )
        ]
    )
