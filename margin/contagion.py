"""Contagion, step by step: liquidation cascades along a shock or a price path, and the impact feedback loop.

What happens to a book when prices move and the venue starts closing positions (issue 3, items 3-4):
which position's loss drains a cross pool, the order in which pools reach their trigger, what every
liquidation does (fee, fill price, partial reduction where the venue does it, what is left of the
collateral), and the same path with every position isolated. Optionally the forced trades move the
price (square-root or linear impact) and the loop is iterated to a fixed point.

Model (every rule states its source; where a venue's rule is not published the choice is said so)
----------------------------------------------------------------------------------------------------

**Path.** An instant shock (``margin.shocks``; moves per symbol and per collateral asset) is walked
from 0 to the full move in ``steps`` equal increments of ``t ∈ [0, 1]`` (marks ``P₀·(1 + t·move)``),
a price path (T × n_symbols marks) as given. Pools are evaluated on the whole remaining path at once
(:func:`margin.engine.evaluate` on a (T, n_symbols) matrix) to find the first step at which any pool
meets its trigger (equity ≤ maintenance, format §2 / ``margin-models.md`` §0.1 and §10); then the
loop runs over liquidation EVENTS (few), never over scenarios or positions.

**Fill price** (``fill``). Venues watch the mark continuously and liquidate "when the Mark Price hits
the liquidation price" (§1.2, B5; §6 H1; §10 "trigger price: mark"). ``"crossing"`` (default): the
marks are taken as linear between two steps and the crossing point is located by repeated
subdivision of that segment (to ~1e-12 of the segment), so a position is closed at its trigger
price. ``"step"``: no fill between steps, the market gaps from one step to the next (gap risk; an
instant shock with ``steps=1`` is a pure gap): fills happen at the step's marks, possibly beyond the
bankruptcy price.

**A triggered pool** (at fixed marks, repeated until the pool is healthy or empty):

1. equity ≤ 0 at the fill → ``bankrupt``: every position of the pool is closed, the pool's negative
   equity is the insurance fund's (B5 step 3; §10 row "bankrupt"), collateral left 0.
2. Hyperliquid: equity < 2/3 × maintenance → backstop liquidation: every position of the pool goes to
   the liquidator vault and "the MM is not returned" (§6, H1): collateral left 0 (event
   ``liquidated``, ``mechanism`` ``backstop``).
3. otherwise one position is reduced (``order``, default ``"maintenance"``: the position with the
   largest maintenance margin, the one whose reduction frees the most requirement; ``"loss"``: the
   largest unrealised loss first). No venue publishes the order in which a cross account's positions
   are closed: this is a model choice. The reduction depends on the venue (``partial``):

   - ``restore`` (Binance USDⓈ-M / COIN-M, generic, Deribit): the smallest fraction that brings the
     pool's margin ratio (maintenance / equity, after the fee) down to ``restore_ratio`` (default 0.8),
     "Binance avoids full liquidation whenever possible" with "one large IOC reduce order" (§1.5, B5
     step 2; Deribit "incremental", §10); full close when no fraction does. The target ratio is not
     published: 0.8 is a model choice (a target of exactly 1 would re-trigger at the next tick and
     liquidate in infinitesimal slices along a continuous path).
   - ``tiers`` (OKX, Bybit): the position is cut to the floor of its current risk tier, tier by tier,
     and closed in full from the lowest tier (§4 O1/O2 process; §3.5 Y5 "partial first when above the
     lowest risk tier").
   - ``chunks`` (Hyperliquid): positions above 100,000 USDC notional are liquidated 20 % at a time
     (§6, H1); the 30 s cooldown is not modelled (fixed marks: the chunks follow each other).
   - ``none`` (dYdX; per-block limits of §7 not modelled): full close.

   A reduction that would leave less than 1 % of the original size (``MIN_REMAINING``) closes the
   position in full (a model choice, against endless slivers). The closed part's unrealised PnL is
   realised into the pool's wallet and the liquidation fee is charged on the closed notional at the
   fill mark, capped at the pool's positive equity (the fee is paid from what is left, as dYdX's
   ``min(fee, leftover)``, §7). ``takeover=True`` models B5 step 3 instead: when a position must be
   closed in full, all the pool's positions are taken over at the bankruptcy price and the pool's
   collateral is lost (event ``liquidated``, mechanism ``takeover``).

**Liquidation fee rates** (defaults, overridable with ``fee``: one rate or ``{symbol|base: rate}``):
Binance USDⓈ-M / COIN-M and generic 0.5 % (§1.5: ``liquidationFee`` of ``/fapi/v1/exchangeInfo``,
"e.g. 0.005 in freqtrade's fixture"; the COIN-M rate is not in the retrieved text, the USDⓈ-M one is
used); dYdX 0.5 % (``max_liquidation_fee_ppm`` default, §7); Deribit 0.75 % (BTC) / 0.9 % (ETH), 0.75 %
for others (D1, §5.1); Bybit, OKX, Hyperliquid: the portfolio's taker fee, the "fee to close" they
reserve or the market orders they send (§3.5 Y4, §4 O1, §6 H1; OKX's liquidation penalty rate and a
Bybit liquidation fee are not in the retrieved text).

**Attribution.** ``drained_by`` gives, for the pool of an event, each position's PnL from the start of
the path to the fill (realised + unrealised, fees apart), most negative first: the positions whose
losses drained the pool.

**Feedback loop** (``impact``). Closing a long sells (price down), closing a short buys (price up).
The signed quote notional of the forced trades of one symbol over the run, ``F`` (sells negative),
moves that symbol by

- ``sqrt``: ``ΔP/P = sign(F) × Y × σ_daily × √(|F| / V_daily)`` — the square-root impact law
  (Tóth, Lemperière, Deremble, de Lataillade, Kockelkoren, Bouchaud, "Anomalous price impact and the
  critical nature of liquidity in financial markets", Phys. Rev. X 1, 021006 (2011); Bouchaud,
  Bonart, Donier, Gould, "Trades, Quotes and Prices", CUP 2018, ch. 12), ``Y`` = ``strength`` (≈ 1);
- ``linear``: ``ΔP/P = strength × F / depth`` (a linear order book of ``depth`` quote per 100 % move),

floored at −99 %. Defaults per base asset: ``σ_daily`` = standard deviation of daily log returns over
the last 365 days of ``fixtures/market-data/daily_close.csv``; ``V_daily`` = median over the shipped
crash windows (``fixtures/market-data/intraday``) of the mean hourly quote volume (volume × close)
× 24 — Binance SPOT volume, a deliberately rough scale (perpetual volume is larger, crash-day volume
higher than usual); unknown assets: σ 5 %/day, V 5e7 quote (illustrative). ``depth`` defaults to
``0.1 × V / σ``: the linear book that gives the square-root law's move at ``F = 1 %`` of daily volume
(a model choice). Every default can be overridden per symbol or base asset (``daily_volatility``,
``daily_volume``, ``depth``).

The book's own forced trades are applied after the path (the observed path already holds the
market's own liquidations): the path is extended by an impact leg from the path's last marks to
``× (1 + D)`` (walked like a shock), the run is repeated with ``D`` = the impact of that run's forced
trades, ``D₀ = 0``, until ``max |D_{k+1} − D_k| ≤ tolerance`` (or ``max_iterations``). Liquidations of
the path itself are unchanged by ``D``, so impact never reduces the positions lost, and zero impact
(``impact="none"`` or ``strength=0``) returns the plain run itself. Amplification = final move / initial
move of the main symbol (the one with the largest absolute initial move, first on ties); every
symbol's final move is reported too.

**Views** (format §2): ``as_is``, ``cross`` and ``isolated`` are run independently on the same path.
``collateral_left`` of a view is its account value at the end (every pool's wallet plus the PnL of its
open positions at the final marks, the unallocated collateral included); ``loss`` = account value at
the start of the path − ``collateral_left``. In a step, ``collateral_left`` is the pool's wallet after
the event (realised collateral), ``equity_before``/``equity_after`` the pool's equity around it.
Amounts are in the settle asset; a view's total adds pools of different settle assets only when they
are all USD stablecoins or all the same asset (else ``null``, see ``by_settle``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, compile_book, evaluate
from .errors import PortfolioError, Problem
from .instruments import parse_symbol
from .loader import default_daily_volumes
from .marketdata import annual_volatility, load_daily_closes
from .portfolio import Resolved
from .shocks import Shock, combine, parse_shock
from .venues import VENUES, LiquidationRules

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

IMPACT_LAWS: tuple[str, ...] = ("none", "sqrt", "linear")
FILLS: tuple[str, ...] = ("crossing", "step")
ORDERS: tuple[str, ...] = ("maintenance", "loss")
EVENTS: tuple[str, ...] = ("liquidated", "partially_liquidated", "bankrupt")
USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "TUSD", "USDE"})
FALLBACK_DAILY_VOLATILITY = 0.05
FALLBACK_DAILY_VOLUME = 5e7
#: a partial liquidation that would leave less than this fraction of the original size closes it all
MIN_REMAINING = 0.01
_REFINE_ROUNDS = 8
_REFINE_POINTS = 16
_MAX_EVENTS = 20_000


# --------------------------------------------------------------------------- venue rules


#: each venue's liquidation process, as its venue module states it (``Venue.liquidation``)
LIQUIDATION_RULES: dict[str, LiquidationRules] = {name: v.liquidation for name, v in VENUES.items()}


# --------------------------------------------------------------------------- impact defaults


# default_daily_volumes (shipped hourly quote volumes) is read by margin.loader, imported above


@lru_cache(maxsize=1)
def default_daily_volatilities() -> dict[str, float]:
    """σ of daily log returns per base asset over the last 365 days of the shipped daily closes."""
    hist = load_daily_closes().window(365)
    return {a: v / math.sqrt(365.0) for a, v in annual_volatility(hist).items() if math.isfinite(v)}


def impact_move(
    law: str, flow: float, *, daily_volatility: float, daily_volume: float, depth: float, strength: float = 1.0
) -> float:
    """Relative price move caused by a signed forced flow ``flow`` (quote notional, sells negative).

    ``sqrt``: ``sign(F)·Y·σ_daily·√(|F|/V_daily)`` (Tóth et al. 2011; Bouchaud et al. 2018);
    ``linear``: ``Y·F/depth``; ``none``: 0. Floored at −0.99 (prices stay positive).
    """
    if law == "none" or flow == 0.0 or strength == 0.0:
        return 0.0
    if law == "sqrt":
        move = math.copysign(strength * daily_volatility * math.sqrt(abs(flow) / daily_volume), flow)
    elif law == "linear":
        move = strength * flow / depth
    else:
        raise ValueError(f"unknown impact law {law!r}")
    return max(move, -0.99)


# --------------------------------------------------------------------------- parameters

_PARAM_KEYS = (
    "steps",
    "fill",
    "order",
    "fee",
    "takeover",
    "partial",
    "strength",
    "daily_volatility",
    "daily_volume",
    "depth",
    "tolerance",
    "max_iterations",
    "merge_partials",
    "impact_steps",
    "restore_ratio",
)


@dataclass(frozen=True)
class CascadeParams:
    """Validated options of :func:`cascade` (see the module docstring)."""

    steps: int = 400
    impact_steps: int = 200
    fill: str = "crossing"
    order: str = "maintenance"
    fee: float | dict[str, float] | None = None
    takeover: bool = False
    partial: bool = True
    strength: float = 1.0
    daily_volatility: dict[str, float] = field(default_factory=dict)
    daily_volume: dict[str, float] = field(default_factory=dict)
    depth: dict[str, float] = field(default_factory=dict)
    tolerance: float = 1e-9
    max_iterations: int = 50
    merge_partials: bool = True
    restore_ratio: float = 0.8


def _positive_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)) and v > 0


def _rate_map(
    name: str, value: object, problems: list[Problem], *, allow_zero: bool = False, upper: float | None = None
) -> dict[str, float]:
    def ok(v: object) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            return False
        return (v >= 0 if allow_zero else v > 0) and (upper is None or v < upper)

    rule = f"must be a number {'>= 0' if allow_zero else '> 0'}" + (f" and < {upper:g}" if upper else "")
    if not isinstance(value, Mapping):
        problems.append(Problem(f"params.{name}", f"must be an object of symbol or base asset: value ({rule})", value))
        return {}
    out: dict[str, float] = {}
    for k, v in value.items():
        if not ok(v):
            problems.append(Problem(f"params.{name}[{k!r}]", rule, v))
        else:
            out[str(k)] = float(v)
    return out


def parse_params(params: Mapping[str, object] | CascadeParams | None) -> CascadeParams:
    """Validate ``params`` (a dict of the fields of :class:`CascadeParams`); raises PortfolioError."""
    if params is None:
        return CascadeParams()
    if isinstance(params, CascadeParams):
        return params
    problems: list[Problem] = []
    if not isinstance(params, Mapping):
        raise PortfolioError([Problem("params", "must be an object", params)])
    for k in params:
        if k not in _PARAM_KEYS:
            problems.append(Problem(f"params.{k}", f"is not a cascade parameter ({', '.join(_PARAM_KEYS)})", params[k]))
    kw: dict[str, Any] = {}
    for key, lo, hi in (("steps", 1, 100_000), ("impact_steps", 1, 100_000), ("max_iterations", 1, 10_000)):
        if key in params:
            v = params[key]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                problems.append(Problem(f"params.{key}", f"must be an integer from {lo} to {hi}", v))
            else:
                kw[key] = v
    for key, choices in (("fill", FILLS), ("order", ORDERS)):
        if key in params:
            v = params[key]
            if v not in choices:
                problems.append(Problem(f"params.{key}", f"must be one of {', '.join(choices)}", v))
            else:
                kw[key] = v
    for key in ("takeover", "partial", "merge_partials"):
        if key in params:
            v = params[key]
            if not isinstance(v, bool):
                problems.append(Problem(f"params.{key}", "must be true or false", v))
            else:
                kw[key] = v
    if "strength" in params:
        v = params["strength"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or v < 0:
            problems.append(Problem("params.strength", "must be a number >= 0", v))
        else:
            kw["strength"] = float(v)
    if "restore_ratio" in params:
        v = params["restore_ratio"]
        if not _positive_number(v) or v >= 1:  # type: ignore[operator]
            problems.append(Problem("params.restore_ratio", "must be a number > 0 and < 1", v))
        else:
            kw["restore_ratio"] = float(v)  # type: ignore[arg-type]
    if "tolerance" in params:
        v = params["tolerance"]
        if not _positive_number(v):
            problems.append(Problem("params.tolerance", "must be a number > 0", v))
        else:
            kw["tolerance"] = float(v)  # type: ignore[arg-type]
    if "fee" in params:
        v = params["fee"]
        if isinstance(v, Mapping):
            kw["fee"] = _rate_map("fee", v, problems, allow_zero=True, upper=0.1)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or not 0 <= v < 0.1:
            problems.append(
                Problem(
                    "params.fee",
                    "must be a rate >= 0 and < 0.1 (0.005 = 0.5 %) or an object of symbol or base asset: rate",
                    v,
                )
            )
        else:
            kw["fee"] = float(v)
    for key in ("daily_volatility", "daily_volume", "depth"):
        if key in params:
            kw[key] = _rate_map(key, params[key], problems)
    if problems:
        raise PortfolioError(problems)
    return CascadeParams(**kw)


def _lookup(table: Mapping[str, float], symbol: str) -> float | None:
    """A per-symbol value given by exact symbol or by base asset (case-insensitive)."""
    if symbol in table:
        return table[symbol]
    inst = parse_symbol(symbol)
    base = inst.base.upper() if inst else symbol.upper()
    for k, v in table.items():
        if k.upper() == base:
            return v
    return None


@dataclass(frozen=True)
class ImpactModel:
    """Impact parameters per base asset (every contract on one base moves together) and the law."""

    law: str
    strength: float
    bases: tuple[str, ...]
    of_symbol: npt.NDArray[np.intp]  # base index of each book symbol
    daily_volatility: FloatArray
    daily_volume: FloatArray
    depth: FloatArray

    def moves(self, flow: FloatArray) -> FloatArray:
        """Per-symbol moves from per-symbol forced flows (summed per base asset)."""
        per_base = np.bincount(self.of_symbol, weights=flow, minlength=len(self.bases))
        d = np.array(
            [
                impact_move(
                    self.law,
                    float(f),
                    daily_volatility=float(s),
                    daily_volume=float(v),
                    depth=float(dp),
                    strength=self.strength,
                )
                for f, s, v, dp in zip(per_base, self.daily_volatility, self.daily_volume, self.depth, strict=True)
            ]
        )
        return d[self.of_symbol] if d.size else np.zeros(len(self.of_symbol))

    def describe(self) -> dict[str, object]:
        return {
            "law": self.law,
            "strength": self.strength,
            "per_base": {
                b: {
                    "daily_volatility": float(self.daily_volatility[k]),
                    "daily_volume": float(self.daily_volume[k]),
                    "depth": float(self.depth[k]),
                }
                for k, b in enumerate(self.bases)
            },
        }


def impact_model(symbols: Sequence[str], law: str, params: CascadeParams) -> ImpactModel:
    """Impact parameters of the base assets of ``symbols``: ``params`` overrides (by base asset or by a
    symbol of that base), else the documented defaults."""
    vols = default_daily_volatilities() if law != "none" else {}
    volumes = default_daily_volumes() if law != "none" else {}
    bases: list[str] = []
    of_symbol = []
    for s in symbols:
        inst = parse_symbol(s)
        base = inst.base.upper() if inst else s
        if base not in bases:
            bases.append(base)
        of_symbol.append(bases.index(base))
    sig, vol, dep = [], [], []
    for base in bases:
        group = [x for x, b in zip(symbols, of_symbol, strict=True) if bases[b] == base]

        def given(table: Mapping[str, float], group: list[str] = group) -> float | None:
            for x in group:
                v = _lookup(table, x)
                if v is not None:
                    return v
            return None

        sv, vv, dv = given(params.daily_volatility), given(params.daily_volume), given(params.depth)
        sigma = sv if sv is not None else vols.get(base, FALLBACK_DAILY_VOLATILITY)
        volume = vv if vv is not None else volumes.get(base, FALLBACK_DAILY_VOLUME)
        sig.append(sigma)
        vol.append(volume)
        dep.append(dv if dv is not None else 0.1 * volume / sigma)
    return ImpactModel(
        law,
        params.strength,
        tuple(bases),
        np.array(of_symbol, dtype=np.intp),
        np.array(sig),
        np.array(vol),
        np.array(dep),
    )


# --------------------------------------------------------------------------- results


@dataclass
class ViewCascade:
    """One view's cascade: the step table and the totals."""

    view: str
    steps: list[dict[str, object]]
    positions_lost: int
    positions_reduced: int
    positions_open: int
    collateral_start: float | None
    collateral_left: float | None
    by_settle: dict[str, dict[str, float]]
    fees: float
    insurance_fund: float
    impact: dict[str, float]
    final_moves: dict[str, float]
    amplification: float | None
    iterations: int
    converged: bool
    positions_lost_without_impact: int
    flows: dict[str, float]

    @property
    def loss(self) -> float | None:
        if self.collateral_start is None or self.collateral_left is None:
            return None
        return self.collateral_start - self.collateral_left

    def to_dict(self) -> dict[str, object]:
        return {
            "steps": self.steps,
            "positions_lost": self.positions_lost,
            "collateral_left": self.collateral_left,
            "loss": self.loss,
            "collateral_start": self.collateral_start,
            "positions_reduced": self.positions_reduced,
            "positions_open": self.positions_open,
            "fees": self.fees,
            "insurance_fund": self.insurance_fund,
            "by_settle": self.by_settle,
            "impact": self.impact,
            "forced_flow": self.flows,
            "final_moves": self.final_moves,
            "amplification": self.amplification,
            "extra_positions_lost": self.positions_lost - self.positions_lost_without_impact,
            "iterations": self.iterations,
            "converged": self.converged,
        }


@dataclass
class CascadeResult:
    """Every view's cascade along one path (``to_dict``: the ``cascade`` JSON of format §5)."""

    venue: str
    kind: str
    moves: dict[str, float]
    impact: str
    main_symbol: str | None
    initial_move: float | None
    modes: dict[str, ViewCascade]
    impact_model: dict[str, object] | None
    params: CascadeParams

    @property
    def amplification(self) -> float | None:
        """Amplification of the ``as_is`` view (the portfolio as given), else of the first view run."""
        view = self.modes.get("as_is") or next(iter(self.modes.values()))
        return view.amplification

    def to_dict(self) -> dict[str, object]:
        return {
            "venue": self.venue,
            "kind": self.kind,
            "shock": self.moves,
            "impact": self.impact,
            "main_symbol": self.main_symbol,
            "initial_move": self.initial_move,
            "amplification": self.amplification,
            "modes": {v: m.to_dict() for v, m in self.modes.items()},
            "comparison": {
                v: {
                    "loss": m.loss,
                    "positions_lost": m.positions_lost,
                    "collateral_left": m.collateral_left,
                    "extra_positions_lost": m.positions_lost - m.positions_lost_without_impact,
                }
                for v, m in self.modes.items()
            },
            "impact_model": self.impact_model,
            "params": {
                "steps": self.params.steps,
                "fill": self.params.fill,
                "order": self.params.order,
                "takeover": self.params.takeover,
                "partial": self.params.partial,
            },
        }


# --------------------------------------------------------------------------- the simulation of one view


@dataclass
class _Path:
    marks: FloatArray  # (T, n_sym)
    coll: FloatArray | None  # (T, A) collateral prices, or None
    phase: list[str]
    t: FloatArray  # (T,) position along the path (shock fraction, or bar index)


class _Run:
    """One view along one path: the state that liquidations change, and the event loop."""

    def __init__(
        self, book: Book, path: _Path, rules: LiquidationRules, params: CascadeParams, main: int | None
    ) -> None:
        self.book0 = book
        self.path = path
        self.rules = rules
        self.params = params
        self.main = main
        res = book.resolved
        n, g = book.n_positions, book.n_pools
        self.size = book.size.copy()
        self.mm_entry = book.mm_entry.copy()
        self.mmr_entry = book.mmr_entry.copy()
        self.open = np.ones(n, dtype=bool)
        self.adj = np.zeros(g)
        self.cw = book.collateral_weight.copy()
        self.realised = np.zeros(n)
        self.fees = np.zeros(n)
        self.insurance = 0.0
        self.flow = np.zeros(len(book.symbols))
        self.reduced = np.zeros(n, dtype=bool)
        self.steps: list[dict[str, object]] = []
        self._cur_c: FloatArray | None = None if path.coll is None else path.coll[0]
        self.fee_rate = np.array([self._fee_rate(i) for i in range(n)])
        self.labels = [
            f"cross {book.pool_settle[k]}"
            if book.pool_mode[k] == "cross"
            else f"isolated {book.ids[int(book.pool_position[k])]}"  # type: ignore[arg-type]
            for k in range(g)
        ]
        self.base_marks = path.marks[0]
        ev0 = self._eval(path.marks[:1], None if path.coll is None else path.coll[:1])
        self.start_upnl = ev0.upnl[0].copy()
        self.start_equity = ev0.pool_equity[0].copy()
        self.inverse_settle = [res.legs[i].settle for i in range(n)]

    # ---- state -> engine
    def _fee_rate(self, i: int) -> float:
        p, r = self.params, self.rules
        sym = self.book0.symbols[int(self.book0.sym[i])]
        if isinstance(p.fee, float):
            return p.fee
        if isinstance(p.fee, dict):
            v = _lookup(p.fee, sym)
            if v is not None:
                return v
        if r.fee_by_base:
            v = _lookup(r.fee_by_base, sym)
            if v is not None:
                return v
        return r.fee if r.fee is not None else float(self.book0.resolved.taker_fee)

    def _book(self) -> Book:
        return replace(
            self.book0,
            size=self.size,
            mm_entry=self.mm_entry,
            mmr_entry=self.mmr_entry,
            pool_wallet=self.book0.pool_wallet + self.adj,
            collateral_weight=self.cw,
        )

    @dataclass
    class _Eval:
        upnl: FloatArray
        maintenance: FloatArray
        notional: FloatArray
        pool_equity: FloatArray
        pool_maintenance: FloatArray
        wallet: FloatArray

    def _eval(self, marks: FloatArray, coll: FloatArray | None) -> _Run._Eval:
        """Engine evaluation at (S, n_sym) marks with the current state; closed positions removed."""
        bk = self._book()
        ev = evaluate(bk, marks, collateral_prices=coll)
        mm_pool = ev.pool_maintenance
        closed = np.flatnonzero(~self.open)
        if closed.size:
            corr = np.zeros((marks.shape[0], bk.n_pools))
            np.add.at(corr.T, bk.pool[closed], ev.maintenance[:, closed].T)
            mm_pool = mm_pool - corr
        wallet = np.broadcast_to(bk.wallet_at(None if coll is None else np.atleast_2d(coll)), ev.pool_equity.shape)
        return _Run._Eval(ev.upnl, ev.maintenance, ev.notional, ev.pool_equity, mm_pool, wallet)

    def _xc_row(self) -> FloatArray | None:
        return None if self._cur_c is None else self._cur_c[None, :]

    def _live(self) -> BoolArray:
        return np.bincount(self.book0.pool[self.open], minlength=self.book0.n_pools) > 0

    def _triggered(self, ev: _Run._Eval) -> BoolArray:
        return self._live()[None, :] & (ev.pool_equity <= ev.pool_maintenance)

    # ---- main loop
    def run(self) -> None:
        marks, coll = self.path.marks, self.path.coll
        n_rows = marks.shape[0]
        cur = marks[0].copy()
        cur_c = None if coll is None else coll[0].copy()
        cur_t = float(self.path.t[0])
        cur_phase = self.path.phase[0]
        r = 1
        events = 0
        while events < _MAX_EVENTS:
            ev = self._eval(cur[None, :], None if cur_c is None else cur_c[None, :])
            trig = self._triggered(ev)[0]
            if trig.any():
                # the pool furthest past its trigger first, then pool order
                gap = ev.pool_equity[0] - ev.pool_maintenance[0]
                g = int(np.flatnonzero(trig)[np.argmin(gap[trig])])
                self._liquidate_pool(g, cur, cur_c, cur_t, cur_phase)
                events += 1
                continue
            if r >= n_rows:
                break
            k_hit = -1
            start = r
            window = 8
            while start < n_rows:
                stop = min(n_rows, start + window)
                evw = self._eval(marks[start:stop], None if coll is None else coll[start:stop])
                hit = self._triggered(evw).any(axis=1)
                if hit.any():
                    k_hit = start + int(np.argmax(hit))
                    break
                start = stop
                window *= 4
            if k_hit < 0:
                break
            a = cur if k_hit == r else marks[k_hit - 1]
            ac = cur_c if k_hit == r else (None if coll is None else coll[k_hit - 1])
            ta = cur_t if k_hit == r else float(self.path.t[k_hit - 1])
            b, bc, tb = marks[k_hit], None if coll is None else coll[k_hit], float(self.path.t[k_hit])
            tau = 1.0 if self.params.fill == "step" else self._refine(a, b, ac, bc)
            if tau >= 1.0:
                cur, cur_c, cur_t = b.copy(), None if bc is None else bc.copy(), tb
                r = k_hit + 1
            else:
                cur = a + tau * (b - a)
                cur_c = None if ac is None or bc is None else ac + tau * (bc - ac)
                cur_t = ta + tau * (tb - ta)
                r = k_hit
            cur_phase = self.path.phase[k_hit]

    def _refine(self, a: FloatArray, b: FloatArray, ac: FloatArray | None, bc: FloatArray | None) -> float:
        """Smallest τ ∈ (0, 1] (to ~16⁻¹⁰ of the segment) at which some pool is triggered on a → b."""
        lo, hi = 0.0, 1.0
        k = _REFINE_POINTS
        for _ in range(_REFINE_ROUNDS):
            taus = lo + (hi - lo) * np.arange(1, k + 1) / k
            m = a[None, :] + taus[:, None] * (b - a)[None, :]
            c = None if ac is None or bc is None else ac[None, :] + taus[:, None] * (bc - ac)[None, :]
            hit = self._triggered(self._eval(m, c)).any(axis=1)
            if not hit.any():  # numerical corner: the end of the segment is the first triggered point
                return hi
            j = int(np.argmax(hit))
            lo, hi = (lo if j == 0 else float(taus[j - 1])), float(taus[j])
        return hi

    # ---- one pool at fixed marks
    def _liquidate_pool(self, g: int, x: FloatArray, xc: FloatArray | None, t: float, phase: str) -> None:
        bk0 = self.book0
        self._cur_c = xc
        members_all = np.flatnonzero(bk0.pool == g)
        guard = 0
        while True:
            guard += 1
            ev = self._eval(x[None, :], None if xc is None else xc[None, :])
            eq, mm = float(ev.pool_equity[0, g]), float(ev.pool_maintenance[0, g])
            members = members_all[self.open[members_all]]
            if members.size == 0 or eq > mm:
                return
            drained = self._drained(ev, members_all)
            if eq <= 0.0:
                self._close_all(g, ev, x, t, phase, "bankrupt", "bankrupt", drained)
                return
            if self.rules.backstop is not None and eq < self.rules.backstop * mm:
                self._close_all(g, ev, x, t, phase, "liquidated", "backstop", drained)
                return
            up, mmp = ev.upnl[0, members], ev.maintenance[0, members]
            key = np.lexsort((-mmp, up)) if self.params.order == "loss" else np.lexsort((up, -mmp))
            i = int(members[key[0]])
            f = self._fraction(i, ev, x, g) if self.params.partial and guard < 200 else 1.0
            if f < 1.0 and self.size[i] * (1.0 - f) < MIN_REMAINING * bk0.size[i]:
                f = 1.0
            if f >= 1.0 and self.params.takeover:
                self._close_all(g, ev, x, t, phase, "liquidated", "takeover", drained)
                return
            self._close(i, f, g, ev, x, t, phase, drained, "market" if f >= 1.0 else self.rules.partial)

    def _drained(self, ev: _Run._Eval, members: npt.NDArray[np.intp]) -> dict[str, float]:
        pnl = self.realised[members] + np.where(self.open[members], ev.upnl[0, members], 0.0) - self.start_upnl[members]
        order = np.argsort(pnl, kind="stable")[:5]
        return {self.book0.ids[int(members[j])]: float(pnl[j]) for j in order}

    def _mm_at_size(self, i: int, sizes: FloatArray, mark: float) -> FloatArray:
        """Maintenance in force of position ``i`` at several sizes, fixed mark (the book's margin model)."""
        return self.book0.model.at_sizes(self.book0, i, sizes, mark)

    def _fraction(self, i: int, ev: _Run._Eval, x: FloatArray, g: int) -> float:
        """Fraction of position ``i`` the venue closes now (module docstring, ``partial``)."""
        bk = self.book0
        mode = self.rules.partial
        mark = float(x[int(bk.sym[i])])
        size = float(self.size[i])
        notional = float(ev.notional[0, i])
        if mode == "none":
            return 1.0
        if mode == "chunks":
            quote = size if bk.inverse[i] else notional
            return self.rules.chunk_fraction if quote > self.rules.chunk_notional else 1.0
        if mode == "tiers":
            table = bk.resolved.tables[bk.symbols[int(bk.sym[i])]]
            valued = float(bk.model.tier_notional(bk, i, size, notional))
            k = table.index(valued)
            if k == 0:
                return 1.0
            target = table.tiers[k].min_notional * (1.0 - 1e-12)
            return float(min(1.0, max(0.0, 1.0 - target / valued)))
        # restore: smallest fraction with maintenance ≤ restore_ratio × (equity − fee) after the reduction
        eq = float(ev.pool_equity[0, g])
        mm_other = float(ev.pool_maintenance[0, g]) - float(ev.maintenance[0, i])
        rate = float(self.fee_rate[i])

        target = self.params.restore_ratio

        def margin(fr: FloatArray) -> FloatArray:
            return target * (eq - rate * fr * notional) - mm_other - self._mm_at_size(i, size * (1.0 - fr), mark)

        grid = np.arange(1, 1025) / 1024.0
        ok = margin(grid) > 0
        if not ok.any() or (ok[-1] and not ok[:-1].any()):
            return 1.0
        j = int(np.argmax(ok))
        lo, hi = (0.0 if j == 0 else float(grid[j - 1])), float(grid[j])
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            if margin(np.array([mid]))[0] > 0:
                hi = mid
            else:
                lo = mid
        return hi if hi < 1.0 else 1.0

    def _account_value(self, ev: _Run._Eval) -> float:
        return float(ev.pool_equity[0].sum())

    def _record(
        self,
        i: int,
        event: str,
        g: int,
        eq_before: float,
        x: FloatArray,
        t: float,
        phase: str,
        fee: float,
        frac: float,
        closed_notional: float,
        realised: float,
        drained: dict[str, float],
        mechanism: str,
        xc: FloatArray | None = None,
    ) -> None:
        bk = self.book0
        ev = self._eval(x[None, :], None if xc is None else xc[None, :])
        j = int(bk.sym[i])
        row: dict[str, object] = {
            "move": None if self.main is None else float(x[self.main] / self.base_marks[self.main] - 1.0),
            "event": event,
            "position": bk.ids[i],
            "equity_before": eq_before,
            "equity_after": float(ev.pool_equity[0, g]),
            "collateral_left": float(ev.wallet[0, g]),
            "positions_open": int(self.open.sum()),
            "pool": self.labels[g],
            "settle": bk.pool_settle[g],
            "symbol": bk.symbols[j],
            "price": float(x[j]),
            "symbol_move": float(x[j] / self.base_marks[j] - 1.0),
            "t": t,
            "phase": phase,
            "closed_fraction": frac,
            "closed_notional": closed_notional,
            "realized_pnl": realised,
            "fee": fee,
            "mechanism": mechanism,
            "maintenance_after": float(ev.pool_maintenance[0, g]),
            "account_value": self._account_value(ev),
            "drained_by": drained,
        }
        self.steps.append(row)

    def _close(
        self,
        i: int,
        f: float,
        g: int,
        ev: _Run._Eval,
        x: FloatArray,
        t: float,
        phase: str,
        drained: dict[str, float],
        mechanism: str,
    ) -> None:
        bk = self.book0
        eq_before = float(ev.pool_equity[0, g])
        notional = float(ev.notional[0, i])
        closed_n = f * notional
        fee = min(float(self.fee_rate[i]) * closed_n, max(eq_before, 0.0))
        realised = f * float(ev.upnl[0, i])
        self.adj[g] += realised - fee
        self.realised[i] += realised
        self.fees[i] += fee
        quote = f * float(self.size[i]) if bk.inverse[i] else closed_n
        self.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
        if f >= 1.0:
            self.size[i] = 0.0
            self.open[i] = False
            self.mm_entry[i] = 0.0
        else:
            self.size[i] *= 1.0 - f
            self.reduced[i] = True
            if bk.at_entry[i]:
                self._reset_entry_mm(i)
        after = self._eval(x[None, :], self._xc_row())
        if not self._live()[g] and after.wallet[0, g] < 0:
            self.insurance += -float(after.wallet[0, g])
            self.adj[g] -= float(after.wallet[0, g])
        event = "liquidated" if f >= 1.0 else "partially_liquidated"
        if eq_before <= 0:
            event = "bankrupt"
        self._record(i, event, g, eq_before, x, t, phase, fee, f, closed_n, realised, drained, mechanism)

    def _reset_entry_mm(self, i: int) -> None:
        """The model's entry valuation of position ``i`` at its reduced size."""
        bk = self.book0
        j = np.array([i])
        rule = bk.model.position_rule(
            bk.tiers, bk.sym[j], self.size[j], bk.entry[j], bk.inverse[j], bk.isolated[j], 0.0
        )
        self.mm_entry[i] = float(rule.mm_entry[0])
        self.mmr_entry[i] = float(rule.mmr_entry[0])

    def _close_all(
        self,
        g: int,
        ev: _Run._Eval,
        x: FloatArray,
        t: float,
        phase: str,
        event: str,
        mechanism: str,
        drained: dict[str, float],
    ) -> None:
        """Every open position of pool ``g`` closed at once; the pool's collateral is lost (to the insurance
        fund / liquidator vault; negative equity absorbed by the insurance fund)."""
        bk = self.book0
        eq_before = float(ev.pool_equity[0, g])
        members = np.flatnonzero((bk.pool == g) & self.open)
        for i in members:
            realised = float(ev.upnl[0, i])
            self.realised[i] += realised
            self.adj[g] += realised
            quote = float(self.size[i]) if bk.inverse[i] else float(ev.notional[0, i])
            self.flow[int(bk.sym[i])] += -float(bk.sign[i]) * quote
            self.size[i] = 0.0
            self.open[i] = False
            self.mm_entry[i] = 0.0
        # the pool's wallet (and any backing collateral) is gone
        if g < self.cw.shape[1]:
            self.cw[:, g] = 0.0
        wallet = float(self._eval(x[None, :], self._xc_row()).wallet[0, g])
        if eq_before < 0:
            self.insurance += -eq_before
        self.adj[g] -= wallet
        for n_done, i in enumerate(members):
            self._record(
                int(i),
                event,
                g,
                eq_before if n_done == 0 else 0.0,
                x,
                t,
                phase,
                0.0,
                1.0,
                float(ev.notional[0, i]),
                float(ev.upnl[0, i]),
                drained,
                mechanism,
            )

    # ---- summary
    def summary(self) -> tuple[dict[str, dict[str, float]], float | None, float | None]:
        bk = self.book0
        last = self.path.marks[-1:]
        coll = None if self.path.coll is None else self.path.coll[-1:]
        ev = self._eval(last, coll)
        by: dict[str, dict[str, float]] = {}
        for g, s in enumerate(bk.pool_settle):
            d = by.setdefault(s, {"collateral_start": 0.0, "collateral_left": 0.0})
            d["collateral_start"] += float(self.start_equity[g])
            d["collateral_left"] += float(ev.pool_equity[0, g])
        settles = set(by)
        if len(settles) == 1 or settles <= USD_LIKE:
            return by, sum(d["collateral_start"] for d in by.values()), sum(d["collateral_left"] for d in by.values())
        return by, None, None


def _merge_partials(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    """Consecutive partial liquidations of one position (nothing else in between) as one row."""
    out: list[dict[str, object]] = []
    for row in steps:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev["event"] == "partially_liquidated"
            and row["event"] == "partially_liquidated"
            and prev["position"] == row["position"]
        ):
            # the row says where the liquidation started (move, price, equity before: the first partial)
            # and where it ended (the last partial's move, price, equity and collateral after)
            merged = dict(prev)
            merged["move_last"] = row["move"]
            merged["price_last"] = row["price"]
            merged["symbol_move_last"] = row["symbol_move"]
            for key in ("equity_after", "collateral_left", "positions_open", "maintenance_after", "account_value"):
                if key in row:
                    merged[key] = row[key]
            merged["t_last"] = row["t"]
            for key in ("fee", "closed_notional", "realized_pnl"):
                merged[key] = float(prev[key]) + float(row[key])  # type: ignore[arg-type]
            kept = (1.0 - float(prev["closed_fraction"])) * (1.0 - float(row["closed_fraction"]))  # type: ignore[arg-type]
            merged["closed_fraction"] = 1.0 - kept
            merged["merged_events"] = int(prev.get("merged_events", 1)) + 1  # type: ignore[call-overload]
            out[-1] = merged
        else:
            out.append(row)
    return out


# --------------------------------------------------------------------------- drivers


def _views(views: Sequence[str]) -> tuple[str, ...]:
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        raise PortfolioError([Problem("views", f"must be a non-empty list of {', '.join(VIEWS)}", list(views))])
    return tuple(views)


def _impact_name(impact: str) -> str:
    if impact not in IMPACT_LAWS:
        raise PortfolioError([Problem("impact", f"must be one of {', '.join(IMPACT_LAWS)}", impact)])
    return impact


def _leg(start: FloatArray, end: FloatArray, steps: int, t0: float, t1: float) -> tuple[FloatArray, FloatArray]:
    frac = np.arange(steps + 1, dtype=np.float64) / steps
    return start[None, :] + frac[:, None] * (end - start)[None, :], t0 + frac * (t1 - t0)


def _simulate(
    resolved: Resolved,
    base: _Path,
    law: str,
    params: CascadeParams,
    views: tuple[str, ...],
    main: int | None,
    path_move: FloatArray,
) -> tuple[dict[str, ViewCascade], ImpactModel | None]:
    rules = resolved.venue.liquidation
    books = {v: compile_book(resolved, v) for v in views}
    symbols = next(iter(books.values())).symbols
    model = impact_model(symbols, law, params) if law != "none" else None
    out: dict[str, ViewCascade] = {}
    for view, book in books.items():

        def run_with(d: FloatArray, book: Book = book) -> _Run:
            path = base
            if np.any(d != 0.0):
                end = base.marks[-1]
                leg, tt = _leg(end, end * (1.0 + d), params.impact_steps, 0.0, 1.0)
                coll = (
                    None
                    if base.coll is None
                    else np.vstack([base.coll, np.repeat(base.coll[-1:], leg.shape[0] - 1, 0)])
                )
                path = _Path(
                    np.vstack([base.marks, leg[1:]]),
                    coll,
                    base.phase + ["impact"] * (leg.shape[0] - 1),
                    np.concatenate([base.t, tt[1:]]),
                )
            r = _Run(book, path, rules, params, main)
            r.run()
            return r

        d = np.zeros(len(symbols))
        plain = run_with(d)
        run = plain
        iterations, converged = 1, True
        if model is not None:
            converged = False
            for _ in range(params.max_iterations):
                d_new = model.moves(run.flow)
                if float(np.max(np.abs(d_new - d), initial=0.0)) <= params.tolerance:
                    converged = True
                    break
                d = d_new
                run = run_with(d)
                iterations += 1
        by, c0, c1 = run.summary()
        final = path_move + d + path_move * d  # (1 + m)(1 + D) − 1, exactly m when D = 0
        final_moves = {s: float(final[j]) for j, s in enumerate(symbols) if final[j] != 0.0}
        amp = None
        if main is not None and path_move[main] != 0.0:
            amp = float(final[main] / path_move[main])
        steps = _merge_partials(run.steps) if params.merge_partials else run.steps
        out[view] = ViewCascade(
            view=view,
            steps=steps,
            positions_lost=int((~run.open).sum()),
            positions_reduced=int((run.reduced & run.open).sum()),
            positions_open=int(run.open.sum()),
            collateral_start=c0,
            collateral_left=c1,
            by_settle=by,
            fees=float(run.fees.sum()),
            insurance_fund=run.insurance,
            impact={s: float(d[j]) for j, s in enumerate(symbols) if d[j] != 0.0},
            final_moves=final_moves,
            amplification=amp,
            iterations=iterations,
            converged=converged,
            positions_lost_without_impact=int((~plain.open).sum()),
            flows={s: float(run.flow[j]) for j, s in enumerate(symbols) if run.flow[j] != 0.0},
        )
    return out, model


def cascade(
    resolved: Resolved,
    shocks: Sequence[Shock | str] | Mapping[str, float],
    impact: str = "none",
    params: Mapping[str, object] | CascadeParams | None = None,
    views: Sequence[str] = ("cross", "isolated", "as_is"),
) -> CascadeResult:
    """Liquidation cascade of an instant shock, walked from 0 to the full move (module docstring).

    ``shocks``: :class:`Shock` objects, ``"BTC=-20%"`` strings, or ``{target: move}`` (targets as in
    ``--shock``: ``ALL``, a base asset, a symbol, a collateral asset). Raises :class:`PortfolioError`
    for a bad impact name, bad params or bad shocks.
    """
    law = _impact_name(impact)
    p = parse_params(params)
    vs = _views(views)
    if isinstance(shocks, Mapping):
        items: list[Shock] = []
        problems: list[Problem] = []
        for k, v in shocks.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or v <= -1:
                problems.append(Problem(f"shocks[{k!r}]", "must be a move above -100% (a fraction, -0.2)", v))
            else:
                items.append(Shock(str(k), float(v)))
        if problems:
            raise PortfolioError(problems)
    else:
        items = [s if isinstance(s, Shock) else parse_shock(s) for s in shocks]
    backing = resolved.portfolio.collateral_assets
    moves = combine(items, list(resolved.marks), list(backing))
    symbols = list(resolved.marks)
    move_vec = np.array([moves.get(s, 0.0) for s in symbols])
    m0 = np.array([resolved.marks[s] for s in symbols], dtype=np.float64)
    marks, t = _leg(m0, m0 * (1.0 + move_vec), p.steps, 0.0, 1.0)
    coll = None
    if backing:
        c0 = np.array([c.price for c in backing.values()])
        c1 = np.array([c.price * (1.0 + moves.get(a, 0.0)) for a, c in backing.items()])
        coll, _ = _leg(c0, c1, p.steps, 0.0, 1.0)
    main = int(np.argmax(np.abs(move_vec))) if symbols and np.any(move_vec != 0) else None
    initial = None if main is None else float(move_vec[main])
    path = _Path(marks, coll, ["shock"] * marks.shape[0], t)
    modes, model = _simulate(resolved, path, law, p, vs, main, move_vec)
    return CascadeResult(
        venue=resolved.venue.name,
        kind="shock",
        moves=moves,
        impact=law,
        main_symbol=None if main is None else symbols[main],
        initial_move=initial,
        modes=modes,
        impact_model=None if model is None else model.describe(),
        params=p,
    )


def cascade_path(
    resolved: Resolved,
    marks_path: FloatArray,
    impact: str = "none",
    params: Mapping[str, object] | CascadeParams | None = None,
    views: Sequence[str] = ("cross", "isolated", "as_is"),
) -> CascadeResult:
    """Liquidation cascade along a price path: (T, n_symbols) marks, columns in ``resolved.marks`` order,
    walked as given (row 0 is the start; ``t`` of a step is its row index, fractional at a crossing)."""
    law = _impact_name(impact)
    p = parse_params(params)
    vs = _views(views)
    symbols = list(resolved.marks)
    m = np.asarray(marks_path, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(symbols) or m.shape[0] < 1:
        raise PortfolioError(
            [
                Problem(
                    "marks_path",
                    f"must be a (T, {len(symbols)}) array of marks (columns {', '.join(symbols)})",
                    tuple(np.shape(m)),
                )
            ]
        )
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise PortfolioError([Problem("marks_path", "must hold finite marks > 0", "non-positive or NaN entries")])
    backing = resolved.portfolio.collateral_assets
    coll = np.repeat(np.array([[c.price for c in backing.values()]]), m.shape[0], 0) if backing else None
    end_moves = m[-1] / m[0] - 1.0
    main = int(np.argmax(np.abs(end_moves))) if symbols and np.any(end_moves != 0) else None
    initial = None if main is None else float(end_moves[main])
    path = _Path(m, coll, ["path"] * m.shape[0], np.arange(m.shape[0], dtype=np.float64))
    modes, model = _simulate(resolved, path, law, p, vs, main, end_moves)
    moves = {s: float(end_moves[j]) for j, s in enumerate(symbols) if end_moves[j] != 0}
    return CascadeResult(
        venue=resolved.venue.name,
        kind="path",
        moves=moves,
        impact=law,
        main_symbol=None if main is None else symbols[main],
        initial_move=initial,
        modes=modes,
        impact_model=None if model is None else model.describe(),
        params=p,
    )


def path_from_history(resolved: Resolved, closes: FloatArray, assets: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Marks path (T, n_symbols) that applies an asset history's relative moves to the current marks.

    Each symbol follows the history column of its base asset: ``mark × close_t / close_0`` (missing
    closes carried forward); symbols whose base is not in ``assets`` stay at their mark (returned).
    """
    symbols = list(resolved.marks)
    c = np.asarray(closes, dtype=np.float64)
    out = np.empty((c.shape[0], len(symbols)))
    flat: list[str] = []
    upper = [a.upper() for a in assets]
    for j, s in enumerate(symbols):
        inst = parse_symbol(s)
        base = inst.base.upper() if inst else ""
        if base in upper:
            col = c[:, upper.index(base)].copy()
            for k in range(col.size):
                if not math.isfinite(col[k]):
                    col[k] = col[k - 1] if k else math.nan
            first = np.flatnonzero(np.isfinite(col))
            if first.size == 0:
                out[:, j] = resolved.marks[s]
                flat.append(s)
                continue
            col[: first[0]] = col[first[0]]
            out[:, j] = resolved.marks[s] * col / col[0]
        else:
            out[:, j] = resolved.marks[s]
            flat.append(s)
    return out, flat


__all__ = [
    "EVENTS",
    "IMPACT_LAWS",
    "LIQUIDATION_RULES",
    "CascadeParams",
    "CascadeResult",
    "ImpactModel",
    "LiquidationRules",
    "ViewCascade",
    "cascade",
    "cascade_path",
    "default_daily_volatilities",
    "default_daily_volumes",
    "impact_model",
    "impact_move",
    "parse_params",
    "path_from_history",
]
