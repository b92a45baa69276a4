"""Where, on one segment of the path, a pool first meets its trigger: closed form from the kernel's terms.

Between rows ``k − 1`` and ``k`` the marks are linear in the fraction ``τ ∈ [0, 1]`` of the segment,
``P(τ) = a + τ·(b − a)``, and so are the backing-collateral prices: the pool's wallet is
``W(τ) = W_a + τ·W′``. On each tier segment of its positions (the notionals between two of the floors of
:meth:`margin.models.MarginModel.floors`), every position's ``UPNL − MM`` is ``α·P + β + γ/P + δ/P²``
(:func:`margin.models.net_terms`, ``margin-models.md`` §0.1 equation (E) per tier, §1.1 [bracket_lookup]),
so the pool's surplus ``F(τ) = W(τ) + Σ (α·P + β + γ/P + δ/P²)`` (trigger: ``F ≤ 0``) is, on each
piece of the segment between two τ at which one of its positions' notional crosses a floor,

- linear in τ when the pool holds only linear contracts (γ = δ = 0): its root ``−u/v`` is exact;
- a rational function of τ otherwise (inverse contracts): bisection on the piece's bracket
  ``F(lo) > 0 ≥ F(hi)`` down to :data:`TAU_TOL`.

The first piece whose end is triggered holds the first crossing (a linear piece crosses zero once; a
dip below the trigger and back inside one piece of an inverse pool between two rows is not looked for,
as rows are the path's resolution). The root is then checked with the pool's own values
(:func:`margin.cascade_state.pool_at`, what the liquidation step uses): when rounding leaves it a hair
short of the trigger it is moved forward by steps doubling from 1e-15 until it is triggered, so the fill
lies within :data:`TAU_TOL` of the exact root (plus the rounding of ``F`` itself, about
ε·(the pool's gross values)/|dF/dτ|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .cascade_paths import Path
from .cascade_state import Ledger, Point, PoolTerms, PoolValues, pool_at, pool_surplus
from .models import net_terms

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: accuracy of a crossing, as a fraction of its segment
TAU_TOL = 1e-12
_NUDGE = 1e-15


def segment_point(path: Path, k: int, tau: float) -> Point:
    """The point at ``τ`` of segment ``k`` (rows k − 1 → k); ``τ = 1`` is row ``k`` itself."""
    if tau >= 1.0 or k == 0:
        return Point(path.marks[k], path.coll_at(k), float(path.t[k]), path.phase[k])
    a, b = path.marks[k - 1], path.marks[k]
    ca, cb = path.coll_at(k - 1), path.coll_at(k)
    coll = None if ca is None or cb is None else ca + tau * (cb - ca)
    ta, tb = float(path.t[k - 1]), float(path.t[k])
    return Point(a + tau * (b - a), coll, ta + tau * (tb - ta), path.phase[k])


def triggered_at(ledger: Ledger, members: IntArray, g: int, at: Point) -> bool:
    """Pool ``g`` has open positions and equity ≤ maintenance at ``at``."""
    return pool_at(ledger, members, g, at).triggered()


@dataclass(frozen=True, eq=False)
class Crossing:
    """Where a pool first meets its trigger: segment ``row`` at ``tau``, the slope dF/dτ of its surplus
    there (``None`` where the row itself decides) and its values at that point (``None``: not kept)."""

    row: int
    tau: float
    slope: float | None
    values: PoolValues | None = None


def first_crossing(ledger: Ledger, members: IntArray, g: int, path: Path, k: int, tau_s: float) -> Crossing | None:
    """Where on ``τ ∈ (tau_s, 1]`` of segment ``k`` pool ``g`` is first triggered (module docstring), or
    ``None`` when it is not triggered on the rest of the segment."""
    if not ledger.pool_open(members, g):
        return None
    if ledger.open_options(g).size:
        found = _numeric_root(ledger, members, g, path, k, tau_s)
    else:
        found = _terms_root(ledger.pool_terms(members, g), ledger, g, path, k, tau_s)
    end = segment_point(path, k, 1.0)
    if found is None:  # the terms see none: the row itself decides (rounding at the very end)
        return Crossing(k, 1.0, None) if triggered_at(ledger, members, g, end) else None
    hi, slope = found
    step = _NUDGE
    while hi < 1.0:
        pv = pool_at(ledger, members, g, segment_point(path, k, hi))
        if pv.triggered():
            return Crossing(k, hi, slope, pv)
        # a hair short: forward by twice what the slope says is left, at least by a doubling step
        left = float(pv.equity[0] - pv.pool_maintenance[0])
        hi += max(step, 2.0 * left / -slope) if slope < 0 else step
        step *= 2.0
    return Crossing(k, 1.0, slope) if triggered_at(ledger, members, g, end) else None


#: points per pass of the vectorised bisection of a pool holding options
_GRID = 64


def _numeric_root(
    ledger: Ledger, members: IntArray, g: int, path: Path, k: int, tau_s: float
) -> tuple[float, float] | None:
    """The first τ on ``(tau_s, 1]`` of segment ``k`` at which a pool holding open options is at its trigger
    (surplus ≤ 0), and the surplus's slope dF/dτ there, or ``None``. An option's value is no piece of the
    kernel's closed form (Black-76, format §6.2): the marks are linear in τ between the rows and the surplus
    (wallet + Σ futures (UPNL − MM) + Σ options (value − MM), :func:`margin.cascade_state.pool_surplus`) is
    evaluated at :data:`_GRID` points of the bracket at once, the bracket narrowed to the cell of the first
    triggered point, until it is :data:`TAU_TOL` wide (a dip below the trigger and back between two grid points
    of the first pass is not looked for, as rows are the path's resolution). The slope is the first pass's
    over the cell found."""
    a, b = path.marks[k - 1], path.marks[k]
    ca, cb = path.coll_at(k - 1), path.coll_at(k)

    def surplus(tau: FloatArray) -> FloatArray:
        marks = a[None, :] + tau[:, None] * (b - a)[None, :]
        coll = None if ca is None or cb is None else ca[None, :] + tau[:, None] * (cb - ca)[None, :]
        return pool_surplus(ledger, members, g, marks, coll)

    lo, hi = tau_s, 1.0
    slope: float | None = None
    f_lo = float(surplus(np.array([lo]))[0])
    if f_lo <= 0.0:
        return lo, 0.0
    while hi - lo > TAU_TOL:
        grid = lo + (hi - lo) * np.arange(1, _GRID + 1) / _GRID
        f = surplus(grid)
        hit = np.flatnonzero(f <= 0.0)
        if hit.size == 0:
            if slope is None:
                return None
            break  # rounding at the bracket's end (known triggered): the end itself
        j = int(hit[0])
        left = lo if j == 0 else float(grid[j - 1])
        f_left = f_lo if j == 0 else float(f[j - 1])
        if slope is None:
            slope = (float(f[j]) - f_left) / (float(grid[j]) - left)
        lo, hi, f_lo = left, float(grid[j]), f_left
    return hi, (0.0 if slope is None else slope)


def _terms_root(pt: PoolTerms, ledger: Ledger, g: int, path: Path, k: int, tau_s: float) -> tuple[float, float] | None:
    """The first root of the pool's surplus on ``(tau_s, 1]`` from the model's segment terms, and the
    surplus's slope dF/dτ on its piece (over the piece for inverse contracts)."""
    bk = ledger.book
    idx, sym, q, inv = pt.idx, pt.sym, pt.q, pt.inv
    a, b = path.marks[k - 1], path.marks[k]
    pa = a[sym]
    pd = b[sym] - pa
    ca, cb = path.coll_at(k - 1), path.coll_at(k)
    w_a = float(ledger.wallets(ca)[g])
    w1 = 0.0 if ca is None or cb is None else float((cb - ca) @ ledger.cw[:, g])
    pt.place(pt.notional(pa + tau_s * pd))
    n_end = pt.notional(pa + pd)
    if np.all((n_end >= pt.lo) & (n_end < pt.hi)):
        # every notional stays on its segment (N is monotone in τ): one piece, the pool's cached terms
        lo, hi = np.array([tau_s]), np.array([1.0])
        alpha, beta, gamma, delta = (x[:, None] for x in (pt.alpha, pt.beta, pt.gamma, pt.delta))
    else:
        # τ at which a position's notional reaches a floor: N = q·P (linear), q/P (inverse)
        fl = pt.floors
        finite = np.isfinite(fl)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_at = np.where(inv[:, None], q[:, None] / fl, fl / q[:, None])
            tb = (p_at - pa[:, None]) / pd[:, None]
        cuts = tb[finite & np.isfinite(tb) & (tb > tau_s) & (tb < 1.0)]
        bounds = np.unique(np.concatenate(([tau_s], cuts, [1.0])))
        lo, hi = bounds[:-1], bounds[1:]
        mid = 0.5 * (lo + hi)
        p_mid = pa[:, None] + mid[None, :] * pd[:, None]
        n_mid = np.where(inv[:, None], q[:, None] / p_mid, q[:, None] * p_mid)
        tier = (n_mid[:, :, None] >= fl[:, None, :]).sum(axis=2)  # the floors at or below N (§1.1)
        t = bk.model.terms(bk, idx, tier)
        nt = net_terms(pt.sign[:, None], q[:, None], pt.ep[:, None], inv[:, None], t)
        alpha, beta, gamma, delta = nt.alpha, nt.beta, nt.gamma, nt.delta
    if not pt.any_inverse:
        u = w_a + (alpha * pa[:, None] + beta).sum(axis=0)
        v = w1 + (alpha * pd[:, None]).sum(axis=0)
        f_hi = u + v * hi
        hit = np.flatnonzero(f_hi <= 0.0)
        if hit.size == 0:
            return None
        j = int(hit[0])
        if u[j] + v[j] * lo[j] <= 0.0 or v[j] == 0.0:
            return float(lo[j]), float(v[j])
        return float(min(max(-u[j] / v[j], lo[j]), hi[j])), float(v[j])
    # inverse contracts: per symbol of the pool, F(τ) = W_a + W′τ + Σ_j (A_j P_j + B_j + Γ_j/P_j + Δ_j/P_j²)
    us, pos = np.unique(sym, return_inverse=True)
    one = np.zeros((us.size, idx.size))
    one[pos, np.arange(idx.size)] = 1.0
    big_a, big_b, big_g, big_d = (one @ x for x in (alpha, beta, gamma, delta))
    pa_u, pd_u = a[us], b[us] - a[us]

    def surplus(j: int, tau: float) -> float:
        p = pa_u + tau * pd_u
        terms = big_a[:, j] * p + big_b[:, j] + big_g[:, j] / p + big_d[:, j] / (p * p)
        return float(w_a + w1 * tau + terms.sum())

    for j in range(lo.size):
        if surplus(j, float(hi[j])) > 0.0:
            continue
        left, right = float(lo[j]), float(hi[j])
        slope = (surplus(j, right) - surplus(j, left)) / (right - left)
        if surplus(j, left) <= 0.0:
            return left, slope
        while right - left > 0.1 * TAU_TOL:
            m = 0.5 * (left + right)
            if m <= left or m >= right:
                break
            if surplus(j, m) <= 0.0:
                right = m
            else:
                left = m
        return right, slope
    return None
