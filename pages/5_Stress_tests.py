"""Stress tests: the crash library applied to the portfolio, and the probability of liquidation."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, state, url
from dashboard.charts import cumulative_probability, grouped_bars, percent_interval
from dashboard.results import RiskReport
from dashboard.summary import view_summary
from dashboard.views import VIEW_TITLES, page, positions_table, table
from margin import PortfolioError
from margin.crashes import MEASURES
from margin.risk import risk
from margin.scenarios import bases_of
from margin.whatif import fill_missing_volatilities

HORIZONS = ["1d", "3d", "7d", "14d", "30d"]
HORIZON_HOURS = {"1d": 24, "3d": 72, "7d": 168, "14d": 336, "30d": 720}
MODELS = ["bootstrap", "student-t", "gbm"]
PATH_OPTIONS = [1000, 2000, 5000, 10000, 20000]

text, resolved = page("Stress tests", need_positions=False)
st.caption(
    "Each preset replays a documented crash: the worst move of "
    "every asset inside the event's window, from the shipped Binance prices, applied to today's marks."
)


@st.fragment
def crash_card() -> None:
    """Every preset's liquidations per view, and the chosen preset's moves, sources and positions."""
    measures = list(MEASURES)
    url.sticky(keys.STRESS_MEASURE, url.url_choice("measure", measures, "close"), measures)
    measure = st.radio(
        "Worst move measured on",
        measures,
        horizontal=True,
        key=keys.STRESS_MEASURE,
        format_func=lambda m: "hourly closes" if m == "close" else "hourly lows (wicks)",
    )
    reports = compute.stress_all_cached(text, measure)
    names = [r.preset for r in reports]
    rows = []
    lost: dict[str, list[float | None]] = {v: [] for v in VIEW_TITLES}
    for r in reports:
        row: dict[str, object] = {"preset": r.preset, "event": r.title, "BTC move": r.btc_move}
        for view, body in r.modes.items():
            count = len(view_summary(body).liquidated)
            row[f"lost ({view})"] = count
            lost[view].append(float(count))
        rows.append(row)
    table(rows)
    st.plotly_chart(
        grouped_bars(names, lost, "Positions liquidated by each crash, per view", "positions"),
        width="stretch",
        key=keys.STRESS_CHART,
    )
    url.sticky(keys.STRESS_PRESET, url.url_choice("preset", names, names[0]), names)
    pick = st.selectbox("Preset", names, key=keys.STRESS_PRESET)
    url.set_url(preset=pick, measure=measure)
    r = reports[names.index(pick)]
    st.subheader(r.title)
    st.write(f"Window: {r.window_start} to {r.window_end}")
    table([{"asset": a, "move": m} for a, m in r.moves.items()])
    if r.collateral_moves:
        st.write("Collateral shocks: " + ", ".join(f"{a} {m:+.1%}" for a, m in r.collateral_moves.items()))
    if r.fallbacks:
        st.caption("No price data in this window for: " + ", ".join(r.fallbacks) + " — moved as (1 + BTC move)^β.")
    with st.expander("Sources"):
        for src in r.sources:
            st.markdown(f"- {src.title}" + (f" <{src.url}>" if src.url else ""))
    tabs = st.tabs([VIEW_TITLES[v] for v in r.modes])
    for tab, body in zip(tabs, r.modes.values(), strict=True):
        with tab:
            table(positions_table(body))


@st.fragment
def probability_card() -> None:
    """Probability of liquidation over a chosen horizon (Monte Carlo; progress shown while it runs).

    Not cached through ``st.cache_data`` on purpose: it runs on a button, and its result is kept in the
    session for the portfolio and settings it was computed for.
    """
    st.subheader("Probability of liquidation")
    if not resolved.legs:
        st.info("The portfolio holds no position.")
        return
    bases = bases_of(resolved)
    fetched, source_note = state.market_history(bases)
    st.caption(source_note)
    fill = fill_missing_volatilities(bases, fetched if fetched is not None else compute.shipped_history())
    c1, c2, c3 = st.columns(3)
    url.sticky(keys.RISK_HORIZON, url.url_choice("horizon", HORIZONS, "7d"), HORIZONS)
    url.sticky(keys.RISK_MODEL, url.url_choice("model", MODELS, "bootstrap"), MODELS)
    url.sticky(keys.RISK_PATHS, 5000, PATH_OPTIONS)
    horizon = c1.selectbox("Horizon", HORIZONS, key=keys.RISK_HORIZON)
    model = c2.selectbox("Model", MODELS, key=keys.RISK_MODEL)
    paths = c3.select_slider("Paths", options=PATH_OPTIONS, key=keys.RISK_PATHS)
    url.set_url(horizon=horizon, model=model)
    vols: dict[str, float] = {}
    if fill.missing:
        st.caption(f"{fill.note}; change it here.")
        cols = st.columns(min(len(fill.missing), 4))
        for k, base in enumerate(fill.missing):
            url.sticky(keys.risk_vol(base), fill.volatility)
            vols[base] = cols[k % len(cols)].number_input(
                f"{base} annual volatility", min_value=0.05, max_value=5.0, step=0.05, key=keys.risk_vol(base)
            )
    settings = (text, horizon, model, int(paths), tuple(sorted(vols.items())), source_note)
    if st.button("Run the simulation", key=keys.RISK_RUN):
        bar = st.progress(0.0, text="Simulating hourly paths...")

        def progress(fraction: float) -> None:
            bar.progress(min(fraction, 1.0), text=f"Simulating hourly paths... {fraction:.0%}")

        try:
            doc = risk(
                resolved,
                HORIZON_HOURS[horizon],
                paths=int(paths),
                seed=0,
                model=model,
                vols=vols,
                history=fetched if fetched is not None else compute.shipped_history(),
                progress=progress,
            )
        except PortfolioError as err:
            bar.empty()
            st.error("\n".join(state.portfolio_error_lines(err)))
            return
        bar.empty()
        st.session_state[keys.RISK_RESULT] = (settings, doc)
    stored = st.session_state.get(keys.RISK_RESULT)
    if not stored or stored[0] != settings:
        st.caption("Press the button to simulate (seeded: the same settings give the same result).")
        return
    report = RiskReport.from_doc(stored[1])
    st.caption(
        f"Share of {report.paths:,} simulated paths that touch a liquidation within {horizon}, with its 95 % "
        "Wilson score interval (Wilson 1927, JASA 22:209-212; margin/risk_intervals.py): the Monte Carlo's "
        "own uncertainty, not the model's."
    )
    st.dataframe(
        [
            {
                "view": VIEW_TITLES[view],
                "probability of liquidation": percent_interval(m.probability, m.ci95),
                "median hours to liquidation": m.hours_p50,
                "p5 hours": m.hours_p5,
                "p95 hours": m.hours_p95,
            }
            for view, m in report.modes.items()
        ],
        hide_index=True,
        width="stretch",
    )
    st.plotly_chart(
        cumulative_probability({v: (m.cumulative_hours, m.cumulative_probability) for v, m in report.modes.items()}),
        width="stretch",
        key=keys.RISK_CHART,
    )


crash_card()
probability_card()
