"""Stress tests: the crash library applied to the portfolio, and the probability of liquidation."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.charts import grouped_bars
from dashboard.summary import view_summary
from dashboard.views import VIEW_TITLES, page, positions_table

text, _ = page("Stress tests", need_positions=False)
st.caption("Each preset replays a documented crash: the worst move of "
           "every asset inside the event's window, from the shipped Binance prices, applied to today's marks.")

measure = st.radio("Worst move measured on", ["close", "low"], horizontal=True, key="stress_measure",
                   index=0 if state.url_choice("measure", ["close", "low"], "close") == "close" else 1,
                   format_func=lambda m: "hourly closes" if m == "close" else "hourly lows (wicks)")
docs = state.stress_all_cached(text, measure)
names = [d["preset"] for d in docs]

rows = []
lost: dict[str, list[float | None]] = {v: [] for v in VIEW_TITLES}
for d in docs:
    row = {"preset": d["preset"], "event": d["title"], "BTC move": d["moves"].get("BTC")}
    for view, body in d["modes"].items():
        s = view_summary(body)
        row[f"lost ({view})"] = len(s.liquidated)
        lost[view].append(float(len(s.liquidated)))
    rows.append(row)
st.dataframe(rows, hide_index=True, width="stretch")
st.plotly_chart(grouped_bars(names, lost, "Positions liquidated by each crash, per view", "positions"),
                width="stretch", key="stress_chart")

pick = st.selectbox("Preset", names, index=names.index(state.url_choice("preset", names, names[0])),
                    key="stress_preset")
state.set_url(preset=pick, measure=measure)
doc = docs[names.index(pick)]
st.subheader(doc["title"])
st.write(f"Window: {doc['window']['start']} to {doc['window']['end']}")
st.dataframe([{"asset": a, "move": m} for a, m in doc["moves"].items()], hide_index=True)
if doc["collateral_moves"]:
    st.write("Collateral shocks: " + ", ".join(f"{a} {m:+.1%}" for a, m in doc["collateral_moves"].items()))
if doc["fallbacks"]:
    st.caption("No price data in this window for: " + ", ".join(str(f.get("asset", f)) if isinstance(f, dict)
                                                                  else str(f) for f in doc["fallbacks"])
               + " — moved as (1 + BTC move)^β.")
with st.expander("Sources"):
    for src in doc["sources"]:
        st.markdown(f"- {src['title']}" + (f" <{src['url']}>" if src.get("url") else ""))
tabs = st.tabs([VIEW_TITLES[v] for v in doc["modes"]])
for tab, body in zip(tabs, doc["modes"].values(), strict=True):
    with tab:
        st.dataframe(positions_table(body), hide_index=True, width="stretch")

state.probability_section(text)
