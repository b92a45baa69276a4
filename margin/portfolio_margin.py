"""Risk-unit kernel of the ``portfolio`` view (``portfolio-format.md`` §6.4): one USD pool across settle
assets, a scenario grid per underlying, contingencies, ``sum`` or ``correlated`` aggregation, ``mm_factor``,
haircuts and the liquidation moves of each risk unit.

Pure numpy, float64, no account parsing, no I/O: the engine fills a :class:`Book` (risk units, :class:`Legs`,
:class:`Assets`) from its resolved portfolio and calls :func:`evaluate_portfolio`. Prices come from the
options kernel (:func:`margin.options.black76`, :func:`margin.options.scenario_iv`,
:func:`margin.options.scenario_grid`).

The model (§6.4), in the terms of this module:

- A leg's amount in its settle asset: linear future ``n·(F − entry)``, inverse future ``n·(1/entry − 1/F)``
  (``n`` its USD face), option ``n·V(F, K, T, σ)``, ÷ F when coin-settled (§6.2); ``n = side × contracts ×
  contract_size``, ``F`` the future's mark or the option's forward.
- USD equity ``= Σ_assets (balance + Σ its legs' amounts) × USD price × (1 − haircut)``: each asset's net
  amount is haircut, so a loss is haircut too; the sum is linear, so every leg and balance contributes apart.
- A move of risk unit ``B`` multiplies every price of ``B`` (futures marks, option forwards, ``S_B`` and so
  the USD price of the asset ``B``) by ``1 + move``; scenario moves compound on a moved state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import PortfolioError, Problem
from .options import (
    DEFAULT_BUCKETS,
    DEFAULT_EXTENDED_MOVES,
    DEFAULT_EXTENDED_WEIGHT,
    VOL_STATES,
    YEAR_DAYS,
    ScenarioGrid,
    VolParams,
    black76,
    price,
    price_delta,
    scenario_grid,
    scenario_iv,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: vol-state codes of :func:`account_usd_equity` (index into :data:`margin.options.VOL_STATES`)
VOL_UP, VOL_UNCHANGED, VOL_DOWN = 0, 1, 2

#: §6.4 liquidation scan: equal steps to each end, and the ends (−95 %, +500 %)
LIQUIDATION_STEPS = 2000
LIQUIDATION_DOWN = -0.95
LIQUIDATION_UP = 5.0
#: bisection stops when the bracket is this narrow relative to the move (well inside the 1e-9 asked)
BISECTION_RTOL = 1e-13
#: the scan's steps in blocks, vectorised within each, evaluated nearest first (the first hit is the same)
_SCAN_BLOCKS = ((0, 25), (25, 125), (125, 500), (500, LIQUIDATION_STEPS))
#: most elements of one scenario array of the scan (memory bound: chunks of steps)
_CHUNK_ELEMENTS = 1 << 21

# ---------------------------------------------------------------------------------------------------------
# parameters (§6.4 table and valid ranges)
# ---------------------------------------------------------------------------------------------------------

DEFAULT_PRICE_RANGE: Mapping[str, float] = MappingProxyType({"BTC": 0.16, "ETH": 0.16, "default": 0.25})
#: the range of a base a price-range map does not name, when the map has no ``default`` (§6.4)
FALLBACK_PRICE_RANGE = 0.25
AGGREGATIONS = ("sum", "correlated")
_PARAMS = (
    "price_range",
    "buckets",
    "vol_range_up",
    "vol_range_down",
    "short_term_vega_power",
    "long_term_vega_power",
    "extended_moves",
    "extended_weight",
    "future_contingency",
    "option_contingency",
    "mm_factor",
    "aggregation",
    "correlations",
    "haircuts",
)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _empty() -> Mapping[str, float]:
    return MappingProxyType({})


def _empty2() -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class PortfolioMarginParams:
    """The parameters of the ``portfolio`` view, defaults as the §6.4 table."""

    price_range: Mapping[str, float] = field(default_factory=lambda: DEFAULT_PRICE_RANGE)
    buckets: int = DEFAULT_BUCKETS
    vol_range_up: float = 0.5
    vol_range_down: float = 0.25
    short_term_vega_power: float = 0.3
    long_term_vega_power: float = 0.13
    extended_moves: tuple[float, ...] = DEFAULT_EXTENDED_MOVES
    extended_weight: float = DEFAULT_EXTENDED_WEIGHT
    future_contingency: float = 0.006
    option_contingency: float = 0.01
    mm_factor: float = 0.8
    aggregation: str = "sum"
    #: as in the file, ``{"BTC": {"ETH": 0.8}}``; looked up both ways (:meth:`correlation`)
    correlations: Mapping[str, Mapping[str, float]] = field(default_factory=_empty2)
    haircuts: Mapping[str, float] = field(default_factory=_empty)

    @property
    def vol_params(self) -> VolParams:
        """The volatility parameters, for :func:`margin.options.scenario_iv`."""
        return VolParams(self.vol_range_up, self.vol_range_down, self.short_term_vega_power, self.long_term_vega_power)

    def range_for(self, base: str) -> float:
        """``price_range`` of ``base``: its entry, else the map's ``default``, else 0.25 (§6.4)."""
        if base in self.price_range:
            return float(self.price_range[base])
        return float(self.price_range.get("default", FALLBACK_PRICE_RANGE))

    def haircut(self, asset: str) -> float:
        """The haircut of ``asset`` (0 when the map does not name it)."""
        return float(self.haircuts.get(asset, 0.0))

    def correlation(self, a: str, b: str) -> float | None:
        """ρ of two bases as the file gives it, either way round (1 on the diagonal); ``None`` when missing."""
        if a == b:
            return 1.0
        for x, y in ((a, b), (b, a)):
            row = self.correlations.get(x)
            if row is not None and y in row:
                return float(row[y])
        return None

    def correlation_matrix(self, units: Sequence[str], path: str = "portfolio_margin") -> FloatArray:
        """ρ of the risk units clipped to [0, 1] (§6.4); every pair must be given (else :class:`PortfolioError`
        naming each missing pair)."""
        n = len(units)
        rho = np.eye(n)
        problems: list[Problem] = []
        for i in range(n):
            for j in range(i + 1, n):
                value = self.correlation(units[i], units[j])
                if value is None:
                    rule = (
                        f'is required with aggregation "correlated" (risk units {units[i]} and {units[j]}; '
                        f"give {path}.correlations.{units[i]}.{units[j]} in [-1, 1])"
                    )
                    problems.append(Problem(f"{path}.correlations.{units[i]}.{units[j]}", rule, None, False))
                else:
                    rho[i, j] = rho[j, i] = min(max(value, 0.0), 1.0)
        if problems:
            raise PortfolioError(problems)
        return rho

    @classmethod
    def parse(
        cls, mapping: object, path: str = "portfolio_margin"
    ) -> tuple[PortfolioMarginParams | None, list[Problem]]:
        """The file's ``portfolio_margin`` object (``None`` = every default) and every broken rule of §6.4's
        valid ranges, each naming ``<path>.<param>``, the rule and the value."""
        if mapping is None:
            return cls(), []
        if not isinstance(mapping, Mapping):
            return None, [Problem(path, "must be an object of portfolio-margin parameters", mapping)]
        problems: list[Problem] = []
        kw: dict[str, Any] = {}
        for key in mapping:
            if key not in _PARAMS:
                rule = "is not a parameter of the portfolio view (one of " + ", ".join(_PARAMS) + ")"
                problems.append(Problem(f"{path}.{key}", rule, mapping[key]))

        def num(name: str, ok: Any, rule: str) -> None:
            if name not in mapping:
                return
            value = mapping[name]
            if _number(value) and ok(value):
                kw[name] = float(value)
            else:
                problems.append(Problem(f"{path}.{name}", rule, value))

        if "price_range" in mapping:
            kw["price_range"] = _parse_price_range(mapping["price_range"], f"{path}.price_range", problems)
        if "buckets" in mapping:
            b = mapping["buckets"]
            if isinstance(b, int) and not isinstance(b, bool) and b >= 1:
                kw["buckets"] = b
            else:
                problems.append(Problem(f"{path}.buckets", "must be an integer >= 1", b))
        num("vol_range_up", lambda v: v >= 0, "must be a number >= 0")
        num("vol_range_down", lambda v: 0 <= v < 1, "must be a number >= 0 and < 1")
        num("short_term_vega_power", lambda v: v >= 0, "must be a number >= 0")
        num("long_term_vega_power", lambda v: v >= 0, "must be a number >= 0")
        if "extended_moves" in mapping:
            moves = mapping["extended_moves"]
            if isinstance(moves, list | tuple):
                good: list[float] = []
                for i, m in enumerate(moves):
                    if _number(m) and m > -1:
                        good.append(float(m))
                    else:
                        problems.append(Problem(f"{path}.extended_moves[{i}]", "must be a number > -1", m))
                kw["extended_moves"] = tuple(good)
            else:
                problems.append(Problem(f"{path}.extended_moves", "must be a list of numbers > -1", moves))
        num("extended_weight", lambda v: v >= 0, "must be a number >= 0")
        num("future_contingency", lambda v: v >= 0, "must be a number >= 0")
        num("option_contingency", lambda v: v >= 0, "must be a number >= 0")
        num("mm_factor", lambda v: 0 < v <= 1, "must be a number > 0 and <= 1")
        if "aggregation" in mapping:
            agg = mapping["aggregation"]
            if isinstance(agg, str) and agg in AGGREGATIONS:
                kw["aggregation"] = agg
            else:
                problems.append(Problem(f"{path}.aggregation", 'must be "sum" or "correlated"', agg))
        if "correlations" in mapping:
            kw["correlations"] = _parse_correlations(mapping["correlations"], f"{path}.correlations", problems)
        if "haircuts" in mapping:
            kw["haircuts"] = _parse_haircuts(mapping["haircuts"], f"{path}.haircuts", problems)
        if problems:
            return None, problems
        return cls(**kw), []

    def to_dict(self) -> dict[str, Any]:
        """Every parameter as the file's ``portfolio_margin`` object (reading it back gives equal parameters)."""
        return {
            "price_range": dict(self.price_range),
            "buckets": self.buckets,
            "vol_range_up": self.vol_range_up,
            "vol_range_down": self.vol_range_down,
            "short_term_vega_power": self.short_term_vega_power,
            "long_term_vega_power": self.long_term_vega_power,
            "extended_moves": list(self.extended_moves),
            "extended_weight": self.extended_weight,
            "future_contingency": self.future_contingency,
            "option_contingency": self.option_contingency,
            "mm_factor": self.mm_factor,
            "aggregation": self.aggregation,
            "correlations": {a: dict(m) for a, m in self.correlations.items()},
            "haircuts": dict(self.haircuts),
        }

    @classmethod
    def from_dict(cls, mapping: object, path: str = "portfolio_margin") -> PortfolioMarginParams:
        """:meth:`parse`, raising :class:`PortfolioError` with every problem found."""
        params, problems = cls.parse(mapping, path)
        if params is None:
            raise PortfolioError(problems)
        return params


def _parse_price_range(value: object, path: str, problems: list[Problem]) -> Mapping[str, float]:
    """A number sets every base (``{"default": x}``); a map replaces the default map (§6.4)."""
    rule = "must be a number > 0 and < 1"
    if _number(value):
        assert isinstance(value, int | float)
        if 0 < value < 1:
            return MappingProxyType({"default": float(value)})
        problems.append(Problem(path, rule, value))
        return DEFAULT_PRICE_RANGE
    if not isinstance(value, Mapping):
        problems.append(Problem(path, rule + ', or an object of base to such a number (and "default")', value))
        return DEFAULT_PRICE_RANGE
    out: dict[str, float] = {}
    for base, r in value.items():
        if _number(r) and 0 < r < 1:
            out[str(base)] = float(r)
        else:
            problems.append(Problem(f"{path}.{base}", rule, r))
    return MappingProxyType(out)


def _parse_correlations(value: object, path: str, problems: list[Problem]) -> Mapping[str, Mapping[str, float]]:
    """``{"BTC": {"ETH": 0.8}}``, each ρ in [−1, 1]; a pair given both ways must agree, a diagonal is 1."""
    if not isinstance(value, Mapping):
        problems.append(
            Problem(path, 'must be an object of base to {base: correlation}, e.g. {"BTC": {"ETH": 0.8}}', value)
        )
        return _empty2()
    out: dict[str, dict[str, float]] = {}
    for a, row in value.items():
        if not isinstance(row, Mapping):
            problems.append(Problem(f"{path}.{a}", "must be an object of base to correlation", row))
            continue
        for b, rho in row.items():
            where = f"{path}.{a}.{b}"
            if not (_number(rho) and -1 <= rho <= 1):
                problems.append(Problem(where, "must be a number >= -1 and <= 1", rho))
                continue
            if a == b and rho != 1:
                problems.append(Problem(where, "must be 1 (a base's correlation with itself)", rho))
                continue
            other = out.get(str(b), {}).get(str(a))
            if other is not None and other != float(rho):
                problems.append(Problem(where, f"must equal {path}.{b}.{a} ({other!r}) when given both ways", rho))
                continue
            out.setdefault(str(a), {})[str(b)] = float(rho)
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})


def _parse_haircuts(value: object, path: str, problems: list[Problem]) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "must be an object of asset to haircut in [0, 1)", value))
        return _empty()
    out: dict[str, float] = {}
    for asset, h in value.items():
        if _number(h) and 0 <= h < 1:
            out[str(asset)] = float(h)
        else:
            problems.append(Problem(f"{path}.{asset}", "must be a number >= 0 and < 1", h))
    return MappingProxyType(out)


# ---------------------------------------------------------------------------------------------------------
# the account in USD terms
# ---------------------------------------------------------------------------------------------------------


def _frozen(value: npt.ArrayLike, dtype: type[Any], n: int | None, name: str) -> Any:
    arr = np.array(value, dtype=dtype).reshape(-1)
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} entries, expected {n}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class LegSpec:
    """One position, for :meth:`Legs.from_specs` (the fields of :class:`Legs`, one value each)."""

    unit: int
    settle: int
    side: float
    contracts: float
    contract_size: float
    price: float
    coin_settled: bool = False
    entry: float = math.nan
    is_option: bool = False
    strike: float = math.nan
    is_call: bool = True
    iv: float = math.nan
    t: float = math.nan


@dataclass(frozen=True)
class Legs:
    """The positions of the account, one entry per leg (arrays of equal length, read-only):

    - ``unit``: index in :attr:`Book.units` of the leg's base (the risk unit whose move moves its price);
    - ``settle``: index in :class:`Assets` of the asset its PnL / value is settled in;
    - ``is_option``: an option (else a future or perpetual);
    - ``side`` (+1 long, −1 short), ``contracts`` (> 0), ``contract_size`` (underlying units per contract; an
      inverse future's USD face per contract);
    - ``coin_settled``: a future is inverse (size in USD face, PnL in the coin), an option is coin-settled
      (value ÷ F, §6.2);
    - ``price``: a future's mark, an option's forward F (``underlying_price`` or the index price, §6.1);
    - ``entry``: a future's entry price (unused for an option: premiums are in the balance, §6.2);
    - ``strike``, ``is_call``, ``iv`` (annualised, > 0), ``t`` (years to expiry; ≤ 0 once expired within
      ``--days``: the intrinsic value, §6.5): options only.
    """

    unit: IntArray
    settle: IntArray
    is_option: BoolArray
    side: FloatArray
    contracts: FloatArray
    contract_size: FloatArray
    coin_settled: BoolArray
    price: FloatArray
    entry: FloatArray
    strike: FloatArray
    is_call: BoolArray
    iv: FloatArray
    t: FloatArray

    def __post_init__(self) -> None:
        n = np.asarray(self.unit).size
        for name, dtype in (
            ("unit", np.intp),
            ("settle", np.intp),
            ("is_option", np.bool_),
            ("side", np.float64),
            ("contracts", np.float64),
            ("contract_size", np.float64),
            ("coin_settled", np.bool_),
            ("price", np.float64),
            ("entry", np.float64),
            ("strike", np.float64),
            ("is_call", np.bool_),
            ("iv", np.float64),
            ("t", np.float64),
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype, n, f"Legs.{name}"))

    def __len__(self) -> int:
        return int(self.unit.size)

    @property
    def units(self) -> FloatArray:
        """Signed size ``side × contracts × contract_size`` (underlying units; USD face when inverse)."""
        return np.asarray(self.side * self.contracts * self.contract_size, dtype=np.float64)

    @classmethod
    def from_specs(cls, specs: Sequence[LegSpec]) -> Legs:
        """The arrays of a list of :class:`LegSpec`."""
        names = (
            "unit",
            "settle",
            "is_option",
            "side",
            "contracts",
            "contract_size",
            "coin_settled",
            "price",
            "entry",
            "strike",
            "is_call",
            "iv",
            "t",
        )
        columns: dict[str, Any] = {n: [getattr(s, n) for s in specs] for n in names}
        return cls(**columns)


@dataclass(frozen=True)
class Assets:
    """The account's assets (every collateral asset and every settle asset of a leg), in USD terms:

    - ``names``; ``balance`` (the wallet balance in that asset, after premiums, §6.2; collateral assets
      counted as their extension counts them);
    - ``price``: USD price (1 for USD-like assets; ``S_B`` for the asset of risk unit B); unpriced assets are
      left out by the caller (§6.4 ``unpriced_assets``), with the legs settled in them;
    - ``haircut`` in [0, 1) (``PortfolioMarginParams.haircut``);
    - ``unit``: index in :attr:`Book.units` of the risk unit whose move moves this asset's USD price, −1 none.
    """

    names: tuple[str, ...]
    balance: FloatArray
    price: FloatArray
    haircut: FloatArray
    unit: IntArray

    def __post_init__(self) -> None:
        n = len(self.names)
        object.__setattr__(self, "names", tuple(self.names))
        for name, dtype in (("balance", np.float64), ("price", np.float64), ("haircut", np.float64), ("unit", np.intp)):
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype, n, f"Assets.{name}"))

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Book:
    """One evaluation's account: the risk units (§6.4 order: bases of the positions in order of first
    appearance, then coin collateral), each one's USD price ``S_B``, the legs and the assets."""

    units: tuple[str, ...]
    unit_price: FloatArray
    legs: Legs
    assets: Assets

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        u = len(self.units)
        object.__setattr__(self, "unit_price", _frozen(self.unit_price, np.float64, u, "Book.unit_price"))
        legs, assets = self.legs, self.assets
        if legs.unit.size and (legs.unit.min() < 0 or legs.unit.max() >= u):
            raise ValueError("Legs.unit must index Book.units")
        if legs.settle.size and (legs.settle.min() < 0 or legs.settle.max() >= len(assets)):
            raise ValueError("Legs.settle must index Assets")
        if assets.unit.size and (assets.unit.min() < -1 or assets.unit.max() >= u):
            raise ValueError("Assets.unit must index Book.units or be -1")
        tied = assets.unit >= 0
        if np.any(assets.price[tied] != self.unit_price[assets.unit[tied]]):
            raise ValueError("an asset tied to a risk unit must have that unit's USD price S_B")
        opt = legs.is_option
        if np.any(~np.isfinite(legs.t[opt])) or np.any(~(legs.iv[opt] > 0)):
            raise ValueError("an option leg needs a finite t and iv > 0")


@dataclass(frozen=True)
class _Prep:
    """A book's arrays as the kernel uses them: unit index −1 mapped to the column of ones ``U``."""

    n_units: int
    unit: IntArray
    settle_unit: IntArray
    units: FloatArray
    price: FloatArray
    entry: FloatArray
    coin: BoolArray
    weight: FloatArray  # settle asset's USD price × (1 − haircut)
    settle_price: FloatArray
    fut: IntArray
    opt: IntArray
    opt_pos: IntArray  # position of a leg in the option columns of ivtab (only meaningful for options)
    ivtab: FloatArray  # (3, n_options): iv in the vol states up, unchanged, down
    strike: FloatArray
    is_call: BoolArray
    t: FloatArray
    asset_unit: IntArray
    asset_value: FloatArray  # balance × price × (1 − haircut)
    unit_price: FloatArray
    contracts_cs: FloatArray


def _prepare(book: Book, vol: VolParams) -> _Prep:
    legs, assets = book.legs, book.assets
    u = len(book.units)
    asset_unit = np.where(assets.unit < 0, u, assets.unit).astype(np.intp)
    opt = np.flatnonzero(legs.is_option).astype(np.intp)
    opt_pos = np.zeros(len(legs), dtype=np.intp)
    opt_pos[opt] = np.arange(opt.size)
    dte = legs.t[opt] * YEAR_DAYS
    ivtab = np.stack([scenario_iv(legs.iv[opt], dte, s, vol) for s in VOL_STATES]).reshape(3, opt.size)
    return _Prep(
        n_units=u,
        unit=legs.unit,
        settle_unit=asset_unit[legs.settle],
        units=legs.units,
        price=legs.price,
        entry=legs.entry,
        coin=legs.coin_settled,
        weight=assets.price[legs.settle] * (1.0 - assets.haircut[legs.settle]),
        settle_price=assets.price[legs.settle],
        fut=np.flatnonzero(~legs.is_option).astype(np.intp),
        opt=opt,
        opt_pos=opt_pos,
        ivtab=ivtab,
        strike=legs.strike,
        is_call=legs.is_call,
        t=legs.t,
        asset_unit=asset_unit,
        asset_value=assets.balance * assets.price * (1.0 - assets.haircut),
        unit_price=book.unit_price,
        contracts_cs=legs.contracts * legs.contract_size,
    )


def _future_amount(p: _Prep, idx: IntArray, f: FloatArray) -> FloatArray:
    """Futures PnL in the settle asset at mark × ``f``: linear ``n·(F − entry)``, inverse ``n·(1/entry − 1/F)``
    (§6.4, margin-models.md §2 ``UPNL = s·Q·CS·(1/EP − 1/MP)``)."""
    mark = p.price[idx] * f
    n = p.units[idx]
    return np.where(p.coin[idx], n * (1.0 / p.entry[idx] - 1.0 / mark), n * (mark - p.entry[idx]))


def _option_amount(p: _Prep, idx: IntArray, f: FloatArray, codes: IntArray) -> FloatArray:
    """Option value in the settle asset at forward × ``f`` and the vol state of ``codes`` (§6.2, §6.4):
    ``n·V``, ÷ F when coin-settled."""
    fwd = p.price[idx] * f
    sigma = p.ivtab[codes, p.opt_pos[idx]]
    v = price(fwd, p.strike[idx], p.t[idx], sigma, p.is_call[idx])
    return np.where(p.coin[idx], p.units[idx] * v / fwd, p.units[idx] * v)


def _usd(
    p: _Prep, fac: FloatArray, codes: IntArray, fut: IntArray, opt: IntArray, assets: IntArray | None
) -> FloatArray:
    """USD equity after haircuts of the selected legs and assets (§6.4) at price factors ``fac`` (…, U+1;
    the last column 1) and vol codes ``codes`` (…, U+1), summed over the selection: shape ``fac.shape[:-1]``."""
    total = np.zeros(fac.shape[:-1])
    if fut.size:
        f = fac[..., p.unit[fut]]
        amount = _future_amount(p, fut, f)
        total = total + (amount * fac[..., p.settle_unit[fut]] * p.weight[fut]).sum(axis=-1)
    if opt.size:
        f = fac[..., p.unit[opt]]
        amount = _option_amount(p, opt, f, codes[..., p.unit[opt]])
        total = total + (amount * fac[..., p.settle_unit[opt]] * p.weight[opt]).sum(axis=-1)
    if assets is not None and assets.size:
        total = total + (p.asset_value[assets] * fac[..., p.asset_unit[assets]]).sum(axis=-1)
    return total


def _factors(p: _Prep, moves: npt.ArrayLike) -> FloatArray:
    m = np.asarray(moves, dtype=np.float64)
    if m.shape[-1:] != (p.n_units,):
        raise ValueError(f"moves must end in an axis of {p.n_units} risk units, got shape {m.shape}")
    return np.concatenate([1.0 + m, np.ones((*m.shape[:-1], 1))], axis=-1)


def account_usd_equity(
    book: Book, moves: npt.ArrayLike, vol_state: npt.ArrayLike | None = None, vol: VolParams | None = None
) -> FloatArray:
    """The account's USD equity after haircuts (§6.4) with every price of risk unit ``B`` moved by
    ``moves[..., B]`` (futures marks, option forwards, ``S_B``) and its options' volatility in
    ``vol_state[..., B]`` (:data:`VOL_UP`, :data:`VOL_UNCHANGED`, :data:`VOL_DOWN`; default unchanged):
    ``Σ_assets (balance + futures PnL + option value) × USD price × (1 − haircut)``. Vectorised over the
    leading axes of ``moves`` (shape ``(..., len(book.units))``); returns shape ``moves.shape[:-1]``."""
    p = _prepare(book, vol or VolParams())
    fac = _factors(p, moves)
    codes = np.full(fac.shape, VOL_UNCHANGED, dtype=np.intp)
    if vol_state is not None:
        codes[..., :-1] = np.broadcast_to(np.asarray(vol_state, dtype=np.intp), fac[..., :-1].shape)
    every = np.arange(len(book.assets), dtype=np.intp)
    return _usd(p, fac, codes, p.fut, p.opt, every)


@dataclass(frozen=True)
class UsdBreakdown:
    """The pool's USD amounts after haircuts (§6.4): ``equity = wallet_balance + unrealized_pnl +
    options_value`` (each asset's part of each, × its price × (1 − haircut))."""

    wallet_balance: float
    unrealized_pnl: float
    options_value: float

    @property
    def equity(self) -> float:
        return self.wallet_balance + self.unrealized_pnl + self.options_value


def usd_breakdown(book: Book, vol: VolParams | None = None) -> UsdBreakdown:
    """:class:`UsdBreakdown` at the book's prices."""
    p = _prepare(book, vol or VolParams())
    ones = np.ones(p.fut.size)
    fut = float((_future_amount(p, p.fut, ones) * p.weight[p.fut]).sum())
    codes = np.full(p.opt.size, VOL_UNCHANGED, dtype=np.intp)
    opt = float((_option_amount(p, p.opt, np.ones(p.opt.size), codes) * p.weight[p.opt]).sum())
    return UsdBreakdown(float(p.asset_value.sum()), fut, opt)


def unit_deltas(book: Book, vol: VolParams | None = None) -> FloatArray:
    """``∂(USD equity)/∂move`` per risk unit (§6.4 ``delta``, USD per 1.0 move), analytic: a leg on B
    contributes ``∂amount/∂move × w`` (linear ``n·F``, inverse ``n/F``, option ``n·Δ·F``, coin-settled
    ``n·(Δ − V/F)·F``; ``Δ`` the Black-76 delta, §6.2) and a leg or balance held in B's asset its
    ``amount × w`` (``w`` = USD price × (1 − haircut))."""
    p = _prepare(book, vol or VolParams())
    legs = book.legs
    n = len(legs)
    amount = np.zeros(n)
    d_amount = np.zeros(n)
    fut, opt = p.fut, p.opt
    amount[fut] = _future_amount(p, fut, np.ones(fut.size))
    d_amount[fut] = np.where(p.coin[fut], p.units[fut] / p.price[fut], p.units[fut] * p.price[fut])
    if opt.size:
        q = black76(p.price[opt], p.strike[opt], p.t[opt], legs.iv[opt], p.is_call[opt])
        fwd = p.price[opt]
        amount[opt] = np.where(p.coin[opt], p.units[opt] * q.price / fwd, p.units[opt] * q.price)
        d_amount[opt] = np.where(p.coin[opt], p.units[opt] * (q.delta - q.price / fwd), p.units[opt] * q.delta * fwd)
    u = p.n_units
    out = np.zeros(u + 1)  # (bincount of an empty array is of integers)
    out += np.bincount(p.unit, weights=d_amount * p.weight, minlength=u + 1)
    out += np.bincount(p.settle_unit, weights=amount * p.weight, minlength=u + 1)
    out += np.bincount(p.asset_unit, weights=p.asset_value, minlength=u + 1)
    return np.asarray(out[:u], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------
# risk units, the pool and the liquidation moves
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """What a unit's grid needs: the grid, the legs and assets whose USD value its move changes."""

    index: int
    grid: ScenarioGrid
    fac: FloatArray  # (1 + S, U+1): row 0 the base (no move), then the scenarios
    codes: IntArray  # (1 + S, U+1)
    fut: IntArray
    opt: IntArray
    assets: IntArray
    columns: frozenset[int]  # unit columns the selection reads (a move of one of them changes the grid)
    cont_fut: IntArray  # futures on the unit (contingency)
    short_cs: float  # Σ contracts × contract_size of short options on the unit


def _units(book: Book, p: _Prep, params: PortfolioMarginParams) -> list[_Unit]:
    out: list[_Unit] = []
    u = p.n_units
    short = book.legs.is_option & (book.legs.side < 0)
    for c, name in enumerate(book.units):
        grid = scenario_grid(
            params.range_for(name), params.buckets, params.extended_moves, params.extended_weight, "portfolio_margin"
        )
        s = len(grid)
        fac = np.ones((1 + s, u + 1))
        fac[1:, c] = 1.0 + grid.move
        codes = np.full((1 + s, u + 1), VOL_UNCHANGED, dtype=np.intp)
        codes[1:, c] = [VOL_STATES.index(v) for v in grid.vol]
        rel = (p.unit == c) | (p.settle_unit == c)
        fut = p.fut[rel[p.fut]]
        opt = p.opt[rel[p.opt]]
        cols = {c, *p.unit[fut].tolist(), *p.unit[opt].tolist(), *p.settle_unit[fut].tolist()}
        cols |= set(p.settle_unit[opt].tolist())
        out.append(
            _Unit(
                index=c,
                grid=grid,
                fac=fac,
                codes=codes,
                fut=fut,
                opt=opt,
                assets=np.flatnonzero(p.asset_unit == c).astype(np.intp),
                columns=frozenset(cols) - {u},
                cont_fut=p.fut[p.unit[p.fut] == c],
                short_cs=float(p.contracts_cs[short & (p.unit == c)].sum()),
            )
        )
    return out


def _unit_pnl(p: _Prep, unit: _Unit, state: FloatArray) -> FloatArray:
    """Scenario pnl (N, S) of a unit at the states ``state`` (N, U+1): the USD equity of the legs and assets
    the unit's move changes, in each scenario, less the same at the state (row 0 of the unit's grid, so
    the no-move, vol-unchanged scenario is exactly 0)."""
    n = state.shape[0]
    rows = unit.fac.shape[0]
    width = max(1, unit.fut.size + unit.opt.size + unit.assets.size)
    chunk = max(1, _CHUNK_ELEMENTS // (rows * width))
    out = np.empty((n, rows - 1))
    for lo in range(0, n, chunk):
        fac = state[lo : lo + chunk, None, :] * unit.fac[None, :, :]
        usd = _usd(p, fac, unit.codes[None, :, :], unit.fut, unit.opt, unit.assets)
        out[lo : lo + chunk] = usd[:, 1:] - usd[:, :1]
    return out


def _worst(pnl: FloatArray, weight: FloatArray) -> tuple[FloatArray, IntArray]:
    """``scenario_loss = max(0, max −pnl × weight)`` and the index of the largest ``−pnl × weight`` (the first
    on a tie; the least bad one when none loses) (§6.4)."""
    weighted = -pnl * weight
    idx = np.argmax(weighted, axis=-1)
    loss = np.maximum(np.take_along_axis(weighted, idx[..., None], axis=-1)[..., 0], 0.0)
    return loss, idx.astype(np.intp)


def _contingency(p: _Prep, unit: _Unit, state: FloatArray, params: PortfolioMarginParams) -> FloatArray:
    """``future_contingency × |Σ futures delta notional in USD| + option_contingency × S_B × Σ short option
    contracts × contract_size`` (§6.4): a linear future's delta notional ``n × mark`` (× its settle asset's
    USD price), an inverse one's ``n`` (its USD face); no haircut. Shape (N,) at the states (N, U+1)."""
    f = unit.cont_fut
    c = unit.index
    linear = p.units[f] * p.price[f] * state[:, p.unit[f]] * p.settle_price[f] * state[:, p.settle_unit[f]]
    notional = np.where(p.coin[f], p.units[f], linear).sum(axis=-1)
    shorts = params.option_contingency * p.unit_price[c] * state[:, c] * unit.short_cs
    return np.asarray(params.future_contingency * np.abs(notional) + shorts, dtype=np.float64)


def _aggregate(losses: FloatArray, contingencies: FloatArray, rho: FloatArray | None) -> FloatArray:
    """Pool IM (§6.4): ``Σ (L + contingency)`` (sum), or ``sqrt(Σ_ij ρ_ij L_i L_j) + Σ contingencies``."""
    if rho is None:
        return np.asarray((losses + contingencies).sum(axis=-1), dtype=np.float64)
    quad = np.einsum("...i,ij,...j->...", losses, rho, losses)
    return np.asarray(np.sqrt(np.maximum(quad, 0.0)) + contingencies.sum(axis=-1), dtype=np.float64)


@dataclass(frozen=True)
class RiskUnit:
    """One underlying's requirement (§6.4)."""

    underlying: str
    price_range: float
    grid: ScenarioGrid
    pnl: FloatArray  # per scenario, USD (unweighted)
    scenario_loss: float
    worst_index: int
    contingency: float
    delta: float
    liquidation_move_down: float | None
    liquidation_move_up: float | None

    @property
    def requirement(self) -> float:
        """``scenario_loss + contingency`` (§6.4)."""
        return self.scenario_loss + self.contingency

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a risk unit (§6.4)."""
        rows = self.grid.rows()
        for row, pnl in zip(rows, self.pnl.tolist(), strict=True):
            row["pnl"] = float(pnl)
        worst = rows[self.worst_index]
        return {
            "underlying": self.underlying,
            "price_range": float(self.price_range),
            "scenario_loss": float(self.scenario_loss),
            "contingency": float(self.contingency),
            "requirement": float(self.requirement),
            "delta": float(self.delta),
            "worst": {"move": worst["move"], "vol": worst["vol"], "extended": worst["extended"]},
            "liquidation_move_down": self.liquidation_move_down,
            "liquidation_move_up": self.liquidation_move_up,
            "scenarios": rows,
        }


@dataclass(frozen=True)
class PortfolioResult:
    """The ``portfolio`` view's pool (§6.4), in USD."""

    breakdown: UsdBreakdown
    units: tuple[RiskUnit, ...]
    initial_margin: float
    maintenance_margin: float

    @property
    def equity(self) -> float:
        return self.breakdown.equity

    @property
    def margin_ratio(self) -> float | None:
        """Maintenance margin over equity; ``None`` when equity ≤ 0 (§4)."""
        return self.maintenance_margin / self.equity if self.equity > 0 else None

    @property
    def liquidated(self) -> bool:
        """Equity ≤ maintenance margin (§6.4)."""
        return self.equity <= self.maintenance_margin


class _Model:
    """A book, its parameters and its risk units, evaluated at any set of states (price factors per unit)."""

    def __init__(self, book: Book, params: PortfolioMarginParams) -> None:
        self.book = book
        self.params = params
        self.p = _prepare(book, params.vol_params)
        self.units = _units(book, self.p, params)
        self.rho = params.correlation_matrix(book.units) if params.aggregation == "correlated" else None
        self.every_asset = np.arange(len(book.assets), dtype=np.intp)
        self._codes1 = np.full((1, self.p.n_units + 1), VOL_UNCHANGED, dtype=np.intp)

    def state(self, unit: int, moves: FloatArray) -> FloatArray:
        """States (N, U+1) with unit ``unit`` moved by each of ``moves``, the rest at their prices."""
        st = np.ones((moves.size, self.p.n_units + 1))
        st[:, unit] = 1.0 + moves
        return st

    def equity(self, state: FloatArray) -> FloatArray:
        return _usd(self.p, state, self._codes1, self.p.fut, self.p.opt, self.every_asset)

    def losses(self, state: FloatArray, moved: int | None, base: FloatArray | None) -> tuple[FloatArray, FloatArray]:
        """Scenario losses and contingencies (N, U) at the states; a unit whose selection does not read the
        column ``moved`` keeps its ``base`` loss (N.B. contingencies are cheap: always recomputed)."""
        n = state.shape[0]
        losses = np.empty((n, len(self.units)))
        cont = np.empty((n, len(self.units)))
        for k, unit in enumerate(self.units):
            if base is not None and moved is not None and moved not in unit.columns:
                losses[:, k] = base[k]
            else:
                losses[:, k] = _worst(_unit_pnl(self.p, unit, state), unit.grid.weight)[0]
            cont[:, k] = _contingency(self.p, unit, state, self.params)
        return losses, cont

    def maintenance(self, state: FloatArray, moved: int | None, base: FloatArray | None) -> FloatArray:
        losses, cont = self.losses(state, moved, base)
        return self.params.mm_factor * _aggregate(losses, cont, self.rho)

    def gap(self, unit: int, moves: FloatArray, base: FloatArray) -> FloatArray:
        """``equity − maintenance margin`` (N,) at ``moves`` of ``unit`` (liquidated where ≤ 0)."""
        st = self.state(unit, moves)
        return self.equity(st) - self.maintenance(st, unit, base)

    def liquidation_move(self, unit: int, end: float, base: FloatArray) -> float | None:
        """§6.4: the first of 2,000 equal steps from 0 to ``end`` at which equity ≤ MM, refined by bisection
        between it and the step before (the move returned meets the trigger); ``None`` when none does."""
        steps = end * np.arange(1, LIQUIDATION_STEPS + 1, dtype=np.float64) / LIQUIDATION_STEPS
        j = -1
        for lo_k, hi_k in _SCAN_BLOCKS:  # nearest steps first: a near crossing needs no far step
            hit = np.flatnonzero(self.gap(unit, steps[lo_k:hi_k], base) <= 0.0)
            if hit.size:
                j = lo_k + int(hit[0])
                break
        if j < 0:
            return None
        lo, hi = (0.0 if j == 0 else float(steps[j - 1])), float(steps[j])
        while True:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi) or abs(hi - lo) <= BISECTION_RTOL * abs(hi):
                return hi
            if float(self.gap(unit, np.array([mid]), base)[0]) <= 0.0:
                hi = mid
            else:
                lo = mid


# ---------------------------------------------------------------------------------------------------------
# the fast path: per risk unit, futures as coefficients and options priced only where needed
# ---------------------------------------------------------------------------------------------------------

#: coarse points of the liquidation scan's bounds: every this many steps (and the last step)
_COARSE_STEPS = 50
#: candidate steps evaluated exactly per block, nearest first (then × 4 per block)
_FIRST_BLOCK = 8
#: slack of the scan's lower bound, relative to the size of the figures (covers rounding only)
_BOUND_SLACK = 1e-9


@dataclass(frozen=True)
class _FastUnit:
    """Risk unit ``c`` of a book whose legs each settle in USD-like money or in their own base's asset (the
    usual structure; :func:`_fast_units`): a move of ``c`` by the factor ``x`` changes only the legs on ``c``
    and ``c``'s assets, and only ``c``'s scenario loss and contingency.

    Its USD equity after haircuts at factor ``x`` (vol unchanged) is, up to a constant (§6.4 amounts,
    margin-models.md §2 inverse PnL), ``A·x² + B·x + D/x + Σ κ_i·V_i(F_i·x, σ_i)``: a linear future settled in
    USD-like money ``n·w·(F·x − e)``, an inverse one settled in its coin ``n·(1/e − 1/(F·x))·S·x·(1 − h)``, a
    linear one settled in the coin ``n·(F·x − e)·S·x·(1 − h)``, an inverse one settled in USD-like money
    ``n·w·(1/e − 1/(F·x))``; each asset of ``c`` ``balance·S·x·(1 − h)``; an option ``κ·V`` with ``κ = n·w``
    (USD-like settle) or ``n·S·(1 − h)/F`` (coin-settled: ``n·V/(F·x)`` coins at ``S·x``). Its contingency at
    ``x`` is ``future_contingency·|Q·x² + L·x + I| + short·x`` (§6.4 delta notionals)."""

    index: int
    weight: FloatArray  # (R − 1,) each scenario's weight
    rows: FloatArray  # (R,) 1, then 1 + each scenario's move
    a2: float
    b1: float
    d1: float
    fwd: FloatArray  # (m,) options on c
    strike: FloatArray
    t: FloatArray
    is_call: BoolArray
    kappa: FloatArray
    sigma: FloatArray  # (R, m) each row's volatility
    cont_q: float
    cont_l: float
    cont_i: float
    cont_short: float  # option_contingency × S_c × Σ short contracts × contract_size


def _fast_units(book: Book, p: _Prep, units: list[_Unit], params: PortfolioMarginParams) -> list[_FastUnit] | None:
    """The :class:`_FastUnit` of each risk unit, or ``None`` when a leg settles in another unit's asset (or a
    coin-settled option in USD-like money): such books take the general path (:class:`_Model`)."""
    u = p.n_units
    own = p.settle_unit == p.unit
    usd = p.settle_unit == u
    opt = np.zeros(len(book.legs), dtype=np.bool_)
    opt[p.opt] = True
    ok = np.where(opt, np.where(p.coin, own, usd), own | usd)
    if not bool(ok.all()):
        return None
    out: list[_FastUnit] = []
    n, w, price, entry = p.units, p.weight, p.price, p.entry
    for unit in units:
        c = unit.index
        fut = p.fut[p.unit[p.fut] == c]
        f_own, f_coin = own[fut], p.coin[fut]
        nw = n[fut] * w[fut]
        a2 = float(np.sum(np.where(f_own & ~f_coin, nw * price[fut], 0.0)))
        b1 = np.where(f_coin, np.where(f_own, nw / entry[fut], 0.0), np.where(f_own, -nw * entry[fut], nw * price[fut]))
        d1 = float(np.sum(np.where(f_coin & ~f_own, -nw / price[fut], 0.0)))
        assets = float(p.asset_value[p.asset_unit == c].sum())
        linear = n[fut] * price[fut] * p.settle_price[fut]
        o = p.opt[p.unit[p.opt] == c]
        kappa = np.where(p.coin[o], n[o] * w[o] / price[o], n[o] * w[o])
        codes = np.array([VOL_UNCHANGED, *[VOL_STATES.index(v) for v in unit.grid.vol]], dtype=np.intp)
        out.append(
            _FastUnit(
                index=c,
                weight=unit.grid.weight,
                rows=np.concatenate([[1.0], 1.0 + unit.grid.move]),
                a2=a2,
                b1=float(b1.sum()) + assets,
                d1=d1,
                fwd=price[o],
                strike=p.strike[o],
                t=p.t[o],
                is_call=p.is_call[o],
                kappa=kappa,
                sigma=p.ivtab[codes[:, None], p.opt_pos[o][None, :]],
                cont_q=float(np.sum(np.where(~f_coin & f_own, linear, 0.0))),
                cont_l=float(np.sum(np.where(~f_coin & ~f_own, linear, 0.0))),
                cont_i=float(np.sum(np.where(f_coin, n[fut], 0.0))),
                cont_short=params.option_contingency * float(p.unit_price[c]) * unit.short_cs,
            )
        )
    return out


def _fast_usd(unit: _FastUnit, x: FloatArray) -> FloatArray:
    """Unit ``c``'s USD equity (up to its constant) at the factors ``x`` (N,) times each row's factor: (N, R),
    row 0 vol unchanged, row ``1 + s`` scenario ``s`` (§6.4)."""
    big = x[:, None] * unit.rows[None, :]
    out = (unit.a2 * big + unit.b1) * big + unit.d1 / big
    m = unit.fwd.size
    if m:
        chunk = max(1, _CHUNK_ELEMENTS // (unit.rows.size * m))
        for lo in range(0, x.size, chunk):
            f = big[lo : lo + chunk, :, None] * unit.fwd
            v = price_delta(f, unit.strike, unit.t, unit.sigma, unit.is_call, with_delta=False)[0]
            out[lo : lo + chunk] += v @ unit.kappa
    return np.asarray(out, dtype=np.float64)


def _fast_contingency(unit: _FastUnit, x: FloatArray, params: PortfolioMarginParams) -> FloatArray:
    """§6.4 contingency of unit ``c`` at the factors ``x`` (see :class:`_FastUnit`)."""
    notional = (unit.cont_q * x + unit.cont_l) * x + unit.cont_i
    return np.asarray(params.future_contingency * np.abs(notional) + unit.cont_short * x, dtype=np.float64)


class _FastModel:
    """The liquidation scan of :class:`_Model` on :class:`_FastUnit`: the gap ``equity − MM`` at moves of one
    unit recomputes that unit's scenario loss and contingency only (the others' do not change, §6.4)."""

    def __init__(self, model: _Model, units: list[_FastUnit], losses: FloatArray, conts: FloatArray) -> None:
        self.params = model.params
        self.units = units
        self.rho = model.rho
        self.losses = losses
        self.conts = conts
        self.equity0 = float(model.equity(np.ones((1, model.p.n_units + 1)))[0])
        self.part0 = [float(_fast_usd(unit, np.ones(1))[0, 0]) for unit in units]

    def _mm(self, k: int, loss: FloatArray, cont: FloatArray) -> FloatArray:
        """``mm_factor × IM`` (§6.4) with unit ``k``'s loss and contingency replaced by ``loss``, ``cont`` (N,)."""
        others = np.arange(self.losses.size) != k
        if self.rho is None:
            rest = float((self.losses[others] + self.conts[others]).sum())
            return np.asarray(self.params.mm_factor * (loss + cont + rest), dtype=np.float64)
        lo = self.losses
        cross = float(self.rho[k, others] @ lo[others])
        quad_rest = float(lo[others] @ self.rho[np.ix_(others, others)] @ lo[others])
        quad = loss * loss + 2.0 * loss * cross + quad_rest
        im = np.sqrt(np.maximum(quad, 0.0)) + cont + float(self.conts[others].sum())
        return np.asarray(self.params.mm_factor * im, dtype=np.float64)

    def gap(self, k: int, x: FloatArray, unit: _FastUnit | None = None) -> FloatArray:
        """``equity − MM`` (N,) at the factors ``x`` of unit ``k`` (``unit``: its rows that may be the worst,
        :meth:`pruned`)."""
        unit = unit or self.units[k]
        usd = _fast_usd(unit, x)
        loss = _worst(usd[:, 1:] - usd[:, :1], unit.weight)[0]
        equity = self.equity0 + (usd[:, 0] - self.part0[k])
        return equity - self._mm(k, loss, _fast_contingency(unit, x, self.params))

    def candidates(self, k: int, x: FloatArray) -> IntArray:
        """Indices of the steps ``x`` (factors, 0 → end) where ``equity − MM`` may be ≤ 0: everywhere else a
        rigorous lower bound of it is positive. Options are priced at every ``_COARSE_STEPS``-th step only:
        between two such points ``a``, ``b`` each option's value ``κ·V(F·x)`` is convex in ``x`` for ``κ > 0``
        (Black-76 and the intrinsic value are convex in F), so it lies above both tangents (at ``a`` and ``b``,
        slope ``κ·Δ·F``) and below the chord, and the reverse for ``κ < 0``; the futures and contingencies are
        exact at every step. The scenario loss is then bounded above and the equity below."""
        unit = self.units[k]
        full = np.concatenate([[1.0], x])
        n = x.size
        coarse = np.unique(np.concatenate([np.arange(0, n + 1, _COARSE_STEPS), [n]]))
        big = full[:, None] * unit.rows[None, :]
        fut = (unit.a2 * big + unit.b1) * big + unit.d1 / big  # (n + 1, R) exact
        low = fut.copy()
        high = fut.copy()
        gross = np.abs(unit.a2) * big * big + abs(unit.b1) * big + abs(unit.d1) / big
        if unit.fwd.size:
            fc = big[coarse, :, None] * unit.fwd  # (P, R, m)
            v, d = price_delta(fc, unit.strike, unit.t, unit.sigma, unit.is_call)
            assert d is not None
            pos = unit.kappa > 0
            kp = np.where(pos, unit.kappa, 0.0)
            kn = np.where(pos, 0.0, unit.kappa)
            slope = d * unit.fwd  # ∂V/∂x per row factor
            hl, hs = v @ kp, v @ kn  # (P, R)
            dl, ds = slope @ kp, slope @ kn
            dl *= unit.rows
            ds *= unit.rows
            q = np.searchsorted(coarse, np.arange(n + 1), side="left") - 1
            q = np.clip(q, 0, coarse.size - 2)  # interval of each step: coarse[q] < j <= coarse[q + 1]
            xa = full[coarse[q]][:, None]
            xb = full[coarse[q + 1]][:, None]
            xs = full[:, None]
            t = (xs - xa) / (xb - xa)
            ta_l = hl[q] + dl[q] * (xs - xa)
            tb_l = hl[q + 1] + dl[q + 1] * (xs - xb)
            ta_s = hs[q] + ds[q] * (xs - xa)
            tb_s = hs[q + 1] + ds[q + 1] * (xs - xb)
            chord_l = hl[q] + (hl[q + 1] - hl[q]) * t
            chord_s = hs[q] + (hs[q + 1] - hs[q]) * t
            low += np.maximum(ta_l, tb_l) + chord_s
            high += chord_l + np.minimum(ta_s, tb_s)
            gross += (np.abs(v) @ np.abs(unit.kappa)).max(axis=0) + (np.abs(slope) @ np.abs(unit.kappa)).max(
                axis=0
            ) * unit.rows * full.max()
        loss_high = np.maximum((unit.weight * (high[:, :1] - low[:, 1:])).max(axis=-1), 0.0)
        equity_low = self.equity0 + (low[:, 0] - self.part0[k])
        bound = equity_low - self._mm(k, loss_high, _fast_contingency(unit, full, self.params))
        scale = abs(self.equity0) + float(self.losses.sum() + self.conts.sum()) + gross.max()
        return np.flatnonzero(bound[1:] <= _BOUND_SLACK * scale).astype(np.intp)

    def pruned(self, k: int, xa: float, xb: float) -> _FastUnit:
        """Unit ``k`` with only the scenarios that can be the worst somewhere between the factors ``xa`` and
        ``xb`` (the bisection's bracket): on it each option's ``κ·V`` lies between its value at an end and that
        value ± ``|slope| × |xb − xa|`` (convexity, as in :meth:`candidates`), the futures' part within its
        Lipschitz bound; a scenario whose weighted loss is bounded above by another's lower bound is never the
        maximum, so dropping it leaves the scenario loss unchanged."""
        unit = self.units[k]
        ends = np.array([xa, xb])
        big = ends[:, None] * unit.rows[None, :]
        fut = (unit.a2 * big + unit.b1) * big + unit.d1 / big
        width = abs(xb - xa) * unit.rows
        top, bottom = big.max(axis=0), big.min(axis=0)
        lip = 2.0 * abs(unit.a2) * top + abs(unit.b1) + abs(unit.d1) / (bottom * bottom)
        low = fut[0] - lip * width
        high = fut[0] + lip * width
        gross = np.abs(fut).max(axis=0) + lip * width
        if unit.fwd.size:
            v, d = price_delta(big[:, :, None] * unit.fwd, unit.strike, unit.t, unit.sigma, unit.is_call)
            assert d is not None
            h = v * unit.kappa  # (2, R, m)
            slope = np.abs(d * unit.fwd * unit.kappa) * unit.rows[:, None]  # |∂(κ·V)/∂x| at each end
            reach = slope.max(axis=0) * abs(xb - xa)  # largest |change| of each option over the bracket
            h_lo, h_hi = h.min(axis=0) - reach, h.max(axis=0) + reach
            low = low + h_lo.sum(axis=-1)
            high = high + h_hi.sum(axis=-1)
            gross = gross + np.abs(h).max(axis=0).sum(axis=-1) + reach.sum(axis=-1)
        upper = unit.weight * (high[0] - low[1:])
        lower = unit.weight * (low[0] - high[1:])
        slack = _BOUND_SLACK * float(gross.max())
        keep = np.flatnonzero(upper >= lower.max() - slack)
        rows = np.concatenate([[0], 1 + keep])
        return replace(unit, weight=unit.weight[keep], rows=unit.rows[rows], sigma=unit.sigma[rows])

    def liquidation_move(self, k: int, end: float) -> float | None:
        """As :meth:`_Model.liquidation_move` (§6.4: the first of 2,000 equal steps meeting the trigger, then
        bisection), evaluating exactly only the steps :meth:`candidates` leaves, nearest first."""
        steps = end * np.arange(1, LIQUIDATION_STEPS + 1, dtype=np.float64) / LIQUIDATION_STEPS
        cand = self.candidates(k, 1.0 + steps)
        j = -1
        lo_i, size = 0, _FIRST_BLOCK
        while lo_i < cand.size:
            block = cand[lo_i : lo_i + size]
            hit = np.flatnonzero(self.gap(k, 1.0 + steps[block]) <= 0.0)
            if hit.size:
                j = int(block[hit[0]])
                break
            lo_i += size
            size *= 4
        if j < 0:
            return None
        lo, hi = (0.0 if j == 0 else float(steps[j - 1])), float(steps[j])
        unit = self.pruned(k, 1.0 + lo, 1.0 + hi)
        while True:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi) or abs(hi - lo) <= BISECTION_RTOL * abs(hi):
                return hi
            if float(self.gap(k, np.array([1.0 + mid]), unit)[0]) <= 0.0:
                hi = mid
            else:
                lo = mid


def evaluate_portfolio(
    book: Book, params: PortfolioMarginParams | None = None, liquidation: bool = True
) -> PortfolioResult:
    """The ``portfolio`` view of ``book`` (§6.4): risk units (scenario grid, scenario loss, worst scenario,
    contingency, delta, liquidation moves unless ``liquidation`` is false), the pool's IM by ``sum`` or
    ``correlated`` aggregation and ``MM = mm_factor × IM``. :class:`PortfolioError` for a missing
    correlation pair under ``correlated``."""
    params = params or PortfolioMarginParams()
    model = _Model(book, params)
    u = model.p.n_units
    here = np.ones((1, u + 1))
    pnls = [_unit_pnl(model.p, unit, here)[0] for unit in model.units]
    worst = [_worst(pnl, unit.grid.weight) for pnl, unit in zip(pnls, model.units, strict=True)]
    base_losses = np.array([float(w[0]) for w in worst])
    conts = np.array([float(_contingency(model.p, unit, here, params)[0]) for unit in model.units])
    im = float(_aggregate(base_losses, conts, model.rho))
    mm = params.mm_factor * im
    breakdown = usd_breakdown(book, params.vol_params)
    deltas = unit_deltas(book, params.vol_params)
    liquidated = breakdown.equity <= mm
    fast_units = _fast_units(book, model.p, model.units, params) if liquidation and not liquidated else None
    fast = _FastModel(model, fast_units, base_losses, conts) if fast_units is not None else None
    out: list[RiskUnit] = []
    for k, unit in enumerate(model.units):
        down: float | None = None
        up: float | None = None
        if liquidation:
            if liquidated:
                down = up = 0.0
            elif fast is not None:
                down = fast.liquidation_move(k, LIQUIDATION_DOWN)
                up = fast.liquidation_move(k, LIQUIDATION_UP)
            else:
                down = model.liquidation_move(k, LIQUIDATION_DOWN, base_losses)
                up = model.liquidation_move(k, LIQUIDATION_UP, base_losses)
        out.append(
            RiskUnit(
                underlying=book.units[k],
                price_range=params.range_for(book.units[k]),
                grid=unit.grid,
                pnl=pnls[k],
                scenario_loss=float(base_losses[k]),
                worst_index=int(worst[k][1]),
                contingency=float(conts[k]),
                delta=float(deltas[k]),
                liquidation_move_down=down,
                liquidation_move_up=up,
            )
        )
    return PortfolioResult(breakdown, tuple(out), im, mm)


def maintenance_at(book: Book, params: PortfolioMarginParams, moves: npt.ArrayLike) -> FloatArray:
    """The maintenance margin (§6.4: ``mm_factor ×`` the whole requirement, scenario grids and contingencies
    recomputed) with every price of unit B moved by ``moves[..., B]``; shape ``moves.shape[:-1]``. With
    :func:`account_usd_equity` it re-checks a liquidation move (equity = MM there)."""
    model = _Model(book, params)
    m = np.asarray(moves, dtype=np.float64)
    fac = _factors(model.p, m.reshape(-1, model.p.n_units))
    return model.maintenance(fac, None, None).reshape(m.shape[:-1])


def risk_unit_order(position_bases: Sequence[str], coin_assets: Sequence[str]) -> tuple[str, ...]:
    """The risk units in §6.4 order: each base a position exposes in order of first appearance, then each
    coin balance's asset (the caller passes only non-USD-like, priced assets)."""
    return tuple(dict.fromkeys([*position_bases, *coin_assets]))
