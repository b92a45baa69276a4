"""Monitor: the portfolio's pool states and alert rules at live public marks from a venue (format §8).

Orchestration only (``dashboard.monitor``; the maths is ``margin.monitor``). Not started, the page shows
the states at the file's marks.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from dashboard import keys, monitor, state, views
from exchange.specs import SPECS

text, resolved = views.page("Monitor", need_positions=False)
st.caption(
    "Refreshes the marks of the portfolio's symbols from the venue's public data through ccxt (no API key), "
    "re-evaluates every pool of every view and the alert rules, and tells each change in a toast. A failed "
    "refresh keeps the last good marks."
)
mon = monitor.get_state()
running = mon is not None and mon.running
venues = list(SPECS)
default = monitor.default_venue(resolved.portfolio.venue)
if keys.MON_VENUE not in st.session_state:
    st.session_state[keys.MON_VENUE] = default
c1, c2, c3, c4 = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
venue = c1.selectbox(
    "Venue (ccxt id)",
    venues,
    format_func=lambda v: f"{v} — {SPECS[v].brand}",
    key=keys.MON_VENUE,
    disabled=running,
)
interval = c2.selectbox(
    "Refresh every",
    monitor.INTERVALS,
    index=1,
    format_func=lambda s: f"{s} s",
    key=keys.MON_INTERVAL,
    disabled=running,
)
start = c3.button("Start", key=keys.MON_START, type="primary", disabled=running or not resolved.legs)
stop = c4.button("Stop", key=keys.MON_STOP, disabled=not running)
with st.expander("API URL (a testnet, a proxy or a local replay server)"):
    st.text_input(
        "API URL: every request goes to this scheme and host, keeping the paths (empty: the venue's own)",
        key=keys.MON_API_URL,
        placeholder="https://host[:port][/prefix]",
        disabled=running,
    )
if SPECS[default].preset != resolved.portfolio.venue:
    st.caption(f"The portfolio's venue {resolved.portfolio.venue} has no exchange connection: choose one.")
if not resolved.legs:
    st.info("The portfolio holds no position: there are no marks to watch (load or add one on the Home page).")

if start:
    url, problem = monitor.check_api_url(st.session_state.get(keys.MON_API_URL))
    if problem:
        st.session_state[keys.MON_START_ERROR] = problem
    else:
        st.session_state.pop(keys.MON_START_ERROR, None)
        monitor.set_state(monitor.MonitorState(str(venue), url, int(interval), running=True))
        st.rerun()
if stop and mon is not None:
    monitor.set_state(replace(mon, running=False))
    st.rerun()
if st.session_state.get(keys.MON_START_ERROR):
    st.error(f"Not started: {st.session_state[keys.MON_START_ERROR]}.")


@st.fragment(run_every=mon.interval if mon is not None and mon.running else None)
def card() -> None:
    monitor.render_card(state.current_text())


card()
monitor.render_rules(resolved.portfolio)
