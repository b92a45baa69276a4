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
    # the wallet the exchange's price implies for this lone position at our rate: mmr x Q x LP - Q x (LP - EP)
    # = 0.004 x 0.009 x 64846.9875379 - 0.009 x (64846.9875379 - 67445.9) = 25.7247 USDT (Binance's own
    # totalWalletBalance is 25.72610060), within 1 % of ours, so no separate "wallet" cause
    implied = 0.004 * 0.009 * 64846.9875379 - 0.009 * (64846.9875379 - 67445.9)
    assert f"{implied:.6g}" == "25.7247"
    assert r["cause"].endswith("(the exchange's liquidation price implies a wallet of 25.7247 USDT, ours 25.7296)")
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


def test_bybit_isolated_liquidation_price_agrees_with_liq_price() -> None:
    rows = rows_of("bybit", "bybit-isolated")
    lp = rows[("BTC/USDT:USDT long", "liquidation_price")]
    # raw liqPrice "19700" (Bybit's published figure for 1 BTC at 20,000, 50x, MMR 0.5 %); ours through the isolated
    # pool of positionBalance 400 with MM at the entry value: 20000 - (400 - 100) / 1 = 19700. Tolerance: the
    # "agrees" bound of reconcile (1e-6 relative); the figures are equal to the last digit here
    assert lp["exchange"] == 19700.0 and lp["ours"] == pytest.approx(19700.0, rel=1e-12)
    assert abs(lp["relative"]) <= 1e-6 and lp["cause"] == "agrees"
    mm = rows[("BTC/USDT:USDT long", "maintenance_margin")]
    assert mm["exchange"] == 100.0 and mm["cause"] == "agrees"  # raw positionMM "100" = 20000 x 0.5 %
    ratio = rows[("BTC/USDT:USDT long", "margin_ratio")]
    # ccxt's marginRatio = positionMM / collateral (positionBalance) = 100 / 400; ours: the isolated pool's 100 / 400
    assert ratio["exchange"] == 0.25 and ratio["ours"] == pytest.approx(0.25) and ratio["cause"] == "agrees"
    assert ("BTC/USDT:USDT long", "initial_margin") not in rows  # Bybit's spec names no raw initial margin


def test_bybit_portfolio_margin_is_the_named_cause() -> None:
    rows = rows_of("bybit", "bybit-portfolio")
    mm = rows[("LTC/USDT:USDT long", "maintenance_margin")]
    # raw positionMM 0.81072399 vs ours at the mark (1.2 x 71.1 x 1.04583 % = 0.89231): the account is margined
    # by portfolio on Bybit and imported as cross here, which the cause names first
    assert mm["exchange"] == 0.81072399 and mm["ours"] == pytest.approx(1.2 * 71.1 * 0.81072399 / 77.519375)
    assert mm["cause"].startswith("portfolio margin: Bybit margins this account by portfolio")


def test_deribit_figures_against_ours_with_named_causes() -> None:
    rows = rows_of("deribit", "deribit")
    pid = "BTC/USD:BTC long"
    # docs example position: 50 USD long (5 x 10 USD) at 7440.18, mark 7476.65, size_currency 0.006687487 BTC;
    # estimated_liquidation_price 1.74, maintenance_margin 0.000143783, initial_margin 0.000197283 BTC
    n = 50 / 7476.65
    mm = rows[(pid, "maintenance_margin")]
    # ours: the shipped D1 rates (in force from 2022-01-11): n x (1 % + n x 0.005 %); the docs example predates
    # them (2.15 % = 0.000143783 / 0.006687487), which the cause names
    assert mm["exchange"] == 0.000143783 and mm["ours"] == pytest.approx(n * (0.01 + n * 0.00005), rel=1e-9)
    assert mm["cause"] == "tier: the exchange's maintenance rate 2.1500% vs ours 1.0000%"
    im = rows[(pid, "initial_margin")]
    # no leverage on Deribit: ours is n x (2 % + n x 0.005 %) from the tier's imr; the exchange's 2.95 %
    assert im["exchange"] == 0.000197283 and im["ours"] == pytest.approx(n * (0.02 + n * 0.00005), rel=1e-9)
    assert im["cause"] == "tier: the exchange's initial rate 2.9500% vs ours 2.0000%"
    lp = rows[(pid, "liquidation_price")]
    # the recorded BTC wallet balance is 0 (the balance fixture and the docs position come from different
    # accounts), so our pool is already past its trigger at the mark and our liquidation price is the crossing
    # (above the mark, 7514.58) where equity 50 x (1/7440.18 - 1/P) meets the maintenance 50/P x (1 % + 50/P x
    # 0.005 %)
    assert lp["exchange"] == 1.74 and lp["ours"] > 7476.65
    p = lp["ours"]
    assert 50 * (1 / 7440.18 - 1 / p) == pytest.approx(50 / p * (0.01 + 50 / p * 0.00005), rel=1e-6)
    # named causes: the tier, and the wallet Deribit's 1.74 implies for a lone 50 USD long at our rate:
    # 1.00003 % x 50/1.74 - 50 x (1/7440.18 - 1/1.74) = 29.0163 BTC, against the imported 0
    wallet = 0.0100003343 * 50 / 1.74 - 50 * (1 / 7440.18 - 1 / 1.74)
    assert f"{wallet:.6g}" == "29.0163"
    assert lp["cause"] == (
        "tier: the exchange's maintenance rate 2.1500% vs ours 1.0000%; wallet: the exchange's liquidation "
        "price implies a wallet of 29.0163 BTC, ours 0 (the imported collateral of the pool)"
    )
    assert rows[(pid, "margin_ratio")]["exchange"] is None  # Deribit reports no per-position margin ratio
