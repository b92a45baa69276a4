"""The what-if calculator: one candidate position priced the way exchange calculators do, on the whole account.

Pure (numpy, no UI, no file access beyond the venue's shipped tier tables read by :mod:`margin.loader`).
Every margin figure comes from the existing engine: the candidate is added to the portfolio as one more
position and the combined portfolio is resolved and evaluated by :func:`margin.report.evaluate_view` in the
``as_is`` view, so every number equals ``python -m margin evaluate`` on the combined file. Nothing here
re-implements tier arithmetic; the tier table is only read to name the bracket and its leverage cap.

Choices (the issue is silent on them):

- The candidate opens **at the mark**: its entry price is the price given (default: the portfolio's mark of
  the symbol). A price other than the portfolio's mark re-marks that symbol for the whole account, before and
  after, so the comparison is at one set of marks.
- Size is given in contracts, in notional (settle asset, at that price) or in margin (settle asset: the
  initial margin, ``notional = margin × leverage``; on venues without a leverage setting the notional whose
  initial margin by the venue's tier ``imr`` is that margin).
- The leverage cap is the ``max_leverage`` of the tier of the entry notional (the rule the reader applies to
  every position, ``margin.portfolio.resolve``).
- **Alone** is the candidate as the only position of an account whose collateral is exactly its margin: the
  isolated margin for an isolated candidate (its own isolated pool), the initial margin for a cross one (a lone
  cross account with that margin as its wallet).
- **In the account** is the candidate inside the portfolio (same venue, tiers, fee), in its own margin mode; an
  isolated candidate's margin leaves the cross wallet of its settle asset, as every isolated margin does.
- The margin adjuster (isolated only) adds (+) or removes (−) margin from the candidate's isolated margin
  (default the initial margin, ``entry notional / leverage``); the result must stay above zero and keep the
  position out of liquidation at the mark.
- A **stop** and a **take profit** (optional, ``portfolio-format.md`` §7) close the whole candidate. They are
  added to the combined portfolio as orders and checked by the reader (a stop on the loss side of the
  candidate's price, which is its mark; a take profit on the profit side), named ``candidate.stop`` /
  ``candidate.take_profit``. Their fill price, realised PnL (with the file's ``slippage``) and
  ``before_liquidation`` are :mod:`margin.orders`' figures for the candidate in the account (``as_is``), as
  ``evaluate`` reports them on the combined file. In hedge mode the orders name the candidate's side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from .defaults import load_venue_defaults
from .errors import PortfolioError, Problem
from .instruments import Instrument, parse_symbol
from .models import initial_margin
from .portfolio import (
    MARGIN_MODES,
    MAX_AMOUNT,
    MAX_LEVERAGE,
    SIDES,
    Order,
    Portfolio,
    Position,
    Resolved,
    _enum,
    number_problem,
    price_problem,
    resolve,
)
from .portfolio import (
    notional as notional_of,
)
from .report import evaluate_view
from .tiers import Tier, TierTable
from .venues import VENUES, Venue, unified_symbol

#: the units a size may be given in
UNITS = ("contracts", "notional", "margin")
#: the problems name the candidate's fields under this path (``candidate.leverage must be <= 75, got 100``)
PATH = "candidate"
#: markets a message lists before "..."
LISTED = 6


@dataclass(frozen=True)
class Candidate:
    """A position to try, as the user gives it (the calculator's inputs)."""

    symbol: str
    side: str = "long"
    margin_mode: str = "cross"
    size: float = 0.0
    unit: str = "contracts"
    #: ``None`` where the venue has no leverage setting (dYdX, Deribit: the tier's ``imr``)
    leverage: float | None = None
    #: the opening price, which is also the mark (``None``: the portfolio's mark of the symbol)
    price: float | None = None
    #: margin added (+) or removed (−) from an isolated candidate's initial margin, in the settle asset
    margin_change: float = 0.0
    #: trigger of a stop-loss closing the whole candidate (format §7; ``None``: none)
    stop: float | None = None
    #: trigger of a take-profit closing the whole candidate (format §7; ``None``: none)
    take_profit: float | None = None


#: the candidate's order inputs and the order type each one adds (format §7)
ORDER_INPUTS = (("stop", "stop"), ("take_profit", "take_profit"))


@dataclass(frozen=True)
class OrderFigure:
    """A candidate's order in the account (format §7 ``orders[]`` of ``evaluate``, view ``as_is``)."""

    id: str
    type: str  # "stop" | "take_profit"
    trigger_price: float
    contracts: float
    fill_price: float  # trigger × (1 ∓ slippage)
    realized_pnl: float  # of the closed contracts at the fill, in the settle asset
    before_liquidation: bool  # the mark moving alone reaches the trigger before the liquidation price


@dataclass(frozen=True)
class MarketInfo:
    """A market the venue knows: its instrument, tier table (the file's or the venue's) and contract size."""

    symbol: str
    instrument: Instrument
    table: TierTable
    contract_size: float
    tier_source: str  # "file" or "<venue> defaults"


@dataclass(frozen=True)
class Bracket:
    """The tier of a notional: its 1-based number, range, maintenance rate and leverage cap."""

    number: int
    of: int
    min_notional: float
    max_notional: float
    mmr: float
    max_leverage: float | None

    def describe(self, settle: str) -> str:
        top = "∞" if math.isinf(self.max_notional) else f"{self.max_notional:,.0f}"
        cap = "no leverage cap" if self.max_leverage is None else f"max leverage {self.max_leverage:g}×"
        return (
            f"tier {self.number} of {self.of}: notional {self.min_notional:,.0f} to {top} {settle}, {cap}, "
            f"maintenance rate {self.mmr:.2%}"
        )


@dataclass(frozen=True)
class LeverageCap:
    """The highest leverage the venue allows for a size, and the bracket that sets it."""

    cap: float | None  # None: the tier gives no max_leverage
    bracket: Bracket
    notional: float  # the entry notional at that leverage (settle asset)


@dataclass(frozen=True)
class Change:
    """One other position's liquidation price before and after the candidate is added (quote currency)."""

    id: str
    symbol: str
    side: str
    margin_mode: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class Calculation:
    """What the calculator shows for one candidate; every amount in ``settle``, every price in ``quote``."""

    candidate: Candidate  # normalised: unified symbol, lower-case enums
    market: MarketInfo
    position: Position  # the position added to the book
    combined: Portfolio  # the portfolio with the candidate in it
    settle: str
    quote: str
    price: float
    contracts: float
    notional: float
    leverage: float | None
    cap: LeverageCap
    initial_margin: float
    isolated_margin: float | None  # after the adjuster (isolated only)
    default_isolated_margin: float | None  # before the adjuster (isolated only)
    liquidation_alone: float | None
    liquidation_in_account: float | None
    #: the candidate alone at the default isolated margin (isolated only), to show what the adjuster moves
    liquidation_default_margin: float | None
    bankruptcy_in_account: float | None
    others: tuple[Change, ...]
    available_before: float  # the settle asset's cross pool: equity − initial margin
    available_after: float
    notes: tuple[str, ...] = ()
    #: the candidate's stop and take profit, in that order (those given)
    orders: tuple[OrderFigure, ...] = ()
    #: the fill slippage the orders use (the file's ``slippage``, default 0)
    slippage: float = 0.0

    def order(self, type_: str) -> OrderFigure | None:
        """The candidate's order of ``type_`` (``stop`` or ``take_profit``), if given."""
        return next((o for o in self.orders if o.type == type_), None)

    @property
    def distance_in_account(self) -> float | None:
        lp = self.liquidation_in_account
        return None if lp is None else lp / self.price - 1.0


# --------------------------------------------------------------------------- markets


def _venue(portfolio: Portfolio) -> Venue:
    venue = VENUES.get(portfolio.venue)
    if venue is None:
        raise PortfolioError([Problem("venue", f"must be one of {', '.join(sorted(VENUES))}", portfolio.venue)])
    return venue


def _fits(venue: Venue, inst: Instrument) -> bool:
    return inst.kind in venue.contract_kinds and (venue.settle_assets is None or inst.settle in venue.settle_assets)


def known_markets(portfolio: Portfolio) -> tuple[str, ...]:
    """The markets a candidate may be opened on: the portfolio's symbols first, then every symbol of the venue's
    shipped tier table, then the file's ``tiers`` (the markets with a tier table the engine can use)."""
    venue = _venue(portfolio)
    defaults = load_venue_defaults(venue.name, venue.tiers_file)
    out: dict[str, None] = {}
    held = [p.symbol for p in portfolio.positions]
    for symbol in (*held, *defaults.tiers, *portfolio.tiers):
        inst = parse_symbol(symbol)
        if inst is not None and _fits(venue, inst) and (symbol in portfolio.tiers or symbol in defaults.tiers):
            out.setdefault(symbol, None)
    return tuple(out)


def open_markets(portfolio: Portfolio) -> tuple[str, ...]:
    """The known markets a new position can be opened on: in one-way mode those the portfolio holds nothing in,
    in hedge mode those where a side is still free (one long and one short per symbol)."""
    held: dict[str, set[str]] = {}
    for p in portfolio.positions:
        held.setdefault(p.symbol, set()).add(p.side)
    full = 1 if portfolio.position_mode == "one-way" else 2
    return tuple(s for s in known_markets(portfolio) if len(held.get(s, ())) < full)


def free_sides(portfolio: Portfolio, symbol: str) -> tuple[str, ...]:
    """The sides a new position on ``symbol`` may take (hedge mode: the side not held yet)."""
    taken = {p.side for p in portfolio.positions if p.symbol == symbol}
    if portfolio.position_mode == "one-way":
        return () if taken else SIDES
    return tuple(s for s in SIDES if s not in taken)


def market_info(portfolio: Portfolio, symbol: str) -> MarketInfo:
    """The market of ``symbol`` (unified or the venue's own name, any case); a clear problem when unknown."""
    venue = _venue(portfolio)
    unified = normalise_symbol(portfolio, symbol)
    markets = known_markets(portfolio)
    if unified is None or unified not in markets:
        listed = ", ".join(markets[:LISTED]) + (", ..." if len(markets) > LISTED else "")
        hint = unified_symbol(symbol) if isinstance(symbol, str) and unified is None else None
        rule = (
            f"must be one of the {len(markets)} markets {venue.name} has a tier table for ({listed}; "
            f"give tiers in the file for another)"
            if markets
            else f"must be a market with a tier table: {venue.name} ships none, give tiers in the file"
        )
        if unified is not None and unified not in markets:
            rule += f": {unified} has none"
        elif hint:
            rule += f" (did you mean {hint!r}?)"
        raise PortfolioError([Problem(f"{PATH}.symbol", rule, symbol)])
    inst = parse_symbol(unified)
    assert inst is not None
    defaults = load_venue_defaults(venue.name, venue.tiers_file)
    if unified in portfolio.tiers:
        table, source = portfolio.tiers[unified], "file"
    else:
        table, source = defaults.tiers[unified], f"{venue.name} defaults ({defaults.as_of or 'shipped'})"
    size = defaults.contract_sizes.get(unified)
    held = [p.contract_size for p in portfolio.positions if p.symbol == unified and p.contract_size is not None]
    if held:
        size = held[0]
    if size is None:
        if inst.inverse:
            raise PortfolioError(
                [
                    Problem(
                        f"{PATH}.symbol",
                        f"has no contract size on {venue.name} (an inverse contract needs one)",
                        unified,
                    )
                ]
            )
        size = 1.0
    return MarketInfo(unified, inst, table, float(size), source)


def normalise_symbol(portfolio: Portfolio, symbol: object) -> str | None:
    """``symbol`` as a ccxt unified symbol: as given, or read as the venue's own contract name (``BTCUSDT``,
    also in lower case), the reader's rule (``margin.portfolio.portfolio_from_dict``); ``None`` when neither."""
    if not isinstance(symbol, str):
        return None
    text = symbol.strip()
    if parse_symbol(text) is not None:
        return text
    if parse_symbol(text.upper()) is not None:
        return text.upper()
    native = _venue(portfolio).native_symbol
    return native(text) or native(text.upper())


def default_price(portfolio: Portfolio, symbol: str) -> float | None:
    """The portfolio's mark of ``symbol``: a position's ``mark_price``, else ``prices`` (``None``: none)."""
    for p in portfolio.positions:
        if p.symbol == symbol and p.mark_price is not None:
            return float(p.mark_price)
    price = portfolio.prices.get(symbol)
    return None if price is None else float(price)


# --------------------------------------------------------------------------- tiers: bracket and leverage cap


def bracket_of(table: TierTable, notional: float) -> Bracket:
    """The tier of ``notional`` (the engine's lookup, :meth:`TierTable.index`)."""
    k = table.index(notional)
    t: Tier = table.tiers[k]
    return Bracket(k + 1, len(table.tiers), t.min_notional, t.max_notional, t.mmr, t.max_leverage)


def _size_units(notional: float, price: float, inverse: bool) -> float:
    """Base units (linear) or quote units (inverse) of a notional at ``price``."""
    return notional * price if inverse else notional / price


def _notional_of_margin(market: MarketInfo, margin: float, leverage: float | None, price: float) -> float:
    """The entry notional whose initial margin is ``margin``: ``margin × leverage`` where the tiers give no
    ``imr``; else (dYdX, Deribit, tables with ``imr``) found by bisection on the model's initial-margin rule
    (:func:`margin.models.initial_margin`, increasing in the notional)."""
    if leverage is not None and all(t.imr is None for t in market.table.tiers):
        return margin * leverage
    inverse = market.instrument.inverse
    lev = math.nan if leverage is None else leverage

    def im(n: float) -> float:
        t = market.table.tier(n)
        coin = n if inverse else _size_units(n, price, inverse)
        rate = math.nan if t.imr is None else t.imr
        return float(initial_margin(n, lev, rate, t.imr_per_size, coin))

    lo, hi = 0.0, margin
    while im(hi) < margin and hi < MAX_AMOUNT:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if im(mid) < margin:
            lo = mid
        else:
            hi = mid
    return hi


def leverage_cap(
    portfolio: Portfolio, symbol: str, size: float, unit: str, price: float, leverage: float | None = None
) -> LeverageCap:
    """The highest leverage allowed for ``size`` in ``unit`` at ``price``: the ``max_leverage`` of the tier of the
    entry notional. With a size in margin the notional grows with the leverage: the cap is the highest leverage
    ``L`` that the tier of ``margin × L`` allows."""
    market = market_info(portfolio, symbol)
    inst = market.instrument
    table = market.table
    if unit == "margin" and _venue(portfolio).has_leverage and size > 0:
        best: tuple[float, int] | None = None
        for k, t in enumerate(table.tiers):
            if t.max_leverage is None:
                continue
            # leverages L with margin × L inside the tier and L within its cap
            # (the tier's top notional belongs to the next tier: stay just below it)
            top = min(t.max_leverage, t.max_notional / size * (1.0 - 1e-9))
            if top >= max(1.0, t.min_notional / size) and (best is None or top > best[0]):
                best = (top, k)
        if best is not None:
            t = table.tiers[best[1]]
            b = Bracket(best[1] + 1, len(table.tiers), t.min_notional, t.max_notional, t.mmr, t.max_leverage)
            return LeverageCap(best[0], b, best[0] * size)
        notional = size * (leverage or 1.0)
        return LeverageCap(None, bracket_of(table, notional), notional)
    if unit == "margin":
        notional = _notional_of_margin(market, size, None, price)
    elif unit == "notional":
        notional = size
    else:
        notional = notional_of(size * market.contract_size, price, inst.inverse)
    b = bracket_of(table, notional)
    return LeverageCap(b.max_leverage, b, notional)


# --------------------------------------------------------------------------- inputs


def normalise(portfolio: Portfolio, candidate: Candidate) -> tuple[Candidate, MarketInfo, float]:
    """The candidate with its symbol unified and its enums lower-case, its market and its price; every problem
    of its fields at once (``candidate.size must be > 0, got 0``)."""
    problems: list[Problem] = []
    market: MarketInfo | None = None
    try:
        market = market_info(portfolio, candidate.symbol)
    except PortfolioError as err:
        problems.extend(err.problems)
    side = _enum(candidate.side, SIDES)
    mode = _enum(candidate.margin_mode, MARGIN_MODES)
    unit = _enum(candidate.unit, UNITS)
    if side not in SIDES:
        problems.append(Problem(f"{PATH}.side", "must be 'long' or 'short'", candidate.side))
    if mode not in MARGIN_MODES:
        problems.append(Problem(f"{PATH}.margin_mode", "must be 'cross' or 'isolated'", candidate.margin_mode))
    if unit not in UNITS:
        problems.append(Problem(f"{PATH}.unit", "must be 'contracts', 'notional' or 'margin'", candidate.unit))
    rule = number_problem(candidate.size, positive=True, maximum=MAX_AMOUNT)
    if rule:
        problems.append(Problem(f"{PATH}.size", rule, candidate.size))
    if candidate.leverage is not None:
        rule = number_problem(candidate.leverage, minimum=1.0, maximum=MAX_LEVERAGE)
        if rule:
            problems.append(Problem(f"{PATH}.leverage", rule, candidate.leverage))
    rule = number_problem(candidate.margin_change)
    if rule:
        problems.append(Problem(f"{PATH}.margin_change", rule, candidate.margin_change))
    for field, _ in ORDER_INPUTS:
        trigger = getattr(candidate, field)
        rule = None if trigger is None else price_problem(trigger)
        if rule:
            problems.append(Problem(f"{PATH}.{field}", rule, trigger))
    price = candidate.price
    if market is not None:
        if price is None:
            price = default_price(portfolio, market.symbol)
            if price is None:
                problems.append(
                    Problem(
                        f"{PATH}.price",
                        f"is required: the portfolio has no mark for {market.symbol}",
                        None,
                        show_value=False,
                    )
                )
        else:
            rule = price_problem(price)
            if rule:
                problems.append(Problem(f"{PATH}.price", rule, price))
    if market is not None and side in SIDES:
        for i, held in enumerate(portfolio.positions):
            if held.symbol == market.symbol and (held.side == side or portfolio.position_mode == "one-way"):
                which = (
                    "no position in (one-way mode)"
                    if portfolio.position_mode == "one-way"
                    else f"no {held.side} position in (hedge mode: the other side may be tried)"
                )
                problems.append(
                    Problem(
                        f"{PATH}.symbol",
                        f"must be a market the portfolio holds {which}: positions[{i}] ({held.label}) holds "
                        "one; the calculator tries a new position",
                        candidate.symbol,
                    )
                )
                break
    if problems:
        raise PortfolioError(problems)
    assert market is not None and price is not None
    norm = replace(candidate, symbol=market.symbol, side=str(side), margin_mode=str(mode), unit=str(unit))
    return norm, market, float(price)


# --------------------------------------------------------------------------- the calculation


def _positions(resolved: Resolved) -> list[dict[str, object]]:
    return evaluate_view(resolved, "as_is").positions()


def _cross_available(resolved: Resolved, settle: str) -> float:
    for pool in evaluate_view(resolved, "as_is").pools():
        if pool["mode"] == "cross" and pool["settle"] == settle:
            return float(pool["available"])  # type: ignore[arg-type]
    return 0.0


def _float(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def _unique_id(portfolio: Portfolio, position: Position) -> str:
    taken = {p.label for p in portfolio.positions}
    if position.label not in taken:
        return ""
    k = 1
    while f"{position.label} (what-if {k})" in taken:
        k += 1
    return f"{position.label} (what-if {k})"


def calculate(portfolio: Portfolio, candidate: Candidate) -> Calculation:
    """Price ``candidate`` alone and inside ``portfolio`` (module docstring); raise :class:`PortfolioError`
    naming the field, the rule and the value of every bad input."""
    venue = _venue(portfolio)
    cand, market, price = normalise(portfolio, candidate)
    inst = market.instrument
    settle, quote = inst.settle, inst.quote
    leverage = cand.leverage if venue.has_leverage else None
    notes: list[str] = []
    if cand.leverage is not None and not venue.has_leverage:
        notes.append(f"{venue.name} has no leverage setting: the initial margin is the tier's imr")
    # the entry notional and the contracts
    if cand.unit == "margin":
        if leverage is None and market.table.tier(cand.size).imr is None:
            raise PortfolioError([Problem(f"{PATH}.leverage", f"is required on {venue.name}", None, False)])
        notional = _notional_of_margin(market, cand.size, leverage, price)
    elif cand.unit == "notional":
        notional = float(cand.size)
    else:
        notional = notional_of(cand.size * market.contract_size, price, inst.inverse)
    contracts = _size_units(notional, price, inst.inverse) / market.contract_size
    if cand.unit == "contracts":
        contracts = float(cand.size)
    if not notional <= MAX_AMOUNT:
        raise PortfolioError([Problem(f"{PATH}.size", f"must keep the notional <= {MAX_AMOUNT:g} {settle}", cand.size)])
    bracket = bracket_of(market.table, notional)
    cap = LeverageCap(bracket.max_leverage, bracket, notional)
    tier = market.table.tiers[bracket.number - 1]
    if leverage is None and tier.imr is None:
        raise PortfolioError(
            [
                Problem(
                    f"{PATH}.leverage",
                    f"is required on {venue.name} (the tier at the entry notional gives no imr)",
                    None,
                    show_value=False,
                )
            ]
        )
    if leverage is not None and bracket.max_leverage is not None and leverage > bracket.max_leverage:
        raise PortfolioError(
            [
                Problem(
                    f"{PATH}.leverage",
                    f"must be <= {bracket.max_leverage:g}, the maximum of the tier at the entry notional "
                    f"{notional:,.2f} {settle} ({bracket.describe(settle)})",
                    cand.leverage,
                )
            ]
        )
    isolated = cand.margin_mode == "isolated"
    default_margin: float | None = None
    iso_margin: float | None = None
    if isolated:
        coin = notional if inst.inverse else contracts * market.contract_size
        default_margin = float(
            initial_margin(
                notional,
                math.nan if leverage is None else leverage,
                math.nan if tier.imr is None else tier.imr,
                tier.imr_per_size,
                coin,
            )
        )
        iso_margin = default_margin + float(cand.margin_change)
        if not iso_margin > 0:
            raise PortfolioError(
                [
                    Problem(
                        f"{PATH}.margin_change",
                        f"must leave the isolated margin above 0 (initial margin {default_margin:,.2f} {settle})",
                        cand.margin_change,
                    )
                ]
            )
    elif cand.margin_change:
        notes.append("the margin adjuster applies to isolated positions only: ignored for a cross candidate")
    # the book before (at the candidate's price for its symbol) and after
    before_pf = portfolio
    if default_price(portfolio, market.symbol) not in (None, price):
        before_pf = portfolio.with_prices({market.symbol: price})
        notes.append(
            f"the mark of {market.symbol} is {price:g} {quote} for the whole account, before and after "
            f"(the portfolio's is {default_price(portfolio, market.symbol):g})"
        )
    position = Position(
        symbol=market.symbol,
        side=cand.side,
        contracts=contracts,
        entry_price=price,
        leverage=leverage,
        margin_mode=cand.margin_mode,
        isolated_margin=iso_margin if cand.margin_change else None,
        contract_size=market.contract_size if market.contract_size != 1.0 else None,
    )
    position = replace(position, id=_unique_id(portfolio, position))
    prices = {**before_pf.prices, market.symbol: price}
    new_orders = _candidate_orders(portfolio, cand, market.symbol)
    combined = replace(
        before_pf,
        positions=(*before_pf.positions, position),
        prices=prices,
        orders=(*_pin_legs(before_pf, market.symbol), *(o for _, o in new_orders)),
    )
    paths = [f"positions[{i}]" for i in range(len(portfolio.positions))] + [PATH]
    order_paths = [f"orders[{j}]" for j in range(len(before_pf.orders))] + [f"{PATH}.{f}" for f, _ in new_orders]
    before = resolve(before_pf)
    try:
        after = resolve(combined, paths=paths, order_paths=order_paths)
    except PortfolioError as err:
        raise PortfolioError([_order_input_problem(p) for p in err.problems], err.source) from None
    rows_before = _positions(before)
    rows_after = _positions(after)
    mine = rows_after[-1]
    if bool(mine["liquidated"]):
        have = float(before_pf.collateral.get(settle, 0.0))
        problem = (
            "must keep the position out of liquidation at the mark"
            if isolated and cand.margin_change < 0
            else f"would be liquidated at once: its {cand.margin_mode} {settle} pool's equity is at or below its "
            f"maintenance margin (the account holds {have:,.8g} {settle})"
        )
        field = "margin_change" if isolated and cand.margin_change < 0 else "size"
        value = cand.margin_change if field == "margin_change" else cand.size
        raise PortfolioError([Problem(f"{PATH}.{field}", problem, value)])
    im = float(mine["initial_margin"])  # type: ignore[arg-type]
    # alone: the candidate in an account holding exactly its margin
    alone_lp = _alone(before_pf, position, iso_margin if isolated else im, settle)
    default_lp = None
    if isolated and cand.margin_change and default_margin is not None:
        default_lp = _alone(before_pf, replace(position, isolated_margin=None), default_margin, settle)
    others = tuple(
        Change(
            id=str(b["id"]),
            symbol=str(b["symbol"]),
            side=str(b["side"]),
            margin_mode=leg.position.margin_mode,
            before=_float(b["liquidation_price"]),
            after=_float(a["liquidation_price"]),
        )
        for b, a, leg in zip(rows_before, rows_after, before.legs, strict=False)
    )
    # the candidate's orders as evaluate reports them (margin.orders.order_rows, format §7)
    order_docs: list[dict[str, Any]] = list(cast("list[dict[str, Any]]", mine.get("orders") or []))
    figures = tuple(
        OrderFigure(
            id=str(o["id"]),
            type=str(o["type"]),
            trigger_price=float(o["trigger_price"]),
            contracts=float(o["contracts"]),
            fill_price=float(o["fill_price"]),
            realized_pnl=float(o["realized_pnl"]),
            before_liquidation=bool(o["before_liquidation"]),
        )
        for o in order_docs
    )
    avail_before = _cross_available(before, settle)
    avail_after = _cross_available(after, settle)
    if avail_after < 0:
        notes.append(
            f"the {settle} cross pool's available margin would be {avail_after:,.2f} {settle}: the venue would "
            "refuse the order"
        )
    return Calculation(
        candidate=cand,
        market=market,
        position=position,
        combined=combined,
        settle=settle,
        quote=quote,
        price=price,
        contracts=contracts,
        notional=notional,
        leverage=leverage,
        cap=cap,
        initial_margin=im,
        isolated_margin=iso_margin,
        default_isolated_margin=default_margin,
        liquidation_alone=alone_lp,
        liquidation_in_account=_float(mine["liquidation_price"]),
        liquidation_default_margin=default_lp,
        bankruptcy_in_account=_float(mine["bankruptcy_price"]),
        others=others,
        available_before=avail_before,
        available_after=avail_after,
        notes=tuple(notes),
        orders=figures,
        slippage=after.slippage,
    )


def _pin_legs(portfolio: Portfolio, symbol: str) -> tuple[Order, ...]:
    """The book's orders, those on ``symbol`` without ``position_side`` naming the one leg they close (hedge
    mode: the candidate opens the other side, after which the symbol holds both and the side is required)."""
    held = {p.side for p in portfolio.positions if p.symbol == symbol}
    if len(held) != 1:
        return portfolio.orders
    side = next(iter(held))
    return tuple(
        replace(o, position_side=side) if o.symbol == symbol and o.position_side is None else o
        for o in portfolio.orders
    )


def _candidate_orders(portfolio: Portfolio, cand: Candidate, symbol: str) -> list[tuple[str, Order]]:
    """The candidate's stop and take profit as orders closing the whole position (format §7), each with the
    input field it comes from; an id only where the default ``"<symbol> <type>"`` is taken already (hedge
    mode: the other side's order), and ``position_side`` in hedge mode (the symbol may then hold both)."""
    taken = {o.label for o in portfolio.orders}
    side = cand.side if portfolio.position_mode == "hedge" else None
    out: list[tuple[str, Order]] = []
    for field, type_ in ORDER_INPUTS:
        trigger = getattr(cand, field)
        if trigger is None:
            continue
        order = Order(symbol=symbol, type=type_, trigger_price=float(trigger), position_side=side)
        if order.label in taken:
            k = 1
            while f"{order.label} (what-if {k})" in taken:
                k += 1
            order = replace(order, id=f"{order.label} (what-if {k})")
        out.append((field, order))
    return out


def _order_input_problem(problem: Problem) -> Problem:
    """The reader's problem of a candidate's order named by the input (``candidate.stop must be below the mark
    3000 for a stop on a long (it would fire at once), got 3100.0``), not by the order's field."""
    for field, _ in ORDER_INPUTS:
        if problem.path == f"{PATH}.{field}.trigger_price":
            return replace(problem, path=f"{PATH}.{field}")
    return problem


def _alone(portfolio: Portfolio, position: Position, margin: float | None, settle: str) -> float | None:
    """The liquidation price of ``position`` as the only position of an account holding ``margin`` of ``settle``
    (its isolated margin, or the initial margin of a cross position), on the same venue, tiers and fee."""
    assert margin is not None
    pos = replace(position, isolated_margin=margin) if position.margin_mode == "isolated" else position
    lone = Portfolio(
        venue=portfolio.venue,
        collateral={settle: margin},
        positions=(pos,),
        prices={position.symbol: position.entry_price},
        tiers={s: t for s, t in portfolio.tiers.items() if s == position.symbol},
        position_mode=portfolio.position_mode,
        taker_fee=portfolio.taker_fee,
    )
    rows = _positions(resolve(lone, paths=[PATH]))
    return _float(rows[0]["liquidation_price"])


def problem_lines(err: PortfolioError) -> Sequence[str]:
    """The problems of a rejected candidate, one line each."""
    return [str(p) for p in err.problems]


# --------------------------------------------------------------------------- margin of a held isolated position


@dataclass(frozen=True)
class MarginAdjustment:
    """An isolated position of the book with margin added (+) or removed (−): its liquidation price before and
    after, and the cross wallet of its settle asset, which the margin comes from and returns to."""

    index: int
    id: str
    symbol: str
    settle: str
    margin_before: float
    margin_after: float
    liquidation_before: float | None
    liquidation_after: float | None
    available_before: float
    available_after: float
    adjusted: Portfolio  # the book with the new isolated margin (for "apply to portfolio")


def isolated_positions(portfolio: Portfolio) -> tuple[int, ...]:
    """The indices of the book's isolated positions (the ones whose margin can be adjusted)."""
    return tuple(i for i, p in enumerate(portfolio.positions) if p.margin_mode == "isolated")


def adjust_isolated_margin(portfolio: Portfolio, index: int, change: float) -> MarginAdjustment:
    """Position ``index`` (isolated) with ``change`` added to its isolated margin, priced by the engine
    (``evaluate_view``, view ``as_is``): as ``python -m margin evaluate`` gives for the book with that
    ``isolated_margin``. The margin must stay above 0, keep the position out of liquidation at the mark
    (the venue refuses a removal beyond that) and an addition may not exceed the cross pool's available
    margin of the settle asset (``portfolio-format.md`` §1: isolated margin is taken from that wallet)."""
    field = f"positions[{index}].isolated_margin"
    if not 0 <= index < len(portfolio.positions) or portfolio.positions[index].margin_mode != "isolated":
        raise PortfolioError([Problem(f"positions[{index}]", "must be an isolated position of the book", index)])
    rule = number_problem(change)
    if rule:
        raise PortfolioError([Problem(field, rule, change)])
    before = resolve(portfolio)
    leg = before.legs[index]
    settle = leg.settle
    margin_before = float(leg.isolated_margin)  # given, or as the venue computes it at entry
    margin_after = margin_before + float(change)
    available_before = _cross_available(before, settle)
    if not margin_after > 0:
        raise PortfolioError(
            [Problem(field, f"must stay above 0 {settle} (it holds {margin_before:,.8g} {settle})", change)]
        )
    if change > 0 and change > available_before:
        raise PortfolioError(
            [
                Problem(
                    field,
                    f"may add at most the {settle} cross pool's available margin, {available_before:,.2f} {settle}",
                    change,
                )
            ]
        )
    positions = list(portfolio.positions)
    positions[index] = replace(positions[index], isolated_margin=margin_after)
    adjusted = replace(portfolio, positions=tuple(positions))
    after = resolve(adjusted)
    row_before = _positions(before)[index]
    row_after = _positions(after)[index]
    if bool(row_after["liquidated"]):
        raise PortfolioError(
            [Problem(field, "must keep the position out of liquidation at the mark (the venue refuses it)", change)]
        )
    return MarginAdjustment(
        index=index,
        id=leg.position.label,
        symbol=leg.position.symbol,
        settle=settle,
        margin_before=margin_before,
        margin_after=margin_after,
        liquidation_before=_float(row_before["liquidation_price"]),
        liquidation_after=_float(row_after["liquidation_price"]),
        available_before=available_before,
        available_after=_cross_available(after, settle),
        adjusted=adjusted,
    )
