"""Uniform market moves: pool equity, maintenance and liquidation flags for many moves at once.

Every mark is multiplied by ``r = 1 + move``. Then, per position (``margin-models.md`` §0):

- UPNL is ``s·q·P₀·r − s·q·EP`` (linear) or ``s·q/EP − (s·q/P₀)/r`` (inverse), so a pool's UPNL is
  ``α·r + β + γ/r``;
- notional is ``N₀·r`` (linear) or ``N₀/r`` (inverse), so between two tier floors the maintenance the
  book's margin model states (:mod:`margin.models`: ``N × mmr − maint_amount``, §1.1; plus
  ``N × taker_fee`` on OKX, §4; Deribit's size-dependent rate, §5.1) is a fixed combination of ``r``,
  ``1/r``, ``1/r²`` and a constant.

The tier of each position changes only where ``N`` crosses a floor, at ``r = F/N₀`` (linear) or
``r = N₀/F`` (inverse). Sorting the moves once and adding each crossing's change of coefficients at
its place (a difference array, then a cumulative sum) gives every pool's maintenance for every move
in O(S·G + P·K) work, with no loop over positions or scenarios. :func:`margin.engine.evaluate` at
the same marks gives the same numbers (a test holds them equal).

A book with options (format §6) has no such closed form: an option's value and standard margin (§6.2,
§6.3) are Black-76 functions of its forward, which is a column of the marks and moves with the rest. Its
sweep is :func:`margin.engine.evaluate` itself at ``marks × (1 + move)`` (every column, option forwards
too), in blocks of moves (:data:`ENGINE_CELLS`) so that memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import Book, evaluate

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Pool arrays (S, G) of one view along the moves, in the order the moves were given."""

    book: Book
    moves: FloatArray
    pool_equity: FloatArray
    pool_maintenance: FloatArray
    pool_liquidated: BoolArray
    #: the pools held are ``first_pool ..`` (:func:`sweep_chunks`); 0 for a whole-book sweep
    first_pool: int = 0

    @property
    def position_liquidated(self) -> BoolArray:
        if self.first_pool or self.pool_liquidated.shape[1] != self.book.n_pools:
            raise ValueError("position flags need the whole book's pools (uniform_sweep)")
        return self.pool_liquidated[:, self.book.pool]


#: most (move × pool) cells one chunk of :func:`sweep_chunks` holds (each cell costs ~17 bytes in a result)
MAX_CELLS = 20_000_000
#: books with options: most (move × column) cells one :func:`margin.engine.evaluate` call holds (columns:
#: the book's symbols, futures, options and pools)
ENGINE_CELLS = 200_000


def _checked_moves(moves: FloatArray) -> FloatArray:
    moves = np.asarray(moves, dtype=np.float64).ravel()
    if np.any(~np.isfinite(moves)) or np.any(moves <= -1.0):
        raise ValueError("every move must be finite and above -100%")
    return moves


def _engine_block(book: Book, moves: FloatArray, g0: int, g1: int) -> SweepResult:
    """Pools ``g0 .. g1 − 1`` of :func:`margin.engine.evaluate` at ``marks × (1 + move)`` for every move (every
    column, option forwards too: format §6.3), in blocks of moves whose bounds do not depend on ``g0, g1``
    (so that a sweep in blocks of pools equals the whole sweep bit for bit)."""
    moves = _checked_moves(moves)
    n_s = moves.size
    width = len(book.symbols) + book.n_positions + len(book.options or ()) + book.n_pools
    rows = max(1, ENGINE_CELLS // max(width, 1))
    equity = np.empty((n_s, g1 - g0))
    maintenance = np.empty((n_s, g1 - g0))
    liquidated = np.empty((n_s, g1 - g0), dtype=bool)
    for s0 in range(0, n_s, rows):
        s1 = min(n_s, s0 + rows)
        ev = evaluate(book, book.marks[None, :] * (1.0 + moves[s0:s1, None]))
        equity[s0:s1] = ev.pool_equity[:, g0:g1]
        maintenance[s0:s1] = ev.pool_maintenance[:, g0:g1]
        liquidated[s0:s1] = ev.pool_liquidated[:, g0:g1]
    return SweepResult(
        book=book,
        moves=moves,
        pool_equity=equity,
        pool_maintenance=maintenance,
        pool_liquidated=liquidated,
        first_pool=g0,
    )


@dataclass(frozen=True, eq=False)
class _Prepared:
    """What a sweep needs, in O(G + P·K) memory: the sorted moves, each pool's UPNL terms, each pool's
    maintenance coefficients at the smallest move, and every tier crossing (its move index, pool, deltas)."""

    book: Book
    moves: FloatArray
    r: FloatArray  # 1 + move, ascending
    order: npt.NDArray[np.intp]
    alpha: FloatArray  # (G,)
    beta: FloatArray
    gamma: FloatArray
    start: tuple[FloatArray, ...]  # (G,) each: coefficients of r, 1/r, 1/r², 1
    s_at: npt.NDArray[np.intp]  # (C,) crossings sorted by pool
    g_at: npt.NDArray[np.intp]
    delta: tuple[FloatArray, ...]  # (C,) each
    used: tuple[bool, ...]  # the coefficient groups that are not all zero
    has_positions: BoolArray


def _prepare(book: Book, moves: FloatArray) -> _Prepared:
    moves = _checked_moves(moves)
    n_s, n_g = moves.size, book.n_pools
    r_given = 1.0 + moves
    order = np.argsort(r_given, kind="stable")
    r = r_given[order]
    ev0 = evaluate(book)
    pools = book.pool
    inv = book.inverse
    lin = ~inv
    sq = book.sign * book.size
    mark0 = ev0.mark[0]
    n0 = ev0.notional[0]

    # UPNL: α·r + β + γ/r per pool
    alpha = np.bincount(pools, weights=np.where(lin, sq * mark0, 0.0), minlength=n_g).astype(np.float64)
    beta = np.bincount(pools, weights=np.where(lin, -sq * book.entry, sq / book.entry), minlength=n_g).astype(
        np.float64
    )
    gamma = np.bincount(pools, weights=np.where(inv, -sq / mark0, 0.0), minlength=n_g).astype(np.float64)

    # maintenance: per-position coefficients at the tier of the smallest move, then changes at crossings
    tiers = book.tiers
    width = tiers.width
    sym = book.sym
    model = book.model
    everyone = np.arange(book.n_positions)
    n_start = np.where(inv, n0 / r[0], n0 * r[0]) if n_s else n0
    k0 = tiers.index(sym, n_start)

    def tier_terms(p: npt.NDArray[np.intp], k: npt.NDArray[np.intp]) -> tuple[FloatArray, ...]:
        """Coefficients of r, 1/r, 1/r² and the constant of positions ``p`` at tiers ``k``, from the
        model's ``MM(N) = constant + (rate + fee)·N + per_size·N·coin`` (:mod:`margin.models.base`):
        linear ``N0·r·(rate + per_size·q)``, inverse ``N0/r·rate + per_size·N0²/r²`` (the fee term, the
        same on every tier, is added once)."""
        t = model.terms(book, p, k)
        lp = lin[p]
        n = n0[p]
        return (
            np.where(lp, n * (t.rate + t.per_size * book.size[p]), 0.0),
            np.where(lp, 0.0, n * t.rate),
            np.where(lp, 0.0, t.per_size * n * n),
            t.constant,
        )

    # at the smallest move (positions whose maintenance the model values at entry have constant terms)
    base = tier_terms(everyone, k0)
    fee = model.terms(book, everyone, k0).fee
    fee_r = np.where(lin, fee * n0, 0.0)
    fee_ir = np.where(inv, fee * n0, 0.0)
    # crossings: tier k (1..K-1) of each position, where the model's terms change
    k_all = np.arange(1, width)[None, :]  # (1, K-1)
    floors = model.floors(book, everyone)  # (P, K-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        threshold = np.where(inv[:, None], n0[:, None] / floors, floors / n0[:, None])
    # linear: tiers above k0 are entered as r rises; inverse: tiers at or below k0 are left as r rises
    entering = lin[:, None] & (k_all > k0[:, None])
    leaving = inv[:, None] & (k_all <= k0[:, None])
    crossing = (entering | leaving) & np.isfinite(floors)
    pos_idx, col = np.nonzero(crossing)
    k_new = np.where(lin[pos_idx], col + 1, col)  # tier after the crossing
    k_old = np.where(lin[pos_idx], col, col + 1)
    s_at = np.where(
        lin[pos_idx],
        np.searchsorted(r, threshold[pos_idx, col], side="left"),
        np.searchsorted(r, threshold[pos_idx, col], side="right"),
    )
    keep = s_at < n_s
    pos_idx, k_new, k_old, s_at = pos_idx[keep], k_new[keep], k_old[keep], s_at[keep]
    new_terms = tier_terms(pos_idx, k_new)
    old_terms = tier_terms(pos_idx, k_old)
    starts = (base[0] + fee_r, base[1] + fee_ir, base[2], base[3])
    deltas = tuple(new_terms[j] - old_terms[j] for j in range(4))
    g_at = pools[pos_idx]
    by_pool = np.argsort(g_at, kind="stable")
    return _Prepared(
        book=book,
        moves=moves,
        r=r,
        order=order,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        start=tuple(np.bincount(pools, weights=st, minlength=n_g).astype(np.float64) for st in starts),
        s_at=s_at[by_pool],
        g_at=g_at[by_pool],
        delta=tuple(d[by_pool] for d in deltas),
        used=tuple(bool(starts[j].any() or deltas[j].any()) for j in range(4)),
        has_positions=np.bincount(pools, minlength=n_g) > 0,
    )


def _pool_block(prep: _Prepared, g0: int, g1: int) -> SweepResult:
    """Pools ``g0 .. g1 − 1`` along every move (arrays (S, g1 − g0), in the moves' given order)."""
    r, n_s = prep.r, prep.r.size
    book = prep.book
    equity_t = np.outer(prep.alpha[g0:g1], r)  # (G, S)
    equity_t += (book.pool_wallet[g0:g1] + prep.beta[g0:g1])[:, None]
    if book.inverse.any():
        equity_t += np.outer(prep.gamma[g0:g1], 1.0 / r)
    equity = equity_t.T
    lo, hi = np.searchsorted(prep.g_at, [g0, g1])
    factors = (r, 1.0 / r, 1.0 / (r * r), None)
    maintenance_t: FloatArray | None = None  # (G, S): pools in rows, moves contiguous
    for j, factor in enumerate(factors):
        if not prep.used[j]:
            continue
        coef = _piecewise(prep.start[j][g0:g1], prep.s_at[lo:hi], prep.g_at[lo:hi] - g0, prep.delta[j][lo:hi], n_s)
        if factor is not None:
            coef *= factor  # a fresh array: scaled in place
        if maintenance_t is None:
            maintenance_t = coef
        else:
            maintenance_t += coef
    if maintenance_t is None:
        maintenance_t = np.zeros((g1 - g0, n_s))
    maintenance = maintenance_t.T
    liquidated_t = equity_t <= maintenance_t  # in the (G, S) layout both are contiguous in
    liquidated_t &= prep.has_positions[g0:g1, None]
    liquidated = liquidated_t.T
    order = prep.order
    if not np.array_equal(order, np.arange(n_s)):
        back = np.empty_like(order)
        back[order] = np.arange(n_s)
        equity, maintenance, liquidated = equity[back], maintenance[back], liquidated[back]
    return SweepResult(
        book=book,
        moves=prep.moves,
        pool_equity=equity,
        pool_maintenance=maintenance,
        pool_liquidated=liquidated,
        first_pool=g0,
    )


def uniform_sweep(book: Book, moves: FloatArray) -> SweepResult:
    """Evaluate ``book`` with every mark moved by each of ``moves`` (fractions, each > −1): every pool.

    The result holds (S, G) arrays; for a large book use :func:`sweep_chunks` or :func:`sweep_summary`,
    whose memory stays bounded. A book with options is evaluated by the engine (module docstring).
    """
    if book.options is not None:
        return _engine_block(book, moves, 0, book.n_pools)
    return _pool_block(_prepare(book, moves), 0, book.n_pools)


def sweep_chunks(book: Book, moves: FloatArray, max_cells: int = MAX_CELLS) -> Iterator[SweepResult]:
    """The sweep of :func:`uniform_sweep`, one block of pools at a time (``first_pool`` says which), each
    block at most ``max_cells`` (move × pool) cells: the same numbers in bounded memory. A book with options
    is evaluated by the engine (module docstring), every block over every move."""
    if book.options is not None:
        checked = _checked_moves(moves)
        step = max(1, max_cells // max(checked.size, 1))
        for g0 in range(0, book.n_pools, step):
            yield _engine_block(book, checked, g0, min(book.n_pools, g0 + step))
        return
    prep = _prepare(book, moves)
    step = max(1, max_cells // max(prep.r.size, 1))
    for g0 in range(0, book.n_pools, step):
        yield _pool_block(prep, g0, min(book.n_pools, g0 + step))


@dataclass(frozen=True, eq=False)
class SweepSummary:
    """Account-level figures along the moves (S,) and each pool's first liquidating move (G,)."""

    moves: FloatArray
    equity: FloatArray  # Σ pool equity (settle units summed as given: one settle asset per book is typical)
    maintenance: FloatArray
    pools_liquidated: npt.NDArray[np.intp]
    positions_liquidated: npt.NDArray[np.intp]  # futures and options in liquidated pools
    #: per pool, the move nearest 0 at which it is liquidated, down (≤ 0) and up (≥ 0); NaN where none
    pool_first_down: FloatArray
    pool_first_up: FloatArray


def sweep_summary(book: Book, moves: FloatArray, max_cells: int = MAX_CELLS) -> SweepSummary:
    """Stream :func:`sweep_chunks` into per-move totals and per-pool first liquidating moves: O(S + G) memory."""
    moves = np.asarray(moves, dtype=np.float64).ravel()
    n_s, n_g = moves.size, book.n_pools
    equity, maintenance = np.zeros(n_s), np.zeros(n_s)
    pools_liq = np.zeros(n_s, dtype=np.intp)
    positions_liq = np.zeros(n_s, dtype=np.intp)
    count = np.bincount(book.pool, minlength=n_g)
    if book.options is not None:  # option positions sit in their settle asset's cross pool (format §6.3)
        count = count + np.bincount(book.options.pool, minlength=n_g)
    down, up = np.full(n_g, np.nan), np.full(n_g, np.nan)
    for block in sweep_chunks(book, moves, max_cells):
        g0 = block.first_pool
        g1 = g0 + block.pool_equity.shape[1]
        equity += block.pool_equity.sum(axis=1)
        maintenance += block.pool_maintenance.sum(axis=1)
        liq = block.pool_liquidated
        pools_liq += liq.sum(axis=1)
        positions_liq += liq @ count[g0:g1]
        for side, out, pick in ((moves <= 0, down, np.max), (moves >= 0, up, np.min)):
            hit = liq & side[:, None]
            vals = np.where(hit, moves[:, None], np.nan)
            any_hit = hit.any(axis=0)
            with np.errstate(all="ignore"):
                reduced = pick(np.where(hit, vals, -np.inf if pick is np.max else np.inf), axis=0)
            out[g0:g1] = np.where(any_hit, reduced, np.nan)
    return SweepSummary(moves, equity, maintenance, pools_liq, positions_liq, down, up)


#: rows of :func:`_piecewise` with more events than this are summed one row at a time
_RANK_LOOP = 64


def _piecewise(
    start: FloatArray, s_at: npt.NDArray[np.intp], g_at: npt.NDArray[np.intp], delta: FloatArray, n_s: int
) -> FloatArray:
    """(G, S) array: row g is ``start[g]`` plus every ``delta`` of row g from its index ``s_at`` on.

    A difference array summed segment by segment: the few changes of each row are accumulated on their
    own and each segment's value is repeated over its length, so the work is one write of the output, not
    a cumulative sum over it. Each row is summed from its own start only (rank by rank for rows with few
    changes, by a cumulative sum of that row alone for the few rows with many), so a row's numbers never
    carry the rounding of the rows before it and a sweep in blocks of pools equals the whole sweep bit for bit.
    """
    n_g = start.size
    ev_g = np.concatenate([np.arange(n_g), g_at])
    ev_s = np.concatenate([np.zeros(n_g, dtype=np.intp), s_at])
    ev_v = np.concatenate([start, delta])
    order = np.lexsort((ev_s, ev_g))
    ev_g, ev_s, ev_v = ev_g[order], ev_s[order], ev_v[order]
    counts = np.bincount(ev_g, minlength=n_g)
    row_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(ev_g.size) - row_start[ev_g]
    values = ev_v.copy()
    big = counts > _RANK_LOOP
    small = ~big[ev_g]
    by_rank = np.argsort(np.where(small, rank, -1), kind="stable")
    ranks_sorted = np.where(small, rank, -1)[by_rank]
    bounds = np.searchsorted(ranks_sorted, np.arange(1, min(_RANK_LOOP, int(counts.max(initial=1))) + 1))
    for k in range(len(bounds) - 1):
        at = by_rank[bounds[k] : bounds[k + 1]]  # the events of rank k + 1 of the small rows
        values[at] += values[at - 1]
    for g in np.flatnonzero(big):
        seg = slice(int(row_start[g]), int(row_start[g] + counts[g]))
        values[seg] = np.cumsum(ev_v[seg])
    nxt = np.append(ev_s[1:], n_s)
    last = np.append(ev_g[1:] != ev_g[:-1], True)
    lengths = np.where(last, n_s - ev_s, nxt - ev_s)
    return np.repeat(values, lengths).reshape(n_g, n_s)
