"""Contagion: how one position's loss drains the shared collateral in cross margin, step by step."""

from __future__ import annotations

import streamlit as st

from dashboard import compute, keys, url
from dashboard.charts import cascade_waterfall
from dashboard.views import VIEW_TITLES, page
from margin import resolve
from margin.cascade_depth import DEPTH_SOURCE
from margin.cascade_impact import default_depths_1pct
from margin.cascade_results import CascadeResult, ViewCascade
from margin.contagion import cascade
from margin.instruments import parse_symbol
from margin.scenarios import bases_of

IMPACTS = {"none": "off", "sqrt": "square-root law", "linear": "order-book depth (linear)"}
DEPTH_KEY = "ct_depth_"  # + base asset: the depth input of that asset, USD per 1 % move

text, resolved = page("Contagion")
st.caption(
    "The shock is walked from no move to the full move; each pool that reaches its trigger is "
    "liquidated the way its venue does it (partially where the venue does, with its liquidation fee), "
    "and the walk goes on with what is left. With price impact, the forced selling moves prices further."
)
targets = ["ALL", *bases_of(resolved)]
held = list(dict.fromkeys(leg.instrument.base.upper() for leg in resolved.legs))


@st.cache_data(max_entries=32, show_spinner=False)
def cascade_run(
    text: str,
    target: str,
    move: float,
    impact: str,
    strength: float,
    depths: tuple[tuple[str, float], ...],
    gap: bool = False,
) -> CascadeResult:
    """The cascade of ``target`` moving ``move``; ``depths``: (base, USD per 1 % move) of the linear law;
    ``gap``: the shock at once, orders filling at the shocked mark (format §7 ``--gap``)."""
    params: dict[str, object] = {"strength": strength, "gap": gap}
    if depths:
        params["depth"] = {b: 100.0 * d for b, d in depths}  # the core's linear book is per 100 % move
    return cascade(resolve(compute.parse_cached(text)), {target: move}, impact=impact, params=params)


def _base(symbol: str) -> str:
    inst = parse_symbol(symbol)
    return inst.base.upper() if inst else symbol.upper()


def _amount(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


#: what the page says of an order that did not fill (``margin.cascade_results.ORDER_OUTCOMES``)
OUTCOME_WORDS = {
    "liquidated_first": "did not fill: the pool reached its liquidation trigger first and {position} was liquidated "
    "with the order still open",
    "closed_by_order": "did not fill: another order closed {position} first",
    "not_reached": "did not fill: the shock never reaches its trigger",
}


def order_outcomes(body: ViewCascade) -> None:
    """Each order that did not fill along the shock, and why (the cross-margin case said plainly)."""
    for order_id, position, outcome in body.order_outcomes:
        if outcome == "liquidated_first":
            st.warning(f"Order **{order_id}** " + OUTCOME_WORDS[outcome].format(position=position) + ".")
        elif outcome != "filled":
            st.caption(f"Order {order_id} " + OUTCOME_WORDS[outcome].format(position=position) + ".")


def steps_table(body: ViewCascade) -> None:
    """The steps of one view's cascade, one row per event (an order fill is a row of its own)."""
    st.dataframe(
        [
            {
                "move": s.move,
                "event": s.event.replace("_", " "),
                "position": s.position,
                "order": s.order or "",
                "fill price": s.fill_price,
                "realized PnL": s.realized_pnl,
                "equity before": s.equity_before,
                "equity after": s.equity_after,
                "cost of the liquidation": s.liquidation_cost,
                "fee": s.fee,
                "collateral left": s.collateral_left,
                "positions open": s.positions_open,
                "drained by": ", ".join(f"{k} {v:,.0f}" for k, v in s.drained_by),
            }
            for s in body.steps
        ],
        hide_index=True,
        width="stretch",
        column_config={"move": st.column_config.NumberColumn(format="percent")},
    )


def depth_inputs(impact: str) -> tuple[tuple[str, float], ...]:
    """One depth per base asset held (USD per 1 % move), default the assumed order-book depth."""
    defaults = default_depths_1pct(held)
    with st.expander("Order-book depth near the mark (USD per 1 % move)", expanded=impact == "linear"):
        st.caption(
            "The quote notional of forced selling (or buying) that moves the asset 1 %: the linear law moves "
            "the price by ΔP/P = Y × flow / (100 × depth). Default: "
            + DEPTH_SOURCE
            + ". No order-book data ship with Margin Lab: set the figures of your venue here."
            + ("" if impact == "linear" else " Used by the order-book depth law only.")
        )
        cols = st.columns(min(max(len(held), 1), 4))
        out = []
        for k, base in enumerate(held):
            value = cols[k % len(cols)].number_input(
                f"{base}, USD per 1 %",
                min_value=1.0,
                max_value=1e13,
                value=float(round(defaults[base])),
                step=10_000.0,
                format="%.0f",
                key=DEPTH_KEY + base,
                disabled=impact != "linear",
            )
            out.append((base, float(value)))
    return tuple(out) if impact == "linear" else ()


def impact_rows(report: CascadeResult, body: ViewCascade) -> list[dict[str, object]]:
    """Per base asset held: the forced flow, the parameters of the law, the impact move and the final move."""
    per_base = (report.impact_model or {}).get("per_base", {})
    rows: list[dict[str, object]] = []
    for base in held:
        symbols = [s for s in resolved.marks if _base(s) == base]
        sym = next((s for s in symbols if s in body.flows), symbols[0] if symbols else None)
        if sym is None:
            continue
        params = per_base.get(base, {}) if isinstance(per_base, dict) else {}
        initial = report.moves.get(sym, 0.0)
        final = body.final_moves.get(sym, initial)
        rows.append(
            {
                "asset": base,
                "forced flow, USD": sum(v for s, v in body.flows.items() if s in symbols),
                "depth, USD per 1 %": params.get("depth_1pct"),
                "daily volume V": params.get("daily_volume"),
                "daily σ": params.get("daily_volatility"),
                "impact move": body.impact.get(sym, 0.0),
                "shock move": initial,
                "final move": final,
                "final / shock": None if initial == 0 else final / initial,
            }
        )
    return rows


IMPACT_COLUMNS = {
    "impact move": st.column_config.NumberColumn(format="%.5f"),
    "shock move": st.column_config.NumberColumn(format="percent"),
    "final move": st.column_config.NumberColumn(format="percent"),
    "final / shock": st.column_config.NumberColumn(format="%.4f"),
    "daily σ": st.column_config.NumberColumn(format="%.4f"),
    "forced flow, USD": st.column_config.NumberColumn(format="%.0f"),
    "depth, USD per 1 %": st.column_config.NumberColumn(format="%.0f"),
    "daily volume V": st.column_config.NumberColumn(format="%.3g"),
}


def impact_card(report: CascadeResult) -> None:
    """The largest amplification over the assets held, the impact's effect on the account, the table."""
    as_is = report.modes["as_is"]
    rows = impact_rows(report, as_is)
    ratios = [(float(r["final / shock"]), str(r["asset"])) for r in rows if isinstance(r["final / shock"], float)]
    m1, m2, m3 = st.columns(3)
    if ratios:
        amp, base = max(ratios)
        m1.metric(f"Largest amplification (final move / shock move), {base}", f"×{amp:.4f}")
    m2.metric("Price impact on the account value (as is)", _amount(as_is.price_impact))
    m3.metric("Positions lost because of the impact", as_is.positions_lost - as_is.positions_lost_without_impact)
    st.dataframe(rows, hide_index=True, width="stretch", column_config=IMPACT_COLUMNS)
    st.caption(
        "Square-root law: ΔP/P = Y × σ_daily × √(|flow| / V_daily) (Tóth et al., Phys. Rev. X 1, 021006, 2011); "
        "order-book depth: ΔP/P = Y × flow / (100 × depth), a linear book (Kyle, Econometrica 53(6), 1985). "
        "The flow is this account's forced trades only: the rest of the market's liquidations are not "
        "modelled (raise Y to stand for them)."
    )


@st.fragment
def contagion_card() -> None:
    """The shock and impact controls, the totals of each view, and the cross and isolated cascades."""
    impacts = list(IMPACTS)
    url.sticky(keys.CT_TARGET, url.url_choice("target", targets, "ALL"), targets)
    url.sticky(keys.CT_MOVE, 100.0 * url.url_float("move", -0.3, -0.9, 0.9))
    url.sticky(keys.CT_IMPACT, url.url_choice("impact", impacts, "none"), impacts)
    url.sticky(keys.CT_STRENGTH, url.url_float("strength", 1.0, 0.0, 5.0))
    c1, c2, c3, c4 = st.columns(4)
    target = c1.selectbox("Shock on", targets, key=keys.CT_TARGET)
    move = c2.slider("Move, %", -90.0, 90.0, step=1.0, key=keys.CT_MOVE)
    impact = c3.radio(
        "Price impact of forced selling", impacts, horizontal=True, key=keys.CT_IMPACT, format_func=IMPACTS.__getitem__
    )
    strength = c4.slider("Impact strength Y", 0.0, 5.0, step=0.25, key=keys.CT_STRENGTH, disabled=impact == "none")
    url.set_url(target=target, move=move / 100.0, impact=impact, strength=strength)
    depths = depth_inputs(impact) if impact != "none" else ()
    gap = False
    if resolved.portfolio.orders:
        url.sticky(keys.CT_GAP, url.url_choice("gap", ["0", "1"], "0") == "1")
        gap = st.toggle(
            "Gap: the shock happens at once (stops fill at the shocked price, not at their trigger)",
            key=keys.CT_GAP,
        )
        url.set_url(gap="1" if gap else "0")
    if move == 0.0:
        st.info("Choose a move other than 0.")
        return
    report = cascade_run(text, target, move / 100.0, impact, float(strength), depths, gap)
    cols = st.columns(3)
    for col, view in zip(cols, ("as_is", "cross", "isolated"), strict=True):
        c = report.modes[view]
        col.metric(f"Positions lost, {VIEW_TITLES[view]}", c.positions_lost)
        col.metric("Collateral left", _amount(c.collateral_left), delta=None if c.loss is None else _amount(-c.loss))
        if c.orders_filled is not None:
            col.metric("Orders filled", f"{c.orders_filled} of {len(c.order_outcomes)}")
    if impact != "none":
        impact_card(report)
    left, right = st.columns(2)
    for col, view in ((left, "cross"), (right, "isolated")):
        body = report.modes[view]
        with col:
            st.subheader(VIEW_TITLES[view])
            bars = body.waterfall()
            settle = next(iter(body.by_settle), "")
            if bars is None:
                st.info("The pools settle in assets that cannot be added: see the steps below.")
            else:
                st.plotly_chart(
                    cascade_waterfall(bars, settle, "Where the account value went"),
                    width="stretch",
                    key=keys.waterfall(view),
                )
                st.caption(
                    "Market move: the shock's price moves on the positions while they were held. Each "
                    "liquidation bar: what the event itself cost at its own prices (fee, collateral lost, "
                    "a negative equity written off). The bars add up to what is left."
                )
            if body.steps:
                steps_table(body)
                if any(s.is_order for s in body.steps):
                    st.caption(
                        "Stop filled / take profit filled: the order closed its position where the shock crossed "
                        "its trigger, before the pools were checked there; its realised PnL stays in the wallet "
                        "(it has no bar of its own: it is part of the market move)."
                    )
            if not any(not s.is_order for s in body.steps):
                st.success("No pool reaches its trigger along this shock.")
            order_outcomes(body)


contagion_card()
