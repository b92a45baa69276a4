"""The session's portfolio (and the market history refreshed from a venue), shared by the pages.

The current portfolio lives in ``st.session_state`` as canonical JSON text (so it survives moving
between pages and only a valid portfolio is ever stored: bad input leaves the last good one in force).
Page settings live in the URL (``dashboard.url``); cached computations in ``dashboard.compute``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from dashboard import keys, share, url
from dashboard.compute import parse_cached, sample_text
from dashboard.samples import DEFAULT_SAMPLE, sample_names
from margin import Portfolio, PortfolioError, dump_portfolio_json
from margin.marketdata import MIN_RETURNS, PriceHistory, covers
from margin.scenarios import lookup_asset

# kept under their old names: other modules and tests import them from here
KEY_DOC = keys.DOC
KEY_SOURCE = keys.SOURCE
KEY_SAMPLE = keys.SAMPLE
KEY_HISTORY = keys.HISTORY
__all__ = [
    "KEY_DOC",
    "KEY_HISTORY",
    "KEY_SAMPLE",
    "KEY_SOURCE",
    "current_portfolio",
    "current_sample",
    "current_source",
    "current_text",
    "ensure_portfolio",
    "market_history",
    "parse_cached",
    "portfolio_error_lines",
    "sample_text",
    "set_portfolio",
    "set_portfolio_text",
]


def ensure_portfolio() -> None:
    """Load the default (or the URL's ``sample``) portfolio the first time a session opens a page; a
    shared link's portfolio (``dashboard.share``) comes first, when the URL holds a valid one."""
    if keys.DOC in st.session_state:
        return
    restored = share.restore_from_url()
    if restored is not None:
        set_portfolio_text(restored.text, restored.source, sample=restored.sample)
        return
    name = url.url_choice("sample", sample_names(), DEFAULT_SAMPLE)
    set_portfolio_text(sample_text(name), f"sample: {name}", sample=name)


def set_portfolio_text(text: str, source: str, sample: str | None = None) -> None:
    """Make the (valid, canonical) JSON ``text`` the current portfolio; the URL names its sample, if any."""
    st.session_state[keys.DOC] = text
    st.session_state[keys.SOURCE] = source
    st.session_state[keys.SAMPLE] = sample
    if sample is not None:
        url.set_url(sample=sample)
    else:
        url.drop_url("sample")


def set_portfolio(portfolio: Portfolio, source: str, sample: str | None = None) -> None:
    """Make ``portfolio`` (already validated) the current one."""
    set_portfolio_text(dump_portfolio_json(portfolio), source, sample)


def current_text() -> str:
    ensure_portfolio()
    return str(st.session_state[keys.DOC])


def current_portfolio() -> Portfolio:
    return parse_cached(current_text())


def current_source() -> str:
    ensure_portfolio()
    return str(st.session_state.get(keys.SOURCE, ""))


def current_sample() -> str | None:
    """The name of the sample in force, if the current portfolio is one."""
    value = st.session_state.get(keys.SAMPLE)
    return None if value is None else str(value)


def apply_portfolio(build: Callable[[], Portfolio], source: str, error_key: str) -> None:
    """An edit of the portfolio: ``build()`` (the core's reader) becomes the current portfolio and the page
    reruns; a refusal keeps the last good portfolio and leaves its problem lines under ``error_key``."""
    try:
        portfolio = build()
    except PortfolioError as err:
        st.session_state[error_key] = portfolio_error_lines(err)
        return
    st.session_state.pop(error_key, None)
    set_portfolio(portfolio, source)
    st.rerun()


def portfolio_error_lines(err: PortfolioError) -> list[str]:
    """Every problem of a rejected input, one line each (path, field, rule, value)."""
    return [str(p) for p in err.problems]


def market_history(bases: Sequence[str]) -> tuple[PriceHistory | None, str]:
    """The daily history refreshed from a venue's candles when it covers every base asset with enough
    returns (``margin.marketdata.MIN_RETURNS``), else ``None`` (the shipped history is used), with a note
    saying which and why."""
    got = st.session_state.get(keys.HISTORY)
    if not got:
        return None, "Volatility, correlation and betas: the shipped Binance daily closes (last 365 days)."
    hist: PriceHistory = got["history"]
    short = covers(hist, [lookup_asset(b) for b in bases])
    if short:
        return None, (
            f"The daily candles refreshed from {got['venue']} (as of {got['as_of']}) have fewer than "
            f"{MIN_RETURNS} daily returns for {', '.join(short)}: the shipped Binance daily closes are "
            "used instead."
        )
    return hist, f"Volatility, correlation and betas: {got['venue']} daily candles as of {got['as_of']}."
