"""Options in a positions CSV (format §1 CSV + §6.1): the ``iv`` and ``underlying_price`` columns, and the
command line's ``--as-of`` / ``--index-price`` for the fields a CSV cannot carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from margin.cli import main
from margin.files import dump_positions_csv, portfolio_from_csv
from margin.portfolio import Position

CSV = (
    "symbol,side,contracts,entry_price,contract_size,iv\r\n"
    "BTC/USD:BTC,long,3000,95000,10,\r\n"
    "BTC/USD:BTC-261225-100000-C,short,2,0.035,,0.52\r\n"
)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_csv_option_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§6.5's short call from a CSV: its standard margins IM 0.3398605 / MM 0.2517162 BTC (the example's)."""
    path = tmp_path / "book.csv"
    path.write_text(CSV, encoding="utf-8")
    base = [
        "evaluate",
        str(path),
        "--venue",
        "deribit",
        "--collateral",
        "BTC=0.3",
        "--price",
        "BTC/USD:BTC=97100",
        "--format",
        "json",
    ]
    code, out, err = run([*base, "--as-of", "2026-11-20T08:00:00Z", "--index-price", "BTC=97000"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    call = doc["modes"]["as_is"]["positions"][1]
    assert call["kind"] == "option" and call["iv"] == 0.52 and call["underlying_price"] == 97000.0
    assert call["initial_margin"] == pytest.approx(0.3398605, abs=5e-8)
    assert call["maintenance_margin"] == pytest.approx(0.2517162, abs=5e-8)
    # without --as-of the reader names the missing field, exit 2, no traceback
    code, _, err = run(base, capsys)
    assert code == 2 and "as_of is required" in err and "Traceback" not in err
    code, _, err = run([*base, "--as-of", "2026-11-20T08:00:00Z", "--index-price", "BTC=abc"], capsys)
    assert code == 2 and "--index-price" in err


def test_csv_dump_writes_option_columns_only_when_given() -> None:
    fut = Position("BTC/USDT:USDT", "long", 1.0, 95000.0, leverage=10)
    opt = Position("BTC/USD:BTC-261225-100000-C", "short", 2.0, 0.035, iv=0.52, underlying_price=97000.0)
    assert "iv" not in dump_positions_csv([fut]).splitlines()[0].split(",")
    header, _, row = dump_positions_csv([fut, opt]).splitlines()
    cols = header.split(",")
    assert cols[-2:] == ["iv", "underlying_price"]
    assert row.split(",")[-2:] == ["0.52", "97000.0"]


def test_csv_bad_iv_names_its_cell() -> None:
    from margin.errors import PortfolioError

    text = CSV.replace("0.52", "nope")
    with pytest.raises(PortfolioError) as info:
        portfolio_from_csv(text, "deribit", {"BTC": 0.3}, {"BTC/USD:BTC": 97100.0}, as_of="2026-11-20T08:00:00Z")
    assert any(p.path == "row 3.iv" for p in info.value.problems)
