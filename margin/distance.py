"""How far the account is from being lost: the market moves that liquidate its first pool and all of them.

A **market move** ``m`` is the move of the market asset (BTC): every base asset moves ``β × m``, its
β against BTC (the single-index model of :mod:`margin.scenarios`; β = 1 for every asset is the uniform
move "every price moves alike" of :mod:`margin.sweep` and :func:`margin.frontier.smallest_moves`).
Every mark of a symbol is multiplied by ``1 + β × m``; the collateral is held.

For each view (``as_is``, ``cross``, ``isolated``; ``portfolio-format.md`` §2) and each pool holding
positions, the move nearest 0 that meets the trigger of ``margin-models.md`` §0.1 eq. (E) — the pool's
equity ``wallet + Σ UPNL`` at or below its maintenance (format §2, every position re-priced with the
tier of its moved notional, §0.1) — falling (``m < 0``) and rising (``m > 0``). From those:

- **first pool**: the nearest of the pools' moves, on each side (the first liquidation the account sees);
- **whole account**: the farthest of them, on each side, when every pool with positions has one (a
  liquidated pool is closed, so the account is gone once the last pool has met its trigger); ``None``
  with the pools that survive every move on that side otherwise.

Search: the moves that keep every asset's price above zero, ``1 + β × m > 0`` (``m`` above
``−1/β_max`` falling, below ``1/|β_min|`` rising when a β is negative) and BTC's own move above −100 %,
up to +1000 % rising (:data:`margin.frontier.UP_LIMIT`). Each pool's move is bracketed on a grid of
moves (the grid of :func:`margin.frontier.smallest_moves`, scaled by ``1/β_max`` so the asset that moves
most steps as a uniform move does) and refined by bisection of every bracket at once to floating-point
resolution, with no loop over positions or pools; with every β = 1 the numbers are those of
``smallest_moves`` (a test holds them equal). A liquidated window narrower than a grid step between 0 and
the first bracket can be missed, as there.

With options (format §6): an option's column of the marks is its underlying's forward and moves with its base,
``1 + β × m`` with its base's β (§6.3); its value counts in its pool's equity and its standard short-option
margin in the maintenance (§6.2, §6.3). Those are Black-76 functions of the forward with no closed form here, so
the bracket scan and each bisection step are :func:`margin.engine.evaluate` itself over the same grids
(:func:`margin.frontier.engine_first_moves`); a pool holding only options is a pool with positions. Books
without options keep the closed form above, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, compile_book
from .errors import PortfolioError, Problem
from .frontier import UP_LIMIT, base_assets, column_bases, engine_first_moves, group_sum, position_values
from .portfolio import Resolved

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: closest a searched move comes to an asset's price reaching zero (the −(1 − 1e-12) of ``smallest_moves``)
ZERO_MARGIN = 1e-12
#: bisection steps (each halves every bracket; far more than float64 needs)
BISECTIONS = 200


@dataclass(frozen=True)
class PoolDistance:
    """One pool holding positions: the market moves nearest 0 that liquidate it (``None``: none found)."""

    label: str  # "USDT cross", or the isolated position's id
    settle: str
    mode: str
    positions: tuple[str, ...]
    down: float | None  # ≤ 0; 0 when the pool is at or past its trigger already
    up: float | None  # ≥ 0


@dataclass(frozen=True)
class SideDistance:
    """One side (falling or rising) of one view."""

    first: float | None  # the move that liquidates the first pool
    first_pool: str | None  # its label
    account: float | None  # the move by which every pool with positions is liquidated
    last_pool: str | None  # the pool liquidated last (the one that sets ``account``)
    survivors: tuple[str, ...]  # pools no move on this side liquidates (``account`` is then None)


@dataclass(frozen=True)
class ViewDistance:
    """The pools of one view and, per side, the first pool's and the whole account's moves."""

    view: str
    pools: tuple[PoolDistance, ...]
    down: SideDistance
    up: SideDistance


@dataclass(frozen=True)
class AccountDistance:
    """Every view's distance to liquidation under one kind of market move."""

    betas: dict[str, float]  # β of each base asset (every β 1: a uniform move)
    uniform: bool  # every β is 1
    limit_down: float  # the search interval: moves in [limit_down, 0) and (0, limit_up]
    limit_up: float
    limit_down_asset: str | None  # the asset whose price reaches zero at limit_down (None: BTC's −100 %)
    limit_up_asset: str | None  # the asset whose price reaches zero at limit_up (None: +1000 % searched)
    views: dict[str, ViewDistance]


def _limits(betas: Mapping[str, float], assets: Sequence[str]) -> tuple[float, float, str | None, str | None]:
    """The moves ``m`` keeping ``1 + β × m > 0`` for every asset, and BTC's own move above −100 %."""
    lo, hi = -(1.0 - ZERO_MARGIN), UP_LIMIT
    lo_asset: str | None = None
    hi_asset: str | None = None
    for a in assets:
        b = float(betas[a])
        if b > 1.0 and -(1.0 - ZERO_MARGIN) / b > lo:
            lo, lo_asset = -(1.0 - ZERO_MARGIN) / b, a
        if b < 0.0 and (1.0 - ZERO_MARGIN) / -b < hi:
            hi, hi_asset = (1.0 - ZERO_MARGIN) / -b, a
    return lo, hi, lo_asset, hi_asset


def _grids(lo: float, hi: float, beta_max: float) -> tuple[FloatArray, FloatArray]:
    """Moves ordered outward from 0: falling to ``lo``, rising to ``hi``.

    Falling: the grid of :func:`margin.frontier.smallest_moves` (steps of 0.05 %, then geometric towards
    −100 %) in units of the largest asset move, ``m = u / max(β_max, 1)``. Rising: steps of 0.25 % up to
    +100 %, then steps of 0.25 % of the price factor ``1 + m`` up to +1000 % (``smallest_moves`` keeps
    0.25 % steps of the move there), cut at ``hi``.
    """
    scale = max(beta_max, 1.0)
    u = np.concatenate([-np.linspace(0.0, 0.999, 2001)[1:], -(1.0 - np.geomspace(1e-3, 1e-12, 200)[1:])])
    down = u / scale
    down = down[down >= lo]
    factor = 2.0 * 1.0025 ** np.arange(1, int(np.ceil(np.log((1.0 + UP_LIMIT) / 2.0) / np.log(1.0025))) + 1)
    up = np.concatenate([np.linspace(0.0, 1.0, 401)[1:], np.minimum(factor - 1.0, UP_LIMIT)])
    up = np.unique(up[up <= hi])
    if hi < UP_LIMIT:
        up = np.append(up, hi)
    return down, up


#: most (move × position) cells the bracket scan holds at once
MAX_CELLS = 1_000_000


def _rule_key(book: Book) -> bytes:
    """What of a view changes a position's UPNL − MM (the margin model's per-view rule: maintenance
    valued at entry, a fee in the trigger); books with equal keys share the position arrays."""
    return b"|".join(np.ascontiguousarray(a).tobytes() for a in (book.at_entry, book.mm_entry, book.fee))


@dataclass(eq=False)
class _Scan:
    """One view's pools along one side's grid: the first liquidated grid index per pool (−1: none yet)."""

    book: Book
    net0: FloatArray  # (P,) UPNL − MM at the current marks
    pool_net: FloatArray  # (G,) wallet + Σ net0
    first: IntArray  # (G,)

    @property
    def pending(self) -> bool:
        held = np.bincount(self.book.pool, minlength=self.book.n_pools) > 0
        return bool(np.any(held & (self.first < 0) & (self.pool_net > 0)))


def _scan(scans: Sequence[_Scan], exposure: FloatArray, grid: FloatArray) -> None:
    """Fill every scan's ``first`` along ``grid``, outward from 0, in blocks of rows (bounded memory),
    stopping once every pool of every view has been liquidated; the position arrays of views that share
    a rule (:func:`_rule_key`) are computed once per block."""
    if not scans or grid.size == 0:
        return
    n_p = scans[0].book.n_positions
    if n_p == 0:
        return
    everyone = np.arange(n_p)
    rows = max(1, MAX_CELLS // n_p)
    by_rule: dict[bytes, list[_Scan]] = {}
    for sc in scans:
        by_rule.setdefault(_rule_key(sc.book), []).append(sc)
    for s0 in range(0, grid.size, rows):
        if not any(sc.pending for sc in scans):
            return
        block = grid[s0 : s0 + rows]
        factor = 1.0 + block[:, None] * exposure[None, :]
        for group in by_rule.values():
            book = group[0].book
            upnl, mm = position_values(book, everyone, factor)
            change = upnl - mm
            del upnl, mm
            for sc in group:
                delta = group_sum(change - sc.net0, sc.book.pool, sc.book.n_pools)
                dead = (sc.pool_net + delta) <= 0
                hit = dead.any(axis=0) & (sc.first < 0)
                sc.first[hit] = s0 + np.argmax(dead[:, hit], axis=0)


def _refine(sc: _Scan, exposure: FloatArray, grid: FloatArray) -> FloatArray:
    """Per pool: the move of its first liquidated grid point refined by bisection against the previous
    grid point (or 0) down to floating-point resolution, on the liquidated side of the root; NaN where
    no grid move liquidates it; 0 where it is at or past its trigger already."""
    book = sc.book
    n_g = book.n_pools
    out = np.full(n_g, np.nan)
    out[sc.pool_net <= 0] = 0.0
    todo = np.flatnonzero((sc.first >= 0) & (sc.pool_net > 0))
    if todo.size == 0:
        return out
    first = sc.first[todo]
    b = grid[first]
    a = np.where(first > 0, grid[np.maximum(first - 1, 0)], 0.0)
    # one entry per position of each pool to refine
    order = np.argsort(book.pool, kind="stable")
    counts = np.bincount(book.pool, minlength=n_g)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cnt = counts[todo]
    item = np.repeat(np.arange(todo.size), cnt)
    offset = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pos = order[np.repeat(starts[todo], cnt) + offset]
    base = sc.pool_net[todo]
    for _ in range(BISECTIONS):
        mid = 0.5 * (a + b)
        active = (mid != a) & (mid != b)
        if not active.any():
            break
        u, m = position_values(book, pos, 1.0 + mid[item] * exposure[pos])
        net_mid = base + np.bincount(item, weights=u - m - sc.net0[pos], minlength=todo.size)
        now = active & (net_mid <= 0)
        b = np.where(now, mid, b)
        a = np.where(active & ~now, mid, a)
    out[todo] = b
    return out


def _side(pools: Sequence[PoolDistance], moves: Sequence[float | None]) -> SideDistance:
    """First and whole-account moves on one side: the nearest and the farthest of the pools' moves."""
    found = [(abs(m), p.label, m) for p, m in zip(pools, moves, strict=True) if m is not None]
    survivors = tuple(p.label for p, m in zip(pools, moves, strict=True) if m is None)
    if not found:
        return SideDistance(None, None, None, None, survivors)
    nearest = min(found, key=lambda t: t[0])
    farthest = max(found, key=lambda t: t[0])
    if survivors:
        return SideDistance(nearest[2], nearest[1], None, None, survivors)
    return SideDistance(nearest[2], nearest[1], farthest[2], farthest[1], ())


def _opt(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _members(book: Book) -> dict[int, list[str]]:
    """The positions of each pool, futures and options (format §6.3: in the cross pool of their settle
    asset), in the file's order."""
    members: dict[int, list[str]] = {}
    opt = book.options
    if opt is None:
        for i, g in enumerate(book.pool.tolist()):
            members.setdefault(g, []).append(book.ids[i])
        return members
    resolved = book.resolved
    entries = [(leg.index, int(book.pool[i]), book.ids[i]) for i, leg in enumerate(resolved.legs)]
    entries += [(leg.index, int(opt.pool[j]), leg.label) for j, leg in enumerate(resolved.option_legs)]
    for _, g, label in sorted(entries):
        members.setdefault(g, []).append(label)
    return members


def _pools(book: Book, down: FloatArray, up: FloatArray) -> ViewDistance:
    """The view's pools holding positions with their moves, and each side's first and last pool."""
    held = book.pool_held  # a future or an option (format §6.3); without options: a future
    members = _members(book)
    pools = []
    for g in np.flatnonzero(held).tolist():
        own = book.pool_position[g]
        label = f"{book.pool_settle[g]} cross" if own is None else book.ids[own]
        pools.append(
            PoolDistance(label, book.pool_settle[g], book.pool_mode[g], tuple(members[g]), _opt(down[g]), _opt(up[g]))
        )
    return ViewDistance(
        book.view,
        tuple(pools),
        _side(pools, [p.down for p in pools]),
        _side(pools, [p.up for p in pools]),
    )


def engine_view_distance(book: Book, beta: Mapping[str, float], grids: tuple[FloatArray, FloatArray]) -> ViewDistance:
    """One view's pools and sides by :func:`margin.engine.evaluate` (the path for books with options; on a
    futures book it gives the closed form's moves to rounding): every column of the marks, futures and
    option forwards alike (format §6.3), × (1 + β × m) with the β of its base (a column of a base without a
    β, a price no position holds, is held); each pool's move bracketed along ``grids`` (falling, rising) and
    refined by bisection (:func:`margin.frontier.engine_first_moves`)."""
    exposure = np.array([[float(beta.get(b, 0.0)) if b is not None else 0.0 for b in column_bases(book)]])
    down, up = (engine_first_moves(book, exposure, grid)[0] for grid in grids)
    return _pools(book, down, up)


def account_distance(
    resolved: Resolved, betas: Mapping[str, float] | None = None, views: Sequence[str] = VIEWS
) -> AccountDistance:
    """The market moves that liquidate each view's first pool and whole account (module docstring).

    ``betas``: β of each base asset of the portfolio (case-insensitive; e.g. a
    :class:`margin.whatif.BetaChoice`'s); ``None`` is the uniform move (every β 1). Raises
    :class:`PortfolioError` for a base asset without a finite β or a view that is not one of ``VIEWS``.
    """
    bases = list(base_assets(resolved))  # futures and options (an option's forward moves with its base, §6.3)
    problems: list[Problem] = []
    bad_views = [v for v in views if v not in VIEWS]
    if bad_views:
        problems.append(Problem("views", f"must be among {', '.join(VIEWS)}", bad_views))
    given = {str(k).upper(): v for k, v in (betas or {}).items()}
    beta: dict[str, float] = {}
    for base in bases:
        value = 1.0 if betas is None else given.get(base.upper())
        if value is None or not np.isfinite(value):
            problems.append(Problem(f"beta.{base}", "must be a finite number", value))
        else:
            beta[base] = float(value)
    if problems:
        raise PortfolioError(problems)
    lo, hi, lo_asset, hi_asset = _limits(beta, bases)
    grids = _grids(lo, hi, max(beta.values(), default=1.0))
    books = [compile_book(resolved, view) for view in views]
    if resolved.option_legs:
        out = {book.view: engine_view_distance(book, beta, grids) for book in books}
        return AccountDistance(
            beta, all(b == 1.0 for b in beta.values()), float(lo), float(hi), lo_asset, hi_asset, out
        )
    exposure = np.array([beta[leg.instrument.base] for leg in resolved.legs], dtype=np.float64)
    sides: list[list[_Scan]] = []
    for grid in grids:
        scans = []
        for book in books:
            upnl0, mm0 = position_values(book, np.arange(book.n_positions), 1.0)
            net0 = upnl0 - mm0
            pool_net = book.pool_wallet + np.bincount(book.pool, weights=net0, minlength=book.n_pools)
            scans.append(_Scan(book, net0, pool_net, np.full(book.n_pools, -1, dtype=np.intp)))
        _scan(scans, exposure, grid)
        sides.append(scans)
    out = {
        book.view: _pools(book, _refine(sides[0][k], exposure, grids[0]), _refine(sides[1][k], exposure, grids[1]))
        for k, book in enumerate(books)
    }
    return AccountDistance(beta, all(b == 1.0 for b in beta.values()), float(lo), float(hi), lo_asset, hi_asset, out)
