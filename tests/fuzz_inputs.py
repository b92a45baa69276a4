"""Hostile inputs for the file reader and the command line (issue 9): valid books with one part broken.

Shared by the seeded property test (``tests/test_fuzz.py``) and the long fuzz run (``scripts/fuzz_cli.py``).
:func:`check_run` states what every run must satisfy: exit 0 or 2, no traceback, no NaN or infinity in any
output, and a refusal that names a field, a line or a flag.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from margin.cli import main

BOOK: dict[str, Any] = {
    "format": "margin-portfolio/1",
    "venue": "binance-usdm",
    "position_mode": "hedge",
    "collateral": {"USDT": 20_000.0, "USDe": 5_000.0},
    "collateral_assets": {"USDe": {"price": 1.0, "haircut": 0.1, "pool": "USDT"}},
    "prices": {"BTC/USDT:USDT": 97_000.0, "ETH/USDT:USDT": 3_400.0},
    "positions": [
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.5, "entry_price": 95_000.0, "leverage": 10},
        {"symbol": "BTC/USDT:USDT", "side": "short", "contracts": 0.2, "entry_price": 98_000.0, "leverage": 10},
        {
            "symbol": "ETH/USDT:USDT",
            "side": "short",
            "contracts": 4,
            "entry_price": 3_300.0,
            "leverage": 5,
            "margin_mode": "isolated",
            "isolated_margin": 2_640.0,
        },
    ],
}

#: raw JSON fragments put in place of a value (text level: they need not be valid JSON values)
RAW_VALUES = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "9" * 400,
    "-" + "9" * 40,
    "1e300",
    "1e-320",
    "0",
    "-1",
    "-0.0",
    "1e16",
    "true",
    "null",
    '""',
    '" "',
    '"USDT "',
    '"Long"',
    '"CROSS"',
    '"ETHUSDT"',
    '"\\ud800"',
    '"\\udfff x"',
    "[]",
    "{}",
    "[" * 80 + "]" * 80,
    '"' + "x" * 100_000 + '"',
    '"\\u0660.\\u0665"',
    "1.5e308",
    '{"a": 1, "a": 2}',
    '"BTC-PERPETUAL"',
    "0.1",
    "1000000",
    "2.2250738585072014e-308",
)
SHOCKS = (
    "ALL=-10%",
    "ALL=-10%",
    "BTC=-20%",
    "ETH=+15%",
    "ALL=+25%",
    "BTC=-50%",
    "BTC=-100%",
    "ALL=1e306%",
    "BTC=-99.9999999%",
    "ETH=+300%",
    "USDe=-35%",
    "USDe=-100%",
    "BTC=nan",
    "BTC=inf",
    "BTC=",
    "=5%",
    "XRP=-5%",
    "ALL=-0.999999999999",
    "BTC/USDT:USDT=-20%",
    "ALL=100000%",
    "BTC=\u0665%",
    "BTC=-20%%",
)
PLACEHOLDER = "__FUZZ__"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] + [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] + [path]
    return [path]


LEAVES = [p for p in _leaves(BOOK) if p]


def _with_placeholder(path: tuple[Any, ...]) -> str:
    doc = json.loads(json.dumps(BOOK))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = PLACEHOLDER
    return json.dumps(doc, indent=1)


@st.composite
def portfolio_texts(draw: st.DrawFn) -> str:
    """A valid book's text with one value replaced by a hostile fragment, and maybe a key changed, or the
    text cut, prefixed with a BOM or given a stray character, or a key repeated."""
    text = json.dumps(BOOK, indent=1)
    if draw(st.booleans()):
        path = draw(st.sampled_from(LEAVES))
        text = _with_placeholder(path).replace(json.dumps(PLACEHOLDER), draw(st.sampled_from(RAW_VALUES)))
    kind = draw(st.sampled_from(("none", "none", "none", "key", "cut", "bom", "char", "dup")))
    if kind == "key":
        text = text.replace(draw(st.sampled_from(('"USDT"', '"side"', '"prices"', '"leverage"'))), '"USDT "', 1)
    elif kind == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif kind == "bom":
        text = "\ufeff" + text
    elif kind == "char":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(("}", ",", '"', "\\", "\x00", "\u2028", "e", "-"))) + text[at:]
    elif kind == "dup":
        text = text.replace('"venue": "binance-usdm"', '"venue": "binance-usdm", "venue": "okx"', 1)
    return text


@st.composite
def cli_runs(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A portfolio text and the arguments after the file: a command, a format, shocks."""
    text = draw(portfolio_texts())
    command = draw(st.sampled_from(("evaluate", "evaluate", "evaluate", "stress", "cascade")))
    args = [command, "--format", draw(st.sampled_from(("json", "table")))]
    shocks = draw(st.lists(st.sampled_from(SHOCKS), max_size=2)) if draw(st.booleans()) else []
    if command == "stress":
        args += ["--preset", draw(st.sampled_from(("covid-2020-03-12", "nope")))]
    elif command == "cascade" and not shocks:
        shocks = ["ALL=-30%"]
    args += [f"--shock={s}" for s in shocks]
    return text, args


FIELD = re.compile(
    r"positions|collateral|prices|tiers|venue|format|position_mode|taker_fee|origin|line \d+|row \d+|--\w|"
    r"\(file\)|\(top level\)|header"
)


#: a problem line naming the JSON path it is about (a key of the file, as written) before its rule
PATH_RULE = re.compile(r"(?m)(?:^\s*- |: )\S[^\n]* (?:is|must|has|nests) ")


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_cli(text: str, args: list[str], folder: Path) -> Outcome:
    path = folder / "fuzz.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([args[0], str(path), *args[1:]])
        except SystemExit as stop:  # argparse usage errors
            code = int(stop.code or 0)
    return Outcome(code, out.getvalue(), err.getvalue())


def check_run(result: Outcome) -> str | None:
    """What is wrong with one run, or ``None``: the issue-9 contract."""
    if result.code not in (0, 2):
        return f"exit {result.code}: {result.err[:300]}"
    if "Traceback" in result.err or "internal error" in result.err or "Warning" in result.err:
        return f"traceback or warning: {result.err[:300]}"
    if re.search(r"\bNaN\b|Infinity|\binf\b", result.out):
        return f"non-finite number in the output: {result.out[:300]}"
    if result.code == 2:
        if not result.err.startswith(("error:", "usage:")) and "error:" not in result.err:
            return f"refusal without an error line: {result.err[:300]}"
        if not FIELD.search(result.err) and not PATH_RULE.search(result.err):
            return f"refusal names no field, line or flag: {result.err[:300]}"
        if len(result.err) > 20_000:
            return f"refusal of {len(result.err)} characters"
    return None
