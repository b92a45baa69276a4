"""Bundled sample portfolios (``fixtures/portfolios``)."""

from __future__ import annotations

from pathlib import Path

from margin import Portfolio, load_portfolio

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "portfolios"
DEFAULT_SAMPLE = "mixed-cross-isolated"


def sample_names() -> list[str]:
    """Names (file stems) of the bundled samples, default first."""
    names = sorted(p.stem for p in SAMPLES_DIR.glob("*.json"))
    if DEFAULT_SAMPLE in names:
        names.remove(DEFAULT_SAMPLE)
        names.insert(0, DEFAULT_SAMPLE)
    return names


def load_sample(name: str) -> Portfolio:
    return load_portfolio(SAMPLES_DIR / f"{name}.json")
