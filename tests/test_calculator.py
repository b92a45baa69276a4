"""The what-if calculator's core (:mod:`margin.calculator`): hand-worked Binance USDⓈ-M liquidation prices by the
published formula (``margin-models.md`` §1.3 [binance_usdm_lp]), the combined file against ``python -m margin
evaluate``, the tier cap at a size, every bad input's message, and properties of the liquidation price in size.

Binance USDⓈ-M BTC/USDT:USDT tiers used below (``fixtures/tiers/binance-usdm.json``): tier 1 notional 0–50,000,
mmr 0.4 %, cum 0, max 125×; tier 2 50,000–600,000, mmr 0.5 %, cum 50, max 100×; tier 3 600,000–3,000,000,
mmr 0.65 %, cum 950, max 75×. SOL/USDT:USDT tier 1: 0–20,000, mmr 0.5 %, cum 0, max 100×.

One-way, one position, §1.3: ``LP = (WB − TMM₁ + UPNL₁ + cum − side·Q·EP) / (Q·mmr − side·Q)``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin import Portfolio, Position, dump_portfolio_json, load_portfolio
from margin.calculator import (
    Candidate,
    adjust_isolated_margin,
    calculate,
    free_sides,
    isolated_positions,
    known_markets,
    leverage_cap,
    normalise_symbol,
    open_markets,
)
from margin.cli import main as cli_main
from margin.errors import PortfolioError
from margin.venues.binance import Leg, usdm_liquidation_price

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json"
BTC = "BTC/USDT:USDT"


def usdm(collateral: float = 10_000.0, positions: tuple[Position, ...] = (), **prices: float) -> Portfolio:
    return Portfolio(
        venue="binance-usdm",
        collateral={"USDT": collateral},
        positions=positions,
        prices={BTC: 97_000.0, **{k.replace("_", "/", 1): v for k, v in prices.items()}},
    )


def message(portfolio: Portfolio, candidate: Candidate) -> str:
    with pytest.raises(PortfolioError) as err:
        calculate(portfolio, candidate)
    return str(err.value)


def cli_doc(portfolio: Portfolio, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``python -m margin evaluate FILE --format json`` of ``portfolio`` written to a file."""
    path = tmp_path / "combined.json"
    path.write_text(dump_portfolio_json(portfolio), encoding="utf-8")
    capsys.readouterr()
    assert cli_main(["evaluate", str(path), "--format", "json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


# ----------------------------------------------------------------------------- hand-worked liquidation prices


def test_isolated_long_by_the_published_formula() -> None:
    """0.5 BTC long isolated at 97,000, 20×: N = 0.5 × 97,000 = 48,500 (tier 1, cap 125×); isolated margin =
    N / 20 = 2,425 USDT. LP = (2,425 + 0 − 0.5 × 97,000) / (0.5 × 0.004 − 0.5) = −46,075 / −0.498 = 92,520.0803…;
    the notional at the LP, 0.5 × 92,520 = 46,260, is in tier 1 (bracket consistent). Alone and in the account
    agree: an isolated position is its own pool."""
    calc = calculate(usdm(), Candidate(BTC, "long", "isolated", 0.5, "contracts", 20.0))
    expected = 46_075.0 / 0.498
    assert calc.notional == pytest.approx(48_500.0)
    assert calc.initial_margin == pytest.approx(2_425.0)
    assert calc.isolated_margin == pytest.approx(2_425.0)
    assert calc.cap.cap == 125.0 and calc.cap.bracket.number == 1
    assert calc.liquidation_alone == pytest.approx(expected, rel=1e-12)
    assert calc.liquidation_in_account == pytest.approx(expected, rel=1e-12)
    # the venue module's own closed form (margin.venues.binance) agrees
    oracle = usdm_liquidation_price(2_425.0, 0.0, 0.0, both=Leg(1, 0.5, 97_000.0, 0.004, 0.0))
    assert calc.liquidation_alone == pytest.approx(oracle, rel=1e-12)


def test_cross_long_alone_and_in_the_account() -> None:
    """1 BTC long cross at 97,000, 20×: N = 97,000 (tier 2: mmr 0.5 %, cum 50); initial margin 4,850.
    Alone (a cross wallet of exactly 4,850): LP = (4,850 + 50 − 97,000) / (0.005 − 1) = 92,100 / 0.995 =
    92,562.8140…. In an account of 10,000 USDT: LP = (10,000 + 50 − 97,000) / −0.995 = 86,950 / 0.995 =
    87,386.9346…; both LP notionals lie in tier 2."""
    calc = calculate(usdm(), Candidate(BTC, "long", "cross", 1.0, "contracts", 20.0))
    assert calc.initial_margin == pytest.approx(4_850.0)
    assert calc.isolated_margin is None
    assert calc.liquidation_alone == pytest.approx(92_100.0 / 0.995, rel=1e-12)
    assert calc.liquidation_in_account == pytest.approx(86_950.0 / 0.995, rel=1e-12)
    assert calc.available_before == pytest.approx(10_000.0)
    assert calc.available_after == pytest.approx(10_000.0 - 4_850.0)


def test_an_isolated_candidate_moves_the_cross_positions() -> None:
    """The account holds 1 BTC long cross (entry 97,000, 20×) on 10,000 USDT: LP 86,950 / 0.995 = 87,386.93.
    Candidate: SOL long isolated, notional 1,000 USDT at 180, 10×: Q = 1,000 / 180 = 5.5556, margin 100 USDT.
    SOL alone: LP = (100 − 1,000) / (Q × 0.005 − Q) = 900 × 180 / (0.995 × 1,000) = 162.0 / 0.995 = 162.8141.
    The 100 USDT leave the cross wallet: BTC LP after = (9,900 + 50 − 97,000) / −0.995 = 87,050 / 0.995 =
    87,487.44, a change of +100 / 0.995 = +100.5025 USDT."""
    btc = Position(BTC, "long", 1.0, 97_000.0, leverage=20.0)
    pf = usdm(positions=(btc,), SOL_USDT=180.0)
    pf = Portfolio(pf.venue, pf.collateral, pf.positions, {BTC: 97_000.0, "SOL/USDT:USDT": 180.0})
    calc = calculate(pf, Candidate("SOLUSDT", "long", "isolated", 1_000.0, "notional", 10.0))
    assert calc.contracts == pytest.approx(1_000.0 / 180.0)
    assert calc.initial_margin == pytest.approx(100.0)
    assert calc.liquidation_alone == pytest.approx(162.0 / 0.995, rel=1e-12)
    assert calc.liquidation_in_account == pytest.approx(162.0 / 0.995, rel=1e-12)
    (change,) = calc.others
    assert change.before == pytest.approx(86_950.0 / 0.995, rel=1e-12)
    assert change.after == pytest.approx(87_050.0 / 0.995, rel=1e-12)
    assert change.change == pytest.approx(100.0 / 0.995, rel=1e-9)


def test_isolated_margin_adjuster() -> None:
    """The 0.5 BTC 20× isolated long with 575 USDT added: margin 3,000, LP = (3,000 − 48,500) / −0.498 =
    45,500 / 0.498 = 91,365.46 (from 92,520.08 at the initial 2,425). Removing 2,300 leaves 125 USDT, below the
    maintenance at the mark 48,500 × 0.4 % = 194: refused; removing 2,425 or more leaves nothing: refused."""
    calc = calculate(usdm(), Candidate(BTC, "long", "isolated", 0.5, "contracts", 20.0, margin_change=575.0))
    assert calc.default_isolated_margin == pytest.approx(2_425.0)
    assert calc.isolated_margin == pytest.approx(3_000.0)
    assert calc.liquidation_alone == pytest.approx(45_500.0 / 0.498, rel=1e-12)
    assert calc.liquidation_in_account == pytest.approx(45_500.0 / 0.498, rel=1e-12)
    assert calc.liquidation_default_margin == pytest.approx(46_075.0 / 0.498, rel=1e-12)
    assert calc.position.isolated_margin == pytest.approx(3_000.0)
    low = message(usdm(), Candidate(BTC, "long", "isolated", 0.5, "contracts", 20.0, margin_change=-2_300.0))
    assert low == "candidate.margin_change must keep the position out of liquidation at the mark, got -2300.0"
    gone = message(usdm(), Candidate(BTC, "long", "isolated", 0.5, "contracts", 20.0, margin_change=-2_425.0))
    assert gone.startswith("candidate.margin_change must leave the isolated margin above 0 (initial margin 2,425.00")


def test_size_units_agree() -> None:
    """0.5 contracts at 97,000 = notional 48,500 USDT = margin 2,425 USDT at 20×: one position."""
    a = calculate(usdm(), Candidate(BTC, "long", "cross", 0.5, "contracts", 20.0))
    b = calculate(usdm(), Candidate(BTC, "long", "cross", 48_500.0, "notional", 20.0))
    c = calculate(usdm(), Candidate(BTC, "long", "cross", 2_425.0, "margin", 20.0))
    for x in (b, c):
        assert x.contracts == pytest.approx(0.5, rel=1e-12)
        assert x.liquidation_in_account == pytest.approx(a.liquidation_in_account, rel=1e-12)
        assert x.initial_margin == pytest.approx(2_425.0)


def test_venue_without_leverage_margin_unit() -> None:
    """dYdX BTC-USD: one tier, imr 2 %, mmr 1.2 %, no leverage setting: a margin of 1,000 USDC is a notional of
    1,000 / 0.02 = 50,000 USDC (found by bisection on the model's initial-margin rule)."""
    pf = Portfolio(venue="dydx", collateral={"USDC": 5_000.0}, prices={"BTC/USD:USDC": 100_000.0})
    calc = calculate(pf, Candidate("BTC-USD", "short", "cross", 1_000.0, "margin", 7.0))
    assert calc.leverage is None and calc.notes
    assert calc.notional == pytest.approx(50_000.0, rel=1e-9)
    assert calc.initial_margin == pytest.approx(1_000.0, rel=1e-9)


# ----------------------------------------------------------------------------- the engine on the combined file


@pytest.mark.parametrize(
    "candidate",
    [
        Candidate("BNBUSDT", "Long", "Cross", 10_000.0, "notional", 10.0, price=600.0),
        Candidate("BNB/USDT:USDT", "short", "ISOLATED", 25.0, "contracts", 20.0, price=600.0),
        Candidate("xrpusdt", "long", "isolated", 300.0, "margin", 5.0, price=2.5, margin_change=40.0),
    ],
    ids=["cross-notional", "isolated-contracts", "isolated-margin-adjusted"],
)
def test_combined_file_equals_the_cli(candidate: Candidate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default sample plus the candidate: every liquidation price the calculator gives (the candidate's and
    every other position's after) is the one ``python -m margin evaluate`` prints for the combined file, and
    every "before" the one it prints for the sample itself."""
    pf = load_portfolio(SAMPLE)
    calc = calculate(pf, candidate)
    after = cli_doc(calc.combined, tmp_path, capsys)["modes"]["as_is"]["positions"]
    before = cli_doc(pf, tmp_path, capsys)["modes"]["as_is"]["positions"]
    assert len(after) == len(pf.positions) + 1
    assert after[-1]["liquidation_price"] == calc.liquidation_in_account
    assert after[-1]["initial_margin"] == calc.initial_margin
    for change, b, a in zip(calc.others, before, after, strict=False):
        assert change.id == b["id"] == a["id"]
        assert change.before == b["liquidation_price"]
        assert change.after == a["liquidation_price"]


def test_a_new_mark_re_marks_the_whole_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hedge-mode book long BTC: a short candidate at 95,000 (the book's mark 97,000) re-marks BTC for before
    and after alike, and says so."""
    btc = Position(BTC, "long", 0.2, 90_000.0, leverage=10.0)
    pf = Portfolio("binance-usdm", {"USDT": 20_000.0}, (btc,), {BTC: 97_000.0}, position_mode="hedge")
    assert free_sides(pf, BTC) == ("short",)
    calc = calculate(pf, Candidate(BTC, "short", "cross", 0.1, "contracts", 10.0, price=95_000.0))
    assert any("95000" in n for n in calc.notes)
    assert calc.combined.prices[BTC] == 95_000.0
    before = cli_doc(pf.with_prices({BTC: 95_000.0}), tmp_path, capsys)["modes"]["as_is"]["positions"]
    assert calc.others[0].before == before[0]["liquidation_price"]
    after = cli_doc(calc.combined, tmp_path, capsys)["modes"]["as_is"]["positions"]
    assert calc.others[0].after == after[0]["liquidation_price"] == after[1]["liquidation_price"]  # one pool, one LP


# ----------------------------------------------------------------------------- the tier cap


def test_tier_cap_at_size() -> None:
    """10 BTC at 97,000 = 970,000 USDT: tier 3 (600,000–3,000,000), cap 75×; 0.5 BTC (48,500) is in tier 1, 125×.
    A margin of 1,000 USDT: 125× would be 125,000 (tier 2, cap 100×), so the cap is 100× (notional 100,000)."""
    pf = usdm()
    big = leverage_cap(pf, "BTCUSDT", 10.0, "contracts", 97_000.0)
    assert big.cap == 75.0 and big.bracket.number == 3 and big.notional == pytest.approx(970_000.0)
    assert leverage_cap(pf, BTC, 48_500.0, "notional", 97_000.0).cap == 125.0
    by_margin = leverage_cap(pf, BTC, 1_000.0, "margin", 97_000.0)
    assert by_margin.cap == 100.0 and by_margin.bracket.number == 2
    text = message(pf, Candidate(BTC, "long", "cross", 10.0, "contracts", 100.0))
    assert text == (
        "candidate.leverage must be <= 75, the maximum of the tier at the entry notional 970,000.00 USDT (tier 3 of "
        "12: notional 600,000 to 3,000,000 USDT, max leverage 75×, maintenance rate 0.65%), got 100.0"
    )
    assert calculate(pf, Candidate(BTC, "long", "cross", 10.0, "contracts", 75.0)).cap.cap == 75.0


# ----------------------------------------------------------------------------- bad inputs


def cand(**fields: Any) -> Candidate:
    """A 1-contract BTC long cross at 10× with some fields replaced."""
    base: dict[str, Any] = {"symbol": BTC, "side": "long", "margin_mode": "cross", "size": 1.0, "leverage": 10.0}
    return Candidate(**{**base, **fields})


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (cand(size=0.0), "candidate.size must be > 0, got 0.0"),
        (cand(size=-1.0, unit="notional"), "candidate.size must be > 0, got -1.0"),
        (cand(size=math.nan), "candidate.size must be a finite number, got NaN"),
        (cand(leverage=0.5), "candidate.leverage must be >= 1, got 0.5"),
        (cand(side="sideways"), "candidate.side must be 'long' or 'short', got 'sideways'"),
        (cand(margin_mode=""), "candidate.margin_mode must be 'cross' or 'isolated', got ''"),
        (cand(unit="lots"), "candidate.unit must be 'contracts', 'notional' or 'margin', got 'lots'"),
        (cand(price=0.0), "candidate.price must be > 0, got 0.0"),
        (cand(symbol="ETH/USDT:USDT"), "candidate.price is required: the portfolio has no mark for ETH/USDT:USDT"),
    ],
    ids=["size-0", "size-negative", "size-nan", "leverage-below-1", "side", "mode", "unit", "price-0", "no-price"],
)
def test_bad_inputs_name_the_field_rule_and_value(candidate: Candidate, expected: str) -> None:
    assert message(usdm(), candidate) == expected


def test_unknown_symbol() -> None:
    text = message(usdm(), Candidate("XYZUSDT", "long", "cross", 1.0, "contracts", 10.0, price=1.0))
    assert text.startswith("candidate.symbol must be one of the 20 markets binance-usdm has a tier table for (BTC/")
    assert text.endswith(": XYZ/USDT:USDT has none, got 'XYZUSDT'")
    text = message(usdm(), Candidate("not a symbol", "long", "cross", 1.0, "contracts", 10.0, price=1.0))
    assert text.endswith("got 'not a symbol'")


def test_several_problems_at_once() -> None:
    text = message(usdm(), Candidate(BTC, "up", "cross", 0.0, "contracts", 10.0))
    assert text == (
        "2 problems:\n  - candidate.side must be 'long' or 'short', got 'up'\n  - candidate.size must be > 0, got 0.0"
    )


def test_held_market_is_refused_in_one_way_mode() -> None:
    pf = load_portfolio(SAMPLE)
    assert "BTC/USDT:USDT" in known_markets(pf) and "BTC/USDT:USDT" not in open_markets(pf)
    text = message(pf, Candidate("BTCUSDT", "short", "cross", 0.1, "contracts", 10.0))
    assert text == (
        "candidate.symbol must be a market the portfolio holds no position in (one-way mode): positions[0] "
        "(BTC/USDT:USDT long) holds one; the calculator tries a new position, got 'BTCUSDT'"
    )


def test_plain_symbols_and_any_case_enums() -> None:
    pf = usdm()
    assert normalise_symbol(pf, "BTCUSDT") == normalise_symbol(pf, "btcusdt") == BTC
    a = calculate(pf, Candidate("btcusdt", "Long", "ISOLATED", 0.5, "Contracts", 20.0))
    assert (a.candidate.symbol, a.candidate.side, a.candidate.margin_mode, a.candidate.unit) == (
        BTC,
        "long",
        "isolated",
        "contracts",
    )
    assert a.liquidation_alone == pytest.approx(46_075.0 / 0.498, rel=1e-12)


def test_coin_margined_candidate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Binance COIN-M BTCUSD_PERP (100 USD contracts): a notional of 1 BTC at 97,000 is 970 contracts."""
    pf = Portfolio("binance-coinm", {"BTC": 2.0}, (), {"BTC/USD:BTC": 97_000.0})
    calc = calculate(pf, Candidate("BTCUSD_PERP", "long", "cross", 1.0, "notional", 20.0))
    assert calc.contracts == pytest.approx(970.0) and calc.settle == "BTC" and calc.quote == "USD"
    after = cli_doc(calc.combined, tmp_path, capsys)["modes"]["as_is"]["positions"]
    assert after[0]["liquidation_price"] == calc.liquidation_in_account


# ----------------------------------------------------------------------------- properties

#: a cross account the candidate can strain (100,000 USDT against up to 1.94 M of notional), and one rich enough
#: to hold any isolated margin drawn (20 BTC at 5× ties up 388,000 USDT)
ACCOUNT = {"cross": usdm(100_000.0), "isolated": usdm(1_000_000.0)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=st.floats(0.01, 20.0),
    b=st.floats(0.01, 20.0),
    mode=st.sampled_from(["cross", "isolated"]),
)
def test_a_larger_long_never_moves_its_liquidation_further_away(a: float, b: float, mode: str) -> None:
    """At one leverage (5×, allowed in every tier up to 20 BTC), a larger long's liquidation price is never lower:
    isolated, its margin grows with it but maintenance per unit (MM(N)/N) does not fall; in a cross account the
    same wallet carries more. Alone, an isolated position and a lone cross wallet of the same margin agree."""
    small, large = sorted((a, b))
    pf = ACCOUNT[mode]
    lo = calculate(pf, Candidate(BTC, "long", mode, small, "contracts", 5.0))
    hi = calculate(pf, Candidate(BTC, "long", mode, large, "contracts", 5.0))
    lp_lo = lo.liquidation_in_account or 0.0
    lp_hi = hi.liquidation_in_account or 0.0
    assert lp_hi >= lp_lo * (1 - 1e-12)
    assert (hi.liquidation_alone or 0.0) >= (lo.liquidation_alone or 0.0) * (1 - 1e-12)
    if mode == "isolated":
        assert lo.liquidation_alone == pytest.approx(lo.liquidation_in_account, rel=1e-12)
    cross_alone = calculate(pf, Candidate(BTC, "long", "cross", small, "contracts", 5.0)).liquidation_alone
    iso_alone = calculate(
        ACCOUNT["isolated"], Candidate(BTC, "long", "isolated", small, "contracts", 5.0)
    ).liquidation_alone
    assert cross_alone == pytest.approx(iso_alone, rel=1e-12)


# --------------------------------------------------------------------------- margin of a held isolated position
MIXED = Path(__file__).resolve().parent.parent / "fixtures" / "portfolios" / "mixed-cross-isolated.json"


def test_adding_margin_to_a_held_isolated_position() -> None:
    """mixed-cross-isolated: WIF long 8,000 at 1.45, 20×, isolated margin 580 USDT, tier 1 mmr 1 %, cum 0.
    Binance isolated long (margin-models.md §1): LP = (Q·EP − WB − cum) / (Q·(1 − mmr)).
    Before: (11,600 − 580) / (8,000 × 0.99) = 11,020 / 7,920 = 1.391414…
    +100 USDT: (11,600 − 680) / 7,920 = 10,920 / 7,920 = 1.378787…; the 100 leave the USDT cross wallet."""
    pf = load_portfolio(MIXED)
    (i,) = isolated_positions(pf)
    adj = adjust_isolated_margin(pf, i, 100.0)
    assert (adj.margin_before, adj.margin_after) == (580.0, 680.0)
    assert adj.liquidation_before == pytest.approx(11_020 / 7_920, rel=1e-12)
    assert adj.liquidation_after == pytest.approx(10_920 / 7_920, rel=1e-12)
    assert adj.available_after == pytest.approx(adj.available_before - 100.0, abs=1e-9)
    # the adjusted book, evaluated by the CLI's reader and engine, gives the same liquidation price
    assert adj.adjusted.positions[i].isolated_margin == 680.0


def test_removing_margin_moves_the_liquidation_price_towards_the_mark() -> None:
    """−200 USDT: (11,600 − 380) / 7,920 = 11,220 / 7,920 = 1.416667 (mark 1.42: still alive)."""
    pf = load_portfolio(MIXED)
    (i,) = isolated_positions(pf)
    adj = adjust_isolated_margin(pf, i, -200.0)
    assert adj.liquidation_after == pytest.approx(11_220 / 7_920, rel=1e-12)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (-580.0, "must stay above 0 USDT"),
        # −300: (11,600 − 280) / 7,920 = 1.4293 > mark 1.42: liquidated at once, refused
        (-300.0, "must keep the position out of liquidation at the mark"),
        (1e9, "may add at most the USDT cross pool's available margin"),
        (math.nan, "must be a finite number"),
    ],
)
def test_bad_margin_changes_are_refused_naming_the_field(change: float, rule: str) -> None:
    pf = load_portfolio(MIXED)
    (i,) = isolated_positions(pf)
    with pytest.raises(PortfolioError) as err:
        adjust_isolated_margin(pf, i, change)
    text = "; ".join(str(p) for p in err.value.problems)
    assert f"positions[{i}].isolated_margin" in text and rule in text, text


def test_a_cross_position_has_no_margin_to_adjust() -> None:
    pf = load_portfolio(MIXED)
    with pytest.raises(PortfolioError, match="must be an isolated position"):
        adjust_isolated_margin(pf, 0, 10.0)
