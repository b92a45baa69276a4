"""Price shocks (``portfolio-format.md`` §4, ``--shock TARGET=PCT``): parsing, matching, compounding."""

from __future__ import annotations

import pytest

from margin.errors import PortfolioError
from margin.market import MarketSnapshot
from margin.shocks import Shock, combine, matches, parse_shock

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC", "BTC/USDT:USDT-251226", "SOL/USDC:USDC")


@pytest.mark.parametrize(
    ("text", "target", "move"),
    [
        ("BTC=-20%", "BTC", -0.2),
        ("BTC=-0.2", "BTC", -0.2),
        ("BTC/USDT:USDT=-20%", "BTC/USDT:USDT", -0.2),
        ("ALL=-10%", "ALL", -0.1),
        ("ETH=+15%", "ETH", 0.15),
        ("ETH=15%", "ETH", 0.15),
        ("ETH=0.5", "ETH", 0.5),
        ("ETH=2", "ETH", 2.0),  # +200 %: rises are not capped
        ("SOL=-99.5%", "SOL", -0.995),
        ("SOL=-.5", "SOL", -0.5),
        ("SOL=-5e-1", "SOL", -0.5),
        ("SOL=0%", "SOL", 0.0),
        (" BTC = -20 % ", "BTC", -0.2),
    ],
)
def test_parse_shock_forms(text: str, target: str, move: float) -> None:
    shock = parse_shock(text)
    assert shock == Shock(target=target, move=pytest.approx(move, rel=1e-15, abs=0.0))


def test_percent_and_fraction_are_the_same() -> None:
    assert parse_shock("BTC=-20%") == parse_shock("BTC=-0.2")


@pytest.mark.parametrize(
    "text",
    [
        "BTC",  # no move
        "BTC=",  # empty move
        "=-20%",  # no target
        "BTC=abc",
        "BTC=-20%%",
        "BTC=twenty",
        "BTC=--20%",
        "BTC=nan",
        "BTC=inf",
        "BTC=-100%",  # the price would reach 0
        "BTC=-1",
        "BTC=-150%",
        "BTC=-1.5",
        "",
    ],
)
def test_parse_shock_errors(text: str) -> None:
    with pytest.raises(PortfolioError) as info:
        parse_shock(text)
    err = info.value
    assert len(err.problems) == 1
    assert err.problems[0].path == "--shock"
    assert err.message.startswith("--shock ")


def test_move_at_or_below_minus_100_percent_message() -> None:
    with pytest.raises(PortfolioError) as info:
        parse_shock("BTC=-150%")
    assert str(info.value) == "--shock move must be above -100%, got '-150%'"


@pytest.mark.parametrize(
    ("target", "hit"),
    [
        ("BTC", {"BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USDT:USDT-251226"}),  # every symbol whose base is BTC
        ("btc", {"BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USDT:USDT-251226"}),
        ("BTC/USDT:USDT", {"BTC/USDT:USDT"}),  # one symbol
        ("ALL", set(SYMBOLS)),
        ("all", set(SYMBOLS)),
        ("USDT", set()),  # a quote/settle asset is not a base
        ("SOL", {"SOL/USDC:USDC"}),
    ],
)
def test_matches(target: str, hit: set[str]) -> None:
    assert {s for s in SYMBOLS if matches(target, s)} == hit


def test_combine_single_base_shock() -> None:
    moves = combine([parse_shock("BTC=-20%")], SYMBOLS)
    assert moves == {"BTC/USDT:USDT": -0.2, "BTC/USD:BTC": -0.2, "BTC/USDT:USDT-251226": -0.2}


def test_combine_lists_only_moved_symbols() -> None:
    assert combine([parse_shock("ETH/USDT:USDT=-0.2")], SYMBOLS) == {"ETH/USDT:USDT": -0.2}
    assert combine([], SYMBOLS) == {}


def test_combine_compounds() -> None:
    """BTC=-20% then ALL=-10%: BTC to 0.8 × 0.9 = 0.72 of its mark (move −0.28); others −10 %."""
    moves = combine([parse_shock("BTC=-20%"), parse_shock("ALL=-10%")], ["BTC/USDT:USDT", "ETH/USDT:USDT"])
    assert moves["BTC/USDT:USDT"] == pytest.approx(-0.28, rel=1e-12)
    assert moves["ETH/USDT:USDT"] == pytest.approx(-0.1, rel=1e-12)
    prices = MarketSnapshot({"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0}).moved(moves).marks
    # 97,000 × 0.72 = 69,840; 3,400 × 0.9 = 3,060
    assert prices["BTC/USDT:USDT"] == pytest.approx(69840.0, rel=1e-12)
    assert prices["ETH/USDT:USDT"] == pytest.approx(3060.0, rel=1e-12)


def test_combine_order_does_not_matter() -> None:
    a = combine([parse_shock("BTC=-20%"), parse_shock("ALL=-10%")], SYMBOLS)
    b = combine([parse_shock("ALL=-10%"), parse_shock("BTC=-20%")], SYMBOLS)
    assert a.keys() == b.keys()
    for s in a:
        assert a[s] == pytest.approx(b[s], rel=1e-12)


def test_combine_same_target_twice_compounds() -> None:
    """+50 % then −50 %: 1.5 × 0.5 = 0.75 of the mark (move −0.25), not 0."""
    moves = combine([parse_shock("ETH=+50%"), parse_shock("ETH=-50%")], SYMBOLS)
    assert moves == {"ETH/USDT:USDT": pytest.approx(-0.25, rel=1e-12)}


def test_combine_symbol_and_base_compound() -> None:
    """BTC/USDT:USDT=-10% and BTC=-10%: that symbol 0.9² = 0.81 (−0.19); the other BTC symbols −0.1."""
    moves = combine([parse_shock("BTC/USDT:USDT=-10%"), parse_shock("BTC=-10%")], SYMBOLS)
    assert moves["BTC/USDT:USDT"] == pytest.approx(-0.19, rel=1e-12)
    assert moves["BTC/USD:BTC"] == pytest.approx(-0.1, rel=1e-12)
    assert "ETH/USDT:USDT" not in moves


def test_combine_target_matching_nothing() -> None:
    with pytest.raises(PortfolioError) as info:
        combine([parse_shock("DOGE=-20%")], ["BTC/USDT:USDT", "ETH/USDT:USDT"])
    problem = info.value.problems[0]
    assert problem.path == "--shock"
    assert problem.value == "DOGE"
    assert "matches no symbol" in problem.rule


def test_combine_reports_every_unmatched_target() -> None:
    shocks = [parse_shock("DOGE=-20%"), parse_shock("BTC=-10%"), parse_shock("XRP/USDT:USDT=-5%")]
    with pytest.raises(PortfolioError) as info:
        combine(shocks, ["BTC/USDT:USDT"])
    assert [p.value for p in info.value.problems] == ["DOGE", "XRP/USDT:USDT"]


def test_shocked_prices_leaves_unmoved_symbols() -> None:
    marks = {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0}
    # 3,400 × 1.5 = 5,100; BTC unmoved
    moved = MarketSnapshot(marks).moved({"ETH/USDT:USDT": 0.5}).marks
    assert moved == {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 5100.0}
