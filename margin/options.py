"""Options kernel: ccxt option symbols, Black-76 prices and greeks, the standard option margin and the
volatility scenarios of the ``portfolio`` view (``portfolio-format.md`` §6).

Pure numpy, float64, vectorised over any broadcastable shape (scenarios × positions); no account, no I/O.

- Symbols (§6.1): ``BASE/QUOTE:SETTLE-YYMMDD-STRIKE-C|P``, expiry 08:00 UTC on that date, coin-settled when
  the settle asset is the base (``BTC/USD:BTC-261225-100000-C``), else e.g. USDC-settled.
- Time (§6.2): ``T = (expiry − as_of) / 365 days``; an option at or past expiry at ``as_of`` is invalid input.
- Pricing (§6.2): Black-76 on the forward, undiscounted; at ``T ≤ 0`` the intrinsic value, delta ±1 in the
  money and 0 out of it, the other greeks 0 (§6.5 ``--days``).
- Standard short-option margin (§6.3; Deribit's rule, ``reference/margin-models.md`` §5.2).
- Volatility scenarios and the scenario grid of the ``portfolio`` view (§6.4).

The normal distribution uses a vectorised double-precision ``erfc`` (W. J. Cody, "Rational Chebyshev
approximations for the error function", Math. Comp. 23 (1969) 631-638; the coefficients of netlib
``specfun/erf`` CALERF), since numpy has no ``erf`` and scipy is not a dependency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from .errors import PortfolioError, Problem

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# ---------------------------------------------------------------------------------------------------------
# erfc and the normal distribution
# ---------------------------------------------------------------------------------------------------------

# Cody (1969) / netlib specfun CALERF, IEEE double precision.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)  # fmt: skip
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)  # fmt: skip
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)  # fmt: skip
_SQRPI = 5.6418958354775628695e-1  # 1/√π
_T = TypeVar("_T")
_THRESH = 0.46875
_XBIG = 26.543  # erfc(x) underflows to 0 at and beyond (Cody's IEEE double constant)
_SQRT2 = 1.41421356237309504880  # √2
_INV_SQRT_2PI = 0.39894228040143267794  # 1/√(2π)


def _scaled_exp(y: FloatArray) -> FloatArray:
    """``exp(−y²)`` as Cody evaluates it: ``exp(−ŷ²)·exp(−(y−ŷ)(y+ŷ))`` with ``ŷ = trunc(16y)/16``, so the
    rounding of ``y²`` is not amplified by the exponential."""
    ysq = np.trunc(y * 16.0) / 16.0
    delta = (y - ysq) * (y + ysq)
    return np.exp(-ysq * ysq) * np.exp(-delta)


def erfc(x: npt.ArrayLike) -> FloatArray:
    """Complementary error function, elementwise, to double precision (Cody 1969, netlib CALERF):

    ``|x| ≤ 0.46875``: ``1 − x·R₁(x²)``; ``0.46875 < |x| ≤ 4``: ``exp(−x²)·R₂(|x|)``; ``|x| > 4``:
    ``exp(−x²)/|x|·(1/√π − R₃(1/x²)/x²)``; ``erfc(−x) = 2 − erfc(x)``; 0 from ``x ≥ 26.543``; NaN stays NaN.
    """
    arg = np.asarray(x, dtype=np.float64)
    y = np.abs(arg)
    out = np.full(arg.shape, np.nan, dtype=np.float64)

    small = y <= _THRESH
    if small.any():
        xs = arg[small]
        ysq = xs * xs
        num = _A[4] * ysq
        den = ysq
        for i in range(3):
            num = (num + _A[i]) * ysq
            den = (den + _B[i]) * ysq
        out[small] = 1.0 - xs * (num + _A[3]) / (den + _B[3])

    mid = (y > _THRESH) & (y <= 4.0)
    if mid.any():
        ym = y[mid]
        num = _C[8] * ym
        den = ym
        for i in range(7):
            num = (num + _C[i]) * ym
            den = (den + _D[i]) * ym
        out[mid] = _scaled_exp(ym) * (num + _C[7]) / (den + _D[7])

    far = (y > 4.0) & (y < _XBIG)
    if far.any():
        yf = y[far]
        ysq = 1.0 / (yf * yf)
        num = _P[5] * ysq
        den = ysq
        for i in range(4):
            num = (num + _P[i]) * ysq
            den = (den + _Q[i]) * ysq
        tail = ysq * (num + _P[4]) / (den + _Q[4])
        out[far] = _scaled_exp(yf) * (_SQRPI - tail) / yf

    out[y >= _XBIG] = 0.0
    negative = arg < -_THRESH
    out[negative] = 2.0 - out[negative]
    return out


def norm_cdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal distribution function ``N(x) = erfc(−x/√2) / 2`` (accurate in the lower tail)."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) / _SQRT2)


def norm_pdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal density ``φ(x) = exp(−x²/2) / √(2π)``."""
    arg = np.asarray(x, dtype=np.float64)
    return _INV_SQRT_2PI * np.exp(-0.5 * arg * arg)


# ---------------------------------------------------------------------------------------------------------
# option symbols and time
# ---------------------------------------------------------------------------------------------------------

#: ``BASE/QUOTE:SETTLE-`` then the option's fields (``portfolio-format.md`` §6.1; ccxt unified symbols)
_OPTION = re.compile(r"^([^/:\s]+)/([^/:\s]+):([^/:\s-]+)-([^-]*(?:-[^-]*)+)$")
_STRIKE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$", re.ASCII)
_EXPIRY = re.compile(r"^\d{6}$", re.ASCII)
_SHAPE = "BASE/QUOTE:SETTLE-YYMMDD-STRIKE-C or -P"
#: expiry time of day of a ccxt option symbol's date (§6.1)
EXPIRY_HOUR_UTC = 8
#: days per year of the time to expiry (§6.2)
YEAR_DAYS = 365.0
_KINDS = {"C": "call", "P": "put"}


@dataclass(frozen=True)
class OptionSymbol:
    """A parsed ccxt option symbol (§6.1)."""

    symbol: str
    base: str
    quote: str
    settle: str
    expiry: datetime  # aware, UTC, 08:00 on the symbol's date
    strike: float
    kind: str  # "call" or "put"

    @property
    def is_call(self) -> bool:
        return self.kind == "call"

    @property
    def coin_settled(self) -> bool:
        """Settled in the base coin (Deribit's ``BTC/USD:BTC-…``): values and margins are divided by F (§6.2)."""
        return self.settle == self.base


def is_option_symbol(symbol: str) -> bool:
    """Whether ``symbol`` has the shape of an option symbol: ``BASE/QUOTE:SETTLE-`` and at least two
    ``-``-separated fields (a dated future has one). Whether it is a valid one is for
    :func:`option_symbol_problems` to say, so a malformed option is refused as an option, not as a future."""
    return isinstance(symbol, str) and _OPTION.match(symbol) is not None


def read_option_symbol(symbol: str, path: str) -> tuple[OptionSymbol | None, list[Problem]]:
    match = _OPTION.match(symbol) if isinstance(symbol, str) else None
    if match is None:
        return None, [Problem(path, f"must be an option symbol {_SHAPE}", symbol)]
    base, quote, settle, rest = match.groups()
    fields = rest.split("-")
    if len(fields) != 3:
        rule = f"must be an option symbol {_SHAPE} (3 fields after the settle asset, found {len(fields)})"
        return None, [Problem(path, rule, symbol)]
    code, strike_text, kind_text = fields
    problems: list[Problem] = []
    expiry: datetime | None = None
    if _EXPIRY.match(code):
        try:
            expiry = datetime(2000 + int(code[:2]), int(code[2:4]), int(code[4:]), EXPIRY_HOUR_UTC, tzinfo=UTC)
        except ValueError:
            expiry = None
    if expiry is None:
        problems.append(Problem(path, f"option expiry must be a calendar date YYMMDD (in {symbol!r})", code))
    strike = float(strike_text) if _STRIKE.match(strike_text) else math.nan
    if not (math.isfinite(strike) and strike > 0):
        problems.append(Problem(path, f"option strike must be a decimal number > 0 (in {symbol!r})", strike_text))
    kind = _KINDS.get(kind_text)
    if kind is None:
        problems.append(Problem(path, f"option kind must be C (call) or P (put) (in {symbol!r})", kind_text))
    if problems or expiry is None or kind is None:
        return None, problems
    return OptionSymbol(symbol, base, quote, settle, expiry, strike, kind), []


def _or_raise(read: tuple[_T | None, list[Problem]]) -> _T:
    """The value a reader found, or :class:`PortfolioError` with its problems."""
    value, problems = read
    if value is None:
        raise PortfolioError(problems)
    return value


def option_symbol_problems(symbol: str, path: str = "symbol") -> list[Problem]:
    """Every broken rule of an option symbol (the field, the rule and the field's value), empty when valid."""
    return read_option_symbol(symbol, path)[1]


def parse_option_symbol(symbol: str, path: str = "symbol") -> OptionSymbol:
    """Parse ``BASE/QUOTE:SETTLE-YYMMDD-STRIKE-C|P`` (§6.1); :class:`PortfolioError` naming each bad field."""
    return _or_raise(read_option_symbol(symbol, path))


def read_as_of(value: object, path: str) -> tuple[datetime | None, list[Problem]]:
    rule = "must be an ISO-8601 time with its UTC offset, e.g. '2026-11-20T08:00:00Z'"
    if not isinstance(value, str) or len(value) > 64:
        return None, [Problem(path, rule, value)]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None, [Problem(path, rule, value)]
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, [Problem(path, rule + " (no offset given)", value)]
    return moment.astimezone(UTC), []


def as_of_problems(value: object, path: str = "as_of") -> list[Problem]:
    """Why ``value`` is not a valid ``as_of`` (§6.1), empty when it is."""
    return read_as_of(value, path)[1]


def parse_as_of(value: object, path: str = "as_of") -> datetime:
    """The ``as_of`` time (§6.1) as an aware UTC datetime; a naive or malformed time is invalid input."""
    return _or_raise(read_as_of(value, path))


def time_to_expiry(expiry: datetime, as_of: datetime, days_forward: float = 0.0) -> float:
    """``T = (expiry − (as_of + days_forward)) / 365 days`` in years (§6.2, §6.5 ``--days``); ``≤ 0`` once
    expired (the pricer then takes the intrinsic value). Both times must be timezone-aware."""
    days = (expiry - as_of).total_seconds() / 86400.0
    return (days - float(days_forward)) / YEAR_DAYS


def expiry_problems(option: OptionSymbol, as_of: datetime, path: str = "symbol") -> list[Problem]:
    """An option at or past its expiry at ``as_of`` is invalid input (§6.2); empty when it is live."""
    if option.expiry > as_of:
        return []
    when = option.expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    now = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [Problem(path, f"option must not be expired at as_of {now} (it expires {when})", option.symbol)]


# ---------------------------------------------------------------------------------------------------------
# Black-76
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Black76:
    """Black-76 price and greeks of one unit of underlying (USD), or of positions after :meth:`scaled`."""

    price: FloatArray
    delta: FloatArray  # ∂V/∂F, underlying units
    gamma: FloatArray  # ∂²V/∂F²
    vega: FloatArray  # ∂V/∂σ × 0.01 (per volatility point)
    theta: FloatArray  # −∂V/∂T / 365 (per calendar day; < 0 for a long option)

    def scaled(self, units: npt.ArrayLike) -> Black76:
        """Every field × ``units`` (signed underlying units ``side × contracts × contract_size``): the
        position's USD value and its greeks (§6.2)."""
        n = np.asarray(units, dtype=np.float64)
        return Black76(self.price * n, self.delta * n, self.gamma * n, self.vega * n, self.theta * n)


def black76(
    forward: npt.ArrayLike, strike: npt.ArrayLike, t: npt.ArrayLike, sigma: npt.ArrayLike, is_call: npt.ArrayLike
) -> Black76:
    """Undiscounted Black-76 (§6.2), broadcast over all arguments. With ``ω = +1`` (call) or ``−1`` (put),
    ``d1 = (ln(F/K) + σ²T/2)/(σ√T)``, ``d2 = d1 − σ√T``:

    - price ``ω·(F·N(ω·d1) − K·N(ω·d2))`` (floored at the intrinsic value, which it exceeds in exact
      arithmetic: the floor removes rounding only);
    - delta ``ω·N(ω·d1)``, gamma ``φ(d1)/(F·σ√T)``, vega ``F·φ(d1)·√T / 100``, theta ``−F·φ(d1)·σ/(2√T) / 365``;
    - at ``T ≤ 0`` (§6.5): price ``max(ω·(F − K), 0)``, delta ``ω`` in the money and 0 otherwise, the rest 0.

    Requires ``F > 0``, ``K > 0`` and, where ``T > 0``, ``σ > 0``.
    """
    f, k, tt, s, call = np.broadcast_arrays(
        np.asarray(forward, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
        np.asarray(sigma, dtype=np.float64),
        np.asarray(is_call, dtype=np.bool_),
    )
    omega = np.where(call, 1.0, -1.0)
    live = tt > 0.0
    root_t = np.sqrt(np.where(live, tt, 1.0))
    sd = np.where(live, s, 1.0) * root_t
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    n1 = norm_cdf(omega * d1)
    intrinsic = np.maximum(omega * (f - k), 0.0)
    live_price = np.maximum(omega * (f * n1 - k * norm_cdf(omega * d2)), intrinsic)
    pdf = norm_pdf(d1)
    in_money = omega * (f - k) > 0.0
    return Black76(
        price=np.where(live, live_price, intrinsic),
        delta=np.where(live, omega * n1, np.where(in_money, omega, 0.0)),
        gamma=np.where(live, pdf / (f * sd), 0.0),
        vega=np.where(live, f * pdf * root_t / 100.0, 0.0),
        theta=np.where(live, -f * pdf * np.where(live, s, 1.0) / (2.0 * root_t) / YEAR_DAYS, 0.0),
    )


def price_delta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    with_delta: bool = True,
) -> tuple[FloatArray, FloatArray | None]:
    """Black-76 price and delta only (§6.2), the same operations as :func:`black76` (bit-identical results)
    without the other greeks, for the hot paths of the ``portfolio`` view's scan; ``with_delta=False`` skips
    the delta too (returned as ``None``)."""
    f, k, tt, s, call = np.broadcast_arrays(
        np.asarray(forward, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
        np.asarray(sigma, dtype=np.float64),
        np.asarray(is_call, dtype=np.bool_),
    )
    omega = np.where(call, 1.0, -1.0)
    live = tt > 0.0
    sd = np.where(live, s, 1.0) * np.sqrt(np.where(live, tt, 1.0))
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    n1 = norm_cdf(omega * d1)
    intrinsic = np.maximum(omega * (f - k), 0.0)
    live_price = np.maximum(omega * (f * n1 - k * norm_cdf(omega * (d1 - sd))), intrinsic)
    value = np.where(live, live_price, intrinsic)
    if not with_delta:
        return value, None
    in_money = omega * (f - k) > 0.0
    return value, np.where(live, omega * n1, np.where(in_money, omega, 0.0))


def price(
    forward: npt.ArrayLike, strike: npt.ArrayLike, t: npt.ArrayLike, sigma: npt.ArrayLike, is_call: npt.ArrayLike
) -> FloatArray:
    """Black-76 price per unit of underlying, USD (§6.2; see :func:`black76`), without the greeks."""
    return price_delta(forward, strike, t, sigma, is_call, with_delta=False)[0]


def settle_value(usd_value: npt.ArrayLike, forward: npt.ArrayLike, coin_settled: npt.ArrayLike) -> FloatArray:
    """A USD amount of an option in its settle asset: ÷ F when coin-settled, else unchanged (§6.2, §6.3)."""
    usd = np.asarray(usd_value, dtype=np.float64)
    return np.where(np.asarray(coin_settled, dtype=np.bool_), usd / np.asarray(forward, dtype=np.float64), usd)


# ---------------------------------------------------------------------------------------------------------
# standard option margin (§6.3)
# ---------------------------------------------------------------------------------------------------------

#: §6.3 / margin-models.md §5.2 (Deribit, via D5): the IM rate, its floor and the MM rate, of S
OPTION_IM_RATE = 0.15
OPTION_IM_FLOOR_RATE = 0.10
OPTION_MM_RATE = 0.075


@dataclass(frozen=True)
class OptionMargin:
    """Standard initial and maintenance margin of option positions, in each one's settle asset."""

    initial: FloatArray
    maintenance: FloatArray


def standard_option_margin(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    mark: npt.ArrayLike,
    is_call: npt.ArrayLike,
    units: npt.ArrayLike,
    coin_settled: npt.ArrayLike,
) -> OptionMargin:
    """Deribit's standard option margin (§6.3; ``reference/margin-models.md`` §5.2), per unit with S = F,
    ``OTM = max(0, K − S)`` (call) or ``max(0, S − K)`` (put), ``mark`` the Black-76 price in USD:

    - call: ``IM = max(0.15·S − OTM, 0.10·S) + mark``, ``MM = 0.075·S + mark``;
    - put: ``MM = max(0.075·S, 0.075·mark) + mark``, ``IM = max(max(0.15·S − OTM, 0.10·S) + mark, MM)``;

    × the short size ``−units`` (``units`` = side × contracts × contract_size; a long option, units ≥ 0,
    needs none), ÷ S for a coin-settled option. ``mark`` is the intrinsic value once expired (§6.5).
    """
    s, k, m, call, n, coin = np.broadcast_arrays(
        np.asarray(forward, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(mark, dtype=np.float64),
        np.asarray(is_call, dtype=np.bool_),
        np.asarray(units, dtype=np.float64),
        np.asarray(coin_settled, dtype=np.bool_),
    )
    otm = np.where(call, np.maximum(k - s, 0.0), np.maximum(s - k, 0.0))
    base = np.maximum(OPTION_IM_RATE * s - otm, OPTION_IM_FLOOR_RATE * s) + m
    mm = np.where(call, OPTION_MM_RATE * s + m, np.maximum(OPTION_MM_RATE * s, OPTION_MM_RATE * m) + m)
    im = np.where(call, base, np.maximum(base, mm))
    short = np.maximum(-n, 0.0)
    scale = np.where(coin, short / s, short)
    return OptionMargin(initial=im * scale, maintenance=mm * scale)


# ---------------------------------------------------------------------------------------------------------
# volatility scenarios and the scenario grid (§6.4)
# ---------------------------------------------------------------------------------------------------------

VOL_STATES = ("up", "unchanged", "down")
DEFAULT_BUCKETS = 4
DEFAULT_EXTENDED_MOVES = (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
DEFAULT_EXTENDED_WEIGHT = 0.02
#: DTE below which the short-term vega power applies, and the floor of DTE (§6.4)
SHORT_TERM_DAYS = 30.0
MIN_DTE_DAYS = 1.0
#: floor of the vol-down multiplier ``1 − vol_range_down·f`` (§6.4)
MIN_VOL_FACTOR = 0.01


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class VolParams:
    """The volatility parameters of the ``portfolio`` view (§6.4 defaults)."""

    vol_range_up: float = 0.5
    vol_range_down: float = 0.25
    short_term_vega_power: float = 0.3
    long_term_vega_power: float = 0.13

    def problems(self, path: str = "portfolio_margin") -> list[Problem]:
        """§6.4 valid ranges: ``vol_range_up ≥ 0``, ``vol_range_down`` in [0, 1), the vega powers ≥ 0."""
        out: list[Problem] = []
        if not (_finite(self.vol_range_up) and self.vol_range_up >= 0):
            out.append(Problem(f"{path}.vol_range_up", "must be a number >= 0", self.vol_range_up))
        if not (_finite(self.vol_range_down) and 0 <= self.vol_range_down < 1):
            out.append(Problem(f"{path}.vol_range_down", "must be a number >= 0 and < 1", self.vol_range_down))
        for name in ("short_term_vega_power", "long_term_vega_power"):
            value = getattr(self, name)
            if not (_finite(value) and value >= 0):
                out.append(Problem(f"{path}.{name}", "must be a number >= 0", value))
        return out


def vol_factor(dte_days: npt.ArrayLike, params: VolParams) -> FloatArray:
    """``f = (30 / DTE)^p`` with DTE at least 1 and ``p`` the short-term vega power when DTE < 30, else the
    long-term one (§6.4)."""
    dte = np.maximum(np.asarray(dte_days, dtype=np.float64), MIN_DTE_DAYS)
    power = np.where(dte < SHORT_TERM_DAYS, params.short_term_vega_power, params.long_term_vega_power)
    return np.asarray((SHORT_TERM_DAYS / dte) ** power, dtype=np.float64)


def scenario_iv(iv: npt.ArrayLike, dte_days: npt.ArrayLike, state: npt.ArrayLike, params: VolParams) -> FloatArray:
    """An option's volatility in a scenario (§6.4), broadcast over ``iv``, ``dte_days`` and ``state``
    (``"up"``, ``"unchanged"`` or ``"down"``): up ``iv·(1 + vol_range_up·f)``, down
    ``iv·max(1 − vol_range_down·f, 0.01)``, unchanged ``iv``; ``f`` from :func:`vol_factor`."""
    states = np.asarray(state)
    unknown = ~np.isin(states, VOL_STATES)
    if unknown.any():
        raise ValueError(f"vol state must be one of {VOL_STATES}, got {states[unknown].ravel()[0]!r}")
    sigma = np.asarray(iv, dtype=np.float64)
    f = vol_factor(dte_days, params)
    up = sigma * (1.0 + params.vol_range_up * f)
    down = sigma * np.maximum(1.0 - params.vol_range_down * f, MIN_VOL_FACTOR)
    flat = np.broadcast_to(sigma, np.broadcast_shapes(sigma.shape, f.shape))
    return np.asarray(np.where(states == "up", up, np.where(states == "down", down, flat)), dtype=np.float64)


@dataclass(frozen=True)
class ScenarioGrid:
    """The scenarios of one risk unit in §6.4 order: the standard ``move = k·R/buckets``, ``k = −buckets …
    +buckets``, each with vol up, unchanged, down (weight 1), then each extended move with vol up
    (weight ``extended_weight``)."""

    move: FloatArray
    vol: tuple[str, ...]
    extended: BoolArray
    weight: FloatArray

    def __len__(self) -> int:
        return len(self.vol)

    @property
    def vol_states(self) -> npt.NDArray[np.str_]:
        """``vol`` as an array, for :func:`scenario_iv` (shape ``(n, 1)`` broadcasts against positions)."""
        return np.array(self.vol)

    def rows(self) -> list[dict[str, object]]:
        """The scenarios as ``{"move", "vol", "extended", "weight"}`` (the JSON order of §6.4)."""
        return [
            {"move": float(m), "vol": v, "extended": bool(e), "weight": float(w)}
            for m, v, e, w in zip(self.move, self.vol, self.extended, self.weight, strict=True)
        ]


def grid_problems(
    price_range: float,
    buckets: int = DEFAULT_BUCKETS,
    extended_moves: Sequence[float] = DEFAULT_EXTENDED_MOVES,
    extended_weight: float = DEFAULT_EXTENDED_WEIGHT,
    path: str = "portfolio_margin",
) -> list[Problem]:
    """§6.4 valid ranges: ``price_range`` in (0, 1), ``buckets`` an integer ≥ 1, every extended move > −1,
    ``extended_weight`` ≥ 0."""
    out: list[Problem] = []
    if not (_finite(price_range) and 0 < price_range < 1):
        out.append(Problem(f"{path}.price_range", "must be a number > 0 and < 1", price_range))
    if not (isinstance(buckets, int) and not isinstance(buckets, bool) and buckets >= 1):
        out.append(Problem(f"{path}.buckets", "must be an integer >= 1", buckets))
    for i, move in enumerate(extended_moves):
        if not (_finite(move) and move > -1):
            out.append(Problem(f"{path}.extended_moves[{i}]", "must be a number > -1", move))
    if not (_finite(extended_weight) and extended_weight >= 0):
        out.append(Problem(f"{path}.extended_weight", "must be a number >= 0", extended_weight))
    return out


def scenario_grid(
    price_range: float,
    buckets: int = DEFAULT_BUCKETS,
    extended_moves: Sequence[float] = DEFAULT_EXTENDED_MOVES,
    extended_weight: float = DEFAULT_EXTENDED_WEIGHT,
    path: str = "portfolio_margin",
) -> ScenarioGrid:
    """The ``3·(2·buckets + 1)`` standard and ``len(extended_moves)`` extended scenarios of §6.4 for one
    underlying's ``price_range``; :class:`PortfolioError` naming a parameter out of its range."""
    problems = grid_problems(price_range, buckets, extended_moves, extended_weight, path)
    if problems:
        raise PortfolioError(problems)
    k = np.arange(-buckets, buckets + 1, dtype=np.float64)
    standard = np.repeat(k * float(price_range) / buckets, len(VOL_STATES))
    extra = np.asarray(extended_moves, dtype=np.float64).reshape(-1)
    n_std, n_ext = standard.size, extra.size
    return ScenarioGrid(
        move=np.concatenate([standard, extra]),
        vol=VOL_STATES * (2 * buckets + 1) + ("up",) * n_ext,
        extended=np.concatenate([np.zeros(n_std, dtype=np.bool_), np.ones(n_ext, dtype=np.bool_)]),
        weight=np.concatenate([np.ones(n_std), np.full(n_ext, float(extended_weight))]),
    )
