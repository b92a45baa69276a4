"""Property tests of the margin engine (hypothesis).

Every portfolio drawn here is valid input (``portfolio-format.md`` §1-§3): one position per symbol in
one-way mode, at most one long and one short per symbol in hedge mode, leverage at most the maximum of
the tier at the entry notional, isolated margins covered by the collateral of their settle asset,
inverse contracts with a contract size, Hyperliquid one-way linear USDC only, no leverage on dYdX and
Deribit (their tiers give ``imr``). Tier tables are either the venue's shipped defaults, the shipped
Binance BTC/USDT table written into the file, or random consistent tables (floors increasing from 0,
``mmr`` non-decreasing, ``max_leverage`` ≤ 1/(2·mmr), ``maint_amount`` given by the recurrence of
``margin-models.md`` §1.1 or left to be derived; a Deribit-style ``mmr_per_size`` is the same on every
tier so that maintenance stays continuous across tier boundaries).

Properties:

1. round trip: at a position's liquidation (bankruptcy) price, with every other mark held, its pool sits
   on its trigger: equity − maintenance ≈ 0 (equity ≈ 0); between the mark and that price the pool is
   still healthy (it is the first crossing on the loss side); ``None`` only when no sampled price on the
   loss side crosses; the long and the short of one symbol in one pool share one price;
2. a leveraged isolated long liquidates (and goes bankrupt) below entry, a short above;
3. more collateral never moves a cross liquidation price towards the mark;
4. scaling contracts, isolated margins and collateral by ``k`` inside one tier leaves the prices alone;
5. JSON and CSV write-then-read are the identity;
6. the array engine equals the scalar reference :mod:`margin.scalar` element by element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from margin import scalar
from margin.defaults import load_venue_defaults
from margin.engine import VIEWS, Book, Evaluation, compile_book, evaluate, liquidation_prices
from margin.files import dump_portfolio_json, dump_positions_csv, parse_portfolio_json, parse_positions_csv
from margin.portfolio import Portfolio, Position, resolve
from margin.report import evaluate_portfolio
from margin.shocks import parse_shock
from margin.tiers import TierTable, cum_step, parse_tier_table
from margin.venues import VENUES

#: Agreement of two float64 computations of one amount, relative to the size of the terms summed.
REL = 1e-9

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _examples(n: int) -> settings:
    return settings(SETTINGS, max_examples=n)


# --------------------------------------------------------------------------- venue and symbol specs

BINANCE_BTC_RECORDS = load_venue_defaults("binance-usdm", "binance-usdm.json").tiers["BTC/USDT:USDT"].to_records()


@dataclass(frozen=True)
class SymbolSpec:
    """A symbol a venue accepts and how to draw positions in it."""

    symbol: str
    price: float  # a typical mark
    contract_size: float  # the contract size in effect
    give_size: bool  # the venue has no default contract size: write it on the position
    sources: tuple[str, ...]  # tier table: "default" (shipped), "random", "binance_btc" (written in the file)
    scale: float  # notional (settle asset) around which random tier boundaries lie

    @property
    def inverse(self) -> bool:
        base, rest = self.symbol.split("/")
        return rest.split(":")[1] == base


@dataclass(frozen=True)
class VenueSpec:
    name: str
    symbols: tuple[SymbolSpec, ...]
    modes: tuple[str, ...] = ("one-way", "hedge")
    imr: str = "maybe"  # random tables: "maybe" or "always" give imr
    per_size: bool = False  # random tables carry Deribit-style mmr_per_size / imr_per_size
    lev_only: bool = False  # random tables give only max_leverage (Hyperliquid style)
    fee: bool = False  # draw a taker_fee (it is in the trigger on OKX)

    @property
    def leverage(self) -> bool:
        return VENUES[self.name].has_leverage


def S(
    symbol: str,
    price: float,
    size: float = 1.0,
    give: bool = False,
    sources: tuple[str, ...] = ("random",),
    scale: float = 1e5,
) -> SymbolSpec:
    return SymbolSpec(symbol, float(price), float(size), give, sources, float(scale))


SPECS: dict[str, VenueSpec] = {
    "generic": VenueSpec(
        "generic",
        (
            S("BTC/USDT:USDT", 60_000, sources=("binance_btc", "random")),
            S("ETH/USDT:USDT", 3_000),
            S("SOL/USDC:USDC", 150, scale=5e4),
            S("BTC/USD:BTC", 60_000, 100, True, scale=2.0),
            S("ETH/USD:ETH", 3_000, 10, True, scale=30.0),
        ),
    ),
    "binance-usdm": VenueSpec(
        "binance-usdm",
        (
            S("BTC/USDT:USDT", 60_000, sources=("default",)),
            S("ETH/USDT:USDT", 3_000, sources=("default",)),
            S("SOL/USDT:USDT", 150, sources=("default",)),
            S("BTC/USDC:USDC", 60_000, sources=("default",)),
        ),
    ),
    "bybit": VenueSpec(
        "bybit",
        (
            S("BTC/USDT:USDT", 60_000, sources=("default",)),
            S("ETH/USDT:USDT", 3_000),
            S("BTC/USD:BTC", 60_000, 1, scale=20.0),
        ),
    ),
    "okx": VenueSpec(
        "okx",
        (
            S("BTC/USDT:USDT", 60_000, 0.01),
            S("LTC/USDT:USDT", 80, 1, scale=2e4),
            S("BTC/USD:BTC", 60_000, 100, scale=2.0),
        ),
        fee=True,
    ),
    "hyperliquid": VenueSpec(
        "hyperliquid",
        (
            S("BTC/USDC:USDC", 60_000, sources=("default",)),
            S("ETH/USDC:USDC", 3_000, sources=("default",)),
            S("SOL/USDC:USDC", 150, sources=("default",)),
        ),
        modes=("one-way",),
        lev_only=True,
    ),
    "deribit": VenueSpec(
        "deribit",
        (
            S("BTC/USD:BTC", 60_000, 10, sources=("default", "random"), scale=5.0),
            S("ETH/USD:ETH", 3_000, 1, True, sources=("default",), scale=50.0),
            S("BTC/USDC:USDC", 60_000, sources=("default", "random"), scale=3e5),
        ),
        imr="always",
        per_size=True,
    ),
    "dydx": VenueSpec(
        "dydx",
        (
            S("BTC/USD:USDC", 60_000, sources=("default", "random")),
            S("ETH/USD:USDC", 3_000, sources=("default",)),
            S("SOL/USD:USDC", 150, sources=("default", "random"), scale=5e4),
        ),
        imr="always",
    ),
}
ALL_VENUES = tuple(SPECS)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


# --------------------------------------------------------------------------- strategies


@st.composite
def tier_records(
    draw: st.DrawFn,
    scale: float,
    *,
    imr: str = "maybe",
    per_size: bool = False,
    lev_only: bool = False,
    single: bool = False,
) -> list[dict[str, float | None]]:
    """A random consistent tier table in file form (every rule of format §2 "Tiers")."""
    n = 1 if single else draw(st.integers(1, 5))
    floors = [0.0]
    floor = scale * draw(st.floats(0.2, 2.0))
    for _ in range(n - 1):
        floors.append(floor)
        floor *= draw(st.floats(1.5, 8.0))
    levs: list[float] = []
    mmrs: list[float] = []
    if lev_only:
        lev = float(draw(st.integers(3, 50)))
        for k in range(n):
            if k:
                lev = max(1.0, float(math.floor(lev / draw(st.floats(1.0, 3.0)))))
            levs.append(lev)
            mmrs.append(1.0 / (2.0 * lev))
    else:
        mmr = draw(st.floats(0.002, 0.03))
        for k in range(n):
            if k:
                mmr = min(mmr * draw(st.floats(1.0, 2.5)), 0.45)
            mmrs.append(mmr)
            levs.append(max(1.0, float(math.floor(1.0 / (2.0 * mmr)))))
    give_imr = imr == "always" or (not lev_only and draw(st.booleans()))
    imr_factor = draw(st.floats(1.2, 3.0))
    give_maint = not lev_only and draw(st.booleans())
    mps = draw(st.floats(1e-6, 1e-4)) if per_size else 0.0
    ips = draw(st.floats(1e-6, 1e-4)) if per_size else 0.0
    last_cap = draw(st.one_of(st.none(), st.floats(2.0, 10.0)))
    records: list[dict[str, float | None]] = []
    cum = 0.0
    for k in range(n):
        if k:
            cum = cum_step(floors[k], mmrs[k], mmrs[k - 1], cum)
        hi = floors[k + 1] if k + 1 < n else (None if last_cap is None else max(floors[k], scale) * last_cap)
        rec: dict[str, float | None] = {"min_notional": floors[k], "max_notional": hi, "max_leverage": levs[k]}
        if not lev_only:
            rec["mmr"] = mmrs[k]
        if give_maint:
            rec["maint_amount"] = cum
        if give_imr:
            rec["imr"] = min(1.0, mmrs[k] * imr_factor)
        if per_size:
            rec["mmr_per_size"] = mps
            rec["imr_per_size"] = ips
        records.append(rec)
    return records


def table_of(records: list[dict[str, float | None]]) -> TierTable:
    table, problems = parse_tier_table(records, "tiers")
    assert table is not None, problems
    return table


ID_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)


@st.composite
def portfolios(
    draw: st.DrawFn, venue: str, *, single_tier: bool = False, ids: bool = False, max_symbols: int = 3
) -> Portfolio:
    """A valid portfolio on ``venue`` (see the module docstring for the rules respected)."""
    vs = SPECS[venue]
    defaults = load_venue_defaults(venue, VENUES[venue].tiers_file)
    specs = draw(st.lists(st.sampled_from(vs.symbols), min_size=1, max_size=max_symbols, unique_by=lambda s: s.symbol))
    mode = draw(st.sampled_from(vs.modes))
    tiers: dict[str, TierTable] = {}
    prices: dict[str, float] = {}
    positions: list[Position] = []
    for spec in specs:
        source = "random" if single_tier else draw(st.sampled_from(spec.sources))
        if source == "default":
            table = defaults.tiers[spec.symbol]
        else:
            records = (
                BINANCE_BTC_RECORDS
                if source == "binance_btc"
                else draw(
                    tier_records(spec.scale, imr=vs.imr, per_size=vs.per_size, lev_only=vs.lev_only, single=single_tier)
                )
            )
            table = table_of(records)
            tiers[spec.symbol] = table
        mark = spec.price * draw(st.floats(0.5, 2.0))
        mark_on_position = draw(st.booleans())
        if not mark_on_position:
            prices[spec.symbol] = mark
        sides = (
            [draw(st.sampled_from(("long", "short")))]
            if mode == "one-way"
            else draw(st.sampled_from((["long"], ["short"], ["long", "short"], ["short", "long"])))
        )
        floors = [t.min_notional for t in table.tiers]
        lo_n = (floors[1] if len(floors) > 1 else spec.scale) * 1e-2
        hi_n = max(lo_n * 3e3, floors[-1] * 3)
        for side in sides:
            entry = mark * draw(st.floats(0.6, 1.4))
            target = draw(log_uniform(lo_n, hi_n))
            cs = spec.contract_size
            contracts = target * entry / cs if spec.inverse else target / (cs * entry)
            size = float(contracts) * float(cs)
            entry_notional = size / entry if spec.inverse else size * entry
            tier = table.tier(entry_notional)
            leverage = None
            if vs.leverage and (tier.imr is None or draw(st.booleans())):
                leverage = draw(st.floats(1.0, tier.max_leverage or 100.0))
            margin_mode = draw(st.sampled_from(("cross", "isolated")))
            iso = None
            if margin_mode == "isolated" and draw(st.booleans()):
                if tier.imr is not None:
                    coin = entry_notional if spec.inverse else size
                    default_iso = entry_notional * (tier.imr + tier.imr_per_size * coin)
                else:
                    assert leverage is not None
                    default_iso = entry_notional / leverage
                iso = default_iso * draw(st.floats(0.5, 3.0))
            pid = ""
            if ids and draw(st.booleans()):
                pid = f"p{len(positions)}-{draw(ID_TEXT)}"
            positions.append(
                Position(
                    symbol=spec.symbol,
                    side=side,
                    contracts=contracts,
                    entry_price=entry,
                    leverage=leverage,
                    margin_mode=margin_mode,
                    isolated_margin=iso,
                    contract_size=cs if (spec.give_size or draw(st.booleans())) else None,
                    mark_price=mark if mark_on_position else None,
                    id=pid,
                )
            )
    positions = draw(st.permutations(positions))
    taker_fee = draw(st.one_of(st.none(), st.floats(0.0, 0.002))) if vs.fee else None
    # the isolated margins in effect (defaults included) decide the smallest valid collateral
    probe = Portfolio(
        venue=venue,
        collateral={},
        positions=tuple(positions),
        prices=prices,
        tiers=tiers,
        position_mode=mode,
        taker_fee=taker_fee,
    )
    settles = {pos.symbol.split(":")[1].split("-")[0] for pos in positions}
    # (collateral as large as a file may hold, README "Bounds": enough to cover any isolated margin drawn here)
    legs = resolve(replace(probe, collateral=dict.fromkeys(settles, 1e15))).legs
    collateral: dict[str, float] = {}
    for leg in legs:
        collateral.setdefault(leg.settle, 0.0)
    for settle in collateral:
        held = sum(leg.isolated_margin for leg in legs if leg.isolated and leg.settle == settle)
        gross = sum(leg.entry_notional for leg in legs if leg.settle == settle)
        extra = 0.0 if draw(st.integers(0, 5)) == 0 else draw(log_uniform(3e-3, 1.0)) * gross
        collateral[settle] = held * (1 + 1e-9) + extra
    if draw(st.booleans()):
        collateral.setdefault("USDT", draw(st.floats(0.0, 1e5)))  # sometimes a pool with no position
    order = draw(st.permutations(sorted(collateral)))
    return replace(probe, collateral={k: collateral[k] for k in order})


# --------------------------------------------------------------------------- helpers


def trigger(ev: Evaluation, maintenance: bool) -> np.ndarray:
    """Pool equity − maintenance (liquidation) or equity (bankruptcy), shape (S, G)."""
    return ev.pool_equity - ev.pool_maintenance if maintenance else ev.pool_equity


def pool_scale(book: Book, ev: Evaluation) -> np.ndarray:
    """Size of the terms summed into each pool's equity and maintenance, shape (S, G).

    |wallet| + Σ notional at the mark + Σ entry notional + Σ |UPNL| + Σ maintenance: float64 rounding of
    equity − maintenance is a few ulps of this, however close to zero the result is.
    """
    entry_n = np.array([leg.entry_notional for leg in book.resolved.legs])
    per_pos = ev.notional + entry_n[None, :] + np.abs(ev.upnl) + np.abs(ev.maintenance)
    out = np.zeros((per_pos.shape[0], book.n_pools))
    for g in range(book.n_pools):
        out[:, g] = np.abs(book.pool_wallet[g]) + per_pos[:, book.pool == g].sum(axis=1)
    return out


def at_prices(book: Book, sym: int, prices: list[float]) -> Evaluation:
    """The book evaluated with symbol ``sym`` at each of ``prices`` (one scenario each), others held."""
    marks = np.repeat(book.marks[None, :], len(prices), axis=0)
    marks[:, sym] = prices
    return evaluate(book, marks)


def same_price(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def close(a: float, b: float, scale: float = 0.0, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), scale)


LOSS_BELOW = (0.9, 0.5, 0.2, 0.1, 1e-2, 1e-3)
LOSS_ABOVE = (1.1, 2.0, 5.0, 10.0, 100.0, 1e3)


def check_level(book: Book, ev0: Evaluation, i: int, price: float, maintenance: bool) -> None:
    """Property 1 for position ``i``'s liquidation (``maintenance``) or bankruptcy price ``price``."""
    what = "liquidation" if maintenance else "bankruptcy"
    g, sym = int(book.pool[i]), int(book.sym[i])
    mark = float(book.marks[sym])
    f0 = float(trigger(ev0, maintenance)[0, g])
    tol0 = REL * float(pool_scale(book, ev0)[0, g])
    group = (book.pool == g) & (book.sym == sym)
    delta = float(np.sum(book.sign[group] * book.size[group]))
    if math.isnan(price):
        if f0 <= tol0:
            # already past the trigger: no crossing at all either way, so the pool stays past it
            probe = [mark * f for f in LOSS_BELOW + LOSS_ABOVE]
            ev = at_prices(book, sym, probe)
            f, tol = trigger(ev, maintenance)[:, g], REL * pool_scale(book, ev)[:, g]
            assert np.all(f <= tol), (what, i, "None but the trigger is crossed at", probe, f)
            return
        # healthy and no price: no sampled price on the loss side reaches the trigger
        # a net long loses as the price falls, linear or inverse alike
        sides: tuple[float, ...] = LOSS_BELOW if delta > 0 else LOSS_ABOVE
        if delta == 0:
            sides = LOSS_BELOW + LOSS_ABOVE
        probe = [mark * f for f in sides]
        ev = at_prices(book, sym, probe)
        f, tol = trigger(ev, maintenance)[:, g], REL * pool_scale(book, ev)[:, g]
        assert np.all(f > -tol), (what, i, "None but the pool crosses its trigger at", probe, f)
        return
    assert price > 0 and math.isfinite(price)
    ev = at_prices(book, sym, [price])
    f_at = float(trigger(ev, maintenance)[0, g])
    scale = float(pool_scale(book, ev)[0, g])
    assert abs(f_at) <= REL * scale, (what, i, price, f_at, scale)
    if f0 <= tol0:
        return  # past the trigger already: the nearest crossing either way is reported
    if delta > 0:
        assert price < mark, (what, i, "net long but price above mark", price, mark)
    elif delta < 0:
        assert price > mark, (what, i, "net short but price below mark", price, mark)
    # first crossing: healthy strictly between the mark and the price (and, when flat, as near on the other side)
    ts = np.linspace(0.02, 0.98, 13)
    probe = list(mark + ts * (price - mark))
    if delta == 0:
        probe += [p for p in mark - ts * (price - mark) if p > 0]
    ev = at_prices(book, sym, probe)
    f = trigger(ev, maintenance)[:, g]
    tol = REL * pool_scale(book, ev)[:, g]
    assert np.all(f > -tol), (what, i, "an earlier crossing exists", probe, f)


# --------------------------------------------------------------------------- 1. round trip


def _events(book: Book, ev: Evaluation, lp: np.ndarray) -> None:
    """Coverage labels (``pytest --hypothesis-show-statistics``)."""
    event(f"{book.view}: {book.n_positions} positions, {book.n_pools} pools")
    for i in range(book.n_positions):
        kind = "inverse" if book.inverse[i] else "linear"
        mode = "isolated" if book.isolated[i] else "cross"
        found = "LP" if np.isfinite(lp[i]) else "no LP"
        event(f"{kind} {mode}: {found}")
        if np.isfinite(lp[i]):
            table = book.resolved.tables[book.symbols[book.sym[i]]]
            leg = book.resolved.legs[i]
            n_at = leg.size / lp[i] if book.inverse[i] else leg.size * lp[i]
            event(f"tier at LP > 1: {table.index(n_at) > 0}")
    if bool(np.any(ev.pool_liquidated)):
        event("a pool past its trigger")
    if len(set(zip(book.pool.tolist(), book.sym.tolist(), strict=True))) < book.n_positions:
        event("hedge pair in one pool")


@pytest.mark.parametrize("venue", ALL_VENUES)
@_examples(60)
@given(data=st.data())
def test_liquidation_price_round_trip(venue: str, data: st.DataObject) -> None:
    """At its liquidation (bankruptcy) price a position's pool is exactly on its trigger (equity ≈ 0)."""
    portfolio = data.draw(portfolios(venue))
    resolved = resolve(portfolio)
    for view in VIEWS:
        book = compile_book(resolved, view)
        ev = evaluate(book)
        levels = liquidation_prices(book, ev)
        _events(book, ev, levels.liquidation[0])
        for i in range(book.n_positions):
            check_level(book, ev, i, float(levels.liquidation[0, i]), maintenance=True)
            check_level(book, ev, i, float(levels.bankruptcy[0, i]), maintenance=False)
            for j in range(i + 1, book.n_positions):
                if book.pool[i] == book.pool[j] and book.sym[i] == book.sym[j]:
                    # hedge pair in one pool: one price for both (format §2)
                    assert same_price(levels.liquidation[0, i], levels.liquidation[0, j])
                    assert same_price(levels.bankruptcy[0, i], levels.bankruptcy[0, j])
        if view == "cross":
            assert all(m == "cross" for m in book.pool_mode)


def test_one_x_isolated_long_has_no_liquidation_price() -> None:
    """Minimal case hypothesis shrank properties 4 and 6 to: the price that meets the trigger is P = 0.

    binance-usdm BTC/USDT:USDT, long q = 1/36 BTC at entry 36,000, leverage 1, isolated: entry notional
    q × 36,000 = 1,000 USDT (tier 1: mmr 0.4 %, maint_amount 0), isolated margin 1,000 / 1 = 1,000. At
    price P the pool's equity is 1,000 + q·(P − 36,000) = q·P and its maintenance q·P × 0.004, so
    equity − maintenance = 0.996·q·P > 0 and equity > 0 for every P > 0: no positive price meets either
    trigger, so both prices are null (format §2). ``margin.scalar`` says None; scaling the position by
    10 gives NaN too; the array path returns ~4e-12 and ~8e-12 here (the root P = 0 perturbed by the
    rounding of 1,000 − q × 36,000).
    """
    q = 1 / 36
    portfolio = Portfolio(
        venue="binance-usdm",
        collateral={"USDT": 1000.0},
        positions=(Position("BTC/USDT:USDT", "long", q, 36000.0, leverage=1.0, margin_mode="isolated"),),
        prices={"BTC/USDT:USDT": 60000.0},
    )
    for view in ("as_is", "isolated"):
        book = compile_book(resolve(portfolio), view)
        levels = liquidation_prices(book)
        assert scalar.liquidation_price(book, 0) is None
        assert scalar.liquidation_price(book, 0, maintenance=False) is None
        assert math.isnan(levels.liquidation[0, 0]), (view, levels.liquidation[0, 0])
        assert math.isnan(levels.bankruptcy[0, 0]), (view, levels.bankruptcy[0, 0])


def test_bankruptcy_price_one_ulp_below_the_mark_is_reported() -> None:
    """Minimal case hypothesis shrank property 6 to: a crossing within rounding of the mark.

    binance-usdm, cross, collateral 0 USDT, long q = 1/36 BTC at entry 36,000, leverage 1; mark = the
    float just above 36,000 (36,000 + 7.3e-12). Equity at P is 0 + q·(P − 36,000): positive at the mark
    (healthy), zero at P = 36,000, below the mark as it must be for a net long: the bankruptcy price is
    36,000 (``margin.scalar`` gives 36,000.0). The array path drops the root because its float value
    is not strictly below the mark and reports NaN (no price).
    """
    mark = math.nextafter(36000.0, math.inf)
    portfolio = Portfolio(
        venue="binance-usdm",
        collateral={"USDT": 0.0},
        positions=(Position("BTC/USDT:USDT", "long", 1 / 36, 36000.0, leverage=1.0),),
        prices={"BTC/USDT:USDT": mark},
    )
    book = compile_book(resolve(portfolio), "as_is")
    assert scalar.liquidation_price(book, 0, maintenance=False) == pytest.approx(36000.0, rel=REL)
    assert float(liquidation_prices(book).bankruptcy[0, 0]) == pytest.approx(36000.0, rel=REL)


# --------------------------------------------------------------------------- 2. isolated side


@st.composite
def isolated_single(draw: st.DrawFn) -> tuple[Portfolio, str]:
    """One isolated leveraged position at mark = entry (generic or binance-usdm tiers)."""
    venue = draw(st.sampled_from(("generic", "binance-usdm")))
    spec = draw(st.sampled_from(SPECS[venue].symbols))
    source = draw(st.sampled_from(spec.sources))
    records = (
        BINANCE_BTC_RECORDS
        if source == "binance_btc"
        else draw(tier_records(spec.scale))
        if source == "random"
        else None
    )
    table = (
        table_of(records)
        if records is not None
        else load_venue_defaults(venue, VENUES[venue].tiers_file).tiers[spec.symbol]
    )
    entry = spec.price * draw(st.floats(0.5, 2.0))
    floors = [t.min_notional for t in table.tiers]
    lo_n = (floors[1] if len(floors) > 1 else spec.scale) * 1e-2
    target = draw(log_uniform(lo_n, max(lo_n * 3e3, floors[-1] * 3)))
    cs = spec.contract_size
    contracts = target * entry / cs if spec.inverse else target / (cs * entry)
    size = float(contracts) * float(cs)
    tier = table.tier(size / entry if spec.inverse else size * entry)
    max_lev = tier.max_leverage or 100.0
    assume(max_lev > 1.01)
    leverage = draw(st.floats(1.01, max_lev))
    side = draw(st.sampled_from(("long", "short")))
    settle = spec.symbol.split(":")[1]
    pos = Position(
        spec.symbol,
        side,
        contracts,
        entry,
        leverage=leverage,
        margin_mode="isolated",
        contract_size=cs if spec.give_size else None,
    )
    en = size / entry if spec.inverse else size * entry
    portfolio = Portfolio(
        venue=venue,
        collateral={settle: en / leverage * 2.0},
        positions=(pos,),
        prices={spec.symbol: entry},
        tiers={} if records is None else {spec.symbol: table},
    )
    return portfolio, side


@_examples(200)
@given(case=isolated_single())
def test_isolated_leveraged_liquidation_side(case: tuple[Portfolio, str]) -> None:
    """Leverage L > 1 at mark = entry: long BP < LP < entry, short entry < LP < BP.

    Why: the isolated pool holds N/L of an entry notional N; the tables keep mmr ≤ 1/(2·max_leverage) <
    1/L, so the pool is healthy at entry; it goes bankrupt before the price reaches 0 (long: equity
    N/L − N < 0 there) or infinity (short), and maintenance > 0 puts liquidation before bankruptcy.
    """
    portfolio, side = case
    entry = portfolio.positions[0].entry_price
    for view in ("as_is", "isolated"):
        book = compile_book(resolve(portfolio), view)
        levels = liquidation_prices(book)
        lp, bp = float(levels.liquidation[0, 0]), float(levels.bankruptcy[0, 0])
        assert math.isfinite(lp) and math.isfinite(bp), (view, lp, bp)
        if side == "long":
            assert bp < lp < entry, (view, bp, lp, entry)
        else:
            assert entry < lp < bp, (view, bp, lp, entry)


# --------------------------------------------------------------------------- 3. more collateral


@pytest.mark.parametrize("venue", ALL_VENUES)
@_examples(40)
@given(data=st.data())
def test_more_collateral_never_brings_liquidation_closer(venue: str, data: st.DataObject) -> None:
    """Collateral + Δ (Δ ≥ 0): a net-long cross price never rises, a net-short one never falls.

    The pool's trigger function is f + Δ everywhere (the wallet is a constant of f). Where f > 0 between
    the mark and the old price, f + Δ > 0 too, so the first crossing on the loss side can only move away
    (or vanish); with no old crossing there is none after. Isolated pools do not see the change at all.
    Stated for pools healthy at the mark: past the trigger the reported price is the nearest crossing
    either way, and that one may move towards the mark. Worked case (generic, one tier mmr 2 %): hedge
    long 10 and short 9.9 BTC at 50,000 (mark 50,000), wallet W: f(P) = W + 0.1·(P − 50,000) − 0.02 ×
    19.9·P = W − 5,000 − 0.298·P; W = 19,000 gives f(mark) = −900 and the crossing 14,000 / 0.298 =
    46,979.87; W = 19,500 gives 14,500 / 0.298 = 48,657.72, nearer the mark although net long.
    """
    portfolio = data.draw(portfolios(venue))
    settle = data.draw(st.sampled_from(sorted(portfolio.collateral)))
    old_c = portfolio.collateral[settle]
    delta = data.draw(st.one_of(st.just(0.0), log_uniform(1e-6, 10.0).map(lambda f: f * (1.0 + old_c))))
    richer = replace(portfolio, collateral={**portfolio.collateral, settle: old_c + delta})
    r0, r1 = resolve(portfolio), resolve(richer)
    for view in VIEWS:
        b0, b1 = compile_book(r0, view), compile_book(r1, view)
        ev0 = evaluate(b0)
        l0, l1 = liquidation_prices(b0, ev0), liquidation_prices(b1)
        f0 = trigger(ev0, True)[0]
        for i in range(b0.n_positions):
            g = int(b0.pool[i])
            old, new = float(l0.liquidation[0, i]), float(l1.liquidation[0, i])
            if b0.pool_mode[g] == "isolated" or b0.pool_settle[g] != settle:
                assert same_price(old, new), (view, i, old, new)
                assert same_price(float(l0.bankruptcy[0, i]), float(l1.bankruptcy[0, i]))
                continue
            group = (b0.pool == g) & (b0.sym == b0.sym[i])
            net = float(np.sum(b0.sign[group] * b0.size[group]))
            if f0[g] <= 0 or net == 0:
                continue
            if math.isnan(old):
                assert math.isnan(new), (view, i, "no price before, one after", new)
            elif not math.isnan(new):
                if net > 0:
                    assert new <= old * (1 + REL), (view, i, old, new)
                else:
                    assert new >= old * (1 - REL), (view, i, old, new)


# --------------------------------------------------------------------------- 4. scaling


SCALE_VENUES = ("generic", "binance-usdm", "bybit", "okx", "hyperliquid", "dydx")


@pytest.mark.parametrize("venue", SCALE_VENUES)
@_examples(40)
@given(data=st.data())
def test_scaling_inside_one_tier_keeps_prices(venue: str, data: st.DataObject) -> None:
    """Contracts, isolated margins and collateral × k with single-tier tables: same prices (rel 1e-9).

    With one tier (maint_amount 0) every amount of a pool — wallet, UPNL, maintenance N·mmr (+ fee·N on
    OKX; N_entry·mmr on Bybit isolated), initial margin — is proportional to the sizes, so the trigger
    function is k × the old one and has the same roots. (Deribit's rates grow with size, so its
    maintenance is not proportional to size: it is left out on purpose.)
    """
    portfolio = data.draw(portfolios(venue, single_tier=True))
    k = data.draw(log_uniform(0.1, 10.0))
    scaled = replace(
        portfolio,
        collateral={a: c * k for a, c in portfolio.collateral.items()},
        positions=tuple(
            replace(
                p,
                contracts=p.contracts * k,
                isolated_margin=None if p.isolated_margin is None else p.isolated_margin * k,
            )
            for p in portfolio.positions
        ),
    )
    r0, r1 = resolve(portfolio), resolve(scaled)
    for view in VIEWS:
        l0, l1 = liquidation_prices(compile_book(r0, view)), liquidation_prices(compile_book(r1, view))
        for name in ("liquidation", "bankruptcy"):
            a, b = getattr(l0, name)[0], getattr(l1, name)[0]
            assert np.array_equal(np.isnan(a), np.isnan(b)), (view, name, a, b)
            ok = ~np.isnan(a)
            assert np.allclose(a[ok], b[ok], rtol=REL, atol=0.0), (view, name, a, b)


# --------------------------------------------------------------------------- 5. files


@pytest.mark.parametrize("venue", ALL_VENUES)
@_examples(20)
@given(data=st.data())
def test_json_write_read_is_identity(venue: str, data: st.DataObject) -> None:
    """dump_portfolio_json then parse_portfolio_json: an equal Portfolio and the same evaluation."""
    portfolio = data.draw(portfolios(venue, ids=True))
    text = dump_portfolio_json(portfolio)
    back = parse_portfolio_json(text, "round-trip.json")
    assert back == portfolio
    assert dump_portfolio_json(back) == text
    move = data.draw(st.floats(-0.5, 0.5))
    shocks = [parse_shock(f"ALL={move!r}")]
    assert evaluate_portfolio(back) == evaluate_portfolio(portfolio)
    assert evaluate_portfolio(back, shocks) == evaluate_portfolio(portfolio, shocks)


@pytest.mark.parametrize("venue", ALL_VENUES)
@_examples(30)
@given(data=st.data())
def test_csv_write_read_is_identity(venue: str, data: st.DataObject) -> None:
    """dump_positions_csv then parse_positions_csv gives the same positions, ids included."""
    portfolio = data.draw(portfolios(venue, ids=True))
    positions = list(portfolio.positions)
    assert parse_positions_csv(dump_positions_csv(positions), "round-trip.csv") == positions


@pytest.mark.parametrize("label", [" padded ", "tab\t", "line\rbreak", "two\nlines", 'quote " and, comma'])
def test_csv_round_trip_keeps_ids_verbatim(label: str) -> None:
    """Ids hypothesis shrank the CSV round trip to: any string is a valid ``id`` (format §1), so the CSV
    that dump_positions_csv writes must read back to the same id (the JSON form does)."""
    pos = Position("BTC/USDT:USDT", "long", 1.0, 60000.0, leverage=10.0, id=label)
    assert parse_portfolio_json(
        dump_portfolio_json(
            Portfolio(
                venue="binance-usdm", collateral={"USDT": 1e4}, positions=(pos,), prices={"BTC/USDT:USDT": 60000.0}
            )
        )
    ).positions == (pos,)
    assert parse_positions_csv(dump_positions_csv([pos])) == [pos]


# --------------------------------------------------------------------------- 6. scalar == array


def _check_values(book: Book, ev: Evaluation, marks: np.ndarray) -> None:
    scales = pool_scale(book, ev)
    for s in range(marks.shape[0]):
        prices = [float(x) for x in marks[s]]
        for i in range(book.n_positions):
            ref = scalar.position_values(book, i, prices[int(book.sym[i])])
            sc = float(scales[s, int(book.pool[i])])
            for name in ("notional", "upnl", "mmr", "maintenance", "initial"):
                got = float(getattr(ev, name)[s, i])
                want = getattr(ref, name)
                assert close(got, want, sc if name != "mmr" else 0.0), (s, i, name, got, want)
        for g in range(book.n_pools):
            equity, mm, im = scalar.pool_values(book, g, prices)
            sc = float(scales[s, g])
            assert close(float(ev.pool_equity[s, g]), equity, sc), (s, g, "equity", ev.pool_equity[s, g], equity)
            assert close(float(ev.pool_maintenance[s, g]), mm, sc), (s, g, "maintenance")
            assert close(float(ev.pool_initial[s, g]), im, sc), (s, g, "initial")


def _check_prices(book: Book, ev: Evaluation, marks: np.ndarray) -> None:
    levels = liquidation_prices(book, ev)
    for s in range(marks.shape[0]):
        prices = [float(x) for x in marks[s]]
        for i in range(book.n_positions):
            for name, maintenance in (("liquidation", True), ("bankruptcy", False)):
                got = float(getattr(levels, name)[s, i])
                want = scalar.liquidation_price(book, i, prices=prices, maintenance=maintenance)
                if want is None:
                    assert math.isnan(got), (s, i, name, got, "scalar: None")
                else:
                    assert close(got, want), (s, i, name, got, want)


@pytest.mark.parametrize("venue", ALL_VENUES)
@_examples(25)
@given(data=st.data())
def test_scalar_path_equals_array_path(venue: str, data: st.DataObject) -> None:
    """engine.evaluate / liquidation_prices equal margin.scalar per element (rel 1e-9), in every view.

    Scenarios: up to 20 rows of marks, each symbol within ±80 % of its mark.
    """
    portfolio = data.draw(portfolios(venue))
    resolved = resolve(portfolio)
    n_sym = len(resolved.marks)
    n_s = data.draw(st.integers(1, 20))
    factors = data.draw(
        st.lists(st.lists(st.floats(0.2, 1.8), min_size=n_sym, max_size=n_sym), min_size=n_s, max_size=n_s)
    )
    for view in VIEWS:
        book = compile_book(resolved, view)
        marks = book.marks[None, :] * np.array(factors)
        ev = evaluate(book, marks)
        _check_values(book, ev, marks)
        _check_prices(book, ev, marks)
