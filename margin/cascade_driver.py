"""The cascade's entry points: a shock or a price path, every view, and the impact fixed point.

Views (format §2: ``as_is``, ``cross``, ``isolated``) are run independently on the same path. With an
impact law the path is extended by the impact leg of the book's forced trades
(:func:`margin.cascade_paths.impact_leg`) and the run repeated with ``D`` = the impact of that
run's forced trades (:class:`margin.cascade_impact.ImpactModel`), ``D₀ = 0``, until
``max |D_{k+1} − D_k| ≤ tolerance`` (or ``max_iterations``). Amplification = final move / initial
move of the main symbol (the largest absolute initial move, first on ties); final move
``(1 + m)(1 + D) − 1``, exactly ``m`` when ``D = 0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .cascade_impact import ImpactModel, impact_model
from .cascade_params import CascadeParams, check_impact, check_shocks, check_views, parse_params
from .cascade_paths import Path, given_path, impact_leg, main_symbol, shock_path
from .cascade_portfolio import PORTFOLIO_VIEW, portfolio_cascade
from .cascade_results import CascadeResult, ViewCascade, settle_totals
from .cascade_state import Ledger, Point, Setup
from .cascade_steps import merge_partials
from .cascade_venue import fee_rates
from .cascade_walk import walk
from .engine import Book, compile_book
from .errors import PortfolioError, Problem
from .market import MarketSnapshot
from .portfolio import Resolved
from .report import option_market
from .shocks import Shock, combine, parse_shock

FloatArray = npt.NDArray[np.float64]


def _view(
    book: Book,
    base: Path,
    model: ImpactModel | None,
    params: CascadeParams,
    main: int | None,
    path_move: FloatArray,
    resolved: Resolved,
) -> ViewCascade:
    rules = resolved.venue.liquidation
    start = Point(base.marks[0], base.coll_at(0), float(base.t[0]), base.phase[0])
    setup = Setup.build(book, start, rules, params, main, fee_rates(book, rules, params))
    symbols = book.symbols
    d = np.zeros(len(symbols))
    # the path itself is walked once: its liquidations do not depend on D; every impact run goes on
    # from a copy of the state where it ended
    plain = Ledger.start(book, setup.orders)
    plain_steps = walk(setup, plain, base, gap=params.gap)
    ledger, steps = plain, plain_steps
    end_marks, end_coll = base.marks[-1], base.coll_at(base.rows - 1)
    iterations, converged = 1, True
    if model is not None:
        converged = False
        for _ in range(params.max_iterations):
            d_new = model.moves(ledger.flow)
            if float(np.max(np.abs(d_new - d), initial=0.0)) <= params.tolerance:
                converged = True
                break
            d = d_new
            ledger, steps = plain, plain_steps
            end_marks, end_coll = base.marks[-1], base.coll_at(base.rows - 1)
            if np.any(d != 0.0):
                leg = impact_leg(base, d, params.impact_steps)
                ledger = plain.copy()
                steps = plain_steps + walk(setup, ledger, leg, check_start=False)
                end_marks, end_coll = leg.marks[-1], leg.coll_at(leg.rows - 1)
            iterations += 1
    by = setup.summary(ledger, end_marks, end_coll)
    c0, c1 = settle_totals(by)
    before_impact = None  # the account value where the shock ends, before the impact leg (when one ran)
    if model is not None and np.any(d != 0.0):
        before_impact = settle_totals(setup.summary(plain, base.marks[-1], base.coll_at(base.rows - 1)))[1]
    final = path_move + d + path_move * d  # (1 + m)(1 + D) − 1, exactly m when D = 0
    amp = None
    if main is not None and path_move[main] != 0.0:
        amp = float(final[main] / path_move[main])
    return ViewCascade(
        view=book.view,
        steps=merge_partials(steps) if params.merge_partials else tuple(steps),
        positions_lost=ledger.positions_lost,
        positions_reduced=int((ledger.reduced & ledger.open).sum()),
        positions_open=ledger.positions_open,
        collateral_start=c0,
        collateral_left=c1,
        by_settle=by,
        fees=float(ledger.fees.sum()),
        insurance_fund=ledger.insurance,
        impact={s: float(d[j]) for j, s in enumerate(symbols) if d[j] != 0.0},
        final_moves={s: float(final[j]) for j, s in enumerate(symbols) if final[j] != 0.0},
        amplification=amp,
        iterations=iterations,
        converged=converged,
        positions_lost_without_impact=plain.positions_lost,
        flows={s: float(ledger.flow[j]) for j, s in enumerate(symbols) if ledger.flow[j] != 0.0},
        collateral_left_before_impact=before_impact,
        orders_filled=None if setup.orders is None else int(ledger.order_filled.sum()),
        order_outcomes=order_outcomes(setup, ledger),
    )


def order_outcomes(setup: Setup, ledger: Ledger) -> tuple[tuple[str, str, str], ...]:
    """Each order's outcome at the end of a walk (:data:`margin.cascade_results.ORDER_OUTCOMES`)."""
    orders = setup.orders
    if orders is None:
        return ()
    out = []
    for k, order_id in enumerate(orders.ids):
        i = int(orders.pos[k])
        if ledger.order_filled[k]:
            outcome = "filled"
        elif ledger.order_open[k]:
            outcome = "not_reached"
        elif ledger.closed_by_order[i]:
            outcome = "closed_by_order"
        else:
            outcome = "liquidated_first"
        out.append((order_id, setup.book.ids[i], outcome))
    return tuple(out)


def _simulate(
    resolved: Resolved,
    base: Path,
    law: str,
    params: CascadeParams,
    views: tuple[str, ...],
    main: int | None,
    path_move: FloatArray,
    market: MarketSnapshot,
) -> tuple[dict[str, ViewCascade], ImpactModel | None]:
    # the books are priced on the cascade's market: the options' volatility shocks and days (format §6.5)
    books = {v: compile_book(resolved, v, market) for v in views if v != PORTFOLIO_VIEW}
    model = impact_model(resolved.symbols, law, params) if law != "none" else None
    modes = {v: _view(b, base, model, params, main, path_move, resolved) for v, b in books.items()}
    if PORTFOLIO_VIEW in views:
        modes[PORTFOLIO_VIEW] = portfolio_cascade(resolved, market, base, params, main, path_move, params.gap)
    return modes, model


def _views(resolved: Resolved, views: Sequence[str] | None) -> tuple[str, ...]:
    """The views asked for; by default the standard ones, and the ``portfolio`` view (format §6.4) when the
    account holds an option (a book without options keeps the output it had before options existed)."""
    if views is None:
        return ("cross", "isolated", "as_is") + ((PORTFOLIO_VIEW,) if resolved.option_legs else ())
    return check_views(views)


def _option_market(resolved: Resolved, vol_shocks: Sequence[Shock | str], days: float) -> MarketSnapshot:
    """The file's market with the options' volatility shocks and days forward (format §6.5)."""
    shocks = [s if isinstance(s, Shock) else parse_shock(s, "--vol-shock") for s in vol_shocks]
    return option_market(resolved, resolved.market, shocks, days)


def cascade(
    resolved: Resolved,
    shocks: Sequence[Shock | str] | Mapping[str, float],
    impact: str = "none",
    params: Mapping[str, object] | CascadeParams | None = None,
    views: Sequence[str] | None = None,
    vol_shocks: Sequence[Shock | str] = (),
    days: float = 0.0,
) -> CascadeResult:
    """Liquidation cascade of an instant shock, walked from 0 to the full move (:mod:`margin.contagion`).

    Orders (format §7) fill where the path crosses them, before the pools are checked at that point.
    ``params.gap`` (``--gap``): the shock happens at once, no path: the walk is the single jump from the
    marks to the shocked marks (``steps`` 1, reported so) with no fill between its two rows; every order
    whose trigger lies between the current and the shocked mark fills at the shocked mark (× (1 ∓
    slippage)), then the pools are checked at the shocked marks (liquidated there, possibly beyond the
    bankruptcy price, as with ``fill="step"``). With an impact law the impact leg that follows is the
    book's own forced trades moving the price over time, not a gap: it walks as usual (``impact_steps``
    rows, ``fill`` as given).

    ``shocks``: :class:`Shock` objects, ``"BTC=-20%"`` strings, or ``{target: move}`` (targets as in
    ``--shock``: ``ALL``, a base asset, a symbol, a collateral asset). Raises :class:`PortfolioError`
    for a bad impact name, bad params or bad shocks.

    Options (format §6, :mod:`margin.contagion`): ``vol_shocks`` (``"BTC=+30%"`` strings or :class:`Shock`)
    and ``days`` price them (§6.5 ``--vol-shock``, ``--days``; an account without options takes neither).
    ``views``: default the standard views, plus ``portfolio`` (§6.4) when the account holds an option.
    """
    law = check_impact(impact)
    p = parse_params(params)
    vs = _views(resolved, views)
    market = _option_market(resolved, vol_shocks, days)
    if isinstance(shocks, Mapping):
        items = [Shock(k, v) for k, v in check_shocks(shocks)]
    else:
        items = [s if isinstance(s, Shock) else parse_shock(s) for s in shocks]
    backing = resolved.portfolio.collateral_assets
    moves = combine(items, list(resolved.marks), list(backing))
    symbols = list(resolved.marks)
    if p.gap:
        p = replace(p, steps=1)
    path, move_vec = shock_path(resolved, moves, p.steps)
    main = main_symbol(move_vec)
    modes, model = _simulate(resolved, path, law, p, vs, main, move_vec, market)
    return CascadeResult(
        venue=resolved.venue.name,
        kind="shock",
        moves=moves,
        impact=law,
        main_symbol=None if main is None else symbols[main],
        initial_move=None if main is None else float(move_vec[main]),
        modes=modes,
        impact_model=None if model is None else model.describe(),
        params=p,
        vol_moves=dict(market.vol_moves),
        days=market.days,
    )


def cascade_path(
    resolved: Resolved,
    marks_path: FloatArray,
    impact: str = "none",
    params: Mapping[str, object] | CascadeParams | None = None,
    views: Sequence[str] | None = None,
    vol_shocks: Sequence[Shock | str] = (),
    days: float = 0.0,
) -> CascadeResult:
    """Liquidation cascade along a price path: (T, n_symbols) marks, columns in ``resolved.marks`` order,
    walked as given (row 0 is the start; ``t`` of a step is its row index, fractional at a crossing).
    ``params.gap``: every row of the path is a gap from the one before (no fill between rows, orders at
    the row's marks; :func:`cascade`); the impact leg walks as usual. ``views``, ``vol_shocks`` and ``days``
    as in :func:`cascade` (an option's column is its forward: it moves with its base along the path)."""
    law = check_impact(impact)
    p = parse_params(params)
    vs = _views(resolved, views)
    market = _option_market(resolved, vol_shocks, days)
    symbols = list(resolved.marks)
    m = np.asarray(marks_path, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(symbols) or m.shape[0] < 1:
        raise PortfolioError(
            [
                Problem(
                    "marks_path",
                    f"must be a (T, {len(symbols)}) array of marks (columns {', '.join(symbols)})",
                    tuple(np.shape(m)),
                )
            ]
        )
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise PortfolioError([Problem("marks_path", "must hold finite marks > 0", "non-positive or NaN entries")])
    end_moves = m[-1] / m[0] - 1.0
    main = main_symbol(end_moves)
    modes, model = _simulate(resolved, given_path(resolved, m), law, p, vs, main, end_moves, market)
    return CascadeResult(
        venue=resolved.venue.name,
        kind="path",
        moves={s: float(end_moves[j]) for j, s in enumerate(symbols) if end_moves[j] != 0},
        impact=law,
        main_symbol=None if main is None else symbols[main],
        initial_move=None if main is None else float(end_moves[main]),
        modes=modes,
        impact_model=None if model is None else model.describe(),
        params=p,
        vol_moves=dict(market.vol_moves),
        days=market.days,
    )
