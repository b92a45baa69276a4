"""The market model of the Monte Carlo: joint hourly log returns of the simulated assets.

Built by :func:`build_model` from a :class:`~margin.loader.PriceHistory` the caller passes in (the CLI and
the dashboard load the shipped daily closes through :mod:`margin.loader`; the core reads no file). Hourly
steps (8,760 a year; crypto trades every hour), one of three models of the hourly log-return vector:

- ``gbm``: correlated normal, ``σ_h = σ/√8760``, log drift ``−σ²/2`` per year (zero price drift, as in
  the closed form of :mod:`margin.risk_closed_form`).
- ``student-t``: multivariate Student t with ``ν = 4`` degrees of freedom scaled to unit variance, the
  same covariance and drift (normal variance mixture ``Z·√((ν−2)/W)``, ``W ~ χ²_ν`` shared by the assets
  of a step: McNeil, Frey & Embrechts, *Quantitative Risk Management*, 2005, §3.2).
- ``bootstrap`` (default): every hourly step draws one historical DAILY joint return vector (a day on
  which every resampled asset has a price), demeaned, rescaled to the asset's volatility, times
  ``1/√24``, plus the log drift ``−σ²/2``. Assumption: hours are independent draws with the joint shape
  (correlation, fat tails, co-crashes) of days; 24 of them add up to the daily variance. A day's sum
  is closer to normal than the historical days (fat daily tails are understated) and the historical
  trend is removed (a past year's drift is not a forecast).

Volatility: ``vols[ASSET]`` or the annualised standard deviation of the asset's daily log returns over
the last 365 days of the history (:func:`margin.marketdata.annual_volatility`: ``std × √365``);
correlation over the days of that window where every asset has a price (:func:`margin.marketdata.correlation`).
An asset without history (e.g. SUI) needs a ``vols`` entry; it is correlated through BTC by a one-factor
model ``x = ρ·(BTC shock) + √(1−ρ²)·(own noise)`` with ``ρ`` the median correlation of the history's
assets with BTC over the window (so its correlation with asset j is ``ρ·corr(BTC, j)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .errors import PortfolioError, Problem
from .marketdata import DAYS_PER_YEAR, PriceHistory, annual_volatility, correlation
from .risk_closed_form import HOURS_PER_YEAR
from .risk_inputs import MODELS, SETTING, parameter_problem

FloatArray = npt.NDArray[np.float64]

WINDOW_DAYS = 365
#: fewest daily returns in the window for an asset's history to be used
MIN_RETURNS = 60
STUDENT_DF = 4.0


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
    history: PriceHistory,
    model: str = "bootstrap",
    vols: Mapping[str, float] | None = None,
    window_days: int = WINDOW_DAYS,
    df: float = STUDENT_DF,
) -> MarketModel:
    """Volatilities, correlation and (bootstrap) resampling rows of ``assets`` over the last ``window_days``
    of ``history`` (module docstring).

    Raises :class:`PortfolioError` naming every asset that has neither history nor a ``vols`` entry.
    """
    if model not in MODELS:
        raise PortfolioError([parameter_problem("model", f"must be one of {', '.join(MODELS)}", model)])
    vols = dict(vols or {})
    win = history.window(window_days + 1)
    returns = win.log_returns()
    counts = {a: int(np.isfinite(returns[:, i]).sum()) for i, a in enumerate(win.assets)}
    has_hist = {a: counts.get(a, 0) >= MIN_RETURNS for a in assets}
    missing = [a for a in assets if not has_hist[a] and a not in vols]
    if missing:
        shipped = ", ".join(a for a in win.assets if counts[a] >= MIN_RETURNS)
        raise PortfolioError(
            [
                parameter_problem(
                    "vols",
                    f"has no price history (fewer than {MIN_RETURNS} daily returns "
                    f"in the last {window_days} days of fixtures/market-data; with history: "
                    f"{shipped}); give its annual volatility, e.g. {SETTING}",
                    key=a,
                    about=f"asset {a}",
                    suggestion="0.9",
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
                    parameter_problem(
                        "model",
                        f"need {MIN_RETURNS} days in the last "
                        f"{window_days} on which all have a price to bootstrap, got {r.shape[0]}; "
                        f"use {SETTING} or student-t",
                        about="assets " + ", ".join(cols),
                        suggestion="gbm",
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
