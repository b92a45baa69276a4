"""What-if arithmetic behind the dashboard's pages (pure: numpy, no UI, no file access).

- :func:`shifted_marks`: the marks after a per-asset move (``portfolio-format.md`` §4, ``BTC=-20%``).
- :func:`choose_betas`: the betas a market move uses, estimated, hand-set or uniform (the single-index
  market model of :mod:`margin.scenarios`).
- :func:`fill_missing_volatilities`: the volatility given to an asset with no price history.
- :func:`market_pools`, :func:`liquidation_crossings`: each pool's equity and maintenance along a market
  move, and where it is liquidated (format §2 trigger); :func:`chart_pools`: the pools a chart draws
  (those a move liquidates first); :func:`view_at`: a view's worst pool and liquidated positions at one
  move; :func:`market_asset_moves`: a market move per asset, held above −100 %.
- :func:`frontier_map`: the two-asset frontier reduced to what its heatmap shows.

Every price history and sweep is computed by the caller and passed in: nothing here reads a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .frontier import FrontierResult
from .instruments import parse_symbol
from .marketdata import PriceHistory, annual_volatility, betas
from .scenarios import FALLBACK_BETA, MARKET_ASSET, MarketSweep, lookup_asset

FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------- per-asset moves


def shifted_marks(marks: Mapping[str, float], asset_moves: Mapping[str, float]) -> dict[str, float]:
    """New marks of the symbols whose base asset moves: ``P × (1 + move)``.

    ``portfolio-format.md`` §4: a base-asset target (``BTC=-20%``) moves every symbol whose base is that
    asset. Only moved symbols are returned (a zero move, or a symbol of another base, keeps its mark).
    """
    moves = {a: m for a, m in asset_moves.items() if m != 0.0}
    out: dict[str, float] = {}
    for symbol, mark in marks.items():
        inst = parse_symbol(symbol)
        if inst is not None and inst.base in moves:
            out[symbol] = mark * (1.0 + moves[inst.base])
    return out


# --------------------------------------------------------------------------- betas of a market move

#: where a β comes from (:attr:`BetaChoice.sources`)
ESTIMATED, HAND_SET, FALLBACK, UNIFORM = "estimated", "hand-set", "fallback", "uniform"


@dataclass(frozen=True)
class BetaChoice:
    """β of each base asset against the market asset, and where each came from."""

    betas: dict[str, float]
    sources: dict[str, str]  # asset -> ESTIMATED | HAND_SET | FALLBACK | UNIFORM
    market: str = MARKET_ASSET

    @property
    def fallbacks(self) -> list[str]:
        """The assets given :data:`margin.scenarios.FALLBACK_BETA` (no usable price history)."""
        return [a for a, s in self.sources.items() if s == FALLBACK]

    def pairs(self) -> tuple[tuple[str, float], ...]:
        """The betas as sorted pairs (a hashable cache key)."""
        return tuple(sorted(self.betas.items()))


def choose_betas(
    assets: Sequence[str],
    shipped: PriceHistory,
    *,
    refreshed: PriceHistory | None = None,
    given: Mapping[str, float] | None = None,
    uniform: bool = False,
    market: str = MARKET_ASSET,
) -> BetaChoice:
    """The betas of a market move ``m`` (each asset moves ``β × m``; :mod:`margin.scenarios`).

    - ``uniform``: β = 1 for every asset (every asset moves alike).
    - otherwise, per asset: a β ``given`` by hand (case-insensitive); the market asset itself β = 1;
      else ``β = cov(rᵢ, r_m) / var(r_m)`` of daily log returns (:func:`margin.marketdata.betas`; Sharpe
      1963, "A Simplified Model for Portfolio Analysis") over ``refreshed`` when it holds the market
      asset, else over ``shipped``; an asset with no finite estimate gets
      :data:`margin.scenarios.FALLBACK_BETA` (the rule of :func:`margin.scenarios.asset_betas`).
    """
    if uniform:
        return BetaChoice({a: 1.0 for a in assets}, {a: UNIFORM for a in assets}, market)
    hist = refreshed if refreshed is not None and market in refreshed.assets else shipped
    upper_given = {k.upper(): float(v) for k, v in (given or {}).items()}
    out: dict[str, float] = {}
    sources: dict[str, str] = {}
    for base in assets:
        name = lookup_asset(base)
        beta = math.nan
        if base.upper() in upper_given:
            out[base], sources[base] = upper_given[base.upper()], HAND_SET
            continue
        if name == market:
            beta = 1.0
        elif name in hist.assets and market in hist.assets:
            beta = betas(hist, [name], market)[name]
        if math.isfinite(beta):
            out[base], sources[base] = beta, ESTIMATED
        else:
            out[base], sources[base] = FALLBACK_BETA, FALLBACK
    return BetaChoice(out, sources, market)


# --------------------------------------------------------------------------- missing volatilities


@dataclass(frozen=True)
class VolatilityFill:
    """The assets without price history and the annual volatility they are given."""

    missing: tuple[str, ...]
    highest: float | None  # highest annual volatility of the history's assets (None: nothing missing)
    note: str  # "" when nothing is missing

    @property
    def volatility(self) -> float | None:
        """The volatility set for each missing asset: :attr:`highest` to 0.01 (the input's precision)."""
        return None if self.highest is None else round(self.highest, 2)


def fill_missing_volatilities(
    bases: Sequence[str], history: PriceHistory, market: str = MARKET_ASSET
) -> VolatilityFill:
    """Policy of the Stress page for an asset the history does not hold (e.g. WIF in the shipped closes).

    :func:`margin.risk.risk` needs a volatility for every asset (``--vol``, ``portfolio-format.md`` §5);
    an asset without history gets the highest annualised volatility of the history's assets
    (``std(daily log return) × √365``, :func:`margin.marketdata.annual_volatility`): the conservative
    choice, since assets without history are mostly small, volatile ones. It moves with the market asset
    (the one-factor correlation of :mod:`margin.risk`).
    """
    known = set(history.assets)
    missing = tuple(b for b in bases if lookup_asset(b) not in known)
    if not missing:
        return VolatilityFill((), None, "")
    finite = [v for v in annual_volatility(history).values() if math.isfinite(v)]
    highest = max(finite) if finite else math.nan
    note = (
        f"No shipped price history for {', '.join(missing)}: their volatility is set to {highest:.0%} a "
        f"year (the highest of the shipped assets) and they move with {market}"
    )
    return VolatilityFill(missing, highest, note)


# --------------------------------------------------------------------------- pools along a market move


@dataclass(frozen=True, eq=False)
class PoolSeries:
    """One margin pool holding positions, along the grid of market moves."""

    label: str  # "USDT cross", or the id of the isolated position
    settle: str
    mode: str  # "cross" | "isolated"
    equity: FloatArray  # (S,)
    maintenance: FloatArray  # (S,)
    members: tuple[int, ...] = ()  # the pool's positions (indices in input order)


@dataclass(frozen=True, eq=False)
class MarketPools:
    """Every view's pools holding positions along ``moves`` (market moves, fractions)."""

    moves: FloatArray
    views: dict[str, tuple[PoolSeries, ...]]
    ids: tuple[str, ...] = ()  # position ids in input order

    def index(self, move: float, tol: float = 1e-12) -> int | None:
        """The grid index of ``move`` when it is a grid point (within ``tol``), else ``None``."""
        if not self.moves.size:
            return None
        k = int(np.argmin(np.abs(self.moves - move)))
        return k if abs(float(self.moves[k]) - move) <= tol else None

    def settles(self) -> list[str]:
        """Settle assets of the pools, in order of first appearance."""
        return list(dict.fromkeys(p.settle for pools in self.views.values() for p in pools))


def market_pools(sweep: MarketSweep) -> MarketPools:
    """Each view's pools holding positions along a market sweep (:func:`margin.scenarios.market_sweep`:
    marks ``P × (1 + β × m)``), with their equity and maintenance; a pool without positions is left out
    (format §2: it is never liquidated)."""
    views: dict[str, tuple[PoolSeries, ...]] = {}
    ids: tuple[str, ...] = ()
    for view, ev in sweep.views.items():
        book = ev.book
        # every position (futures and options, format §6) by its input index; a pool holding only options is held
        index = [leg.index for leg in book.resolved.legs]
        pools = book.pool.tolist()
        labels = dict(zip(index, book.ids, strict=True))
        if book.options is not None:
            legs = book.options.arrays.legs
            index += [o.index for o in legs]
            pools += book.options.pool.tolist()
            labels.update((o.index, o.label) for o in legs)
        ids = tuple(labels[i] for i in sorted(labels))
        held = book.pool_held
        members: dict[int, list[int]] = {}
        for i, g in sorted(zip(index, pools, strict=True)):
            members.setdefault(g, []).append(i)
        equity = np.ascontiguousarray(ev.pool_equity.T, dtype=np.float64)  # (G, S): one row per pool
        maintenance = np.ascontiguousarray(ev.pool_maintenance.T, dtype=np.float64)
        views[view] = tuple(
            PoolSeries(
                f"{book.pool_settle[g]} cross" if p is None else book.ids[p],
                book.pool_settle[g],
                book.pool_mode[g],
                equity[g],
                maintenance[g],
                tuple(members[g]),
            )
            for g, p in enumerate(book.pool_position)
            if held[g]
        )
    return MarketPools(np.asarray(sweep.moves, dtype=np.float64), views, ids)


def liquidation_crossings(moves: FloatArray, equity: FloatArray, maintenance: FloatArray) -> list[int]:
    """Grid indices where a pool is first liquidated going down, then going up, from the move nearest 0.

    Liquidated where equity ≤ maintenance (``portfolio-format.md`` §2, trigger). Going down: the highest
    liquidated index at or below the zero move; going up: the lowest at or above it; a side with no
    liquidated point gives nothing.
    """
    zero = int(np.argmin(np.abs(np.asarray(moves))))
    dead = np.asarray(equity) <= np.asarray(maintenance)
    hits: list[int] = []
    down = np.flatnonzero(dead[: zero + 1])
    if down.size:
        hits.append(int(down[-1]))
    up = np.flatnonzero(dead[zero:])
    if up.size:
        hits.append(zero + int(up[0]))
    return hits


#: isolated pools a chart draws one by one (the others are counted, not drawn)
CHART_POOLS = 8


@dataclass(frozen=True, eq=False)
class ChartPools:
    """The pools of one view a chart draws: every cross pool and the isolated pools a market move
    liquidates first; how many others there are and how near the nearest of them is."""

    shown: tuple[PoolSeries, ...]
    hidden: int
    hidden_reach: float  # |the grid move nearest 0 that liquidates one of the others| (inf: none does)


def nearest_trigger(moves: FloatArray, pools: Sequence[PoolSeries]) -> FloatArray:
    """Per pool: |the grid move nearest 0 at which it is liquidated| (either way; ``inf`` where no grid
    move does), the order in which a market move reaches their triggers (format §2: equity ≤ maintenance)."""
    if not pools:
        return np.zeros(0)
    m = np.asarray(moves, dtype=np.float64)
    dead = np.stack([p.equity <= p.maintenance for p in pools])  # (k, S)
    far = np.where(dead, np.abs(m)[None, :], np.inf)
    return np.asarray(far.min(axis=1), dtype=np.float64)


def chart_pools(moves: FloatArray, pools: Sequence[PoolSeries], limit: int = CHART_POOLS) -> ChartPools:
    """Every cross pool, then the ``limit`` isolated pools a market move liquidates first (ties: the
    higher margin ratio, maintenance / equity, at the move nearest 0, then input order), in input order.
    (A sum of the other pools would be no pool — its lines crossing is no liquidation — and would dwarf
    the pools drawn, so the others are only counted.)"""
    cross = [p for p in pools if p.mode != "isolated"]
    iso = [p for p in pools if p.mode == "isolated"]
    if len(iso) <= limit:
        return ChartPools(tuple(cross + iso), 0, math.inf)
    zero = int(np.argmin(np.abs(np.asarray(moves))))
    reach = nearest_trigger(moves, iso)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.array([p.maintenance[zero] / p.equity[zero] if p.equity[zero] > 0 else np.inf for p in iso])
    order = np.lexsort((np.arange(len(iso)), -ratio, reach))
    keep = sorted(order[:limit].tolist())
    rest = order[limit:]
    return ChartPools(tuple(cross + [iso[k] for k in keep]), int(rest.size), float(reach[rest].min()))


@dataclass(frozen=True)
class ViewAtMove:
    """One view at one market move: its worst pool and the positions of its liquidated pools."""

    worst_ratio: float | None  # maintenance / equity of the worst pool holding positions; None: equity ≤ 0
    worst_pool: str | None  # its label (None: no pool holds positions)
    liquidated: tuple[str, ...]  # ids of the positions whose pool is liquidated, in input order


def view_at(pools: Sequence[PoolSeries], k: int, ids: Sequence[str]) -> ViewAtMove:
    """Each pool at grid index ``k``: liquidated where equity ≤ maintenance (format §2); margin ratio
    maintenance / equity, undefined (``None``, the worst) where equity ≤ 0 (format §4)."""
    worst: float | None = -math.inf
    worst_pool: str | None = None
    dead: list[int] = []
    for p in pools:
        eq, mm = float(p.equity[k]), float(p.maintenance[k])
        if eq <= mm:
            dead.extend(p.members)
        ratio = None if eq <= 0 else mm / eq
        if worst is not None and (ratio is None or ratio > worst):
            worst, worst_pool = ratio, p.label
    if worst_pool is None:
        worst = None
    return ViewAtMove(worst, worst_pool, tuple(ids[i] for i in sorted(dead)))


#: the lowest move a market move gives an asset: −99.99 % (the clip of :func:`margin.scenarios.market_sweep`;
#: a price cannot go through zero)
ASSET_MOVE_FLOOR = -0.9999


@dataclass(frozen=True)
class MarketMove:
    """A market move turned into each base asset's move, ``β × m``, held at :data:`ASSET_MOVE_FLOOR`."""

    move: float
    asset_moves: dict[str, float]  # base asset -> its move (clamped)
    clamped: dict[str, float]  # base asset -> the move β × m it would have made (at or below −100 %)

    def shocks(self) -> tuple[str, ...]:
        """The asset moves as ``--shock`` targets (``BTC=-0.2``, format §4; exact float text)."""
        return tuple(f"{a}={m!r}" for a, m in self.asset_moves.items() if m != 0.0)


def market_asset_moves(move: float, betas: Mapping[str, float]) -> MarketMove:
    """Each base asset's move under the market move ``move``: ``β × move`` (the single-index model of
    :mod:`margin.scenarios`), held at :data:`ASSET_MOVE_FLOOR` where it would take the price to or
    through zero (a β above 1.11 with a fall of 90 % does); those assets are listed in ``clamped``."""
    raw = {a: float(b) * move for a, b in betas.items()}
    clamped = {a: m for a, m in raw.items() if m < ASSET_MOVE_FLOOR}
    return MarketMove(move, {a: max(m, ASSET_MOVE_FLOOR) for a, m in raw.items()}, clamped)


# --------------------------------------------------------------------------- the frontier heatmap


@dataclass(frozen=True, eq=False)
class FrontierMap:
    """The frontier as its heatmap shows it: each view's worst-pool margin ratio on the grid and the share
    of grid cells where the view is liquidated."""

    x: str
    y: str
    moves_x: FloatArray
    moves_y: FloatArray
    margin_ratio: dict[str, FloatArray]  # view -> (ny, nx), +inf where a pool's equity ≤ 0
    liquidated_share: dict[str, float]  # view -> fraction of cells liquidated


def frontier_map(result: FrontierResult) -> FrontierMap:
    """Reduce :func:`margin.frontier.frontier`'s result (format §5 ``frontier``) to a :class:`FrontierMap`:
    the share liquidated is (cells liquidated) / (all cells) of the grid."""
    return FrontierMap(
        result.x,
        result.y,
        result.moves_x,
        result.moves_y,
        {v: m.margin_ratio for v, m in result.modes.items()},
        {v: float(np.count_nonzero(m.liquidated)) / float(m.liquidated.size) for v, m in result.modes.items()},
    )
