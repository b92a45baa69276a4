"""Liquidation frontier: the grid of joint moves of two assets, and the smallest moves that liquidate.

Every number here is the trigger of equation (E), ``margin-models.md`` §0.1: a pool is liquidated when
its equity ``wallet + Σ UPNL`` is at or below its maintenance ``Σ (N × mmr − maint_amount)`` (plus the
closing fee on venues that reserve it, maintenance at entry where the venue says so; format §2), every
position re-priced at the moved marks with the tier of the moved notional (§0.1: "re-price every
position at the shocked marks … and compare").

:func:`frontier` moves two base assets ``x`` and ``y`` over a grid (201 × 201 by default). A move of an
asset multiplies the mark of every symbol whose base is that asset (:func:`margin.shocks.matches`).
Each position's UPNL and maintenance depend on its own mark only, so a pool's equity and maintenance
are *separable*: a constant (wallet and positions in neither asset) plus a function of the x move plus a
function of the y move. The position arrays are computed over the 201 x moves and the 201 y moves
separately (never over the 40,401 cells), summed per pool, and combined by broadcasting; pools that
hold positions in only one of the two assets (every isolated pool) never need the full grid.

:func:`smallest_moves` finds, per pool and per position, the smallest uniform market move (every mark
× (1 + m)) and the smallest move of each single base asset that liquidates it, down and up: a bracket
on a fine grid of moves, then a bisection of every bracket at once down to floating-point resolution.

Books with options (format §6): an option's column of the marks is its underlying's forward and moves with
its base (§6.3); its Black-76 value counts in its pool's equity and its standard margin in the maintenance
(§6.2, §6.3). Both functions use :func:`margin.engine.evaluate` itself then: at every cell of the grid
(:func:`engine_frontier_view`, in blocks of :data:`ENGINE_CELLS`) and along the same search grids with an
engine bisection (:func:`engine_first_moves`). Books without options keep the closed forms, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, compile_book, evaluate
from .errors import PortfolioError, Problem
from .instruments import symbol_base
from .portfolio import Resolved

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: limits of the grid (``--steps``, ``--range``)
MIN_STEPS, MAX_STEPS = 3, 1001
MAX_RANGE = 0.99
#: search interval of :func:`smallest_moves`: moves in [DOWN_LIMIT, 0) and (0, UP_LIMIT]
DOWN_LIMIT = -(1.0 - 1e-12)
UP_LIMIT = 10.0


# --------------------------------------------------------------------------- position arithmetic


def position_values(book: Book, index: IntArray, factor: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """UPNL and maintenance of the positions ``index`` with their marks multiplied by ``factor``.

    ``factor`` broadcasts against ``index`` ((S, k), (k,) or a scalar). Notional ``N = size × P``
    (linear) or ``size / P`` (inverse); UPNL ``s·size·(P − EP)`` or ``s·size·(1/EP − 1/P)``
    (``margin-models.md`` §0, format §2); maintenance as the book's margin model states it
    (:mod:`margin.models`).
    """
    sym = book.sym[index]
    mark = book.marks[sym] * np.asarray(factor, dtype=np.float64)
    size = book.size[index]
    inv = book.inverse[index]
    sq = book.sign[index] * size
    entry = book.entry[index]
    with np.errstate(divide="ignore"):
        notional = np.where(inv, size / mark, size * mark)
        upnl = np.where(inv, 1.0 / entry - 1.0 / mark, mark - entry) * sq
    tiers = book.tiers
    flat = sym * tiers.width + tiers.index(sym, notional)
    mm_at_mark, _ = book.model.mark_maintenance(tiers, flat, notional, np.where(inv, notional, size))
    return upnl, book.model.maintenance(book, mm_at_mark, notional, index)


def group_sum(values: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """Sum the columns of ``values`` (S, k) by ``group`` (k,) into (S, n_groups), no loop over columns."""
    out = np.zeros((values.shape[0], n_groups))
    if group.size == 0:
        return out
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_group[1:] != sorted_group[:-1]]))
    out[:, sorted_group[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return out


def base_assets(resolved: Resolved) -> tuple[str, ...]:
    """Base assets of the portfolio's positions (futures and options, format §6.1), in order of first
    appearance in the file."""
    if not resolved.option_legs:
        return tuple(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    held = [(leg.index, leg.instrument.base) for leg in resolved.legs]
    held += [(leg.index, leg.option.base) for leg in resolved.option_legs]
    return tuple(dict.fromkeys(base for _, base in sorted(held)))


def _ratio(equity: FloatArray, maintenance: FloatArray) -> FloatArray:
    """Maintenance / equity; +inf where equity ≤ 0 (format §2: liquidated at 1 or above)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(equity > 0, maintenance / np.where(equity > 0, equity, 1.0), np.inf)


# --------------------------------------------------------------------------- books with options: the engine

#: most (row × column) cells one :func:`margin.engine.evaluate` of the option path holds (columns: the
#: symbols, futures, options and pools of the book), to bound memory
ENGINE_CELLS = 200_000
#: bisection steps (each halves every bracket; far more than float64 needs)
BISECTIONS = 200


def engine_rows(book: Book) -> int:
    """Rows (scenarios) per :func:`margin.engine.evaluate` call of the option path (:data:`ENGINE_CELLS`)."""
    width = len(book.symbols) + book.n_positions + len(book.options or ()) + book.n_pools
    return max(1, ENGINE_CELLS // max(width, 1))


def column_bases(book: Book) -> tuple[str | None, ...]:
    """The base asset of every column of the marks: futures and option symbols alike (format §6.3: an
    option's column is its underlying's forward and moves with its base)."""
    return tuple(symbol_base(s) for s in book.symbols)


def _flags_at(book: Book, exposure: FloatArray, moves: FloatArray, pools: IntArray) -> BoolArray:
    """Per item i: is pool ``pools[i]`` liquidated (the engine's trigger, format §2 and §6.3) at the marks
    × (1 + ``moves[i]`` × ``exposure[i]``)? ``exposure`` (n, n_symbols), in chunks of
    :func:`engine_rows`."""
    out = np.zeros(moves.size, dtype=bool)
    rows = engine_rows(book)
    for s0 in range(0, moves.size, rows):
        s1 = min(moves.size, s0 + rows)
        ev = evaluate(book, book.marks * (1.0 + moves[s0:s1, None] * exposure[s0:s1]))
        out[s0:s1] = ev.pool_liquidated[np.arange(s1 - s0), pools[s0:s1]]
    return out


def engine_first_moves(book: Book, exposure: FloatArray, grid: FloatArray) -> FloatArray:
    """(E, G): for each exposure row ``e`` (E, n_symbols) and pool ``g``, the move ``m`` nearest 0 along
    ``grid`` (ordered outward from 0) at which :func:`margin.engine.evaluate` at the marks
    × (1 + m × ``exposure[e]``) has pool ``g`` liquidated (equity ≤ maintenance with the options' value and
    §6.3 margin, format §2 and §6.3), refined by bisection against the previous grid point (or 0) to
    floating-point resolution, on the liquidated side of the root. NaN where no grid move liquidates it or
    the pool holds nothing; 0 where it is liquidated at the current marks.

    The path for books with options: the engine itself along the grid, in blocks of :func:`engine_rows`
    rows, stopping once every pool has a bracket, then one evaluation of every pending bracket per
    bisection step (no loop over positions, pools or scenarios).
    """
    exposure = np.atleast_2d(np.asarray(exposure, dtype=np.float64))
    n_e, n_g = exposure.shape[0], book.n_pools
    held = book.pool_held
    now = evaluate(book).pool_liquidated[0]
    out = np.full((n_e, n_g), np.nan)
    out[:, held & now] = 0.0
    first = np.full((n_e, n_g), -1, dtype=np.intp)
    pending = held & ~now
    rows = engine_rows(book)
    for e in range(n_e):  # one per kind of move: the uniform one, each single asset
        for s0 in range(0, grid.size, rows):
            todo = pending & (first[e] < 0)
            if not todo.any():
                break
            block = grid[s0 : s0 + rows]
            liq = evaluate(book, book.marks * (1.0 + block[:, None] * exposure[e])).pool_liquidated
            hit = liq.any(axis=0) & todo
            first[e, hit] = s0 + np.argmax(liq[:, hit], axis=0)
    ie, ig = np.nonzero(first >= 0)
    if ie.size == 0:
        return out
    k = first[ie, ig]
    b = grid[k]
    a = np.where(k > 0, grid[np.maximum(k - 1, 0)], 0.0)
    for _ in range(BISECTIONS):
        mid = 0.5 * (a + b)
        active = (mid != a) & (mid != b)
        if not active.any():
            break
        at = np.flatnonzero(active)
        liq_mid = _flags_at(book, exposure[ie[at]], mid[at], ig[at])
        b[at] = np.where(liq_mid, mid[at], b[at])
        a[at] = np.where(liq_mid, a[at], mid[at])
    out[ie, ig] = b
    return out


def _engine_grid(
    book: Book, moves_x: FloatArray, moves_y: FloatArray, col_x: BoolArray, col_y: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Pool equity and maintenance (ny, nx, G) of :func:`margin.engine.evaluate` at every cell: the columns
    of ``col_x`` (futures and option forwards of x) × (1 + x move), those of ``col_y`` × (1 + y move), in
    blocks of :func:`engine_rows` cells."""
    nx, ny, n_g = moves_x.size, moves_y.size, book.n_pools
    fx = np.where(col_x[None, :], 1.0 + moves_x[:, None], 1.0)  # (nx, n_sym)
    fy = np.where(col_y[None, :], 1.0 + moves_y[:, None], 1.0)  # (ny, n_sym)
    equity = np.empty((ny * nx, n_g))
    maintenance = np.empty((ny * nx, n_g))
    rows = engine_rows(book)
    for c0 in range(0, ny * nx, rows):
        cells = np.arange(c0, min(ny * nx, c0 + rows))
        ev = evaluate(book, book.marks * fx[cells % nx] * fy[cells // nx])
        equity[cells] = ev.pool_equity
        maintenance[cells] = ev.pool_maintenance
    return equity.reshape(ny, nx, n_g), maintenance.reshape(ny, nx, n_g)


# --------------------------------------------------------------------------- frontier


@dataclass(frozen=True, eq=False)
class FrontierView:
    """One view over the grid. Cells are indexed ``[iy, ix]``: rows are y moves, columns x moves.

    A pool's equity at cell (iy, ix) is ``(base_equity + equity_x[ix]) + equity_y[iy]`` and its
    maintenance likewise (separability, module docstring); the (ny, nx, G) pool arrays are built
    only when asked for. In a book with options (format §6) the pool arrays are the engine's at every
    cell (``grid_equity``, ``grid_maintenance``), and the parts are the engine's along each axis (the
    engine at the x moves only, minus the current marks; likewise y).
    """

    view: str
    book: Book
    moves_x: FloatArray
    moves_y: FloatArray
    has_positions: BoolArray  # (G,)
    base_equity: FloatArray  # (G,) wallet + UPNL of the positions in neither asset
    base_maintenance: FloatArray  # (G,)
    equity_x: FloatArray  # (nx, G) UPNL of the x positions
    maintenance_x: FloatArray  # (nx, G)
    equity_y: FloatArray  # (ny, G)
    maintenance_y: FloatArray  # (ny, G)
    liquidated: BoolArray  # (ny, nx): any pool with positions liquidated
    margin_ratio: FloatArray  # (ny, nx): worst pool maintenance / equity, +inf where equity ≤ 0
    #: (ny, nx, G) the engine's pool equity and maintenance at every cell (books with options), else None
    grid_equity: FloatArray | None = None
    grid_maintenance: FloatArray | None = None

    @cached_property
    def pool_equity(self) -> FloatArray:
        if self.grid_equity is not None:
            return self.grid_equity
        return (self.base_equity + self.equity_x)[None, :, :] + self.equity_y[:, None, :]

    @cached_property
    def pool_maintenance(self) -> FloatArray:
        if self.grid_maintenance is not None:
            return self.grid_maintenance
        return (self.base_maintenance + self.maintenance_x)[None, :, :] + self.maintenance_y[:, None, :]

    @cached_property
    def pool_liquidated(self) -> BoolArray:
        """(ny, nx, G): equity ≤ maintenance, pools with positions only (format §2)."""
        return self.has_positions & (self.pool_equity <= self.pool_maintenance)

    @cached_property
    def pool_margin_ratio(self) -> FloatArray:
        """(ny, nx, G): maintenance / equity; NaN where equity ≤ 0 (as the engine, format §4)."""
        ratio = _ratio(self.pool_equity, self.pool_maintenance)
        return np.where(np.isinf(ratio), np.nan, ratio)

    def boundary(self) -> dict[str, Any]:
        """Where the view switches from alive to liquidated, at grid resolution.

        ``down[ix]``: the y move of the first liquidated cell met going down from y = 0 (more exactly
        from the row nearest 0) in column ix, the cell above it alive; ``up[ix]`` likewise going up;
        ``None`` when the column has no such switch on that side. ``left[iy]`` / ``right[iy]``: the
        same along x for each row. ``cells``: every liquidated cell with an alive neighbour (4-way),
        as ``[ix, iy]`` pairs.
        """
        liq = self.liquidated
        down, up = _switches(liq, self.moves_y)
        left, right = _switches(liq.T, self.moves_x)
        alive = ~liq
        edge = np.zeros_like(liq)
        edge[1:, :] |= alive[:-1, :]
        edge[:-1, :] |= alive[1:, :]
        edge[:, 1:] |= alive[:, :-1]
        edge[:, :-1] |= alive[:, 1:]
        iy, ix = np.nonzero(liq & edge)
        return {"down": down, "up": up, "left": left, "right": right, "cells": np.stack([ix, iy], axis=1).tolist()}


def _switches(liq: BoolArray, moves: FloatArray) -> tuple[list[float | None], list[float | None]]:
    """Per column of ``liq`` (rows = ``moves``): the nearest alive→liquidated switch below and above 0."""
    n = moves.size
    c = int(np.argmin(np.abs(moves)))
    rows = np.arange(n)[:, None]
    # going down: row j < c... liquidated at j, alive at j + 1, j + 1 <= c
    sw_down = np.zeros_like(liq)
    sw_down[:-1] = liq[:-1] & ~liq[1:]
    sw_down &= rows < c
    sw_up = np.zeros_like(liq)
    sw_up[1:] = liq[1:] & ~liq[:-1]
    sw_up &= rows > c
    j_down = np.where(sw_down, rows, -1).max(axis=0)
    j_up = np.where(sw_up, rows, n).min(axis=0)
    down = [float(moves[j]) if j >= 0 else None for j in j_down.tolist()]
    up = [float(moves[j]) if j < n else None for j in j_up.tolist()]
    return down, up


@dataclass(frozen=True, eq=False)
class FrontierResult:
    """The grid of joint moves of two base assets and, per view, every pool's state on it."""

    x: str
    y: str
    moves_x: FloatArray
    moves_y: FloatArray
    modes: dict[str, FrontierView]

    def boundary(self, view: str) -> dict[str, Any]:
        return self.modes[view].boundary()

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``python -m margin frontier`` (``portfolio-format.md`` §5).

        ``margin_ratio`` is ``null`` where not finite (a pool at or below zero equity).
        """
        modes: dict[str, Any] = {}
        for view, fv in self.modes.items():
            mr = fv.margin_ratio.astype(object)
            mr[~np.isfinite(fv.margin_ratio)] = None
            modes[view] = {"liquidated": fv.liquidated.tolist(), "margin_ratio": mr.tolist(), "boundary": fv.boundary()}
        return {
            "x": self.x,
            "y": self.y,
            "moves_x": self.moves_x.tolist(),
            "moves_y": self.moves_y.tolist(),
            "modes": modes,
        }


def _check_asset(name: str, flag: str, bases: Sequence[str]) -> tuple[str | None, list[Problem]]:
    for base in bases:
        if base.upper() == str(name).upper():
            return base, []
    return None, [Problem(flag, f"must be a base asset of the portfolio's positions ({', '.join(bases)})", name)]


def _validate(
    resolved: Resolved, x: str, y: str, steps: int, range_: float, views: Iterable[str]
) -> tuple[str, str, tuple[str, ...]]:
    bases = base_assets(resolved)
    ax, problems = _check_asset(x, "--x", bases)
    ay, more = _check_asset(y, "--y", bases)
    problems += more
    if ax is not None and ax == ay:
        problems.append(Problem("--y", "must differ from --x", y))
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not MIN_STEPS <= steps <= MAX_STEPS:
        problems.append(Problem("--steps", f"must be an integer from {MIN_STEPS} to {MAX_STEPS}", steps))
    if (
        isinstance(range_, bool)
        or not isinstance(range_, (int, float))
        or not np.isfinite(range_)
        or not 0.0 < range_ <= MAX_RANGE
    ):
        problems.append(Problem("--range", f"must be a fraction in (0, {MAX_RANGE}] (moves stay above -100%)", range_))
    views = tuple(views)
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        problems.append(Problem("views", f"must be one or more of {', '.join(VIEWS)}", list(views)))
    if problems:
        raise PortfolioError(problems)
    assert ax is not None and ay is not None
    return ax, ay, views


def frontier(
    resolved: Resolved, x: str, y: str, steps: int = 201, range_: float = 0.5, views: Iterable[str] = VIEWS
) -> FrontierResult:
    """Liquidation state of every view over the grid of joint moves of base assets ``x`` and ``y``.

    ``moves_x = moves_y = linspace(−range_, +range_, steps)``; a move multiplies the mark of every
    symbol whose base is the asset (format §4 ``--shock BTC=…``); other marks and the collateral are
    held. The trigger is equation (E) of ``margin-models.md`` §0.1, evaluated as format §2 defines it.
    Raises :class:`PortfolioError` for an asset that is not the base of a position, ``x == y``,
    ``steps`` outside [3, 1001] or ``range_`` outside (0, 0.99].
    """
    ax, ay, views = _validate(resolved, x, y, steps, range_, views)
    moves = np.linspace(-float(range_), float(range_), int(steps))
    if resolved.option_legs:  # options (format §6.3): the engine at every cell
        engine = {view: engine_frontier_view(compile_book(resolved, view), moves, moves, ax, ay) for view in views}
        return FrontierResult(x=ax, y=ay, moves_x=moves, moves_y=moves.copy(), modes=engine)
    bases = np.array([leg.instrument.base for leg in resolved.legs], dtype=object)
    in_x = np.flatnonzero(bases == ax)
    in_y = np.flatnonzero(bases == ay)
    rest = np.flatnonzero((bases != ax) & (bases != ay))
    factor = 1.0 + moves
    modes: dict[str, FrontierView] = {}
    for view in views:
        book = compile_book(resolved, view)
        modes[view] = _frontier_view(book, moves, moves, in_x, in_y, rest, factor)
    return FrontierResult(x=ax, y=ay, moves_x=moves, moves_y=moves.copy(), modes=modes)


def engine_frontier_view(book: Book, moves_x: FloatArray, moves_y: FloatArray, x: str, y: str) -> FrontierView:
    """:class:`FrontierView` of ``book`` from :func:`margin.engine.evaluate` at every cell (the path for books
    with options; any book gives the closed form's numbers to rounding): every column whose base is ``x``
    (futures marks and option forwards, format §6.3) × (1 + x move), likewise ``y``, other marks and the
    collateral held. Memory: two (ny, nx, G) arrays; the evaluation runs in blocks of :func:`engine_rows`."""
    bases = np.array(column_bases(book), dtype=object)
    col_x, col_y = bases == x, bases == y
    equity, maintenance = _engine_grid(book, moves_x, moves_y, col_x, col_y)
    has_positions = book.pool_held
    liquidated = np.any(has_positions & (equity <= maintenance), axis=2)
    ratio = np.where(has_positions, _ratio(equity, maintenance), -np.inf)
    worst = ratio.max(axis=2) if book.n_pools else np.full(liquidated.shape, -np.inf)
    ev0 = evaluate(book)
    e0, m0 = ev0.pool_equity[0], ev0.pool_maintenance[0]
    ev_x = evaluate(book, book.marks * np.where(col_x[None, :], 1.0 + moves_x[:, None], 1.0))
    ev_y = evaluate(book, book.marks * np.where(col_y[None, :], 1.0 + moves_y[:, None], 1.0))
    return FrontierView(
        view=book.view,
        book=book,
        moves_x=moves_x,
        moves_y=moves_y,
        has_positions=has_positions,
        base_equity=e0,
        base_maintenance=m0,
        equity_x=ev_x.pool_equity - e0,
        maintenance_x=ev_x.pool_maintenance - m0,
        equity_y=ev_y.pool_equity - e0,
        maintenance_y=ev_y.pool_maintenance - m0,
        liquidated=liquidated,
        margin_ratio=worst,
        grid_equity=equity,
        grid_maintenance=maintenance,
    )


def _frontier_view(
    book: Book,
    moves_x: FloatArray,
    moves_y: FloatArray,
    in_x: IntArray,
    in_y: IntArray,
    rest: IntArray,
    factor: FloatArray,
) -> FrontierView:
    n_g = book.n_pools
    pool = book.pool
    has_positions = np.bincount(pool, minlength=n_g) > 0
    upnl_r, mm_r = position_values(book, rest, 1.0)
    base_equity = book.pool_wallet + group_sum(upnl_r[None, :], pool[rest], n_g)[0]
    base_mm = group_sum(mm_r[None, :], pool[rest], n_g)[0]
    upnl_x, mm_x = position_values(book, in_x, factor[:, None])
    upnl_y, mm_y = position_values(book, in_y, factor[:, None])
    eq_x, m_x = group_sum(upnl_x, pool[in_x], n_g), group_sum(mm_x, pool[in_x], n_g)
    eq_y, m_y = group_sum(upnl_y, pool[in_y], n_g), group_sum(mm_y, pool[in_y], n_g)
    has_x = np.bincount(pool[in_x], minlength=n_g) > 0
    has_y = np.bincount(pool[in_y], minlength=n_g) > 0
    nx, ny = moves_x.size, moves_y.size
    liquidated = np.zeros((ny, nx), dtype=bool)
    worst = np.full((ny, nx), -np.inf)
    # pools in neither asset: constant over the grid
    c = has_positions & ~has_x & ~has_y
    if c.any():
        liquidated |= bool(np.any(base_equity[c] <= base_mm[c]))
        worst = np.maximum(worst, float(_ratio(base_equity[c], base_mm[c]).max()))
    # pools in x only (every isolated x position): vary along x
    cx = has_x & ~has_y
    if cx.any():
        e, m = base_equity[cx] + eq_x[:, cx], base_mm[cx] + m_x[:, cx]
        liquidated |= np.any(e <= m, axis=1)[None, :]
        worst = np.maximum(worst, _ratio(e, m).max(axis=1)[None, :])
    cy = has_y & ~has_x
    if cy.any():
        # same order of additions as pool_equity: (base + x part, here 0) + y part
        e, m = (base_equity[cy] + 0.0) + eq_y[:, cy], (base_mm[cy] + 0.0) + m_y[:, cy]
        liquidated |= np.any(e <= m, axis=1)[:, None]
        worst = np.maximum(worst, _ratio(e, m).max(axis=1)[:, None])
    # pools holding both: the full grid, for these few pools only
    cb = has_x & has_y
    if cb.any():
        e3 = (base_equity[cb] + eq_x[:, cb])[None, :, :] + eq_y[:, None, cb]
        m3 = (base_mm[cb] + m_x[:, cb])[None, :, :] + m_y[:, None, cb]
        liquidated |= np.any(e3 <= m3, axis=2)
        worst = np.maximum(worst, _ratio(e3, m3).max(axis=2))
    return FrontierView(
        view=book.view,
        book=book,
        moves_x=moves_x,
        moves_y=moves_y,
        has_positions=has_positions,
        base_equity=base_equity,
        base_maintenance=base_mm,
        equity_x=eq_x,
        maintenance_x=m_x,
        equity_y=eq_y,
        maintenance_y=m_y,
        liquidated=liquidated,
        margin_ratio=worst,
    )


# --------------------------------------------------------------------------- smallest moves


def _search_grids() -> tuple[FloatArray, FloatArray]:
    """Moves ordered outward from 0: down to −(1 − 1e-12), up to +1000 %."""
    down = np.concatenate([-np.linspace(0.0, 0.999, 2001)[1:], -(1.0 - np.geomspace(1e-3, 1e-12, 200)[1:])])
    up = np.linspace(0.0, UP_LIMIT, 4001)[1:]
    return down, up


def _smallest(
    book: Book,
    key: IntArray,
    n_keys: int,
    grid: FloatArray,
    change: FloatArray,
    net0: FloatArray,
    start_net: FloatArray,
) -> FloatArray:
    """For each key (a group of positions moving together): the move nearest 0 along ``grid`` (ordered
    outward from 0) at which ``start_net[key] + Σ_group Δ(upnl − mm) ≤ 0``, refined by bisection; NaN
    where none on the grid; 0 where already ≤ 0. ``change``: (S, P) ``upnl − mm − net0`` of every
    position along the grid."""
    delta = group_sum(change, key, n_keys)  # (S, K)
    net = start_net + delta
    liq = net <= 0
    hit = liq.any(axis=0)
    first = np.argmax(liq, axis=0)
    out = np.full(n_keys, np.nan)
    out[start_net <= 0] = 0.0
    todo = np.flatnonzero(hit & (start_net > 0))
    if todo.size == 0:
        return out
    b = grid[first[todo]]
    a = np.where(first[todo] > 0, grid[np.maximum(first[todo] - 1, 0)], 0.0)
    # entries: every position of each key to refine
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_keys)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cnt = counts[todo]
    item = np.repeat(np.arange(todo.size), cnt)
    offset = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pos = order[np.repeat(starts[todo], cnt) + offset]
    base = start_net[todo]
    for _ in range(200):
        mid = 0.5 * (a + b)
        active = (mid != a) & (mid != b)
        if not active.any():
            break
        u, m = position_values(book, pos, 1.0 + mid[item])
        net_mid = base + np.bincount(item, weights=u - m - net0[pos], minlength=todo.size)
        now = active & (net_mid <= 0)
        b = np.where(now, mid, b)
        a = np.where(active & ~now, mid, a)
    out[todo] = b
    return out


def _pair(down: float, up: float) -> dict[str, float | None]:
    return {"down": None if np.isnan(down) else float(down), "up": None if np.isnan(up) else float(up)}


def smallest_moves(resolved: Resolved, view: str = "as_is") -> dict[str, Any]:
    """The smallest market moves that liquidate each pool and position of ``view`` (JSON-ready).

    Per pool with positions: the uniform move ``m`` (every mark × (1 + m)) nearest 0 that meets the
    trigger of ``margin-models.md`` §0.1 eq. (E), downwards (m < 0) and upwards (m > 0), and the same
    for a move of each single base asset held in the pool (every symbol of that base × (1 + m), all
    other marks held). A position is liquidated when its pool is, so it carries its pool's moves
    (``own_asset``: the move of its own base). ``None`` where no move in [−(1 − 1e-12), 0) or
    (0, +10] does (1000 %); 0 where the pool is already at or past its trigger. The moves are
    bracketed on a grid (steps of 0.05 % down, 0.25 % up, geometric near −100 %) and refined by
    bisection to floating-point resolution; a liquidated window narrower than a grid step between 0
    and the first bracket can be missed. The returned move is on the liquidated side of the root.
    Top level ``uniform`` and ``assets``: the move that liquidates the first pool of the view.

    With options (format §6.3: an option's forward moves with its base, its value counts in its pool's
    equity and its standard margin in the maintenance) the trigger is :func:`margin.engine.evaluate`'s
    along the same grids (:func:`engine_first_moves`); option positions are listed with the futures, in
    the file's order.
    """
    if view not in VIEWS:
        raise PortfolioError([Problem("view", f"must be one of {', '.join(VIEWS)}", view)])
    if resolved.option_legs:
        return engine_smallest_moves(resolved, view)
    book = compile_book(resolved, view)
    n_g, n_p = book.n_pools, book.n_positions
    assets = base_assets(resolved)
    n_a = max(len(assets), 1)
    asset_of = np.array([assets.index(leg.instrument.base) for leg in resolved.legs], dtype=np.intp)
    all_pos = np.arange(n_p)
    upnl0, mm0 = position_values(book, all_pos, 1.0)
    net0 = upnl0 - mm0
    pool_net = book.pool_wallet + np.bincount(book.pool, weights=net0, minlength=n_g)
    down_grid, up_grid = _search_grids()
    pair_key = book.pool * n_a + asset_of
    pair_start = np.repeat(pool_net, n_a)
    res: dict[str, FloatArray] = {}
    for name, grid in (("down", down_grid), ("up", up_grid)):
        if n_p == 0:
            res[f"u_{name}"] = np.full(n_g, np.nan)
            res[f"a_{name}"] = np.full(n_g * n_a, np.nan)
            continue
        upnl, mm = position_values(book, all_pos, 1.0 + grid[:, None])
        change = upnl - mm - net0
        del upnl, mm
        res[f"u_{name}"] = _smallest(book, book.pool, n_g, grid, change, net0, pool_net)
        res[f"a_{name}"] = _smallest(book, pair_key, n_g * n_a, grid, change, net0, pair_start)
    counts = np.bincount(pair_key, minlength=n_g * n_a).reshape(n_g, n_a) if n_p else np.zeros((n_g, n_a), int)
    members = [(book.ids[i], int(book.pool[i]), int(asset_of[i])) for i in range(n_p)]
    return _moves_document(book, assets, res, counts, np.bincount(book.pool, minlength=n_g) > 0, pool_net <= 0, members)


def engine_smallest_moves(resolved: Resolved, view: str = "as_is") -> dict[str, Any]:
    """:func:`smallest_moves` by :func:`margin.engine.evaluate` (the path for books with options; on a
    futures book it gives the closed form's moves to rounding): the uniform move moves every column, a
    single asset's move every column of that base (futures marks and option forwards, format §6.3)."""
    if view not in VIEWS:
        raise PortfolioError([Problem("view", f"must be one of {', '.join(VIEWS)}", view)])
    book = compile_book(resolved, view)
    n_g = book.n_pools
    assets = base_assets(resolved)
    n_a = max(len(assets), 1)
    bases = column_bases(book)
    exposure = np.ones((1 + len(assets), len(book.symbols)))
    for k, asset in enumerate(assets):
        exposure[1 + k] = [1.0 if b == asset else 0.0 for b in bases]
    # every position (futures, then options) with its input index, pool and asset
    legs = [
        (leg.index, book.ids[i], int(book.pool[i]), assets.index(leg.instrument.base))
        for i, leg in enumerate(resolved.legs)
    ]
    opt = book.options
    if opt is not None:
        legs += [
            (leg.index, leg.label, int(opt.pool[j]), assets.index(leg.option.base))
            for j, leg in enumerate(resolved.option_legs)
        ]
    members = [(label, g, k) for _, label, g, k in sorted(legs)]
    counts = np.zeros((n_g, n_a), dtype=np.intp)
    for _, g, k in members:
        counts[g, k] += 1
    res: dict[str, FloatArray] = {}
    for name, grid in zip(("down", "up"), _search_grids(), strict=True):
        moves = engine_first_moves(book, exposure, grid)
        res[f"u_{name}"] = moves[0]
        res[f"a_{name}"] = moves[1:].T.reshape(-1) if assets else np.full(n_g, np.nan)
    now = evaluate(book).pool_liquidated[0]
    return _moves_document(book, assets, res, counts, book.pool_held, now, members)


def _moves_document(
    book: Book,
    assets: tuple[str, ...],
    res: dict[str, FloatArray],
    counts: npt.NDArray[np.int_] | npt.NDArray[np.intp],
    has: BoolArray,
    now: BoolArray,
    members: Sequence[tuple[str, int, int]],
) -> dict[str, Any]:
    """The JSON document of :func:`smallest_moves` from each pool's moves: ``res`` (``u_down``, ``u_up`` (G,),
    ``a_down``, ``a_up`` (G × n_assets,)), ``counts`` (G, n_assets) positions per pool and asset, ``has``
    the pools holding positions, ``now`` those liquidated at the current marks, ``members`` every position
    as (id, pool, asset index) in order."""
    n_g = book.n_pools
    n_a = max(len(assets), 1)
    a_down = res["a_down"].reshape(n_g, n_a)
    a_up = res["a_up"].reshape(n_g, n_a)
    # pools in an asset: only assets they hold can move them
    pools_out: list[dict[str, Any]] = []
    pool_entry: dict[int, dict[str, Any]] = {}
    for g in np.flatnonzero(has).tolist():
        held = [k for k in range(len(assets)) if counts[g, k] > 0]
        entry: dict[str, Any] = {
            "pool": g,
            "settle": book.pool_settle[g],
            "mode": book.pool_mode[g],
            "positions": [label for label, pool, _ in members if pool == g],
            "liquidated_now": bool(now[g]),
            "uniform": _pair(res["u_down"][g], res["u_up"][g]),
            "assets": {assets[k]: _pair(a_down[g, k], a_up[g, k]) for k in held},
        }
        pools_out.append(entry)
        pool_entry[g] = entry
    positions_out = []
    for label, pool, k in members:
        own = pool_entry[pool]
        asset = assets[k]
        positions_out.append(
            {
                "id": label,
                "pool": own["pool"],
                "asset": asset,
                "uniform": own["uniform"],
                "own_asset": own["assets"][asset],
                "assets": own["assets"],
            }
        )

    def nearest(values: FloatArray, sign: float) -> float:
        finite = values[np.isfinite(values)]
        return float(finite[np.argmin(sign * finite)]) if finite.size else np.nan

    top_assets = {}
    for k, asset in enumerate(assets):
        in_pool = has & (counts[:, k] > 0)
        top_assets[asset] = _pair(nearest(a_down[in_pool, k], -1.0), nearest(a_up[in_pool, k], 1.0))
    return {
        "view": book.view,
        "search": {"down": DOWN_LIMIT, "up": UP_LIMIT},
        "uniform": _pair(nearest(res["u_down"][has], -1.0), nearest(res["u_up"][has], 1.0)),
        "assets": top_assets,
        "pools": pools_out,
        "positions": positions_out,
    }
