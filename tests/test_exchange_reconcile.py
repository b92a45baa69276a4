"""Reconciliation of imported positions: the exchange's figures next to ours, differences and likely causes.

Positions are imported from the replay server (recorded payloads through ccxt), evaluated with the engine and
lined up by :func:`exchange.reconcile.reconcile`. Figures the exchange did not report (null, 0, "") must be
shown as missing, never as a number.
"""

from __future__ import annotations

from typing import Any

import pytest

from exchange.adapter import Credentials, fetch_account
from exchange.mapping import to_portfolio, validate
from exchange.reconcile import reconcile, render_rows
from exchange.testkit.scenarios import scenario_routes
from exchange.testkit.server import ReplayServer
from margin.report import evaluate_portfolio


def rows_of(venue: str, scenario: str, address: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    with ReplayServer(scenario_routes(scenario)) as server:
        raw = fetch_account(
            venue, None if address else Credentials("k" * 16, "s" * 16, "p" * 8), address, server.url, timeout_ms=3000
        )
    doc = to_portfolio(raw)
    rows = reconcile(doc, evaluate_portfolio(validate(doc)))
    assert render_rows(rows).count("\n") == len(rows) + 1
    return {(r["id"], r["metric"]): r for r in rows}


def test_binance_linear_difference_comes_from_the_wallet() -> None:
    rows = rows_of("binanceusdm", "binanceusdm")
    r = rows[("BTC/USDT:USDT long", "liquidation_price")]
    # ours (hand-worked in test_exchange_accounts): (25.72964781 - 607.0131) / (-0.008964) = 64846.43599;
    # exchange 64846.98753790: ours - exchange = -0.5515 (Binance values USDC collateral a bit below 1 USDT:
    # its totalWalletBalance is 25.72610060, ours 25.72964781)
    ours = (25.72964781 - 0.009 * 67445.9) / (0.009 * 0.004 - 0.009)
    assert r["exchange"] == 64846.9875379 and r["ours"] == pytest.approx(ours, rel=1e-9)
    assert r["difference"] == pytest.approx(ours - 64846.9875379, rel=1e-6)
    assert r["relative"] == pytest.approx((ours - 64846.9875379) / 64846.9875379, rel=1e-6)
    # same tier (2.43009666712 / 607.52416678 = 0.4 %) and the same mark: the wallet is left
    assert r["cause"].startswith("funding / wallet")
    mm = rows[("BTC/USDT:USDT long", "maintenance_margin")]
    # 607.52416678... notional at the same mark x 0.4 % = 2.4300966671 both sides
    assert mm["cause"] == "agrees"


def test_coinm_inverse_agrees_with_the_exchange() -> None:
    rows = rows_of("binancecoinm", "binancecoinm")
    r = rows[("BTC/USD:BTC short", "liquidation_price")]
    # the synthesized COIN-M wallet was backed out of this very liquidation price (Binance C1 formula), so the
    # engine must give it back: 72491.16879818
    assert r["ours"] == pytest.approx(72491.16879818, rel=1e-9) and r["cause"] == "agrees"
    mm = rows[("BTC/USD:BTC short", "maintenance_margin")]
    # 3 x 100 USD / 68234.2 x 0.4 % = 1.758649e-05 BTC; the exchange (ccxt) 1.758648e-05
    assert mm["ours"] == pytest.approx(300 / 68234.2 * 0.004, rel=1e-12) and mm["cause"] == "agrees"


def test_zero_and_empty_exchange_figures_are_shown_missing() -> None:
    rows = rows_of("binanceusdm", "binanceusdm-hedge")
    short = rows[("BTC/USDT:USDT short", "liquidation_price")]
    # raw liquidationPrice "0"
    assert short["exchange"] is None and short["difference"] is None and short["relative"] is None
    assert short["cause"] == "missing: the exchange reported nothing (null, 0 or '') (sent '0')"
    eth = rows[("ETH/USDT:USDT short", "liquidation_price")]
    # raw liquidationPrice "" (ccxt fills in its own estimate; it is not shown as the exchange's figure)
    assert eth["exchange"] is None and eth["ours"] is not None and "(sent '')" in eth["cause"]
    bybit = rows_of("bybit", "bybit")[("LTC/USDT:USDT long", "liquidation_price")]
    assert bybit["exchange"] is None and "(sent '')" in bybit["cause"]  # raw liqPrice ""


def test_okx_fee_in_trigger_is_named() -> None:
    rows = rows_of("okx", "okx-isolated")
    mm = rows[("BTC/USD:BTC long", "maintenance_margin")]
    # exchange 4.3300962256e-06 BTC (0.4 % of 100/92376.7); ours adds the 0.05 % taker fee: x (0.0045/0.004)
    assert mm["ours"] == pytest.approx(4.3300962256e-06 * 0.0045 / 0.004, rel=1e-6)
    assert "fees" in mm["cause"]
    lp = rows[("BTC/USD:BTC long", "liquidation_price")]
    # 69536.51 vs 69536.61: 1.4e-6 relative, above the 1e-6 "agrees" bound; the fee is the named suspect
    assert abs(lp["relative"]) < 1e-5 and "fees" in lp["cause"]


def test_hyperliquid_null_figures_and_no_liquidation_on_either_side() -> None:
    rows = rows_of("hyperliquid", "hyperliquid", "0x" + "ab" * 20)
    r = rows[("ETH/USDC:USDC long", "liquidation_price")]
    # liquidationPx null and maintenance not reported by Hyperliquid per position
    assert r["exchange"] is None and r["cause"].startswith("missing")
    assert rows[("ETH/USDC:USDC long", "maintenance_margin")]["exchange"] is None
