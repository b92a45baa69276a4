"""Shocks as data: relative moves, a market move with betas, k-sigma moves and collateral shocks.

A :class:`ShockSet` combines

- relative moves per symbol, per base asset or for ``ALL`` (:mod:`margin.shocks`, format §4);
- a market move: each asset moves ``β × m`` where ``m`` is the move of the market asset (BTC) and
  ``β = cov(rᵢ, r_m) / var(r_m)`` of daily log returns (:func:`margin.marketdata.betas`) or set by hand
  (the single-index market model, Sharpe 1963, "A Simplified Model for Portfolio Analysis");
- a k-sigma move: each asset moves ``exp(k × σᵢ × √(h / 365)) − 1``, σᵢ its annualised volatility
  (:func:`margin.marketdata.annual_volatility`) and h the horizon in days (log-normal prices);
- collateral shocks: a non-settle collateral asset (format extension ``collateral_assets``) losing
  value, counted at its haircut.

The moves compound per symbol (``∏(1 + move) − 1``). Every shock set is evaluated in the three views
(``as_is``, ``cross``, ``isolated``) at once (OpenGamma Strata's "scenario as data" style).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Evaluation, compile_book, evaluate_views
from .errors import PortfolioError, Problem
from .instruments import symbol_base, underlying_asset
from .marketdata import PriceHistory, annual_volatility, betas, load_daily_closes
from .portfolio import Resolved
from .report import evaluate_view
from .shocks import Shock, combine

FloatArray = npt.NDArray[np.float64]

MARKET_ASSET = "BTC"
#: window of daily history for estimated betas and volatilities (days)
DEFAULT_WINDOW_DAYS = 365
#: β used for an asset with no price history and no β set by hand: the median of the ten shipped
#: assets' one-year betas to BTC is about 1.3-1.4; 1.5 is a deliberately conservative round figure
FALLBACK_BETA = 1.5


#: the asset name in the price history for a contract base (one rule: :func:`margin.instruments.underlying_asset`)
lookup_asset = underlying_asset


def bases_of(resolved: Resolved) -> list[str]:
    """Base assets of the portfolio's symbols, in order of first appearance."""
    out: list[str] = []
    for symbol in resolved.marks:
        base = symbol_base(symbol)  # an option's column moves with its base (format §6.5)
        if base is not None and base not in out:
            out.append(base)
    return out


@dataclass(frozen=True)
class ShockSet:
    """A what-if scenario: every component optional; they compound."""

    relative: tuple[Shock, ...] = ()
    market_move: float | None = None
    betas: Mapping[str, float] | None = None
    sigma: float | None = None
    volatilities: Mapping[str, float] | None = None
    horizon_days: float = 1.0
    window_days: int = DEFAULT_WINDOW_DAYS
    collateral: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedMoves:
    """The moves a shock set gives a portfolio, with what was estimated and how."""

    symbol_moves: dict[str, float]
    collateral_moves: dict[str, float]
    asset_moves: dict[str, float]
    betas: dict[str, float]
    volatilities: dict[str, float]
    fallbacks: list[str]


def _history(window_days: int) -> PriceHistory:
    return load_daily_closes().window(window_days + 1)


def asset_betas(
    assets: Sequence[str],
    given: Mapping[str, float] | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    market: str = MARKET_ASSET,
) -> tuple[dict[str, float], list[str]]:
    """β of each base asset against ``market``: given by hand, else estimated from daily returns over
    ``window_days``; an asset with neither gets :data:`FALLBACK_BETA` (listed in the second result)."""
    hist = _history(window_days)
    out: dict[str, float] = {}
    fallbacks: list[str] = []
    upper_given = {k.upper(): float(v) for k, v in (given or {}).items()}
    for base in assets:
        name = lookup_asset(base)
        if base.upper() in upper_given:
            out[base] = upper_given[base.upper()]
        elif name == market:
            out[base] = 1.0
        elif name in hist.assets:
            beta = betas(hist, [name], market)[name]
            if math.isfinite(beta):
                out[base] = beta
            else:
                out[base] = FALLBACK_BETA
                fallbacks.append(base)
        else:
            out[base] = FALLBACK_BETA
            fallbacks.append(base)
    return out, fallbacks


def asset_volatilities(
    assets: Sequence[str], given: Mapping[str, float] | None = None, window_days: int = DEFAULT_WINDOW_DAYS
) -> dict[str, float]:
    """Annualised volatility per base asset: given by hand, else from daily closes over ``window_days``.

    Raises :class:`PortfolioError` for an asset with neither (naming the asset and the fix).
    """
    hist = _history(window_days)
    upper_given = {k.upper(): float(v) for k, v in (given or {}).items()}
    out: dict[str, float] = {}
    problems: list[Problem] = []
    for base in assets:
        name = lookup_asset(base)
        if base.upper() in upper_given:
            out[base] = upper_given[base.upper()]
        elif name in hist.assets and math.isfinite(annual_volatility(hist, [name])[name]):
            out[base] = annual_volatility(hist, [name])[name]
        else:
            problems.append(
                Problem(
                    "--vol",
                    f"has no volatility for {base}: it has no shipped price history; "
                    f"set it by hand ({base}=0.8 for 80 % a year)",
                    base,
                )
            )
    if problems:
        raise PortfolioError(problems)
    return out


def resolve_moves(resolved: Resolved, shock_set: ShockSet) -> ResolvedMoves:
    """Per-symbol and per-collateral-asset moves of ``shock_set`` on ``resolved``."""
    symbols = list(resolved.marks)
    backing = list(resolved.portfolio.collateral_assets)
    problems: list[Problem] = []
    factor = {s: 1.0 for s in symbols}
    base_of = {s: symbol_base(s) or s for s in symbols}
    assets = bases_of(resolved)
    asset_factor = {a: 1.0 for a in assets}
    beta_used: dict[str, float] = {}
    vols: dict[str, float] = {}
    fallbacks: list[str] = []
    if shock_set.market_move is not None:
        m = shock_set.market_move
        if not math.isfinite(m) or m <= -1:
            problems.append(Problem("market_move", "must be above -100%", m))
        else:
            beta_used, fallbacks = asset_betas(assets, shock_set.betas, shock_set.window_days)
            for a in assets:
                move = beta_used[a] * m
                if move <= -1:
                    problems.append(
                        Problem(
                            f"beta.{a}",
                            f"times the market move {m:+.1%} takes {a} to or below zero (a move of -100% or below)",
                            beta_used[a],
                        )
                    )
                asset_factor[a] *= 1 + move
    if shock_set.sigma is not None:
        if not math.isfinite(shock_set.sigma):
            problems.append(Problem("sigma", "must be a finite number of standard deviations", shock_set.sigma))
        elif not (shock_set.horizon_days > 0):
            problems.append(Problem("horizon_days", "must be > 0", shock_set.horizon_days))
        else:
            try:
                vols = asset_volatilities(assets, shock_set.volatilities, shock_set.window_days)
            except PortfolioError as err:
                problems.extend(err.problems)
            for a, vol in vols.items():
                asset_factor[a] *= math.exp(shock_set.sigma * vol * math.sqrt(shock_set.horizon_days / 365.0))
    collateral_moves: dict[str, float] = {}
    try:
        relative = combine(shock_set.relative, symbols, backing)
    except PortfolioError as err:
        problems.extend(err.problems)
        relative = {}
    for name, move in shock_set.collateral.items():
        if name not in backing:
            problems.append(
                Problem(
                    f"collateral.{name}",
                    f"is not a collateral asset of the portfolio ({', '.join(backing) or 'none'})",
                    name,
                )
            )
        elif not math.isfinite(move) or move <= -1:
            problems.append(Problem(f"collateral.{name}", "must be above -100%", move))
        else:
            collateral_moves[name] = (1 + collateral_moves.get(name, 0.0)) * (1 + move) - 1
    if problems:
        raise PortfolioError(problems)
    for name, move in relative.items():
        if name in factor:
            factor[name] *= 1 + move
        else:
            collateral_moves[name] = (1 + collateral_moves.get(name, 0.0)) * (1 + move) - 1
    for s in symbols:
        factor[s] *= asset_factor[base_of[s]]
    symbol_moves = {s: f - 1.0 for s, f in factor.items() if f != 1.0}
    asset_moves = {a: f - 1.0 for a, f in asset_factor.items() if f != 1.0}
    return ResolvedMoves(symbol_moves, collateral_moves, asset_moves, beta_used, vols, fallbacks)


def evaluate_shock_set(resolved: Resolved, shock_set: ShockSet) -> dict[str, object]:
    """The three views after ``shock_set``: the ``evaluate`` document (format §4) plus the moves used."""
    moves = resolve_moves(resolved, shock_set)
    market = resolved.market.moved({**moves.symbol_moves, **moves.collateral_moves})
    return {
        "venue": resolved.venue.name,
        "shock": {**moves.symbol_moves, **moves.collateral_moves},
        "asset_moves": moves.asset_moves,
        "betas": moves.betas,
        "volatilities": moves.volatilities,
        "beta_fallbacks": moves.fallbacks,
        "modes": {view: evaluate_view(resolved, view, market).to_dict() for view in VIEWS},
    }


@dataclass(frozen=True, eq=False)
class MarketSweep:
    """Each view along a grid of market moves (asset moves β × m): pool arrays (S, G)."""

    moves: FloatArray
    asset_moves: FloatArray  # (S, n_symbols): the move of each symbol at each grid point
    views: dict[str, Evaluation]


def market_sweep(
    resolved: Resolved,
    moves: FloatArray,
    betas_given: Mapping[str, float] | None = None,
    use_betas: bool = True,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> MarketSweep:
    """Evaluate every view at every market move ``m`` of ``moves``: symbol marks × (1 + β × m)
    (β = 1 for all when ``use_betas`` is false: a uniform move). Moves that would take an asset to or
    below zero are clipped at −99.99 % for that asset (and only that asset)."""
    m = np.asarray(moves, dtype=np.float64).ravel()
    books = {v: compile_book(resolved, v) for v in VIEWS}
    symbols = books["as_is"].symbols
    assets = bases_of(resolved)
    beta_map, _ = asset_betas(assets, betas_given, window_days) if use_betas else ({a: 1.0 for a in assets}, [])
    beta_sym = np.array([beta_map[symbol_base(s)] for s in symbols])  # type: ignore[index]
    sym_moves = np.maximum(m[:, None] * beta_sym[None, :], -0.9999)
    marks = books["as_is"].marks[None, :] * (1.0 + sym_moves)
    return MarketSweep(moves=m, asset_moves=sym_moves, views=evaluate_views(books, marks))
