"""Crash library: stress presets from documented market events, applied to any portfolio.

Each preset (``fixtures/crashes.json``) names an event, its UTC window, its sources, the per-asset
moves derived from the shipped Binance spot data (``fixtures/market-data``, see its README and
SOURCE-README for provenance) and, where documented, collateral shocks (stablecoin or staked-token
depegs). A preset applies as an instant move (``stress``) or as a price path (``preset_path``).

Definitions (the numbers in ``crashes.json`` follow them exactly and ``tests/test_crashes.py``
recomputes them from the CSV files):

* **reference price** of an asset: hourly events, the ``open`` of the window's first 1h bar
  (``intraday/<event>_<SYM>_1h.csv``, 00:00 UTC of the window's first day); the daily event (USDC
  depeg), the ``daily_close.csv`` close of the day before the window.
* **instant move**, measure ``close`` (default): ``min(closes in the window) / reference − 1`` with the
  1h closes (daily closes for the daily event); measure ``low``: the same with the 1h bars' lows
  (the daily event has closes only, so there ``low`` equals ``close``). Lows include real single prints such as LINK's
  0.0001 USDT on 2020-03-12 (SOURCE-README, "Known features"), so ``low`` is the wick scenario.
* **path**: ``close_t / reference`` for every bar of the window.
* **assets without data in the event** (any base outside BTC ETH SOL BNB XRP DOGE ADA AVAX LINK LTC,
  or one not yet listed): ``1 + move = (1 + m_BTC)^β`` — the asset's log move is β times BTC's, β
  being its own ``margin.marketdata.betas`` (log returns against BTC) over the 365 daily closes that
  end the day before the window when it has at least 180 joint returns, else the event's default β =
  the median of those betas over the shipped non-BTC assets. The power form keeps prices positive
  for any β and equals ``β × m_BTC`` to first order. Leading multipliers (``1000PEPE``, ``kPEPE``)
  are stripped before the lookup.
* **collateral shocks** apply to a portfolio's ``collateral_assets`` whose names match
  (case-insensitive): ``peg`` shocks move the price by ``low_price / peg − 1``; ``discount``
  shocks (a staked token trading below its underlying) move it by ``(1 + m_underlying)(1 − d) − 1``,
  ``d = 1 − low_price / underlying_price``; the token tracks its underlying otherwise. A backing
  asset's value in its pool is ``amount × price × (1 − haircut)`` (``margin.portfolio.CollateralAsset``).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from datetime import date, timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .engine import VIEWS
from .errors import PortfolioError, Problem
from .instruments import parse_symbol, underlying_asset
from .loader import (
    DAILY_CLOSES,
    MEASURES,
    PRESETS_FILE,
    CollateralShock,
    Preset,
    daily_rows,
    intraday_bars,
    load_presets,
    preset_definitions,
    source_path,
    write_text,
)
from .marketdata import PriceHistory, betas, load_daily_closes, load_intraday
from .options import is_option_symbol
from .portfolio import Resolved
from .report import evaluate_view, option_market, portfolio_view_dict
from .shocks import Shock

__all__ = [
    "MEASURES",
    "PRESETS_FILE",
    "CollateralShock",
    "Preset",
    "asset_move",
    "asset_path",
    "build_presets_file",
    "derive",
    "get_preset",
    "list_presets",
    "load_presets",
    "lookup_base",
    "preset_moves",
    "preset_path",
    "stress",
]

FloatArray = npt.NDArray[np.float64]
MARKET = "BTC"
BETA_DAYS = 365
BETA_MIN_RETURNS = 180


# ---------------------------------------------------------------- the presets (read by margin.loader)


def list_presets() -> list[dict[str, Any]]:
    """Name, title, window, sources, assets covered, collateral shocks and whether a path exists."""
    return [
        {
            "name": p.name,
            "title": p.title,
            "window": dict(p.window),
            "data": p.data,
            "sources": [dict(s) for s in p.sources],
            "assets": list(p.assets),
            "collateral_shocks": [c.asset for c in p.collateral_shocks],
            "has_path": p.has_path,
            "btc_move": p.moves["close"][MARKET],
        }
        for p in load_presets()
    ]


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is invalid input (``--preset``)."""
    for p in load_presets():
        if p.name == name:
            return p
    names = ", ".join(p.name for p in load_presets())
    raise PortfolioError([Problem("--preset", f"must be one of {names}", name)])


# ---------------------------------------------------------------- applying to a portfolio


#: ``1000PEPE`` → ``PEPE``, ``kPEPE`` → ``PEPE`` (one rule: :func:`margin.instruments.underlying_asset`)
lookup_base = underlying_asset


def _base_of(symbol: str) -> str:
    if is_option_symbol(symbol):  # an option's forward moves with its base (format §6.5)
        return lookup_base(symbol.split("/", 1)[0])
    inst = parse_symbol(symbol)
    return lookup_base(inst.base if inst is not None else symbol)


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise PortfolioError([Problem("--measure", f"must be one of {', '.join(MEASURES)}", measure)])


def asset_move(preset: Preset, base: str, measure: str = "close") -> tuple[float, dict[str, Any] | None]:
    """Instant move of ``base`` (already looked up) and, when the β rule was used, its description."""
    moves = preset.moves[measure]
    if base in moves:
        return moves[base], None
    beta, rule = preset.beta(base)
    m_btc = moves[MARKET]
    move = math.exp(beta * math.log1p(m_btc)) - 1.0
    return move, {"beta": beta, "rule": rule, "btc_move": m_btc, "formula": "(1 + btc_move) ** beta - 1"}


def _collateral_matches(preset: Preset, resolved: Resolved) -> dict[str, CollateralShock]:
    shocks = {c.asset.upper(): c for c in preset.collateral_shocks}
    return {name: shocks[name.upper()] for name in resolved.portfolio.collateral_assets if name.upper() in shocks}


def preset_moves(
    preset: Preset, resolved: Resolved, measure: str = "close"
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """``(symbol_moves, collateral_moves, notes)`` of ``preset`` on ``resolved``.

    ``notes``: ``asset_moves`` (base → move), ``fallbacks`` (base → β rule), ``collateral_not_held``
    (the preset's collateral shocks the portfolio does not hold) and free-text ``notes``.
    """
    _check_measure(measure)
    symbol_moves: dict[str, float] = {}
    asset_moves: dict[str, float] = {}
    fallbacks: dict[str, dict[str, Any]] = {}
    for symbol in resolved.symbols:
        base = _base_of(symbol)
        move, fb = asset_move(preset, base, measure)
        symbol_moves[symbol] = move
        asset_moves[base] = move
        if fb is not None:
            fallbacks[base] = fb
    matched = _collateral_matches(preset, resolved)
    collateral_moves: dict[str, float] = {}
    for name, shock in matched.items():
        m_u = 0.0
        if shock.kind == "discount" and shock.underlying is not None:
            m_u, _ = asset_move(preset, shock.underlying, measure)
        collateral_moves[name] = shock.move(m_u)
    held = {n.upper() for n in matched}
    text: list[str] = []
    settles = {s.upper() for s in resolved.settles}
    for c in preset.collateral_shocks:
        if c.asset.upper() in settles and c.asset.upper() not in held:
            text.append(
                f"{c.asset} is a settle asset of this portfolio: amounts are counted in {c.asset}, so its "
                "depeg against USD does not move the pool (list it in collateral_assets to model it)"
            )
        if c.estimate and c.asset.upper() in held:
            text.append(f"{c.asset} shock is an estimate: {c.basis}")
    notes: dict[str, Any] = {
        "asset_moves": asset_moves,
        "fallbacks": fallbacks,
        "collateral_not_held": [c.asset for c in preset.collateral_shocks if c.asset.upper() not in held],
        "notes": text,
    }
    return symbol_moves, collateral_moves, notes


def stress(
    resolved: Resolved,
    name: str,
    measure: str = "close",
    vol_shocks: Sequence[Shock] | None = None,
    days: float = 0.0,
) -> dict[str, Any]:
    """The ``stress`` JSON document (``portfolio-format.md`` §5): the preset's instant moves applied.

    ``modes`` is exactly the ``evaluate`` shape (``margin.report.evaluate_view`` at the moved marks and
    collateral prices); extra fields give the window, sources, collateral moves and β fallbacks.
    """
    preset = get_preset(name)
    symbol_moves, collateral_moves, notes = preset_moves(preset, resolved, measure)
    market = option_market(
        resolved, resolved.market.moved({**symbol_moves, **collateral_moves}), list(vol_shocks or []), days
    )
    results = {view: evaluate_view(resolved, view, market) for view in VIEWS}
    modes: dict[str, Any] = {view: r.to_dict() for view, r in results.items()}
    modes["portfolio"] = portfolio_view_dict(resolved, market, results["as_is"])
    extra: dict[str, Any] = {}
    if market.vol_moves:
        extra["vol_shock"] = dict(market.vol_moves)
    if market.days:
        extra["days"] = market.days
    return {
        "preset": preset.name,
        "title": preset.title,
        "window": dict(preset.window),
        "measure": measure,
        "sources": [dict(s) for s in preset.sources],
        "venue": resolved.venue.name,
        "moves": notes["asset_moves"],
        "symbol_moves": symbol_moves,
        "collateral_moves": collateral_moves,
        "collateral_sources": {
            a: {"basis": c.basis, "estimate": c.estimate, "sources": [dict(s) for s in c.sources]}
            for a, c in _collateral_matches(preset, resolved).items()
        },
        "collateral_not_held": notes["collateral_not_held"],
        "fallbacks": notes["fallbacks"],
        "path_available": preset.has_path,
        "notes": notes["notes"],
        **extra,
        "modes": modes,
    }


# ---------------------------------------------------------------- paths


def _window_history(preset: Preset) -> PriceHistory:
    if preset.data == "intraday" and preset.event is not None:
        return load_intraday(preset.event)
    daily = load_daily_closes()
    first, last = preset.window["start"][:10], preset.window["end"][:10]
    rows = [i for i, t in enumerate(daily.times) if first <= t <= last]
    return PriceHistory(tuple(daily.times[i] for i in rows), daily.assets, daily.closes[rows], daily.hours)


def asset_path(preset: Preset, base: str) -> FloatArray:
    """``close_t / reference`` of ``base`` over the window (β rule on BTC's path when not in the data)."""
    hist = _window_history(preset)
    if base in preset.reference and base in hist.assets:
        col = hist.column(base)
        if np.all(np.isfinite(col)):
            return col / preset.reference[base]
    beta, _ = preset.beta(base)
    btc: FloatArray = hist.column(MARKET) / preset.reference[MARKET]
    return np.exp(beta * np.log(btc))


def preset_path(preset: Preset, resolved: Resolved) -> tuple[tuple[str, ...], FloatArray, FloatArray | None]:
    """``(times, marks (T, n_symbols), collateral_prices (T, n_collateral_assets) or None)``.

    Columns of ``marks`` follow ``resolved.symbols`` (the engine's ``book.symbols``); columns of the
    collateral prices follow ``resolved.portfolio.collateral_assets`` (``book.collateral_assets``).
    A peg shock sets its low in the bar ``shock.time``; a discount token tracks its underlying's path
    and trades at ``(1 − d)`` of it in that bar; unmatched collateral keeps its price.
    """
    hist = _window_history(preset)
    times = hist.times
    marks = (
        np.column_stack([resolved.marks[s] * asset_path(preset, _base_of(s)) for s in resolved.symbols])
        if resolved.symbols
        else np.zeros((len(times), 0))
    )
    backing = resolved.portfolio.collateral_assets
    if not backing:
        return times, marks, None
    matched = _collateral_matches(preset, resolved)
    cols: list[FloatArray] = []
    for name, ca in backing.items():
        col = np.full(len(times), ca.price)
        shock = matched.get(name)
        if shock is not None:
            at = np.array([t.startswith(shock.time) for t in times])
            if shock.kind == "peg":
                col = np.where(at, ca.price * shock.low_price / shock.peg, col)
            else:
                under = asset_path(preset, shock.underlying or MARKET)
                col = ca.price * under * np.where(at, 1.0 - shock.discount, 1.0)
        cols.append(col)
    return times, marks, np.column_stack(cols)


# ---------------------------------------------------------------- deriving the recorded numbers


def derive(definition: dict[str, Any], root: Traversable | None = None) -> dict[str, Any]:
    """Fill the data-derived fields of a preset definition (reference, moves, trough times, betas).

    Used to (re)build ``fixtures/crashes.json`` from the shipped data (or from a directory ``root`` laid
    out like ``fixtures``; the files are read by :mod:`margin.loader`); see the module docstring for the
    definitions.
    """
    out = dict(definition)
    start, end = definition["window"]["start"][:10], definition["window"]["end"][:10]
    reference: dict[str, float] = {}
    moves: dict[str, dict[str, float]] = {m: {} for m in MEASURES}
    trough: dict[str, str] = {}
    if definition["data"] == "intraday":
        event = definition["event"]
        for asset, bars in intraday_bars(event, root).items():
            ref = float(bars[0]["open"])
            closes = [float(b["close"]) for b in bars]
            lows = [float(b["low"]) for b in bars]
            i = min(range(len(closes)), key=closes.__getitem__)
            reference[asset] = ref
            moves["close"][asset] = closes[i] / ref - 1.0
            moves["low"][asset] = min(lows) / ref - 1.0
            trough[asset] = bars[i]["timestamp_utc"]
    else:
        daily = daily_rows(root)
        prior = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
        ref_row = next(r for r in daily if r["date"] == prior)
        rows = [r for r in daily if start <= r["date"] <= end]
        for asset in [c for c in ref_row if c != "date"]:
            if ref_row[asset] == "" or any(r[asset] == "" for r in rows):
                continue
            ref = float(ref_row[asset])
            closes = [float(r[asset]) for r in rows]
            i = min(range(len(closes)), key=closes.__getitem__)
            reference[asset] = ref
            moves["close"][asset] = closes[i] / ref - 1.0
            moves["low"][asset] = closes[i] / ref - 1.0  # daily lows are not shipped
            trough[asset] = rows[i]["date"]
    # betas over the 365 daily closes ending the day before the window
    hist = load_daily_closes(None if root is None else str(root.joinpath(*DAILY_CLOSES.split("/"))))
    first = (date.fromisoformat(start) - timedelta(days=BETA_DAYS)).isoformat()
    rows_idx = [i for i, t in enumerate(hist.times) if first <= t < start]
    window = PriceHistory(tuple(hist.times[i] for i in rows_idx), hist.assets, hist.closes[rows_idx], hist.hours)
    r = window.log_returns()
    m = r[:, window.assets.index(MARKET)]
    alts = [a for a in window.assets if a != MARKET]
    enough = [
        a for a in alts if int(np.sum(np.isfinite(r[:, window.assets.index(a)]) & np.isfinite(m))) >= BETA_MIN_RETURNS
    ]
    est = betas(window, enough, MARKET)
    out["reference"] = reference
    out["moves"] = moves
    out["trough_time"] = trough
    out["betas"] = {a: est.get(a) for a in alts}
    out["default_beta"] = statistics.median(est[a] for a in enough)
    out["beta_window"] = {"start": window.times[0], "end": window.times[-1]}
    for shock in out.get("collateral_shocks", []):
        if shock["kind"] == "discount" and shock.get("underlying_price") is None:
            bars = intraday_bars(definition["event"], root)[shock["underlying"]]
            bar = next(b for b in bars if b["timestamp_utc"] == shock["underlying_bar"])
            shock["underlying_price"] = float(bar["close"])
    return out


def build_presets_file(definitions: list[dict[str, Any]] | None = None, path: Path | None = None) -> None:
    """Write ``crashes.json`` (default: the shipped file in the source tree) from hand-written definitions
    plus the numbers :func:`derive` computes (default definitions: the presets already in ``path``, so a
    rebuild re-derives every number)."""
    if path is None:
        path = source_path(PRESETS_FILE)
    if definitions is None:
        definitions = preset_definitions(str(path))
    doc = {
        "format": "margin-crash-presets/1",
        "definitions": {
            "reference": "hourly events: open of the window's first 1h bar; daily event: close of the day before "
            "the window (daily_close.csv)",
            "moves.close": "min(1h closes in the window) / reference - 1 (daily closes for the daily event)",
            "moves.low": "min(1h lows in the window) / reference - 1, single extreme prints included (daily "
            "event: equal to moves.close, daily lows are not shipped)",
            "trough_time": "bar of the lowest close",
            "betas": "margin.marketdata.betas (log returns vs BTC) over the 365 daily closes ending the day before "
            "the window; null when fewer than 180 joint returns",
            "default_beta": "median of the non-null betas; assets without data move by (1 + BTC move) ** beta - 1",
            "collateral_shocks": "peg: move = low_price / peg - 1; discount: move = (1 + underlying move) * "
            "(low_price / underlying_price) - 1",
        },
        "presets": [derive(d) for d in definitions],
    }
    write_text(path, json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    load_presets.cache_clear()
