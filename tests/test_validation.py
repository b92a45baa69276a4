"""Bad input from the library (``portfolio-format.md`` §1-§2): every class of invalid input raises a
:class:`PortfolioError` whose message names the path, the rule and the value found, every problem of a
file is reported at once, and nothing is returned from a partly valid file.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
from examples import example

from margin.errors import PortfolioError, Problem
from margin.files import parse_portfolio_json
from margin.portfolio import Portfolio, portfolio_from_dict

EXAMPLE: dict[str, Any] = example()  # portfolio-format.md §1, verbatim (tests/examples.py)

NUMBER_FIELDS = ("contracts", "entry_price", "leverage", "isolated_margin", "mark_price", "contract_size")


def example(mutate: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    """A deep copy of the §1 example, changed by ``mutate``."""
    data = copy.deepcopy(EXAMPLE)
    if mutate is not None:
        mutate(data)
    return data


def problems_of(data: object) -> PortfolioError:
    """The error raised for ``data``; fails when it is accepted."""
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(data, "book.json")
    err = info.value
    assert err.problems, "a PortfolioError must carry at least one problem"
    assert all(isinstance(p, Problem) for p in err.problems)
    return err


def find(err: PortfolioError, path: str) -> Problem:
    """The one problem at ``path``."""
    hits = [p for p in err.problems if p.path == path]
    assert hits, f"no problem at {path!r} in {err.message!r}"
    return hits[0]


def test_example_is_valid() -> None:
    portfolio = portfolio_from_dict(example(), "book.json")
    assert isinstance(portfolio, Portfolio)
    assert [p.symbol for p in portfolio.positions] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_message_names_path_rule_and_value() -> None:
    err = problems_of(example(lambda d: d["positions"][1].update(leverage=0)))
    assert len(err.problems) == 1
    assert str(err.problems[0]) == "positions[1].leverage must be >= 1, got 0"
    # the file name comes first
    assert err.message == "book.json: positions[1].leverage must be >= 1, got 0"
    assert str(err) == err.message


# --------------------------------------------------------------------------- numbers


POSITIVE_FIELDS = ("contracts", "entry_price", "isolated_margin", "mark_price", "contract_size")


@pytest.mark.parametrize("field", POSITIVE_FIELDS)
@pytest.mark.parametrize("value", [-1, 0, -0.5])
def test_non_positive_numbers(field: str, value: float) -> None:
    err = problems_of(example(lambda d: d["positions"][1].update({field: value})))
    problem = find(err, f"positions[1].{field}")
    assert problem.rule == "must be > 0"
    assert problem.value == value
    assert f"positions[1].{field} must be > 0, got {value!r}" in err.message


@pytest.mark.parametrize("value", [0, 0.5, -3])
def test_leverage_below_one(value: float) -> None:
    err = problems_of(example(lambda d: d["positions"][0].update(leverage=value)))
    assert str(find(err, "positions[0].leverage")) == f"positions[0].leverage must be >= 1, got {value!r}"


@pytest.mark.parametrize("field", NUMBER_FIELDS)
@pytest.mark.parametrize(("value", "shown"), [(math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_non_finite_numbers(field: str, value: float, shown: str) -> None:
    err = problems_of(example(lambda d: d["positions"][1].update({field: value})))
    problem = find(err, f"positions[1].{field}")
    assert problem.rule == "must be a finite number"
    assert str(problem).endswith(f"got {shown}")


@pytest.mark.parametrize("field", NUMBER_FIELDS)
@pytest.mark.parametrize(
    ("value", "shown"), [("5", "'5'"), (True, "true"), (False, "false"), ([1], "[1]"), ({"v": 1}, "{'v': 1}")]
)
def test_wrongly_typed_numbers(field: str, value: object, shown: str) -> None:
    """Strings and booleans are not numbers (JSON ``true`` is not 1)."""
    err = problems_of(example(lambda d: d["positions"][1].update({field: value})))
    problem = find(err, f"positions[1].{field}")
    assert problem.rule == "must be a number"
    assert str(problem) == f"positions[1].{field} must be a number, got {shown}"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (-5, "must be >= 0"),
        (math.nan, "must be a finite number"),
        (math.inf, "must be a finite number"),
        ("25000", "must be a number"),
        (True, "must be a number"),
    ],
)
def test_bad_collateral(value: object, rule: str) -> None:
    err = problems_of(example(lambda d: d["collateral"].update(USDT=value)))
    assert find(err, "collateral.USDT").rule == rule


def test_zero_collateral_is_valid_without_isolated_positions() -> None:
    """Collateral may be 0 (``>= 0``); only isolated margins must be covered."""
    data = example(lambda d: (d["collateral"].update(USDT=0.0), d["positions"].pop()))
    assert portfolio_from_dict(data).collateral == {"USDT": 0.0}


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (0, "must be > 0"),
        (-97000, "must be > 0"),
        (math.nan, "must be a finite number"),
        ("97000", "must be a number"),
        (False, "must be a number"),
    ],
)
def test_bad_price(value: object, rule: str) -> None:
    err = problems_of(example(lambda d: d["prices"].update({"BTC/USDT:USDT": value})))
    problem = find(err, "prices['BTC/USDT:USDT']")
    assert problem.rule == rule
    assert "BTC/USDT:USDT" in str(problem)


@pytest.mark.parametrize("value", [-0.001, 0.5, math.nan, "0.0005"])
def test_bad_taker_fee(value: object) -> None:
    err = problems_of(example(lambda d: d.update(taker_fee=value)))
    assert find(err, "taker_fee")


# --------------------------------------------------------------------------- required fields, strings, enums


@pytest.mark.parametrize("field", ["symbol", "side", "contracts", "entry_price"])
def test_missing_position_field(field: str) -> None:
    err = problems_of(example(lambda d: d["positions"][0].pop(field)))
    assert str(find(err, f"positions[0].{field}")) == f"positions[0].{field} is required"


@pytest.mark.parametrize("field", ["format", "venue", "collateral", "positions"])
def test_missing_top_level_field(field: str) -> None:
    err = problems_of(example(lambda d: d.pop(field)))
    assert find(err, field)


def test_wrong_format_tag() -> None:
    err = problems_of(example(lambda d: d.update(format="margin-portfolio/2")))
    assert str(find(err, "format")) == "format must be 'margin-portfolio/1', got 'margin-portfolio/2'"


@pytest.mark.parametrize(("field", "value"), [("side", "buy"), ("side", "LONGER"), ("margin_mode", "portfolio")])
def test_bad_enums(field: str, value: str) -> None:
    err = problems_of(example(lambda d: d["positions"][0].update({field: value})))
    problem = find(err, f"positions[0].{field}")
    assert problem.value == value
    assert repr(value) in str(problem)


@pytest.mark.parametrize("field", ["symbol", "side", "margin_mode", "id"])
def test_non_string_fields(field: str) -> None:
    err = problems_of(example(lambda d: d["positions"][0].update({field: 7})))
    assert str(find(err, f"positions[0].{field}")) == f"positions[0].{field} must be a string, got 7"


def test_malformed_symbol() -> None:
    err = problems_of(example(lambda d: d["positions"][0].update(symbol="BTC-USDT-FOO")))
    problem = find(err, "positions[0].symbol")
    assert "BASE/QUOTE:SETTLE" in problem.rule
    assert problem.value == "BTC-USDT-FOO"


@pytest.mark.parametrize(("field", "given", "read"), [("side", "LONG", "long"), ("margin_mode", "Cross", "cross")])
def test_enums_in_any_case_are_understood(field: str, given: str, read: str) -> None:
    """Issue 9: a wrong-case enum (``Long``, ``Cross``) is read as the canonical one."""
    doc = example(lambda d: d["positions"][0].update({field: given}))
    pf = portfolio_from_dict(doc)
    assert getattr(pf.positions[0], field) == read


def test_bad_position_mode() -> None:
    err = problems_of(example(lambda d: d.update(position_mode="both")))
    assert find(err, "position_mode").value == "both"


@pytest.mark.parametrize("data", [[], "portfolio", 3, None])
def test_top_level_not_an_object(data: object) -> None:
    err = problems_of(data)
    assert find(err, "(top level)").rule == "must be a JSON object"


def test_position_not_an_object() -> None:
    err = problems_of(example(lambda d: d["positions"].append("BTC long")))
    assert find(err, "positions[2]").rule == "must be an object"


def test_positions_not_a_list() -> None:
    err = problems_of(example(lambda d: d.update(positions={})))
    assert find(err, "positions")


# --------------------------------------------------------------------------- unknown fields, ids


def test_unknown_top_level_field() -> None:
    err = problems_of(example(lambda d: d.update(leverage=10)))
    problem = find(err, "leverage")
    assert "is not a portfolio field" in problem.rule
    assert problem.value == 10


def test_unknown_position_field() -> None:
    """A misspelt field is rejected, not ignored (``isolatedMargin`` would silently default)."""
    err = problems_of(example(lambda d: d["positions"][1].update(isolatedMargin=3000)))
    problem = find(err, "positions[1].isolatedMargin")
    assert "is not a position field" in problem.rule
    assert "isolated_margin" in problem.rule  # lists the valid fields


def test_duplicate_ids() -> None:
    err = problems_of(example(lambda d: [p.update(id="core") for p in d["positions"]]))
    problem = find(err, "positions[1].id")
    assert "unique" in problem.rule
    assert "positions[0]" in problem.rule
    assert problem.value == "core"


def test_default_ids_collide_with_explicit_id() -> None:
    """The default id is ``"<symbol> <side>"``: an explicit id equal to another's default is a duplicate."""
    err = problems_of(example(lambda d: d["positions"][1].update(id="BTC/USDT:USDT long")))
    assert find(err, "positions[1].id").value == "BTC/USDT:USDT long"


# --------------------------------------------------------------------------- venue and symbol rules


def test_unknown_venue() -> None:
    err = problems_of(example(lambda d: d.update(venue="kraken")))
    problem = find(err, "venue")
    assert problem.value == "kraken"
    assert "binance-usdm" in problem.rule and "hyperliquid" in problem.rule  # names the valid presets


def test_venue_not_a_string() -> None:
    err = problems_of(example(lambda d: d.update(venue=5)))
    assert str(find(err, "venue")) == "venue must be a string, got 5"


def test_unknown_symbol_without_tiers() -> None:
    """binance-usdm ships no tiers for FOO/USDT:USDT and the file gives none."""

    def add(d: dict[str, Any]) -> None:
        d["positions"].append(
            {"symbol": "FOO/USDT:USDT", "side": "long", "contracts": 1, "entry_price": 2.0, "leverage": 2}
        )
        d["prices"]["FOO/USDT:USDT"] = 2.0

    err = problems_of(example(add))
    problem = find(err, "positions[2].symbol")
    assert "tier" in problem.rule
    assert "tiers['FOO/USDT:USDT']" in problem.rule
    assert problem.value == "FOO/USDT:USDT"


def test_unknown_symbol_with_tiers_in_file_is_valid() -> None:
    def add(d: dict[str, Any]) -> None:
        d["positions"].append(
            {"symbol": "FOO/USDT:USDT", "side": "long", "contracts": 1, "entry_price": 2.0, "leverage": 2}
        )
        d["prices"]["FOO/USDT:USDT"] = 2.0
        d["tiers"]["FOO/USDT:USDT"] = [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 20}]

    assert len(portfolio_from_dict(example(add)).positions) == 3


def test_generic_venue_needs_tiers_for_every_symbol() -> None:
    """``generic`` has no defaults: ETH (no tiers in the file) is invalid, BTC (tiers given) is not."""
    err = problems_of(example(lambda d: d.update(venue="generic")))
    assert [p.path for p in err.problems] == ["positions[1].symbol"]


def test_inverse_without_contract_size() -> None:
    """bybit takes inverse contracts; it ships a contract size for BTC/USD:BTC but not for ETH/USD:ETH."""
    data = {
        "format": "margin-portfolio/1",
        "venue": "bybit",
        "collateral": {"ETH": 10.0},
        "prices": {"ETH/USD:ETH": 3400.0},
        "tiers": {"ETH/USD:ETH": [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 100}]},
        "positions": [
            {"symbol": "ETH/USD:ETH", "side": "long", "contracts": 100, "entry_price": 3300.0, "leverage": 10}
        ],
    }
    err = problems_of(data)
    problem = find(err, "positions[0].contract_size")
    assert "required" in problem.rule and "inverse" in problem.rule
    # the same position with a contract size is valid
    data["positions"][0]["contract_size"] = 10
    assert portfolio_from_dict(data).positions[0].contract_size == 10.0


def test_inverse_contract_on_linear_only_venue() -> None:
    """binance-usdm is linear only: BTC/USD:BTC (settle = base) is the wrong kind of contract there."""

    def add(d: dict[str, Any]) -> None:
        d["positions"].append(
            {
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": 1,
                "entry_price": 95000.0,
                "leverage": 5,
                "contract_size": 100,
            }
        )
        d["prices"]["BTC/USD:BTC"] = 97000.0

    err = problems_of(example(add))
    problem = find(err, "positions[2].symbol")
    assert "linear" in problem.rule and "binance-usdm" in problem.rule
    assert problem.value == "BTC/USD:BTC"


def test_linear_contract_on_inverse_only_venue() -> None:
    err = problems_of(example(lambda d: d.update(venue="binance-coinm")))
    assert {p.path for p in err.problems} == {"positions[0].symbol", "positions[1].symbol"}
    assert all("inverse" in p.rule for p in err.problems)


def test_leverage_above_tier_maximum() -> None:
    """BTC tier (file): max leverage 125 for notional 0-50,000; entry notional 0.5 × 95,000 = 47,500."""
    err = problems_of(example(lambda d: d["positions"][0].update(leverage=126)))
    problem = find(err, "positions[0].leverage")
    assert problem.rule.startswith("must be <= 125")
    assert "47500.00" in problem.rule
    assert "got 126" in str(problem)
    # 125 is the maximum and allowed
    assert portfolio_from_dict(example(lambda d: d["positions"][0].update(leverage=125)))


def test_leverage_maximum_is_the_tier_of_the_entry_notional() -> None:
    """ETH default tiers (fixtures/tiers/binance-usdm.json): 0-50,000 max 125×, 50,000-600,000 max 100×.

    60 contracts × 3,300 = 198,000 entry notional → second tier: 100× allowed, 101× not.
    """

    def big(lev: float) -> Callable[[dict[str, Any]], object]:
        return lambda d: d["positions"][1].update(contracts=60, leverage=lev, isolated_margin=2000.0)

    assert portfolio_from_dict(example(big(100)))
    err = problems_of(example(big(101)))
    assert find(err, "positions[1].leverage").rule.startswith("must be <= 100")


def test_missing_leverage() -> None:
    err = problems_of(example(lambda d: d["positions"][0].pop("leverage")))
    assert "required" in find(err, "positions[0].leverage").rule


def test_long_and_short_of_one_symbol_in_one_way_mode() -> None:
    def add(d: dict[str, Any]) -> None:
        d["positions"].append(
            {"symbol": "BTC/USDT:USDT", "side": "short", "contracts": 0.1, "entry_price": 96000.0, "leverage": 10}
        )

    err = problems_of(example(add))
    problem = find(err, "positions[2].side")
    assert "one-way" in problem.rule and "positions[0]" in problem.rule
    assert problem.value == "short"
    # the same book is valid in hedge mode
    hedged = example(add)
    hedged["position_mode"] = "hedge"
    assert len(portfolio_from_dict(hedged).positions) == 3


def test_same_side_twice_in_hedge_mode() -> None:
    def add(d: dict[str, Any]) -> None:
        d["position_mode"] = "hedge"
        d["positions"].append(
            {
                "id": "more",
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 0.1,
                "entry_price": 96000.0,
                "leverage": 10,
            }
        )

    err = problems_of(example(add))
    assert find(err, "positions[2]")


def test_hyperliquid_rejects_hedge_mode() -> None:
    data = {
        "format": "margin-portfolio/1",
        "venue": "hyperliquid",
        "position_mode": "hedge",
        "collateral": {"USDC": 10000.0},
        "prices": {"BTC/USDC:USDC": 97000.0},
        "positions": [
            {"symbol": "BTC/USDC:USDC", "side": "long", "contracts": 0.1, "entry_price": 95000.0, "leverage": 10}
        ],
    }
    err = problems_of(data)
    problem = find(err, "position_mode")
    assert "one-way" in problem.rule and "hyperliquid" in problem.rule
    assert problem.value == "hedge"
    data["position_mode"] = "one-way"
    assert portfolio_from_dict(data).venue == "hyperliquid"


def test_mark_price_missing() -> None:
    err = problems_of(example(lambda d: d["prices"].pop("ETH/USDT:USDT")))
    problem = find(err, "positions[1].mark_price")
    assert "required" in problem.rule and "ETH/USDT:USDT" in problem.rule


def test_mark_price_on_the_position_replaces_prices() -> None:
    data = example(lambda d: (d["prices"].pop("ETH/USDT:USDT"), d["positions"][1].update(mark_price=3400.0)))
    assert portfolio_from_dict(data).positions[1].mark_price == 3400.0


def test_isolated_margins_exceeding_collateral() -> None:
    """The ETH isolated margin 2,640 cannot come out of a 1,000 USDT wallet (format §2)."""
    err = problems_of(example(lambda d: d["collateral"].update(USDT=1000.0)))
    problem = find(err, "collateral.USDT")
    assert "isolated" in problem.rule
    assert problem.value == 1000.0
    # exactly covered is valid
    assert portfolio_from_dict(example(lambda d: d["collateral"].update(USDT=2640.0)))


def test_default_isolated_margin_counts_against_collateral() -> None:
    """Default isolated margin = entry notional / leverage = 4 × 3,300 / 5 = 2,640 > 2,000."""
    data = example(lambda d: (d["positions"][1].pop("isolated_margin"), d["collateral"].update(USDT=2000.0)))
    assert find(problems_of(data), "collateral.USDT")


def test_isolated_margin_in_a_missing_settle_asset() -> None:
    """No USDT collateral at all: the isolated margin is not covered (0 < 2,640)."""
    assert find(problems_of(example(lambda d: d.update(collateral={"USDC": 50000.0}))), "collateral.USDT")


def test_bad_tier_table_in_file() -> None:
    bad = [{"min_notional": 0, "max_notional": 50000, "mmr": -0.004, "max_leverage": 125}]
    err = problems_of(example(lambda d: d["tiers"].update({"BTC/USDT:USDT": bad})))
    assert any(p.path.startswith("tiers['BTC/USDT:USDT']") for p in err.problems)


# --------------------------------------------------------------------------- JSON text


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_in_json_text(literal: str) -> None:
    """Python's json accepts NaN/Infinity; the format (JSON) does not."""
    text = (
        '{"format": "margin-portfolio/1", "venue": "binance-usdm", "collateral": {"USDT": 1000},'
        ' "prices": {"BTC/USDT:USDT": 97000},'
        ' "positions": [{"symbol": "BTC/USDT:USDT", "side": "long", "contracts": ' + literal + ","
        ' "entry_price": 95000, "leverage": 10}]}'
    )
    with pytest.raises(PortfolioError) as info:
        parse_portfolio_json(text, "book.json")
    assert literal.lstrip("-") in info.value.message
    assert info.value.message.startswith("book.json: ")


@pytest.mark.parametrize("text", ['{"format": "margin-portfolio/1",', "{'format': 1}", "[1, 2", "portfolio"])
def test_malformed_json(text: str) -> None:
    with pytest.raises(PortfolioError) as info:
        parse_portfolio_json(text, "book.json")
    message = info.value.message
    assert message.startswith("book.json: ")
    assert "not valid JSON" in message
    assert "line 1 column" in message  # where the text breaks


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_json_file(text: str) -> None:
    with pytest.raises(PortfolioError) as info:
        parse_portfolio_json(text, "book.json")
    assert "empty" in info.value.message


def test_json_booleans_and_strings_are_not_numbers() -> None:
    text = (
        '{"format": "margin-portfolio/1", "venue": "binance-usdm", "collateral": {"USDT": "1000"},'
        ' "prices": {"BTC/USDT:USDT": 97000},'
        ' "positions": [{"symbol": "BTC/USDT:USDT", "side": "long", "contracts": true,'
        ' "entry_price": "95000", "leverage": 10}]}'
    )
    with pytest.raises(PortfolioError) as info:
        parse_portfolio_json(text, "book.json")
    lines = {str(p) for p in info.value.problems}
    assert lines == {
        "collateral.USDT must be a number, got '1000'",
        "positions[0].contracts must be a number, got true",
        "positions[0].entry_price must be a number, got '95000'",
    }


# --------------------------------------------------------------------------- every problem at once


def test_several_problems_reported_at_once() -> None:
    def break_it(d: dict[str, Any]) -> None:
        d["positions"][0]["leverage"] = 0
        d["positions"][1]["contracts"] = -4
        d["collateral"]["USDT"] = math.nan
        d["prices"]["BTC/USDT:USDT"] = "97000"
        d["extra"] = True

    err = problems_of(example(break_it))
    assert {p.path for p in err.problems} >= {
        "positions[0].leverage",
        "positions[1].contracts",
        "collateral.USDT",
        "prices['BTC/USDT:USDT']",
        "extra",
    }
    assert err.message.startswith("book.json: ")
    assert f"{len(err.problems)} problems:" in err.message
    for problem in err.problems:
        assert str(problem) in err.message


def test_rule_problems_of_several_positions_at_once() -> None:
    """Rules that need the venue (tiers, contract kind, marks) are collected across positions too."""

    def break_it(d: dict[str, Any]) -> None:
        d["positions"][0]["leverage"] = 500  # above 125
        d["positions"][1]["symbol"] = "ETH/USD:ETH"  # inverse on binance-usdm
        d["positions"].append(
            {"symbol": "SOL/USDT:USDT", "side": "long", "contracts": 10, "entry_price": 200.0, "leverage": 5}
        )  # no mark price

    err = problems_of(example(break_it))
    assert {p.path for p in err.problems} >= {"positions[0].leverage", "positions[1].symbol", "positions[2].mark_price"}


def test_type_problems_and_rule_problems_reported_together() -> None:
    """A wrongly typed number in one position must not hide a broken rule in another (one pass to fix)."""

    def break_it(d: dict[str, Any]) -> None:
        d["positions"][0]["leverage"] = 0  # type/range problem
        d["positions"][1]["leverage"] = 200  # above the ETH tier maximum of 125

    err = problems_of(example(break_it))
    assert {p.path for p in err.problems} == {"positions[0].leverage", "positions[1].leverage"}


def test_bad_side_reported_with_a_bad_number() -> None:
    def break_it(d: dict[str, Any]) -> None:
        d["positions"][0]["entry_price"] = -95000.0
        d["positions"][1]["side"] = "sell"

    err = problems_of(example(break_it))
    assert {p.path for p in err.problems} == {"positions[0].entry_price", "positions[1].side"}


def test_unknown_venue_reported_with_other_problems() -> None:
    def break_it(d: dict[str, Any]) -> None:
        d["venue"] = "kraken"
        d["positions"][0]["contracts"] = -1

    err = problems_of(example(break_it))
    assert {p.path for p in err.problems} == {"venue", "positions[0].contracts"}


def test_nothing_returned_from_a_partly_valid_file() -> None:
    """One bad position out of two: the whole file is refused, no Portfolio of the good position."""
    data = example(lambda d: d["positions"][1].update(entry_price=0))
    result: list[Portfolio] = []
    with pytest.raises(PortfolioError):
        result.append(portfolio_from_dict(data))
    assert result == []
