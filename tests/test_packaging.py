"""The wheel ships the data the product needs, and a missing data file is an error that names it.

The wheel is built offline from a copy of the sources (``pip wheel --no-build-isolation``: the test
environment's setuptools, no download, nothing written into the working tree), then:

- every file of ``fixtures/`` (tier tables, market data, crash presets, sample portfolios, recorded
  exchange payloads and their READMEs) and every Python package of ``margin``, ``dashboard`` and
  ``exchange`` is inside it;
- the unpacked wheel, put first on ``PYTHONPATH``, evaluates a sample and lists the crash presets from
  another directory (the installed-package layout, not the checkout).

:mod:`margin.loader` raises :class:`~margin.loader.DataFileError` naming the file when a shipped file is
missing, unreadable or malformed; it never falls back to empty defaults.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from margin import loader
from margin.portfolio import portfolio_from_dict, resolve

ROOT = Path(__file__).resolve().parent.parent
CODE = ("margin", "dashboard", "exchange")
DATA_SUFFIXES = (".json", ".csv", ".md")


def _copy_sources(dest: Path) -> Path:
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in (*CODE, "fixtures"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    return src


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = _copy_sources(work)
    out = work / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out)]
    proc = subprocess.run([*cmd, str(src)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _shipped_data() -> list[str]:
    fixtures = ROOT / "fixtures"
    return sorted(
        p.relative_to(ROOT).as_posix() for p in fixtures.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES
    )


def test_every_data_file_is_in_the_wheel(names: set[str]) -> None:
    data = _shipped_data()
    assert "fixtures/__init__.py" in names
    missing = [f for f in data if f not in names]
    assert missing == [], f"{len(missing)} data files of fixtures/ are not in the wheel: {missing[:10]}"


def test_the_data_the_product_reads_is_in_the_wheel(names: set[str]) -> None:
    """Named explicitly, so that a data file deleted from the tree fails here too."""
    from margin.venues import VENUES

    needed = {"fixtures/crashes.json", "fixtures/market-data/daily_close.csv"}
    needed |= {f"fixtures/tiers/{v.tiers_file}" for v in VENUES.values() if v.tiers_file is not None}
    needed |= {f"fixtures/portfolios/{name}.json" for name in loader.sample_names()}
    events = loader.intraday_events()
    assert len(events) >= 7
    intraday = {n for n in names if n.startswith("fixtures/market-data/intraday/") and n.endswith("_1h.csv")}
    for event in events:
        assert any(n.startswith(f"fixtures/market-data/intraday/{event}_BTC") for n in intraday), event
    for preset in loader.load_presets():
        if preset.event is not None:
            assert preset.event in events, preset.name
    assert any(n.startswith("fixtures/exchange-responses/binance/") for n in names)
    assert sorted(needed - names) == []


def test_every_python_package_is_in_the_wheel(names: set[str]) -> None:
    packages = sorted(
        p.parent.relative_to(ROOT).as_posix()
        for top in CODE
        for p in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in p.parts
    )
    assert "margin/venues" in packages
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert missing == [], f"packages missing from the wheel (add them to [tool.setuptools] packages): {missing}"


def test_the_unpacked_wheel_runs_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    sample = site / "fixtures" / "portfolios" / "mixed-cross-isolated.json"

    def run(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
        return proc.stdout

    where = run("-c", "import margin, fixtures, dashboard; print(margin.__file__); print(fixtures.__file__)")
    assert all(line.startswith(str(site)) for line in where.split()), where
    doc = json.loads(run("-m", "margin", "evaluate", str(sample), "--format", "json"))
    assert set(doc["modes"]) == {"as_is", "cross", "isolated", "portfolio"}
    listing = run("-m", "margin", "stress", "--list")
    assert "ftx-2022-11" in listing and "cascade-2025-10-10" in listing


# --------------------------------------------------------------------------- missing / broken data


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data root in place of the shipped package (caches cleared before and after)."""
    caches = (loader.load_venue_defaults, loader.load_presets, loader.load_daily_closes, loader.load_intraday)
    for cached in caches:
        cached.cache_clear()
    monkeypatch.setattr(loader, "data_root", lambda: tmp_path)
    yield tmp_path
    monkeypatch.undo()
    for cached in caches:
        cached.cache_clear()


def _binance_book() -> dict[str, object]:
    return {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": 10_000.0},
        "prices": {"BTC/USDT:USDT": 97_000.0},
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.1, "entry_price": 95_000.0, "leverage": 10}
        ],
    }


def test_a_missing_tier_file_raises_naming_it(data_root: Path) -> None:
    with pytest.raises(loader.DataFileError, match=r"tiers/binance-usdm\.json is missing"):
        loader.load_venue_defaults("binance-usdm", "binance-usdm.json")
    # a portfolio on that venue is not resolved against empty defaults either
    with pytest.raises(loader.DataFileError, match=r"tiers/binance-usdm\.json"):
        resolve(portfolio_from_dict(_binance_book()))


def test_every_missing_data_file_is_named(data_root: Path) -> None:
    with pytest.raises(loader.DataFileError, match=r"crashes\.json is missing"):
        loader.load_presets()
    with pytest.raises(loader.DataFileError, match=r"market-data/daily_close\.csv is missing"):
        loader.load_daily_closes()
    with pytest.raises(loader.DataFileError, match=r"market-data/intraday/ is missing"):
        loader.load_intraday("2022-11-08_ftx-collapse")
    with pytest.raises(loader.DataFileError, match=r"portfolios/ is missing"):
        loader.sample_names()
    with pytest.raises(loader.DataFileError, match=r"portfolios/btc-long\.json is missing"):
        loader.sample_text("btc-long")


def test_a_malformed_data_file_raises_naming_it(data_root: Path) -> None:
    (data_root / "tiers").mkdir()
    (data_root / "tiers" / "binance-usdm.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(loader.DataFileError, match=r"tiers/binance-usdm\.json is not valid JSON"):
        loader.load_venue_defaults("binance-usdm", "binance-usdm.json")
    bad = {"tiers": {"BTC/USDT:USDT": [{"min_notional": 0, "max_notional": None, "mmr": -0.01}]}}
    (data_root / "tiers" / "bybit.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(loader.DataFileError, match=r"tiers/bybit\.json holds an invalid table"):
        loader.load_venue_defaults("bybit", "bybit.json")
    (data_root / "market-data").mkdir()
    (data_root / "market-data" / "daily_close.csv").write_bytes(b"date,BTC\n2024-01-01,\xff\n")
    with pytest.raises(loader.DataFileError, match=r"market-data/daily_close\.csv cannot be read"):
        loader.load_daily_closes()


def test_a_venue_without_a_tiers_file_has_empty_defaults() -> None:
    """``generic`` has no file by design: its defaults are empty, which is not an error."""
    defaults = loader.load_venue_defaults("generic", None)
    assert defaults.tiers == {} and defaults.contract_sizes == {}
