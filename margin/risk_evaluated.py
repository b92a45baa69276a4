"""First liquidation hours checked with the engine itself: the Monte Carlo of an account holding options.

Options (``portfolio-format.md`` §6) break the separable fast path (:mod:`margin.risk_separable`): an
option's value and its §6.3 standard margin are Black-76 functions of its forward, its volatility and its
time to expiry, not the ``α·P + β + γ/P + δ/P²`` segments of a future. So an account holding options has
every pool of every view checked with :func:`margin.engine.evaluate` at the marks of each simulated hour,
vectorised over (hours × paths) rows in blocks of bounded size: a pool is liquidated at the first hourly
close where ``evaluate`` says ``equity ≤ maintenance`` (format §2; the pool holds a future or an option:
``Book.pool_held``).

Marks (format §6, ``options_core``): every symbol of a base, futures and option columns alike (the option
column is its forward ``F``), moves by its base's ratio ``r``: ``P = P₀ × r``
(:func:`margin.instruments.symbol_base` names the base of both). Volatility: each option keeps its file's
``iv`` (after ``--vol-shock``; the simulated paths' volatility is the market model's, ``--vol``). Time
passes along the path: at hour ``h`` an option's time to expiry is ``T − h / 8,760`` years (365 × 24
hours, ``margin.options.YEAR_DAYS``; the same clock as :data:`margin.risk_closed_form.HOURS_PER_YEAR`);
past expiry the pricer takes the intrinsic value and the §6.3 margin is taken with that mark, as
``evaluate --days`` does (§6.5; the option is not settled into the wallet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .engine import Book, evaluate
from .risk_closed_form import HOURS_PER_YEAR
from .risk_separable import NEVER

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: elements of one block of rows given to ``evaluate`` (rows × (symbols + positions + options)): bounds
#: the memory of its temporaries
BLOCK_ELEMENTS = 1_500_000

#: the note of an account holding options (``RiskResult.notes``)
OPTIONS_NOTE = (
    "options: every pool is checked with the engine (evaluate) at every hourly close; each option's forward "
    "moves with its base, its iv stays as in the file, and its time to expiry falls along the path "
    "(T - h/8760 years at hour h; intrinsic value past expiry, as --days); the closed form per position "
    "(positions) is not available in a pool holding options: probability and probability_hourly are null there"
)


def option_time_at(t: FloatArray, hours: FloatArray) -> FloatArray:
    """(rows, O) years to expiry at ``hours`` (rows,) after the book's market: ``T − h / 8,760``."""
    return np.asarray(t[None, :] - (hours / HOURS_PER_YEAR)[:, None], dtype=np.float64)


def book_at_hours(book: Book, hours: FloatArray) -> Book:
    """``book`` with its options' time to expiry at ``hours`` (one per row of the marks it is evaluated
    at); the book itself when it holds no option."""
    if book.options is None:
        return book
    options = dataclasses.replace(book.options, t=option_time_at(book.options.t, hours))
    return dataclasses.replace(book, options=options)


def pool_flags(
    book: Book, marks: FloatArray, hours: FloatArray, collateral_prices: FloatArray | None = None
) -> BoolArray:
    """(rows, G) liquidation flags of ``book``'s pools at ``marks`` (rows, n_symbols) at ``hours`` (rows,):
    :func:`margin.engine.evaluate` with the options' time to expiry at those hours."""
    ev = evaluate(book_at_hours(book, hours), marks, collateral_prices=collateral_prices)
    return np.asarray(ev.pool_liquidated, dtype=bool)


class EvaluatedTouch:
    """First liquidation hour of every (path, pool) of every view, every pool checked by the engine.

    ``sym_col`` is each symbol's asset (the rows of the ratios); ``coll_col`` each collateral asset's
    (−1: held at its price). :meth:`now` checks hour 0 (today's marks); :meth:`block` the hours
    ``start + 1 … start + steps`` from their asset ratios (A, steps, paths). Paths whose every held pool is
    liquidated already are not evaluated again; views compiling to the same book are evaluated once.
    """

    def __init__(
        self, books: Mapping[str, Book], sym_col: IntArray, coll_col: IntArray, n_assets: int, paths: int
    ) -> None:
        self.books = dict(books)
        # views with the same isolated positions compile to the same book (compile_book derives every
        # view-dependent array from them): each is evaluated once
        key = {v: b.isolated.tobytes() for v, b in self.books.items()}
        first_of: dict[bytes, str] = {}
        self.same = {v: first_of.setdefault(key[v], v) for v in self.books}
        self.n_assets = n_assets
        self.sym_col = sym_col
        self.coll_col = coll_col
        self.paths = paths
        self.first = {
            v: np.full((paths, b.n_pools), NEVER, dtype=np.int32) for v, b in self.books.items() if self.same[v] == v
        }
        first = next(iter(self.books.values()))
        self.marks0 = first.marks
        self.coll0 = first.collateral_price
        width = len(first.symbols) + first.n_positions + (0 if first.options is None else len(first.options))
        self.block_rows = max(1, BLOCK_ELEMENTS // max(1, width))

    def _collateral(self, ratios: FloatArray) -> FloatArray | None:
        """(rows, n_collateral) collateral prices at asset ratios (rows, A)."""
        if not self.coll_col.size:
            return None
        moving = self.coll_col >= 0
        cp = np.repeat(self.coll0[None, :], ratios.shape[0], axis=0)
        cp[:, moving] = self.coll0[moving] * ratios[:, self.coll_col[moving]]
        return cp

    def _check(self, view: str, ratios: FloatArray, hours: FloatArray) -> BoolArray:
        """(rows, G) flags of ``view`` at asset ratios (rows, A) and hours (rows,), in blocks of rows."""
        book = self.books[view]
        out = np.zeros((ratios.shape[0], book.n_pools), dtype=bool)
        for lo in range(0, ratios.shape[0], self.block_rows):
            r = ratios[lo : lo + self.block_rows]
            marks = self.marks0 * r[:, self.sym_col]
            out[lo : lo + r.shape[0]] = pool_flags(book, marks, hours[lo : lo + r.shape[0]], self._collateral(r))
        return out & book.pool_held

    def now(self) -> None:
        """Pools liquidated at today's marks: first hour 0 on every path."""
        for view in self.first:
            hit = self._check(view, np.ones((1, self.n_assets)), np.zeros(1))[0]
            self.first[view][:, hit] = 0

    def block(self, start: int, ratio: FloatArray) -> None:
        """Check hours ``start + 1 … start + steps`` at asset ratios ``ratio`` (A, steps, paths)."""
        n_a, steps, _ = ratio.shape
        for view, first in self.first.items():
            held = self.books[view].pool_held
            alive = np.flatnonzero((first[:, held] == NEVER).any(axis=1)) if held.any() else np.zeros(0, np.intp)
            if not alive.size:
                continue
            # rows hour-major: row j × |alive| + k is hour start + 1 + j on path alive[k]
            rows = np.ascontiguousarray(ratio[:, :, alive].transpose(1, 2, 0)).reshape(steps * alive.size, n_a)
            hours = np.repeat(np.arange(start + 1, start + steps + 1, dtype=np.float64), alive.size)
            hit = self._check(view, rows, hours).reshape(steps, alive.size, -1)
            any_hit = hit.any(axis=0)
            at = (start + 1 + hit.argmax(axis=0)).astype(np.int32)
            sub = first[alive]
            new = any_hit & (sub == NEVER)
            sub[new] = at[new]
            first[alive] = sub

    def result(self) -> dict[str, npt.NDArray[np.int32]]:
        """Per view, (paths, G) first liquidation hours (``NEVER``: none within the horizon)."""
        return {v: self.first[u] if u == v else self.first[u].copy() for v, u in self.same.items()}
