"""Stop-losses and take-profits in the Monte Carlo ``risk`` (``portfolio-format.md`` §7, ``margin.risk_orders``).

Hand-worked cases on injected hourly paths (the fill at the first hourly price beyond the trigger, the
realised PnL at that price with slippage, fills before the pool's check and only up to its liquidation),
the fill probability against the closed-form first passage of GBM with the Broadie–Glasserman–Kou
correction, and the command line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin import compile_book, portfolio_from_dict, portfolio_to_dict, resolve
from margin.cli import main
from margin.engine import VIEWS
from margin.loader import load_daily_closes
from margin.portfolio import Resolved
from margin.risk import risk
from margin.risk_orders import OrderOutcome, OrderPaths, position_net, position_net_at
from margin.risk_simulation import CHUNK_ELEMENTS, MAX_CHUNK_STEPS, NEVER, simulate

HIST = load_daily_closes()
ONE_TIER = [{"min_notional": 0, "max_notional": None, "mmr": 0.005, "max_leverage": 125, "maint_amount": 0}]
ONE_PCT = [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 100, "maint_amount": 0}]


def _file(
    positions: list[dict[str, object]],
    prices: dict[str, float],
    orders: list[dict[str, object]],
    collateral: float,
    tiers: dict[str, object],
    slippage: float = 0.0,
) -> dict[str, object]:
    doc: dict[str, object] = {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "collateral": {"USDT": collateral},
        "prices": prices,
        "tiers": tiers,
        "positions": positions,
    }
    if orders:
        doc["orders"] = orders
        doc["slippage"] = slippage
    return doc


def _isolated_btc(stop: float | None, slippage: float = 0.0) -> dict[str, object]:
    """BTC long 1 at 80,000, mark 80,000, 10× isolated (margin 8,000), one tier at 0.5 %.

    Liquidation price: 8,000 + (P − 80,000) = 0.005·P → P = 72,000 / 0.995 = 72,361.81."""
    orders = [] if stop is None else [{"id": "sl", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": stop}]
    position = {
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "contracts": 1,
        "entry_price": 80000.0,
        "leverage": 10,
        "margin_mode": "isolated",
    }
    return _file([position], {"BTC/USDT:USDT": 80000.0}, orders, 100_000.0, {"BTC/USDT:USDT": ONE_TIER}, slippage)


def _run(resolved: Resolved, ratio: np.ndarray) -> OrderOutcome:
    """``OrderPaths`` on injected hourly ratios ``ratio`` (assets, hours, paths), hour 0 = the file's marks;
    every position's asset is its column ``pos_asset`` in the order of the file's symbols' bases."""
    books = {v: compile_book(resolved, v) for v in VIEWS}
    book = books["as_is"]
    bases = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    pos_asset = np.array([bases.index(resolved.legs[i].instrument.base) for i in range(book.n_positions)])
    paths = ratio.shape[2]
    orders = OrderPaths(resolved, books, pos_asset, paths)
    orders.chunk(0, ratio, None)
    return orders.outcome({v: np.full((paths, b.n_pools), NEVER, dtype=np.int32) for v, b in books.items()})


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# --------------------------------------------------------------------------- injected paths, by hand


def test_gap_fill_uses_the_first_hourly_price_beyond_the_trigger() -> None:
    """Stop at 76,000, slippage 0.1 %. Path 0: hourly marks 79,200, 75,200, 74,400: the first hourly price
    at or below the trigger is P1 = 80,000 × 0.94 = 75,200 < 76,000 at hour 2, so the sell fills at
    75,200 × (1 − 0.001) = 75,124.80 (not 76,000 × 0.999 = 75,924), realised PnL 1 × 1 × (75,124.80 −
    80,000) = −4,875.20. Path 1: 77,600, 76,800, 76,080: never at or below 76,000, no fill."""
    resolved = resolve(portfolio_from_dict(_isolated_btc(76000.0, slippage=0.001)))
    ratio = np.array([[[0.99, 0.97], [0.94, 0.96], [0.93, 0.951]]])  # (1 asset, 3 hours, 2 paths)
    out = _run(resolved, ratio)
    assert out.hour[0].tolist() == [2, NEVER]
    assert out.fill_price[0, 0] == pytest.approx(75200.0 * 0.999, rel=1e-12)
    assert out.realized[0, 0] == pytest.approx(1.0 * (75124.8 - 80000.0), rel=1e-12)
    assert out.realized[0, 1] == 0.0
    for view in VIEWS:  # the pool is empty after the fill: never liquidated; the fill counts in every view
        assert out.fills[view][:, 0].tolist() == [2, NEVER]
        assert (out.first[view] == NEVER).all()


def _cross_pair() -> Resolved:
    """Cross pool, USDT 10,000, one tier at 1 % on both: A = BTC long 0.1 at 80,000 with a stop at 76,000
    (slippage 0.1 %), B = ETH long 10 at 3,000. Pool value (format §2, liquidated when ≤ 0):
    V = 10,000 + 0.1 (P_btc − 80,000) + 10 (P_eth − 3,000) − 0.01 (0.1 P_btc + 10 P_eth);
    now V = 10,000 − 0.01 × 38,000 = 9,620 > 0."""
    positions: list[dict[str, object]] = [
        {
            "id": "A",
            "symbol": "BTC/USDT:USDT",
            "side": "long",
            "contracts": 0.1,
            "entry_price": 80000.0,
            "leverage": 10,
        },
        {"id": "B", "symbol": "ETH/USDT:USDT", "side": "long", "contracts": 10, "entry_price": 3000.0, "leverage": 10},
    ]
    orders: list[dict[str, object]] = [
        {"id": "sl-A", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 76000.0}
    ]
    doc = _file(
        positions,
        {"BTC/USDT:USDT": 80000.0, "ETH/USDT:USDT": 3000.0},
        orders,
        10_000.0,
        {"BTC/USDT:USDT": ONE_PCT, "ETH/USDT:USDT": ONE_PCT},
        slippage=0.001,
    )
    return resolve(portfolio_from_dict(doc))


def test_cross_pool_fills_count_only_up_to_the_liquidation_hour() -> None:
    """The stop of A fills only when its hour is ≤ the pool's liquidation hour (fills come first).

    Path 0: hour 1 ETH 2,000 (BTC 80,000): V = 10,000 + 0 − 10,000 − 0.01 × (8,000 + 20,000) = −280 ≤ 0:
    liquidated at hour 1; BTC reaches 75,000 at hour 2, after: the stop stays unfilled.
    Path 1: hour 1 BTC 75,000 (ETH 3,000): the stop fills at 75,000 × 0.999 = 74,925, realised
    0.1 × (74,925 − 80,000) = −507.50, A closed: V = 10,000 − 507.50 − 0.01 × 30,000 = 9,192.50 > 0;
    hour 2 ETH 2,050: V = 10,000 − 507.50 + 10 × (−950) − 0.01 × 20,500 = −212.50: liquidated at 2, fill
    at 1 ≤ 2 counts. Path 2: hour 1 BTC 75,000 and ETH 2,000 at once: the fill first, then V = 10,000 −
    507.50 − 10,000 − 0.01 × 20,000 = −707.50: liquidated at 1, the fill (hour 1 ≤ 1) counts.
    Path 3: BTC 78,000 then 77,000, ETH 3,000: no fill, no liquidation."""
    resolved = _cross_pair()
    btc = np.array([[1.0, 75 / 80, 75 / 80, 78 / 80], [75 / 80, 75 / 80, 75 / 80, 77 / 80]])  # (hours, paths)
    eth = np.array([[2 / 3, 1.0, 2 / 3, 1.0], [2 / 3, 2050 / 3000, 2 / 3, 1.0]])
    out = _run(resolved, np.stack([btc, eth]))
    book = compile_book(resolved, "cross")
    pool = int(book.pool[0])
    assert out.hour[0].tolist() == [2, 1, 1, NEVER]  # first hourly price ≤ 76,000, pool ignored
    assert out.realized[0, 1] == pytest.approx(0.1 * (74925.0 - 80000.0), rel=1e-12)
    assert out.first["cross"][:, pool].tolist() == [1, 2, 1, NEVER]
    assert out.fills["cross"][:, 0].tolist() == [NEVER, 1, 1, NEVER]
    # the same pool in ``as_is`` (both positions cross)
    np.testing.assert_array_equal(out.fills["as_is"], out.fills["cross"])


def test_stop_and_take_profit_of_one_position_whichever_first() -> None:
    """BTC long 1 at 80,000 (isolated, as above) with a stop at 76,000 for 1 contract and a take-profit at
    84,000 for 1 contract. Path 0: 85,000 at hour 1 (TP fills, 1 × (85,000 − 80,000) = 5,000), then
    75,000 at hour 2: the stop finds no contract left, cancelled. Path 1: 75,000 first: the stop fills
    (1 × (75,000 − 80,000) = −5,000), the TP at hour 2 is cancelled."""
    doc = _isolated_btc(76000.0)
    orders = doc["orders"]
    assert isinstance(orders, list)
    orders.append({"id": "tp", "symbol": "BTC/USDT:USDT", "type": "take_profit", "trigger_price": 84000.0})
    resolved = resolve(portfolio_from_dict(doc))
    ratio = np.array([[[85 / 80, 75 / 80], [75 / 80, 85 / 80]]])
    out = _run(resolved, ratio)
    assert out.hour.tolist() == [[2, 1], [1, 2]]  # first passage of each trigger, the other order aside
    assert out.closed.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert out.realized[:, 0].tolist() == [0.0, 5000.0]
    assert out.realized[:, 1].tolist() == [-5000.0, 0.0]
    assert out.fills["isolated"].tolist() == [[NEVER, 1], [1, NEVER]]


def test_partial_stop_leaves_the_rest_valued() -> None:
    """Isolated BTC long 1 at 80,000 (margin 8,000, 0.5 %) with a stop for 0.5 contract at 76,000, no
    slippage. After the fill at 75,000 (hour 1): wallet 8,000 + 0.5 × (75,000 − 80,000) = 5,500 backing
    0.5 BTC: V = 5,500 + 0.5 (P − 80,000) − 0.005 × 0.5 P = 0 at P = 34,500 / 0.4975 = 69,346.73. Path 0
    goes to 70,000 at hour 2 (V = 5,500 − 5,000 − 175 = 325 > 0: alive; without the stop, 70,000 <
    72,361.81 liquidates); path 1 to 69,000 (V = 5,500 − 5,500 − 172.50 = −172.50: liquidated at 2)."""
    doc = _isolated_btc(76000.0)
    orders = doc["orders"]
    assert isinstance(orders, list)
    orders[0]["contracts"] = 0.5
    resolved = resolve(portfolio_from_dict(doc))
    ratio = np.array([[[75 / 80, 75 / 80], [70 / 80, 69 / 80]]])
    out = _run(resolved, ratio)
    pool = int(compile_book(resolved, "isolated").pool[0])
    assert out.closed[0].tolist() == [0.5, 0.5]
    assert out.first["isolated"][:, pool].tolist() == [NEVER, 2]
    assert out.fills["isolated"][:, 0].tolist() == [1, 1]


# --------------------------------------------------------------------------- the Monte Carlo


def test_stop_above_the_liquidation_price_prevents_liquidation() -> None:
    """Stop at 76,000 above the liquidation price 72,361.81 (``_isolated_btc``). An hourly path whose close
    first reaches ≤ 72,361.81 at hour h has a close ≤ 76,000 at an hour ≤ h (that close itself), so the
    stop has filled by then (fills come before the check) and the empty pool is never liquidated:
    probability 0. Without the stop, at σ = 150 % over 7 days the barrier 72,361.81 / 80,000 = 0.9045 is
    reached on most paths (σ√T = 1.5 × √(168/8760) = 0.2077 against ln 0.9045 = −0.1004): clearly > 0."""
    resolved = resolve(portfolio_from_dict(_isolated_btc(76000.0)))
    doc: dict[str, Any] = risk(resolved, 168, HIST, paths=4000, seed=3, model="gbm", vols={"BTC": 1.5})
    for view in ("as_is", "isolated"):
        body = doc["modes"][view]
        assert body["probability"] == 0.0
        assert body["liquidated_paths"] == 0
        assert body["probability_without_orders"] > 0.3
        # every path liquidated without the stop fills it
        assert body["probability_order_filled"] >= body["probability_without_orders"]
        assert body["orders"][0]["id"] == "sl"
        assert body["orders"][0]["probability_filled"] == body["probability_order_filled"]


def test_stop_fill_probability_matches_gbm_first_passage() -> None:
    """The stop is above the liquidation price, so it fills exactly when the hourly close first reaches
    ≤ B = 76,000 (S0 = 80,000): a first passage of GBM.

    The ``gbm`` model's hourly log return has drift −σ²/2 per year (risk_market: zero price drift), so
    in years μ = −σ²/2, T = 168/8760. For X = ln(S/S0) = μt + σW the reflection principle gives
    P(min_{[0,T]} S ≤ B) = Φ((b − μT)/(σ√T)) + (B/S0)^(2μ/σ²) Φ((b + μT)/(σ√T)), b = ln(B/S0), and
    (B/S0)^(2μ/σ²) = (B/S0)^(−1). Hourly closes miss crossings inside an hour: Broadie–Glasserman–Kou
    shift the barrier to B·exp(−0.5826 σ √Δt), Δt = 1/8760 y. With σ = 0.8: σ√Δt = 0.0085476, shift
    factor e^(−0.0049797) = 0.995033; b = ln(0.95 × 0.995033) = −0.0562728; σ√T = 0.110788; μT = −0.0061370;
    Φ((−0.0562728 + 0.0061370)/0.110788) = Φ(−0.452539) = 0.325440; Φ((−0.0562728 − 0.0061370)/0.110788) =
    Φ(−0.563330) = 0.286604; factor 1/(0.95 × 0.995033) = 1.057894; P = 0.325440 + 1.057894 × 0.286604
    = 0.628636. The Monte Carlo's binomial standard error with n = 20,000 is √(P(1−P)/n) = 0.003417: the
    tolerance is 4 of them."""
    sigma, hours, n = 0.8, 168, 20_000
    t = hours / 8760.0
    mu = -0.5 * sigma * sigma
    shifted = 0.95 * math.exp(-0.5825971579390106 * sigma * math.sqrt(1.0 / 8760.0))
    b = math.log(shifted)
    s = sigma * math.sqrt(t)
    expected = _phi((b - mu * t) / s) + shifted ** (2 * mu / sigma**2) * _phi((b + mu * t) / s)
    assert expected == pytest.approx(0.628636, abs=2e-6)
    resolved = resolve(portfolio_from_dict(_isolated_btc(76000.0)))
    doc: dict[str, Any] = risk(resolved, hours, HIST, paths=n, seed=11, model="gbm", vols={"BTC": sigma})
    p = doc["modes"]["isolated"]["orders"][0]["probability_filled"]
    se = math.sqrt(expected * (1 - expected) / n)
    assert abs(p - expected) < 4 * se
    lo, hi = doc["modes"]["isolated"]["orders"][0]["ci95"]
    assert lo < p < hi


def test_simulation_equals_direct_evaluation_on_the_same_draws() -> None:
    """``simulate`` values a cross pool holding orders from its separable value and only where a fill
    happened; the same draws fed to ``OrderPaths`` with every pool valued in full at every hour give the
    same first liquidation hours and fills (two positions in a cross pool, high volatility)."""
    resolved = _cross_pair()
    hours, paths, seed, vols = 96, 600, 4, {"BTC": 1.6, "ETH": 2.0}
    sim = simulate(resolved, hours, HIST, paths=paths, seed=seed, model="gbm", vols=vols)
    assert sim.orders is not None
    mm = sim.model
    rng = np.random.default_rng(seed)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // (paths * len(mm.assets))))
    draws, done = [], 0
    while done < hours:
        draws.append(mm.draw(rng, min(chunk, hours - done), paths))
        done += draws[-1].shape[1]
    level = np.zeros((len(mm.assets), paths))
    ratio = np.empty((len(mm.assets), hours, paths))
    j = 0
    for x in draws:  # the same running sums as the simulation
        for k in range(x.shape[1]):
            level += x[:, k]
            ratio[:, j] = np.exp(level)
            j += 1
    bases = list(dict.fromkeys(leg.instrument.base for leg in resolved.legs))
    assert list(mm.assets) == bases
    direct = _run(resolved, ratio)
    for view in VIEWS:  # the pools holding orders (``_run`` values no other pool)
        book = sim.books[view]
        held = np.unique(book.pool[list(resolved.order_legs)])
        np.testing.assert_array_equal(direct.first[view][:, held], sim.orders.first[view][:, held], err_msg=view)
        np.testing.assert_array_equal(direct.fills[view], sim.orders.fills[view], err_msg=view)
    # the other pools are the run without orders
    iso = sim.books["isolated"]
    other = np.setdiff1d(np.arange(iso.n_pools), iso.pool[list(resolved.order_legs)])
    np.testing.assert_array_equal(sim.orders.first["isolated"][:, other], sim.first["isolated"][:, other])
    liquidated = int((sim.orders.first["cross"] != NEVER).sum())
    filled = int((sim.orders.fills["cross"] != NEVER).sum())
    assert liquidated > 20 and filled > 20
    # the stop changes the outcome on some paths (the orders are not a no-op)
    assert int((sim.orders.first["cross"] != sim.first["cross"]).sum()) > 0


def test_same_seed_same_numbers_and_orders_ignored_equals_no_orders() -> None:
    """The same seed gives the same document; ``probability_without_orders`` equals the probability of the
    same file without its orders (same paths); a file without orders gains no key."""
    with_orders = resolve(portfolio_from_dict(_isolated_btc(76000.0)))
    without = resolve(portfolio_from_dict(_isolated_btc(None)))
    kw: dict[str, Any] = {"paths": 1500, "seed": 9, "model": "gbm", "vols": {"BTC": 1.2}}
    a: dict[str, Any] = risk(with_orders, 120, HIST, **kw)
    assert a == risk(with_orders, 120, HIST, **kw)
    b: dict[str, Any] = risk(without, 120, HIST, **kw)
    assert "notes" in a and "notes" not in b
    for view in VIEWS:
        assert a["modes"][view]["probability_without_orders"] == b["modes"][view]["probability"]
        assert a["modes"][view]["ci95_without_orders"] == b["modes"][view]["ci95"]
        assert not {"orders", "probability_without_orders", "probability_order_filled"} & set(b["modes"][view])
        # the closed form per position ignores the orders: the same in both
        assert a["modes"][view]["positions"] == b["modes"][view]["positions"]


# --------------------------------------------------------------------------- command line


def test_cli_risk_with_orders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m margin risk FILE --horizon 7d --paths 2000`` on a file with an order: exit 0, one order
    line per view; ``--format json`` has the order keys in every view and the note on the closed form."""
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(portfolio_to_dict(_cross_pair().portfolio)))
    assert main(["risk", str(path), "--horizon", "7d", "--paths", "2000"]) == 0
    text = capsys.readouterr().out
    assert text.count("    orders: some order filled") == 3  # one line per view
    assert "sl-A" in text and "liquidation without the orders" in text
    assert main(["risk", str(path), "--horizon", "7d", "--paths", "2000", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for body in doc["modes"].values():
        for key in ("probability", "probability_without_orders", "probability_order_filled", "ci95_order_filled"):
            assert key in body
        assert [o["id"] for o in body["orders"]] == ["sl-A"]
        assert set(body["orders"][0]) == {"id", "probability_filled", "ci95", "filled_paths"}
    assert doc["notes"]


# --------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(
    contracts=st.lists(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0]), min_size=1, max_size=4),
    hours=st.lists(st.lists(st.sampled_from([1, 2, 3, NEVER]), min_size=4, max_size=4), min_size=1, max_size=5),
)
def test_closed_contracts_follow_the_fill_order(contracts: list[float], hours: list[list[int]]) -> None:
    """Orders on one position (2 contracts) close ``min(their contracts, the contracts left)`` in the
    order they fill (hour, then file order); one that finds none left is cancelled (0): the reference is
    the plain walk through the fills of each path."""
    doc = _isolated_btc(None)
    position = doc["positions"]
    assert isinstance(position, list)
    position[0]["contracts"] = 2
    doc["orders"] = [
        {"id": f"o{j}", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 76000.0 - j, "contracts": c}
        for j, c in enumerate(contracts)
    ]
    resolved = resolve(portfolio_from_dict(doc))
    books = {v: compile_book(resolved, v) for v in VIEWS}
    paths = len(hours)
    orders = OrderPaths(resolved, books, np.zeros(1, dtype=np.intp), paths)
    n = len(contracts)
    orders.hour[:] = np.array([h[:n] for h in hours], dtype=np.int32).T
    closed = orders.closed()
    for p, h in enumerate(hours):
        left, expected = 2.0, [0.0] * n
        for j in sorted((j for j in range(n) if h[j] != NEVER), key=lambda j: (h[j], j)):
            expected[j] = min(contracts[j], left)
            left -= expected[j]
        assert closed[:, p].tolist() == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- the flat valuation (issue 12 speed)


def _exact_pair() -> Resolved:
    """Cross pool whose numbers are all binary fractions (so every sum is exact): USDT 12,860, one tier at
    1/128 = 0.78125 %; A = BTC long 1 at 80,000 with a stop at 76,000 (no slippage), B = ETH long 10 at
    3,072. Now: V = 12,860 − 80,000/128 − 30,720/128 = 12,860 − 625 − 240 = 11,995 > 0."""
    tier = [{"min_notional": 0, "max_notional": None, "mmr": 1 / 128, "max_leverage": 100, "maint_amount": 0}]
    positions: list[dict[str, object]] = [
        {"id": "A", "symbol": "BTC/USDT:USDT", "side": "long", "contracts": 1, "entry_price": 80000.0, "leverage": 10},
        {"id": "B", "symbol": "ETH/USDT:USDT", "side": "long", "contracts": 10, "entry_price": 3072.0, "leverage": 10},
    ]
    orders: list[dict[str, object]] = [
        {"id": "sl-A", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 76000.0}
    ]
    prices = {"BTC/USDT:USDT": 80000.0, "ETH/USDT:USDT": 3072.0}
    tiers: dict[str, object] = {"BTC/USDT:USDT": tier, "ETH/USDT:USDT": tier}
    return resolve(portfolio_from_dict(_file(positions, prices, orders, 12_860.0, tiers)))


def test_pool_exactly_at_zero_after_a_fill_is_liquidated(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_exact_pair``. A value within its rounding bound of 0 is summed again in the reference order
    (``OrderPaths._exact``); at exactly 0 the pool is liquidated (format §2: ``≤ 0``).

    Path 0, hour 1: BTC 80,000 × 15/16 = 75,000, ETH 3,072 × 3/4 = 2,304: the stop fills at 75,000,
    realised 1 × (75,000 − 80,000) = −5,000; B: 10 × (2,304 − 3,072) − 23,040/128 = −7,680 − 180:
    V = 12,860 − 5,000 − 7,860 = 0: liquidated at 1. Path 1: hour 1 BTC 80,000 × 31/32 = 77,500 (no
    fill), ETH 2,304: V = 12,860 − 2,500 − 77,500/128 − 7,860 = 1,894.53 > 0; hour 2 as path 0's hour 1:
    V = 0, liquidated at 2. Path 2: BTC 75,000, ETH 3,072 × 49/64 = 2,352 at hours 1 and 2: V = 12,860 −
    5,000 + 10 × (2,352 − 3,072) − 23,520/128 = 7,860 − 7,200 − 183.75 = 476.25 > 0: never."""
    calls: list[int] = []
    exact = OrderPaths._exact

    def spy(self: OrderPaths, *args: Any) -> np.ndarray:
        calls.append(int(args[3].size))  # the entries summed again
        return exact(self, *args)

    monkeypatch.setattr(OrderPaths, "_exact", spy)
    btc = [[15 / 16, 15 / 16], [31 / 32, 15 / 16], [15 / 16, 15 / 16]]
    eth = [[3 / 4, 3 / 4], [3 / 4, 3 / 4], [49 / 64, 49 / 64]]
    ratio = np.array([np.array(btc).T, np.array(eth).T])  # (assets, hours, paths)
    out = _run(_exact_pair(), ratio)
    for view in ("as_is", "cross"):
        assert out.first[view][:, 0].tolist() == [1, 2, NEVER], view
        assert out.fills[view][:, 0].tolist() == [1, 2, 1], view
    assert calls and sum(calls) >= 2


def _three_positions() -> Resolved:
    """A cross pool of BTC long 0.1 at 80,000 (stops for 0.05 at 77,000 and for all at 75,000), ETH long
    10 at 3,000 (take-profit at 3,150, stop for 4 at 2,880) and an isolated SOL short 100 at 150 (stop at
    156): two tiers each, the floor near the notional (1 % below, 2.5 % above, maint_amount = floor × 1.5 %)."""

    def two(floor: float) -> list[dict[str, object]]:
        return [
            {"min_notional": 0, "max_notional": floor, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0},
            {
                "min_notional": floor,
                "max_notional": None,
                "mmr": 0.025,
                "max_leverage": 20,
                "maint_amount": floor * 0.015,
            },
        ]

    positions: list[dict[str, object]] = [
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.1, "entry_price": 80000.0, "leverage": 10},
        {"symbol": "ETH/USDT:USDT", "side": "long", "contracts": 10, "entry_price": 3000.0, "leverage": 10},
        {
            "symbol": "SOL/USDT:USDT",
            "side": "short",
            "contracts": 100,
            "entry_price": 150.0,
            "leverage": 10,
            "margin_mode": "isolated",
        },
    ]
    orders: list[dict[str, object]] = [
        {"id": "btc-1", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 77000.0, "contracts": 0.05},
        {"id": "btc-2", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 75000.0},
        {"id": "eth-tp", "symbol": "ETH/USDT:USDT", "type": "take_profit", "trigger_price": 3150.0},
        {"id": "eth-sl", "symbol": "ETH/USDT:USDT", "type": "stop", "trigger_price": 2880.0, "contracts": 4},
        {"id": "sol-sl", "symbol": "SOL/USDT:USDT", "type": "stop", "trigger_price": 156.0},
    ]
    prices = {"BTC/USDT:USDT": 80000.0, "ETH/USDT:USDT": 3000.0, "SOL/USDT:USDT": 150.0}
    tiers: dict[str, object] = {
        "BTC/USDT:USDT": two(8000.0),
        "ETH/USDT:USDT": two(29000.0),
        "SOL/USDT:USDT": two(15000.0),
    }
    return resolve(portfolio_from_dict(_file(positions, prices, orders, 2_500.0, tiers, slippage=0.002)))


def test_flat_valuation_equals_the_pool_valued_hour_by_hour() -> None:
    """The reference: at every hour the pool's ``wallet + Σ position_net(remaining size) + realised PnL of
    the orders filled by then`` (format §2, §7), a pool with no open position never liquidated, on the
    same injected paths (``_three_positions``, every view, GBM steps at 4 % an hour): the same first hours."""
    resolved = _three_positions()
    rng = np.random.default_rng(11)
    hours, paths = 30, 400
    ratio = np.exp(np.cumsum(rng.normal(0.0, 0.04, (3, hours, paths)), axis=1))
    out = _run(resolved, ratio)
    for view in VIEWS:
        book = compile_book(resolved, view)
        held = np.unique(book.pool[list(resolved.order_legs)])
        legs = np.array(resolved.order_legs)
        for g in held:
            members = np.flatnonzero(book.pool == g)
            want = np.full(paths, NEVER)
            for h in range(1, hours + 1):  # the reference walks the hours
                filled = out.hour <= h  # (orders, paths)
                value = np.full(paths, float(book.pool_wallet[g]))
                is_open = np.zeros(paths, dtype=bool)
                for i in members:
                    mine = legs == i
                    gone = (filled[mine] * out.closed[mine]).sum(axis=0)
                    size = book.size[i] - gone
                    size = np.where(size <= 1e-12 * book.size[i], 0.0, size)
                    mark = book.marks[book.sym[i]] * ratio[i, h - 1]
                    idx = np.array([i])
                    value += position_net(book, idx, size[None, :], mark[None, :])[0]
                    is_open |= size > 0
                in_pool = book.pool[legs] == g
                value += (filled[in_pool] * out.realized[in_pool]).sum(axis=0)
                new = (want == NEVER) & is_open & (value <= 0.0)
                want[new] = h
            np.testing.assert_array_equal(out.first[view][:, g], want, err_msg=f"{view} pool {g}")
        assert int((out.first[view] != NEVER).sum()) > 20, view
    assert int((out.fills["cross"] != NEVER).sum()) > 100


@settings(max_examples=40, deadline=None)
@given(
    fraction=st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=3, max_size=3),
    move=st.lists(st.floats(0.5, 2.0), min_size=3, max_size=3),
)
def test_flat_position_net_is_position_net(fraction: list[float], move: list[float]) -> None:
    """``position_net_at`` on flat arrays gives the numbers of ``position_net`` on (positions, …) blocks,
    element by element, across the tier floors (``_three_positions``, every view)."""
    resolved = _three_positions()
    for view in VIEWS:
        book = compile_book(resolved, view)
        idx = np.arange(book.n_positions)
        size = book.size[:, None] * np.array(fraction)[None, :]
        mark = book.marks[book.sym][:, None] * np.array(move)[None, :]
        block = position_net(book, idx, size, mark)
        flat = position_net_at(book, np.repeat(idx, 3), size.ravel(), mark.ravel())
        np.testing.assert_array_equal(flat, block.ravel())
