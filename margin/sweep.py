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
"""

from __future__ import annotations

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

    @property
    def position_liquidated(self) -> BoolArray:
        return self.pool_liquidated[:, self.book.pool]


def uniform_sweep(book: Book, moves: FloatArray) -> SweepResult:
    """Evaluate ``book`` with every mark moved by each of ``moves`` (fractions, each > −1)."""
    moves = np.asarray(moves, dtype=np.float64).ravel()
    if np.any(~np.isfinite(moves)) or np.any(moves <= -1.0):
        raise ValueError("every move must be finite and above -100%")
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
    alpha = np.bincount(pools, weights=np.where(lin, sq * mark0, 0.0), minlength=n_g)
    beta = np.bincount(pools, weights=np.where(lin, -sq * book.entry, sq / book.entry), minlength=n_g)
    gamma = np.bincount(pools, weights=np.where(inv, -sq / mark0, 0.0), minlength=n_g)
    equity_t = np.outer(alpha, r)  # (G, S)
    equity_t += (book.pool_wallet + beta)[:, None]
    if inv.any():
        equity_t += np.outer(gamma, 1.0 / r)
    equity = equity_t.T

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
    weights = [(base[0] + fee_r, r), (base[1] + fee_ir, 1.0 / r), (base[2], 1.0 / (r * r)), (base[3], None)]
    maintenance_t: FloatArray | None = None  # (G, S): pools in rows, moves contiguous
    for j, (start, factor) in enumerate(weights):
        delta = new_terms[j] - old_terms[j]
        if not start.any() and not delta.any():
            continue
        first = np.bincount(pools, weights=start, minlength=n_g).astype(np.float64)
        coef = _piecewise(first, s_at, pools[pos_idx], delta, n_s)  # a fresh array: scaled in place
        if factor is not None:
            coef *= factor
        if maintenance_t is None:
            maintenance_t = coef
        else:
            maintenance_t += coef
    if maintenance_t is None:
        maintenance_t = np.zeros((n_g, n_s))
    maintenance = maintenance_t.T
    has_positions = np.bincount(pools, minlength=n_g) > 0
    liquidated_t = equity_t <= maintenance_t  # in the (G, S) layout both are contiguous in
    liquidated_t &= has_positions[:, None]
    liquidated = liquidated_t.T
    if not np.array_equal(order, np.arange(n_s)):
        back = np.empty_like(order)
        back[order] = np.arange(n_s)
        equity, maintenance, liquidated = equity[back], maintenance[back], liquidated[back]
    return SweepResult(
        book=book, moves=moves, pool_equity=equity, pool_maintenance=maintenance, pool_liquidated=liquidated
    )


def _piecewise(
    start: FloatArray, s_at: npt.NDArray[np.intp], g_at: npt.NDArray[np.intp], delta: FloatArray, n_s: int
) -> FloatArray:
    """(G, S) array: row g is ``start[g]`` plus every ``delta`` of row g from its index ``s_at`` on.

    A difference array summed segment by segment: the few changes of each row are accumulated on
    their own (a segmented cumulative sum over G + C events) and each segment's value is repeated
    over its length, so the work is one write of the output, not a cumulative sum over it.
    """
    n_g = start.size
    ev_g = np.concatenate([np.arange(n_g), g_at])
    ev_s = np.concatenate([np.zeros(n_g, dtype=np.intp), s_at])
    ev_v = np.concatenate([start, delta])
    order = np.lexsort((ev_s, ev_g))
    ev_g, ev_s, ev_v = ev_g[order], ev_s[order], ev_v[order]
    running = np.cumsum(ev_v)
    first = np.searchsorted(ev_g, np.arange(n_g))  # first event of each row (its start)
    offset = np.concatenate([[0.0], running])[first]
    values = running - offset[ev_g]
    nxt = np.append(ev_s[1:], n_s)
    last = np.append(ev_g[1:] != ev_g[:-1], True)
    lengths = np.where(last, n_s - ev_s, nxt - ev_s)
    return np.repeat(values, lengths).reshape(n_g, n_s)
