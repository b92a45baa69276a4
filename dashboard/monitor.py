"""The Monitor page (``pages/8_Monitor.py``): live marks from a venue, pool states and alert rules (format §8).

Orchestration only: every number comes from :func:`margin.monitor.status` (pool margin ratios and states,
alert values) and :func:`margin.monitor.transitions` (what changed); marks come from
:func:`exchange.adapter.fetch_public` (public data, no key, the API URL checked as the import panel's is).

- :func:`refresh` is one step of monitoring, free of Streamlit: fetch the marks of the portfolio's symbols,
  evaluate, compare with the last good step. A failed fetch keeps the last good marks and says why (naming the
  venue); a symbol whose mark could not be read keeps its last good mark (or the file's).
- Toasts: the first refresh after Start announces one "monitoring started" toast (with the states it found,
  not one toast per pool: every pool would otherwise "change" from nothing); each later refresh toasts every
  transition (a pool's state, an alert rule triggered or cleared), at most :data:`MAX_TOASTS` of them.
- The session's history (:class:`HistoryPoint`) is bounded to the last :data:`HISTORY_LIMIT` refreshes;
  :func:`ratio_history_figure` draws one line per pool of one view.
- The alert rules table (:func:`rules_frame`, :func:`portfolio_with_rules`) is read back through the core's
  reader (:func:`margin.portfolio_from_dict`), whose messages name the field (``alerts[0].metric ...``).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import compute, keys
from dashboard import state as app_state
from dashboard.charts import VIEW_TITLES, _figure
from dashboard.cockpit import STATE_COLORS, STATE_LABELS
from dashboard.views import render_problems, table
from margin import Portfolio, Resolved, portfolio_from_dict, portfolio_to_dict
from margin.monitor import TRIGGERED, PoolStatus, Status, status, transitions
from margin.portfolio import ALERT_METRICS, ALERT_VIEWS, AlertRule
from margin.states import AlertLevels, worst_state

if TYPE_CHECKING:
    from exchange.adapter import MarkReader, PublicData

#: refresh intervals offered, in seconds (the shortest first)
INTERVALS = (5, 10, 30, 60)
#: refreshes kept in the session's history (older ones are dropped)
HISTORY_LIMIT = 500
#: toasts shown for one refresh; further transitions are summed up in one more toast
MAX_TOASTS = 5
#: the longest wait for one answer of the venue (ms); shorter when the interval is
MAX_TIMEOUT_MS = 10_000
#: the alert rules table's columns: the fields of a format §8 rule
RULE_COLUMNS = ["id", "metric", "above", "below", "view"]
#: the badge colour of each state (``dashboard.cockpit.STATE_COLORS``, typed for ``st.badge``)
BADGE_COLORS: dict[str, Literal["green", "orange", "red"]] = {
    "safe": "green",
    "warning": "orange",
    "margin_call": "red",
    "liquidation": "red",
}
#: the text colour of each state in the pools table (the chart palette: profit, maintenance, loss, liquidation)
STATE_CSS = {"safe": "#2e9e6b", "warning": "#f0a202", "margin_call": "#e4572e", "liquidation": "#c0392b"}

#: ``(venue, symbols, api_url, timeout_ms)`` → public marks: :func:`exchange.adapter.fetch_public` by default
Fetch = Callable[[str, list[str], str | None, int], "PublicData"]


# --------------------------------------------------------------------------- state of one session


@dataclass(frozen=True)
class HistoryPoint:
    """One refresh of the session: the time of its marks and each pool's margin ratio by its key
    (:attr:`margin.monitor.PoolStatus.key`, ``"<view> <settle> <mode>[ <position>]"``; ``None``: equity ≤ 0)."""

    time: str
    ratios: Mapping[str, float | None]

    @classmethod
    def of(cls, time: str, pools: Sequence[PoolStatus]) -> HistoryPoint:
        """The point of ``pools`` (keys interned: a long history of a large book holds each key once)."""
        return cls(time, {sys.intern(p.key): p.margin_ratio for p in pools})


@dataclass(frozen=True)
class MonitorState:
    """The session's monitor: what was started (venue, API URL without any secret, interval) and the last
    good step (``current``, its marks' time ``as_of``), the history, and the last failure or note."""

    venue: str
    api_url: str | None
    interval: int
    running: bool = False
    current: Status | None = None
    as_of: str | None = None
    history: tuple[HistoryPoint, ...] = ()
    error: str | None = None
    note: str | None = None
    refreshes: int = 0


@dataclass(frozen=True)
class Refresh:
    """The outcome of :func:`refresh`: the new state, the transitions found and the toasts to show."""

    state: MonitorState
    changes: tuple[dict[str, object], ...] = ()
    toasts: tuple[str, ...] = ()


def check_api_url(text: str | None) -> tuple[str | None, str | None]:
    """``(url, problem)``: an empty text is no override; else the URL trimmed (no trailing ``/``) when
    :func:`exchange.adapter.api_url_problem` finds nothing wrong with it (what ``make_exchange`` requires)."""
    from exchange.adapter import api_url_problem, sanitize_url

    raw = (text or "").strip()
    if not raw:
        return None, None
    problem = api_url_problem(raw)
    if problem is not None:
        return None, f"API URL {problem}"
    url = sanitize_url(raw)
    return (None if url is None else url.rstrip("/")), None


def default_venue(preset: str) -> str:
    """The ccxt id whose ``margin`` preset is ``preset`` (``binance-usdm`` → ``binanceusdm``), else the first
    supported one."""
    from exchange.specs import SPECS

    return next((ccxt_id for ccxt_id, spec in SPECS.items() if spec.preset == preset), next(iter(SPECS)))


def position_symbols(resolved: Resolved) -> list[str]:
    """The portfolio's position symbols, each once, in order."""
    return list(dict.fromkeys(p.symbol for p in resolved.portfolio.positions))


def append_history(
    history: tuple[HistoryPoint, ...], point: HistoryPoint, limit: int = HISTORY_LIMIT
) -> tuple[HistoryPoint, ...]:
    """``history`` with ``point`` appended, keeping the last ``limit`` points."""
    return (*history, point)[-limit:] if limit > 0 else ()


def pool_label(pool: PoolStatus) -> str:
    """``USDT cross``, or ``USDT isolated · ETH/USDT:USDT short`` for an isolated pool."""
    base = f"{pool.settle} {pool.mode}"
    return base if pool.position is None else f"{base} · {pool.position}"


def transition_text(change: Mapping[str, object], labels: Mapping[str, str]) -> str:
    """One toast: ``As is, USDT cross: safe → warning`` or ``Alert mr triggered``."""
    if change["kind"] == "alert":
        return f"Alert {change['id']} {'triggered' if change['to'] == TRIGGERED else 'cleared'}"
    name = labels.get(str(change["id"]), str(change["id"]))
    before, after = ("gone" if v is None else STATE_LABELS.get(str(v), str(v)) for v in (change["from"], change["to"]))
    return f"{name}: {before} → {after}"


def _labels(current: Status, previous: Status | None) -> dict[str, str]:
    pools = [*(previous.pools if previous else ()), *current.pools]
    return {p.key: f"{VIEW_TITLES.get(p.view, p.view).split(' (')[0]}, {pool_label(p)}" for p in pools}


def _toasts(state: MonitorState, current: Status, changes: Sequence[dict[str, object]]) -> tuple[str, ...]:
    if state.current is None:
        worst = worst_state([p.state for p in current.pools])
        triggered = current.triggered
        return (
            f"Monitoring started on {state.venue}: worst pool {STATE_LABELS.get(worst or 'safe', worst)}"
            + (f"; alerts triggered: {', '.join(triggered)}" if triggered else "; no alert triggered"),
        )
    labels = _labels(current, state.current)
    texts = [transition_text(c, labels) for c in changes]
    if len(texts) > MAX_TOASTS:
        texts = [*texts[: MAX_TOASTS - 1], f"and {len(texts) - MAX_TOASTS + 1} more changes"]
    return tuple(texts)


@lru_cache(maxsize=8)
def _reader(venue: str, api_url: str | None, timeout_ms: int) -> MarkReader:
    """One public ccxt client per venue and API URL (no key), its markets loaded once: a monitor polls
    every few seconds and must not reload the venue's market list each time (``watch`` does the same)."""
    from exchange.adapter import MarkReader

    return MarkReader(venue, api_url, timeout_ms)


def _fetch_public(venue: str, symbols: list[str], api_url: str | None, timeout_ms: int) -> PublicData:
    """The marks of ``symbols`` through the venue's mark endpoint (:class:`exchange.adapter.MarkReader`)."""
    from exchange.adapter import PublicData

    marks, errors = _reader(venue, api_url, timeout_ms).read(symbols)
    return PublicData(
        venue=venue, as_of=_now(), marks=marks, errors={f"mark {s}": cause for s, cause in errors.items()}
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def refresh(resolved: Resolved, state: MonitorState, fetch: Fetch | None = None) -> Refresh:
    """One monitoring step (module docstring): marks from ``state.venue``, :func:`margin.monitor.status` on
    them, :func:`margin.monitor.transitions` from the last good step. Never raises for a failed fetch."""
    from exchange.adapter import ExchangeError

    symbols = position_symbols(resolved)
    timeout_ms = min(MAX_TIMEOUT_MS, 1000 * state.interval)
    kept = "" if state.as_of is None else f"; the last good marks (as of {state.as_of}) stay in use"
    try:
        public = (fetch or _fetch_public)(state.venue, symbols, state.api_url, timeout_ms)
    except ExchangeError as err:
        message = f"{state.venue}: the refresh at {_now()} failed: {err}{kept or '; the file marks stay in use'}"
        return Refresh(replace(state, error=message))
    if symbols and not public.marks:
        causes = "; ".join(f"{k}: {v}" for k, v in list(public.errors.items())[:3]) or "no mark in the answer"
        message = f"{state.venue}: the refresh at {public.as_of} read no mark ({causes}){kept}"
        return Refresh(replace(state, error=message))
    last = {} if state.current is None else {s: m for s, m in state.current.marks.items() if s in symbols}
    marks = {**last, **{s: m for s, m in public.marks.items() if s in symbols and math.isfinite(m) and m > 0}}
    try:
        current = status(resolved, marks)
    except (ValueError, ArithmeticError) as err:  # defensive: an answer the core cannot evaluate
        return Refresh(replace(state, error=f"{state.venue}: the marks of {public.as_of} cannot be evaluated: {err}"))
    changes = tuple(transitions(state.current, current))
    toasts = _toasts(state, current, changes)
    missing = [k.removeprefix("mark ") for k in public.errors if k.startswith("mark ")]
    note = f"Not refreshed (the last good or the file's mark is used): {', '.join(missing)}." if missing else None
    new = replace(
        state,
        current=current,
        as_of=public.as_of,
        history=append_history(state.history, HistoryPoint.of(public.as_of, current.pools)),
        error=None,
        note=note,
        refreshes=state.refreshes + 1,
    )
    return Refresh(new, changes, toasts)


# --------------------------------------------------------------------------- tables and the chart (pure)


def pools_frame(current: Status) -> pd.DataFrame:
    """One row per pool of every view: view, pool, margin ratio (``None`` for equity ≤ 0) and state."""
    return pd.DataFrame(
        [
            {
                "view": VIEW_TITLES.get(p.view, p.view),
                "pool": pool_label(p),
                "margin ratio": p.margin_ratio,
                "state": STATE_LABELS.get(p.state, p.state),
            }
            for p in current.pools
        ],
        columns=["view", "pool", "margin ratio", "state"],
    )


def view_states(current: Status) -> dict[str, str | None]:
    """The worst state of each view's pools (``margin.states.worst_state``), views in order."""
    out: dict[str, list[str]] = {}
    for p in current.pools:
        out.setdefault(p.view, []).append(p.state)
    return {view: worst_state(states) for view, states in out.items()}


def _threshold(rule: AlertRule) -> str:
    return f"above {rule.above:g}" if rule.above is not None else f"below {rule.below:g}"


def alerts_frame(current: Status, rules: Sequence[AlertRule]) -> pd.DataFrame:
    """One row per alert rule: id, metric, view, threshold, value at the marks and whether triggered."""
    rows = []
    for rule in rules:
        value, on = current.alerts.get(rule.label, (None, False))
        rows.append(
            {
                "id": rule.label,
                "metric": rule.metric,
                "view": rule.view or "as_is",
                "threshold": _threshold(rule),
                "value": value,
                "triggered": on,
            }
        )
    return pd.DataFrame(rows, columns=["id", "metric", "view", "threshold", "value", "triggered"])


def marks_frame(current: Status, resolved: Resolved, as_of: str | None) -> pd.DataFrame:
    """The marks of the positions' symbols: the one in use, the file's, and when the one in use was read."""
    symbols = position_symbols(resolved)
    return pd.DataFrame(
        [
            {
                "symbol": s,
                "mark": current.marks.get(s),
                "file mark": resolved.marks.get(s),
                "time": as_of or "the file's",
            }
            for s in symbols
        ],
        columns=["symbol", "mark", "file mark", "time"],
    )


def key_view(key: str) -> str:
    """The view of a pool key (its first word)."""
    return key.split(" ", 1)[0]


def key_label(key: str) -> str:
    """:func:`pool_label` of a pool key: ``USDT cross``, ``USDT isolated · ETH/USDT:USDT short``."""
    parts = key.split(" ", 3)
    base = " ".join(parts[1:3])
    return base if len(parts) < 4 else f"{base} · {parts[3]}"


def ratio_history_figure(history: Sequence[HistoryPoint], view: str, levels: AlertLevels | None = None) -> go.Figure:
    """The margin ratio of each pool of ``view`` over the session's refreshes: one line per pool (in order of
    first appearance; a gap where the pool is absent or its equity ≤ 0), dashed lines at the state levels."""
    fig = _figure(f"Margin ratio this session: {VIEW_TITLES.get(view, view)}")
    times = [h.time for h in history]
    keys = [k for k in dict.fromkeys(k for h in history for k in h.ratios) if key_view(k) == view]
    for key in keys:
        y: list[Any] = [h.ratios.get(key) for h in history]
        fig.add_trace(go.Scatter(x=times, y=y, mode="lines+markers", name=key_label(key)))
    if levels is not None:
        for level, state in ((levels.warning, "warning"), (levels.margin_call, "margin_call"), (1.0, "liquidation")):
            fig.add_hline(
                y=level, line_dash="dash", line_color=STATE_COLORS[state], annotation_text=STATE_LABELS[state]
            )
    fig.update_layout(yaxis={"title": "margin ratio", "tickformat": ".0%"}, xaxis={"title": "marks as of (UTC)"})
    return fig


# --------------------------------------------------------------------------- alert rules table


def rules_frame(portfolio: Portfolio) -> pd.DataFrame:
    """The portfolio's alert rules, one row each (the format §8 fields)."""
    frame = pd.DataFrame(
        [
            {"id": r.id or None, "metric": r.metric, "above": r.above, "below": r.below, "view": r.view}
            for r in portfolio.alerts
        ],
        columns=RULE_COLUMNS,
    )
    return frame.astype({"id": "object", "metric": "object", "above": "float64", "below": "float64", "view": "object"})


def rules_key(portfolio: Portfolio) -> str:
    """A digest of the rules in force: the editor's key changes with them, so an applied or replaced set of
    rules opens in a fresh editor (no edit of the previous set replayed onto it)."""
    text = json.dumps(portfolio_to_dict(portfolio).get("alerts", []), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value.item() if hasattr(value, "item") else value


def portfolio_with_rules(base: Portfolio, frame: pd.DataFrame) -> Portfolio:
    """``base`` with the table's rules as its ``alerts``, read by the core (raises
    :class:`margin.PortfolioError` naming ``alerts[i].<field>``, ``i`` counting the filled rows from 0)."""
    doc: dict[str, Any] = portfolio_to_dict(base)
    recs = []
    for _, row in frame.iterrows():
        rec = {col: _cell(row.get(col)) for col in RULE_COLUMNS}
        if any(v is not None for v in rec.values()):
            recs.append({k: v for k, v in rec.items() if v is not None})
    doc.pop("alerts", None)
    if recs:
        doc["alerts"] = recs
    return portfolio_from_dict(doc, "edited alert rules")


# --------------------------------------------------------------------------- Streamlit glue


@st.cache_data(max_entries=16, show_spinner=False)
def offline_status(text: str) -> Status:
    """The states at the file's marks (one :func:`margin.monitor.status` call), cached per portfolio text."""
    return status(compute.resolved_cached(text))


def get_state() -> MonitorState | None:
    """The session's monitor, if one was started."""
    got = st.session_state.get(keys.MON_STATE)
    return got if isinstance(got, MonitorState) else None


def set_state(mon: MonitorState) -> None:
    st.session_state[keys.MON_STATE] = mon


def _live_caption(mon: MonitorState) -> str:
    via = f" through {mon.api_url}" if mon.api_url else ""
    when = f"marks as of {mon.as_of} (UTC)" if mon.as_of else "no mark read yet: the file's marks are shown"
    return (
        f"Live: public marks from **{mon.venue}**{via} (no key), every {mon.interval} s; "
        f"{mon.refreshes} refresh{'' if mon.refreshes == 1 else 'es'}, {when}."
    )


def _state_css(label: object) -> str:
    state = next((k for k, v in STATE_LABELS.items() if v == label), None)
    return "" if state is None else f"color: {STATE_CSS[state]}; font-weight: 600"


def _pools_table(frame: pd.DataFrame) -> None:
    """The pools table, each state in its colour, the margin ratio as a percentage."""
    st.dataframe(
        frame.style.map(_state_css, subset=["state"]),
        hide_index=True,
        width="stretch",
        column_config={"margin ratio": st.column_config.NumberColumn(format="percent")},
    )


def render_card(text: str) -> None:
    """The monitor card: refresh when running (toasts on transitions), then pool states, alerts, marks and the
    session's margin-ratio history. Drawn inside the page's ``st.fragment(run_every=interval)``."""
    resolved = compute.resolved_cached(text)
    mon = get_state()
    current: Status | None = None
    if mon is not None and mon.running:
        out = refresh(resolved, mon)
        mon = out.state
        set_state(mon)
        for line in out.toasts:
            st.toast(line, icon=":material/notifications:")
        current = mon.current
        st.caption(_live_caption(mon))
        if mon.error:
            st.warning(mon.error)
        if mon.note:
            st.caption(mon.note)
    else:
        st.caption(
            "Not started: the states at the file's marks. Start to refresh the marks from the venue's public "
            "data (no key is used or stored)."
        )
    if current is None:
        current = offline_status(text)

    st.markdown("**Pool states**")
    worst = view_states(current)
    for col, (view, state) in zip(st.columns(max(1, len(worst))), worst.items(), strict=False):
        with col:
            st.markdown(VIEW_TITLES.get(view, view))
            if state is not None:
                st.badge(STATE_LABELS[state], color=BADGE_COLORS[state])
    _pools_table(pools_frame(current))

    st.markdown("**Alerts**")
    rules = resolved.portfolio.alerts
    if not rules:
        st.caption("No alert rules: add some in the table below.")
    else:
        triggered = current.triggered
        if triggered:
            st.error(f"Alerts triggered: {', '.join(triggered)}")
        else:
            st.success("No alert triggered.")
        table(alerts_frame(current, rules), percent=())

    st.markdown("**Marks**")
    table(marks_frame(current, resolved, mon.as_of if mon is not None and mon.running else None), percent=())

    if mon is not None and mon.history:
        views_seen = list(dict.fromkeys(key_view(k) for h in mon.history for k in h.ratios))
        view = st.radio(
            "History of the view",
            views_seen,
            format_func=lambda v: VIEW_TITLES.get(v, v),
            horizontal=True,
            key=keys.MON_VIEW,
        )
        fig = ratio_history_figure(mon.history, str(view), resolved.alert_levels)
        st.plotly_chart(fig, key=keys.MON_CHART, width="stretch")
        st.caption(f"The last {HISTORY_LIMIT} refreshes of this session are kept.")


def render_rules(portfolio: Portfolio) -> None:
    """The alert rules editor (format §8): applied through the core's reader, the portfolio text updated."""
    st.subheader("Alert rules")
    st.caption(
        "One rule per row: a metric (margin_ratio: the worst pool; distance_to_liquidation: the nearest "
        "position; available and equity: in USD; account_move: the smallest uniform move that liquidates), "
        "exactly one of above / below, and the view (as_is when empty). Applied rules are evaluated on the "
        "next refresh and saved in the portfolio (portfolio-format.md §8)."
    )
    with st.form(keys.MON_RULES_FORM):
        edited = st.data_editor(
            rules_frame(portfolio),
            num_rows="dynamic",
            key=keys.monitor_rules(rules_key(portfolio)),
            width="stretch",
            column_config={
                "id": st.column_config.TextColumn(help="a unique label (default: metric and threshold)"),
                "metric": st.column_config.SelectboxColumn(options=list(ALERT_METRICS), required=True),
                "above": st.column_config.NumberColumn(format="%.6g", help="triggered when the value is above"),
                "below": st.column_config.NumberColumn(format="%.6g", help="triggered when the value is below"),
                "view": st.column_config.SelectboxColumn(options=list(ALERT_VIEWS), help="default as_is"),
            },
        )
        applied = st.form_submit_button("Apply rules")
    if applied:
        app_state.apply_portfolio(
            lambda: portfolio_with_rules(portfolio, edited), "edited alert rules", keys.MON_RULES_ERROR
        )
    if st.session_state.get(keys.MON_RULES_ERROR):
        render_problems(
            "The rules were not applied; the previous rules are still in force.",
            st.session_state[keys.MON_RULES_ERROR],
        )
