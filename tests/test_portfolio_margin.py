"""The risk-unit kernel of the ``portfolio`` view (issue 11, portfolio-format.md §6.4): parameters and their
valid ranges, the account's USD equity, the scenario grid per underlying, contingencies, aggregation, the
unit's delta and the liquidation moves.

Expected figures are worked by hand in each test (the §6.4 formulas written out, Black-76 from math.erfc) or
are the §6.5 worked example's printed figures; hypothesis properties check the array path against a plain
scalar loop, the hedge bound and the liquidation round trip.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from margin.errors import PortfolioError
from margin.options import VolParams, scenario_grid
from margin.options import price as b76_price
from margin.portfolio_margin import (
    DEFAULT_PRICE_RANGE,
    LIQUIDATION_DOWN,
    LIQUIDATION_STEPS,
    LIQUIDATION_UP,
    VOL_DOWN,
    VOL_UNCHANGED,
    VOL_UP,
    Assets,
    Book,
    Legs,
    LegSpec,
    PortfolioMarginParams,
    _fast_units,
    _FastModel,
    _Model,
    account_usd_equity,
    evaluate_portfolio,
    maintenance_at,
    risk_unit_order,
    unit_deltas,
    usd_breakdown,
)
from tests.test_options_pricing import n_cdf


def bs(f: float, k: float, t: float, s: float, call: bool) -> float:
    """Black-76, undiscounted (§6.2), from the standard library."""
    sd = s * math.sqrt(t)
    d1 = (math.log(f / k) + sd * sd / 2) / sd
    d2 = d1 - sd
    return f * n_cdf(d1) - k * n_cdf(d2) if call else k * n_cdf(-d2) - f * n_cdf(-d1)


def bs_delta(f: float, k: float, t: float, s: float, call: bool) -> float:
    sd = s * math.sqrt(t)
    d1 = (math.log(f / k) + sd * sd / 2) / sd
    return n_cdf(d1) if call else n_cdf(d1) - 1.0


# ------------------------------------------------------------------------------------------------- §6.5 example

T35 = 35 / 365  # 2026-11-20 08:00 to 2026-12-25 08:00 (test_options_pricing checks the parsing)


def worked_book() -> Book:
    """§6.5: collateral BTC 0.3, index 97,000, BTC/USD:BTC mark 97,100; long perpetual 3,000 × 10 USD at
    95,000 (inverse); short 2 100000-C at iv 0.52, long 2 90000-P at iv 0.58, both coin-settled. The options'
    forward is index_prices[BTC] = 97,000 (no underlying_price; test_options_pricing shows 97,100 matches
    none of the example's option figures)."""
    legs = Legs.from_specs(
        [
            LegSpec(
                unit=0, settle=0, side=1, contracts=3000, contract_size=10, price=97100, coin_settled=True, entry=95000
            ),
            LegSpec(0, 0, -1, 2, 1, 97000, True, is_option=True, strike=100000, is_call=True, iv=0.52, t=T35),
            LegSpec(0, 0, 1, 2, 1, 97000, True, is_option=True, strike=90000, is_call=False, iv=0.58, t=T35),
        ]
    )
    assets = Assets(("BTC",), np.array([0.3]), np.array([97000.0]), np.array([0.0]), np.array([0]))
    return Book(("BTC",), np.array([97000.0]), legs, assets)


def worked_equity(m: float, vol: str) -> float:
    """USD equity of the worked book with BTC moved by m: every BTC amount × 97,000·(1 + m) (§6.4)."""
    s = 97000 * (1 + m)
    f = (30 / 35) ** 0.13  # DTE 35 >= 30: the long-term vega power
    scale = {"up": 1 + 0.5 * f, "unchanged": 1.0, "down": 1 - 0.25 * f}[vol]
    coin = (
        0.3
        + 3000 * 10 * (1 / 95000 - 1 / (97100 * (1 + m)))
        + (-2 * bs(s, 100000, T35, 0.52 * scale, True) + 2 * bs(s, 90000, T35, 0.58 * scale, False)) / s
    )
    return coin * s


def test_worked_example_portfolio_view() -> None:
    book = worked_book()
    res = evaluate_portfolio(book)
    b = res.breakdown
    # wallet 0.3 × 97,000 = 29,100.00
    assert b.wallet_balance == pytest.approx(0.3 * 97000, rel=1e-12)
    # futures PnL, coin PnL at the index price: 30,000 × (1/95,000 − 1/97,100) × 97,000 = 662.47
    assert b.unrealized_pnl == pytest.approx(30000 * (1 / 95000 - 1 / 97100) * 97000, rel=1e-12)
    assert round(b.unrealized_pnl, 2) == 662.47
    # options: (−2 × 4,933.2363 + 2 × 3,762.0631) / 97,000 BTC × 97,000 = −2,342.35
    assert b.options_value == pytest.approx(
        -2 * bs(97000, 100000, T35, 0.52, True) + 2 * bs(97000, 90000, T35, 0.58, False), rel=1e-12
    )
    assert b.options_value == pytest.approx(-2 * 4933.2363 + 2 * 3762.0631, abs=1e-3)
    assert round(b.options_value, 2) == -2342.35
    assert round(res.equity, 2) == 27420.13
    assert res.equity == pytest.approx(worked_equity(0.0, "unchanged"), rel=1e-12)

    (unit,) = res.units
    assert unit.underlying == "BTC" and unit.price_range == 0.16
    # delta: BTC balance 0.3 × 97,000 + inverse 30,000 × 97,000/95,000 (d/dm of 30,000·(1+m)·97,000/95,000)
    # + options 97,000 × (−2·N(d1_call) + 2·(N(d1_put) − 1)) (a coin-settled option at S = F: n·Δ·F)
    opt_delta = -2 * bs_delta(97000, 100000, T35, 0.52, True) + 2 * bs_delta(97000, 90000, T35, 0.58, False)
    assert unit.delta == pytest.approx(0.3 * 97000 + 30000 * 97000 / 95000 + 97000 * opt_delta, rel=1e-12)
    assert round(unit.delta, 2) == -88266.24

    # worst: +16 % with vol up (k = +4, the first of its three vol states: index 3·8 = 24)
    assert unit.worst_index == 24
    assert unit.to_dict()["worst"] == {"move": 0.16, "vol": "up", "extended": False}
    loss = worked_equity(0.0, "unchanged") - worked_equity(0.16, "up")
    assert unit.scenario_loss == pytest.approx(loss, rel=1e-9)
    assert round(unit.scenario_loss, 2) == 17245.84
    # contingency 0.006 × |30,000| (the inverse future's USD face) + 0.01 × 97,000 × 2 short calls = 2,120
    assert unit.contingency == pytest.approx(0.006 * 30000 + 0.01 * 97000 * 2, rel=1e-14)
    assert unit.requirement == pytest.approx(loss + 2120.0, rel=1e-9)
    assert res.initial_margin == pytest.approx(loss + 2120.0, rel=1e-9)
    assert round(res.initial_margin, 2) == 19365.84
    assert res.maintenance_margin == pytest.approx(0.8 * (loss + 2120.0), rel=1e-9)
    assert round(res.maintenance_margin, 2) == 15492.68
    assert res.margin_ratio is not None and round(res.margin_ratio, 4) == 0.5650
    assert not res.liquidated
    # liquidation: up +9.1920 %, down none
    assert unit.liquidation_move_up is not None and round(unit.liquidation_move_up, 6) == 0.091920
    assert unit.liquidation_move_down is None


def test_worked_example_every_scenario_by_hand() -> None:
    (unit,) = evaluate_portfolio(worked_book(), liquidation=False).units
    grid = scenario_grid(0.16)
    base = worked_equity(0.0, "unchanged")
    want = [worked_equity(float(m), v) - base for m, v in zip(grid.move, grid.vol, strict=True)]
    assert unit.pnl.tolist() == pytest.approx(want, rel=1e-9, abs=1e-7)
    assert unit.pnl[13] == 0.0  # move 0, vol unchanged: exactly nothing
    assert unit.liquidation_move_up is None and unit.liquidation_move_down is None  # not computed


def test_worked_example_liquidation_round_trip() -> None:
    book = worked_book()
    params = PortfolioMarginParams()
    m = evaluate_portfolio(book).units[0].liquidation_move_up
    assert m is not None
    eq = float(account_usd_equity(book, [m]))
    mm = float(maintenance_at(book, params, [m]))
    assert eq == pytest.approx(mm, rel=1e-9)
    assert eq <= mm  # the move reported is the first that meets the trigger
    # one step of the scan (5/2,000) before it the account is safe
    assert float(account_usd_equity(book, [m - LIQUIDATION_UP / 2000])) > float(
        maintenance_at(book, params, [m - 0.0025])
    )


def test_to_dict_shape_is_json_ready() -> None:
    d = evaluate_portfolio(worked_book()).units[0].to_dict()
    assert list(d) == [
        "underlying",
        "price_range",
        "scenario_loss",
        "contingency",
        "requirement",
        "delta",
        "worst",
        "liquidation_move_down",
        "liquidation_move_up",
        "scenarios",
    ]
    assert len(d["scenarios"]) == 27 + 8
    assert d["scenarios"][0] == {
        "move": -0.16,
        "vol": "up",
        "extended": False,
        "weight": 1.0,
        "pnl": d["scenarios"][0]["pnl"],
    }
    assert list(d["scenarios"][-1]) == ["move", "vol", "extended", "weight", "pnl"]
    assert d["scenarios"][-1]["move"] == 5.0 and d["scenarios"][-1]["weight"] == 0.02
    assert d["liquidation_move_down"] is None
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d


# ------------------------------------------------------------------------------------------------- hand-worked

USDT = 0  # asset index of USDT in the books below (USD-like: price 1, no unit)


def linear_book(
    legs: list[LegSpec], usdt: float, units: tuple[str, ...] = ("BTC",), prices: tuple[float, ...] = (97000.0,)
) -> Book:
    """A book of USDT-settled legs plus a coin asset (balance 0) per unit; asset 1 + i is unit i's coin."""
    names = ("USDT", *units)
    assets = Assets(
        names,
        np.array([usdt] + [0.0] * len(units)),
        np.array([1.0, *prices]),
        np.zeros(len(names)),
        np.array([-1, *range(len(units))]),
    )
    return Book(units, np.array(prices), Legs.from_specs(legs), assets)


def test_linear_future_liquidation_move_closed_form() -> None:
    # USDT 20,000, long 1 BTC linear at entry = mark = 97,000. At BTC move m (price P = 97,000·(1 + m)):
    # equity = 20,000 + 97,000·m; worst scenario −16 % (extended −0.66 × 0.02 = 0.0132 < 0.16): loss 0.16·P;
    # contingency 0.006·P; MM = 0.8 × 0.166·P = 0.1328·P. equity = MM at
    # m = (0.1328 × 97,000 − 20,000) / (97,000 − 0.1328 × 97,000) = −0.0846252...
    leg = LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=97000, entry=97000)
    book = linear_book([leg], 20000.0)
    res = evaluate_portfolio(book)
    (unit,) = res.units
    assert unit.scenario_loss == pytest.approx(0.16 * 97000, rel=1e-12)
    assert unit.worst_index == 0  # −16 %, vol up: a future's three vol states tie, the first wins
    assert unit.contingency == pytest.approx(0.006 * 97000, rel=1e-14)
    assert res.maintenance_margin == pytest.approx(0.8 * 0.166 * 97000, rel=1e-12)
    want = (0.1328 * 97000 - 20000) / (97000 - 0.1328 * 97000)
    assert unit.liquidation_move_down == pytest.approx(want, rel=1e-9)
    assert unit.liquidation_move_up is None  # equity rises by 97,000 per 1.0, MM by 12,881.6
    assert unit.delta == pytest.approx(97000.0, rel=1e-14)
    # already liquidated (USDT 10,000 < MM 12,881.6): both moves 0
    low = evaluate_portfolio(linear_book([leg], 10000.0))
    assert low.liquidated and low.units[0].liquidation_move_down == 0.0 and low.units[0].liquidation_move_up == 0.0


def test_usdm_long_and_coinm_short_offset() -> None:
    # long 1 BTC on USDT (linear) and short 97,000 USD face on COIN-M (inverse, settled in BTC), both at
    # entry = mark = 97,000. At move m: linear +97,000·m USDT; inverse −97,000·(1/97,000 − 1/(97,000(1+m))) BTC
    # × 97,000(1 + m) USD = −97,000·m: they cancel in every scenario, and the contingency is
    # 0.006 × |97,000 − 97,000| = 0. Each alone: loss 0.16 × 97,000 = 15,520 + contingency 582.
    long_usdm = LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=97000, entry=97000)
    short_coinm = LegSpec(
        unit=0, settle=1, side=-1, contracts=970, contract_size=100, price=97000, coin_settled=True, entry=97000
    )
    both = evaluate_portfolio(linear_book([long_usdm, short_coinm], 1000.0), liquidation=False)
    assert both.units[0].contingency == 0.0
    assert both.units[0].scenario_loss == pytest.approx(0.0, abs=1e-9)
    assert both.units[0].delta == pytest.approx(0.0, abs=1e-9)
    for leg in (long_usdm, short_coinm):
        alone = evaluate_portfolio(linear_book([leg], 1000.0), liquidation=False)
        assert alone.initial_margin == pytest.approx(0.16 * 97000 + 0.006 * 97000, rel=1e-12)


def two_unit_book() -> Book:
    # long 1 BTC at 97,000 and short 10 ETH at 3,000, USDT-settled linear, entry = mark
    return linear_book(
        [
            LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=97000, entry=97000),
            LegSpec(unit=1, settle=USDT, side=-1, contracts=10, contract_size=1, price=3000, entry=3000),
        ],
        50000.0,
        ("BTC", "ETH"),
        (97000.0, 3000.0),
    )


def test_sum_and_correlated_aggregation_two_units() -> None:
    book = two_unit_book()
    # BTC: worst −16 %: L = 0.16 × 97,000 = 15,520; contingency 0.006 × 97,000 = 582
    # ETH (short): worst +16 %: L = 0.16 × 30,000 = 4,800 (> extended +5 × 30,000 × 0.02 = 3,000);
    # contingency 0.006 × |−30,000| = 180
    s = evaluate_portfolio(book, liquidation=False)
    btc, eth = s.units
    assert (btc.scenario_loss, eth.scenario_loss) == pytest.approx((15520.0, 4800.0), rel=1e-12)
    assert (btc.contingency, eth.contingency) == pytest.approx((582.0, 180.0), rel=1e-12)
    assert eth.to_dict()["worst"] == {"move": 0.16, "vol": "up", "extended": False}
    assert s.initial_margin == pytest.approx(15520 + 4800 + 582 + 180, rel=1e-12)
    # correlated, ρ = 0.8 given the other way round: sqrt(L1² + L2² + 2·0.8·L1·L2) + 762
    p = PortfolioMarginParams.from_dict({"aggregation": "correlated", "correlations": {"ETH": {"BTC": 0.8}}})
    c = evaluate_portfolio(book, p, liquidation=False)
    want = math.sqrt(15520**2 + 4800**2 + 2 * 0.8 * 15520 * 4800) + 762
    assert c.initial_margin == pytest.approx(want, rel=1e-12)
    assert c.maintenance_margin == pytest.approx(0.8 * want, rel=1e-12)
    # ρ = −0.5 is clipped to 0: sqrt(15,520² + 4,800²) + 762
    neg = PortfolioMarginParams.from_dict({"aggregation": "correlated", "correlations": {"BTC": {"ETH": -0.5}}})
    got = evaluate_portfolio(book, neg, liquidation=False).initial_margin
    assert got == pytest.approx(math.sqrt(15520**2 + 4800**2) + 762, rel=1e-12)
    # a missing pair is invalid input, named
    missing = PortfolioMarginParams.from_dict({"aggregation": "correlated"})
    with pytest.raises(PortfolioError, match=r"^portfolio_margin\.correlations\.BTC\.ETH is required"):
        evaluate_portfolio(book, missing)


def test_correlated_liquidation_round_trip_two_units() -> None:
    book = two_unit_book()
    p = PortfolioMarginParams.from_dict({"aggregation": "correlated", "correlations": {"BTC": {"ETH": 0.3}}})
    res = evaluate_portfolio(book, p)
    checked = 0
    for k, unit in enumerate(res.units):
        for m in (unit.liquidation_move_down, unit.liquidation_move_up):
            if m is None:
                continue
            moves = [0.0, 0.0]
            moves[k] = m
            eq, mm = float(account_usd_equity(book, moves)), float(maintenance_at(book, p, moves))
            assert eq == pytest.approx(mm, rel=1e-9)
            checked += 1
    # BTC long falls, ETH short rises: each unit has exactly one crossing
    assert res.units[0].liquidation_move_down is not None and res.units[0].liquidation_move_up is None
    assert res.units[1].liquidation_move_up is not None and res.units[1].liquidation_move_down is None
    assert checked == 2


def test_haircut_applies_to_each_assets_net_amount() -> None:
    # BTC balance 1 with haircut 0.1 and a USDT loss of −1,000 with haircut 0.05 (a loss is haircut too):
    # equity = 1 × 97,000 × 0.9 + (5,000 − 1,000) × 1 × 0.95 = 87,300 + 3,800 = 91,100
    leg = LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=96000, entry=97000)
    assets = Assets(
        ("USDT", "BTC"), np.array([5000.0, 1.0]), np.array([1.0, 97000.0]), np.array([0.05, 0.1]), np.array([-1, 0])
    )
    book = Book(("BTC",), np.array([97000.0]), Legs.from_specs([leg]), assets)
    assert float(account_usd_equity(book, [0.0])) == pytest.approx(91100.0, rel=1e-14)
    b = usd_breakdown(book)
    assert (b.wallet_balance, b.unrealized_pnl, b.options_value) == pytest.approx((87300 + 4750, -950, 0), rel=1e-14)
    # delta: BTC 97,000 × 0.9 + the future 1 × 96,000 × 0.95
    assert float(unit_deltas(book)[0]) == pytest.approx(97000 * 0.9 + 96000 * 0.95, rel=1e-14)
    # vectorised: a leading axis of moves: at m the equity is 1 × 97,000(1+m) × 0.9 + (4,000 + 96,000·m) × 0.95
    ms = np.array([[-0.5], [0.0], [0.25]])
    want = [97000 * (1 + m) * 0.9 + (4000 + 96000 * m) * 0.95 for m in ms[:, 0]]
    assert account_usd_equity(book, ms).tolist() == pytest.approx(want, rel=1e-14)


def test_vol_states_reach_only_options_of_the_moved_unit() -> None:
    # a USDC-settled long call on ETH (unit 1), DTE 10 (< 30: f = (30/10)^0.3); BTC's vol state leaves it alone
    t = 10 / 365
    call = LegSpec(
        unit=1,
        settle=USDT,
        side=1,
        contracts=3,
        contract_size=1,
        price=3000,
        is_option=True,
        strike=3100,
        is_call=True,
        iv=0.7,
        t=t,
    )
    book = linear_book([call], 0.0, ("BTC", "ETH"), (97000.0, 3000.0))
    f = 3**0.3
    for code, scale in ((VOL_UP, 1 + 0.5 * f), (VOL_UNCHANGED, 1.0), (VOL_DOWN, 1 - 0.25 * f)):
        got = float(account_usd_equity(book, [0.0, 0.1], [VOL_DOWN, code]))
        assert got == pytest.approx(3 * bs(3300, 3100, t, 0.7 * scale, True), rel=1e-12)


def test_option_expired_within_days_is_worth_its_intrinsic_value() -> None:
    # --days past expiry (t < 0): a long USDT-settled 90000-C at F = 97,000 is worth 97,000 − 90,000 = 7,000;
    # its delta is 1 per unit, so the unit's delta is 1 × 97,000; the +16 % scenario gains 0.16 × 97,000
    leg = LegSpec(0, USDT, 1, 1, 1, 97000, is_option=True, strike=90000, is_call=True, iv=0.5, t=-1 / 365)
    res = evaluate_portfolio(linear_book([leg], 0.0), liquidation=False)
    assert res.breakdown.options_value == pytest.approx(7000.0, rel=1e-15)
    assert res.units[0].delta == pytest.approx(97000.0, rel=1e-15)
    assert res.units[0].pnl[24] == pytest.approx(0.16 * 97000, rel=1e-12)


def test_worst_tie_rules() -> None:
    # a unit with no exposure (a BTC balance of 0): every pnl is 0, the first scenario (−16 %, up) is named
    empty = evaluate_portfolio(linear_book([], 100.0), liquidation=False).units[0]
    assert np.all(empty.pnl == 0.0) and empty.worst_index == 0 and empty.scenario_loss == 0.0
    # a long delta-neutral straddle (USDT-settled; K = F·exp(σ²T/2) puts d1 at 0, so the call's N(d1) = 0.5
    # and the put's N(d1) − 1 = −0.5 cancel) with vol_range_down 0 and no extended moves gains in every
    # scenario but move 0 with vol unchanged or down (both exactly 0): the least bad, first of them, index 13
    t = 60 / 365
    k = 97000 * math.exp(0.25 * t / 2)
    legs = [
        LegSpec(0, USDT, 1, 1, 1, 97000, is_option=True, strike=k, is_call=True, iv=0.5, t=t),
        LegSpec(0, USDT, 1, 1, 1, 97000, is_option=True, strike=k, is_call=False, iv=0.5, t=t),
    ]
    p = PortfolioMarginParams.from_dict({"vol_range_down": 0, "extended_moves": []})
    unit = evaluate_portfolio(linear_book(legs, 0.0), p, liquidation=False).units[0]
    assert np.all(unit.pnl >= 0.0) and unit.pnl[13] == 0.0 and unit.pnl[14] == 0.0
    assert unit.worst_index == 13 and unit.scenario_loss == 0.0


def test_risk_unit_order() -> None:
    assert risk_unit_order(["ETH", "BTC", "ETH"], ["SOL", "BTC"]) == ("ETH", "BTC", "SOL")


def test_book_rejects_inconsistent_arrays() -> None:
    legs = Legs.from_specs([LegSpec(0, 0, 1, 1, 1, 100.0, entry=100.0)])
    assets = Assets(("BTC",), [1.0], [100.0], [0.0], [0])
    with pytest.raises(ValueError, match="unit's USD price"):
        Book(("BTC",), [101.0], legs, assets)
    with pytest.raises(ValueError, match=r"Legs\.unit"):
        Book(("BTC",), [100.0], Legs.from_specs([LegSpec(1, 0, 1, 1, 1, 100.0, entry=100.0)]), assets)
    with pytest.raises(ValueError, match=r"Assets\.price has 2 entries"):
        Assets(("BTC",), [1.0], [100.0, 1.0], [0.0], [0])
    with pytest.raises(ValueError, match="moves must end in an axis of 1"):
        account_usd_equity(Book(("BTC",), [100.0], legs, assets), [0.0, 0.0])


# ------------------------------------------------------------------------------------------------- properties

UNITS = ("BTC", "ETH")
PRICES = (60000.0, 2500.0)
# assets: USDT (no unit), BTC (unit 0), ETH (unit 1)
ASSET_UNIT = (-1, 0, 1)


@dataclass(frozen=True)
class RandomBook:
    specs: list[LegSpec]
    balances: tuple[float, float, float]
    haircuts: tuple[float, float, float]

    def book(self) -> Book:
        prices = np.array([1.0, *PRICES])
        assets = Assets(
            ("USDT", *UNITS), np.array(self.balances), prices, np.array(self.haircuts), np.array(ASSET_UNIT)
        )
        return Book(UNITS, np.array(PRICES), Legs.from_specs(self.specs), assets)


@st.composite
def leg_specs(draw: st.DrawFn) -> LegSpec:
    unit = draw(st.integers(0, 1))
    s = PRICES[unit]
    coin = draw(st.booleans())
    settle = 1 + unit if coin else USDT
    side = draw(st.sampled_from([1.0, -1.0]))
    mark = s * draw(st.floats(0.8, 1.25))
    if draw(st.booleans()):
        cs = 10.0 if coin else 1.0  # inverse: USD face per contract
        contracts = draw(st.floats(1, 5000)) if coin else draw(st.floats(0.01, 20))
        return LegSpec(unit, settle, side, contracts, cs, mark, coin, entry=mark * draw(st.floats(0.7, 1.3)))
    return LegSpec(
        unit,
        settle,
        side,
        draw(st.floats(0.1, 20)),
        1.0,
        mark,
        coin,
        is_option=True,
        strike=s * draw(st.floats(0.6, 1.6)),
        is_call=draw(st.booleans()),
        iv=draw(st.floats(0.1, 2.0)),
        t=draw(st.floats(0.5, 400)) / 365,
    )


random_books = st.builds(
    RandomBook,
    st.lists(leg_specs(), min_size=1, max_size=6),
    st.tuples(st.floats(0, 1e5), st.floats(0, 3), st.floats(0, 40)),
    st.tuples(st.floats(0, 0.2), st.floats(0, 0.5), st.floats(0, 0.5)),
)


def scalar_equity(rb: RandomBook, moves: tuple[float, float], vols: tuple[str, str], vp: VolParams) -> float:
    """USD equity by a plain loop (§6.4): each asset's net amount × moved USD price × (1 − haircut); options
    through the pricer one at a time."""
    amounts = list(rb.balances)
    for leg in rb.specs:
        f = leg.price * (1 + moves[leg.unit])
        if not leg.is_option:
            n = leg.side * leg.contracts * leg.contract_size
            amount = n * (1 / leg.entry - 1 / f) if leg.coin_settled else n * (f - leg.entry)
        else:
            dte = max(leg.t * 365, 1.0)
            p = vp.short_term_vega_power if dte < 30 else vp.long_term_vega_power
            fv = (30 / dte) ** p
            sigma = {
                "up": leg.iv * (1 + vp.vol_range_up * fv),
                "unchanged": leg.iv,
                "down": leg.iv * max(1 - vp.vol_range_down * fv, 0.01),
            }[vols[leg.unit]]
            v = (
                float(b76_price(f, leg.strike, leg.t, sigma, leg.is_call))
                * leg.side
                * leg.contracts
                * leg.contract_size
            )
            amount = v / f if leg.coin_settled else v
        amounts[leg.settle] += amount
    total = 0.0
    for i, amount in enumerate(amounts):
        px = 1.0 if ASSET_UNIT[i] < 0 else PRICES[ASSET_UNIT[i]] * (1 + moves[ASSET_UNIT[i]])
        total += amount * px * (1 - rb.haircuts[i])
    return total


def scale_of(rb: RandomBook) -> float:
    """A USD size of the book, for absolute tolerances."""
    out = rb.balances[0] + rb.balances[1] * PRICES[0] + rb.balances[2] * PRICES[1]
    for leg in rb.specs:
        n = leg.contracts * leg.contract_size
        out += n if leg.coin_settled and not leg.is_option else n * PRICES[leg.unit] * 7
    return out


@settings(max_examples=60, deadline=None)
@given(random_books)
def test_every_scenario_equals_a_scalar_loop(rb: RandomBook) -> None:
    book = rb.book()
    params = PortfolioMarginParams()
    res = evaluate_portfolio(book, params, liquidation=False)
    vp = params.vol_params
    tol = 1e-11 * scale_of(rb)
    base = scalar_equity(rb, (0.0, 0.0), ("unchanged", "unchanged"), vp)
    assert res.equity == pytest.approx(base, abs=tol)
    losses = []
    for k, unit in enumerate(res.units):
        loop = []
        for m, v in zip(unit.grid.move.tolist(), unit.grid.vol, strict=True):
            moves = (m, 0.0) if k == 0 else (0.0, m)
            vols = (v, "unchanged") if k == 0 else ("unchanged", v)
            loop.append(scalar_equity(rb, moves, vols, vp) - base)
        assert unit.pnl.tolist() == pytest.approx(loop, abs=tol)
        weighted = [-p * w for p, w in zip(loop, unit.grid.weight.tolist(), strict=True)]
        assert unit.scenario_loss == pytest.approx(max(0.0, *weighted), abs=tol)
        losses.append(max(0.0, *weighted))
        # the unit's delta against a central difference of the equity
        h = 1e-6
        up = [0.0, 0.0]
        dn = [0.0, 0.0]
        up[k], dn[k] = h, -h
        fd = (float(account_usd_equity(book, up)) - float(account_usd_equity(book, dn))) / (2 * h)
        assert unit.delta == pytest.approx(fd, abs=1e-6 * scale_of(rb))
    conts = [u.contingency for u in res.units]
    assert res.initial_margin == pytest.approx(sum(losses) + sum(conts), abs=2 * tol)


def requirement(legs: list[LegSpec], usdt: float) -> float:
    return evaluate_portfolio(linear_book(legs, usdt), liquidation=False).initial_margin


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.01, 10),
    st.floats(100, 1e6),
    st.floats(0.8, 1.25),
    st.floats(0.8, 1.25),
    st.floats(0, 1e5),
)
def test_hedge_across_settle_assets_never_raises_the_requirement(
    btc: float, face: float, mark1: float, entry1: float, usdt: float
) -> None:
    # long linear on USDT and short inverse settled in BTC (asset 1): the requirement of both is at most the
    # sum of each one's (the collateral stays with the first)
    s = 97000.0
    long_usdm = LegSpec(0, USDT, 1, btc, 1, s * mark1, entry=s * entry1)
    short_coinm = LegSpec(0, 1, -1, face / 10, 10, s * mark1, True, entry=s * entry1)
    both = requirement([long_usdm, short_coinm], usdt)
    assert both <= requirement([long_usdm], usdt) + requirement([short_coinm], 0.0) + 1e-9 * (btc * s + face)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.1, 10),
    st.floats(0.01, 10),
    st.floats(0.6, 1.5),
    st.booleans(),
    st.floats(0.1, 2.0),
    st.floats(1, 300),
    st.booleans(),
)
def test_long_option_and_short_future_never_raise_the_requirement(
    contracts: float, fut: float, strike: float, call: bool, iv: float, days: float, coin: bool
) -> None:
    s = 97000.0
    option = LegSpec(
        0,
        1 if coin else USDT,
        1,
        contracts,
        1,
        s,
        coin,
        is_option=True,
        strike=s * strike,
        is_call=call,
        iv=iv,
        t=days / 365,
    )
    future = LegSpec(0, USDT, -1, fut, 1, s, entry=s)
    both = requirement([option, future], 0.0)
    assert both <= requirement([option], 0.0) + requirement([future], 0.0) + 1e-9 * s * (contracts + fut)


@settings(max_examples=25, deadline=None)
@given(random_books)
def test_liquidation_moves_round_trip(rb: RandomBook) -> None:
    book = rb.book()
    params = PortfolioMarginParams()
    res = evaluate_portfolio(book, params)
    assume(not res.liquidated)
    for k, unit in enumerate(res.units):
        for m, lo, hi in ((unit.liquidation_move_down, -0.95, 0.0), (unit.liquidation_move_up, 0.0, 5.0)):
            if m is None:
                continue
            assert lo <= m <= hi and m != 0.0
            moves = [0.0, 0.0]
            moves[k] = m
            eq = float(account_usd_equity(book, moves, vol=params.vol_params))
            mm = float(maintenance_at(book, params, moves))
            # on the liquidated side of the root, up to the rounding of this second evaluation path (the scan's
            # fast model sums the same terms in another order: a few ulps of the account's scale)
            assert eq <= mm + 1e-12 * scale_of(rb)
            assert eq == pytest.approx(mm, rel=1e-9, abs=1e-9 * scale_of(rb))


# ------------------------------------------------------------------------------------------------- the fast scan


def fast_model(book: Book, params: PortfolioMarginParams) -> tuple[_Model, _FastModel, np.ndarray]:
    """The general model, the fast one (per-unit coefficients, bounded scan) and the base scenario losses."""
    model = _Model(book, params)
    res = evaluate_portfolio(book, params, liquidation=False)
    losses = np.array([u.scenario_loss for u in res.units])
    conts = np.array([u.contingency for u in res.units])
    units = _fast_units(book, model.p, model.units, params)
    assert units is not None
    return model, _FastModel(model, units, losses, conts), losses


def test_fast_unit_coefficients_of_the_worked_book() -> None:
    # §6.5 book: the inverse perpetual settled in BTC is n·(1/e − 1/(F·x)) BTC at S·x USD, i.e.
    # 30,000·97,000/95,000·x − 30,000·97,000/97,100: B = 30,000 × 97,000 / 95,000 plus the 0.3 BTC balance
    # 0.3 × 97,000 (both × x); no x² or 1/x term. Options coin-settled: κ = n·S/F = ∓2 × 97,000 / 97,000.
    # Contingency: the inverse USD face 30,000 (no x), 0.01 × 97,000 × 2 short calls per unit of x.
    (unit,) = fast_model(worked_book(), PortfolioMarginParams())[1].units
    assert unit.a2 == 0.0 and unit.d1 == 0.0
    assert unit.b1 == pytest.approx(30000 * 97000 / 95000 + 0.3 * 97000, rel=1e-14)
    assert unit.kappa.tolist() == [-2.0, 2.0]
    assert unit.cont_q == 0.0 and unit.cont_l == 0.0 and unit.cont_i == 30000.0
    assert unit.cont_short == pytest.approx(0.01 * 97000 * 2, rel=1e-14)
    assert unit.rows.size == 1 + 35 and unit.rows[0] == 1.0 and unit.rows[-1] == 1.0 + 5.0


def test_linear_future_fast_coefficients_and_gap() -> None:
    # long 1 BTC linear on USDT at entry 97,000 = mark, USDT 20,000 (as the closed-form test above): at x the
    # unit's part is 97,000·x (the −97,000 constant left out), so equity(x) = 20,000 + 97,000·(x − 1) and
    # MM(x) = 0.8 × (0.16 + 0.006) × 97,000·x; the gap at x = 0.9 is 20,000 − 9,700 − 0.1328 × 87,300.
    leg = LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=97000, entry=97000)
    _, fast, _ = fast_model(linear_book([leg], 20000.0), PortfolioMarginParams())
    (unit,) = fast.units
    assert unit.b1 == 97000.0 and unit.cont_l == 97000.0 and unit.fwd.size == 0
    gap = float(fast.gap(0, np.array([0.9]))[0])
    assert gap == pytest.approx(20000 - 9700 - 0.1328 * 87300, rel=1e-12)


def test_a_leg_settled_in_another_units_asset_takes_the_general_path() -> None:
    # an ETH linear future settled in BTC (asset 1, unit 0): a BTC move changes the ETH leg's USD value, so
    # the per-unit coefficients do not apply; the general scan still meets the trigger at the move
    legs = [
        LegSpec(unit=0, settle=USDT, side=1, contracts=1, contract_size=1, price=97000, entry=97000),
        LegSpec(unit=1, settle=1, side=-1, contracts=10, contract_size=1, price=3000, entry=3000),
    ]
    book = linear_book(legs, 30000.0, ("BTC", "ETH"), (97000.0, 3000.0))
    params = PortfolioMarginParams()
    model = _Model(book, params)
    assert _fast_units(book, model.p, model.units, params) is None
    res = evaluate_portfolio(book, params)
    m = res.units[0].liquidation_move_down
    assert m is not None
    assert float(account_usd_equity(book, [m, 0.0])) <= float(maintenance_at(book, params, [m, 0.0]))


correlated = PortfolioMarginParams(aggregation="correlated", correlations={"BTC": {"ETH": 0.7}})


@settings(max_examples=30, deadline=None)
@given(random_books, st.booleans())
def test_fast_scan_equals_the_general_scan(rb: RandomBook, corr: bool) -> None:
    # the bounded scan finds the same first step and the same bisection as the 2,000-step scan of _Model
    book = rb.book()
    params = correlated if corr else PortfolioMarginParams()
    res = evaluate_portfolio(book, params)
    assume(not res.liquidated)
    model = _Model(book, params)
    losses = np.array([u.scenario_loss for u in res.units])
    for k, unit in enumerate(res.units):
        for end, got in ((LIQUIDATION_DOWN, unit.liquidation_move_down), (LIQUIDATION_UP, unit.liquidation_move_up)):
            want = model.liquidation_move(k, end, losses)
            if want is None:
                assert got is None
            else:
                assert got == pytest.approx(want, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(random_books, st.booleans())
def test_scan_candidates_hold_every_step_that_meets_the_trigger(rb: RandomBook, corr: bool) -> None:
    # the steps left out by the bound are all safe: the general model's gap there is > 0
    book = rb.book()
    params = correlated if corr else PortfolioMarginParams()
    model, fast, losses = fast_model(book, params)
    for k in range(len(book.units)):
        for end in (LIQUIDATION_DOWN, LIQUIDATION_UP):
            steps = end * np.arange(1, LIQUIDATION_STEPS + 1) / LIQUIDATION_STEPS
            hits = np.flatnonzero(model.gap(k, steps, losses) <= 0.0)
            assert set(hits.tolist()) <= set(fast.candidates(k, 1.0 + steps).tolist())


@settings(max_examples=30, deadline=None)
@given(random_books, st.integers(1, LIQUIDATION_STEPS), st.booleans(), st.lists(st.floats(0, 1), min_size=1))
def test_pruned_scenarios_keep_the_scenario_loss(rb: RandomBook, j: int, up: bool, where: list[float]) -> None:
    # inside a scan step's bracket, the scenarios kept for the bisection give the same scenario loss
    book = rb.book()
    _, fast, _ = fast_model(book, PortfolioMarginParams())
    end = LIQUIDATION_UP if up else LIQUIDATION_DOWN
    xa, xb = 1.0 + end * (j - 1) / LIQUIDATION_STEPS, 1.0 + end * j / LIQUIDATION_STEPS
    x = xa + (xb - xa) * np.array(where)
    for k, unit in enumerate(fast.units):
        kept = fast.pruned(k, xa, xb)
        assert kept.rows.size <= unit.rows.size and kept.rows[0] == 1.0
        full = fast.gap(k, x)
        assert fast.gap(k, x, kept) == pytest.approx(full, rel=1e-13, abs=1e-9 * scale_of(rb))


# ------------------------------------------------------------------------------------------------- parameters


def test_defaults_are_the_table() -> None:
    p = PortfolioMarginParams.from_dict(None)
    assert p == PortfolioMarginParams()
    assert dict(p.price_range) == dict(DEFAULT_PRICE_RANGE) == {"BTC": 0.16, "ETH": 0.16, "default": 0.25}
    assert (p.range_for("BTC"), p.range_for("ETH"), p.range_for("SOL")) == (0.16, 0.16, 0.25)
    assert p.buckets == 4 and (p.vol_range_up, p.vol_range_down) == (0.5, 0.25)
    assert (p.short_term_vega_power, p.long_term_vega_power) == (0.3, 0.13)
    assert p.extended_moves == (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0) and p.extended_weight == 0.02
    assert (p.future_contingency, p.option_contingency, p.mm_factor) == (0.006, 0.01, 0.8)
    assert p.aggregation == "sum" and dict(p.correlations) == {} and p.haircut("BTC") == 0.0
    assert p.vol_params == VolParams()


def test_parse_every_parameter() -> None:
    p = PortfolioMarginParams.from_dict(
        {
            "price_range": {"BTC": 0.2, "default": 0.3},
            "buckets": 2,
            "vol_range_up": 0.4,
            "vol_range_down": 0.1,
            "short_term_vega_power": 0.2,
            "long_term_vega_power": 0.1,
            "extended_moves": [-0.5, 1],
            "extended_weight": 0.05,
            "future_contingency": 0.01,
            "option_contingency": 0,
            "mm_factor": 1,
            "aggregation": "correlated",
            "correlations": {"BTC": {"ETH": 0.8, "SOL": 1.5 - 1}},
            "haircuts": {"ETH": 0.05},
        }
    )
    # a map replaces the default map: ETH now takes the map's default 0.3
    assert (p.range_for("BTC"), p.range_for("ETH")) == (0.2, 0.3)
    assert p.buckets == 2 and p.extended_moves == (-0.5, 1.0) and p.mm_factor == 1.0
    assert p.correlation("ETH", "BTC") == 0.8 and p.correlation("BTC", "SOL") == 0.5
    assert p.correlation("ETH", "SOL") is None and p.correlation("ETH", "ETH") == 1.0
    assert p.haircut("ETH") == 0.05 and p.haircut("BTC") == 0.0
    # a number sets every base; a map without "default" leaves unnamed bases at 0.25
    assert PortfolioMarginParams.from_dict({"price_range": 0.1}).range_for("BTC") == 0.1
    assert PortfolioMarginParams.from_dict({"price_range": {"ETH": 0.2}}).range_for("BTC") == 0.25


def test_correlation_matrix_is_symmetric_and_clipped() -> None:
    p = PortfolioMarginParams.from_dict({"correlations": {"BTC": {"ETH": -0.4}, "SOL": {"BTC": 0.9, "ETH": 0.7}}})
    rho = p.correlation_matrix(["BTC", "ETH", "SOL"])
    assert rho.tolist() == [[1.0, 0.0, 0.9], [0.0, 1.0, 0.7], [0.9, 0.7, 1.0]]
    with pytest.raises(PortfolioError) as err:
        p.correlation_matrix(["BTC", "ETH", "SOL", "XRP"])
    assert [q.path for q in err.value.problems] == [
        "portfolio_margin.correlations.BTC.XRP",
        "portfolio_margin.correlations.ETH.XRP",
        "portfolio_margin.correlations.SOL.XRP",
    ]


@pytest.mark.parametrize(
    ("mapping", "path", "rule", "shown"),
    [
        ({"price_range": 1}, "price_range", "must be a number > 0 and < 1", "1"),
        ({"price_range": 0}, "price_range", "must be a number > 0 and < 1", "0"),
        ({"price_range": {"BTC": -0.1}}, "price_range.BTC", "must be a number > 0 and < 1", "-0.1"),
        ({"price_range": "wide"}, "price_range", "or an object of base to such a number", "'wide'"),
        ({"buckets": 0}, "buckets", "must be an integer >= 1", "0"),
        ({"buckets": 2.5}, "buckets", "must be an integer >= 1", "2.5"),
        ({"buckets": True}, "buckets", "must be an integer >= 1", "true"),
        ({"vol_range_up": -0.1}, "vol_range_up", "must be a number >= 0", "-0.1"),
        ({"vol_range_down": 1}, "vol_range_down", "must be a number >= 0 and < 1", "1"),
        ({"short_term_vega_power": -1}, "short_term_vega_power", "must be a number >= 0", "-1"),
        ({"long_term_vega_power": "x"}, "long_term_vega_power", "must be a number >= 0", "'x'"),
        ({"extended_moves": [0.5, -1]}, "extended_moves[1]", "must be a number > -1", "-1"),
        ({"extended_moves": 0.5}, "extended_moves", "must be a list of numbers > -1", "0.5"),
        ({"extended_weight": -0.02}, "extended_weight", "must be a number >= 0", "-0.02"),
        ({"future_contingency": -1e-3}, "future_contingency", "must be a number >= 0", "-0.001"),
        ({"option_contingency": None}, "option_contingency", "must be a number >= 0", "null"),
        ({"mm_factor": 0}, "mm_factor", "must be a number > 0 and <= 1", "0"),
        ({"mm_factor": 1.2}, "mm_factor", "must be a number > 0 and <= 1", "1.2"),
        ({"aggregation": "max"}, "aggregation", 'must be "sum" or "correlated"', "'max'"),
        ({"correlations": {"BTC": {"ETH": 1.5}}}, "correlations.BTC.ETH", "must be a number >= -1 and <= 1", "1.5"),
        ({"correlations": {"BTC": 0.8}}, "correlations.BTC", "must be an object of base to correlation", "0.8"),
        ({"correlations": {"BTC": {"BTC": 0.5}}}, "correlations.BTC.BTC", "must be 1", "0.5"),
        (
            {"correlations": {"BTC": {"ETH": 0.5}, "ETH": {"BTC": 0.6}}},
            "correlations.ETH.BTC",
            "must equal portfolio_margin.correlations.BTC.ETH (0.5) when given both ways",
            "0.6",
        ),
        ({"haircuts": {"BTC": 1}}, "haircuts.BTC", "must be a number >= 0 and < 1", "1"),
        ({"haircuts": [0.1]}, "haircuts", "must be an object of asset to haircut in [0, 1)", "[0.1]"),
        ({"price_rang": 0.2}, "price_rang", "is not a parameter of the portfolio view", "0.2"),
    ],
)
def test_invalid_parameters_name_the_parameter_rule_and_value(
    mapping: dict[str, object], path: str, rule: str, shown: str
) -> None:
    with pytest.raises(PortfolioError) as err:
        PortfolioMarginParams.from_dict(mapping)
    (problem,) = err.value.problems
    assert problem.path == f"portfolio_margin.{path}"
    text = str(problem)
    assert rule in text and text.endswith(f", got {shown}")


def test_every_problem_is_reported_at_once() -> None:
    params, problems = PortfolioMarginParams.parse(
        {"buckets": 0, "mm_factor": 2, "haircuts": {"A": -1, "B": 0.5}}, "pm"
    )
    assert params is None
    assert [p.path for p in problems] == ["pm.buckets", "pm.mm_factor", "pm.haircuts.A"]
    (bad,) = PortfolioMarginParams.parse([1, 2])[1]
    assert str(bad) == "portfolio_margin must be an object of portfolio-margin parameters, got [1, 2]"
