"""Stress tests: the crash library applied to the portfolio, and the probability of liquidation."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import grouped_bars
from dashboard.summary import view_summary
from dashboard.views import VIEW_TITLES, page, positions_table, table
from margin.crashes import list_presets

text, _ = page("Stress tests", need_positions=False)
st.caption(
    "Each preset replays a documented crash: the worst move of "
    "every asset inside the event's window, from the shipped Binance prices, applied to today's marks."
)

state.sticky("stress_measure", state.url_choice("measure", ["close", "low"], "close"), ["close", "low"])
measure = st.radio(
    "Worst move measured on",
    ["close", "low"],
    horizontal=True,
    key="stress_measure",
    format_func=lambda m: "hourly closes" if m == "close" else "hourly lows (wicks)",
)
docs = state.stress_all_cached(text, measure)
names = [d["preset"] for d in docs]

btc_moves = {p["name"]: p["btc_move"] for p in list_presets()}
rows = []
lost: dict[str, list[float | None]] = {v: [] for v in VIEW_TITLES}
for d in docs:
    row = {"preset": d["preset"], "event": d["title"], "BTC move": btc_moves.get(d["preset"])}
    for view, body in d["modes"].items():
        s = view_summary(body)
        row[f"lost ({view})"] = len(s.liquidated)
        lost[view].append(float(len(s.liquidated)))
    rows.append(row)
table(rows)
st.plotly_chart(
    grouped_bars(names, lost, "Positions liquidated by each crash, per view", "positions"),
    width="stretch",
    key="stress_chart",
)

state.sticky("stress_preset", state.url_choice("preset", names, names[0]), names)
pick = st.selectbox("Preset", names, key="stress_preset")
state.set_url(preset=pick, measure=measure)
doc = docs[names.index(pick)]
st.subheader(doc["title"])
st.write(f"Window: {doc['window']['start']} to {doc['window']['end']}")
table([{"asset": a, "move": m} for a, m in doc["moves"].items()])
if doc["collateral_moves"]:
    st.write("Collateral shocks: " + ", ".join(f"{a} {m:+.1%}" for a, m in doc["collateral_moves"].items()))
if doc["fallbacks"]:
    st.caption(
        "No price data in this window for: "
        + ", ".join(str(f.get("asset", f)) if isinstance(f, dict) else str(f) for f in doc["fallbacks"])
        + " — moved as (1 + BTC move)^β."
    )
with st.expander("Sources"):
    for src in doc["sources"]:
        st.markdown(f"- {src['title']}" + (f" <{src['url']}>" if src.get("url") else ""))
tabs = st.tabs([VIEW_TITLES[v] for v in doc["modes"]])
for tab, body in zip(tabs, doc["modes"].values(), strict=True):
    with tab:
        table(positions_table(body))

state.probability_section(text)
