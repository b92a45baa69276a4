"""The cascade's options: their domains, validation, and per-symbol lookups (façade: :mod:`margin.contagion`).

Every option and its default is described in the :mod:`margin.contagion` docstring; this module only
checks what a caller passes (a dict from JSON, the CLI or the dashboard) and says what is wrong with it
(:class:`~margin.errors.PortfolioError`, one :class:`~margin.errors.Problem` per bad field).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import VIEWS
from .errors import PortfolioError, Problem
from .instruments import symbol_base

IMPACT_LAWS: tuple[str, ...] = ("none", "sqrt", "linear")
FILLS: tuple[str, ...] = ("crossing", "step")
ORDERS: tuple[str, ...] = ("maintenance", "loss")

PARAM_KEYS: tuple[str, ...] = (
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
    "gap",
)


@dataclass(frozen=True)
class CascadeParams:
    """Validated options of :func:`margin.contagion.cascade` (see the :mod:`margin.contagion` docstring)."""

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
    #: the shock happens at once (format §7 ``--gap``): see :func:`margin.cascade_driver.cascade`
    gap: bool = False


def lookup(table: Mapping[str, float], symbol: str) -> float | None:
    """A per-symbol value given by exact symbol or by base asset (case-insensitive)."""
    if symbol in table:
        return table[symbol]
    sb = symbol_base(symbol)  # futures and option symbols (format §6.1)
    base = sb.upper() if sb else symbol.upper()
    for k, v in table.items():
        if k.upper() == base:
            return v
    return None


def _finite(v: object) -> float | None:
    """``v`` as a float when it is a finite number (not a bool), else ``None``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def _rate_map(
    name: str, value: object, problems: list[Problem], *, allow_zero: bool = False, upper: float | None = None
) -> dict[str, float]:
    def ok(x: float | None) -> bool:
        return x is not None and (x >= 0 if allow_zero else x > 0) and (upper is None or x < upper)

    rule = f"must be a number {'>= 0' if allow_zero else '> 0'}" + (f" and < {upper:g}" if upper else "")
    if not isinstance(value, Mapping):
        problems.append(Problem(f"params.{name}", f"must be an object of symbol or base asset: value ({rule})", value))
        return {}
    out: dict[str, float] = {}
    for k, v in value.items():
        x = _finite(v)
        if x is None or not ok(x):
            problems.append(Problem(f"params.{name}[{k!r}]", rule, v))
        else:
            out[str(k)] = x
    return out


_BOUNDED: tuple[tuple[str, str, Callable[[float], bool]], ...] = (
    ("strength", "must be a number >= 0", lambda x: x >= 0),
    ("restore_ratio", "must be a number > 0 and < 1", lambda x: 0 < x < 1),
    ("tolerance", "must be a number > 0", lambda x: x > 0),
)


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
        if k not in PARAM_KEYS:
            problems.append(Problem(f"params.{k}", f"is not a cascade parameter ({', '.join(PARAM_KEYS)})", params[k]))
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
    for key in ("takeover", "partial", "merge_partials", "gap"):
        if key in params:
            v = params[key]
            if not isinstance(v, bool):
                problems.append(Problem(f"params.{key}", "must be true or false", v))
            else:
                kw[key] = v
    for key, rule, good in _BOUNDED:
        if key in params:
            x = _finite(params[key])
            if x is None or not good(x):
                problems.append(Problem(f"params.{key}", rule, params[key]))
            else:
                kw[key] = x
    if "fee" in params:
        v = params["fee"]
        x = _finite(v)
        if isinstance(v, Mapping):
            kw["fee"] = _rate_map("fee", v, problems, allow_zero=True, upper=0.1)
        elif x is None or not 0 <= x < 0.1:
            problems.append(
                Problem(
                    "params.fee",
                    "must be a rate >= 0 and < 0.1 (0.005 = 0.5 %) or an object of symbol or base asset: rate",
                    v,
                )
            )
        else:
            kw["fee"] = x
    for key in ("daily_volatility", "daily_volume", "depth"):
        if key in params:
            kw[key] = _rate_map(key, params[key], problems)
    if problems:
        raise PortfolioError(problems)
    return CascadeParams(**kw)


#: the views a cascade runs: the standard ones (format §2) and the ``portfolio`` view (§6.4)
CASCADE_VIEWS: tuple[str, ...] = (*VIEWS, "portfolio")


def check_views(views: Sequence[str]) -> tuple[str, ...]:
    """The views to run (format §2, §6.4), or a PortfolioError."""
    bad = [v for v in views if v not in CASCADE_VIEWS]
    if bad or not views:
        raise PortfolioError([Problem("views", f"must be a non-empty list of {', '.join(CASCADE_VIEWS)}", list(views))])
    return tuple(views)


def check_impact(impact: str) -> str:
    """The impact law's name, or a PortfolioError."""
    if impact not in IMPACT_LAWS:
        raise PortfolioError([Problem("impact", f"must be one of {', '.join(IMPACT_LAWS)}", impact)])
    return impact


def check_shocks(shocks: Mapping[str, object]) -> list[tuple[str, float]]:
    """``{target: move}`` pairs as given, each a finite move above −100 %, or a PortfolioError."""
    items: list[tuple[str, float]] = []
    problems: list[Problem] = []
    for k, v in shocks.items():
        x = _finite(v)
        if x is None or x <= -1:
            problems.append(Problem(f"shocks[{k!r}]", "must be a move above -100% (a fraction, -0.2)", v))
        else:
            items.append((str(k), x))
    if problems:
        raise PortfolioError(problems)
    return items
