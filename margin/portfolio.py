"""Portfolio domain model, validation and resolution (``portfolio-format.md`` §1-§3).

A :class:`Portfolio` holds what the user gave (positions, collateral per asset, mark prices, tier
overrides). :func:`resolve` fills in what the venue knows (default tiers, contract sizes, the taker
fee), works out defaults (isolated margin = entry notional / leverage) and checks every rule; it
reports every problem at once as a :class:`~margin.errors.PortfolioError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .defaults import load_venue_defaults
from .errors import PortfolioError, Problem
from .instruments import Instrument, parse_symbol
from .market import MAX_PRICE, MIN_PRICE, MarketSnapshot
from .models import initial_margin
from .option_legs import OptionArrays, OptionLeg, iv_problem, option_leg_problems, read_index_prices
from .options import is_option_symbol, read_as_of, read_option_symbol
from .portfolio_margin import PortfolioMarginParams
from .states import DEFAULT_LEVELS, AlertLevels
from .tiers import TierMatrix, TierTable, parse_tier_table
from .venues import VENUES, Venue, unified_symbol

FORMAT = "margin-portfolio/1"
TOP_FIELDS = (
    "format",
    "venue",
    "position_mode",
    "collateral",
    "collateral_assets",
    "prices",
    "tiers",
    "taker_fee",
    "positions",
    "orders",
    "slippage",
    "alert_levels",
    "alerts",
    "origin",
    "as_of",
    "index_prices",
    "portfolio_margin",
)
COLLATERAL_ASSET_FIELDS = ("price", "haircut", "pool")
POSITION_FIELDS = (
    "id",
    "symbol",
    "side",
    "contracts",
    "contract_size",
    "entry_price",
    "mark_price",
    "leverage",
    "margin_mode",
    "isolated_margin",
    "iv",
    "underlying_price",
)
#: order fields (format §7)
ORDER_FIELDS = ("id", "symbol", "type", "trigger_price", "contracts", "position_side")
ORDER_TYPES = ("stop", "take_profit")
#: alert rule fields and metrics (format §8)
ALERT_FIELDS = ("id", "metric", "above", "below", "view")
ALERT_METRICS = ("margin_ratio", "distance_to_liquidation", "available", "equity", "account_move")
#: the views an alert rule may name (``margin.engine.ALL_VIEWS``: the standard three and ``portfolio``, §6.4)
ALERT_VIEWS = ("as_is", "cross", "isolated", "portfolio")
#: slippage on order fills: a fraction in [0, MAX_SLIPPAGE)
MAX_SLIPPAGE = 0.5
SIDES = ("long", "short")
MARGIN_MODES = ("cross", "isolated")
POSITION_MODES = ("one-way", "hedge")


@dataclass(frozen=True)
class Position:
    """An open position as the user gave it (``portfolio-format.md`` §1, position fields)."""

    symbol: str
    side: str
    contracts: float
    entry_price: float
    leverage: float | None = None
    margin_mode: str = "cross"
    isolated_margin: float | None = None
    contract_size: float | None = None
    mark_price: float | None = None
    id: str = ""
    #: an option's implied volatility and optional forward (format §6.1)
    iv: float | None = None
    underlying_price: float | None = None

    @property
    def label(self) -> str:
        """The position's id; default ``"<symbol> <side>"``."""
        return self.id or f"{self.symbol} {self.side}"

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


@dataclass(frozen=True)
class Order:
    """A reduce-only stop-loss or take-profit on an open position (``portfolio-format.md`` §7).

    ``contracts`` ``None``: the whole position; ``position_side`` ``None``: the one position of
    ``symbol`` (required in hedge mode when the symbol has a long and a short).
    """

    symbol: str
    type: str
    trigger_price: float
    contracts: float | None = None
    position_side: str | None = None
    id: str = ""

    @property
    def label(self) -> str:
        """The order's id; default ``"<symbol> <type>"``."""
        return self.id or f"{self.symbol} {self.type}"


@dataclass(frozen=True)
class AlertRule:
    """An alert rule (format §8): ``metric`` in ``view`` (default ``as_is``) above or below a threshold."""

    metric: str
    above: float | None = None
    below: float | None = None
    view: str | None = None
    id: str = ""

    @property
    def label(self) -> str:
        """The rule's id; default ``"<metric> above|below <threshold>"`` (with the view when given)."""
        if self.id:
            return self.id
        op, x = ("above", self.above) if self.above is not None else ("below", self.below)
        return f"{self.metric} {op} {x:g}" + (f" ({self.view})" if self.view else "")


@dataclass(frozen=True)
class CollateralAsset:
    """A collateral asset that is not a settle asset, backing a cross pool (format extension).

    Its value in the pool is ``amount × price × (1 − haircut)``, ``price`` in the pool's settle asset:
    how multi-asset margin modes count non-settle collateral (Binance Multi-Assets mode and Bybit UTA
    value collateral at its price with a haircut / collateral value ratio; ``margin-models.md`` §1.6,
    §3.5). A collateral shock moves ``price``.
    """

    price: float
    haircut: float
    pool: str


@dataclass(frozen=True)
class Portfolio:
    """Positions, collateral per asset, marks and tier overrides on one venue."""

    venue: str
    collateral: dict[str, float]
    positions: tuple[Position, ...] = ()
    prices: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, TierTable] = field(default_factory=dict)
    position_mode: str = "one-way"
    taker_fee: float | None = None
    collateral_assets: dict[str, CollateralAsset] = field(default_factory=dict)
    #: where the data came from (format extension): free-form JSON object kept through save and load
    #: and never used in the arithmetic, e.g. an exchange import's venue, fetch time, ccxt version,
    #: each field's origin and the exchange's own figures for reconciliation
    origin: dict[str, object] | None = None
    #: stop-loss and take-profit orders (format §7) and the slippage of their fills (``None``: not given, 0)
    orders: tuple[Order, ...] = ()
    slippage: float | None = None
    #: margin-ratio levels of the pool states (format §8; ``None``: the venue's, else the defaults)
    alert_levels: AlertLevels | None = None
    #: alert rules (format §8)
    alerts: tuple[AlertRule, ...] = ()
    #: the time of the marks, the USD index price per base and the portfolio view's parameters (format §6)
    as_of: str | None = None
    index_prices: dict[str, float] = field(default_factory=dict)
    portfolio_margin: PortfolioMarginParams | None = None

    def with_prices(self, prices: Mapping[str, float]) -> Portfolio:
        """The same book at other mark prices (position-level marks replaced too)."""
        merged = {**self.prices, **prices}
        positions = tuple(replace(p, mark_price=None) if p.symbol in prices else p for p in self.positions)
        return replace(self, prices=merged, positions=positions)


@dataclass(frozen=True)
class Leg:
    """A resolved position: everything the arithmetic needs, in float64."""

    index: int
    position: Position
    instrument: Instrument
    contract_size: float
    #: contracts × contract size: base units (linear) or quote units, e.g. USD (inverse)
    size: float
    mark: float
    leverage: float | None
    #: margin held when isolated (given, or entry notional / leverage, or entry notional × imr)
    isolated_margin: float
    entry_notional: float

    @property
    def settle(self) -> str:
        return self.instrument.settle

    @property
    def isolated(self) -> bool:
        return self.position.margin_mode == "isolated"


@dataclass(frozen=True, eq=False)
class LegArrays:
    """The legs of a resolved portfolio as arrays, in leg order (view-independent; built once)."""

    ids: tuple[str, ...]
    sym: npt.NDArray[np.intp]  # column of the symbol in ``Resolved.symbols``
    settle: npt.NDArray[np.intp]  # index of the settle asset in ``Resolved.settles``
    sign: npt.NDArray[np.float64]
    size: npt.NDArray[np.float64]
    entry: npt.NDArray[np.float64]
    inverse: npt.NDArray[np.bool_]
    leverage: npt.NDArray[np.float64]  # NaN when none
    isolated: npt.NDArray[np.bool_]  # as given (the ``as_is`` view)
    isolated_margin: npt.NDArray[np.float64]
    symbol_inverse: npt.NDArray[np.bool_]  # per symbol


@dataclass(frozen=True)
class Resolved:
    """A validated portfolio with the venue's defaults filled in."""

    portfolio: Portfolio
    venue: Venue
    legs: tuple[Leg, ...]
    tables: dict[str, TierTable]
    #: the market the file carries (marks, collateral prices): kept apart from the account
    market: MarketSnapshot
    taker_fee: float
    #: settle assets of the cross pools, in order of first appearance in collateral, then positions
    settles: tuple[str, ...]
    tier_sources: dict[str, str]
    #: per order of ``portfolio.orders``: the index in ``legs`` of the position it closes (format §7)
    order_legs: tuple[int, ...] = ()
    #: the margin-ratio levels of the pool states in force (format §8)
    alert_levels: AlertLevels = DEFAULT_LEVELS
    #: the option positions (format §6), ``None`` when the file gives no ``as_of``
    options: OptionArrays | None = None
    #: the parameters of the ``portfolio`` view (format §6.4)
    portfolio_params: PortfolioMarginParams = field(default_factory=lambda: PortfolioMarginParams())

    @property
    def option_legs(self) -> tuple[OptionLeg, ...]:
        """The option positions, in input order (empty without options)."""
        return () if self.options is None else self.options.legs

    @property
    def n_positions(self) -> int:
        """Futures and options."""
        return len(self.legs) + len(self.option_legs)

    @property
    def slippage(self) -> float:
        """The fill slippage of the orders (default 0)."""
        return 0.0 if self.portfolio.slippage is None else float(self.portfolio.slippage)

    @property
    def marks(self) -> Mapping[str, float]:
        """The file's mark per symbol (``market.marks``)."""
        return self.market.marks

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.market.symbols

    @cached_property
    def arrays(self) -> LegArrays:
        """The legs as arrays (built once, shared by every view)."""
        legs = self.legs
        sym_index = {s: i for i, s in enumerate(self.symbols)}
        settle_index = {s: i for i, s in enumerate(self.settles)}
        inverse_of = {leg.position.symbol: leg.instrument.inverse for leg in legs}  # an option's column: False
        out = LegArrays(
            ids=tuple(leg.position.label for leg in legs),
            sym=np.array([sym_index[leg.position.symbol] for leg in legs], dtype=np.intp),
            settle=np.array([settle_index[leg.instrument.settle] for leg in legs], dtype=np.intp),
            sign=np.array([leg.position.sign for leg in legs], dtype=np.float64),
            size=np.array([leg.size for leg in legs], dtype=np.float64),
            entry=np.array([leg.position.entry_price for leg in legs], dtype=np.float64),
            inverse=np.array([leg.instrument.inverse for leg in legs], dtype=bool),
            leverage=np.array([math.nan if leg.leverage is None else leg.leverage for leg in legs], dtype=np.float64),
            isolated=np.array([leg.isolated for leg in legs], dtype=bool),
            isolated_margin=np.array([leg.isolated_margin for leg in legs], dtype=np.float64),
            symbol_inverse=np.array([inverse_of.get(s, False) for s in self.symbols], dtype=bool),
        )
        for value in vars(out).values():  # shared by every view's book: nobody may write into them
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        return out

    @cached_property
    def tier_matrix(self) -> TierMatrix:
        """The symbols' tier tables as arrays, in ``symbols`` order (built once, shared by every view)."""
        return TierMatrix.build([self.tables.get(s, OPTION_COLUMN_TABLE) for s in self.symbols])


#: the tier row of an option's column in the marks (an option has no tier: §6.3 margins it)
OPTION_COLUMN_TABLE: TierTable = parse_tier_table(
    [{"min_notional": 0, "max_notional": None, "mmr": 0.0, "max_leverage": 1000}], "options"
)[0]  # type: ignore[assignment]


def notional(size: float, price: float, inverse: bool) -> float:
    """Notional in the settle asset: ``size × P`` (linear) or ``size / P`` (inverse). Format §2."""
    return size / price if inverse else size * price


#: physical bounds of the numbers in a file (README "Bounds"): beyond them no venue trades, and the
#: float64 arithmetic of notionals, PnL and their sums would overflow or lose all meaning
MAX_AMOUNT = 1e15  # contracts, collateral amounts, isolated margins, notionals (settle-asset units)
MIN_CONTRACT_SIZE, MAX_CONTRACT_SIZE = 1e-12, 1e9
MAX_LEVERAGE = 1000.0
#: a collateral asset's name: letters and digits (``USDT``, ``USDe``, ``BNSOL``, ``1000SATS``)
ASSET_NAME = re.compile(r"^[A-Za-z0-9]{1,20}$")


def number_problem(
    value: object, *, positive: bool = False, minimum: float | None = None, maximum: float | None = None
) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number"
    try:
        x = float(value)
    except OverflowError:
        return "must be a finite number"
    if not math.isfinite(x):
        return "must be a finite number"
    if positive and x <= 0:
        return "must be > 0"
    if minimum is not None and x < minimum:
        return f"must be >= {minimum:g}"
    if maximum is not None and x > maximum:
        return f"must be <= {maximum:g}"
    return None


def price_problem(value: object) -> str | None:
    """A price: finite, within [MIN_PRICE, MAX_PRICE]."""
    rule = number_problem(value, positive=True, maximum=MAX_PRICE)
    if rule is None and float(value) < MIN_PRICE:  # type: ignore[arg-type]
        return f"must be >= {MIN_PRICE:g}"
    return rule


#: longest id or symbol a position may have
MAX_TEXT = 200


def _is_text(value: str) -> bool:
    """Whether ``value`` is text that UTF-8 can hold (no lone UTF-16 surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_asset_name(name: str) -> str | None:
    if name != name.strip():
        return f"must not have spaces around it (did you mean {name.strip()!r}?)"
    if not ASSET_NAME.match(name):
        return "must be an asset name of 1 to 20 ASCII letters and digits"
    return None


def _position_number_problems(pos: Position, path: str) -> list[Problem]:
    """Type and bound problems of a position's numbers (README "Bounds")."""
    out: list[Problem] = []
    checks: tuple[tuple[str, object, str | None], ...] = (
        ("contracts", pos.contracts, number_problem(pos.contracts, positive=True, maximum=MAX_AMOUNT)),
        ("entry_price", pos.entry_price, price_problem(pos.entry_price)),
    )
    for name, value, rule in checks:
        if rule:
            out.append(Problem(f"{path}.{name}", rule, value))
    optional: tuple[tuple[str, float | None, Callable[[object], str | None]], ...] = (
        ("contract_size", pos.contract_size, _bad_contract_size),
        ("mark_price", pos.mark_price, price_problem),
        ("isolated_margin", pos.isolated_margin, lambda v: number_problem(v, positive=True, maximum=MAX_AMOUNT)),
        ("leverage", pos.leverage, lambda v: number_problem(v, minimum=1.0, maximum=MAX_LEVERAGE)),
    )
    for name, opt, check in optional:
        if opt is not None:
            rule = check(opt)
            if rule:
                out.append(Problem(f"{path}.{name}", rule, opt))
    return out


def _bad_contract_size(value: object) -> str | None:
    rule = number_problem(value, positive=True, maximum=MAX_CONTRACT_SIZE)
    if rule is None and float(value) < MIN_CONTRACT_SIZE:  # type: ignore[arg-type]
        return f"must be >= {MIN_CONTRACT_SIZE:g}"
    return rule


def _symbol_problem(path: str, symbol: object) -> Problem:
    """A symbol that is not a ccxt unified one, with the unified symbol suggested where one reads it."""
    hint = unified_symbol(symbol) if isinstance(symbol, str) else None
    rule = "must be a ccxt unified symbol BASE/QUOTE:SETTLE" + (f" (did you mean {hint!r}?)" if hint else "")
    return Problem(f"{path}.symbol", rule, symbol)


def _enum(value: object, allowed: tuple[str, ...]) -> object:
    """An enum value in any case (``Long``, ``CROSS``) read as the canonical lower-case one."""
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    return value


def _enum_problems(path: str, side: object, margin_mode: object) -> list[Problem]:
    out: list[Problem] = []
    if side not in SIDES:
        out.append(Problem(f"{path}.side", "must be 'long' or 'short'", side))
    if margin_mode not in MARGIN_MODES:
        out.append(Problem(f"{path}.margin_mode", "must be 'cross' or 'isolated'", margin_mode))
    return out


def _order_problems(
    portfolio: Portfolio, legs: Sequence[Leg], marks: Mapping[str, float], order_paths: Sequence[str] | None
) -> tuple[list[Problem], tuple[int, ...]]:
    """The rules of the orders (format §7) and, per order, the index in ``legs`` of the position it closes.

    Positions that did not resolve have their own problems; an order on one of them is only checked
    for its own fields.
    """
    problems: list[Problem] = []
    order_legs: list[int] = []
    leg_of = {leg.index: k for k, leg in enumerate(legs)}
    seen: dict[str, str] = {}
    for j, order in enumerate(portfolio.orders):
        path = order_paths[j] if order_paths is not None else f"orders[{j}]"
        before = len(problems)
        label = order.label
        if label in seen:
            problems.append(Problem(f"{path}.id", f"must be unique (also {seen[label]})", label))
        seen.setdefault(label, path)
        if order.type not in ORDER_TYPES:
            problems.append(Problem(f"{path}.type", "must be 'stop' or 'take_profit'", order.type))
        if order.position_side is not None and order.position_side not in SIDES:
            problems.append(Problem(f"{path}.position_side", "must be 'long' or 'short'", order.position_side))
        rule = price_problem(order.trigger_price)
        if rule:
            problems.append(Problem(f"{path}.trigger_price", rule, order.trigger_price))
        if order.contracts is not None:
            rule = number_problem(order.contracts, positive=True, maximum=MAX_AMOUNT)
            if rule:
                problems.append(Problem(f"{path}.contracts", rule, order.contracts))
        if not isinstance(order.symbol, str) or parse_symbol(order.symbol) is None:
            problems.append(_symbol_problem(path, order.symbol))
            continue
        held = [
            i
            for i, pos in enumerate(portfolio.positions)
            if pos.symbol == order.symbol and (order.position_side is None or pos.side == order.position_side)
        ]
        if not held:
            which = f"a {order.position_side} " if order.position_side in SIDES else "an "
            problems.append(Problem(f"{path}.symbol", f"must be the symbol of {which}open position", order.symbol))
            continue
        if len(held) > 1:
            problems.append(
                Problem(
                    f"{path}.position_side",
                    f"is required: {order.symbol} has both a long and a short (hedge mode)",
                    None,
                    show_value=False,
                )
            )
            continue
        k = leg_of.get(held[0])
        if k is None or problems[before:]:
            continue  # the position's own problems are reported; or this order's fields are bad
        leg = legs[k]
        pos = leg.position
        if order.contracts is not None and order.contracts > pos.contracts:
            problems.append(
                Problem(f"{path}.contracts", f"must be <= the position's {pos.contracts:g} contracts", order.contracts)
            )
        mark = marks[pos.symbol]
        # a stop lies on the position's loss side of the mark, a take-profit on its profit side
        loss_side = "below" if pos.side == "long" else "above"
        profit_side = "above" if pos.side == "long" else "below"
        want = loss_side if order.type == "stop" else profit_side
        offset = (order.trigger_price - mark) * pos.sign
        if (order.type == "stop" and not offset < 0) or (order.type == "take_profit" and not offset > 0):
            problems.append(
                Problem(
                    f"{path}.trigger_price",
                    f"must be {want} the mark {mark:g} for a {order.type} on a {pos.side} (it would fire at once)",
                    order.trigger_price,
                )
            )
        if not problems[before:]:
            order_legs.append(k)
    return problems, tuple(order_legs)


def _levels_problems(levels: AlertLevels | None) -> list[Problem]:
    """``alert_levels``: 0 < warning < margin_call < 1 (format §8)."""
    if levels is None:
        return []
    out: list[Problem] = []
    for name in ("warning", "margin_call"):
        value = getattr(levels, name)
        rule = number_problem(value)
        if rule is None and not 0 < value < 1:
            rule = "must be > 0 and < 1 (a margin ratio)"
        if rule:
            out.append(Problem(f"alert_levels.{name}", rule, value))
    if not out and not levels.warning < levels.margin_call:
        out.append(Problem("alert_levels.margin_call", f"must be > warning ({levels.warning:g})", levels.margin_call))
    return out


def _alert_problems(rules: Sequence[AlertRule], alert_paths: Sequence[str] | None) -> list[Problem]:
    """The alert rules (format §8): a known metric, exactly one of above / below, a known view, unique ids."""
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for j, rule in enumerate(rules):
        path = alert_paths[j] if alert_paths is not None else f"alerts[{j}]"
        if rule.metric not in ALERT_METRICS:
            out.append(Problem(f"{path}.metric", f"must be one of {', '.join(ALERT_METRICS)}", rule.metric))
        if (rule.above is None) == (rule.below is None):
            out.append(Problem(path, "must give exactly one of 'above' and 'below'", None, show_value=False))
        for name in ("above", "below"):
            value = getattr(rule, name)
            bad = None if value is None else number_problem(value)
            if bad:
                out.append(Problem(f"{path}.{name}", bad, value))
        if rule.view is not None and rule.view not in ALERT_VIEWS:
            out.append(Problem(f"{path}.view", f"must be one of {', '.join(ALERT_VIEWS)}", rule.view))
        if (rule.above is None) != (rule.below is None):
            label = rule.label
            if label in seen:
                out.append(Problem(f"{path}.id", f"must be unique (also {seen[label]})", label))
            seen.setdefault(label, path)
    return out


def resolve(
    portfolio: Portfolio,
    source: str | None = None,
    paths: Sequence[str] | None = None,
    prior: Sequence[Problem] = (),
    order_paths: Sequence[str] | None = None,
    alert_paths: Sequence[str] | None = None,
) -> Resolved:
    """Check every rule of the format and fill in venue defaults; raise with all problems.

    ``paths`` names each position in messages (default ``positions[i]``; a CSV gives ``row N``), and
    ``order_paths`` / ``alert_paths`` each order and alert rule (default ``orders[i]``, ``alerts[i]``);
    ``prior`` are problems already found while reading the file, reported together with these.
    """
    problems: list[Problem] = list(prior)
    venue = VENUES.get(portfolio.venue)
    if venue is None and not any(p.path == "venue" for p in problems):
        problems.append(Problem("venue", f"must be one of {', '.join(sorted(VENUES))}", portfolio.venue))
    defaults = load_venue_defaults(venue.name, venue.tiers_file) if venue is not None else None
    if portfolio.position_mode not in POSITION_MODES:
        problems.append(Problem("position_mode", "must be 'one-way' or 'hedge'", portfolio.position_mode))
    elif venue is not None and portfolio.position_mode not in venue.position_modes:
        problems.append(
            Problem(
                "position_mode",
                f"must be one of {sorted(venue.position_modes)} on {venue.name}",
                portfolio.position_mode,
            )
        )
    for asset, amount in portfolio.collateral.items():
        rule = _bad_asset_name(asset) or number_problem(amount, minimum=0.0, maximum=MAX_AMOUNT)
        if rule:
            problems.append(Problem(f"collateral.{asset}", rule, asset if _bad_asset_name(asset) else amount))
    for symbol, price in portfolio.prices.items():
        rule = price_problem(price)
        if is_option_symbol(symbol):
            continue  # refused below: an option's price comes from its iv and underlying_price (§6.1)
        if parse_symbol(symbol) is None:
            problems.append(Problem(f"prices[{symbol!r}]", "must be keyed by a ccxt unified symbol", symbol))
        elif rule:
            problems.append(Problem(f"prices[{symbol!r}]", rule, price))
    taker_fee = portfolio.taker_fee
    if taker_fee is not None:
        rule = number_problem(taker_fee, minimum=0.0)
        if rule or taker_fee >= 0.1:
            problems.append(Problem("taker_fee", rule or "must be < 0.1 (a rate, 0.0005 = 0.05 %)", taker_fee))
    fee = 0.0
    if venue is not None and defaults is not None:
        fee = (
            float(taker_fee)
            if isinstance(taker_fee, (int, float))
            else (defaults.taker_fee if defaults.taker_fee is not None else venue.taker_fee)
        )

    def path_of(j: int) -> str:
        return paths[j] if paths is not None else f"positions[{j}]"

    tables: dict[str, TierTable] = {}
    tier_sources: dict[str, str] = {}
    marks: dict[str, float] = {}
    legs: list[Leg] = []
    im_inputs: list[tuple[float, float, float, float, float]] = []
    seen_ids: dict[str, int] = {}
    seen_sides: dict[tuple[str, str], int] = {}
    seen_symbol: dict[str, int] = {}
    as_of, as_of_problems = (None, []) if portfolio.as_of is None else read_as_of(portfolio.as_of, "as_of")
    problems.extend(as_of_problems)
    option_legs: list[OptionLeg] = []
    option_positions: list[int] = []
    settle_order: list[tuple[int, str]] = []
    for i, pos in enumerate(portfolio.positions):
        path = paths[i] if paths is not None else f"positions[{i}]"
        before = len(problems)
        if isinstance(pos.symbol, str) and is_option_symbol(pos.symbol):
            option_positions.append(i)
            leg_o = _option_leg(portfolio, venue, pos, i, path, as_of, problems, seen_ids, path_of, marks)
            if leg_o is not None:
                option_legs.append(leg_o)
                settle_order.append((i, leg_o.option.settle))
            continue
        for name in ("iv", "underlying_price"):
            if getattr(pos, name) is not None:
                problems.append(
                    Problem(f"{path}.{name}", "is for an option position only (format §6.1)", getattr(pos, name))
                )
        inst = parse_symbol(pos.symbol) if isinstance(pos.symbol, str) else None
        if inst is None:
            problems.append(_symbol_problem(path, pos.symbol))
        elif venue is not None and inst.kind not in venue.contract_kinds:
            problems.append(
                Problem(
                    f"{path}.symbol",
                    f"must be a {' or '.join(sorted(venue.contract_kinds))} contract on {venue.name}",
                    pos.symbol,
                )
            )
        problems.extend(_position_number_problems(pos, path))
        problems.extend(_enum_problems(path, pos.side, pos.margin_mode))
        label = pos.label
        if label in seen_ids:
            problems.append(Problem(f"{path}.id", f"must be unique (also {path_of(seen_ids[label])})", label))
        seen_ids.setdefault(label, i)
        if problems[before:] or inst is None:
            continue
        key = (pos.symbol, pos.side)
        if key in seen_sides:
            problems.append(
                Problem(
                    f"{path}",
                    f"duplicates the {pos.side} {pos.symbol} of {path_of(seen_sides[key])}"
                    " (one long and one short per symbol)",
                    None,
                    show_value=False,
                )
            )
            continue
        seen_sides[key] = i
        if portfolio.position_mode == "one-way" and pos.symbol in seen_symbol:
            problems.append(
                Problem(
                    f"{path}.side",
                    f"one-way mode allows one position per symbol; "
                    f"{path_of(seen_symbol[pos.symbol])} already holds {pos.symbol}"
                    " (use position_mode 'hedge')",
                    pos.side,
                )
            )
            continue
        seen_symbol.setdefault(pos.symbol, i)
        if venue is None or defaults is None:
            continue
        if venue.settle_assets is not None and inst.settle not in venue.settle_assets:
            problems.append(
                Problem(f"{path}.symbol", f"must settle in {sorted(venue.settle_assets)} on {venue.name}", pos.symbol)
            )
            continue
        # mark price
        mark = pos.mark_price if pos.mark_price is not None else portfolio.prices.get(pos.symbol)
        if mark is None:
            problems.append(
                Problem(f"{path}.mark_price", f"is required: no prices[{pos.symbol!r}] either", None, show_value=False)
            )
            continue
        if pos.symbol in marks and marks[pos.symbol] != float(mark):
            problems.append(
                Problem(
                    f"{path}.mark_price",
                    f"must equal the mark of {pos.symbol} given elsewhere ({marks[pos.symbol]:g})",
                    mark,
                )
            )
            continue
        marks[pos.symbol] = float(mark)
        # tiers
        table = portfolio.tiers.get(pos.symbol)
        if table is not None:
            tier_sources[pos.symbol] = "file"
        else:
            table = defaults.tiers.get(pos.symbol)
            if table is not None:
                tier_sources[pos.symbol] = f"{venue.name} defaults ({defaults.as_of or 'shipped'})"
        if table is None:
            where = f"{venue.name} has no default tiers for it" if venue.tiers_file else f"{venue.name} has no defaults"
            problems.append(
                Problem(f"{path}.symbol", f"has no tier table ({where}): give tiers[{pos.symbol!r}]", pos.symbol)
            )
            continue
        tables[pos.symbol] = table
        # contract size
        size_per = pos.contract_size if pos.contract_size is not None else defaults.contract_sizes.get(pos.symbol)
        if size_per is None:
            if inst.inverse:
                problems.append(
                    Problem(
                        f"{path}.contract_size",
                        f"is required for an inverse contract ({venue.name} has no default for {pos.symbol})",
                        None,
                        show_value=False,
                    )
                )
                continue
            size_per = 1.0
        size = float(pos.contracts) * float(size_per)
        entry_notional = notional(size, float(pos.entry_price), inst.inverse)
        if not entry_notional <= MAX_AMOUNT or not notional(size, float(mark), inst.inverse) <= MAX_AMOUNT:
            problems.append(
                Problem(
                    f"{path}.contracts",
                    f"must keep the notional at entry and mark <= {MAX_AMOUNT:g} {inst.settle}",
                    pos.contracts,
                )
            )
            continue
        entry_tier = table.tier(entry_notional)
        leverage = None if pos.leverage is None else float(pos.leverage)
        if leverage is None and entry_tier.imr is None:
            problems.append(
                Problem(
                    f"{path}.leverage",
                    f"is required on {venue.name} (the tier at the entry notional gives no imr)",
                    None,
                    show_value=False,
                )
            )
            continue
        if leverage is not None and entry_tier.max_leverage is not None and leverage > entry_tier.max_leverage:
            problems.append(
                Problem(
                    f"{path}.leverage",
                    f"must be <= {entry_tier.max_leverage:g}, the maximum of the "
                    f"tier at the entry notional {entry_notional:.2f} "
                    f"{inst.settle}",
                    pos.leverage,
                )
            )
            continue
        # the isolated margin: given, else the initial margin at entry (format §2), computed for all legs below
        im_inputs.append(
            (
                math.nan if pos.isolated_margin is None else float(pos.isolated_margin),
                math.nan if leverage is None else leverage,
                math.nan if entry_tier.imr is None else entry_tier.imr,
                entry_tier.imr_per_size,
                entry_notional if inst.inverse else size,
            )
        )
        legs.append(
            Leg(
                index=i,
                position=pos,
                instrument=inst,
                contract_size=float(size_per),
                size=size,
                mark=float(mark),
                leverage=leverage,
                isolated_margin=math.nan,
                entry_notional=entry_notional,
            )
        )
    if legs:  # the model's one initial-margin rule, over every leg at once
        given, lev, imr, ips, coin = (np.array(col, dtype=np.float64) for col in zip(*im_inputs, strict=True))
        n_entry = np.array([leg.entry_notional for leg in legs], dtype=np.float64)
        iso_all = np.where(np.isnan(given), initial_margin(n_entry, lev, imr, ips, coin), given).tolist()
        legs = [replace(leg, isolated_margin=iso) for leg, iso in zip(legs, iso_all, strict=True)]

    for symbol in portfolio.tiers:
        if parse_symbol(symbol) is None:
            problems.append(Problem(f"tiers[{symbol!r}]", "must be keyed by a ccxt unified symbol", symbol))

    backing = portfolio.collateral_assets
    settles: list[str] = [a for a in portfolio.collateral if a not in backing]
    for _, settle in sorted([*((leg.index, leg.settle) for leg in legs), *settle_order]):
        if settle not in settles and settle not in backing:
            settles.append(settle)
    for leg_o in option_legs:
        if leg_o.option.settle in backing:
            problems.append(
                Problem(
                    f"collateral_assets.{leg_o.option.settle}",
                    f"cannot back another pool: options settle in {leg_o.option.settle}",
                    leg_o.option.settle,
                )
            )
    if option_positions and portfolio.as_of is None:
        first = path_of(option_positions[0])
        problems.append(
            Problem(
                "as_of", f"is required when the portfolio holds an option ({first}): the time of the marks", None, False
            )
        )
    for symbol in portfolio.prices:
        if is_option_symbol(symbol):
            problems.append(
                Problem(
                    f"prices[{symbol!r}]",
                    "must not price an option: its value comes from its iv and underlying_price (format §6.1)",
                    portfolio.prices[symbol],
                )
            )
    index_problems = [
        Problem(f"index_prices.{a}", _bad_asset_name(a) or "", a) for a in portfolio.index_prices if _bad_asset_name(a)
    ]
    problems.extend(index_problems)
    pm_params = portfolio.portfolio_margin
    for leg in legs:
        if leg.settle in backing:
            problems.append(
                Problem(
                    f"collateral_assets.{leg.settle}",
                    f"cannot back another pool: positions settle in {leg.settle}",
                    leg.settle,
                )
            )
    for asset, ca in backing.items():
        cpath = f"collateral_assets.{asset}"
        if _bad_asset_name(asset):
            problems.append(Problem(cpath, _bad_asset_name(asset) or "", asset))
            continue
        if asset not in portfolio.collateral:
            problems.append(Problem(cpath, "must name an asset of collateral", asset))
        rule = price_problem(ca.price)
        if rule:
            problems.append(Problem(f"{cpath}.price", rule, ca.price))
        rule = number_problem(ca.haircut, minimum=0.0)
        if rule or (not rule and ca.haircut >= 1):
            problems.append(Problem(f"{cpath}.haircut", rule or "must be >= 0 and < 1", ca.haircut))
        if ca.pool not in settles:
            problems.append(
                Problem(
                    f"{cpath}.pool",
                    f"must be the settle asset of a cross pool ({', '.join(settles) or 'none'})",
                    ca.pool,
                )
            )
    if not problems:
        for settle in settles:
            held = sum(leg.isolated_margin for leg in legs if leg.isolated and leg.settle == settle)
            have = float(portfolio.collateral.get(settle, 0.0))
            if held > have * (1 + 1e-12) + 1e-12:
                problems.append(
                    Problem(
                        f"collateral.{settle}",
                        f"must cover the isolated margins of the isolated positions settling in it ({held:.8g})",
                        have,
                    )
                )
    order_problems, order_legs = _order_problems(portfolio, legs, marks, order_paths)
    problems.extend(order_problems)
    slippage = portfolio.slippage
    if slippage is not None:
        rule = number_problem(slippage, minimum=0.0)
        if rule or not slippage < MAX_SLIPPAGE:
            problems.append(Problem("slippage", rule or f"must be >= 0 and < {MAX_SLIPPAGE:g} (a fraction)", slippage))
    problems.extend(_levels_problems(portfolio.alert_levels))
    problems.extend(_alert_problems(portfolio.alerts, alert_paths))
    if problems or venue is None:
        raise PortfolioError(problems, source)
    return Resolved(
        portfolio=portfolio,
        venue=venue,
        legs=tuple(legs),
        tables=tables,
        market=MarketSnapshot(marks=marks, collateral_prices={a: float(ca.price) for a, ca in backing.items()}),
        taker_fee=fee,
        settles=tuple(settles),
        tier_sources=tier_sources,
        order_legs=order_legs,
        alert_levels=portfolio.alert_levels or venue.alert_levels or DEFAULT_LEVELS,
        options=None if as_of is None else OptionArrays(tuple(option_legs), as_of),
        portfolio_params=pm_params or PortfolioMarginParams(),
    )


def _option_leg(
    portfolio: Portfolio,
    venue: Venue | None,
    pos: Position,
    i: int,
    path: str,
    as_of: datetime | None,
    problems: list[Problem],
    seen_ids: dict[str, int],
    path_of: Callable[[int], str],
    marks: dict[str, float],
) -> OptionLeg | None:
    """An option position (format §6.1) read and checked, its forward recorded as its symbol's mark."""
    before = len(problems)
    option, symbol_problems = read_option_symbol(pos.symbol, f"{path}.symbol")
    problems.extend(symbol_problems)
    problems.extend(
        p for p in _position_number_problems(pos, path) if not p.path.endswith((".leverage", ".isolated_margin"))
    )
    problems.extend(_enum_problems(path, pos.side, pos.margin_mode))
    label = pos.label
    if label in seen_ids:
        problems.append(Problem(f"{path}.id", f"must be unique (also {path_of(seen_ids[label])})", label))
    seen_ids.setdefault(label, i)
    if venue is not None and not venue.options:
        problems.append(
            Problem(
                f"{path}.symbol",
                f"is an option: {venue.name} margins no options (deribit, okx, bybit, generic do)",
                pos.symbol,
            )
        )
    if pos.mark_price is not None:
        problems.append(
            Problem(
                f"{path}.mark_price", "is not used for an option: give underlying_price (its forward)", pos.mark_price
            )
        )
    if pos.underlying_price is not None and price_problem(pos.underlying_price):
        problems.append(
            Problem(f"{path}.underlying_price", price_problem(pos.underlying_price) or "", pos.underlying_price)
        )
        return None
    if option is None or problems[before:]:
        if option is not None and pos.iv is not None and iv_problem(pos.iv):
            problems.append(Problem(f"{path}.iv", iv_problem(pos.iv) or "", pos.iv))
        return None
    forward, leg_problems = option_leg_problems(
        option, path, pos.iv, pos.underlying_price, pos.margin_mode, as_of, portfolio.index_prices
    )
    problems.extend(leg_problems)
    if leg_problems or forward is None or pos.iv is None:
        return None
    if option.symbol in marks and marks[option.symbol] != float(forward):
        problems.append(
            Problem(
                f"{path}.underlying_price",
                f"must equal the underlying price of {option.symbol} given elsewhere ({marks[option.symbol]:g})",
                forward,
            )
        )
        return None
    if portfolio.position_mode == "one-way" and option.symbol in marks:
        problems.append(
            Problem(
                f"{path}.side", f"one-way mode allows one position per symbol; {option.symbol} is held twice", pos.side
            )
        )
        return None
    size = 1.0 if pos.contract_size is None else float(pos.contract_size)
    if not float(pos.contracts) * size * float(forward) <= MAX_AMOUNT:
        problems.append(Problem(f"{path}.contracts", f"must keep the notional <= {MAX_AMOUNT:g}", pos.contracts))
        return None
    marks[option.symbol] = float(forward)
    return OptionLeg(
        index=i,
        label=label,
        option=option,
        side=pos.side,
        contracts=float(pos.contracts),
        contract_size=size,
        entry_price=float(pos.entry_price),
        iv=float(pos.iv),
        forward=float(forward),
    )


def validate(portfolio: Portfolio) -> list[Problem]:
    """Every problem of ``portfolio`` (empty when it is valid)."""
    try:
        resolve(portfolio)
    except PortfolioError as err:
        return list(err.problems)
    return []


# --------------------------------------------------------------------------- dict (JSON) form


def portfolio_from_dict(
    data: object, source: str | None = None, position_paths: Sequence[str] | None = None
) -> Portfolio:
    """Build and validate a portfolio from its JSON object (``portfolio-format.md`` §1).

    Raises :class:`PortfolioError` naming every problem; nothing is returned from a partly valid file.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise PortfolioError([Problem("(top level)", "must be a JSON object", type(data).__name__)], source)
    for key in data:
        if key not in TOP_FIELDS:
            problems.append(Problem(str(key), f"is not a portfolio field (fields: {', '.join(TOP_FIELDS)})", data[key]))
    fmt = data.get("format")
    if fmt != FORMAT:
        problems.append(Problem("format", f"must be {FORMAT!r}", fmt))
    venue = data.get("venue")
    if not isinstance(venue, str):
        problems.append(
            Problem("venue", "is required (a venue preset name)" if venue is None else "must be a string", venue)
        )
    native = VENUES[venue].native_symbol if isinstance(venue, str) and venue in VENUES else None

    def unify(symbol: object) -> object:
        """The venue's own contract name (``BTCUSDT``) read as its ccxt unified symbol."""
        if native is None or not isinstance(symbol, str) or parse_symbol(symbol) is not None:
            return symbol
        return native(symbol) or symbol

    mode = _enum(data.get("position_mode", "one-way"), POSITION_MODES)
    collateral = data.get("collateral")
    coll: dict[str, float] = {}
    if not isinstance(collateral, Mapping):
        problems.append(Problem("collateral", "is required: an object of asset: amount", collateral))
    else:
        for asset, amount in collateral.items():
            rule = number_problem(amount, minimum=0.0)
            if rule:
                problems.append(Problem(f"collateral.{asset}", rule, amount))
            else:
                coll[str(asset)] = float(amount)
    prices_in = data.get("prices", {})
    prices: dict[str, float] = {}
    if not isinstance(prices_in, Mapping):
        problems.append(Problem("prices", "must be an object of symbol: mark price", prices_in))
    else:
        for symbol, price in prices_in.items():
            rule = number_problem(price, positive=True)
            if rule:
                problems.append(Problem(f"prices[{symbol!r}]", rule, price))
            else:
                prices[str(unify(symbol))] = float(price)
    tiers_in = data.get("tiers", {})
    tiers: dict[str, TierTable] = {}
    if not isinstance(tiers_in, Mapping):
        problems.append(Problem("tiers", "must be an object of symbol: list of tiers", tiers_in))
    else:
        for symbol, records in tiers_in.items():
            table, tier_problems = parse_tier_table(records, f"tiers[{symbol!r}]")
            problems.extend(tier_problems)
            if table is not None:
                tiers[str(unify(symbol))] = table
    assets_in = data.get("collateral_assets", {})
    collateral_assets: dict[str, CollateralAsset] = {}
    if not isinstance(assets_in, Mapping):
        problems.append(Problem("collateral_assets", "must be an object of asset: {price, haircut, pool}", assets_in))
    else:
        for asset, rec in assets_in.items():
            cpath = f"collateral_assets.{asset}"
            if not isinstance(rec, Mapping):
                problems.append(Problem(cpath, "must be an object {price, haircut, pool}", rec))
                continue
            bad = False
            for key in rec:
                if key not in COLLATERAL_ASSET_FIELDS:
                    problems.append(
                        Problem(f"{cpath}.{key}", "is not a collateral asset field (price, haircut, pool)", rec[key])
                    )
                    bad = True
            for key in ("price", "haircut"):
                rule = number_problem(rec.get(key), positive=key == "price", minimum=0.0 if key == "haircut" else None)
                if rec.get(key) is None:
                    problems.append(Problem(f"{cpath}.{key}", "is required", None, show_value=False))
                    bad = True
                elif rule:
                    problems.append(Problem(f"{cpath}.{key}", rule, rec.get(key)))
                    bad = True
            if not isinstance(rec.get("pool"), str):
                problems.append(
                    Problem(f"{cpath}.pool", "is required: the settle asset of the pool it backs", rec.get("pool"))
                )
                bad = True
            if not bad:
                collateral_assets[str(asset)] = CollateralAsset(
                    price=float(rec["price"]), haircut=float(rec["haircut"]), pool=str(rec["pool"])
                )
    origin = data.get("origin")
    if origin is not None and not isinstance(origin, Mapping):
        problems.append(Problem("origin", "must be an object", origin))
    taker_fee = data.get("taker_fee")
    positions_in = data.get("positions")
    positions: list[Position] = []
    paths: list[str] = []
    if not isinstance(positions_in, list):
        problems.append(Problem("positions", "is required: a list (may be empty)", positions_in))
    else:
        given = position_paths if position_paths is not None else [f"positions[{i}]" for i in range(len(positions_in))]
        for rec, path in zip(positions_in, given, strict=True):
            if isinstance(rec, Mapping) and "symbol" in rec:
                rec = {**rec, "symbol": unify(rec["symbol"])}
            pos, pos_problems = position_from_dict(rec, path)
            problems.extend(pos_problems)
            if pos is not None:
                positions.append(pos)
                paths.append(path)
    orders, order_paths = _orders_from(data.get("orders"), unify, problems)
    slippage = data.get("slippage")
    if slippage is not None and number_problem(slippage):
        problems.append(Problem("slippage", number_problem(slippage) or "", slippage))
        slippage = None
    alert_levels = _levels_from(data.get("alert_levels"), problems)
    alerts, alert_paths = _alerts_from(data.get("alerts"), problems)
    as_of = data.get("as_of")
    if as_of is not None and not isinstance(as_of, str):
        problems.extend(read_as_of(as_of, "as_of")[1])  # a string is checked by resolve
    index_prices = read_index_prices(data.get("index_prices"), problems)
    pm_params, pm_problems = PortfolioMarginParams.parse(data.get("portfolio_margin"))
    problems.extend(pm_problems)
    portfolio = Portfolio(
        venue=venue if isinstance(venue, str) else "",
        collateral=coll,
        positions=tuple(positions),
        prices=prices,
        tiers=tiers,
        position_mode=mode if isinstance(mode, str) else str(mode),
        taker_fee=taker_fee if isinstance(taker_fee, (int, float)) and not isinstance(taker_fee, bool) else None,
        collateral_assets=collateral_assets,
        origin=dict(origin) if isinstance(origin, Mapping) else None,
        orders=orders,
        slippage=None if slippage is None else float(slippage),
        alert_levels=alert_levels,
        alerts=alerts,
        as_of=as_of if isinstance(as_of, str) else None,
        index_prices=index_prices,
        portfolio_margin=pm_params if "portfolio_margin" in data and not pm_problems else None,
    )
    if taker_fee is not None and portfolio.taker_fee is None:
        problems.append(Problem("taker_fee", "must be a number", taker_fee))
    # rule problems of the valid parts are reported together with the problems found so far
    resolve(portfolio, source, paths, prior=problems, order_paths=order_paths, alert_paths=alert_paths)
    return portfolio


def _check_fields(rec: Mapping[object, object], path: str, fields: tuple[str, ...], kind: str) -> list[Problem]:
    return [
        Problem(f"{path}.{key}", f"is not {kind} field (fields: {', '.join(fields)})", rec[key])
        for key in rec
        if key not in fields
    ]


def _text_problems(rec: Mapping[object, object], path: str, keys: tuple[str, ...]) -> list[Problem]:
    out: list[Problem] = []
    for key in keys:
        value = rec.get(key)
        if value is not None and not isinstance(value, str):
            out.append(Problem(f"{path}.{key}", "must be a string", value))
        elif isinstance(value, str) and not _is_text(value):
            out.append(Problem(f"{path}.{key}", "is not valid text (a lone UTF-16 surrogate)", None, False))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            out.append(Problem(f"{path}.{key}", f"must be at most {MAX_TEXT} characters", value))
    return out


def _orders_from(
    value: object, unify: Callable[[object], object], problems: list[Problem]
) -> tuple[tuple[Order, ...], list[str]]:
    """The ``orders`` list (format §7): types and required fields here, rules in :func:`resolve`."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        problems.append(Problem("orders", "must be a list of orders", value))
        return (), []
    orders: list[Order] = []
    paths: list[str] = []
    for j, rec in enumerate(value):
        path = f"orders[{j}]"
        if not isinstance(rec, Mapping):
            problems.append(Problem(path, "must be an object", rec))
            continue
        # ``origin`` (optional object): where an imported order came from; not evaluated (README, Orders)
        found = _check_fields(rec, path, (*ORDER_FIELDS, "origin"), "an order")
        if rec.get("origin") is not None and not isinstance(rec.get("origin"), Mapping):
            found.append(Problem(f"{path}.origin", "must be an object", rec.get("origin")))
        for key in ("symbol", "type", "trigger_price"):
            if rec.get(key) is None:
                found.append(Problem(f"{path}.{key}", "is required", None, show_value=False))
        found.extend(_text_problems(rec, path, ("id", "symbol", "type", "position_side")))
        for key in ("trigger_price", "contracts"):
            v = rec.get(key)
            rule = None if v is None else number_problem(v, positive=True)
            if rule:
                found.append(Problem(f"{path}.{key}", rule, v))
        problems.extend(found)
        if found:
            continue
        side = rec.get("position_side")
        orders.append(
            Order(
                symbol=str(unify(rec["symbol"])),
                type=str(_enum(rec["type"], ORDER_TYPES)),
                trigger_price=float(rec["trigger_price"]),
                contracts=None if rec.get("contracts") is None else float(rec["contracts"]),
                position_side=None if side is None else str(_enum(side, SIDES)),
                id=str(rec.get("id") or ""),
            )
        )
        paths.append(path)
    return tuple(orders), paths


def _levels_from(value: object, problems: list[Problem]) -> AlertLevels | None:
    """``alert_levels`` {"warning", "margin_call"} (format §8): both required; ranges in :func:`resolve`."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(Problem("alert_levels", "must be an object {warning, margin_call}", value))
        return None
    found = _check_fields(value, "alert_levels", ("warning", "margin_call"), "an alert_levels")
    for key in ("warning", "margin_call"):
        v = value.get(key)
        if v is None:
            found.append(Problem(f"alert_levels.{key}", "is required", None, show_value=False))
        elif number_problem(v):
            found.append(Problem(f"alert_levels.{key}", number_problem(v) or "", v))
    problems.extend(found)
    if found:
        return None
    return AlertLevels(float(value["warning"]), float(value["margin_call"]), source="the file's alert_levels")


def _alerts_from(value: object, problems: list[Problem]) -> tuple[tuple[AlertRule, ...], list[str]]:
    """The ``alerts`` list (format §8): types here, rules in :func:`resolve`."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        problems.append(Problem("alerts", "must be a list of alert rules", value))
        return (), []
    rules: list[AlertRule] = []
    paths: list[str] = []
    for j, rec in enumerate(value):
        path = f"alerts[{j}]"
        if not isinstance(rec, Mapping):
            problems.append(Problem(path, "must be an object", rec))
            continue
        found = _check_fields(rec, path, ALERT_FIELDS, "an alert")
        if rec.get("metric") is None:
            found.append(Problem(f"{path}.metric", "is required", None, show_value=False))
        found.extend(_text_problems(rec, path, ("id", "metric", "view")))
        for key in ("above", "below"):
            v = rec.get(key)
            if v is not None and number_problem(v):
                found.append(Problem(f"{path}.{key}", number_problem(v) or "", v))
        problems.extend(found)
        if found:
            continue
        above, below, view = rec.get("above"), rec.get("below"), rec.get("view")
        rules.append(
            AlertRule(
                metric=str(_enum(rec["metric"], ALERT_METRICS)),
                above=None if above is None else float(above),
                below=None if below is None else float(below),
                view=None if view is None else str(_enum(view, ALERT_VIEWS)),
                id=str(rec.get("id") or ""),
            )
        )
        paths.append(path)
    return tuple(rules), paths


def position_from_dict(rec: object, path: str) -> tuple[Position | None, list[Problem]]:
    """One position object; the problems of its types and required fields (rules checked in resolve)."""
    problems: list[Problem] = []
    if not isinstance(rec, Mapping):
        return None, [Problem(path, "must be an object", rec)]
    for key in rec:
        if key not in POSITION_FIELDS:
            problems.append(
                Problem(f"{path}.{key}", f"is not a position field (fields: {', '.join(POSITION_FIELDS)})", rec[key])
            )
    for key in ("symbol", "side", "contracts", "entry_price"):
        if rec.get(key) is None:
            problems.append(Problem(f"{path}.{key}", "is required", None, show_value=False))
    for key in ("symbol", "side", "margin_mode", "id"):
        value = rec.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(f"{path}.{key}", "must be a string", value))
        elif isinstance(value, str) and not _is_text(value):
            problems.append(Problem(f"{path}.{key}", "is not valid text (a lone UTF-16 surrogate)", None, False))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            problems.append(Problem(f"{path}.{key}", f"must be at most {MAX_TEXT} characters", value))
    for key, positive, minimum in (
        ("contracts", True, None),
        ("entry_price", True, None),
        ("contract_size", True, None),
        ("mark_price", True, None),
        ("isolated_margin", True, None),
        ("leverage", False, 1.0),
        ("iv", True, None),
        ("underlying_price", True, None),
    ):
        value = rec.get(key)
        if value is None:
            continue
        rule = number_problem(value, positive=positive, minimum=minimum)
        if rule:
            problems.append(Problem(f"{path}.{key}", rule, value))
    side = _enum(rec.get("side"), SIDES)
    margin_mode = _enum(rec.get("margin_mode", "cross"), MARGIN_MODES)
    if problems:
        # the position is dropped: report the rules its other fields break too, all at once
        symbol = rec.get("symbol")
        if isinstance(symbol, str) and parse_symbol(symbol) is None and not is_option_symbol(symbol):
            problems.append(_symbol_problem(path, symbol))
        for p in _enum_problems(path, side, margin_mode):
            if isinstance(rec.get(p.path.rsplit(".", 1)[1]), str):
                problems.append(p)
        return None, problems
    return Position(
        symbol=str(rec["symbol"]),
        side=str(side),
        contracts=float(rec["contracts"]),
        entry_price=float(rec["entry_price"]),
        leverage=None if rec.get("leverage") is None else float(rec["leverage"]),
        margin_mode=str(margin_mode),
        isolated_margin=None if rec.get("isolated_margin") is None else float(rec["isolated_margin"]),
        contract_size=None if rec.get("contract_size") is None else float(rec["contract_size"]),
        mark_price=None if rec.get("mark_price") is None else float(rec["mark_price"]),
        id=str(rec.get("id") or ""),
        iv=None if rec.get("iv") is None else float(rec["iv"]),
        underlying_price=None if rec.get("underlying_price") is None else float(rec["underlying_price"]),
    ), []


def position_to_dict(pos: Position) -> dict[str, object]:
    """A position as a format §1 object (optional fields only when set)."""
    out: dict[str, object] = {
        "symbol": pos.symbol,
        "side": pos.side,
        "contracts": pos.contracts,
        "entry_price": pos.entry_price,
    }
    if pos.id:
        out["id"] = pos.id
    for key in ("contract_size", "mark_price", "leverage", "isolated_margin", "iv", "underlying_price"):
        value = getattr(pos, key)
        if value is not None:
            out[key] = value
    out["margin_mode"] = pos.margin_mode
    return out


def order_to_dict(order: Order) -> dict[str, object]:
    """An order as a format §7 object (optional fields only when set)."""
    out: dict[str, object] = {}
    if order.id:
        out["id"] = order.id
    out.update({"symbol": order.symbol, "type": order.type, "trigger_price": order.trigger_price})
    if order.contracts is not None:
        out["contracts"] = order.contracts
    if order.position_side is not None:
        out["position_side"] = order.position_side
    return out


def alert_to_dict(rule: AlertRule) -> dict[str, object]:
    """An alert rule as a format §8 object (optional fields only when set)."""
    out: dict[str, object] = {}
    if rule.id:
        out["id"] = rule.id
    out["metric"] = rule.metric
    for key in ("above", "below", "view"):
        value = getattr(rule, key)
        if value is not None:
            out[key] = value
    return out


def portfolio_to_dict(portfolio: Portfolio) -> dict[str, object]:
    """The canonical JSON object of ``portfolio`` (format §1); reading it back gives an equal portfolio."""
    out: dict[str, object] = {
        "format": FORMAT,
        "venue": portfolio.venue,
        "position_mode": portfolio.position_mode,
        "collateral": dict(portfolio.collateral),
        "prices": dict(portfolio.prices),
    }
    if portfolio.tiers:
        out["tiers"] = {symbol: table.to_records() for symbol, table in portfolio.tiers.items()}
    if portfolio.taker_fee is not None:
        out["taker_fee"] = portfolio.taker_fee
    if portfolio.collateral_assets:
        out["collateral_assets"] = {
            a: {"price": c.price, "haircut": c.haircut, "pool": c.pool} for a, c in portfolio.collateral_assets.items()
        }
    out["positions"] = [position_to_dict(p) for p in portfolio.positions]
    if portfolio.orders:
        out["orders"] = [order_to_dict(o) for o in portfolio.orders]
    if portfolio.slippage is not None:
        out["slippage"] = portfolio.slippage
    if portfolio.alert_levels is not None:
        out["alert_levels"] = {
            "warning": portfolio.alert_levels.warning,
            "margin_call": portfolio.alert_levels.margin_call,
        }
    if portfolio.alerts:
        out["alerts"] = [alert_to_dict(a) for a in portfolio.alerts]
    if portfolio.as_of is not None:
        out["as_of"] = portfolio.as_of
    if portfolio.index_prices:
        out["index_prices"] = dict(portfolio.index_prices)
    if portfolio.portfolio_margin is not None:
        out["portfolio_margin"] = portfolio.portfolio_margin.to_dict()
    if portfolio.origin is not None:
        out["origin"] = portfolio.origin
    return out
