"""Option positions of an account: read, checked and priced over scenarios × options (format §6).

An option position (§6.1) is kept apart from the futures legs the tiered engine margins: it has no tier,
leverage or isolated margin. Its market is its underlying's forward ``F``: ``underlying_price`` or
``index_prices[BASE]``, carried as the option symbol's mark, so that every shock of its base (``--shock BTC=…``,
``ALL``, a crash preset, a price path) moves it with the futures of that base (§6.3, §6.5). Values are
premium-style (§6.2): a pool's equity counts each option's value; the standard short-option margin is §6.3's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .errors import Problem
from .options import (
    YEAR_DAYS,
    OptionSymbol,
    black76,
    expiry_problems,
    price_delta,
    standard_option_margin,
    time_to_expiry,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: iv bounds (§6.1): an annualised fraction > 0 and ≤ 5
MAX_IV = 5.0
#: assets valued at 1 USD (§6.4)
USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "USDE"})


@dataclass(frozen=True)
class OptionLeg:
    """A resolved option position (§6.1)."""

    index: int  # position index in the file
    label: str
    option: OptionSymbol
    side: str
    contracts: float
    contract_size: float
    entry_price: float  # premium per unit of underlying, in the settle asset
    iv: float
    forward: float  # F at the file's market

    @property
    def symbol(self) -> str:
        return self.option.symbol

    @property
    def units(self) -> float:
        """``side × contracts × contract_size`` (underlying units)."""
        return (1.0 if self.side == "long" else -1.0) * self.contracts * self.contract_size


@dataclass(frozen=True, eq=False)
class OptionArrays:
    """The option legs as arrays, in leg order (view-independent)."""

    legs: tuple[OptionLeg, ...]
    as_of: datetime

    def __len__(self) -> int:
        return len(self.legs)

    @cached_property
    def strike(self) -> FloatArray:
        return np.array([leg.option.strike for leg in self.legs], dtype=np.float64)

    @cached_property
    def is_call(self) -> BoolArray:
        return np.array([leg.option.is_call for leg in self.legs], dtype=bool)

    @cached_property
    def coin(self) -> BoolArray:
        return np.array([leg.option.coin_settled for leg in self.legs], dtype=bool)

    @cached_property
    def units(self) -> FloatArray:
        return np.array([leg.units for leg in self.legs], dtype=np.float64)

    @cached_property
    def iv(self) -> FloatArray:
        return np.array([leg.iv for leg in self.legs], dtype=np.float64)

    @cached_property
    def entry(self) -> FloatArray:
        return np.array([leg.entry_price for leg in self.legs], dtype=np.float64)

    @cached_property
    def forward(self) -> FloatArray:
        return np.array([leg.forward for leg in self.legs], dtype=np.float64)

    @cached_property
    def expiry(self) -> tuple[datetime, ...]:
        return tuple(leg.option.expiry for leg in self.legs)

    def t(self, days: float = 0.0) -> FloatArray:
        """Years to expiry from ``as_of`` after ``days`` (§6.2, §6.5 ``--days``); ≤ 0 once expired."""
        return np.array([time_to_expiry(e, self.as_of, days) for e in self.expiry], dtype=np.float64)

    def bases(self) -> tuple[str, ...]:
        return tuple(leg.option.base for leg in self.legs)


@dataclass(frozen=True)
class OptionTerms:
    """Options at a matrix of forwards (S, O), in each option's settle asset (§6.2, §6.3)."""

    value: FloatArray  # signed value: long +, short −
    initial: FloatArray
    maintenance: FloatArray


def option_terms(arr: OptionArrays, forward: FloatArray, iv: FloatArray, t: FloatArray) -> OptionTerms:
    """Value and standard margin of every option at forwards ``forward`` (S, O) (§6.2: Black-76 price ×
    units, ÷ F when coin-settled; §6.3: the short-option margin with that price as ``mark``)."""
    unit_price, _ = price_delta(forward, arr.strike, t, iv, arr.is_call, with_delta=False)
    units = arr.units
    usd = unit_price * units
    value = np.where(arr.coin, usd / forward, usd)
    margin = standard_option_margin(forward, arr.strike, unit_price, arr.is_call, units, arr.coin)
    return OptionTerms(value=value, initial=margin.initial, maintenance=margin.maintenance)


def option_terms_at(
    arr: OptionArrays, idx: IntArray, forward: FloatArray, iv: FloatArray, t: FloatArray
) -> OptionTerms:
    """:func:`option_terms` of the options ``idx`` only, at forwards ``forward`` (…, len(idx)); ``iv`` and ``t``
    are those of all options (indexed here)."""
    k, call, units, coin = arr.strike[idx], arr.is_call[idx], arr.units[idx], arr.coin[idx]
    unit_price, _ = price_delta(forward, k, t[idx], iv[idx], call, with_delta=False)
    usd = unit_price * units
    value = np.where(coin, usd / forward, usd)
    margin = standard_option_margin(forward, k, unit_price, call, units, coin)
    return OptionTerms(value=value, initial=margin.initial, maintenance=margin.maintenance)


def option_rows(arr: OptionArrays, forward: FloatArray, iv: FloatArray, t: FloatArray) -> list[dict[str, object]]:
    """The §6.4 option fields of each position at forwards ``forward`` (O,): ``kind``, ``underlying_price``,
    ``iv``, ``time_to_expiry``, ``value`` (settle asset) and the greeks (USD, §6.2)."""
    b = black76(forward, arr.strike, t, iv, arr.is_call).scaled(arr.units)
    value = np.where(arr.coin, b.price / forward, b.price)
    out = []
    for j in range(len(arr)):
        out.append(
            {
                "kind": "option",
                "underlying_price": float(forward[j]),
                "iv": float(iv[j]),
                "time_to_expiry": float(t[j]),
                "value": float(value[j]),
                "greeks": {
                    "delta": float(b.delta[j]),
                    "gamma": float(b.gamma[j]),
                    "vega": float(b.vega[j]),
                    "theta": float(b.theta[j]),
                },
            }
        )
    return out


def entry_value(arr: OptionArrays) -> FloatArray:
    """The options' value at their entry premium, in the settle asset: ``entry × units`` (§6.4: an option's
    ``unrealized_pnl`` is its value against the entry premium)."""
    return np.asarray(arr.entry * arr.units, dtype=np.float64)


# --------------------------------------------------------------------------------------------- reading


def read_index_prices(value: object, problems: list[Problem]) -> dict[str, float]:
    """The file's ``index_prices`` (§6.1): ``{BASE: USD price > 0}``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem("index_prices", "must be an object of base asset: USD price", value))
        return {}
    out: dict[str, float] = {}
    for asset, price in value.items():
        ok = isinstance(price, int | float) and not isinstance(price, bool) and math.isfinite(price)
        if not (ok and 1e-12 <= float(price) <= 1e12):
            problems.append(Problem(f"index_prices.{asset}", "must be a number > 0 (USD per unit)", price))
        else:
            out[str(asset)] = float(price)
    return out


def iv_problem(value: object) -> str | None:
    """Why ``value`` is not an ``iv`` (§6.1: annualised fraction > 0 and ≤ 5), else ``None``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < float(value) <= MAX_IV:  # type: ignore[arg-type]
        return f"must be an annualised volatility > 0 and <= {MAX_IV:g} (0.55 = 55 %)"
    return None


def option_leg_problems(
    option: OptionSymbol,
    path: str,
    iv: float | None,
    underlying_price: float | None,
    margin_mode: str,
    as_of: datetime | None,
    index_prices: Mapping[str, float],
) -> tuple[float | None, list[Problem]]:
    """The forward of an option position and every broken rule of §6.1–6.2 (``iv`` required, not isolated, not
    expired at ``as_of``, a forward given or an index price of its base)."""
    problems: list[Problem] = []
    if iv is None:
        problems.append(Problem(f"{path}.iv", "is required for an option (its implied volatility)", None, False))
    elif iv_problem(iv):
        problems.append(Problem(f"{path}.iv", iv_problem(iv) or "", iv))
    if margin_mode == "isolated":
        problems.append(
            Problem(
                f"{path}.margin_mode",
                "must be 'cross' for an option (venues margin options in the cross pool)",
                margin_mode,
            )
        )
    if as_of is not None:
        problems.extend(expiry_problems(option, as_of, f"{path}.symbol"))
    forward = underlying_price if underlying_price is not None else index_prices.get(option.base)
    if forward is None:
        problems.append(
            Problem(
                f"{path}.underlying_price",
                f"is required: no index_prices.{option.base} either (the option's underlying price)",
                None,
                False,
            )
        )
    return forward, problems


def days_problem(days: object) -> str | None:
    """``--days`` must be a finite number ≥ 0 and at most 3,650 (§6.5)."""
    ok = isinstance(days, int | float) and not isinstance(days, bool) and math.isfinite(days)
    if not ok or not 0 <= float(days) <= 3650:  # type: ignore[arg-type]
        return "must be a number of days >= 0 and <= 3650"
    return None


def moved_as_of(as_of: datetime, days: float) -> datetime:
    """``as_of`` moved ``days`` forward (§6.5)."""
    return as_of + timedelta(days=float(days))


def vol_multipliers(bases: Sequence[str], vol_moves: Mapping[str, float]) -> FloatArray:
    """Each option's iv multiplier ``1 + move`` of its base (§6.5 ``--vol-shock``; moves already combined)."""
    return np.array([1.0 + float(vol_moves.get(b, 0.0)) for b in bases], dtype=np.float64)


def dte_days(t: FloatArray) -> FloatArray:
    """Days to expiry ``T × 365`` (§6.4)."""
    return np.asarray(t * YEAR_DAYS, dtype=np.float64)


def combine_vol_shocks(shocks: Sequence[tuple[str, float]], bases: Sequence[str]) -> dict[str, float]:
    """The compounded volatility move of each option base (§6.5 ``--vol-shock TARGET=PCT``: ``ALL`` or a base,
    ``∏(1 + PCT) − 1``); a target no option matches, or a result ≤ −100 %, is invalid input."""
    from .errors import PortfolioError

    problems: list[Problem] = []
    out: dict[str, float] = {}
    known = list(dict.fromkeys(bases))
    for target, move in shocks:
        hit = [b for b in known if target.upper() in ("ALL", b.upper())]
        if not hit:
            names = ", ".join(known) or "none"
            problems.append(Problem("--vol-shock", f"target matches no option base of the portfolio ({names})", target))
        for b in hit:
            out[b] = (1.0 + out.get(b, 0.0)) * (1.0 + move) - 1.0
    for b, move in out.items():
        if not move > -1.0:
            problems.append(
                Problem("--vol-shock", f"volatility moves compound to {move:+.2%} for {b}: must stay above -100%", move)
            )
    if problems:
        raise PortfolioError(problems)
    return out
