"""The shipped data: the one module of the core that reads data files (user portfolios: :mod:`margin.files`).

Everything is read from the package ``fixtures`` through :func:`importlib.resources.files`, so the same
code works from a source checkout, an editable install and an installed wheel (``pyproject.toml`` declares
the files as package data):

- ``tiers/<venue>.json``: a venue's default tier tables, contract sizes and taker fee
  (:func:`load_venue_defaults`; a portfolio's ``tiers`` override them, ``portfolio-format.md`` §1);
- ``market-data/daily_close.csv`` and ``market-data/intraday/<event>_<SYM>_1h.csv``: Binance spot closes
  (:func:`load_daily_closes`, :func:`load_intraday`; sources in ``fixtures/market-data/README.md``), and
  the hourly quote volumes behind the impact defaults of :mod:`margin.contagion`
  (:func:`default_daily_volumes`);
- ``crashes.json``: the crash presets of :mod:`margin.crashes` (:func:`load_presets`);
- ``portfolios/*.json``: the sample portfolios (:func:`sample_names`, :func:`sample_text`).

A missing, unreadable or malformed file raises :class:`DataFileError` naming the file: the shipped data is
part of the product, so nothing falls back to empty defaults. Parsed data is cached (``lru_cache``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .tiers import TierTable, parse_tier_table

FloatArray = npt.NDArray[np.float64]

#: the package that holds the shipped data
PACKAGE = "fixtures"
TIERS_DIR = "tiers"
MARKET_DIR = "market-data"
DAILY_CLOSES = "market-data/daily_close.csv"
INTRADAY_DIR = "market-data/intraday"
PRESETS_FILE = "crashes.json"
PORTFOLIOS_DIR = "portfolios"
INTRADAY_SUFFIX = "_1h.csv"


class DataFileError(RuntimeError):
    """A shipped data file is missing, unreadable or malformed (a packaging defect, not user input)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"shipped data file {name} {reason} (package {PACKAGE!r} of Margin Lab)")


# --------------------------------------------------------------------------- files


def data_root() -> Traversable:
    """The root of the shipped data (the ``fixtures`` package)."""
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise DataFileError(PACKAGE, "is not installed (the package holding the data cannot be imported)") from None


def _node(name: str, root: Traversable | None) -> Traversable:
    node = data_root() if root is None else root
    for part in name.split("/"):
        node = node.joinpath(part)
    return node


def read_text(name: str, root: Traversable | None = None) -> str:
    """Text of the shipped file ``name`` (``/``-separated, relative to the data root or to ``root``)."""
    node = _node(name, root)
    shown = name if root is None else f"{name} (under {root})"
    if not node.is_file():
        raise DataFileError(shown, "is missing")
    try:
        return node.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(shown, f"cannot be read ({err.__class__.__name__}: {err})") from None


def read_json(name: str, root: Traversable | None = None) -> Any:
    """The parsed JSON document of the shipped file ``name``."""
    text = read_text(name, root)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFileError(name, f"is not valid JSON ({err})") from None


def read_csv(name: str, root: Traversable | None = None) -> list[dict[str, str]]:
    """The rows of the shipped CSV file ``name`` (header row as keys); an empty file is malformed."""
    rows = list(csv.DictReader(io.StringIO(read_text(name, root), newline="")))
    if not rows:
        raise DataFileError(name, "has no data rows")
    return rows


def list_files(directory: str, suffix: str, root: Traversable | None = None) -> list[str]:
    """Names (not paths) of the files in a shipped directory that end with ``suffix``, sorted."""
    node = _node(directory, root)
    if not node.is_dir():
        raise DataFileError(directory + "/", "is missing")
    return sorted(p.name for p in node.iterdir() if p.name.endswith(suffix) and p.is_file())


def source_path(name: str) -> Path:
    """A file-system path of the shipped file ``name`` (only for the tools that rewrite shipped data, such
    as :func:`margin.crashes.build_presets_file`; reading goes through :func:`read_text`)."""
    return Path(str(_node(name, None)))


def write_text(path: Path, text: str) -> None:
    """Write a (re)built data file: the one write of the data tools."""
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- venue defaults


@dataclass(frozen=True)
class VenueDefaults:
    """What a venue preset knows without the portfolio telling it."""

    venue: str
    tiers: dict[str, TierTable] = field(default_factory=dict)
    contract_sizes: dict[str, float] = field(default_factory=dict)
    taker_fee: float | None = None
    source: str = ""
    as_of: str | None = None


def tier_files() -> list[str]:
    """Names of the shipped tier files (``tiers/*.json``)."""
    return list_files(TIERS_DIR, ".json")


@lru_cache(maxsize=32)
def load_venue_defaults(venue: str, tiers_file: str | None) -> VenueDefaults:
    """``tiers/<tiers_file>``: the venue's default tiers, contract sizes and taker fee.

    A venue without a tiers file (``tiers_file`` None, e.g. ``generic``) has empty defaults. A venue
    whose file is missing, unreadable or holds an invalid table raises :class:`DataFileError`.
    """
    if tiers_file is None:
        return VenueDefaults(venue=venue)
    name = f"{TIERS_DIR}/{tiers_file}"
    data = read_json(name)
    if not isinstance(data, dict):
        raise DataFileError(name, "must hold a JSON object")
    tables: dict[str, TierTable] = {}
    for symbol, records in data.get("tiers", {}).items():
        table, problems = parse_tier_table(records, f"{tiers_file}: tiers[{symbol!r}]")
        if table is None:
            raise DataFileError(name, "holds an invalid table: " + "; ".join(str(p) for p in problems))
        tables[symbol] = table
    sizes = {str(k): float(v) for k, v in data.get("contract_sizes", {}).items()}
    fee = data.get("taker_fee")
    return VenueDefaults(
        venue=venue,
        tiers=tables,
        contract_sizes=sizes,
        taker_fee=None if fee is None else float(fee),
        source=str(data.get("source", "")),
        as_of=data.get("as_of"),
    )


# --------------------------------------------------------------------------- market data


@dataclass(frozen=True, eq=False)
class PriceHistory:
    """Closes on a regular time grid: ``closes[t, a]`` (NaN where an asset has no price)."""

    times: tuple[str, ...]
    assets: tuple[str, ...]
    closes: FloatArray
    #: bar length in hours (24 for daily)
    hours: float = 24.0

    def column(self, asset: str) -> FloatArray:
        return self.closes[:, self.assets.index(asset)]

    def window(self, last_days: int | None) -> PriceHistory:
        """The last ``last_days`` bars (all when ``None``)."""
        if last_days is None or last_days >= len(self.times):
            return self
        return PriceHistory(self.times[-last_days:], self.assets, self.closes[-last_days:], self.hours)

    def log_returns(self) -> FloatArray:
        """(T−1, A) log returns; NaN where either close is missing."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diff(np.log(self.closes), axis=0)


def _closes(
    name: str, text: str, time_col: str, close_cols: list[str] | None
) -> tuple[list[str], list[str], FloatArray]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows = list(reader)
        t = header.index(time_col)
        cols = [c for c in header if c != time_col] if close_cols is None else close_cols
        idx = [header.index(c) for c in cols]
        data = np.array([[float(r[i]) if r[i] != "" else math.nan for i in idx] for r in rows], dtype=np.float64)
    except (StopIteration, ValueError, IndexError) as err:
        raise DataFileError(name, f"is not a {time_col} + closes CSV ({err.__class__.__name__}: {err})") from None
    if not rows:
        raise DataFileError(name, "has no data rows")
    return [r[t] for r in rows], cols, data.reshape(len(rows), len(cols))


@lru_cache(maxsize=4)
def load_daily_closes(path: str | None = None) -> PriceHistory:
    """Daily closes of the shipped assets (``market-data/daily_close.csv``: date, BTC, ETH, ...), or of the
    file at ``path`` in the same layout."""
    if path is None:
        name, text = DAILY_CLOSES, read_text(DAILY_CLOSES)
    else:
        file = Path(path)
        name, text = str(file), read_text(file.name, root=file.parent)
    times, assets, closes = _closes(name, text, "date", None)
    return PriceHistory(tuple(times), tuple(assets), closes, 24.0)


def intraday_files(event: str | None = None, root: Traversable | None = None) -> list[str]:
    """Names of the hourly files (``<event>_<SYM>_1h.csv``), of one event or of all, sorted."""
    prefix = "" if event is None else f"{event}_"
    return [n for n in list_files(INTRADAY_DIR, INTRADAY_SUFFIX, root) if n.startswith(prefix)]


def _intraday_asset(event: str, name: str) -> str:
    return name[len(event) + 1 : -len(INTRADAY_SUFFIX)]


def intraday_events() -> list[str]:
    """Event prefixes of the shipped hourly crash windows, e.g. ``2022-11-08_ftx-collapse``."""
    return sorted({n.rsplit("_", 2)[0] for n in intraday_files()})


@lru_cache(maxsize=16)
def load_intraday(event: str) -> PriceHistory:
    """Hourly closes of every asset shipped for ``event`` on a common grid (``intraday/<event>_<SYM>_1h.csv``)."""
    files = intraday_files(event)
    if not files:
        raise KeyError(f"no intraday data for event {event!r}; events: {', '.join(intraday_events())}")
    times: list[str] | None = None
    assets: list[str] = []
    cols: list[FloatArray] = []
    for f in files:
        name = f"{INTRADAY_DIR}/{f}"
        ts, _, data = _closes(name, read_text(name), "timestamp_utc", ["close"])
        if times is None:
            times = ts
        if ts != times:
            raise DataFileError(name, f"has timestamps that differ from the other assets of {event}")
        assets.append(_intraday_asset(event, f))
        cols.append(data[:, 0])
    return PriceHistory(tuple(times or ()), tuple(assets), np.column_stack(cols), 1.0)


def intraday_bars(event: str, root: Traversable | None = None) -> dict[str, list[dict[str, str]]]:
    """The hourly OHLCV rows of every asset of ``event`` (asset → rows), in file order."""
    return {_intraday_asset(event, f): read_csv(f"{INTRADAY_DIR}/{f}", root) for f in intraday_files(event, root)}


def daily_rows(root: Traversable | None = None) -> list[dict[str, str]]:
    """The rows of ``market-data/daily_close.csv`` as text (date and one close column per asset)."""
    return read_csv(DAILY_CLOSES, root)


@lru_cache(maxsize=1)
def default_daily_volumes() -> dict[str, float]:
    """Daily quote volume per base asset: median over the shipped crash windows of 24 × the mean hourly
    quote volume (``fixtures/market-data/intraday/<event>_<SYM>_1h.csv``, Binance spot)."""
    per: dict[str, list[float]] = {}
    for f in intraday_files():
        asset = f.rsplit("_", 2)[1]
        rows = read_csv(f"{INTRADAY_DIR}/{f}")
        vals = [float(r["volume"]) * float(r["close"]) for r in rows if r.get("volume") and r.get("close")]
        if vals:
            per.setdefault(asset, []).append(24.0 * sum(vals) / len(vals))
    return {a: float(np.median(v)) for a, v in per.items()}


# --------------------------------------------------------------------------- crash presets


@dataclass(frozen=True)
class CollateralShock:
    """A documented depeg of a collateral asset during an event (sources in ``sources``)."""

    asset: str
    kind: str  # "peg" or "discount"
    low_price: float
    time: str  # the path bar where the low is applied
    estimate: bool
    basis: str
    sources: tuple[dict[str, Any], ...]
    peg: float = 1.0
    underlying: str | None = None
    underlying_price: float | None = None

    @property
    def discount(self) -> float:
        """``1 − low / underlying price`` (discount shocks)."""
        if self.underlying_price is None:
            raise ValueError(f"{self.asset}: discount shock without an underlying price")
        return 1.0 - self.low_price / self.underlying_price

    def move(self, underlying_move: float = 0.0) -> float:
        """Instant move of the collateral's price: peg ``low/peg − 1``; discount ``(1+m_u)(1−d) − 1``."""
        if self.kind == "peg":
            return self.low_price / self.peg - 1.0
        return (1.0 + underlying_move) * (1.0 - self.discount) - 1.0


#: measures of an instant move (``margin.crashes`` module docstring)
MEASURES = ("close", "low")


@dataclass(frozen=True)
class Preset:
    """One crash preset: window, sources, per-asset moves, betas and collateral shocks."""

    name: str
    title: str
    description: str
    data: str  # "intraday" (1h bars) or "daily"
    event: str | None
    window: dict[str, str]
    sources: tuple[dict[str, Any], ...]
    reference: dict[str, float]
    moves: dict[str, dict[str, float]]  # measure -> asset -> move
    trough_time: dict[str, str]
    betas: dict[str, float | None]
    default_beta: float
    beta_window: dict[str, str]
    collateral_shocks: tuple[CollateralShock, ...]

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(self.moves["close"])

    @property
    def has_path(self) -> bool:
        return True  # every preset has hourly (7 events) or daily (USDC depeg) data

    def beta(self, base: str) -> tuple[float, str]:
        """β against BTC for an asset without data in the event, and which rule gave it."""
        own = self.betas.get(base)
        if own is not None:
            return own, f"own beta over {self.beta_window['start']}..{self.beta_window['end']}"
        return self.default_beta, (
            "default beta: median beta of the shipped non-BTC assets over "
            f"{self.beta_window['start']}..{self.beta_window['end']}"
        )


def _shock(d: dict[str, Any]) -> CollateralShock:
    return CollateralShock(
        asset=d["asset"],
        kind=d["kind"],
        low_price=float(d["low_price"]),
        time=d["time"],
        estimate=bool(d["estimate"]),
        basis=d["basis"],
        sources=tuple(d["sources"]),
        peg=float(d.get("peg", 1.0)),
        underlying=d.get("underlying"),
        underlying_price=None if d.get("underlying_price") is None else float(d["underlying_price"]),
    )


def _preset(d: dict[str, Any]) -> Preset:
    return Preset(
        name=d["name"],
        title=d["title"],
        description=d["description"],
        data=d["data"],
        event=d.get("event"),
        window=dict(d["window"]),
        sources=tuple(d["sources"]),
        reference={k: float(v) for k, v in d["reference"].items()},
        moves={m: {k: float(v) for k, v in d["moves"][m].items()} for m in MEASURES},
        trough_time=dict(d["trough_time"]),
        betas={k: None if v is None else float(v) for k, v in d["betas"].items()},
        default_beta=float(d["default_beta"]),
        beta_window=dict(d["beta_window"]),
        collateral_shocks=tuple(_shock(c) for c in d["collateral_shocks"]),
    )


def preset_definitions(path: str | None = None) -> list[dict[str, Any]]:
    """The raw preset records of ``crashes.json`` (or of the file at ``path``)."""
    if path is None:
        name, data = PRESETS_FILE, read_json(PRESETS_FILE)
    else:
        file = Path(path)
        name, data = str(file), read_json(file.name, root=file.parent)
    if not isinstance(data, dict) or not isinstance(data.get("presets"), list):
        raise DataFileError(name, "must hold a JSON object with a 'presets' list")
    return list(data["presets"])


@lru_cache(maxsize=2)
def load_presets(path: str | None = None) -> tuple[Preset, ...]:
    """The presets of ``crashes.json`` (or of the file at ``path``), in file order."""
    records = preset_definitions(path)
    try:
        return tuple(_preset(p) for p in records)
    except (KeyError, TypeError, ValueError) as err:
        reason = f"holds a malformed preset ({err.__class__.__name__}: {err})"
        raise DataFileError(path or PRESETS_FILE, reason) from None


# --------------------------------------------------------------------------- sample portfolios


def sample_names() -> list[str]:
    """Names (file stems) of the shipped sample portfolios (``portfolios/*.json``), sorted."""
    return [n[: -len(".json")] for n in list_files(PORTFOLIOS_DIR, ".json")]


def sample_text(name: str) -> str:
    """The JSON text of the sample portfolio ``name`` (``portfolios/<name>.json``)."""
    return read_text(f"{PORTFOLIOS_DIR}/{name}.json")
