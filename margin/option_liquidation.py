"""Liquidation and bankruptcy prices in pools that hold options (format §6.3), by vectorised root finding.

In a pool holding an option on base B, every instrument of B in that pool (futures marks and option
forwards) moves by the same relative move ``x``, all else held; the pool meets its trigger where
``g(x) = equity(x) − maintenance(x) = 0`` (bankruptcy: ``equity(x) = 0``). An options book can lose both
ways, so the crossing nearest to the current price on either side is reported: the first sign change of
``g`` scanning outwards from ``x = 0`` on a grid, refined by repeated 16-section of the bracket until it is
narrower than ``RTOL`` of the price factor. Each position on B in the pool takes its own price at that move:
``P × (1 + x)`` (an option: its underlying price ``F × (1 + x)``). The tiered closed form of
:mod:`margin.engine` keeps every other pool and base (§2), bit for bit.

Only the instruments that move are revalued: ``g(x) = g(0) − m(0) + m(x)`` with ``m`` the moving positions'
terms (:func:`margin.engine.futures_terms`, :func:`margin.option_legs.option_terms_at`, the engine's own
arithmetic), vectorised over scenarios × grid × those positions; the loop is over the (pool, base) pairs with
an option, a handful per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .instruments import symbol_base
from .option_legs import option_terms_at

if TYPE_CHECKING:
    from .engine import Book, Evaluation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: the scan: moves of B from 0 down to −99.9 % and up to +1,000 %, with steps growing geometrically from
#: 0.01 % so that a crossing near the current price is found as finely as one far from it
DOWN_END = -0.999
UP_END = 10.0
SCAN_STEPS = 600
FIRST_STEP = 1e-4
#: refinement: each round splits the bracket in ``SECTIONS`` and keeps the first part that crosses, until the
#: bracket is narrower than ``RTOL`` of the price factor ``1 + x`` (well inside the 1e-9 the issue asks for)
SECTIONS = 16
RTOL = 1e-13
MAX_ROUNDS = 20
#: scenario rows × moves × moving positions evaluated at once
_CHUNK = 1 << 22


def scan_moves(end: float, steps: int = SCAN_STEPS, first: float = FIRST_STEP) -> FloatArray:
    """``steps`` moves from 0 (excluded) to ``end`` (included), geometrically spaced from ``first``."""
    grid = np.geomspace(first, abs(end), steps)
    return np.asarray(np.sign(end) * grid, dtype=np.float64)


@dataclass(frozen=True)
class _Group:
    """One (pool, base) pair with an option: its moving futures and options."""

    pool: int
    base: str
    futures: IntArray
    options: IntArray


def _groups(book: Book) -> list[_Group]:
    opt = book.options
    assert opt is not None
    sym_base = [symbol_base(s) for s in book.symbols]
    pos_base = np.array([sym_base[j] for j in book.sym.tolist()], dtype=object)
    opt_base = np.array(opt.arrays.bases(), dtype=object)
    pairs = dict.fromkeys(zip(opt.pool.tolist(), opt_base.tolist(), strict=True))
    out = []
    for g, b in pairs:  # a handful of (pool, base) pairs
        fut = np.flatnonzero((book.pool == g) & (pos_base == b)) if book.n_positions else np.zeros(0, dtype=np.intp)
        out.append(_Group(g, b, fut.astype(np.intp), np.flatnonzero((opt.pool == g) & (opt_base == b))))
    return out


class _Moving:
    """The moving terms of one group at the evaluation's scenarios: ``equity`` and ``maintenance`` of its pool
    with every instrument of its base moved by ``x`` (S, J)."""

    def __init__(self, book: Book, ev: Evaluation, group: _Group) -> None:
        opt = book.options
        assert opt is not None
        self.book, self.group, self.opt = book, group, opt
        self.fmark = ev.marks[:, book.sym[group.futures]]  # (S, F)
        self.omark = ev.marks[:, opt.sym[group.options]]  # (S, O)
        eq0, mm0 = self._terms(np.zeros((ev.marks.shape[0], 1)), np.arange(ev.marks.shape[0]))
        self.equity0 = ev.pool_equity[:, group.pool]
        self.gap0 = self.equity0 - ev.pool_maintenance[:, group.pool]
        self.eq_const = self.equity0 - eq0[:, 0]
        self.mm_const = ev.pool_maintenance[:, group.pool] - mm0[:, 0]

    def _terms(self, x: FloatArray, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        """Σ moving (UPNL or value) and Σ moving maintenance at moves ``x`` (R, J) of scenario rows ``rows``."""
        from .engine import futures_terms

        grp, opt = self.group, self.opt
        factor = (1.0 + x)[:, :, None]
        eq = np.zeros(x.shape)
        mm = np.zeros(x.shape)
        if grp.futures.size:
            upnl, fmm, _ = futures_terms(self.book, grp.futures, self.fmark[rows][:, None, :] * factor)
            eq += upnl.sum(axis=-1)
            mm += fmm.sum(axis=-1)
        if grp.options.size:
            terms = option_terms_at(opt.arrays, grp.options, self.omark[rows][:, None, :] * factor, opt.iv, opt.t)
            eq += terms.value.sum(axis=-1)
            mm += terms.maintenance.sum(axis=-1)
        return eq, mm

    def at(self, x: FloatArray, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        """Pool equity and maintenance at moves ``x`` (R, J) of scenario rows ``rows``, chunked."""
        width = max(self.group.futures.size + self.group.options.size, 1) * x.shape[1]
        per = max(1, _CHUNK // width)
        eq = np.empty(x.shape)
        mm = np.empty(x.shape)
        for a in range(0, rows.size, per):
            e, m = self._terms(x[a : a + per], rows[a : a + per])
            eq[a : a + per] = self.eq_const[rows[a : a + per], None] + e
            mm[a : a + per] = self.mm_const[rows[a : a + per], None] + m
        return eq, mm


def _crossed(gap: FloatArray, below: BoolArray) -> BoolArray:
    """Past the crossing: the gap has the other sign than at ``x = 0`` (≤ 0 when healthy there, > 0 when not)."""
    return np.where(below[:, None], gap > 0.0, gap <= 0.0)


def _refine(
    moving: _Moving, lo: FloatArray, hi: FloatArray, rows: IntArray, below: BoolArray, bankrupt: bool
) -> FloatArray:
    """The crossing inside each bracket ``(lo, hi]`` (hi crossed, lo not), to ``RTOL`` of the price factor."""
    frac = np.arange(1, SECTIONS + 1) / SECTIONS
    a, b = lo.copy(), hi.copy()
    for _ in range(MAX_ROUNDS):
        if np.all(np.abs(b - a) <= RTOL * (1.0 + np.minimum(a, b))):
            break
        pts = a[:, None] + (b - a)[:, None] * frac[None, :]
        pts[:, -1] = b
        eq, mm = moving.at(pts, rows)
        crossed = _crossed(eq if bankrupt else eq - mm, below)
        k = np.argmax(crossed, axis=1)  # the last point is crossed, so some is
        b = pts[np.arange(k.size), k]
        a = np.where(k > 0, pts[np.arange(k.size), np.maximum(k - 1, 0)], a)
    return b


def _nearest(moving: _Moving, bankrupt: bool, scans: list[tuple[FloatArray, FloatArray, FloatArray]]) -> FloatArray:
    """Per scenario, the crossing nearest 0 of the two sides (0 when the pool sits exactly on it; NaN: none)."""
    g0 = moving.equity0 if bankrupt else moving.gap0
    below = g0 <= 0.0
    found_moves = []
    for grid, eq, mm in scans:
        crossed = _crossed(eq if bankrupt else eq - mm, below)
        found = crossed.any(axis=1)
        k = np.argmax(crossed, axis=1)
        move = np.full(g0.shape, np.nan)
        live = np.flatnonzero(found)
        if live.size:
            hi = grid[k[live]]
            lo = np.where(k[live] > 0, grid[np.maximum(k[live] - 1, 0)], 0.0)
            move[live] = _refine(moving, lo, hi, live, below[live], bankrupt)
        found_moves.append(move)
    down, up = found_moves
    nearer = np.where(np.isnan(up) | (np.abs(down) <= np.abs(up)), down, up)
    nearer = np.where(np.isnan(down), up, nearer)
    return np.where(g0 == 0.0, 0.0, nearer)


@dataclass(frozen=True)
class OptionPoolLevels:
    """The crossing move of each (scenario, pool with an option, base) and the positions it prices."""

    groups: tuple[_Group, ...]
    liquidation_move: FloatArray  # (S, K), NaN where none
    bankruptcy_move: FloatArray


def option_pool_levels(book: Book, ev: Evaluation) -> OptionPoolLevels | None:
    """The liquidation and bankruptcy moves of every (scenario, pool with an option, base)."""
    if book.options is None:
        return None
    groups = _groups(book)
    s = ev.marks.shape[0]
    liq = np.full((s, len(groups)), np.nan)
    bk = np.full((s, len(groups)), np.nan)
    rows = np.arange(s)
    for k, group in enumerate(groups):
        moving = _Moving(book, ev, group)
        scans = []
        for end in (DOWN_END, UP_END):  # one evaluation of each side's grid serves the trigger and bankruptcy
            grid = scan_moves(end)
            scans.append((grid, *moving.at(np.broadcast_to(grid, (s, grid.size)), rows)))
        liq[:, k] = _nearest(moving, False, scans)
        bk[:, k] = _nearest(moving, True, scans)
    return OptionPoolLevels(tuple(groups), liq, bk)


def apply_levels(
    book: Book, ev: Evaluation, levels: OptionPoolLevels, liquidation: FloatArray, bankruptcy: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The futures' (S, P) prices with those in option pools replaced, and the options' (S, O) prices."""
    opt = book.options
    assert opt is not None
    liq, bk = liquidation.copy(), bankruptcy.copy()
    o_liq = np.full((ev.marks.shape[0], len(opt)), np.nan)
    o_bk = np.full_like(o_liq, np.nan)
    for k, group in enumerate(levels.groups):  # a handful of (pool, base) pairs
        lm, bm = levels.liquidation_move[:, k : k + 1], levels.bankruptcy_move[:, k : k + 1]
        if group.futures.size:
            mark = ev.marks[:, book.sym[group.futures]]
            liq[:, group.futures] = mark * (1.0 + lm)
            bk[:, group.futures] = mark * (1.0 + bm)
        f = ev.marks[:, opt.sym[group.options]]
        o_liq[:, group.options] = f * (1.0 + lm)
        o_bk[:, group.options] = f * (1.0 + bm)
    return liq, bk, o_liq, o_bk
