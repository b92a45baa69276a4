"""Portfolio files (``portfolio-format.md`` §1): the canonical JSON and the positions CSV.

JSON save/load round trips, the §1 example (the contract, copied verbatim), CSV parsing with row
numbers in the messages, and :func:`portfolio_from_csv` with venue, collateral and prices given apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from examples import SECTION_1_EXAMPLE

from margin.errors import PortfolioError
from margin.files import (
    dump_portfolio_json,
    dump_positions_csv,
    load_portfolio,
    parse_portfolio_json,
    parse_positions_csv,
    portfolio_from_csv,
    save_portfolio,
)
from margin.portfolio import Portfolio, Position, resolve

HEADER = "symbol,side,contracts,entry_price,leverage,margin_mode,isolated_margin\n"
ROWS = "BTC/USDT:USDT,long,0.5,95000,10,cross,\nETH/USDT:USDT,short,4,3300,5,isolated,2640\n"


def csv_error(text: str) -> PortfolioError:
    with pytest.raises(PortfolioError) as info:
        parse_positions_csv(text, "positions.csv")
    assert info.value.message.startswith("positions.csv: ")
    return info.value


# --------------------------------------------------------------------------- the §1 example


def test_section_1_example_parses() -> None:
    p = parse_portfolio_json(SECTION_1_EXAMPLE, "example.json")
    assert p.venue == "binance-usdm"
    assert p.position_mode == "one-way"
    assert p.collateral == {"USDT": 25000.0}
    assert p.prices == {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0}
    btc, eth = p.positions
    assert (btc.symbol, btc.side, btc.contracts, btc.entry_price, btc.leverage, btc.margin_mode) == (
        "BTC/USDT:USDT",
        "long",
        0.5,
        95000.0,
        10.0,
        "cross",
    )
    assert (
        eth.symbol,
        eth.side,
        eth.contracts,
        eth.entry_price,
        eth.leverage,
        eth.margin_mode,
        eth.isolated_margin,
    ) == ("ETH/USDT:USDT", "short", 4.0, 3300.0, 5.0, "isolated", 2640.0)
    # default ids: "<symbol> <side>"
    assert [q.label for q in p.positions] == ["BTC/USDT:USDT long", "ETH/USDT:USDT short"]
    # the file's BTC table (one tier, 0.4 %) replaces the default; ETH takes binance-usdm's defaults
    resolved = resolve(p)
    assert resolved.tier_sources["BTC/USDT:USDT"] == "file"
    assert resolved.tier_sources["ETH/USDT:USDT"] != "file"
    assert resolved.tables["BTC/USDT:USDT"].tier(48500.0).mmr == 0.004
    assert len(resolved.tables["BTC/USDT:USDT"].tiers) == 1


# --------------------------------------------------------------------------- JSON round trips


def test_json_save_load_round_trip(tmp_path: Path) -> None:
    original = parse_portfolio_json(SECTION_1_EXAMPLE)
    path = tmp_path / "book.json"
    save_portfolio(original, path)
    again = load_portfolio(path)
    assert again == original
    # saved text is canonical, strict JSON
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "margin-portfolio/1"
    assert data["venue"] == "binance-usdm"
    assert len(data["positions"]) == 2
    # saving the reloaded portfolio gives the same text
    assert dump_portfolio_json(again) == path.read_text(encoding="utf-8")


def test_json_round_trip_keeps_optional_fields(tmp_path: Path) -> None:
    """ids, marks on positions, contract sizes, taker fee, hedge mode, uncapped and derived tiers."""
    text = json.dumps(
        {
            "format": "margin-portfolio/1",
            "venue": "generic",
            "position_mode": "hedge",
            "collateral": {"USDT": 5000.0, "BTC": 0.5},
            "prices": {},
            "taker_fee": 0.0004,
            "tiers": {
                "BTC/USDT:USDT": [
                    {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 125},
                    {"min_notional": 50000, "max_notional": None, "mmr": 0.005, "max_leverage": 100},
                ],
                "BTC/USD:BTC": [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 100}],
            },
            "positions": [
                {
                    "id": "a",
                    "symbol": "BTC/USDT:USDT",
                    "side": "long",
                    "contracts": 0.1,
                    "entry_price": 95000,
                    "mark_price": 97000,
                    "leverage": 20,
                },
                {
                    "id": "b",
                    "symbol": "BTC/USDT:USDT",
                    "side": "short",
                    "contracts": 0.05,
                    "entry_price": 96000,
                    "mark_price": 97000,
                    "leverage": 20,
                    "margin_mode": "isolated",
                },
                {
                    "id": "c",
                    "symbol": "BTC/USD:BTC",
                    "side": "long",
                    "contracts": 100,
                    "contract_size": 100,
                    "entry_price": 90000,
                    "mark_price": 97000,
                    "leverage": 5,
                },
            ],
        }
    )
    original = parse_portfolio_json(text, "book.json")
    path = tmp_path / "book.json"
    save_portfolio(original, path)
    again = load_portfolio(path)
    assert again == original
    assert [q.id for q in again.positions] == ["a", "b", "c"]
    assert again.positions[2].contract_size == 100.0
    assert again.taker_fee == 0.0004
    assert again.position_mode == "hedge"
    # the derived maintenance amount survives: 50,000 × (0.005 − 0.004) = 50 at the second tier
    table = resolve(again).tables["BTC/USDT:USDT"]
    assert table.maintenance(60000.0) == pytest.approx(60000.0 * 0.005 - 50.0, rel=1e-12)
    assert table.maintenance(60000.0) == resolve(original).tables["BTC/USDT:USDT"].maintenance(60000.0)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "margin-portfolio/1", "venue": "binance-usdm"', encoding="utf-8")
    with pytest.raises(PortfolioError) as info:
        load_portfolio(path)
    assert "broken.json" in info.value.message


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PortfolioError) as info:
        load_portfolio(tmp_path / "nope.json")
    assert "nope.json" in info.value.message
    assert "does not exist" in info.value.message


def test_load_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("", encoding="utf-8")
    with pytest.raises(PortfolioError) as info:
        load_portfolio(path)
    assert "empty" in info.value.message and "empty.json" in info.value.message


def test_load_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(PortfolioError) as info:
        load_portfolio(path)
    assert "binary.json" in info.value.message


# --------------------------------------------------------------------------- CSV


def test_csv_parses_rows_in_order() -> None:
    positions = parse_positions_csv(HEADER + ROWS, "positions.csv")
    assert positions == [
        Position(
            symbol="BTC/USDT:USDT", side="long", contracts=0.5, entry_price=95000.0, leverage=10.0, margin_mode="cross"
        ),
        Position(
            symbol="ETH/USDT:USDT",
            side="short",
            contracts=4.0,
            entry_price=3300.0,
            leverage=5.0,
            margin_mode="isolated",
            isolated_margin=2640.0,
        ),
    ]


def test_csv_columns_in_any_order_with_spaces_and_blank_lines() -> None:
    text = "entry_price, side ,symbol,contracts,leverage\n95000, long ,BTC/USDT:USDT,0.5,10\n\n"
    assert parse_positions_csv(text) == [
        Position(symbol="BTC/USDT:USDT", side="long", contracts=0.5, entry_price=95000.0, leverage=10.0)
    ]


def test_csv_round_trip() -> None:
    positions = parse_positions_csv(HEADER + ROWS)
    assert parse_positions_csv(dump_positions_csv(positions)) == positions


def test_csv_bad_number_names_the_row() -> None:
    """Rows count the header as row 1: the second position is row 3."""
    text = HEADER + "BTC/USDT:USDT,long,0.5,95000,10,cross,\nETH/USDT:USDT,short,4,3300,abc,isolated,2640\n"
    err = csv_error(text)
    assert [str(p) for p in err.problems] == ["row 3.leverage must be a number, got 'abc'"]


@pytest.mark.parametrize(
    ("cell", "rule"),
    [
        ("nan", "must be a finite number"),
        ("inf", "must be a finite number"),
        ("-inf", "must be a finite number"),
        ("1,5", None),
        ("0", "must be > 0"),
        ("-2", "must be > 0"),
        ("ten", "must be a number"),
    ],
)
def test_csv_bad_contracts(cell: str, rule: str | None) -> None:
    text = "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long," + cell + ",95000,10\n"
    err = csv_error(text)
    if rule is None:  # an unquoted comma splits the cell: the row has too many cells
        assert str(err.problems[0]).startswith("row 2 must have 5 cells")
    else:
        problem = err.problems[0]
        assert problem.path == "row 2.contracts"
        assert problem.rule == rule


def test_csv_all_row_problems_at_once() -> None:
    text = HEADER + "BTC/USDT:USDT,long,-1,95000,0,cross,\nETH/USDT:USDT,short,4,3300,abc,isolated,2640\n"
    err = csv_error(text)
    paths = {p.path for p in err.problems}
    assert {"row 2.contracts", "row 2.leverage", "row 3.leverage"} <= paths
    assert "3 problems" in err.message


@pytest.mark.parametrize("text", ["", "\n", "   \n  \n"])
def test_empty_csv(text: str) -> None:
    assert "empty" in csv_error(text).message


def test_header_only_csv_is_valid_with_no_positions() -> None:
    assert parse_positions_csv(HEADER) == []
    p = portfolio_from_csv(HEADER, venue="binance-usdm", collateral={"USDT": 100.0})
    assert p.positions == ()
    assert p.collateral == {"USDT": 100.0}


@pytest.mark.parametrize(
    ("row", "found"), [("BTC/USDT:USDT,long,0.5\n", 3), ("BTC/USDT:USDT,long,0.5,95000,10,cross,,extra\n", 8)]
)
def test_csv_wrong_cell_count(row: str, found: int) -> None:
    err = csv_error(HEADER + row)
    assert [str(p) for p in err.problems] == [f"row 2 must have 7 cells like the header, got {found}"]


def test_csv_unknown_column() -> None:
    err = csv_error("symbol,side,contracts,entry_price,leverage,colour\nBTC/USDT:USDT,long,1,95000,10,red\n")
    problem = err.problems[0]
    assert "colour" in problem.path
    assert "not a position field" in problem.rule


def test_csv_missing_required_column() -> None:
    err = csv_error("symbol,side,contracts,leverage\nBTC/USDT:USDT,long,1,10\n")
    assert any("entry_price" in p.path and p.rule == "is required" for p in err.problems)


def test_csv_repeated_column() -> None:
    err = csv_error("symbol,side,contracts,entry_price,side\nBTC/USDT:USDT,long,1,95000,long\n")
    assert any("repeat" in p.rule for p in err.problems)


def test_csv_unterminated_quote() -> None:
    err = csv_error(HEADER + '"BTC/USDT:USDT,long,0.5,95000,10,cross,\n')
    assert err.problems[0].path == "row 2"


# --------------------------------------------------------------------------- portfolio_from_csv


def test_portfolio_from_csv() -> None:
    p = portfolio_from_csv(
        HEADER + ROWS,
        venue="binance-usdm",
        collateral={"USDT": 25000.0},
        prices={"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0},
        source="pos.csv",
    )
    assert isinstance(p, Portfolio)
    assert p.venue == "binance-usdm"
    assert p.collateral == {"USDT": 25000.0}
    assert p.prices == {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0}
    assert [q.symbol for q in p.positions] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    # the same book as the §1 example except the BTC tier override (the default's first tier is equal)
    example = parse_portfolio_json(SECTION_1_EXAMPLE)
    assert p.positions == example.positions


def test_portfolio_from_csv_with_mark_price_column() -> None:
    text = "symbol,side,contracts,entry_price,leverage,mark_price\nBTC/USDT:USDT,long,0.5,95000,10,97000\n"
    p = portfolio_from_csv(text, venue="binance-usdm", collateral={"USDT": 1000.0})
    assert resolve(p).marks == {"BTC/USDT:USDT": 97000.0}


def test_portfolio_from_csv_hedge_mode() -> None:
    text = (
        "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000,10\n"
        "BTC/USDT:USDT,short,0.2,96000,10\n"
    )
    prices = {"BTC/USDT:USDT": 97000.0}
    p = portfolio_from_csv(text, "binance-usdm", {"USDT": 1000.0}, prices, position_mode="hedge")
    assert [q.side for q in p.positions] == ["long", "short"]
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, "binance-usdm", {"USDT": 1000.0}, prices)  # one-way by default
    assert "one-way" in info.value.message


@pytest.mark.parametrize(
    ("venue", "collateral", "prices", "needle"),
    [
        ("kraken", {"USDT": 1000.0}, {"BTC/USDT:USDT": 97000.0}, "venue"),
        ("binance-usdm", {"USDT": -1.0}, {"BTC/USDT:USDT": 97000.0}, "collateral.USDT"),
        ("binance-usdm", {"USDT": 1000.0}, {}, "mark_price"),
        ("binance-usdm", {"USDT": 1000.0}, {"BTC/USDT:USDT": 0.0}, "must be > 0"),
    ],
)
def test_portfolio_from_csv_bad_context(
    venue: str, collateral: dict[str, float], prices: dict[str, float], needle: str
) -> None:
    text = "symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000,10\n"
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, venue, collateral, prices, source="pos.csv")
    assert info.value.message.startswith("pos.csv: ")
    assert needle in info.value.message


def test_portfolio_from_csv_rule_problem_names_the_row() -> None:
    """A broken venue rule in a CSV names the row of the file (format §1), not an internal index.

    Row 3 holds BTC at 126×; the BTC tier at 0.5 × 95,000 = 47,500 allows 125× at most.
    """
    text = (
        "symbol,side,contracts,entry_price,leverage\nETH/USDT:USDT,short,4,3300,5\nBTC/USDT:USDT,long,0.5,95000,126\n"
    )
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(
            text,
            "binance-usdm",
            {"USDT": 25000.0},
            {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0},
            source="pos.csv",
        )
    message = info.value.message
    assert "must be <= 125" in message
    assert "row 3" in message
