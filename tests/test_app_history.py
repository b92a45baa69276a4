"""Daily candles refreshed from a venue feed the Stress and Shock lab pages when they are long enough."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.state import KEY_HISTORY
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import ReplayServer
from margin.marketdata import history_from_candles

ROOT = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    st.cache_data.clear()


def _long_history() -> object:
    rng = np.random.default_rng(11)
    n = 200
    m = rng.normal(0, 0.03, n)
    out = {}
    for symbol, beta in (
        ("BTC/USDT:USDT", 1.0),
        ("ETH/USDT:USDT", 1.3),
        ("SOL/USDT:USDT", 1.6),
        ("WIF/USDT:USDT", 2.0),
    ):
        steps = beta * m + rng.normal(0, 0.01, n)
        closes = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(steps)]))
        out[symbol] = [[1_700_006_400_000 + k * DAY_MS, c, c, c, c, 1.0] for k, c in enumerate(closes)]
    return history_from_candles(out)


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_refresh_with_short_candles_keeps_the_shipped_history() -> None:
    """The recorded Bybit candles cover a few days: the page says they are too short and why."""
    with ReplayServer(scenario_routes("bybit")) as server:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        at.selectbox(key="imp_venue").set_value("bybit")
        at.run()
        at.text_input(key="imp_api_url").set_value(server.url)
        at.button(key="imp_public").click().run()
        assert not at.exception
        got = at.session_state[KEY_HISTORY]
        assert got["venue"] == "bybit" and len(got["history"].times) >= 1
        at.switch_page("pages/5_Stress_tests.py").run()
        assert not at.exception
        assert any(
            "fewer than 60 daily returns" in c and "shipped Binance daily closes are used" in c for c in _captions(at)
        ), _captions(at)


def test_long_candle_history_drives_probability_and_betas() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "5_Stress_tests.py"), default_timeout=120)
    at.session_state[KEY_HISTORY] = {
        "venue": "binanceusdm",
        "as_of": "2026-11-21T09:00:00Z",
        "history": _long_history(),
    }
    at.run()
    assert not at.exception
    assert any("binanceusdm daily candles as of 2026-11-21T09:00:00Z" in c for c in _captions(at)), _captions(at)
    # WIF has candles now: no hand-set volatility is asked for
    assert not any(n.key and n.key.startswith("risk_vol_") for n in at.number_input)
    at.select_slider(key="risk_paths").set_value(1000)
    at.button(key="risk_run").click().run()
    assert not at.exception and not at.error
    shock = AppTest.from_file(str(ROOT / "pages" / "2_Shock_lab.py"), default_timeout=120)
    shock.session_state[KEY_HISTORY] = {
        "venue": "binanceusdm",
        "as_of": "2026-11-21T09:00:00Z",
        "history": _long_history(),
    }
    shock.run()
    assert not shock.exception
    table = shock.dataframe[-1].value
    wif = table[table["asset"] == "WIF"].iloc[0]
    assert wif["source"] == "estimated" and 1.5 < wif["beta"] < 2.5  # built with β ≈ 2 against BTC
