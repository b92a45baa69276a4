"""Bundled sample portfolios (``fixtures/portfolios``, read through :mod:`margin.loader`)."""

from __future__ import annotations

from margin import Portfolio, loader, parse_portfolio_json

DEFAULT_SAMPLE = "mixed-cross-isolated"


def sample_names() -> list[str]:
    """Names (file stems) of the bundled samples, default first."""
    names = loader.sample_names()
    if DEFAULT_SAMPLE in names:
        names.remove(DEFAULT_SAMPLE)
        names.insert(0, DEFAULT_SAMPLE)
    return names


def load_sample(name: str) -> Portfolio:
    return parse_portfolio_json(loader.sample_text(name), f"{name}.json")
