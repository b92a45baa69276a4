"""The edges of the file format and the command line (issue 9): a right answer or a clear refusal.

Every case here once gave a traceback, an exit status 1, a silent wrong number or a message millions of
characters long. Each is run through the library and through ``python -m margin`` (in process, with its exit
status), and the refusal must name the field, line or flag, the rule and the value.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from margin import parse_portfolio_json, portfolio_from_dict
from margin.cli import main
from margin.errors import PortfolioError, parse_number
from margin.report import evaluate_portfolio

BASE: dict[str, Any] = {
    "format": "margin-portfolio/1",
    "venue": "binance-usdm",
    "collateral": {"USDT": 10_000.0},
    "prices": {"BTC/USDT:USDT": 97_000.0},
    "positions": [
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.5, "entry_price": 95_000.0, "leverage": 10}
    ],
}


def doc(**changes: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if key.startswith("pos_"):
            out["positions"][0][key[4:]] = value
        else:
            out[key] = value
    return out


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse refuses a flag itself (exit 2, its message on stderr)
            code = int(stop.code or 0)
    return code, out.getvalue(), err.getvalue()


def cli_file(tmp_path: Path, text: str | bytes, *extra: str, name: str = "p.json") -> tuple[int, str, str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return run(["evaluate", str(path), *extra])


def refusal(text: str) -> list[str]:
    with pytest.raises(PortfolioError) as info:
        parse_portfolio_json(text)
    return [str(p) for p in info.value.problems]


# ----------------------------------------------------------------------------- JSON text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_token_named_by_line_column_and_field(token: str, tmp_path: Path) -> None:
    text = (
        '{"format": "margin-portfolio/1", "venue": "binance-usdm",\n  "collateral": {"USDT": '
        + token
        + '},\n "positions": []}'
    )
    # the token starts at column 26 of line 2: two spaces, '"collateral": {"USDT": ' is 23 characters
    (problem,) = refusal(text)
    assert problem.startswith("collateral.USDT (at line 2 column 26) must be a finite number")
    assert problem.endswith(f"got {token}")
    code, out, err = cli_file(tmp_path, text)
    assert (code, out) == (2, "") and "collateral.USDT (at line 2 column 26)" in err and "Traceback" not in err


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    code, _, err = cli_file(tmp_path, "[" * 100_000 + "]" * 100_000)
    assert code == 2 and "nests arrays and objects 100000 deep: at most 64" in err


def test_400_digit_integer(tmp_path: Path) -> None:
    text = json.dumps(doc(pos_contracts=1)).replace('"contracts": 1', '"contracts": ' + "9" * 400)
    (problem,) = refusal(text)
    assert problem.startswith("positions[0].contracts (at line 1 column")
    assert "must have at most 30 digits" in problem and len(problem) < 200
    assert cli_file(tmp_path, text)[0] == 2


def test_lone_surrogate_in_a_string(tmp_path: Path) -> None:
    text = json.dumps(doc(pos_id="\ud800"))  # json.dumps writes the escape \ud800
    assert refusal(text) == ["positions[0].id is not valid text (a lone UTF-16 surrogate)"]
    code, out, err = cli_file(tmp_path, text)
    assert (code, out) == (2, "") and "positions[0].id is not valid text" in err
    # the same id built in code (the table editor's path) is refused too
    with pytest.raises(PortfolioError, match=r"positions\[0\]\.id is not valid text"):
        portfolio_from_dict(doc(pos_id="a\udc80b"))


def test_duplicate_key_is_refused_not_last_wins() -> None:
    text = json.dumps(BASE).replace('"venue": "binance-usdm"', '"venue": "binance-usdm", "venue": "bybit"')
    assert refusal(text) == ["venue is given more than once in one object (a key must be unique)"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    code, out, _ = cli_file(tmp_path, b"\xef\xbb\xbf" + json.dumps(BASE).encode(), "--format", "json")
    assert code == 0
    assert json.loads(out)["modes"]["as_is"]["positions"][0]["notional"] == 0.5 * 97_000


def test_a_huge_value_is_echoed_back_bounded(tmp_path: Path) -> None:
    text = json.dumps(doc(pos_side="x" * 5_000_000))
    problems = refusal(text)
    assert "positions[0].side must be at most 200 characters, got 'xxx" in problems[0]
    assert all(len(p) < 200 for p in problems), problems
    code, _, err = cli_file(tmp_path, text)
    assert code == 2 and len(err) < 400  # two bounded lines, not 5 million characters


# ----------------------------------------------------------------------------- magnitudes


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"pos_contracts": 1e300}, "positions[0].contracts must be <= 1e+15, got 1e+300"),
        ({"prices": {"BTC/USDT:USDT": 1e-320}}, "prices['BTC/USDT:USDT'] must be >= 1e-12, got 1e-320"),
        ({"prices": {"BTC/USDT:USDT": 1e13}}, "prices['BTC/USDT:USDT'] must be <= 1e+12"),
        ({"pos_entry_price": 1e-13}, "positions[0].entry_price must be >= 1e-12"),
        ({"collateral": {"USDT": 1e16}}, "collateral.USDT must be <= 1e+15"),
        ({"pos_leverage": 5000}, "positions[0].leverage must be <= 1000"),
        # 1e12 contracts × 97,000 = 9.7e16 > 1e15 settle units of notional
        ({"pos_contracts": 1e12}, "positions[0].contracts must keep the notional at entry and mark <= 1e+15 USDT"),
    ],
)
def test_magnitudes_beyond_the_bounds_are_refused(changes: dict[str, Any], needle: str, tmp_path: Path) -> None:
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(doc(**changes))
    assert any(str(p).startswith(needle) for p in info.value.problems), [str(p) for p in info.value.problems]
    for fmt in ("json", "table"):
        code, out, err = cli_file(tmp_path, json.dumps(doc(**changes)), "--format", fmt)
        assert (code, out) == (2, "") and needle in err


@pytest.mark.parametrize(
    ("shocks", "needle"),
    [
        (["ALL=1e306%"], "--shock move must be at most +100000%"),
        (["BTC=-100%"], "--shock move must be above -100%"),
        (["BTC=-99.9999999999999999%"], "--shock move must be above -100%"),  # rounds to -1.0 in float64
        # (1 − 0.999999999)² − 1 = −1 + 1e-18, which is −1.0 in float64: the moves compound to −100 %
        (["BTC=-99.9999999%", "BTC=-99.9999999%"], "--shock moves compound to -100.000000% for BTC/USDT:USDT"),
    ],
)
def test_shocks_that_overflow_or_reach_zero_are_refused(shocks: list[str], needle: str, tmp_path: Path) -> None:
    extra = [f"--shock={s}" for s in shocks]
    for fmt in ("json", "table"):
        code, out, err = cli_file(tmp_path, json.dumps(BASE), "--format", fmt, *extra)
        assert (code, out) == (2, ""), err
        assert needle in err and "Traceback" not in err and "Warning" not in err


def test_a_shock_that_takes_a_price_beyond_the_bounds(tmp_path: Path) -> None:
    """A mark of 5e9 moved +100,000 % is 5e9 × 1,001 = 5.005e12 > 1e12."""
    far = doc(prices={"BTC/USDT:USDT": 5e9}, pos_entry_price=5e9, pos_contracts=1e-6)
    code, out, err = cli_file(tmp_path, json.dumps(far), "--shock=ALL=+100000%")
    assert (code, out) == (2, "") and "--shock moves BTC/USDT:USDT to 5.005e+12" in err


def test_largest_allowed_shock_gives_finite_numbers(tmp_path: Path) -> None:
    code, out, err = cli_file(tmp_path, json.dumps(BASE), "--format", "json", "--shock=ALL=+100000%")
    assert code == 0, err
    assert "NaN" not in out and "Infinity" not in out
    pool = json.loads(out)["modes"]["as_is"]["pools"][0]
    # 10,000 + 0.5 × (97,000 × 1,001 − 95,000)
    assert pool["equity"] == pytest.approx(10_000 + 0.5 * (97_000 * 1_001 - 95_000))


# ----------------------------------------------------------------------------- names and enums


def test_collateral_key_with_a_stray_space(tmp_path: Path) -> None:
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(doc(collateral={"USDT ": 10_000.0}))
    assert "collateral.USDT  must not have spaces around it (did you mean 'USDT'?), got 'USDT '" in str(info.value)


def test_collateral_flag_with_two_equals_signs(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,0.5,95000,10\n")
    code, _, err = run(
        [
            "evaluate",
            str(csv),
            "--venue",
            "binance-usdm",
            "--collateral",
            "USDT==8000",
            "--price",
            "BTC/USDT:USDT=97000",
        ]
    )
    assert code == 2 and "--collateral must be NAME=NUMBER" in err and "'USDT==8000'" in err


def test_empty_margin_mode_is_not_cross() -> None:
    with pytest.raises(PortfolioError, match=r"positions\[0\]\.margin_mode must be 'cross' or 'isolated', got ''"):
        portfolio_from_dict(doc(pos_margin_mode=""))


@pytest.mark.parametrize("cell", ["\u0660.\u0665", "\u0665", "nan", "1e999", "0x10", "1_000"])
def test_csv_numbers_are_ascii_decimals(cell: str, tmp_path: Path) -> None:
    """Python's float() reads Arabic-Indic digits (٠.٥ → 0.5), 'nan' and '1_000'; a file must not."""
    assert parse_number(cell) is None
    csv = tmp_path / "p.csv"
    csv.write_text(
        f"symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,long,{cell},95000,10\n", encoding="utf-8"
    )
    code, _, err = run(
        ["evaluate", str(csv), "--venue", "binance-usdm", "--collateral", "USDT=8000", "--price", "BTC/USDT:USDT=97000"]
    )
    assert code == 2 and "row 2.contracts must be a" in err


def test_price_keyed_by_no_symbol_is_refused() -> None:
    with pytest.raises(PortfolioError, match=r"prices\['nonsense'\] must be keyed by a ccxt unified symbol"):
        portfolio_from_dict(doc(prices={"BTC/USDT:USDT": 97_000.0, "nonsense": 5.0}))


@pytest.mark.parametrize(
    ("venue", "native", "unified", "settle"),
    [
        ("binance-usdm", "BTCUSDT", "BTC/USDT:USDT", "USDT"),
        ("okx", "BTC-USDT-SWAP", "BTC/USDT:USDT", "USDT"),
        ("bybit", "BTCUSDT", "BTC/USDT:USDT", "USDT"),
        ("hyperliquid", "BTC", "BTC/USDC:USDC", "USDC"),
    ],
)
def test_plain_exchange_symbols_are_understood_for_the_venue(
    venue: str, native: str, unified: str, settle: str
) -> None:
    """The same book written with the venue's own contract name evaluates as with the unified symbol."""
    tiers = [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 50}]

    def book(symbol: str) -> dict[str, Any]:
        return {
            "format": "margin-portfolio/1",
            "venue": venue,
            "collateral": {settle: 10_000.0},
            "prices": {symbol: 97_000.0},
            "tiers": {symbol: tiers},
            "positions": [
                {"symbol": symbol, "side": "Long", "contracts": 0.5, "entry_price": 95_000.0, "leverage": 10}
            ],
        }

    native_pf = portfolio_from_dict(book(native))
    assert native_pf.positions[0].symbol == unified and native_pf.positions[0].side == "long"
    assert evaluate_portfolio(native_pf) == evaluate_portfolio(portfolio_from_dict(book(unified)))


def test_deribit_instrument_names() -> None:
    from margin.venues import unified_symbol

    assert unified_symbol("BTC-PERPETUAL", "deribit") == "BTC/USD:BTC"
    assert unified_symbol("ETH-27JUN25", "deribit") == "ETH/USD:ETH-250627"
    assert unified_symbol("BTC-USD-SWAP", "okx") == "BTC/USD:BTC"
    assert unified_symbol("BTCUSD_PERP", "binance-coinm") == "BTC/USD:BTC"


def test_every_problem_at_once_with_the_unified_symbol_suggested() -> None:
    """Five problems in one position on OKX (where ``ETHUSDT`` is no contract name): all five are listed."""
    bad = {
        "format": "margin-portfolio/1",
        "venue": "okx",
        "collateral": {"USDT": 1000.0},
        "positions": [{"symbol": "ETHUSDT", "side": "sideways", "contracts": -1, "entry_price": 0, "leverage": 0}],
    }
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(bad)
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        "positions[0].contracts must be > 0, got -1",
        "positions[0].entry_price must be > 0, got 0",
        "positions[0].leverage must be >= 1, got 0",
        "positions[0].symbol must be a ccxt unified symbol BASE/QUOTE:SETTLE (did you mean 'ETH/USDT:USDT'?), "
        "got 'ETHUSDT'",
        "positions[0].side must be 'long' or 'short', got 'sideways'",
    ]


# ----------------------------------------------------------------------------- a single published bracket


def test_single_bracket_through_the_cli(tmp_path: Path) -> None:
    """Binance's FAQ style: the one bracket the position sits in, mmr 5 %, maintenance amount 1,300.
    0.5 BTC at 97,000: N = 48,500; MM = 48,500 × 0.05 − 1,300 = 1,125 USDT."""
    one = doc(
        tiers={"BTC/USDT:USDT": [{"min_notional": 50_000, "max_notional": 250_000, "mmr": 0.05, "maint_amount": 1300}]}
    )
    code, out, err = cli_file(tmp_path, json.dumps(one), "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["modes"]["as_is"]["positions"][0]["maintenance_margin"] == pytest.approx(1_125.0)
    assert "partial table" in result["notes"][0]
    code, table, _ = cli_file(tmp_path, json.dumps(one))
    assert code == 0 and "note: tiers of BTC/USDT:USDT are a partial table" in table
    assert math.isfinite(result["modes"]["as_is"]["positions"][0]["liquidation_price"])


# ----------------------------------------------------------------------------- numeric flags


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["frontier", "{f}", "--x", "BTC", "--y", "ETH", "--steps", "1e9"], "argument --steps: must be a whole number"),
        (["frontier", "{f}", "--x", "BTC", "--y", "ETH", "--range", "nan"], "argument --range: must be a number > 0"),
        (["risk", "{f}", "--horizon", "7d", "--paths", "0"], "argument --paths: must be a whole number >= 1"),
        (["risk", "{f}", "--horizon", "7d", "--seed", "-1"], "argument --seed: must be a whole number >= 0"),
        (["risk", "{f}", "--horizon", "9" * 400 + "d"], "--horizon must be a whole number of hours"),
        (["cascade", "{f}", "--shock", "ALL=-10%", "--strength", "inf"], "argument --strength: must be a number"),
        (["fetch", "binanceusdm", "--out", "{f}.out", "--timeout", "nan"], "argument --timeout: must be a number > 0"),
        (["fetch", "binanceusdm", "--out", "{f}.out", "--timeout", "0"], "argument --timeout: must be a number > 0"),
        (["fetch", "binanceusdm", "--out", "{f}.out", "--timeout", "-1"], "argument --timeout: must be a number > 0"),
        (["fetch", "binanceusdm", "--out", "{f}.out", "--timeout", "inf"], "argument --timeout: must be a number > 0"),
    ],
)
def test_numeric_flags_are_validated(argv: list[str], needle: str, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(BASE))
    args = [a.replace("{f}", str(path)) for a in argv]
    code, _, err = run(args)
    assert code == 2
    assert needle in err and len(err) < 600, err
    assert not (tmp_path / "p.json.out").exists()
