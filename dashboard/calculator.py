"""The What-if calculator card: one candidate position, priced alone and inside the account (layout only).

Every number comes from :func:`margin.calculator.calculate` (the engine on the portfolio with the candidate
added); this module draws the controls, the results and the "Add to portfolio" button.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import keys, state, url
from dashboard.views import render_problems, table
from margin import Portfolio, PortfolioError, portfolio_from_dict, portfolio_to_dict
from margin.calculator import (
    UNITS,
    Calculation,
    Candidate,
    adjust_isolated_margin,
    calculate,
    default_price,
    free_sides,
    isolated_positions,
    known_markets,
    leverage_cap,
    market_info,
    open_markets,
    problem_lines,
)
from margin.instruments import parse_symbol
from margin.portfolio import MARGIN_MODES, SIDES
from margin.report import evaluate_portfolio
from margin.tiers import TierTable
from margin.venues import VENUES

#: the leverage slider's top where the tier gives no cap
NO_CAP_TOP = 100
#: a metric or a table shows a price with this many significant digits
PRICE_DIGITS = 8

ADDED = keys.calc("added")  # the message of the last "Add to portfolio", shown once after the rerun


def price_text(x: float | None, quote: str) -> str:
    """A price with its unit; ``None`` (no liquidation price) in words."""
    if x is None or not math.isfinite(x):
        return "none (no price liquidates it)"
    return f"{x:,.{PRICE_DIGITS}g} {quote}"


def amount_text(x: float, unit: str) -> str:
    return f"{x:,.2f} {unit}" if abs(x) >= 1 or x == 0 else f"{x:,.6g} {unit}"


def unit_label(unit: str, settle: str) -> str:
    return {"contracts": "contracts", "notional": f"notional ({settle})", "margin": f"margin ({settle})"}[unit]


def others_frame(result: Calculation, portfolio: Portfolio) -> pd.DataFrame:
    """Every other position's liquidation price before and after the candidate is added, with the change;
    prices in each symbol's quote currency (in the headers when they all share one, else a column)."""
    quotes = {c.symbol: (market_quote(c.symbol) or result.quote) for c in result.others}
    one = len(set(quotes.values())) <= 1
    unit = f" ({next(iter(quotes.values()))})" if one and quotes else ""
    rows = []
    for c in result.others:
        row: dict[str, object] = {
            "position": c.id,
            "side": c.side,
            "mode": c.margin_mode,
            f"liquidation price before{unit}": c.before,
            f"liquidation price after{unit}": c.after,
            f"change{unit}": c.change,
            "change (relative)": None if c.change is None or not c.before else c.change / c.before,
        }
        if not one:
            row["price unit"] = quotes[c.symbol]
        rows.append(row)
    return pd.DataFrame(rows)


def tiers_frame(tiers: TierTable, settle: str) -> pd.DataFrame:
    """The market's tier table: notional range, leverage cap, maintenance rate and amount of every bracket."""
    return pd.DataFrame(
        [
            {
                "tier": k + 1,
                f"notional from ({settle})": t.min_notional,
                f"notional to ({settle})": t.max_notional,
                "max leverage (×)": t.max_leverage,
                "maintenance rate": t.mmr,
                f"maintenance amount ({settle})": t.maint_amount,
            }
            for k, t in enumerate(tiers.tiers)
        ]
    )


def market_quote(symbol: str) -> str | None:
    inst = parse_symbol(symbol)
    return None if inst is None else inst.quote


def _priceable(portfolio: Portfolio, symbol: str) -> bool:
    """Whether the core can price a candidate on ``symbol`` (:func:`margin.calculator.market_info`: a tier
    table, and a contract size where an inverse contract needs one)."""
    try:
        market_info(portfolio, symbol)
    except PortfolioError:
        return False
    return True


def default_market(portfolio: Portfolio, markets: tuple[str, ...]) -> str:
    """The market first shown: one the portfolio holds nothing in and has a mark for, else one with a mark (the
    free side of a hedge), else one not held, else the first; in each group the first the core can price (a
    venue's shipped table may list an inverse market without its contract size, e.g. Deribit's ``ETH/USD:ETH``),
    so the page opens on a result, not on a refusal."""
    held = {p.symbol for p in portfolio.positions}
    priced = {m for m in markets if default_price(portfolio, m) is not None}
    groups = (
        [m for m in markets if m not in held and m in priced],
        [m for m in markets if m in priced],
        [m for m in markets if m not in held],
        list(markets),
    )
    for wanted in groups:
        for m in wanted:
            if _priceable(portfolio, m):
                return m
    for wanted in groups:
        if wanted:
            return wanted[0]
    return markets[0]


@st.fragment
def calculator_card() -> None:
    """The controls, the live result and the "Add to portfolio" button."""
    portfolio = state.current_portfolio()
    added = st.session_state.pop(ADDED, None)
    if added:
        st.success(str(added))
    markets = open_markets(portfolio)
    if not markets:
        known = known_markets(portfolio)
        why = (
            f"every market {portfolio.venue} has a tier table for ({len(known)}) is held already "
            f"({'one position per symbol' if portfolio.position_mode == 'one-way' else 'both sides'})"
            if known
            else f"{portfolio.venue} has no tier table for any market"
        )
        st.info(f"No market is open for a new position: {why}. Give tiers in the file, or load another portfolio.")
        return
    venue = VENUES[portfolio.venue]
    url.sticky(keys.calc("symbol"), default_market(portfolio, markets), markets)
    c1, c2, c3 = st.columns(3)
    symbol = str(c1.selectbox("Market", markets, key=keys.calc("symbol")))
    try:
        info = market_info(portfolio, symbol)
    except PortfolioError as err:
        render_problems("This market cannot be priced:", problem_lines(err))
        return
    settle, quote = info.instrument.settle, info.instrument.quote
    sides = free_sides(portfolio, symbol) or SIDES
    url.sticky(keys.calc("side"), sides[0], list(SIDES))
    side = str(c2.radio("Side", SIDES, horizontal=True, key=keys.calc("side")))
    url.sticky(keys.calc("mode"), "cross", list(MARGIN_MODES))
    mode = str(c3.radio("Margin mode", MARGIN_MODES, horizontal=True, key=keys.calc("mode")))
    c4, c5, c6 = st.columns(3)
    url.sticky(keys.calc("unit"), "notional", list(UNITS))
    unit = str(
        c4.radio("Size in", UNITS, horizontal=True, key=keys.calc("unit"), format_func=lambda u: unit_label(u, settle))
    )
    url.sticky(keys.calc("size"), 1000.0 if settle != info.instrument.base else 0.1)
    size = c5.number_input(f"Size, {unit_label(unit, settle)}", key=keys.calc("size"), format="%.8g", step=None)
    price_key = keys.calc(f"price_{symbol}")
    mark = default_price(portfolio, symbol)
    if price_key not in st.session_state:
        st.session_state[price_key] = mark
    price = c6.number_input(
        f"Mark price ({quote}); the position opens at it",
        key=price_key,
        value=None,
        format="%.8g",
        placeholder="required: the portfolio has no mark for it" if mark is None else None,
    )
    leverage: float | None = None
    if venue.has_leverage:
        lev_key = keys.calc("leverage")
        kept = keys.kept(lev_key)
        wanted = st.session_state.get(lev_key, st.session_state.get(kept, 10))
        try:
            cap = leverage_cap(portfolio, symbol, float(size or 0.0), unit, float(price or mark or 1.0), wanted)
        except (PortfolioError, ValueError, ZeroDivisionError):
            cap = None
        top = NO_CAP_TOP if cap is None or cap.cap is None else max(1, math.floor(cap.cap))
        # the slider's range follows the cap: its value is carried over (and brought down to the cap) by hand,
        # since a widget whose range changes is a new widget to Streamlit
        value = min(max(1, int(wanted)), top)
        if top > 1:
            st.session_state[lev_key] = value
            leverage = float(st.slider("Leverage (×)", 1, top, key=lev_key))
        else:
            leverage = 1.0
            st.session_state.pop(lev_key, None)
        st.session_state[kept] = int(leverage)
        if cap is not None:
            limit = "no cap in the tier table" if cap.cap is None else f"at most {top}×"
            beyond = ""
            if unit == "margin" and cap.bracket.max_leverage is not None and top < cap.bracket.max_leverage:
                beyond = (
                    f" (with a size in margin, {cap.bracket.max_leverage:g}× would take the notional to the next "
                    "tier's floor)"
                )
            st.caption(f"Leverage {limit} at this size: {cap.bracket.describe(settle)}{beyond}.")
    else:
        st.caption(f"{venue.title} has no leverage setting: the initial margin is the tier's imr.")
    change = 0.0
    if mode == "isolated":
        url.sticky(keys.calc("margin_change"), 0.0)
        change = float(
            st.number_input(
                f"Add (+) or remove (−) isolated margin ({settle})",
                key=keys.calc("margin_change"),
                format="%.8g",
                step=None,
            )
            or 0.0
        )
    # optional stop-loss and take-profit closing the whole candidate (format §7), kept per market like its price
    o1, o2 = st.columns(2)
    stop, take_profit = (
        col.number_input(
            f"{label} at ({quote}, optional)",
            key=keys.calc(f"{kind}_{symbol}"),
            value=None,
            format="%.8g",
            step=None,
            placeholder=f"no {label.lower()}",
            help=f"a {noun} closing the whole position: {where}",
        )
        for col, kind, label, noun, where in (
            (o1, "stop", "Stop", "stop-loss", "below the price for a long, above for a short"),
            (o2, "take_profit", "Take profit", "take-profit", "above the price for a long, below for a short"),
        )
    )
    candidate = Candidate(
        symbol=symbol,
        side=side,
        margin_mode=mode,
        size=float(size) if size is not None else math.nan,
        unit=unit,
        leverage=leverage,
        price=None if price is None else float(price),
        margin_change=change,
        stop=None if stop is None else float(stop),
        take_profit=None if take_profit is None else float(take_profit),
    )
    try:
        result = calculate(portfolio, candidate)
    except PortfolioError as err:
        render_problems("This position cannot be evaluated:", problem_lines(err))
    else:
        render_result(result, portfolio)
    st.markdown(f"**Tiers of {symbol}** ({info.tier_source})")
    table(tiers_frame(info.table, settle), percent=("maintenance rate",))


def render_result(result: Calculation, portfolio: Portfolio) -> None:
    """The live result of one candidate (every number with its unit)."""
    q, s = result.quote, result.settle
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Liquidation price alone", price_text(result.liquidation_alone, q))
    dist = result.distance_in_account
    m2.metric(
        "Liquidation price in the account",
        price_text(result.liquidation_in_account, q),
        None if dist is None else f"{dist:+.2%} from the mark",
        delta_color="off",
    )
    m3.metric("Initial margin", amount_text(result.initial_margin, s))
    cap = result.cap.cap
    m4.metric("Max leverage at this size", "no cap" if cap is None else f"{cap:g}×")
    if result.orders:
        render_orders(result)
    lev = "" if result.leverage is None else f" at {result.leverage:g}×"
    iso = result.candidate.margin_mode == "isolated"
    alone_margin = "its isolated margin" if iso else "the initial margin, as a lone cross wallet"
    st.caption(
        f"{result.candidate.side.capitalize()} {result.contracts:,.8g} contracts of {result.market.symbol} "
        f"(contract size {result.market.contract_size:g}), notional {amount_text(result.notional, s)} at "
        f"{price_text(result.price, q)}{lev}, {result.candidate.margin_mode}. "
        "Alone: the position as the only one of an account holding exactly its margin "
        f"({alone_margin}). "
        "In the account: the portfolio with the position added, evaluated as `python -m margin evaluate` does. "
        f"Tiers: {result.market.tier_source}."
    )
    if result.isolated_margin is not None and result.default_isolated_margin is not None:
        if result.candidate.margin_change:
            st.markdown(
                f"**Isolated margin** {amount_text(result.default_isolated_margin, s)} → "
                f"{amount_text(result.isolated_margin, s)}: liquidation price "
                f"{price_text(result.liquidation_default_margin, q)} → {price_text(result.liquidation_alone, q)}"
            )
        else:
            st.markdown(f"**Isolated margin** {amount_text(result.isolated_margin, s)} (the initial margin)")
    st.markdown(
        f"**Available in the {s} cross pool**: {amount_text(result.available_before, s)} → "
        f"{amount_text(result.available_after, s)}"
    )
    for note in result.notes:
        st.info(note[0].upper() + note[1:] + ".")
    if result.others:
        st.markdown("**The other positions' liquidation prices, before → after**")
        table(others_frame(result, portfolio), percent=("change (relative)",))
        st.caption("None: no positive price liquidates that position (and so no change to show).")
    else:
        st.caption("The portfolio holds no other position.")
    if st.button("Add to portfolio", key=keys.calc("add"), type="primary"):
        state.set_portfolio(result.combined, f"{state.current_source()} + what-if {result.market.symbol}")
        with_orders = "".join(
            f", with a {ORDER_NAMES[o.type]} at {price_text(o.trigger_price, q)}" for o in result.orders
        )
        st.session_state[ADDED] = (
            f"Added to the portfolio: {result.candidate.side} {result.contracts:,.8g} contracts of "
            f"{result.market.symbol} at {price_text(result.price, q)}, {result.candidate.margin_mode}{lev}"
            f"{with_orders}; the book now holds {len(result.combined.positions)} positions."
        )
        st.rerun()


ORDER_NAMES = {"stop": "stop", "take_profit": "take profit"}
#: the metric labels of the candidate's orders (``margin.calculator.OrderFigure``)
ORDER_LABELS = {
    "stop": ("Loss at the stop", "Stop fires before liquidation"),
    "take_profit": (
        "Profit at the take profit",
        "Take profit fires before liquidation",
    ),
}


def render_orders(result: Calculation) -> None:
    """The candidate's stop and take profit beside its liquidation price: the realised PnL at the fill (with
    the file's slippage) and whether the mark reaches the trigger before the liquidation price in the account."""
    q, s = result.quote, result.settle
    cols = st.columns(2 * len(result.orders))
    for k, o in enumerate(result.orders):
        pnl_label, before_label = ORDER_LABELS[o.type]
        cols[2 * k].metric(
            pnl_label,
            amount_text(o.realized_pnl, s),
            f"fill {price_text(o.fill_price, q)}",
            delta_color="off",
        )
        cols[2 * k + 1].metric(before_label, "yes" if o.before_liquidation else "no")
    st.caption(
        f"Orders close the whole position at market (portfolio-format.md §7): fill = trigger × (1 − slippage) for "
        f"a sell (closing a long), × (1 + slippage) for a buy, with the file's slippage {result.slippage:g}; the "
        "PnL is that of the closed contracts at the fill. Fires before liquidation: the mark moving alone reaches "
        "the trigger before the liquidation price in the account. Add to portfolio adds the orders too."
    )


@st.fragment
def isolated_margin_card() -> None:
    """Add or remove margin of an isolated position the book holds: its new liquidation price, and the cross
    wallet the margin comes from (numbers from :func:`margin.calculator.adjust_isolated_margin`)."""
    portfolio = state.current_portfolio()
    held = isolated_positions(portfolio)
    if not held:
        st.caption("The portfolio holds no isolated position (the candidate above can be made isolated).")
        return
    labels = {i: portfolio.positions[i].label for i in held}
    c1, c2 = st.columns(2)
    index = int(c1.selectbox("Isolated position", held, format_func=labels.__getitem__, key=keys.calc("iso_pick")))
    inst = parse_symbol(portfolio.positions[index].symbol)
    settle = "" if inst is None else inst.settle
    change = float(
        c2.number_input(
            f"Add (+) or remove (−) margin ({settle})", key=keys.calc("iso_change"), format="%.8g", step=None
        )
        or 0.0
    )
    try:
        adj = adjust_isolated_margin(portfolio, index, change)
    except PortfolioError as err:
        render_problems("This margin change cannot be made:", problem_lines(err))
        return
    quote = "" if inst is None else inst.quote
    m1, m2, m3 = st.columns(3)
    delta = f"{change:+,.8g} {settle}" if change else None
    m1.metric("Isolated margin", amount_text(adj.margin_after, settle), delta, delta_color="off")
    m2.metric(
        "Liquidation price",
        price_text(adj.liquidation_after, quote),
        f"was {price_text(adj.liquidation_before, quote)}",
        delta_color="off",
    )
    m3.metric(f"Available, {settle} cross pool", amount_text(adj.available_after, settle))
    if change and st.button("Apply to portfolio", key=keys.calc("iso_apply")):
        state.set_portfolio(adj.adjusted, f"{state.current_source()} + margin {change:+,.8g} {settle} on {adj.id}")
        st.session_state[ADDED] = (
            f"Applied: isolated margin of {adj.id} {amount_text(adj.margin_before, settle)} → "
            f"{amount_text(adj.margin_after, settle)}."
        )
        st.rerun()


# --------------------------------------------------------------------------- an option candidate (format §6)

#: the presets that accept options (portfolio-format.md §6.1)
OPTION_VENUES = ("deribit", "okx", "bybit", "generic")
#: how the option settles: in its base coin (``BTC/USD:BTC-…``) or in USDC (``BTC/USDC:USDC-…``), §6.1
OPTION_SETTLES = ("coin", "USDC")


def option_symbol(base: str, settle: str, expiry: date, strike: float, is_call: bool) -> str:
    """The ccxt unified option symbol ``BASE/QUOTE:SETTLE-YYMMDD-STRIKE-C|P`` (format §6.1): coin-settled
    ``BTC/USD:BTC-261225-100000-C``, USDC-settled ``BTC/USDC:USDC-261225-100000-P``."""
    market = f"{base}/USD:{base}" if settle == "coin" else f"{base}/USDC:USDC"
    strike_text = f"{strike:.0f}" if float(strike).is_integer() else f"{strike:.10g}"
    return f"{market}-{expiry:%y%m%d}-{strike_text}-{'C' if is_call else 'P'}"


def with_option(portfolio: Portfolio, position: dict[str, Any], as_of: str | None) -> Portfolio:
    """``portfolio`` with the option ``position`` appended (and ``as_of`` set when given), validated by the
    core's reader; the new row's problems are named ``candidate``."""
    doc: dict[str, Any] = dict(portfolio_to_dict(portfolio))
    held: list[Any] = list(doc.get("positions") or [])
    doc["positions"] = [*held, position]
    if as_of:
        doc["as_of"] = as_of
    paths = [f"positions[{k}]" for k in range(len(portfolio.positions))] + ["candidate"]
    return portfolio_from_dict(doc, "what-if option", position_paths=paths)


def _option_row(doc: dict[str, Any], view: str) -> dict[str, Any]:
    """The last position of ``view`` in an ``evaluate`` document: the candidate option."""
    rows: list[dict[str, Any]] = doc["modes"][view]["positions"]
    return rows[-1]


def _default_as_of(portfolio: Portfolio) -> str:
    if portfolio.as_of:
        return portfolio.as_of
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.fragment
def option_card() -> None:
    """An option candidate: expiry, strike, call or put, built into its ccxt symbol; its standard margin and
    greeks from :func:`margin.report.evaluate_portfolio` on the book with it added (``margin.calculator``
    margins futures only), and "Add to portfolio"."""
    portfolio = state.current_portfolio()
    if portfolio.venue not in OPTION_VENUES:
        st.caption(f"{portfolio.venue} takes no options here (presets with options: {', '.join(OPTION_VENUES)}).")
        return
    bases = list(dict.fromkeys([*portfolio.index_prices, *(p.symbol.split("/", 1)[0] for p in portfolio.positions)]))
    bases = bases or ["BTC"]
    as_of = st.text_input(
        "as_of (ISO-8601 UTC): the marks are taken at", _default_as_of(portfolio), key=keys.calc("opt_as_of")
    )
    c1, c2, c3, c4 = st.columns(4)
    base = str(c1.selectbox("Underlying", bases, key=keys.calc("opt_base")))
    settle = str(c2.radio("Settles in", OPTION_SETTLES, horizontal=True, key=keys.calc("opt_settle")))
    try:
        start = datetime.fromisoformat(as_of.replace("Z", "+00:00")).date()
    except ValueError:
        start = datetime.now(UTC).date()
    expiry = c3.date_input("Expiry (08:00 UTC)", start + timedelta(days=30), key=keys.calc("opt_expiry"))
    kind = str(c4.radio("Type", ("call", "put"), horizontal=True, key=keys.calc("opt_kind")))
    index = portfolio.index_prices.get(base)
    c5, c6, c7, c8 = st.columns(4)
    strike = c5.number_input(
        "Strike (USD)",
        value=float(round(index, -3)) if index else None,
        format="%.8g",
        step=None,
        key=keys.calc("opt_strike"),
    )
    side = str(c6.radio("Side", SIDES, horizontal=True, key=keys.calc("opt_side")))
    contracts = c7.number_input("Contracts", value=1.0, format="%.8g", step=None, key=keys.calc("opt_contracts"))
    iv = c8.number_input(
        "Implied volatility (0.55 = 55 %)", value=0.5, format="%.6g", step=None, key=keys.calc("opt_iv")
    )
    entry = st.number_input(
        f"Entry premium per unit ({base if settle == 'coin' else 'USDC'}; blank: the Black-76 value now)",
        value=None,
        format="%.8g",
        step=None,
        key=keys.calc("opt_entry"),
    )
    if strike is None or not isinstance(expiry, date):
        st.info("Give a strike and an expiry.")
        return
    symbol = option_symbol(base, settle, expiry, float(strike), kind == "call")
    st.markdown(f"Symbol: `{symbol}`")
    position: dict[str, Any] = {"symbol": symbol, "side": side, "contracts": contracts, "iv": iv}
    # the entry premium is shown, never margined (§6.1): a placeholder until the value is known
    position["entry_price"] = entry if entry is not None else 1.0
    try:
        combined = with_option(portfolio, position, as_of.strip() or None)
        doc: dict[str, Any] = evaluate_portfolio(combined)
        before: dict[str, Any] | None = evaluate_portfolio(portfolio) if portfolio.positions else None
    except PortfolioError as err:
        render_problems("This option cannot be evaluated:", problem_lines(err))
        return
    row = _option_row(doc, "as_is")
    if entry is None:
        # the mark premium per unit: |value| ÷ (contracts × contract size), in the settle asset (§6.2)
        units = float(row["contracts"]) * float(combined.positions[-1].contract_size or 1.0)
        position["entry_price"] = abs(float(row["value"])) / units if units else 1.0
        try:
            combined = with_option(portfolio, position, as_of.strip() or None)
        except PortfolioError as err:
            render_problems("This option cannot be evaluated:", problem_lines(err))
            return
    unit = base if settle == "coin" else "USDC"
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Initial margin (standard)", amount_text(float(row["initial_margin"]), unit))
    m2.metric("Maintenance margin (standard)", amount_text(float(row["maintenance_margin"]), unit))
    m3.metric("Value", amount_text(float(row["value"]), unit))
    pm_after = float(doc["modes"]["portfolio"]["pools"][0]["initial_margin"])
    pm_before = None if before is None else float(before["modes"]["portfolio"]["pools"][0]["initial_margin"])
    m4.metric(
        "Portfolio-margin IM (USD)",
        f"{pm_after:,.2f} USD",
        None if pm_before is None else f"{pm_after - pm_before:+,.2f} USD",
        delta_color="off",
    )
    g = row["greeks"]
    st.caption(
        f"Greeks (Black-76, §6.2): delta {g['delta']:+.6g}, gamma {g['gamma']:+.6g}, vega {g['vega']:+.6g} USD "
        f"per vol point, theta {g['theta']:+.6g} USD per day. Standard margin: Deribit's standard option margin "
        "(§6.3; a long option needs none), from `python -m margin evaluate` on the book with this option added."
    )
    if st.button("Add option to portfolio", key=keys.calc("opt_add"), type="primary"):
        state.set_portfolio(combined, f"{state.current_source()} + what-if {symbol}")
        st.session_state[ADDED] = (
            f"Added to the portfolio: {side} {contracts:,.8g} {symbol} at iv {iv:g}; the book now holds "
            f"{len(combined.positions)} positions."
        )
        st.rerun()
