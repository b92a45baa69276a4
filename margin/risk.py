"""Probability of liquidation over a horizon (``portfolio-format.md`` §5, ``python -m margin risk``).

Two tools, both with zero expected price drift by default:

1. **Closed form, one position** (:func:`first_passage_probability`). Under geometric Brownian motion
   ``dS = μ S dt + σ S dW`` the log price ``X_t = ln(S_t/S_0) = ν t + σ W_t`` is a Brownian motion with
   drift ``ν = μ − σ²/2``. By the reflection principle (Harrison 1985, *Brownian Motion and Stochastic
   Flow Systems*, ch. 1; Shreve 2004, *Stochastic Calculus for Finance II*, §7.2; the barrier-option
   literature: Merton 1973, Reiner & Rubinstein 1991 "Breaking down the barriers"), for a barrier
   ``a = ln b`` and ``s = σ√T``:

   - down (``b < 1``, a long's liquidation level): ``P(min X ≤ a) = Φ((a − νT)/s) + e^{2νa/σ²} Φ((a + νT)/s)``
   - up (``b > 1``, a short's): ``P(max X ≥ a) = Φ((−a + νT)/s) + e^{2νa/σ²} Φ((−a − νT)/s)``

   With ``μ = 0`` (the default: the price is a martingale) ``ν = −σ²/2`` and ``e^{2νa/σ²} = 1/b``.
   :func:`position_first_passage` applies it to every position at its liquidation price
   (:func:`margin.engine.liquidation_prices`): exact only for a position alone in its pool (an
   isolated position, or the only position of a cross pool), since elsewhere the other positions move
   the level.

2. **Monte Carlo, whole account** (:func:`risk`). The assets are the bases of the positions (every
   symbol of a base moves by the same ratio; the quote currency is the unit) plus non-settle collateral
   assets that have a price history or a ``--vol`` (others are held at their price). Hourly steps
   (8,760 a year; crypto trades every hour), one of three models of the hourly log-return vector:

   - ``gbm``: correlated normal, ``σ_h = σ/√8760``, log drift ``−σ²/2`` per year (zero price drift, as in
     the closed form).
   - ``student-t``: multivariate Student t with ``ν = 4`` degrees of freedom scaled to unit variance, the
     same covariance and drift (normal variance mixture ``Z·√((ν−2)/W)``, ``W ~ χ²_ν`` shared by the assets
     of a step: McNeil, Frey & Embrechts, *Quantitative Risk Management*, 2005, §3.2).
   - ``bootstrap`` (default): every hourly step draws one historical DAILY joint return vector (a day on
     which every resampled asset has a price), demeaned, rescaled to the asset's volatility, times
     ``1/√24``, plus the log drift ``−σ²/2``. Assumption: hours are independent draws with the joint shape
     (correlation, fat tails, co-crashes) of days; 24 of them add up to the daily variance. A day's sum
     is closer to normal than the historical days (fat daily tails are understated) and the historical
     trend is removed (a past year's drift is not a forecast).

   Volatility: ``--vol ASSET=σ`` or the annualised standard deviation of the asset's daily log returns
   over the last 365 days of ``fixtures/market-data/daily_close.csv`` (:func:`margin.marketdata.annual_volatility`);
   correlation over the days of that window where every asset has a price. An asset without history
   (e.g. SUI) needs ``--vol``; it is correlated through BTC by a one-factor model
   ``x = ρ·(BTC shock) + √(1−ρ²)·(own noise)`` with ``ρ`` the median correlation of the shipped assets
   with BTC over the window (so its correlation with asset j is ``ρ·corr(BTC, j)``).

   At every hourly close every pool of every view is checked with the engine's trigger (format §2:
   equity ≤ maintenance, tiers, fees and Bybit's at-entry maintenance included; :class:`Triggers`, held
   equal to :func:`margin.engine.evaluate` by a test); the first touch liquidates (the hourly close
   crossing: excursions inside an hour are not seen, which biases probabilities down; compare with the
   closed form at the Broadie–Glasserman–Kou shifted barrier, :func:`discrete_barrier`). A view is liquidated on a path
   when any of its pools holding positions is. The loop runs over hourly steps, vectorised over paths,
   positions and pools; returns are drawn in chunks of steps, so memory stays per chunk.

Confidence intervals: Wilson score interval for a probability (Wilson 1927, "Probable inference, the
law of succession, and statistical inference", JASA 22:209-212); distribution-free interval for the
median time from the order statistics (normal approximation to the binomial; Conover, *Practical
Nonparametric Statistics*, 3rd ed., §3.2; one rank wider on the upper side). Seeded with
``numpy.random.default_rng(seed)``: the same inputs and seed give the same output on one machine (the
BLAS library may round the correlation product differently elsewhere).

Limits: marks follow their base's ratio (basis and funding ignored); non-settle collateral without a
history or ``--vol`` is held at its price; an hourly close is the only monitoring; no liquidation
cascade or partial liquidation (a pool's first touch ends it for that path).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .engine import VIEWS, Book, compile_book, evaluate, liquidation_prices
from .errors import PortfolioError, Problem
from .marketdata import DAYS_PER_YEAR, PriceHistory, annual_volatility, correlation, load_daily_closes
from .models import MaintenanceTerms, net_terms
from .portfolio import Resolved

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

HOURS_PER_YEAR = DAYS_PER_YEAR * 24.0  # 8760: crypto trades every hour of the year
MODELS: tuple[str, ...] = ("bootstrap", "student-t", "gbm")
DEFAULT_PATHS = 10_000
MAX_PATHS = 200_000
MAX_HORIZON_HOURS = 8760
WINDOW_DAYS = 365
#: fewest daily returns in the window for an asset's history to be used
MIN_RETURNS = 60
STUDENT_DF = 4.0
MAX_VOL = 10.0
#: Broadie, Glasserman & Kou (1997), "A continuity correction for discrete barrier options",
#: Mathematical Finance 7(4): β = −ζ(1/2)/√(2π)
BGK_BETA = 0.5825971579390106
Z95 = 1.959963984540054
#: elements of one chunk of draws (steps × paths × assets): bounds its memory
CHUNK_ELEMENTS = 2_400_000
MAX_CHUNK_STEPS = 24
NEVER = np.iinfo(np.int32).max

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(x: npt.ArrayLike) -> FloatArray:
    """Standard normal distribution function ``Φ(x) = erfc(−x/√2)/2``, elementwise."""
    arr = np.asarray(x, dtype=np.float64)
    return np.asarray(0.5 * _erfc(-arr / math.sqrt(2.0)), dtype=np.float64)


# --------------------------------------------------------------------------- closed form


def first_passage_probability(
    barrier_ratio: npt.ArrayLike,
    sigma_annual: npt.ArrayLike,
    horizon_hours: npt.ArrayLike,
    mu_annual: npt.ArrayLike = 0.0,
    direction: str | None = None,
) -> FloatArray:
    """Probability that a GBM price touches ``b × S_0`` within the horizon (continuous monitoring).

    ``direction`` ``"down"``: ``P(min_{t≤T} S_t/S_0 ≤ b)`` (a long's liquidation level, b < 1);
    ``"up"``: ``P(max S_t/S_0 ≥ b)`` (a short's, b > 1); ``None``: down where ``b < 1``, up where ``b > 1``.
    Reflection principle for Brownian motion with drift ``ν = μ − σ²/2`` (Harrison 1985 ch. 1; Shreve,
    *Stochastic Calculus for Finance II*, §7.2), ``a = ln b``, ``s = σ√T``, ``T`` in years (8,760 h):

    ``P_down = Φ((a − νT)/s) + exp(2νa/σ²)·Φ((a + νT)/s)``,
    ``P_up = Φ((−a + νT)/s) + exp(2νa/σ²)·Φ((−a − νT)/s)``.

    Limits: a barrier already reached (down with ``b ≥ 1``, up with ``b ≤ 1``) gives 1; ``b ≤ 0`` down or
    ``b = ∞`` up gives 0; a NaN barrier (no liquidation price) gives 0; ``σ = 0`` or ``T = 0`` follows the
    deterministic path ``νt``. Vectorised: every argument broadcasts.
    """
    b, sigma, hours, mu = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (barrier_ratio, sigma_annual, horizon_hours, mu_annual))
    )
    if direction not in (None, "down", "up"):
        raise ValueError(f"direction must be 'down', 'up' or None, got {direction!r}")
    if np.any(sigma < 0) or np.any(hours < 0):
        raise ValueError("sigma_annual and horizon_hours must be >= 0")
    down = b < 1.0 if direction is None else np.full(b.shape, direction == "down")
    t = hours / HOURS_PER_YEAR
    nu = mu - 0.5 * sigma * sigma
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.log(np.where(b > 0, b, np.nan))
        s = sigma * np.sqrt(t)
        live = (s > 0) & np.isfinite(a)
        s1 = np.where(live, s, 1.0)
        a1 = np.where(live, a, 0.0)
        sig2 = np.where(live, sigma * sigma, 1.0)
        sign = np.where(down, 1.0, -1.0)
        # down: Φ((a − νT)/s) + e^{2νa/σ²} Φ((a + νT)/s); up: the same with a → −a, ν → −ν in Φ
        first = normal_cdf(sign * (a1 - nu * t) / s1)
        second_cdf = normal_cdf(sign * (a1 + nu * t) / s1)
        second = np.exp(np.minimum(2.0 * nu * a1 / sig2, 700.0)) * second_cdf
        p = np.clip(first + np.nan_to_num(second, nan=0.0, posinf=1.0), 0.0, 1.0)
        # deterministic path X_t = ν t (σ = 0 or T = 0): min X = min(0, νT), max X = max(0, νT)
        det = np.where(down, np.minimum(0.0, nu * t) <= a, np.maximum(0.0, nu * t) >= a)
        p = np.where(live, p, det.astype(np.float64))
        reached = np.where(down, b >= 1.0, b <= 1.0)
        unreachable = np.where(down, b <= 0.0, np.isposinf(b))
    p = np.where(reached, 1.0, np.where(unreachable, 0.0, p))
    return np.asarray(np.where(np.isnan(b), 0.0, p), dtype=np.float64)


def discrete_barrier(barrier_ratio: npt.ArrayLike, sigma_annual: npt.ArrayLike, step_hours: float = 1.0) -> FloatArray:
    """Barrier shifted away from the price so that continuous monitoring matches monitoring every
    ``step_hours``: ``b·exp(∓β σ √Δt)`` (− for a down barrier, + for an up one), ``β = −ζ(½)/√(2π) ≈
    0.5826`` (Broadie, Glasserman & Kou 1997, Mathematical Finance 7(4); error o(1/√m) for m monitoring
    dates)."""
    b = np.asarray(barrier_ratio, dtype=np.float64)
    shift = BGK_BETA * np.asarray(sigma_annual, dtype=np.float64) * math.sqrt(step_hours / HOURS_PER_YEAR)
    return np.asarray(np.where(b < 1.0, b * np.exp(-shift), b * np.exp(shift)), dtype=np.float64)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927): ``(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)``."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


# --------------------------------------------------------------------------- inputs


_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNIT_HOURS = {"h": 1.0, "d": 24.0, "w": 168.0}


def parse_horizon(text: str) -> int:
    """``"7d"`` → 168, ``"36h"`` → 36, ``"2w"`` → 336: a whole number of hours from 1 to 8,760."""
    rule = (
        f"must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}, written <number>h, <number>d or "
        "<number>w (e.g. 7d, 36h, 2w)"
    )
    match = _HORIZON.match(text) if isinstance(text, str) else None
    if match is None:
        raise PortfolioError([Problem("--horizon", rule, text)])
    hours = float(match.group(1)) * _UNIT_HOURS[match.group(2).lower()]
    if abs(hours - round(hours)) > 1e-9 or not 1 <= round(hours) <= MAX_HORIZON_HOURS:
        raise PortfolioError([Problem("--horizon", rule, text)])
    return round(hours)


def parse_vols(items: Sequence[str]) -> dict[str, float]:
    """``["BTC=0.6", "SOL=85%"]`` → ``{"BTC": 0.6, "SOL": 0.85}`` (annualised volatility, a fraction)."""
    out: dict[str, float] = {}
    problems: list[Problem] = []
    for item in items:
        name, sep, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        number: float | None = None
        if sep and name:
            try:
                number = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
            except ValueError:
                number = None
        if number is None:
            problems.append(Problem("--vol", "must be ASSET=ANNUAL_VOL, e.g. BTC=0.6 or BTC=60%", item))
            continue
        out[name] = number
    problems.extend(_vol_problems(out))
    if problems:
        raise PortfolioError(problems)
    return out


def _vol_problems(vols: Mapping[str, object]) -> list[Problem]:
    problems = []
    for name, value in vols.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < float(value) <= MAX_VOL):
            problems.append(
                Problem(
                    f"--vol {name}",
                    f"must be an annualised volatility in (0, {MAX_VOL:g}], as a fraction (0.6 for 60 %)",
                    value,
                )
            )
    return problems


def _asset_of(symbol: str, resolved: Resolved) -> str:
    for leg in resolved.legs:
        if leg.position.symbol == symbol:
            return leg.instrument.base
    return symbol.split("/", 1)[0]


# --------------------------------------------------------------------------- market model


@dataclass(frozen=True, eq=False)
class MarketModel:
    """Joint hourly log returns of ``assets``: volatilities, correlation and the model's own data."""

    name: str
    assets: tuple[str, ...]
    vol: FloatArray  # annualised, (A,)
    corr: FloatArray  # (A, A)
    sources: dict[str, str]
    window: dict[str, object]
    df: float = STUDENT_DF
    proxy_rho: float | None = None
    proxied: tuple[str, ...] = ()
    #: bootstrap: demeaned daily rows (D, K) of the resampled columns, rescaled and times 1/√24
    rows: FloatArray | None = None
    #: bootstrap: (K, A) map from resampled columns to assets; noise scale (A,) for proxied assets
    mix: FloatArray | None = None
    noise: FloatArray = field(default_factory=lambda: np.zeros(0))
    factor: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (A, A) with factor @ factor.T = corr

    @property
    def hourly_vol(self) -> FloatArray:
        return np.asarray(self.vol / math.sqrt(HOURS_PER_YEAR), dtype=np.float64)

    @property
    def hourly_drift(self) -> FloatArray:
        """Log drift per hour ``−σ²/2 / 8760``: zero expected price change (μ = 0)."""
        return np.asarray(-0.5 * self.vol**2 / HOURS_PER_YEAR, dtype=np.float64)

    def draw(self, rng: np.random.Generator, steps: int, paths: int) -> FloatArray:
        """Hourly log returns, float64, laid out (A, steps, paths): one row of paths per asset and step."""
        a = len(self.assets)
        if self.name == "bootstrap":
            assert self.rows is not None and self.mix is not None
            idx = rng.integers(0, self.rows.shape[0], size=(steps, paths))
            picked = self.rows.T[:, idx]  # (K, steps, paths)
            if self.mix.shape[0] == a and np.array_equal(self.mix, np.eye(a)):
                out = picked
            else:
                k = self.mix.shape[0]
                out = _blocked_matmul(self.mix.T, picked.reshape(k, steps * paths)).reshape(a, steps, paths)
            if np.any(self.noise > 0):
                cols = np.flatnonzero(self.noise > 0)
                own = rng.standard_normal((cols.size, steps, paths), dtype=np.float32)
                out[cols] += own * self.noise[cols][:, None, None]
        else:
            z: FloatArray = np.asarray(rng.standard_normal((a, steps * paths), dtype=np.float32), dtype=np.float64)
            # one product for the whole chunk: (A, A) @ (A, steps·paths)
            out = _blocked_matmul(self.factor * self.hourly_vol[:, None], z).reshape(a, steps, paths)
            if self.name == "student-t":
                w = rng.chisquare(self.df, size=(steps, paths))
                out *= np.sqrt((self.df - 2.0) / w)
        out += self.hourly_drift[:, None, None]
        return np.asarray(out, dtype=np.float64)

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "assets": list(self.assets),
            "volatility": {a: float(v) for a, v in zip(self.assets, self.vol, strict=True)},
            "volatility_source": dict(self.sources),
            "correlation": [[float(x) for x in row] for row in self.corr],
            "window": dict(self.window),
            "step_hours": 1,
            "drift": "zero price drift: log drift -sigma^2/2 per year (historical mean removed)",
        }
        if self.proxied:
            out["btc_proxy"] = {"assets": list(self.proxied), "rho": self.proxy_rho}
        if self.name == "student-t":
            out["degrees_of_freedom"] = self.df
        if self.name == "bootstrap" and self.rows is not None:
            out["bootstrap_days"] = int(self.rows.shape[0])
        return out


def _blocked_matmul(m: FloatArray, x: FloatArray) -> FloatArray:
    """``m @ x`` for a small ``m`` (A, K) and a wide ``x`` (K, N), one block of columns per BLAS call.

    Each call stays below OpenBLAS's threading threshold (about 2.6·10⁵ multiply-adds), so the product
    runs on the calling thread: woken BLAS threads spin-wait after a call and slow the element-wise
    work that follows on a small shared machine. Same numbers as ``m @ x`` up to rounding.
    """
    a, k = m.shape
    n = x.shape[1]
    block = max(64, 131072 // max(1, a * k))
    nb = n // block
    out = np.empty((a, n))
    if nb:
        xv = x[:, : nb * block].reshape(k, nb, block).transpose(1, 0, 2)
        ov = out[:, : nb * block].reshape(a, nb, block).transpose(1, 0, 2)
        np.matmul(m, xv, out=ov)
    if n > nb * block:
        out[:, nb * block :] = m @ x[:, nb * block :]
    return out


def _factor(corr: FloatArray) -> FloatArray:
    """A matrix ``L`` with ``L Lᵀ = corr``: Cholesky, or the symmetric square root when not positive definite."""
    try:
        return np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(corr)
        return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)), dtype=np.float64)


def build_model(
    assets: Sequence[str],
    model: str = "bootstrap",
    vols: Mapping[str, float] | None = None,
    history: PriceHistory | None = None,
    window_days: int = WINDOW_DAYS,
    df: float = STUDENT_DF,
) -> MarketModel:
    """Volatilities, correlation and (bootstrap) resampling rows of ``assets`` over the last ``window_days``.

    Raises :class:`PortfolioError` naming every asset that has neither history nor ``--vol``.
    """
    if model not in MODELS:
        raise PortfolioError([Problem("--model", f"must be one of {', '.join(MODELS)}", model)])
    vols = dict(vols or {})
    hist = history if history is not None else load_daily_closes()
    win = hist.window(window_days + 1)
    returns = win.log_returns()
    counts = {a: int(np.isfinite(returns[:, i]).sum()) for i, a in enumerate(win.assets)}
    has_hist = {a: counts.get(a, 0) >= MIN_RETURNS for a in assets}
    missing = [a for a in assets if not has_hist[a] and a not in vols]
    if missing:
        shipped = ", ".join(a for a in win.assets if counts[a] >= MIN_RETURNS)
        raise PortfolioError(
            [
                Problem(
                    f"asset {a}",
                    f"has no price history (fewer than {MIN_RETURNS} daily returns "
                    f"in the last {window_days} days of fixtures/market-data; with history: "
                    f"{shipped}); give its annual volatility, e.g. --vol {a}=0.9",
                    show_value=False,
                )
                for a in missing
            ]
        )
    hist_assets = [a for a in assets if has_hist[a]]
    proxied = tuple(a for a in assets if not has_hist[a])
    cols = list(hist_assets)
    if proxied and "BTC" not in cols:
        cols.append("BTC")
    est = annual_volatility(win, cols) if cols else {}
    target = {a: float(vols.get(a, est.get(a, math.nan))) for a in [*cols, *proxied]}
    sources = {a: "--vol" if a in vols else "history" for a in assets}
    n_a = len(assets)
    pos = {a: i for i, a in enumerate(assets)}
    corr = np.eye(n_a)
    rho: float | None = None
    c_cols = np.eye(len(cols))
    if len(cols) > 1:
        try:
            c_cols = correlation(win, cols)
        except ValueError as exc:
            problem = Problem(
                "assets " + ", ".join(cols),
                f"need {MIN_RETURNS} common days of price history in the last {window_days} days ({exc})",
                show_value=False,
            )
            raise PortfolioError([problem]) from exc
    for i, a in enumerate(hist_assets):
        for j, b in enumerate(hist_assets):
            corr[pos[a], pos[b]] = c_cols[i, j]
    if proxied:
        rhos = [correlation(win, ["BTC", a])[0, 1] for a in win.assets if a != "BTC" and counts[a] >= MIN_RETURNS]
        rho = float(np.median(rhos))
        k_btc = cols.index("BTC")
        for a in proxied:
            for b in hist_assets:
                corr[pos[a], pos[b]] = corr[pos[b], pos[a]] = rho * c_cols[k_btc, cols.index(b)]
            for b in proxied:
                if b != a:
                    corr[pos[a], pos[b]] = rho * rho
    vol = np.array([target[a] for a in assets], dtype=np.float64)
    first, last = (win.times[0], win.times[-1]) if win.times else ("", "")
    window: dict[str, object] = {
        "from": first,
        "to": last,
        "days": window_days,
        "source": "fixtures/market-data/daily_close.csv",
    }
    rows = mix = None
    noise = np.zeros(n_a)
    if model == "bootstrap" and n_a:
        r = returns[:, [win.assets.index(c) for c in cols]] if cols else np.zeros((0, 0))
        r = r[np.all(np.isfinite(r), axis=1)] if cols else np.zeros((1, 0))
        if cols and r.shape[0] < MIN_RETURNS:
            raise PortfolioError(
                [
                    Problem(
                        "assets " + ", ".join(cols),
                        f"need {MIN_RETURNS} days in the last "
                        f"{window_days} on which all have a price to bootstrap, got {r.shape[0]}; "
                        "use --model gbm or student-t",
                        show_value=False,
                    )
                ]
            )
        r = r - r.mean(axis=0)
        if cols:
            sd = r.std(axis=0, ddof=1) * math.sqrt(DAYS_PER_YEAR)
            r = r * (np.array([target[c] for c in cols]) / sd) / math.sqrt(24.0)
        rows = np.ascontiguousarray(r)
        mix = np.zeros((len(cols), n_a))
        for k, c in enumerate(cols):
            if c in pos and has_hist[c]:
                mix[k, pos[c]] = 1.0
        for a in proxied:
            assert rho is not None
            mix[cols.index("BTC"), pos[a]] = rho * target[a] / target["BTC"]
            noise[pos[a]] = math.sqrt(max(0.0, 1.0 - rho * rho)) * target[a] / math.sqrt(HOURS_PER_YEAR)
        window["common_days"] = int(rows.shape[0])
    return MarketModel(
        name=model,
        assets=tuple(assets),
        vol=vol,
        corr=corr,
        sources=sources,
        window=window,
        df=df,
        proxy_rho=rho,
        proxied=proxied,
        rows=rows,
        mix=mix,
        noise=noise,
        factor=_factor(corr) if n_a else np.zeros((0, 0)),
    )


# --------------------------------------------------------------------------- trigger of every pool


def _pick(where: BoolArray, new: MaintenanceTerms, old: MaintenanceTerms) -> MaintenanceTerms:
    """Rows ``where`` from ``new``, the rest from ``old``."""
    w = where[:, None]
    return MaintenanceTerms(
        np.where(w, new.constant, old.constant),
        np.where(w, new.rate, old.rate),
        np.where(w, new.per_size, old.per_size),
        np.where(w, new.fee, old.fee),
    )


class Triggers:
    """Every pool of every view at a matrix of marks: per position a closed form, per pool a sum.

    Per position, ``net = UPNL − maintenance`` at mark ``P`` within one tier ``k`` is
    ``α_k·P + β_k + γ_k/P + δ_k/P²``, the margin model's segment terms (:func:`margin.models.net_terms`;
    a model that values isolated maintenance at entry, Bybit §3.2, gives one constant segment). The tier
    changes where the notional crosses a floor: ``P ≥ F/q`` (linear) or ``P ≤ q/F`` (inverse); per step
    only the positions whose marks straddle a floor across the paths look tiers up element by element. A
    pool (format §2) is liquidated when ``wallet + Σ net ≤ 0``. Pools that are the same in several views
    (an isolated position, a cross pool with the same members and wallet) are computed once. Arrays are
    laid out (positions, paths).
    :func:`margin.engine.evaluate` gives the same flags (a test holds them equal).
    """

    def __init__(self, books: Mapping[str, Book]) -> None:
        first = next(iter(books.values()))
        self.book = b = first
        tiers = b.tiers
        self.width = tiers.width
        n, k_w = b.n_positions, tiers.width
        everyone = np.arange(n)
        all_tiers = np.broadcast_to(np.arange(k_w), (n, k_w))
        # the margin model's segment terms (margin.models.base): for each position those of a view in which
        # its maintenance follows the mark, and, where some view values it at entry, those (one segment)
        mark_terms: MaintenanceTerms | None = None
        floors = np.full((n, max(k_w - 1, 0)), np.inf)
        chosen = np.zeros(n, dtype=bool)
        entry_terms: MaintenanceTerms | None = None
        chosen_e = np.zeros(n, dtype=bool)
        for bk in books.values():
            t = bk.model.terms(bk, everyone, all_tiers)
            take = ~bk.at_entry & ~chosen
            if take.any():
                mark_terms = t if mark_terms is None else _pick(take, t, mark_terms)
                floors = np.where(take[:, None], bk.model.floors(bk, everyone), floors)
                chosen |= take
            take_e = bk.at_entry & ~chosen_e
            if take_e.any():
                first_seg = MaintenanceTerms(t.constant[:, :1], t.rate[:, :1], t.per_size[:, :1], t.fee[:, :1])
                entry_terms = first_seg if entry_terms is None else _pick(take_e, first_seg, entry_terms)
                chosen_e |= take_e
        if mark_terms is None:
            zero = np.zeros((n, k_w))
            mark_terms = MaintenanceTerms(zero, zero, zero, zero)
        q = b.size[:, None]
        lin = ~b.inverse[:, None]
        net = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], mark_terms)
        self.alpha = net.alpha.ravel()
        self.beta = net.beta.ravel()
        self.gamma = net.gamma.ravel()
        self.delta = net.delta.ravel()
        self.inverse_rows = np.flatnonzero(b.inverse)
        self.any_delta = bool(np.any(self.delta != 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.thr = np.where(lin, floors / q, q / floors)  # (P, K-1) in mark space
        self.linear = ~b.inverse
        # at-entry variant (isolated positions on venues whose model values maintenance at entry)
        if entry_terms is None:
            zero1 = np.zeros((n, 1))
            entry_terms = MaintenanceTerms(zero1, zero1, zero1, zero1)
        net_e = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], entry_terms)
        self.alpha_e = net_e.alpha[:, 0]
        self.beta_e = net_e.beta[:, 0]
        self.gamma_e = net_e.gamma[:, 0]
        # unique pools over the views: cross pools first, then isolated ones
        self.views = tuple(books)
        cross_keys: dict[tuple[object, ...], int] = {}
        iso_keys: dict[tuple[object, ...], int] = {}
        cross_members: list[BoolArray] = []
        cross_wallet: list[float] = []
        cross_coll: list[FloatArray] = []
        iso: list[tuple[int, bool, float]] = []
        refs: dict[str, list[tuple[str, int]]] = {}
        for view, bk in books.items():
            refs[view] = []
            for g in range(bk.n_pools):
                members = bk.pool == g
                wallet = float(bk.pool_wallet[g])
                if not members.any():
                    refs[view].append(("none", -1))
                elif bk.pool_mode[g] == "isolated":
                    i = int(np.flatnonzero(members)[0])
                    key: tuple[object, ...] = (i, bool(bk.at_entry[i]), wallet)
                    if key not in iso_keys:
                        iso_keys[key] = len(iso)
                        iso.append((i, bool(bk.at_entry[i]), wallet))
                    refs[view].append(("iso", iso_keys[key]))
                else:
                    weight = bk.collateral_weight[:, g] if bk.collateral_assets else np.zeros(0)
                    key = (members.tobytes(), wallet, weight.tobytes())
                    if key not in cross_keys:
                        cross_keys[key] = len(cross_members)
                        cross_members.append(members)
                        cross_wallet.append(wallet)
                        cross_coll.append(weight)
                    refs[view].append(("cross", cross_keys[key]))
        self.n_cross = len(cross_members)
        self.n_unique = self.n_cross + len(iso)
        self.view_pools = {
            v: np.array(
                [-1 if kind == "none" else (k if kind == "cross" else self.n_cross + k) for kind, k in r], dtype=np.intp
            )
            for v, r in refs.items()
        }
        self.cross_rows = [None if bool(mm.all()) else np.flatnonzero(mm) for mm in cross_members]
        self.cross_wallet = np.array(cross_wallet, dtype=np.float64)
        self.cross_coll = np.column_stack(cross_coll) if cross_coll and cross_coll[0].size else None
        self.iso_pos = np.array([i for i, _, _ in iso], dtype=np.intp)
        self.iso_wallet = np.array([w for _, _, w in iso], dtype=np.float64)
        entry = np.array([e for _, e, _ in iso], dtype=bool)
        self.iso_plain = np.flatnonzero(~entry)
        self.iso_entry = np.flatnonzero(entry)

    def _net(self, mark: FloatArray) -> FloatArray:
        """``UPNL − maintenance − fee`` of every position (rows) on every path (columns)."""
        p = mark.shape[0]
        k_w = self.width
        lin = self.linear
        if k_w > 1 and p:
            lo = mark.min(axis=1)
            hi = mark.max(axis=1)
            thr = self.thr
            base = np.where(lin, (thr <= lo[:, None]).sum(axis=1), (thr >= hi[:, None]).sum(axis=1))
            top = np.where(lin, (thr <= hi[:, None]).sum(axis=1), (thr >= lo[:, None]).sum(axis=1))
        else:
            base = top = np.zeros(p, dtype=np.intp)
        flat = np.arange(p) * k_w + base
        net = mark * self.alpha[flat][:, None]
        net += self.beta[flat][:, None]
        rows = self.inverse_rows
        if rows.size:
            with np.errstate(divide="ignore"):
                inv = 1.0 / mark[rows]
            extra = inv * self.gamma[flat[rows]][:, None]
            if self.any_delta:
                extra += inv * inv * self.delta[flat[rows]][:, None]
            net[rows] += extra
        cross = np.flatnonzero(top > base)
        if cross.size:
            net[cross] = self._cross_tiers(mark[cross], net[cross], cross, base[cross], top[cross])
        return np.asarray(net, dtype=np.float64)

    def _cross_tiers(
        self, sub: FloatArray, net: FloatArray, rows: IntArray, base: IntArray, top: IntArray
    ) -> FloatArray:
        """``net`` of the rows whose paths straddle tier floors: from the tier at the base of the range,
        add each further tier's change of coefficients where the mark has crossed its floor (floors are
        crossed in order, so the tier is ``base`` plus the number of floors crossed)."""
        k_w = self.width
        lin = self.linear[rows]
        span = int((top - base).max())
        col = base[:, None] + np.arange(span)[None, :]  # (n, span): threshold index
        valid = col < top[:, None]
        col_c = np.minimum(col, k_w - 2)
        sign = np.where(lin, 1.0, -1.0)[:, None]
        thr = np.where(valid, self.thr[rows[:, None], col_c] * sign, np.inf)
        if lin.all():
            key = sub
        elif not lin.any():
            key = -sub
        else:
            key = sub * sign
        lo_idx = rows[:, None] * k_w + np.minimum(col, k_w - 1)
        hi_idx = rows[:, None] * k_w + np.minimum(col + 1, k_w - 1)
        inv_rows = not lin.all()
        if inv_rows:
            with np.errstate(divide="ignore"):
                inv = 1.0 / sub
        for j in range(span):
            crossed = key >= thr[:, j : j + 1]
            d_a = (self.alpha[hi_idx[:, j]] - self.alpha[lo_idx[:, j]])[:, None]
            d_b = (self.beta[hi_idx[:, j]] - self.beta[lo_idx[:, j]])[:, None]
            step = sub * d_a
            step += d_b
            if inv_rows:
                d_g = (self.gamma[hi_idx[:, j]] - self.gamma[lo_idx[:, j]])[:, None]
                d_d = (self.delta[hi_idx[:, j]] - self.delta[lo_idx[:, j]])[:, None]
                step += inv * d_g + inv * inv * d_d
            np.add(net, step, out=net, where=crossed)
        return net

    def unique_flags(self, mark: FloatArray, collateral_prices: FloatArray | None = None) -> BoolArray:
        """(unique pools, S) liquidation flags at position marks (P, S) and collateral prices (n_coll, S)."""
        net = self._net(mark)
        vals = np.empty((self.n_unique, mark.shape[1]))
        for c, rows in enumerate(self.cross_rows):
            vals[c] = net.sum(axis=0) if rows is None else net[rows].sum(axis=0)
        if self.n_cross:
            vals[: self.n_cross] += self.cross_wallet[:, None]
            if collateral_prices is not None and self.cross_coll is not None:
                moved = collateral_prices - self.book.collateral_price[:, None]
                vals[: self.n_cross] += self.cross_coll.T @ moved
        if self.iso_plain.size:
            vals[self.n_cross + self.iso_plain] = (
                net[self.iso_pos[self.iso_plain]] + self.iso_wallet[self.iso_plain][:, None]
            )
        if self.iso_entry.size:
            pos = self.iso_pos[self.iso_entry]
            mk = mark[pos]
            v = mk * self.alpha_e[pos][:, None] + (self.beta_e[pos] + self.iso_wallet[self.iso_entry])[:, None]
            if self.inverse_rows.size:
                with np.errstate(divide="ignore"):
                    v += self.gamma_e[pos][:, None] / mk
            vals[self.n_cross + self.iso_entry] = v
        return np.asarray(vals <= 0.0, dtype=np.bool_)

    def liquidated(self, marks: FloatArray, collateral_prices: FloatArray | None = None) -> dict[str, BoolArray]:
        """Per view, (S, G) pool flags at symbol marks (S, n_symbols): as ``margin.engine.evaluate``."""
        mark = np.ascontiguousarray(np.asarray(marks)[:, self.book.sym].T)
        cp = None if collateral_prices is None else np.ascontiguousarray(np.asarray(collateral_prices).T)
        flags = self.unique_flags(mark, cp)
        out = {}
        for view in self.views:
            cols = self.view_pools[view]
            out[view] = np.where(cols >= 0, flags[np.maximum(cols, 0)].T, False)
        return out


# --------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True, eq=False)
class Simulation:
    """First liquidation hour of every (path, pool) of every view; ``NEVER`` where none in the horizon."""

    model: MarketModel
    horizon_hours: int
    paths: int
    seed: int
    first: dict[str, npt.NDArray[np.int32]]  # view -> (paths, G)
    books: dict[str, Book]

    def view_first(self, view: str) -> npt.NDArray[np.int32]:
        f = self.first[view]
        return f.min(axis=1) if f.shape[1] else np.full(self.paths, NEVER, dtype=np.int32)


def simulate(
    resolved: Resolved,
    horizon_hours: int,
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    model: str | MarketModel = "bootstrap",
    vols: Mapping[str, float] | None = None,
    history: PriceHistory | None = None,
    views: Sequence[str] = VIEWS,
    progress: Callable[[float], None] | None = None,
) -> Simulation:
    """Run the Monte Carlo: paths × hourly steps, first touch of every pool of every view.

    ``progress`` (optional) is called with the fraction of the horizon simulated after each chunk of steps.

    Returns are drawn in chunks of up to 24 hourly steps (assets × steps × paths); the pools are checked
    at every hourly close, one step at a time, vectorised over paths, positions and pools.
    """
    books = {v: compile_book(resolved, v) for v in views}
    first_book = books[views[0]]
    symbols = first_book.symbols
    sym_assets = [_asset_of(s, resolved) for s in symbols]
    coll_names = first_book.collateral_assets
    vols = dict(vols or {})
    hist = history if history is not None else load_daily_closes()
    known = set(hist.assets) | set(vols)
    coll_sim = [c for c in coll_names if c in known]
    assets = list(dict.fromkeys([*sym_assets, *coll_sim]))
    mm = model if isinstance(model, MarketModel) else build_model(assets, model, vols, hist)
    a_index = {a: i for i, a in enumerate(mm.assets)}
    pos_col = np.array([a_index[sym_assets[s]] for s in first_book.sym], dtype=np.intp)
    mark0 = first_book.marks[first_book.sym][:, None]
    coll_cols = np.array([a_index.get(c, -1) for c in coll_names], dtype=np.intp)
    moving = np.flatnonzero(coll_cols >= 0)
    coll0 = first_book.collateral_price[:, None]
    triggers = Triggers(books)
    first = np.full((triggers.n_unique, paths), NEVER, dtype=np.int32)
    now = triggers.unique_flags(mark0, coll0 if coll_names else None)
    first[now[:, 0]] = 0
    rng = np.random.default_rng(seed)
    n_a = len(mm.assets)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // max(1, paths * max(n_a, 1))))
    level = np.zeros((n_a, paths))
    ratio = np.empty((n_a, paths))
    direct = pos_col.size == n_a and bool(np.array_equal(pos_col, np.arange(n_a)))
    mark = np.empty((pos_col.size, paths))
    cp = np.repeat(coll0, paths, axis=1) if coll_names else None
    done = 0
    while done < horizon_hours and n_a and triggers.n_unique:
        steps = min(chunk, horizon_hours - done)
        x = mm.draw(rng, steps, paths)
        for j in range(steps):
            level += x[:, j]
            np.exp(level, out=ratio)
            if direct:
                np.multiply(ratio, mark0, out=mark)
            else:
                np.multiply(ratio[pos_col], mark0, out=mark)
            if cp is not None and moving.size:
                cp[moving] = coll0[moving] * ratio[coll_cols[moving]]
            flags = triggers.unique_flags(mark, cp)
            flags &= first == NEVER
            if flags.any():
                first[flags] = done + j + 1
        done += steps
        if progress is not None:
            progress(done / horizon_hours)
    per_view = {}
    for view in books:
        cols = triggers.view_pools[view]
        per_view[view] = np.where(cols[None, :] >= 0, first[np.maximum(cols, 0)].T, NEVER).astype(np.int32)
    return Simulation(model=mm, horizon_hours=horizon_hours, paths=paths, seed=seed, first=per_view, books=books)


# --------------------------------------------------------------------------- summaries


def _times_summary(hours: FloatArray) -> dict[str, float | list[float] | None]:
    if hours.size == 0:
        return {"p5": None, "p50": None, "p95": None, "mean": None, "p50_ci95": None}
    q = np.quantile(hours, [0.05, 0.5, 0.95])
    srt = np.sort(hours)
    n = srt.size
    half = Z95 * math.sqrt(n * 0.25)
    lo = int(max(1, math.floor(n * 0.5 - half)))
    hi = int(min(n, math.ceil(n * 0.5 + half) + 1))
    return {
        "p5": float(q[0]),
        "p50": float(q[1]),
        "p95": float(q[2]),
        "mean": float(hours.mean()),
        "p50_ci95": [float(srt[lo - 1]), float(srt[hi - 1])],
    }


def _checkpoints(horizon: int) -> list[int]:
    step = 1 if horizon <= 48 else 24 * max(1, math.ceil(horizon / 24 / 60))
    points = list(range(step, horizon, step))
    return [*points, horizon]


def _summary(first: npt.NDArray[np.int32], horizon: int) -> dict[str, object]:
    n = first.size
    hit = first != NEVER
    k = int(hit.sum())
    lo, hi = wilson_interval(k, n)
    hours = np.sort(first[hit]).astype(np.float64)
    marks = _checkpoints(horizon)
    cumulative = np.searchsorted(hours, np.array(marks, dtype=np.float64), side="right") / max(n, 1)
    return {
        "probability": k / n if n else 0.0,
        "ci95": [lo, hi],
        "liquidated_paths": k,
        "time_to_liquidation_hours": _times_summary(hours),
        "cumulative": {"hours": marks, "probability": [float(c) for c in cumulative]},
    }


def _volatilities(
    resolved: Resolved, vols: Mapping[str, float] | None, history: PriceHistory | None
) -> dict[str, float]:
    assets = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    if not assets:
        return {}
    m = build_model(assets, "gbm", vols, history)
    return {a: float(v) for a, v in zip(m.assets, m.vol, strict=True)}


def position_first_passage(
    resolved: Resolved,
    view: str = "as_is",
    horizon_hours: int = 168,
    vols: Mapping[str, float] | None = None,
    mu_annual: float = 0.0,
    history: PriceHistory | None = None,
    asset_vols: Mapping[str, float] | None = None,
) -> list[dict[str, object]]:
    """Closed-form probability (:func:`first_passage_probability`) that each position's mark touches
    its liquidation price (:func:`margin.engine.liquidation_prices`, other prices held) within the horizon.

    Volatility of the position's base: ``vols`` (``--vol``) or history (as :func:`build_model`);
    ``asset_vols`` gives them all directly. ``exact`` is true only for a position alone in its pool:
    elsewhere the other positions' prices move its liquidation price. ``probability_hourly`` uses the
    Broadie–Glasserman–Kou shifted barrier (:func:`discrete_barrier`): the hourly-close monitoring of
    :func:`risk`. A position with no liquidation price has probability 0; one whose pool is already
    liquidated has 1.
    """
    book = compile_book(resolved, view)
    if book.n_positions == 0:
        return []
    ev = evaluate(book)
    lp = liquidation_prices(book, ev).liquidation[0]
    sig_of = dict(asset_vols) if asset_vols is not None else _volatilities(resolved, vols, history)
    assets = [leg.instrument.base for leg in resolved.legs]
    sigma = np.array([sig_of[a] for a in assets], dtype=np.float64)
    mark = ev.mark[0]
    with np.errstate(invalid="ignore"):
        ratio = lp / mark
    already = ev.pool_liquidated[0][book.pool]
    p = first_passage_probability(ratio, sigma, horizon_hours, mu_annual)
    p_hourly = first_passage_probability(discrete_barrier(ratio, sigma), sigma, horizon_hours, mu_annual)
    p = np.where(already, 1.0, p)
    p_hourly = np.where(already, 1.0, p_hourly)
    count = np.bincount(book.pool, minlength=book.n_pools)
    out = []
    for i, leg in enumerate(resolved.legs):
        out.append(
            {
                "id": book.ids[i],
                "symbol": leg.position.symbol,
                "asset": assets[i],
                "side": leg.position.side,
                "pool": int(book.pool[i]),
                "mark": float(mark[i]),
                "liquidation_price": None if math.isnan(lp[i]) else float(lp[i]),
                "barrier_ratio": None if math.isnan(ratio[i]) else float(ratio[i]),
                "volatility": float(sigma[i]),
                "probability": float(p[i]),
                "probability_hourly": float(p_hourly[i]),
                "exact": bool(count[book.pool[i]] == 1),
            }
        )
    return out


def _check(
    horizon_hours: int | str, paths: int, seed: int, model: str, vols: Mapping[str, float] | None, assets: Sequence[str]
) -> int:
    problems: list[Problem] = []
    hours = 0
    if isinstance(horizon_hours, str):
        try:
            hours = parse_horizon(horizon_hours)
        except PortfolioError as exc:
            problems.extend(exc.problems)
    elif (
        isinstance(horizon_hours, bool)
        or not isinstance(horizon_hours, (int, np.integer))
        or not 1 <= int(horizon_hours) <= MAX_HORIZON_HOURS
    ):
        problems.append(
            Problem("--horizon", f"must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}", horizon_hours)
        )
    else:
        hours = int(horizon_hours)
    if isinstance(paths, bool) or not isinstance(paths, (int, np.integer)) or not 1 <= int(paths) <= MAX_PATHS:
        problems.append(Problem("--paths", f"must be an integer from 1 to {MAX_PATHS:,}", paths))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        problems.append(Problem("--seed", "must be an integer >= 0", seed))
    if model not in MODELS:
        problems.append(Problem("--model", f"must be one of {', '.join(MODELS)}", model))
    problems.extend(_vol_problems(vols or {}))
    for name in vols or {}:
        if name not in assets:
            problems.append(
                Problem(
                    f"--vol {name}",
                    f"names no asset of the portfolio (assets: {', '.join(assets) or 'none'})",
                    show_value=False,
                )
            )
    if problems:
        raise PortfolioError(problems)
    return hours


def risk(
    resolved: Resolved,
    horizon_hours: int | str,
    paths: int = DEFAULT_PATHS,
    seed: int = 0,
    model: str = "bootstrap",
    vols: Mapping[str, float] | None = None,
    history: PriceHistory | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, object]:
    """The JSON document of ``python -m margin risk`` (format §5): probability of liquidation per view.

    ``{"horizon_hours", "paths", "seed", "model": {parameters used}, "modes": {VIEW: {"probability",
    "ci95" (Wilson), "liquidated_paths", "time_to_liquidation_hours": {"p5", "p50", "p95", "mean",
    "p50_ci95"} (null when no path liquidates), "cumulative": {"hours", "probability"}, "pools": [...],
    "positions": [closed form, :func:`position_first_passage`]}}}``. ``horizon_hours`` may be a string
    such as ``"7d"`` (:func:`parse_horizon`). Raises :class:`PortfolioError` on bad inputs.
    """
    coll = resolved.portfolio.collateral_assets
    bases = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    hist = history if history is not None else load_daily_closes()
    hours = _check(horizon_hours, paths, seed, model, vols, [*bases, *[c for c in coll if c not in bases]])
    sim = simulate(resolved, hours, int(paths), int(seed), model, vols, hist, progress=progress)
    asset_vols = {a: float(v) for a, v in zip(sim.model.assets, sim.model.vol, strict=True)}
    modes: dict[str, object] = {}
    for view, book in sim.books.items():
        summary = _summary(sim.view_first(view), hours)
        pools = []
        for g in range(book.n_pools):
            members = [book.ids[i] for i in np.flatnonzero(book.pool == g)]
            if not members:
                continue
            pool_sum = _summary(sim.first[view][:, g], hours)
            pools.append(
                {
                    "pool": g,
                    "settle": book.pool_settle[g],
                    "mode": book.pool_mode[g],
                    "positions": members,
                    "probability": pool_sum["probability"],
                    "ci95": pool_sum["ci95"],
                    "time_to_liquidation_hours": pool_sum["time_to_liquidation_hours"],
                }
            )
        summary["pools"] = pools
        summary["positions"] = position_first_passage(resolved, view, hours, asset_vols=asset_vols)
        modes[view] = summary
    held = [c for c in coll if c not in sim.model.assets]
    model_doc = sim.model.describe()
    if held:
        model_doc["held_constant"] = held
    return {"horizon_hours": hours, "paths": int(paths), "seed": int(seed), "model": model_doc, "modes": modes}
