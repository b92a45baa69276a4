"""The options kernel (issue 11, item 2): erfc, Black-76 prices and greeks, option symbols, time to expiry,
the standard option margin (portfolio-format.md §6.3) and the volatility scenarios and grid of §6.4.

Every expected figure is worked by hand in the test (math.erfc for N, the §6 formulas written out), or is a
published value (QuantLib, the §6.5 worked example).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin.errors import PortfolioError
from margin.options import (
    DEFAULT_EXTENDED_MOVES,
    VolParams,
    as_of_problems,
    black76,
    erfc,
    expiry_problems,
    grid_problems,
    is_option_symbol,
    norm_cdf,
    norm_pdf,
    option_symbol_problems,
    parse_as_of,
    parse_option_symbol,
    price,
    price_delta,
    scenario_grid,
    scenario_iv,
    settle_value,
    standard_option_margin,
    time_to_expiry,
    vol_factor,
)


def n_cdf(x: float) -> float:
    """N(x) from the standard library, the reference of the tests."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def d1_of(f: float, k: float, t: float, s: float) -> float:
    return (math.log(f / k) + s * s * t / 2.0) / (s * math.sqrt(t))


# ------------------------------------------------------------------------------------------------- erfc


def test_erfc_matches_math_erfc_on_a_dense_grid() -> None:
    # 2,000,001 points over every branch of Cody's approximation (|x| <= 0.46875, <= 4, > 4) and the
    # reflection erfc(-x) = 2 - erfc(x); beyond ~26.5 erfc underflows (subnormals carry no relative precision)
    x = np.linspace(-8.0, 26.0, 2_000_001)
    ref = np.array([math.erfc(v) for v in x])
    got = erfc(x)
    rel = np.abs(got - ref) / ref
    worst = float(rel.max())
    # measured 1.0e-15 (about 4.5 ulp; math.erfc itself is not correctly rounded)
    assert worst <= 2e-15, f"max relative error of erfc vs math.erfc {worst:.3e} at x = {x[rel.argmax()]!r}"


def test_erfc_special_values_and_shape() -> None:
    got = erfc([0.0, -0.0, math.inf, -math.inf, math.nan, 26.543, 30.0, -30.0])
    assert got[0] == 1.0 and got[1] == 1.0
    assert got[2] == 0.0 and got[3] == 2.0
    assert math.isnan(got[4])
    assert got[5] == 0.0 and got[6] == 0.0 and got[7] == 2.0
    grid = np.array([[0.1, 1.0], [5.0, -2.0]])
    assert erfc(grid).shape == (2, 2)
    assert erfc(0.5).shape == ()
    assert float(erfc(0.5)) == pytest.approx(math.erfc(0.5), rel=1e-15)


def test_normal_cdf_and_pdf() -> None:
    xs = np.array([-12.0, -5.0, -1.0, 0.0, 0.3, 2.0, 8.0])
    assert np.allclose(norm_cdf(xs), [n_cdf(v) for v in xs], rtol=1e-14, atol=0.0)
    assert norm_cdf(0.0) == 0.5
    # the lower tail keeps its relative precision: N(-12) ~ 1.8e-33 (no 1 - N(12) cancellation)
    assert float(norm_cdf(-12.0)) == pytest.approx(n_cdf(-12.0), rel=1e-13)
    assert np.allclose(norm_pdf(xs), np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi), rtol=1e-15, atol=0.0)


# ------------------------------------------------------------------------------------------------- Black-76


def test_quantlib_black_formula() -> None:
    # QuantLib blackFormula(Option::Call, strike 100, forward 100, stdDev 0.2 * sqrt(1), discount 1)
    assert float(price(100.0, 100.0, 1.0, 0.2, True)) == pytest.approx(7.965567455405804, abs=1e-12)
    # at the money the put has the same value (parity with F = K)
    assert float(price(100.0, 100.0, 1.0, 0.2, False)) == pytest.approx(7.965567455405804, abs=1e-12)


def test_hand_worked_call_and_greeks() -> None:
    f, k, t, s = 97000.0, 100000.0, 35 / 365, 0.52
    d1 = d1_of(f, k, t, s)
    d2 = d1 - s * math.sqrt(t)
    phi = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    q = black76(f, k, t, s, True)
    assert float(q.price) == pytest.approx(f * n_cdf(d1) - k * n_cdf(d2), rel=1e-13)
    assert float(q.delta) == pytest.approx(n_cdf(d1), rel=1e-14)  # delta of a call = N(d1)
    assert float(q.gamma) == pytest.approx(phi / (f * s * math.sqrt(t)), rel=1e-13)
    assert float(q.vega) == pytest.approx(f * phi * math.sqrt(t) / 100, rel=1e-13)
    assert float(q.theta) == pytest.approx(-f * phi * s / (2 * math.sqrt(t)) / 365, rel=1e-13)
    p = black76(f, k, t, s, False)
    assert float(p.delta) == pytest.approx(n_cdf(d1) - 1.0, rel=1e-13)


forwards = st.floats(min_value=1.0, max_value=1e6)
log_moneyness = st.floats(min_value=-1.5, max_value=1.5)
times = st.floats(min_value=1 / 365, max_value=3.0)
vols = st.floats(min_value=0.05, max_value=3.0)


@settings(max_examples=300, deadline=None)
@given(forwards, log_moneyness, times, vols)
def test_put_call_parity(f: float, u: float, t: float, s: float) -> None:
    k = f * math.exp(u)
    c = float(price(f, k, t, s, True))
    p = float(price(f, k, t, s, False))
    # undiscounted: C - P = F - K, to rounding of F·N(d1) and K·N(d2)
    assert c - p == pytest.approx(f - k, abs=1e-12 * (f + k))


@settings(max_examples=300, deadline=None)
@given(forwards, log_moneyness, times, vols, st.booleans())
def test_greeks_against_central_differences(f: float, u: float, t: float, s: float, call: bool) -> None:
    k = f * math.exp(u)
    q = black76(f, k, t, s, call)
    sd = s * math.sqrt(t)

    def v(ff: float = f, tt: float = t, ss: float = s) -> float:
        return float(price(ff, k, tt, ss, call))

    def dv(ff: float) -> float:
        return float(black76(ff, k, t, s, call).delta)

    # steps scaled to the distribution's width: truncation O(h²) ~ 1e-8, rounding ~ 1e-12 / (σ√T)
    h = 1e-4 * f * sd
    fd_delta = (v(ff=f + h) - v(ff=f - h)) / (2 * h)
    assert fd_delta == pytest.approx(float(q.delta), rel=1e-6, abs=1e-7)
    # gamma from the analytic delta, compared in units of φ(d1) (gamma · F·σ√T = φ(d1))
    fd_gamma = (dv(f + h) - dv(f - h)) / (2 * h)
    assert fd_gamma * f * sd == pytest.approx(float(q.gamma) * f * sd, rel=1e-6, abs=1e-7)
    # vega per 0.01 of volatility, compared per unit of F
    hs = 1e-5 * s
    fd_vega = (v(ss=s + hs) - v(ss=s - hs)) / (2 * hs) / 100
    assert fd_vega / f == pytest.approx(float(q.vega) / f, rel=1e-6, abs=1e-9)
    # theta per day: the value lost as T shortens by 1/365, compared per unit of F / 365
    ht = 1e-5 * t
    fd_theta = -(v(tt=t + ht) - v(tt=t - ht)) / (2 * ht) / 365
    assert fd_theta * 365 / f == pytest.approx(float(q.theta) * 365 / f, rel=1e-6, abs=1e-8)


@settings(max_examples=200, deadline=None)
@given(forwards, st.floats(min_value=-5.0, max_value=5.0), times, vols, st.booleans())
def test_long_option_signs(f: float, z: float, t: float, s: float, call: bool) -> None:
    # strikes within 5 standard deviations (ln(K/F) = z·σ√T) keep φ(d1) and 1 − N(|d1|) clear of underflow
    u = z * s * math.sqrt(t)
    q = black76(f, f * math.exp(u), t, s, call)
    assert float(q.theta) < 0 < float(q.vega)
    assert float(q.gamma) > 0
    assert 0 < float(q.delta) < 1 if call else -1 < float(q.delta) < 0
    assert float(q.price) >= max(f - f * math.exp(u), 0.0) if call else float(q.price) >= 0.0


def test_expired_option_is_worth_its_intrinsic_value() -> None:
    f = np.array([110.0, 90.0, 100.0, 110.0, 90.0, 100.0])
    call = np.array([True, True, True, False, False, False])
    q = black76(f, 100.0, np.array([0.0, -0.1, 0.0, 0.0, -1.0, 0.0]), 0.5, call)
    # call max(F - K, 0): 10, 0, 0 (at the money is not in the money); put max(K - F, 0): 0, 10, 0
    assert q.price.tolist() == [10.0, 0.0, 0.0, 0.0, 10.0, 0.0]
    assert q.delta.tolist() == [1.0, 0.0, 0.0, 0.0, -1.0, 0.0]
    assert q.gamma.tolist() == [0.0] * 6 and q.vega.tolist() == [0.0] * 6 and q.theta.tolist() == [0.0] * 6


def test_vectorised_over_scenarios_and_positions() -> None:
    # 3 scenarios (rows) × 4 positions (columns) equal the scalar evaluation of each cell
    f = 1000.0 * np.array([[0.9], [1.0], [1.2]])
    k = np.array([800.0, 1000.0, 1100.0, 1500.0])
    t = np.array([0.01, 0.5, 0.0, 2.0])
    s = np.array([0.4, 0.6, 0.5, 1.1])
    call = np.array([True, False, True, False])
    grid = black76(f, k, t, s, call)
    assert grid.price.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            one = black76(float(f[i, 0]), float(k[j]), float(t[j]), float(s[j]), bool(call[j]))
            assert grid.price[i, j] == float(one.price)
            assert grid.delta[i, j] == float(one.delta)
            assert grid.vega[i, j] == float(one.vega)


def test_price_delta_hand_worked_and_expired() -> None:
    # F = K = 100, σ = 0.2, T = 1: d1 = 0.1, the QuantLib value 7.965567455405804 and delta N(0.1)
    v, d = price_delta(100.0, 100.0, 1.0, 0.2, True)
    assert d is not None
    assert float(v) == pytest.approx(7.965567455405804, abs=1e-12)
    assert float(d) == pytest.approx(n_cdf(0.1), abs=1e-15)
    # expired: the intrinsic value 10 and delta +1 (call in the money), 0 and −0 for the rest
    v, d = price_delta(np.array([110.0, 90.0]), 100.0, 0.0, 0.5, np.array([True, True]))
    assert v.tolist() == [10.0, 0.0] and d is not None and d.tolist() == [1.0, 0.0]
    only, none = price_delta(100.0, 100.0, 1.0, 0.2, False, with_delta=False)
    assert none is None and float(only) == pytest.approx(7.965567455405804, abs=1e-12)


@settings(max_examples=200)
@given(forwards, log_moneyness, st.floats(min_value=-0.1, max_value=5.0), vols, st.booleans())
def test_price_delta_is_black76_bit_for_bit(f: float, u: float, t: float, s: float, call: bool) -> None:
    # the scan's price-only path runs black76's own operations: equal to the last bit, live or expired
    k = f * math.exp(u)
    q = black76(f, k, t, s, call)
    v, d = price_delta(f, k, t, s, call)
    assert d is not None
    assert float(v) == float(q.price) and float(d) == float(q.delta)
    assert float(price(f, k, t, s, call)) == float(q.price)


# ------------------------------------------------------------------------------------------------- §6.5 example


def test_worked_example_option_figures() -> None:
    as_of = parse_as_of("2026-11-20T08:00:00Z")
    call_sym = parse_option_symbol("BTC/USD:BTC-261225-100000-C")
    put_sym = parse_option_symbol("BTC/USD:BTC-261225-90000-P")
    t = time_to_expiry(call_sym.expiry, as_of)
    assert t == 35 / 365  # 2026-11-20 08:00 to 2026-12-25 08:00 is 35 days
    # Which forward? No option carries `underlying_price`, so F defaults to index_prices[BTC] = 97,000 (§6.1);
    # the perpetual's mark 97,100 is not the option's underlying. Check: with F = 97,000 the call is worth
    # 4,933.2363 and value = -2 × 4,933.2363 / 97,000 = -0.1017162 BTC; with F = 97,100 the call would be
    # worth 4,979.04 (and -2 × 4,979.04 / 97,100 = -0.10255 BTC), matching none of the example's figures.
    f = 97000.0
    assert float(price(97100.0, 100000.0, t, 0.52, True)) == pytest.approx(4979.04, abs=0.01)
    short_call = -2.0  # side × contracts × contract_size = -1 × 2 × 1
    c = black76(f, call_sym.strike, t, 0.52, call_sym.is_call)
    assert float(c.price) == pytest.approx(4933.2363, rel=1e-8)
    pos = c.scaled(short_call)
    assert float(settle_value(pos.price, f, call_sym.coin_settled)) == pytest.approx(-0.1017162, rel=1e-6)
    assert float(pos.delta) == pytest.approx(-0.9134823, rel=1e-7)
    assert float(pos.vega) == pytest.approx(-238.2518, rel=1e-6)
    assert float(pos.theta) == pytest.approx(176.9870, rel=1e-6)

    p = black76(f, put_sym.strike, time_to_expiry(put_sym.expiry, as_of), 0.58, put_sym.is_call)
    assert float(p.price) == pytest.approx(3762.0631, rel=1e-8)
    long_put = p.scaled(2.0)
    assert float(settle_value(long_put.price, f, True)) == pytest.approx(0.0775683, rel=1e-6)

    # §6.3 short call, S = F = 97,000, OTM = max(0, 100,000 - 97,000) = 3,000:
    # IM = max(0.15 × 97,000 - 3,000, 0.10 × 97,000) + mark = max(11,550, 9,700) + 4,933.2363 = 16,483.2363
    # MM = 0.075 × 97,000 + mark = 7,275 + 4,933.2363 = 12,208.2363; × 2 contracts ÷ 97,000 (coin-settled)
    m = standard_option_margin(f, call_sym.strike, c.price, True, short_call, True)
    assert float(m.initial) == pytest.approx(2 * (11550 + float(c.price)) / 97000, rel=1e-14)
    assert float(m.maintenance) == pytest.approx(2 * (7275 + float(c.price)) / 97000, rel=1e-14)
    assert float(m.initial) == pytest.approx(0.3398605, rel=1e-6)
    assert float(m.maintenance) == pytest.approx(0.2517162, rel=1e-6)
    # the long put needs no margin
    lp = standard_option_margin(f, put_sym.strike, p.price, False, 2.0, True)
    assert float(lp.initial) == 0.0 and float(lp.maintenance) == 0.0


# ------------------------------------------------------------------------------------------------- §6.3 margin


def test_standard_margin_hand_worked_cases() -> None:
    s = 100.0
    # columns: ITM call K 80 mark 25 | far OTM call K 200 mark 0.5 | OTM put K 90 mark 2 | deep ITM put K 400
    # mark 300 (expired, intrinsic) — all short 3 units, USDC-settled (no ÷ S)
    k = np.array([80.0, 200.0, 90.0, 400.0])
    mark = np.array([25.0, 0.5, 2.0, 300.0])
    call = np.array([True, True, False, False])
    m = standard_option_margin(s, k, mark, call, -3.0, False)
    im = [
        max(15 - 0, 10) + 25,  # OTM 0: 40
        max(15 - 100, 10) + 0.5,  # OTM 100: the 10 % floor, 10.5
        max(max(15 - 10, 10) + 2, max(7.5, 0.075 * 2) + 2),  # OTM 10: max(12, 9.5) = 12
        max(max(15 - 0, 10) + 300, max(7.5, 0.075 * 300) + 300),  # max(315, 322.5): the put's MM binds
    ]
    mm = [7.5 + 25, 7.5 + 0.5, max(7.5, 0.15) + 2, max(7.5, 22.5) + 300]
    assert m.initial.tolist() == pytest.approx([3 * x for x in im], rel=1e-15)
    assert m.maintenance.tolist() == pytest.approx([3 * x for x in mm], rel=1e-15)
    # coin-settled: the same ÷ S; long positions: nothing
    coin = standard_option_margin(s, k, mark, call, -3.0, True)
    assert coin.initial.tolist() == pytest.approx([3 * x / s for x in im], rel=1e-15)
    long = standard_option_margin(s, k, mark, call, 3.0, False)
    assert long.initial.tolist() == [0.0] * 4 and long.maintenance.tolist() == [0.0] * 4


def test_settle_value() -> None:
    # 1,000 USD of option value is 1,000 / 50,000 = 0.02 coin when coin-settled, 1,000 USDC otherwise
    assert settle_value([1000.0, 1000.0], 50000.0, [True, False]).tolist() == [0.02, 1000.0]


# ------------------------------------------------------------------------------------------------- symbols


def test_parse_good_symbols() -> None:
    btc = parse_option_symbol("BTC/USD:BTC-261225-100000-C")
    assert (btc.base, btc.quote, btc.settle, btc.strike, btc.kind) == ("BTC", "USD", "BTC", 100000.0, "call")
    assert btc.expiry == datetime(2026, 12, 25, 8, 0, tzinfo=UTC)
    assert btc.expiry.utcoffset() == timedelta(0)
    assert btc.coin_settled and btc.is_call
    usdc = parse_option_symbol("BTC/USDC:USDC-261225-100000-P")
    assert usdc.settle == "USDC" and not usdc.coin_settled and usdc.kind == "put" and not usdc.is_call
    eth = parse_option_symbol("ETH/USDC:USDC-270326-3250.5-C")
    assert eth.strike == 3250.5 and eth.expiry == datetime(2027, 3, 26, 8, tzinfo=UTC)
    assert option_symbol_problems("BTC/USD:BTC-280229-50000-P") == []  # 2028 is a leap year


def test_is_option_symbol() -> None:
    assert is_option_symbol("BTC/USD:BTC-261225-100000-C")
    assert is_option_symbol("BTC/USD:BTC-261225-100000")  # option-shaped: refused as an option, by field
    assert not is_option_symbol("BTC/USD:BTC")
    assert not is_option_symbol("BTC/USDT:USDT-251226")  # a dated future
    assert not is_option_symbol("BTCUSDT")


@pytest.mark.parametrize(
    ("symbol", "field", "value"),
    [
        ("BTC/USD:BTC-261332-100000-C", "expiry", "'261332'"),  # month 13
        ("BTC/USD:BTC-270229-100000-C", "expiry", "'270229'"),  # 2027 is no leap year
        ("BTC/USD:BTC-2612-100000-C", "expiry", "'2612'"),
        ("BTC/USD:BTC-261225-0-C", "strike", "'0'"),
        ("BTC/USD:BTC-261225-0.0-P", "strike", "'0.0'"),
        ("BTC/USD:BTC-261225-abc-C", "strike", "'abc'"),
        ("BTC/USD:BTC-261225-1e5-C", "strike", "'1e5'"),
        ("BTC/USD:BTC-261225-100000-X", "kind", "'X'"),
        ("BTC/USD:BTC-261225-100000-call", "kind", "'call'"),
        ("BTC/USD:BTC-261225-100000", "3 fields", "'BTC/USD:BTC-261225-100000'"),
        ("BTC/USD:BTC-261225--5-C", "3 fields", "'BTC/USD:BTC-261225--5-C'"),
        ("BTC/USD:BTC", "option symbol", "'BTC/USD:BTC'"),
    ],
)
def test_malformed_symbols_are_refused_naming_the_field(symbol: str, field: str, value: str) -> None:
    with pytest.raises(PortfolioError) as err:
        parse_option_symbol(symbol, "positions[2].symbol")
    text = str(err.value)
    assert text.startswith("positions[2].symbol ")
    assert field in text and text.endswith(f"got {value}")


def test_every_bad_field_is_reported_at_once() -> None:
    problems = option_symbol_problems("ETH/USDC:USDC-269999-0-Z", "positions[0].symbol")
    assert [p.rule.split(" ")[1] for p in problems] == ["expiry", "strike", "kind"]
    assert [p.value for p in problems] == ["269999", "0", "Z"]


# ------------------------------------------------------------------------------------------------- time


def test_time_to_expiry_and_days_forward() -> None:
    expiry = datetime(2026, 12, 25, 8, tzinfo=UTC)
    as_of = datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert time_to_expiry(expiry, as_of) == 35 / 365
    assert time_to_expiry(expiry, as_of, days_forward=7) == 28 / 365  # --days 7
    assert time_to_expiry(expiry, as_of + timedelta(hours=12)) == 34.5 / 365
    assert time_to_expiry(expiry, as_of, days_forward=40) == -5 / 365  # expired within --days: T < 0


def test_expired_at_as_of_is_invalid_input() -> None:
    opt = parse_option_symbol("BTC/USD:BTC-261225-100000-C")
    assert expiry_problems(opt, datetime(2026, 12, 25, 7, 59, 59, tzinfo=UTC)) == []
    for moment in (opt.expiry, opt.expiry + timedelta(days=3)):
        (problem,) = expiry_problems(opt, moment, "positions[1].symbol")
        assert problem.path == "positions[1].symbol"
        assert "expired" in problem.rule and "2026-12-25T08:00:00Z" in problem.rule
        assert problem.value == "BTC/USD:BTC-261225-100000-C"


def test_as_of_parsing() -> None:
    assert parse_as_of("2026-11-20T08:00:00Z") == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert parse_as_of("2026-11-20T10:00:00+02:00") == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert as_of_problems("2026-11-20T08:00:00Z") == []
    for bad in ("2026-11-20T08:00:00", "20 Nov 2026", 1763625600, None):
        (problem,) = as_of_problems(bad)
        assert problem.path == "as_of" and "ISO-8601" in problem.rule and problem.value == bad
    with pytest.raises(PortfolioError, match=r"^as_of must be an ISO-8601"):
        parse_as_of("yesterday")


# ------------------------------------------------------------------------------------------------- §6.4


def test_vol_factor_and_scenario_iv_hand_worked() -> None:
    params = VolParams()  # up 0.5, down 0.25, short power 0.3, long power 0.13
    # DTE 35 >= 30: p = 0.13, f = (30/35)^0.13
    f35 = (30 / 35) ** 0.13
    assert float(vol_factor(35.0, params)) == pytest.approx(f35, rel=1e-15)
    assert float(scenario_iv(0.52, 35.0, "up", params)) == pytest.approx(0.52 * (1 + 0.5 * f35), rel=1e-15)
    assert float(scenario_iv(0.52, 35.0, "down", params)) == pytest.approx(0.52 * (1 - 0.25 * f35), rel=1e-15)
    assert float(scenario_iv(0.52, 35.0, "unchanged", params)) == 0.52
    # DTE 7 < 30: p = 0.3, f = (30/7)^0.3
    assert float(vol_factor(7.0, params)) == pytest.approx((30 / 7) ** 0.3, rel=1e-15)
    # DTE 29.5 takes the short power, 30 the long one ((30/30)^p = 1 either way)
    assert float(vol_factor(29.5, params)) == pytest.approx((30 / 29.5) ** 0.3, rel=1e-15)
    assert float(vol_factor(30.0, params)) == 1.0
    # DTE 0.25 counts as 1: f = 30^0.3
    assert float(vol_factor(0.25, params)) == pytest.approx(30**0.3, rel=1e-15)
    # the vol-down floor: down 0.9 at DTE 1 gives 1 - 0.9 × 30^0.3 = -1.49 < 0.01, so iv × 0.01
    steep = VolParams(vol_range_down=0.9)
    assert float(scenario_iv(0.6, 1.0, "down", steep)) == pytest.approx(0.006, rel=1e-15)


def test_scenario_iv_broadcasts_states_against_positions() -> None:
    params = VolParams()
    iv = np.array([0.5, 0.8])
    dte = np.array([10.0, 90.0])
    states = np.array(["up", "unchanged", "down"])[:, None]
    got = scenario_iv(iv, dte, states, params)
    f = np.array([(30 / 10) ** 0.3, (30 / 90) ** 0.13])
    assert got.shape == (3, 2)
    assert got[0].tolist() == pytest.approx((iv * (1 + 0.5 * f)).tolist(), rel=1e-15)
    assert got[1].tolist() == iv.tolist()
    assert got[2].tolist() == pytest.approx((iv * (1 - 0.25 * f)).tolist(), rel=1e-15)
    with pytest.raises(ValueError, match="vol state"):
        scenario_iv(iv, dte, "sideways", params)


def test_vol_params_ranges() -> None:
    assert VolParams().problems() == []
    bad = VolParams(vol_range_up=-0.1, vol_range_down=1.0, short_term_vega_power=-1, long_term_vega_power=math.nan)
    assert [p.path for p in bad.problems()] == [
        "portfolio_margin.vol_range_up",
        "portfolio_margin.vol_range_down",
        "portfolio_margin.short_term_vega_power",
        "portfolio_margin.long_term_vega_power",
    ]


def test_scenario_grid_buckets_4() -> None:
    grid = scenario_grid(0.16)
    assert len(grid) == 27 + 8
    # standard: move = k × 0.16 / 4 for k = -4 … 4, i.e. -16 %, -12 %, … +16 %, each with up, unchanged, down
    moves = [-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12, 0.16]
    assert grid.move[:27].tolist() == pytest.approx([m for m in moves for _ in range(3)], abs=1e-16)
    assert grid.move[0] == -0.16 and grid.move[26] == 0.16 and grid.move[12] == 0.0
    assert list(grid.vol[:27]) == ["up", "unchanged", "down"] * 9
    assert grid.weight[:27].tolist() == [1.0] * 27 and not grid.extended[:27].any()
    # extended: the default moves, vol up, weight 0.02
    assert grid.move[27:].tolist() == [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(grid.vol[27:]) == ["up"] * 8
    assert grid.weight[27:].tolist() == [0.02] * 8 and grid.extended[27:].all()
    rows = grid.rows()
    assert rows[0] == {"move": -0.16, "vol": "up", "extended": False, "weight": 1.0}
    assert rows[-1] == {"move": 5.0, "vol": "up", "extended": True, "weight": 0.02}
    assert grid.vol_states.shape == (35,)


def test_scenario_grid_other_parameters_and_ranges() -> None:
    grid = scenario_grid(0.25, buckets=1, extended_moves=[0.5], extended_weight=0.1)
    assert grid.move.tolist() == [-0.25] * 3 + [0.0] * 3 + [0.25] * 3 + [0.5]
    assert grid.weight.tolist() == [1.0] * 9 + [0.1]
    assert len(scenario_grid(0.16, extended_moves=[])) == 27
    assert grid_problems(0.16) == [] and len(DEFAULT_EXTENDED_MOVES) == 8
    problems = grid_problems(1.0, 0, [-1.0, 0.5], -0.02)
    assert [p.path for p in problems] == [
        "portfolio_margin.price_range",
        "portfolio_margin.buckets",
        "portfolio_margin.extended_moves[0]",
        "portfolio_margin.extended_weight",
    ]
    with pytest.raises(PortfolioError, match=r"portfolio_margin\.buckets must be an integer >= 1, got true"):
        scenario_grid(0.16, buckets=True)
