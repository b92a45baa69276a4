"""Stop-loss and take-profit orders in the cascade, and ``--gap`` (``portfolio-format.md`` §7 ``cascade``).

Every expected figure is worked by hand in the comments (``margin-models.md`` §0: linear PnL
``s·Q·(P − EP)``; one tier, maintenance ``N × mmr`` with no amount; venue ``generic``: liquidation fee
0.5 % of the closed notional, Binance-style restore of the margin ratio to 0.8). A fill is a sell at
``trigger × (1 − slippage)`` for a long, a buy at ``× (1 + slippage)`` for a short.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from margin.contagion import EVENTS, cascade
from margin.errors import PortfolioError
from margin.orders import fill_price
from margin.portfolio import portfolio_from_dict, resolve
from tests.examples import one_tier, section_7_example, single_order_book

REPO = Path(__file__).resolve().parent.parent
ETH = "ETH/USDT:USDT"
BTC = "BTC/USDT:USDT"
VIEWS = ("as_is", "cross", "isolated")


def worked_example(stop: float = 2900.0, mode: str = "cross", **extra: Any) -> dict[str, Any]:
    """§7's worked example (:func:`tests.examples.section_7_example`) with the stop at ``stop`` and the
    position in margin mode ``mode``."""
    data = section_7_example()
    data["positions"][0]["margin_mode"] = mode
    data["orders"][0]["trigger_price"] = stop
    data.update(extra)
    return data


def run(data: dict[str, Any], *shocks: str, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = cascade(resolve(portfolio_from_dict(data)), list(shocks), **kw).to_dict()
    return doc


def fills(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in view["steps"] if s["mechanism"] == "order"]


def liquidations(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in view["steps"] if s["mechanism"] != "order"]


# --------------------------------------------------------------------------- §7 worked example


def test_section_7_worked_example_fills_the_stop_and_nothing_is_liquidated() -> None:
    doc = run(worked_example(), "ALL=-30%")
    for view in VIEWS:
        body = doc["modes"][view]
        assert len(body["steps"]) == 1, view
        row = body["steps"][0]
        assert row["event"] == "stop_filled" and row["mechanism"] == "order"
        assert row["order"] == "sl-eth" and row["position"] == "ETH/USDT:USDT long"
        # the stop fires where the mark reaches 2,900: move 2,900 / 3,100 − 1 = −6.4516 %
        assert row["move"] == pytest.approx(2900 / 3100 - 1, abs=1e-12)
        assert row["move"] == pytest.approx(-0.064516, abs=1e-6)
        assert row["price"] == pytest.approx(2900.0, rel=1e-12)
        # a sell at 2,900 × (1 − 0.001) = 2,897.10; realised 2 × (2,897.10 − 3,000) = −205.80
        assert row["fill_price"] == pytest.approx(2897.10, rel=1e-12)
        assert row["realized_pnl"] == pytest.approx(-205.80, rel=1e-9)
        assert row["contracts"] == pytest.approx(2.0) and row["closed_fraction"] == 1.0
        assert row["fee"] == 0.0 and row["liquidation_cost"] == 0.0
        assert row["closed_notional"] == pytest.approx(2 * 2900.0)
        assert row["positions_open"] == 0
        assert body["positions_lost"] == 0 and body["orders_filled"] == 1
    # the cross wallet keeps the realised loss: 5,000 − 205.80 = 4,794.20, and the pool, now empty, is never
    # liquidated; the account lost 5,200 (5,000 + 2 × 100 at the start) − 4,794.20 = 405.80
    cross = doc["modes"]["cross"]
    assert cross["steps"][0]["collateral_left"] == pytest.approx(4794.20, rel=1e-12)
    assert cross["collateral_left"] == pytest.approx(4794.20, rel=1e-12)
    assert cross["loss"] == pytest.approx(5200 - 4794.20, rel=1e-9)
    # isolated: the pool holds 6,000 / 10 = 600; 600 − 205.80 = 394.20 left in it
    assert doc["modes"]["isolated"]["steps"][0]["collateral_left"] == pytest.approx(394.20, rel=1e-12)
    assert "gap" not in doc


def test_order_rows_only_carry_the_order_keys() -> None:
    doc = run(worked_example(), "ALL=-30%")
    row = doc["modes"]["cross"]["steps"][0]
    assert {"order", "contracts", "fill_price"} <= set(row)
    assert row["event"] in EVENTS
    # without orders the same shock liquidates nothing here and the view has no ``orders_filled``
    plain = run(worked_example(orders=[]), "ALL=-30%")
    assert "orders_filled" not in plain["modes"]["cross"] and plain["modes"]["cross"]["steps"] == []
    # and with a liquidation, its row has none of the order keys
    deep = run(worked_example(orders=[]), "ALL=-90%", views=("cross",))["modes"]["cross"]
    assert deep["steps"] and not any({"order", "contracts", "fill_price"} & set(s) for s in deep["steps"])


def test_waterfall_has_no_bar_for_an_order_fill() -> None:
    res = resolve(portfolio_from_dict(worked_example()))
    view = cascade(res, ["ALL=-30%"], views=("cross",)).modes["cross"]
    bars = view.waterfall()
    assert bars is not None
    assert [b.kind for b in bars] == ["start", "market", "end"]
    # the market move is the whole loss: 4,794.20 − 5,200 (the slippage 2 × 2.90 included)
    assert view.market_move == pytest.approx(4794.20 - 5200, rel=1e-9)
    assert sum(b.value for b in bars[:-1]) == pytest.approx(bars[-1].value, rel=1e-12)


# --------------------------------------------------------------------------- isolated

# isolated margin 6,000 / 10 = 600: equity 600 + 2 (P − 3,000) meets maintenance 0.02 P at
# 1.98 P = 5,400, P = 2,727.27
ISO_LP = 5400 / 1.98


def test_isolated_stop_above_the_liquidation_price_fills_first() -> None:
    body = run(worked_example(stop=2800.0, mode="isolated"), "ALL=-30%")["modes"]["as_is"]
    assert [s["event"] for s in body["steps"]] == ["stop_filled"]
    row = body["steps"][0]
    # 2,800 × 0.999 = 2,797.20; realised 2 × (2,797.20 − 3,000) = −405.60; the pool keeps 600 − 405.60
    assert row["fill_price"] == pytest.approx(2797.20, rel=1e-12)
    assert row["realized_pnl"] == pytest.approx(-405.60, rel=1e-9)
    assert row["collateral_left"] == pytest.approx(600 - 405.60, rel=1e-9)
    assert body["positions_lost"] == 0


def test_isolated_stop_below_the_liquidation_price_never_fills() -> None:
    data = worked_example(stop=2700.0, mode="isolated")
    body = run(data, "ALL=-30%", params={"partial": False})["modes"]["as_is"]
    # the position is liquidated in full at its liquidation price 2,727.27; the stop is cancelled
    assert [s["event"] for s in body["steps"]] == ["liquidated"]
    assert body["steps"][0]["price"] == pytest.approx(ISO_LP, rel=1e-9)
    assert body["positions_lost"] == 1 and body["orders_filled"] == 0


def test_after_a_partial_liquidation_the_stop_closes_the_contracts_left() -> None:
    # restore to 0.8 at the LP P1 = 2,727.27, where equity = maintenance = 0.02 P1: closing f leaves
    # (1 − f)·0.02 P1 ≤ 0.8 (0.02 P1 − 0.005·f·2 P1) → 0.004 ≤ 0.012 f → f = 1/3, 4/3 contracts left
    p1 = ISO_LP
    f = 1 / 3
    wallet = 600 + f * 2 * (p1 - 3000) - 0.005 * f * 2 * p1  # realised part and the 0.5 % fee
    # the rest liquidates at W + 4/3 (P − 3,000) = 0.01 · 4/3 · P: P2 = (4,000 − W) / (4/3 · 0.99) ≈ 2,720.39
    p2 = (4000 - wallet) / (4 / 3 * 0.99)
    stop = 2725.0
    assert p2 < stop < p1
    body = run(worked_example(stop=stop, mode="isolated"), "ALL=-30%")["modes"]["as_is"]
    assert [s["event"] for s in body["steps"]] == ["partially_liquidated", "stop_filled"]
    part, fill = body["steps"]
    assert part["price"] == pytest.approx(p1, rel=1e-9)
    assert part["closed_fraction"] == pytest.approx(f, rel=1e-9)
    # the stop (whole position) closes the 4/3 contracts left at 2,725 × 0.999 = 2,722.275
    assert fill["contracts"] == pytest.approx(4 / 3, rel=1e-9)
    assert fill["fill_price"] == pytest.approx(2722.275, rel=1e-12)
    assert fill["realized_pnl"] == pytest.approx(4 / 3 * (2722.275 - 3000), rel=1e-9)
    assert fill["collateral_left"] == pytest.approx(wallet + 4 / 3 * (2722.275 - 3000), rel=1e-9)
    assert body["positions_lost"] == 0 and body["orders_filled"] == 1


# --------------------------------------------------------------------------- cross pool, two positions


def two_positions(stop: float) -> dict[str, Any]:
    """USDT 5,777; A = ETH long 1 at 3,000 (mark 3,000), B = BTC long 1 at 50,000 (mark 50,000), 1 % each.
    Both moving by x: equity 5,777 + 53,000 x meets maintenance 530 (1 + x) at 52,470 x = −5,247, x = −10 %."""
    return {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 5777.0},
        "prices": {ETH: 3000.0, BTC: 50000.0},
        "tiers": {ETH: one_tier(0.01), BTC: one_tier(0.01)},
        "positions": [
            {"id": "A", "symbol": ETH, "side": "long", "contracts": 1, "entry_price": 3000.0, "leverage": 10},
            {"id": "B", "symbol": BTC, "side": "long", "contracts": 1, "entry_price": 50000.0, "leverage": 10},
        ],
        "orders": [{"id": "sl-a", "symbol": ETH, "type": "stop", "trigger_price": stop}],
        "slippage": 0.001,
    }


def test_pool_liquidated_first_leaves_the_stop_unfilled() -> None:
    # A's stop at 2,650 (x = −11.67 %) lies beyond the pool's liquidation at x = −10 %; with a takeover every
    # position of the pool goes at once, A's stop is cancelled and never fills
    params = {"partial": False, "takeover": True}
    body = run(two_positions(2650.0), "ALL=-20%", params=params, views=("cross",))["modes"]["cross"]
    assert [(s["event"], s["position"], s["mechanism"]) for s in body["steps"]] == [
        ("liquidated", "A", "takeover"),
        ("liquidated", "B", "takeover"),
    ]
    assert body["steps"][0]["move"] == pytest.approx(-0.1, abs=1e-9)
    assert body["orders_filled"] == 0 and body["positions_lost"] == 2
    # said plainly: the order's outcome names why it never filled
    assert body["orders"] == [{"id": "sl-a", "position": "A", "outcome": "liquidated_first"}]


def test_pool_liquidated_first_then_the_stop_of_the_survivor_fills() -> None:
    # without a takeover B (the larger maintenance, 450 vs 27) is closed in full at x = −10 %: realised
    # −5,000, fee 0.5 % × 45,000 = 225, wallet 5,777 − 5,225 = 552; A (equity 552 − 300 = 252 > 27) lives
    # on and its stop fills at 2,650 × 0.999 = 2,647.35: realised −352.65, wallet 552 − 352.65 = 199.35
    body = run(two_positions(2650.0), "ALL=-20%", params={"partial": False}, views=("cross",))["modes"]["cross"]
    assert [(s["event"], s["position"]) for s in body["steps"]] == [("liquidated", "B"), ("stop_filled", "A")]
    liq, fill = body["steps"]
    assert liq["move"] == pytest.approx(-0.1, abs=1e-9)
    assert liq["collateral_left"] == pytest.approx(552.0, rel=1e-9)
    assert fill["move"] == pytest.approx(2650 / 3000 - 1, abs=1e-12)
    assert fill["fill_price"] == pytest.approx(2647.35, rel=1e-12)
    assert fill["realized_pnl"] == pytest.approx(-352.65, rel=1e-9)
    assert fill["collateral_left"] == pytest.approx(199.35, rel=1e-9)
    assert body["positions_lost"] == 1 and body["orders_filled"] == 1
    assert [o["outcome"] for o in body["orders"]] == ["filled"]


def test_stop_filled_first_keeps_its_loss_in_the_wallet_and_moves_the_liquidation() -> None:
    # A's stop at 2,800 (x = −6.67 %) fills first at 2,797.20: realised −202.80, wallet 5,777 − 202.80 =
    # 5,574.20. The pool then holds B alone: 5,574.20 + 50,000 x = 500 (1 + x) → x = −5,074.20 / 49,500
    x_liq = -5074.20 / 49500
    body = run(two_positions(2800.0), "ALL=-20%", views=("cross",))["modes"]["cross"]
    assert body["steps"][0]["event"] == "stop_filled"
    fill = body["steps"][0]
    assert fill["move"] == pytest.approx(2800 / 3000 - 1, abs=1e-12)
    assert fill["realized_pnl"] == pytest.approx(-202.80, rel=1e-9)
    assert fill["collateral_left"] == pytest.approx(5574.20, rel=1e-9)
    liq = liquidations(body)
    assert liq and liq[0]["position"] == "B"
    assert liq[0]["move"] == pytest.approx(x_liq, abs=1e-9)  # ≈ −10.25 %, not −10 %
    # at the trigger the pool's equity is its maintenance: 500 (1 + x)
    assert liq[0]["equity_before"] == pytest.approx(500 * (1 + x_liq), rel=1e-6)
    assert body["positions_lost"] + body["positions_open"] + 1 == 2  # A closed by its order, not lost


# --------------------------------------------------------------------------- --gap


def test_gap_fills_at_the_shocked_mark_before_the_pools() -> None:
    gap = run(worked_example(), "ALL=-30%", params={"gap": True})
    assert gap["gap"] is True and gap["params"]["steps"] == 1
    path = run(worked_example(), "ALL=-30%")
    # the mark jumps 3,100 → 2,170: the stop fills at 2,170 × 0.999 = 2,167.83, realised
    # 2 × (2,167.83 − 3,000) = −1,664.34 (on the path: at 2,900 × 0.999 = 2,897.10, −205.80)
    g = gap["modes"]["cross"]["steps"]
    assert [s["event"] for s in g] == ["stop_filled"]
    assert g[0]["move"] == pytest.approx(-0.3, abs=1e-12) and g[0]["price"] == pytest.approx(2170.0)
    assert g[0]["fill_price"] == pytest.approx(2167.83, rel=1e-12)
    assert g[0]["realized_pnl"] == pytest.approx(-1664.34, rel=1e-9)
    assert g[0]["collateral_left"] == pytest.approx(5000 - 1664.34, rel=1e-9)
    assert path["modes"]["cross"]["steps"][0]["fill_price"] == pytest.approx(2897.10, rel=1e-12)
    # isolated: at 2,170 the pool (600) is past bankruptcy, 600 + 2 × (2,170 − 3,000) = −1,060; the stop
    # fills first (no liquidation), the empty pool's debt 600 − 1,664.34 = −1,064.34 goes to the insurance
    iso = gap["modes"]["isolated"]
    assert [s["event"] for s in iso["steps"]] == ["stop_filled"]
    assert iso["steps"][0]["equity_before"] == pytest.approx(-1060.0, rel=1e-9)
    assert iso["insurance_fund"] == pytest.approx(1664.34 - 600, rel=1e-9)
    assert iso["steps"][0]["collateral_left"] == 0.0 and iso["positions_lost"] == 0
    # without the order the same gap makes the isolated pool bankrupt at the shocked mark
    bare = run(worked_example(orders=[]), "ALL=-30%", params={"gap": True})["modes"]["isolated"]
    assert [s["event"] for s in bare["steps"]] == ["bankrupt"] and bare["positions_lost"] == 1


def test_gap_with_an_order_not_crossed_leaves_it_open() -> None:
    # ALL=-5 %: 3,100 → 2,945, above the stop at 2,900: nothing fills
    body = run(worked_example(), "ALL=-5%", params={"gap": True})["modes"]["cross"]
    assert body["steps"] == [] and body["orders_filled"] == 0


# --------------------------------------------------------------------------- take-profit on a short


def short_with_take_profit() -> dict[str, Any]:
    """ETH short 2 at 3,000, mark 3,100, USDT 5,000; take-profit at 2,950 (below the mark: its profit side).
    Liquidation above: 5,000 − 2 (P − 3,000) = 0.02 P → P = 11,000 / 2.02 = 5,445.5."""
    data = worked_example(orders=[{"id": "tp", "symbol": ETH, "type": "take_profit", "trigger_price": 2950.0}])
    data["positions"][0]["side"] = "short"
    return data


def test_take_profit_on_a_short_wrong_way_is_not_crossed() -> None:
    up = run(short_with_take_profit(), "ALL=+20%")["modes"]["cross"]  # 3,720: no fill, no liquidation
    assert up["steps"] == [] and up["orders_filled"] == 0
    down = run(short_with_take_profit(), "ALL=-10%")["modes"]["cross"]  # 2,790: crosses 2,950
    assert [s["event"] for s in down["steps"]] == ["take_profit_filled"]
    row = down["steps"][0]
    assert row["move"] == pytest.approx(2950 / 3100 - 1, abs=1e-12)
    # a buy at 2,950 × 1.001 = 2,952.95; realised −2 × (2,952.95 − 3,000) = +94.10
    assert row["fill_price"] == pytest.approx(2952.95, rel=1e-12)
    assert row["realized_pnl"] == pytest.approx(94.10, rel=1e-9)
    assert row["collateral_left"] == pytest.approx(5094.10, rel=1e-12)


# --------------------------------------------------------------------------- impact: the fill's flow


def test_fill_feeds_the_impact_law_and_is_not_repeated_by_the_impact_runs() -> None:
    depth = 1e6  # quote per 100 % move (the core's unit; the CLI's --depth is per 1 %): D = F / depth
    doc = run(worked_example(), "ALL=-30%", impact="linear", params={"depth": {"ETH": depth}}, views=("cross",))
    body = doc["modes"]["cross"]
    # the stop sells 2 ETH at 2,897.10: flow −5,794.20
    assert body["forced_flow"][ETH] == pytest.approx(-2 * 2897.10, rel=1e-12)
    assert body["impact"][ETH] == pytest.approx(-2 * 2897.10 / depth, rel=1e-9)
    assert [s["event"] for s in body["steps"]] == ["stop_filled"] and body["orders_filled"] == 1


# --------------------------------------------------------------------------- options and CLI


def test_gap_param_must_be_a_bool() -> None:
    with pytest.raises(PortfolioError, match=r"params\.gap must be true or false"):
        run(worked_example(), "ALL=-30%", params={"gap": 1})


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "margin", *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def test_cli_gap_json_and_table(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps(worked_example()))
    out = cli("cascade", str(f), "--shock", "ALL=-30%", "--gap", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["gap"] is True
    assert doc["modes"]["cross"]["steps"][0]["fill_price"] == pytest.approx(2170 * 0.999, rel=1e-12)
    table = cli("cascade", str(f), "--shock", "ALL=-30%")
    assert table.returncode == 0, table.stderr
    assert "stop_filled" in table.stdout and "orders filled 1" in table.stdout
    assert "sl-eth: 2 contracts at 2,897.10, realised -205.80" in table.stdout
    plain = tmp_path / "q.json"
    plain.write_text(json.dumps(worked_example(orders=[])))
    text = cli("cascade", str(plain), "--shock", "ALL=-30%").stdout
    assert "orders filled" not in text and "no liquidation" in text


# --------------------------------------------------------------------------- property


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from(["long", "short"]),
    contracts=st.floats(0.5, 20.0),
    entry=st.floats(500.0, 5000.0),
    drift=st.floats(-0.1, 0.1),
    leverage=st.floats(2.0, 50.0),
    mmr=st.floats(0.002, 0.05),
    u=st.floats(0.05, 0.95),
    slippage=st.floats(0.0, 0.01),
)
def test_stop_between_mark_and_liquidation_always_fills_at_its_price(
    side: str, contracts: float, entry: float, drift: float, leverage: float, mmr: float, u: float, slippage: float
) -> None:
    mark = entry * (1 + drift)
    collateral = contracts * entry / leverage
    s = 1 if side == "long" else -1
    # cross, one tier: C + s q (P − E) = mmr q P → P = (s q E − C) / (q (s − mmr))
    lp = (s * contracts * entry - collateral) / (contracts * (s - mmr))
    assume(lp > 0 and s * (mark - lp) > 0.01 * mark)  # a liquidation price on the loss side, not at the mark
    stop = lp + u * (mark - lp)
    beyond = lp * (0.9 if side == "long" else 1.1)
    data = single_order_book(
        side, contracts, entry, mark, collateral, mmr, {"type": "stop", "trigger_price": stop}, slippage
    )
    res = resolve(portfolio_from_dict(data))
    doc: dict[str, Any] = cascade(res, {ETH: beyond / mark - 1}, views=("as_is",)).to_dict()
    body = doc["modes"]["as_is"]
    assert [r["event"] for r in body["steps"]] == ["stop_filled"]
    assert body["steps"][0]["fill_price"] == pytest.approx(fill_price(side, stop, slippage), rel=1e-12)
    assert body["positions_lost"] == 0
