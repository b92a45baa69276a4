"""One rule for the coin behind a contract's base (issue 8: two lookups used to disagree)."""

from __future__ import annotations

import pytest

from margin.crashes import lookup_base
from margin.instruments import parse_symbol, underlying_asset
from margin.scenarios import lookup_asset


@pytest.mark.parametrize(
    ("base", "coin"),
    [
        ("1000PEPE", "PEPE"),  # Binance / Bybit: 1,000 PEPE per contract unit
        ("10000LADYS", "LADYS"),
        ("1000000MOG", "MOG"),
        ("1MBABYDOGE", "BABYDOGE"),
        ("kPEPE", "PEPE"),  # Hyperliquid: k = a thousand
        ("kBONK", "BONK"),
        ("1INCH", "1INCH"),  # a coin whose name starts with a digit, not a multiplier
        ("BTC", "BTC"),
        ("btc", "BTC"),
        ("1000", "1000"),  # a bare number is no multiplier of anything
    ],
)
def test_underlying_asset(base: str, coin: str) -> None:
    assert underlying_asset(base) == coin
    # the stress presets and the betas of the scenario engine use the same rule
    assert lookup_base(base) == coin
    assert lookup_asset(base) == coin


def test_parse_symbol_kinds() -> None:
    lin = parse_symbol("1000PEPE/USDT:USDT")
    inv = parse_symbol("BTC/USD:BTC-250627")
    assert lin is not None and lin.kind == "linear" and underlying_asset(lin.base) == "PEPE"
    assert inv is not None and inv.inverse and inv.expiry == "250627"
    assert parse_symbol("BTCUSDT") is None
