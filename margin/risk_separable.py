"""Pool triggers as sums of per-asset price functions: the cost grows with assets and pools, not positions.

In the Monte Carlo every symbol of a base asset moves by the asset's ratio ``r`` (mark ``P = r·P₀``), and
each position's ``net = UPNL − maintenance`` depends on its own mark only (:mod:`margin.risk_triggers`:
``α·P + β + γ/P + δ/P²`` on each tier segment, the margin model's terms). So a pool's trigger value
``wallet + Σ net`` (``portfolio-format.md`` §2: liquidated when ``≤ 0``) is separable,

    ``V(r) = wallet + Σ_assets f_a(r_a) + collateral moves``,

and ``f_a`` (the sum over the pool's positions on asset ``a``) is one piecewise function of ``r_a``: on each
segment between the union of its positions' tier breakpoints (``P₀·r = thr``), ``A·r + B + C/r + D/r²``
with ``A = Σ α·P₀``, ``B = Σ β``, ``C = Σ γ/P₀``, ``D = Σ δ/P₀²`` (each position on its tier of that segment).
The tables are built once; every path keeps its segment of each table (and the segment's coefficients),
so a step multiplies and adds per (asset, pool) and looks a segment up again only where a path left it.

An isolated pool holds one position: when its ``net`` is monotone in the mark (non-decreasing for a
long: ``α ≥ 0``, or ``γ, δ ≤ 0`` for an inverse contract, and no downward jump at a tier floor; the mirror
image for a short) it is liquidated exactly when the mark crosses its liquidation price ``L``
(:func:`margin.engine.liquidation_prices`, the exact solver; checked: ``|net(L) + wallet|`` within 1e-9 of
the terms' scale), a barrier ``r ≤ L/P₀`` (long) or ``r ≥ L/P₀`` (short) on its asset. Its first
liquidation hour is the first hour ``r`` reaches the barrier: per asset the barriers are sorted in the
order a falling (rising) price reaches them, every path keeps the next one it would reach, and where a
step's ``r`` reaches it, the barriers passed are counted (``searchsorted``) and stamped with the hour. A
pool that is not monotone (e.g. an inverse short
whose size-dependent maintenance, Deribit §5.1, grows without bound as the price falls), whose solver
check fails, or that is liquidated already, is evaluated as a sum of functions like a cross pool.

The flags equal :func:`margin.engine.evaluate`'s at the same marks (a test holds them equal) except for a
trigger value within rounding of zero (the sums are formed in another order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import evaluate, liquidation_prices
from .risk_triggers import Segments, Triggers

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: first liquidation hour of a (pool, path) that is not liquidated within the horizon
NEVER = np.iinfo(np.int32).max
#: relative tolerance of the checks on the terms (continuity at a tier floor, the solver's root)
TERMS_RTOL = 1e-9


def _at(x: FloatArray, k: IntArray) -> FloatArray:
    """Row-wise ``x[row, k]`` for tiers ``k`` of shape (rows,) or (rows, m)."""
    if k.ndim == 1:
        return np.asarray(np.take_along_axis(x, k[:, None], axis=1)[:, 0], dtype=np.float64)
    return np.asarray(np.take_along_axis(x, k, axis=1), dtype=np.float64)


def _terms(seg: Segments, k: IntArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``net = α·P + β + γ/P + δ/P²`` of rows on tiers ``k`` at marks ``p``, and ``|α P| + |β| + |γ/P| +
    |δ/P²|`` (the size of the terms, the scale of their rounding)."""
    a, b, c, d = (_at(x, k) for x in (seg.alpha, seg.beta, seg.gamma, seg.delta))
    terms = (a * p, b, c / p, d / (p * p))
    value = terms[0] + terms[1] + terms[2] + terms[3]
    size = np.abs(terms[0]) + np.abs(terms[1]) + np.abs(terms[2]) + np.abs(terms[3])
    return np.asarray(value, dtype=np.float64), np.asarray(size, dtype=np.float64)


def monotone_direction(seg: Segments, wallet: FloatArray) -> npt.NDArray[np.int8]:
    """Per row, +1 when ``net`` never decreases as the mark rises, −1 when it never increases, 0 else.

    Sufficient conditions on every reachable tier ``k ≤ v`` (``v`` floors with a finite mark): linear
    ``α_k ≥ 0`` (``≤ 0``); inverse ``γ_k ≤ 0`` and ``δ_k ≤ 0`` (``≥ 0``: ``d/dP (γ/P + δ/P²) = −γ/P² − 2δ/P³``);
    and at each floor the jump of ``net`` from the tier below to the tier above is ``≥ 0`` (``≤ 0``)
    within :data:`TERMS_RTOL` of the terms (the tables' maintenance amounts keep ``net`` continuous).
    """
    thr = seg.thr
    n, width = seg.alpha.shape
    valid = np.isfinite(thr) & (thr > 0)
    v = valid.sum(axis=1)
    far = np.arange(width)[None, :] > v[:, None]  # tiers no mark reaches
    lin = seg.linear
    rising = np.where(
        lin,
        np.all(far | (seg.alpha >= 0), axis=1),
        np.all(far | ((seg.gamma <= 0) & (seg.delta <= 0)), axis=1),
    )
    falling = np.where(
        lin,
        np.all(far | (seg.alpha <= 0), axis=1),
        np.all(far | ((seg.gamma >= 0) & (seg.delta >= 0)), axis=1),
    )
    if width > 1:
        j = np.broadcast_to(np.arange(width - 1), (n, width - 1))
        # a linear position is on tier j below its floor's mark and j + 1 at or above it; inverse: j + 1, j
        below = np.where(lin[:, None], j, j + 1)
        above = np.where(lin[:, None], j + 1, j)
        t = np.where(valid, thr, 1.0)
        net_below, size_below = _terms(seg, below, t)
        net_above, size_above = _terms(seg, above, t)
        jump = net_above - net_below
        tol = TERMS_RTOL * (np.abs(wallet)[:, None] + size_below + size_above)
        rising &= np.all(~valid | (jump >= -tol), axis=1)
        falling &= np.all(~valid | (jump <= tol), axis=1)
    return np.where(rising, 1, np.where(falling, -1, 0)).astype(np.int8)


def never_liquidated(seg: Segments, wallet: FloatArray, direction: npt.NDArray[np.int8]) -> BoolArray:
    """For monotone rows: ``wallet + net > 0`` at every mark, i.e. at its limit on the loss side
    (P → 0+ where ``net`` rises with the mark, P → ∞ where it falls)."""
    v = (np.isfinite(seg.thr) & (seg.thr > 0)).sum(axis=1)
    lin = seg.linear
    # tier at P → 0+: linear 0, inverse the last reachable; at P → ∞: linear the last, inverse 0
    k = np.where(direction > 0, np.where(lin, 0, v), np.where(lin, v, 0)).astype(np.intp)
    a, b, c, d = (_at(x, k) for x in (seg.alpha, seg.beta, seg.gamma, seg.delta))
    # P → 0+: α·P → 0 and γ/P, δ/P² → −∞ unless zero; P → ∞: α·P → −∞ unless zero, γ/P, δ/P² → 0
    limit_positive = np.where(direction > 0, (c == 0) & (d == 0), a == 0) & (b + wallet > 0)
    return np.asarray(limit_positive & (direction != 0), dtype=np.bool_)


@dataclass(frozen=True, eq=False)
class AssetTable:
    """``Σ net`` of some evaluated pools' positions on one asset, tabulated on the asset's ratio ``r``.

    ``rows``: the evaluated pools concerned (indices into :attr:`SeparablePools.evaluated`, all of them
    when ``all_rows``); ``breaks`` (K,) ascending ratios; segment ``k = #{breaks ≤ r}`` spans
    ``[lower[k], upper[k])`` and has coefficients ``A[:, k]`` … ``D[:, k]`` (``C``, ``D`` used when ``inverse``).
    """

    asset: int
    rows: IntArray
    all_rows: bool
    breaks: FloatArray
    lower: FloatArray
    upper: FloatArray
    A: FloatArray
    B: FloatArray
    C: FloatArray
    D: FloatArray
    inverse: bool

    def segment(self, r: FloatArray) -> IntArray:
        return np.asarray(np.searchsorted(self.breaks, r, side="right"), dtype=np.intp)

    def coefficients(self, k: IntArray) -> tuple[FloatArray, ...]:
        """(rows, S) coefficients ``A``, ``B`` (and ``C``, ``D`` when ``inverse``) of segments ``k`` (S,)."""
        coefs = (self.A, self.B, self.C, self.D) if self.inverse else (self.A, self.B)
        return tuple(np.take(x, k, axis=1) for x in coefs)

    def term(self, r: FloatArray, coef: tuple[FloatArray, ...]) -> FloatArray:
        """``A·r + B + C/r + D/r²`` (rows, S) at ratios ``r`` (S,) with the paths' coefficients."""
        term = coef[0] * r
        term += coef[1]
        if self.inverse:
            inv = 1.0 / r
            term += coef[2] * inv
            inv *= inv
            term += coef[3] * inv
        return np.asarray(term, dtype=np.float64)

    def add(self, vals: FloatArray, r: FloatArray) -> None:
        """``vals[rows] += A·r + B + C/r + D/r²`` at ratios ``r`` (S,), each path on its segment."""
        term = self.term(r, self.coefficients(self.segment(r)))
        if self.all_rows:
            vals += term
        else:
            vals[self.rows] += term


@dataclass(frozen=True, eq=False)
class Barriers:
    """Isolated pools of one asset liquidated by a ratio barrier, ranked in the order they are reached:
    ``down`` ascending (reached when ``r ≤`` it) with ``down_pools`` in DESCENDING barrier order; ``up``
    ascending (reached when ``r ≥`` it) with ``up_pools`` in the same order. ``down_next[n]`` / ``up_next[n]``:
    the barrier a path that has passed ``n`` of them reaches next (``∓inf``: none left)."""

    asset: int
    down: FloatArray
    down_pools: IntArray
    down_next: FloatArray
    up: FloatArray
    up_pools: IntArray
    up_next: FloatArray

    def passed_down(self, r: FloatArray) -> IntArray:
        """Number of down barriers ``≥ r``."""
        return np.asarray(self.down.size - np.searchsorted(self.down, r, side="left"), dtype=np.intp)

    def passed_up(self, r: FloatArray) -> IntArray:
        """Number of up barriers ``≤ r``."""
        return np.asarray(np.searchsorted(self.up, r, side="right"), dtype=np.intp)


class SeparablePools:
    """Every unique pool of :class:`~margin.risk_triggers.Triggers` as per-asset functions or a barrier.

    ``pos_asset`` (positions,): each position's column in the market model's assets (``n_assets``).
    ``now`` (unique pools,): liquidated at the current prices (the engine's flags, :func:`margin.engine.evaluate`).
    ``evaluated``: the unique pools valued as sums of :class:`AssetTable` s (every cross pool, and the
    isolated pools that are no barrier), with their ``wallets``; ``barriers``: per asset.
    """

    def __init__(self, trig: Triggers, pos_asset: IntArray, n_assets: int) -> None:
        self.trig = trig
        book = trig.book
        self.n_unique = trig.n_unique
        self.n_assets = n_assets
        self.coll0 = book.collateral_price
        mark0 = book.marks[book.sym]
        n_iso = trig.n_unique - trig.n_cross
        # liquidated now (engine) and the isolated pools' liquidation prices (exact solver, in their view)
        now = np.zeros(trig.n_unique, dtype=bool)
        lp = np.full(n_iso, np.nan)
        iso_view = np.array(trig.iso_view, dtype=object)
        for view, bk in trig.books.items():
            ev = evaluate(bk)
            cols = trig.view_pools[view]
            held = cols >= 0
            now[cols[held]] = ev.pool_liquidated[0][held]
            here = np.flatnonzero(iso_view == view) if n_iso else np.zeros(0, dtype=np.intp)
            if here.size:
                lp[here] = liquidation_prices(bk, ev).liquidation[0][trig.iso_pos[here]]
        self.now = now
        seg = trig.iso_segments()
        wallet = trig.iso_wallet
        m0 = mark0[trig.iso_pos]
        direction = monotone_direction(seg, wallet)
        no_price = np.isnan(lp)
        safe = np.where(no_price | ~(lp > 0), m0, lp)
        value, size = _terms(seg, seg.tier(safe), safe)
        root_ok = np.abs(value + wallet) <= TERMS_RTOL * (np.abs(wallet) + size)
        loss_side = np.where(direction > 0, lp < m0, lp > m0)
        barrier = (
            ~now[trig.n_cross :]
            & (direction != 0)
            & np.where(no_price, never_liquidated(seg, wallet, direction), loss_side & root_ok)
        )
        with np.errstate(invalid="ignore"):
            level = np.where(no_price, np.where(direction > 0, 0.0, np.inf), lp / m0)
        iso_u = trig.n_cross + np.arange(n_iso)
        self.evaluated = np.concatenate([np.arange(trig.n_cross), iso_u[~barrier]]).astype(np.intp)
        self.wallets = np.array([trig.wallet(int(u)) for u in self.evaluated], dtype=np.float64)
        n_e = self.evaluated.size
        #: cross pools: one dense table per asset (a row for every cross pool, zero where it holds none of it);
        #: the isolated pools evaluated: per asset, rows for those on it (each holds one asset)
        self.cross_tables = self._tables(np.arange(trig.n_cross), pos_asset, mark0, dense=True)
        self.solo_tables = self._tables(np.arange(trig.n_cross, n_e), pos_asset, mark0, dense=False)
        self.tables = self.cross_tables + self.solo_tables
        self.barriers: list[Barriers] = []
        iso_asset = pos_asset[trig.iso_pos]
        for a in range(n_assets):
            d = np.flatnonzero(barrier & (direction > 0) & (iso_asset == a))
            w = np.flatnonzero(barrier & (direction < 0) & (iso_asset == a))
            if not (d.size or w.size):
                continue
            d = d[np.argsort(level[d], kind="stable")]
            w = w[np.argsort(level[w], kind="stable")]
            self.barriers.append(
                Barriers(
                    asset=a,
                    down=level[d],
                    down_pools=iso_u[d[::-1]],
                    down_next=np.append(level[d[::-1]], -np.inf),
                    up=level[w],
                    up_pools=iso_u[w],
                    up_next=np.append(level[w], np.inf),
                )
            )

    def _tables(self, which: IntArray, pos_asset: IntArray, mark0: FloatArray, dense: bool) -> list[AssetTable]:
        """Per asset, the tabulated ``Σ net`` of the positions of evaluated pools ``which`` (indices into
        :attr:`evaluated`; module docstring). ``dense``: every table has a row for every one of ``which``."""
        trig = self.trig
        parts = [(int(e), *trig.members(int(self.evaluated[e]))) for e in which]
        if not parts:
            return []
        row = np.concatenate([np.full(idx.size, e, dtype=np.intp) for e, idx, _ in parts])
        pos = np.concatenate([idx for _, idx, _ in parts])
        seg = Segments(*(np.concatenate([getattr(s, f) for *_, s in parts]) for f in Segments.__dataclass_fields__))
        asset = pos_asset[pos]
        tables = []
        n_e = self.evaluated.size
        for a in range(self.n_assets):
            sel = np.flatnonzero(asset == a)
            if not sel.size:
                continue
            m0 = mark0[pos[sel]]
            s = seg.rows(sel)
            rows_a, local = np.unique(row[sel], return_inverse=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = s.thr / m0[:, None]
            valid = np.isfinite(t) & (t > 0)
            breaks = np.unique(t[valid])
            width = breaks.size + 1
            lin = s.linear
            start = np.where(lin, 0, valid.sum(axis=1))  # each position's tier below every break (r → 0+)
            # in ratio space: α·(P₀ r) + β + γ/(P₀ r) + δ/(P₀ r)²
            coefs = (s.alpha * m0[:, None], s.beta, s.gamma / m0[:, None], s.delta / (m0 * m0)[:, None])
            mi, mj = np.nonzero(valid)
            at = np.searchsorted(breaks, t[mi, mj], side="left") + 1  # the first segment at or above the break
            # crossing the break upward: linear tier j → j + 1, inverse tier j + 1 → j
            new_t = np.where(lin[mi], mj + 1, mj)
            old_t = np.where(lin[mi], mj, mj + 1)
            if dense:  # a row for every one of ``which``, in order
                local = np.searchsorted(which, rows_a)[local]
                rows_a = which
            out = []
            for x in coefs:
                diff = np.zeros((rows_a.size, width))
                np.add.at(diff, (local, np.zeros_like(local)), x[np.arange(sel.size), start])
                np.add.at(diff, (local[mi], at), x[mi, new_t] - x[mi, old_t])
                out.append(np.cumsum(diff, axis=1))
            tables.append(
                AssetTable(
                    asset=a,
                    rows=rows_a.astype(np.intp),
                    all_rows=rows_a.size == n_e,
                    breaks=breaks,
                    lower=np.concatenate([[-np.inf], breaks]),
                    upper=np.concatenate([breaks, [np.inf]]),
                    A=out[0],
                    B=out[1],
                    C=out[2],
                    D=out[3],
                    inverse=bool(np.any(~lin)),
                )
            )
        return tables

    # ------------------------------------------------------------------ evaluation at given ratios

    def _collateral(self, vals: FloatArray, collateral_prices: FloatArray | None) -> None:
        coll = self.trig.cross_coll
        if collateral_prices is not None and coll is not None and self.trig.n_cross:
            vals[: self.trig.n_cross] += coll.T @ (collateral_prices - self.coll0[:, None])

    def values(self, ratio: FloatArray, collateral_prices: FloatArray | None = None) -> FloatArray:
        """``wallet + Σ net`` (+ collateral moves) of the evaluated pools (E, S) at asset ratios (A, S) and
        collateral prices (n_collateral, S)."""
        vals = np.empty((self.evaluated.size, ratio.shape[1]))
        vals[:] = self.wallets[:, None]
        for tab in self.tables:
            r = ratio[tab.asset]
            tab.add(vals, r)
        self._collateral(vals, collateral_prices)
        return vals

    def flags(self, ratio: FloatArray, collateral_prices: FloatArray | None = None) -> BoolArray:
        """(unique pools, S) liquidation flags at asset ratios (A, S): evaluated pools by their value,
        barrier pools by their barrier."""
        out = np.zeros((self.n_unique, ratio.shape[1]), dtype=bool)
        out[self.evaluated] = self.values(ratio, collateral_prices) <= 0.0
        for bar in self.barriers:
            r = ratio[bar.asset]
            out[bar.down_pools] = r[None, :] <= bar.down[::-1, None]
            out[bar.up_pools] = r[None, :] >= bar.up[:, None]
        return out

    def liquidated(self, ratios: FloatArray, collateral_prices: FloatArray | None = None) -> dict[str, BoolArray]:
        """Per view, (S, G) pool flags at asset ratios (S, A), i.e. at the marks ``P₀ × r`` of each symbol's
        asset, and collateral prices (S, n_collateral): as :func:`margin.engine.evaluate`."""
        cp = None if collateral_prices is None else np.ascontiguousarray(np.asarray(collateral_prices).T)
        flags = self.flags(np.ascontiguousarray(np.asarray(ratios, dtype=np.float64).T), cp)
        return {
            view: np.where(cols >= 0, flags[np.maximum(cols, 0)].T, False)
            for view, cols in self.trig.view_pools.items()
        }


class _SoloState:
    """One solo table's segment and coefficients on every path, looked up again where a path left its segment."""

    def __init__(self, tab: AssetTable, paths: int) -> None:
        self.tab = tab
        self.k = tab.segment(np.ones(paths))
        self.lower = tab.lower[self.k]
        self.upper = tab.upper[self.k]
        self.coef = tuple(np.ascontiguousarray(c) for c in tab.coefficients(self.k))

    def coefficients(self, r: FloatArray) -> tuple[FloatArray, ...]:
        tab = self.tab
        out = (r < self.lower) | (r >= self.upper)
        if out.any():
            moved = np.flatnonzero(out)
            k = tab.segment(r[moved])
            self.k[moved] = k
            self.lower[moved] = tab.lower[k]
            self.upper[moved] = tab.upper[k]
            for mine, new in zip(self.coef, tab.coefficients(k), strict=True):
                mine[:, moved] = new
        return self.coef


class FirstTouch:
    """First liquidation hour of every unique pool on every path, stepped hour by hour (``NEVER``: none).

    Cross pools: the dense per-asset tables stacked, coefficients ``coef[c, table, pool, path]`` and the
    segment of every (table, path) (``lower ≤ r < upper``); a step looks a segment up again only where a
    path left it, then sums the tables. Evaluated isolated pools: one state per asset. Barrier pools: per
    asset the next barrier of every path.
    """

    def __init__(self, pools: SeparablePools, paths: int) -> None:
        self.pools = pools
        self.first = np.full((pools.n_unique, paths), NEVER, dtype=np.int32)
        self.first[pools.now] = 0
        self.first_e = np.ascontiguousarray(self.first[pools.evaluated])
        self.n_cross = n_c = pools.trig.n_cross
        tables = pools.cross_tables
        self.tables = tables
        self.table_asset = np.array([t.asset for t in tables], dtype=np.intp)
        self.all_assets = bool(np.array_equal(self.table_asset, np.arange(pools.n_assets)))
        n_t = len(tables)
        ones = np.ones(paths)
        self.k = np.array([t.segment(ones) for t in tables], dtype=np.intp).reshape(n_t, paths)
        self.lower = np.array([t.lower[k] for t, k in zip(tables, self.k, strict=True)]).reshape(n_t, paths)
        self.upper = np.array([t.upper[k] for t, k in zip(tables, self.k, strict=True)]).reshape(n_t, paths)
        self.inverse = any(t.inverse for t in tables)
        n_coef = 4 if self.inverse else 2
        self.coef = np.zeros((n_coef, n_t, n_c, paths))
        for i, t in enumerate(tables):
            for c, x in enumerate((t.A, t.B, t.C, t.D)[:n_coef]):
                self.coef[c, i] = x[:, self.k[i]]
        self.out = np.empty((n_t, paths), dtype=bool)
        self.above = np.empty((n_t, paths), dtype=bool)
        self.hit = np.empty((n_c, paths), dtype=bool)
        self.solo = [_SoloState(t, paths) for t in pools.solo_tables]
        self.term = np.empty((n_t, n_c, paths))
        self.vals = np.empty((n_c, paths))
        self.table_r = np.empty((n_t, paths))
        bars = pools.barriers
        self.down = [i for i, b in enumerate(bars) if b.down.size]
        self.up = [i for i, b in enumerate(bars) if b.up.size]
        self.down_asset = np.array([bars[i].asset for i in self.down], dtype=np.intp)
        self.up_asset = np.array([bars[i].asset for i in self.up], dtype=np.intp)
        self.n_down = np.zeros((len(self.down), paths), dtype=np.intp)
        self.n_up = np.zeros((len(self.up), paths), dtype=np.intp)
        self.next_down = np.array([np.full(paths, bars[i].down_next[0]) for i in self.down]).reshape(-1, paths)
        self.next_up = np.array([np.full(paths, bars[i].up_next[0]) for i in self.up]).reshape(-1, paths)
        self.r_down = np.empty((len(self.down), paths))
        self.r_up = np.empty((len(self.up), paths))
        self.reached_down = np.empty((len(self.down), paths), dtype=bool)
        self.reached_up = np.empty((len(self.up), paths), dtype=bool)

    def _segments(self, r: FloatArray) -> None:
        """Look up again the segments (and coefficients) of the (table, path) pairs outside theirs."""
        out = np.less(r, self.lower, out=self.out)
        out |= np.greater_equal(r, self.upper, out=self.above)
        if not out.any():
            return
        n_coef = self.coef.shape[0]
        for i in np.flatnonzero(out.any(axis=1)):
            tab = self.tables[i]
            coefs = (tab.A, tab.B, tab.C, tab.D)[:n_coef]
            moved = np.flatnonzero(out[i])
            k = tab.segment(r[i, moved])
            self.k[i, moved] = k
            self.lower[i, moved] = tab.lower[k]
            self.upper[i, moved] = tab.upper[k]
            for c, x in enumerate(coefs):
                self.coef[c, i][:, moved] = x[:, k]

    @staticmethod
    def _mark(hour: int, hit: BoolArray, first: npt.NDArray[np.int32]) -> None:
        """``first = hour`` where ``hit`` and not liquidated before."""
        if hit.any():
            hit &= first == NEVER
            first[hit] = hour

    def step(self, hour: int, ratio: FloatArray, collateral_prices: FloatArray | None) -> None:
        """Check every pool at the close of ``hour``: asset ratios (A, S), collateral prices (n_coll, S)."""
        pools = self.pools
        if self.tables:
            r = ratio if self.all_assets else np.take(ratio, self.table_asset, axis=0, out=self.table_r)
            self._segments(r)
            rr = r[:, None, :]
            term = np.multiply(self.coef[0], rr, out=self.term)
            term += self.coef[1]
            if self.inverse:
                inv = 1.0 / rr
                term += self.coef[2] * inv
                inv *= inv
                term += self.coef[3] * inv
            vals = np.sum(term, axis=0, out=self.vals)
            vals += pools.wallets[: self.n_cross, None]
            pools._collateral(vals, collateral_prices)
            self._mark(hour, np.less_equal(vals, 0.0, out=self.hit), self.first_e[: self.n_cross])
        for st in self.solo:
            r = ratio[st.tab.asset]
            rows = st.tab.rows
            vals = st.tab.term(r, st.coefficients(r))
            vals += pools.wallets[rows, None]
            hit = vals <= 0.0
            if hit.any():
                sub = self.first_e[rows]
                self._mark(hour, hit, sub)
                self.first_e[rows] = sub
        # a path reaches new down barriers when r ≤ the next one (the earlier closes stayed above it)
        if self.down:
            rb = np.take(ratio, self.down_asset, axis=0, out=self.r_down)
            reached = np.less_equal(rb, self.next_down, out=self.reached_down)
            if reached.any():
                for j in np.flatnonzero(reached.any(axis=1)):
                    bar = pools.barriers[self.down[j]]
                    moved = np.flatnonzero(reached[j])
                    count = bar.passed_down(rb[j, moved])
                    self._stamp(hour, moved, count, self.n_down[j], bar.down_pools)
                    self.next_down[j, moved] = bar.down_next[count]
        if self.up:
            rb = np.take(ratio, self.up_asset, axis=0, out=self.r_up)
            reached = np.greater_equal(rb, self.next_up, out=self.reached_up)
            if reached.any():
                for j in np.flatnonzero(reached.any(axis=1)):
                    bar = pools.barriers[self.up[j]]
                    moved = np.flatnonzero(reached[j])
                    count = bar.passed_up(rb[j, moved])
                    self._stamp(hour, moved, count, self.n_up[j], bar.up_pools)
                    self.next_up[j, moved] = bar.up_next[count]

    def _stamp(self, hour: int, moved: IntArray, count: IntArray, before: IntArray, ranked: IntArray) -> None:
        """Pools of ranks ``before[p] .. count − 1`` are reached on the paths ``moved`` at ``hour``."""
        lo = before[moved]
        n = count - lo
        path = np.repeat(moved, n)
        start = np.cumsum(n) - n
        rank = np.repeat(lo - start, n) + np.arange(int(n.sum()))
        self.first[ranked[rank], path] = hour
        before[moved] = count

    def so_far(self, unique: IntArray) -> npt.NDArray[np.int32]:
        """(k, paths) first liquidation hours so far of unique pools ``unique`` (−1: never, ``NEVER``)."""
        row = np.full(self.pools.n_unique, -1, dtype=np.intp)
        row[self.pools.evaluated] = np.arange(self.pools.evaluated.size)
        u = np.maximum(unique, 0)
        out = np.where((row[u] >= 0)[:, None], self.first_e[np.maximum(row[u], 0)], self.first[u])
        return np.asarray(np.where((unique >= 0)[:, None], out, NEVER), dtype=np.int32)

    def result(self) -> npt.NDArray[np.int32]:
        """(unique pools, paths) first liquidation hours."""
        self.first[self.pools.evaluated] = self.first_e
        return self.first
