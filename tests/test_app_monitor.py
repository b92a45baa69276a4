"""The Monitor page (issue 12, item 6; format §8): units of ``dashboard.monitor`` and the page through AppTest.

- the history chart on the figure object, the history bound, the API URL check, the venue default;
- one refresh after another against the local replay server (Bybit's recorded markets, a ticker whose mark
  moves with ``Route.sequence``): the marks, states and transitions of a hand-worked portfolio, and a failed
  refresh that keeps the last good marks;
- the page on every sample with no network (not started): its pool table is ``margin.monitor.status``;
- alert rules edited on the page: a good rule is applied and evaluated, a bad metric shows the reader's
  message and keeps the rules;
- Start against the replay server: the marks, a "monitoring started" toast, then a toast per transition.

The hand-worked portfolio (:data:`BYBIT_DOC`): Bybit, 2,000 USDT, one cross long of 1 BTC/USDT:USDT
entered at 50,000, leverage 20, one tier with mmr 1 % and no maintenance amount (the file's tiers replace
the venue's). Cross pool (margin-models.md §3.5: MM = position value × MMR − deduction; margin ratio =
MM / margin balance, format §2): at mark M, equity = 2,000 + (M − 50,000) and MM = 0.01 M.
- M = 50,000: 500 / 2,000 = 0.25 → safe (below the §8 default warning level 0.5);
- M = 48,900: 489 / 900 = 0.5433 → warning (≥ 0.5, < 0.8);
- M = 48,400: 484 / 400 = 1.21 → liquidation (≥ 1).
The all-isolated view (Bybit isolated, margin-models.md §3.2: MM at the ENTRY value, 50,000 × 1 % = 500;
isolated margin = entry notional / leverage = 2,500, format §1): 500 / (2,500 + M − 50,000) = 0.2, 0.357
(safe), 0.556 (warning) at the three marks. The rule ``mr`` (margin_ratio above 0.7) is clear, clear,
then triggered (1.21 > 0.7).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard import keys
from dashboard.monitor import (
    HISTORY_LIMIT,
    HistoryPoint,
    MonitorState,
    append_history,
    check_api_url,
    default_venue,
    ratio_history_figure,
    refresh,
    rules_key,
)
from exchange.testkit.scenarios import load_fixture, scenario_routes
from exchange.testkit.server import Fault, ReplayServer, Route
from margin import parse_portfolio_json, resolve
from margin.files import load_portfolio
from margin.monitor import PoolStatus, status
from margin.states import AlertLevels
from tests.conftest import ROOT, SAMPLES
from tests.test_app_pages import assert_clean, open_app

APP = str(ROOT / "app.py")
PAGE = "pages/8_Monitor.py"
KEY_DOC = "ml_portfolio_json"
APPLY = "FormSubmitter:mon_rules_form-Apply rules"
BTC = "BTC/USDT:USDT"

BYBIT_DOC: dict[str, Any] = {
    "format": "margin-portfolio/1",
    "venue": "bybit",
    "collateral": {"USDT": 2000.0},
    "prices": {BTC: 50000.0},
    "tiers": {BTC: [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 100, "maint_amount": 0}]},
    "positions": [
        {"symbol": BTC, "side": "long", "contracts": 1, "entry_price": 50000.0, "leverage": 20, "margin_mode": "cross"}
    ],
    "alerts": [{"id": "mr", "metric": "margin_ratio", "above": 0.7}],
}
MARKS = (50000.0, 48900.0, 48400.0)


def ticker(mark: float) -> Any:
    """Bybit's recorded BTCUSDT ticker answer (fixtures/exchange-responses/bybit/fetchTicker.json) at ``mark``."""
    body = copy.deepcopy(load_fixture("bybit/fetchTicker.json")["cases"][0]["httpResponse"])
    body["result"]["list"][0]["markPrice"] = f"{mark:.2f}"
    return body


def moving_routes(marks: tuple[float, ...] = MARKS) -> list[Route]:
    """Bybit's recorded routes with the BTCUSDT ticker answering ``marks`` in turn (the last one repeats)."""
    routes = [r for r in scenario_routes("bybit") if r.path != "/v5/market/tickers"]
    query = {"category": "linear", "symbol": "BTCUSDT"}
    return [*routes, Route("GET", "/v5/market/tickers", None, query=query, sequence=tuple(ticker(m) for m in marks))]


def bybit_resolved() -> Any:
    return resolve(parse_portfolio_json(json.dumps(BYBIT_DOC)))


def pool(view: str, ratio: float | None, position: str | None = None, state: str = "safe") -> PoolStatus:
    return PoolStatus(view, "USDT", "cross" if position is None else "isolated", position, ratio, state)


# ----------------------------------------------------------------------------- units: chart, history, URL


def test_history_chart_has_one_line_per_pool_of_the_view_with_its_ratios() -> None:
    history = [
        HistoryPoint.of("t1", (pool("as_is", 0.25), pool("cross", 0.3), pool("as_is", 0.1, "ETH short"))),
        HistoryPoint.of("t2", (pool("as_is", 0.5433), pool("cross", 0.6))),  # the isolated pool is gone
        HistoryPoint.of("t3", (pool("as_is", None), pool("cross", 1.2), pool("as_is", 0.2, "ETH short"))),
    ]
    fig = ratio_history_figure(history, "as_is", AlertLevels(0.6, 0.85))
    assert [t.name for t in fig.data] == ["USDT cross", "USDT isolated · ETH short"]
    assert list(fig.data[0].x) == ["t1", "t2", "t3"]
    assert list(fig.data[0].y) == [0.25, 0.5433, None]  # None: equity ≤ 0, a gap
    assert list(fig.data[1].y) == [0.1, None, 0.2]
    # the levels are dashed lines (shapes), not traces: warning 0.6, margin call 0.85, the trigger 1
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.6, 0.85, 1.0]
    assert [t.name for t in ratio_history_figure(history, "cross").data] == ["USDT cross"]
    assert list(ratio_history_figure(history, "cross").data[0].y) == [0.3, 0.6, 1.2]


def test_history_keeps_the_last_points() -> None:
    history: tuple[HistoryPoint, ...] = ()
    for n in range(HISTORY_LIMIT + 5):
        history = append_history(history, HistoryPoint(f"t{n}", {}))
    # 505 appended, 500 kept: the first kept is the 6th appended (t5), the last the 505th (t504)
    assert len(history) == 500 and history[0].time == "t5" and history[-1].time == "t504"


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=20))
def test_history_bound_property(n: int, limit: int) -> None:
    history: tuple[HistoryPoint, ...] = ()
    for k in range(n):
        history = append_history(history, HistoryPoint(str(k), {}), limit)
    assert [h.time for h in history] == [str(k) for k in range(max(0, n - limit), n)]


def test_api_url_is_sanitised_and_never_carries_a_key() -> None:
    assert check_api_url("") == (None, None)
    assert check_api_url(" http://127.0.0.1:8123/ ") == ("http://127.0.0.1:8123", None)
    assert check_api_url("https://api-testnet.bybit.com/prefix") == ("https://api-testnet.bybit.com/prefix", None)
    for bad in ("ftp://host", "https://user:pw@host", "https://host/?apiKey=abc", "host-only", "https://host#x"):
        url, problem = check_api_url(bad)
        assert url is None and problem is not None and problem.startswith("API URL must"), bad
        assert "pw" not in problem and "abc" not in problem


def test_venue_default_is_the_portfolio_preset() -> None:
    assert default_venue("binance-usdm") == "binanceusdm"
    assert default_venue("binance-coinm") == "binancecoinm"
    assert default_venue("hyperliquid") == "hyperliquid"
    assert default_venue("dydx") == "binanceusdm"  # no connection: the first supported venue


# ----------------------------------------------------------------------------- refresh against the replay server


def test_successive_refreshes_move_the_states_and_report_transitions() -> None:
    resolved = bybit_resolved()
    with ReplayServer(moving_routes()) as server:
        mon = MonitorState("bybit", server.url, 5, running=True)
        first = refresh(resolved, mon)
        second = refresh(resolved, first.state)
        server.fault = Fault(503, "")
        failed = refresh(resolved, second.state)
        server.fault = None
        third = refresh(resolved, failed.state)
    assert all("X-BAPI-API-KEY" not in r.headers for r in server.requests)  # public data, no key

    def ratios(r: Any) -> dict[str, tuple[float | None, str]]:
        return {p.key: (p.margin_ratio, p.state) for p in r.state.current.pools}

    iso = f"isolated USDT isolated {BTC} long"
    # M = 50,000: 500 / 2,000 (module docstring)
    assert first.state.current.marks[BTC] == 50000.0
    assert ratios(first)["as_is USDT cross"] == (pytest.approx(500 / 2000), "safe")
    assert ratios(first)[iso] == (pytest.approx(500 / 2500), "safe")
    assert len(first.toasts) == 1 and first.toasts[0].startswith("Monitoring started on bybit")
    assert {c["from"] for c in first.changes} == {None}  # the first step: every state from nothing
    # M = 48,900: 489 / 900 → warning in the as-is and all-cross views
    assert ratios(second)["as_is USDT cross"] == (pytest.approx(489 / 900), "warning")
    assert ratios(second)[iso] == (pytest.approx(500 / 1400), "safe")
    assert list(second.changes) == [
        {"kind": "pool", "id": "as_is USDT cross", "from": "safe", "to": "warning"},
        {"kind": "pool", "id": "cross USDT cross", "from": "safe", "to": "warning"},
    ]
    assert second.toasts == ("As is, USDT cross: safe → warning", "All cross, USDT cross: safe → warning")
    # the venue down: the message names it and the cause; the last good marks and states stay
    assert failed.changes == () and failed.toasts == ()
    assert failed.state.error is not None and failed.state.error.startswith("bybit: ")
    assert "as of" in failed.state.error and failed.state.current == second.state.current
    assert failed.state.refreshes == 2 and len(failed.state.history) == 2
    # M = 48,400: 484 / 400 = 1.21 → liquidation; isolated 500 / 900 → warning; mr triggered (1.21 > 0.7)
    assert third.state.error is None and third.state.current.marks[BTC] == 48400.0
    assert ratios(third)["as_is USDT cross"] == (pytest.approx(484 / 400), "liquidation")
    assert third.state.current.alerts["mr"] == (pytest.approx(1.21), True)
    assert list(third.changes) == [
        {"kind": "pool", "id": "as_is USDT cross", "from": "warning", "to": "liquidation"},
        {"kind": "pool", "id": "cross USDT cross", "from": "warning", "to": "liquidation"},
        {"kind": "pool", "id": iso, "from": "safe", "to": "warning"},
        {"kind": "alert", "id": "mr", "from": "clear", "to": "triggered"},
    ]
    assert third.toasts[-1] == "Alert mr triggered"
    assert [h.time for h in third.state.history] == [h.time for h in (*second.state.history, third.state.history[-1])]


def test_a_symbol_without_a_mark_keeps_the_files_and_says_so() -> None:
    """An ETH position whose ticker is not recorded: its mark stays the file's, named in the note."""
    doc = copy.deepcopy(BYBIT_DOC)
    doc["prices"]["ETH/USDT:USDT"] = 3000.0
    doc["tiers"]["ETH/USDT:USDT"] = doc["tiers"][BTC]
    doc["positions"].append(
        {"symbol": "ETH/USDT:USDT", "side": "short", "contracts": 1, "entry_price": 3000.0, "leverage": 10}
    )
    resolved = resolve(parse_portfolio_json(json.dumps(doc)))
    with ReplayServer(moving_routes()) as server:
        out = refresh(resolved, MonitorState("bybit", server.url, 5, running=True))
    assert out.state.error is None and out.state.current.marks == {BTC: 50000.0, "ETH/USDT:USDT": 3000.0}
    assert out.state.note is not None and "ETH/USDT:USDT" in out.state.note


# ----------------------------------------------------------------------------- the page (AppTest, no network)


def open_monitor(sample: str | None = None, doc: dict[str, Any] | None = None) -> AppTest:
    return open_app(None if sample is None else {"sample": sample}, PAGE, None if doc is None else json.dumps(doc))


def pools_table(at: AppTest) -> Any:
    return next(d.value for d in at.dataframe if list(d.value.columns) == ["view", "pool", "margin ratio", "state"])


@pytest.mark.parametrize("sample", SAMPLES)
def test_page_shows_the_states_at_the_file_marks_on_every_sample(sample: str) -> None:
    at = open_monitor(sample)
    assert at.title[0].value == "Monitor"
    assert any("Not started" in str(c.value) for c in at.caption)
    expected = status(resolve(load_portfolio(ROOT / "fixtures" / "portfolios" / f"{sample}.json"))).pools
    frame = pools_table(at)
    assert len(frame) == len(expected)
    for (_, row), p in zip(frame.iterrows(), expected, strict=True):
        assert row["state"] == p.state.replace("_", " ")  # margin_call is shown "margin call"
        ratio = row["margin ratio"]
        assert (p.margin_ratio is None and ratio != ratio) or ratio == pytest.approx(p.margin_ratio)
    assert at.selectbox(key=keys.MON_VENUE).value == default_venue(
        load_portfolio(f"fixtures/portfolios/{sample}.json").venue
    )
    assert len(at.toast) == 0


def edit_rules(at: AppTest, change: dict[str, Any]) -> AppTest:
    digest = rules_key(parse_portfolio_json(at.session_state[KEY_DOC]))
    at.session_state[keys.monitor_rules(digest)] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **change}
    at.button(key=APPLY).click()
    at.run()
    assert_clean(at)
    return at


def test_rules_edited_on_the_page_are_applied_and_a_bad_metric_is_refused() -> None:
    """btc-long: equity 8,000 + 0.8 × (97,000 − 94,500) = 10,000 USDT; the rule "cash" (equity below
    12,000) is triggered at the file's marks with value 10,000."""
    at = open_monitor("btc-long")
    edit_rules(at, {"added_rows": [{"id": "cash", "metric": "equity", "below": 12000.0}]})
    saved = json.loads(at.session_state[KEY_DOC])
    assert saved["alerts"] == [{"id": "cash", "metric": "equity", "below": 12000.0}]
    assert [str(e.value) for e in at.error] == ["Alerts triggered: cash"]  # no problem message, the alert on
    alerts = next(d.value for d in at.dataframe if "threshold" in d.value.columns)
    assert alerts.iloc[0]["value"] == pytest.approx(8000 + 0.8 * (97000 - 94500))
    before = at.session_state[KEY_DOC]
    edit_rules(at, {"edited_rows": {0: {"metric": "margin_rate"}}})
    errors = [str(e.value) for e in at.error]
    assert any("alerts[0].metric must be one of margin_ratio" in e and "'margin_rate'" in e for e in errors), errors
    assert at.session_state[KEY_DOC] == before  # the last good rules stay in force


# ----------------------------------------------------------------------------- Start against the replay server


def test_start_against_the_replay_server_toasts_each_transition() -> None:
    at = open_monitor(doc=BYBIT_DOC)
    with ReplayServer(moving_routes()) as server:
        at.selectbox(key=keys.MON_VENUE).set_value("bybit")
        at.selectbox(key=keys.MON_INTERVAL).set_value(5)
        at.text_input(key=keys.MON_API_URL).input(server.url)
        at.button(key=keys.MON_START).click()
        at.run()
        assert_clean(at)
        assert next(str(t.value) for t in at.toast).startswith("Monitoring started on bybit")
        marks = next(d.value for d in at.dataframe if "file mark" in d.value.columns)
        assert marks.iloc[0]["mark"] == 50000.0 and marks.iloc[0]["time"] != "the file's"
        at.run()  # the next refresh: M = 48,900
        assert_clean(at)
        assert "As is, USDT cross: safe → warning" in [str(t.value) for t in at.toast]
        assert pools_table(at).iloc[0]["state"] == "warning"
        server.fault = Fault(503, "")
        at.run()
        assert_clean(at)
        assert any(str(w.value).startswith("bybit: ") for w in at.warning)
        marks = next(d.value for d in at.dataframe if "file mark" in d.value.columns)
        assert marks.iloc[0]["mark"] == 48900.0  # the last good mark stays
        at.button(key=keys.MON_STOP).click()
        at.run()
        assert_clean(at)
    assert any("Not started" in str(c.value) for c in at.caption)
