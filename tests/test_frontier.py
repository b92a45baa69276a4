"""``margin.frontier``: the liquidation frontier of two assets and the smallest liquidating moves.

Every check here is against something the frontier code does not use: the core engine
(:func:`margin.engine.evaluate`) at marks built explicitly in the test (each symbol whose base is the
asset multiplied by ``1 + move``, the base read with :func:`margin.instruments.symbol_base`), the closed-form
liquidation prices of :func:`margin.engine.liquidation_prices`, and figures worked out by hand below
from the example of ``portfolio-format.md`` §1:

- collateral 25,000 USDT; BTC long 0.5 @ 95,000 cross (the file's BTC table: one tier, mmr 0.4 %,
  maint_amount 0), mark 97,000; ETH short 4 @ 3,300 isolated with isolated_margin 2,640 (Binance ETH
  default tier 1: 0–50,000 at mmr 0.4 %, maint_amount 0, ``fixtures/tiers/binance-usdm.json``), mark 3,400.
- ETH isolated pool: equity ``2640 − 4·(P − 3300) = 15840 − 4P``, maintenance ``0.004·4P = 0.016P``;
  trigger ``15840 − 4P = 0.016P`` → ``P = 15840 / 4.016 = 3944.2231…``, a move of
  ``3944.2231 / 3400 − 1 = +0.1600656…`` (notional 15,777 < 50,000: tier 1 holds). A fall of ETH only
  helps a short: no downward move.
- BTC cross pool: wallet ``25000 − 2640 = 22360``; equity ``22360 + 0.5·(P − 95000) = 0.5P − 25140``,
  maintenance ``0.5P·0.004 = 0.002P``; trigger ``0.498P = 25140`` → ``P = 50481.927…``, a move of
  ``50481.927 / 97000 − 1 = −0.4795677…``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from margin import (
    PortfolioError,
    compile_book,
    evaluate,
    liquidation_prices,
    load_portfolio,
    portfolio_from_dict,
    resolve,
)
from margin.engine import VIEWS, Book, Evaluation
from margin.frontier import FrontierView, frontier, smallest_moves
from margin.instruments import symbol_base
from margin.portfolio import Resolved

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios"

ETH_UP = 15840 / 4.016 / 3400 - 1  # +0.1600656…, module docstring
BTC_DOWN = 25140 / 0.498 / 97000 - 1  # −0.4795677…


def _section1() -> dict[str, Any]:
    return {
        "format": "margin-portfolio/1",
        "venue": "binance-usdm",
        "position_mode": "one-way",
        "collateral": {"USDT": 25000.0},
        "prices": {"BTC/USDT:USDT": 97000.0, "ETH/USDT:USDT": 3400.0},
        "tiers": {
            "BTC/USDT:USDT": [
                {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 125, "maint_amount": 0}
            ]
        },
        "positions": [
            {
                "symbol": "BTC/USDT:USDT",
                "side": "long",
                "contracts": 0.5,
                "entry_price": 95000.0,
                "leverage": 10,
                "margin_mode": "cross",
            },
            {
                "symbol": "ETH/USDT:USDT",
                "side": "short",
                "contracts": 4,
                "entry_price": 3300.0,
                "leverage": 5,
                "margin_mode": "isolated",
                "isolated_margin": 2640.0,
            },
        ],
    }


def _synthetic(venue: str) -> dict[str, Any]:
    """Hedge-mode book with tiers, an inverse contract (its own BTC pool), cross and isolated legs:
    OKX reserves the closing fee in the trigger, Bybit values isolated maintenance at entry."""
    linear = [
        {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 50},
        {"min_notional": 50000, "max_notional": 250000, "mmr": 0.005, "max_leverage": 40},
        {"min_notional": 250000, "max_notional": None, "mmr": 0.01, "max_leverage": 20},
    ]
    inverse = [
        {"min_notional": 0, "max_notional": 10, "mmr": 0.005, "max_leverage": 50},
        {"min_notional": 10, "max_notional": 50, "mmr": 0.01, "max_leverage": 25},
        {"min_notional": 50, "max_notional": None, "mmr": 0.02, "max_leverage": 10},
    ]
    return {
        "format": "margin-portfolio/1",
        "venue": venue,
        "position_mode": "hedge",
        "taker_fee": 0.0005,
        "collateral": {"USDT": 20000.0, "BTC": 0.8},
        "prices": {"BTC/USDT:USDT": 60000.0, "ETH/USDT:USDT": 3000.0, "BTC/USD:BTC": 60000.0},
        "tiers": {"BTC/USDT:USDT": linear, "ETH/USDT:USDT": linear, "BTC/USD:BTC": inverse},
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 2.0, "entry_price": 58000.0, "leverage": 10},
            {"symbol": "ETH/USDT:USDT", "side": "short", "contracts": 30, "entry_price": 3100.0, "leverage": 10},
            {
                "symbol": "BTC/USDT:USDT",
                "side": "short",
                "contracts": 0.5,
                "entry_price": 61000.0,
                "leverage": 20,
                "margin_mode": "isolated",
            },
            {
                "symbol": "ETH/USDT:USDT",
                "side": "long",
                "contracts": 20,
                "entry_price": 2900.0,
                "leverage": 10,
                "margin_mode": "isolated",
            },
            {
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": 3000,
                "contract_size": 100,
                "entry_price": 59000.0,
                "leverage": 5,
            },
        ],
    }


def _two_base_options() -> dict[str, Any]:
    """Deribit, coin-settled: the covered call of ``tests/option_moves.py`` (BTC) plus an ETH leg pair in the
    ETH pool (a long ETH/USD:ETH perpetual and a short ETH put), so that the frontier has two bases whose
    option forwards move with their futures (format §6.3)."""
    from tests.option_moves import covered_call

    doc = covered_call()
    doc["collateral"] = {"BTC": 0.3, "ETH": 4.0}
    doc["index_prices"] = {"BTC": 97000.0, "ETH": 3400.0}
    doc["prices"] = {"BTC/USD:BTC": 97000.0, "ETH/USD:ETH": 3400.0}
    doc["positions"] += [
        {
            "id": "eth perp",
            "symbol": "ETH/USD:ETH",
            "side": "long",
            "contracts": 2000,
            "contract_size": 1,
            "entry_price": 3300.0,
        },
        {
            "id": "eth put",
            "symbol": "ETH/USD:ETH-261225-3000-P",
            "side": "short",
            "contracts": 10,
            "entry_price": 0.02,
            "iv": 0.6,
        },
    ]
    return doc


# (name, resolved, x, y)
def _cases() -> list[tuple[str, Resolved, str, str]]:
    out = [
        ("mixed-cross-isolated", resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json")), "BTC", "ETH"),
        ("hyperliquid-account", resolve(load_portfolio(SAMPLES / "hyperliquid-account.json")), "BTC", "ETH"),
        ("hedged-pair", resolve(load_portfolio(SAMPLES / "hedged-pair.json")), "ETH", "BTC"),
        ("alt-basket-cross", resolve(load_portfolio(SAMPLES / "alt-basket-cross.json")), "SOL", "ARB"),
        ("section1", resolve(portfolio_from_dict(_section1())), "BTC", "ETH"),
        ("okx", resolve(portfolio_from_dict(_synthetic("okx"))), "BTC", "ETH"),
        ("bybit", resolve(portfolio_from_dict(_synthetic("bybit"))), "ETH", "BTC"),
        ("deribit-two-base-options", resolve(portfolio_from_dict(_two_base_options())), "BTC", "ETH"),
    ]
    return out


CASES = _cases()
IDS = [c[0] for c in CASES]


def _marks(book: Book, moves: dict[str, float]) -> np.ndarray:
    """Current marks with every symbol whose base is a moved asset multiplied by 1 + move (an option's
    column, its forward, moves with its base: format §6.3)."""
    out = book.marks.copy()
    for j, symbol in enumerate(book.symbols):
        base = symbol_base(symbol)
        assert base is not None
        out[j] *= 1.0 + moves.get(base, 0.0)
    return out


def _direct(book: Book, fv: FrontierView, x: str, y: str, cells: np.ndarray) -> Evaluation:
    """The engine at the marks of each cell ``(iy, ix)``."""
    marks = np.stack([_marks(book, {x: fv.moves_x[ix], y: fv.moves_y[iy]}) for iy, ix in cells])
    return evaluate(book, marks)


def _scale(book: Book) -> float:
    """Size of the amounts in play: wallets plus gross entry notionals (for absolute tolerances)."""
    ev = evaluate(book)
    return float(np.abs(book.pool_wallet).sum() + np.abs(ev.notional).sum() + 1.0)


def _assert_ratios(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal margin ratios (inf/NaN at the same places). Rounding of the equity (≈1e-16 of the gross
    amounts) grows relative to the equity as the equity shrinks, i.e. with the ratio itself: the
    relative tolerance is 1e-12 × max(1, ratio)."""
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    ok = np.isfinite(expected)
    assert np.all(np.abs(got[ok] - expected[ok]) <= 1e-12 * np.abs(expected[ok]) * np.maximum(1, expected[ok]))


def _worst_ratio(ev: Evaluation, book: Book) -> np.ndarray:
    """Worst (largest) maintenance / equity over the pools with positions; +inf where equity ≤ 0."""
    has = book.pool_held
    ratio = np.where(np.isnan(ev.pool_margin_ratio), np.inf, ev.pool_margin_ratio)
    worst: np.ndarray = np.where(has, ratio, -np.inf).max(axis=1)
    return worst


@pytest.mark.parametrize(("name", "resolved", "x", "y"), CASES, ids=IDS)
def test_boundary_cells_agree_with_the_engine(name: str, resolved: Resolved, x: str, y: str) -> None:
    """Cells on both sides of the frontier, re-evaluated through the core engine: same flags, same ratio."""
    result = frontier(resolved, x, y, steps=81, range_=0.9)
    found = 0
    for view in VIEWS:
        fv = result.modes[view]
        liq = fv.liquidated
        edge = np.zeros_like(liq)
        edge[1:] |= liq[1:] != liq[:-1]
        edge[:-1] |= liq[1:] != liq[:-1]
        edge[:, 1:] |= liq[:, 1:] != liq[:, :-1]
        edge[:, :-1] |= liq[:, 1:] != liq[:, :-1]
        cells = np.argwhere(edge)
        if cells.size == 0:
            continue
        found += len(cells)
        book = fv.book
        ev = _direct(book, fv, x, y, cells)
        has = book.pool_held
        expected_liq = (ev.pool_liquidated & has).any(axis=1)
        np.testing.assert_array_equal(liq[cells[:, 0], cells[:, 1]], expected_liq)
        # both sides of the frontier are present among these cells
        assert expected_liq.any() and not expected_liq.all()
        np.testing.assert_array_equal(fv.pool_liquidated[cells[:, 0], cells[:, 1]], ev.pool_liquidated & has)
        _assert_ratios(fv.margin_ratio[cells[:, 0], cells[:, 1]], _worst_ratio(ev, book))
        _assert_ratios(fv.pool_margin_ratio[cells[:, 0], cells[:, 1]], ev.pool_margin_ratio)
    assert found > 0, f"{name}: no frontier inside ±90 % in any view"


@pytest.mark.parametrize(("name", "resolved", "x", "y"), CASES, ids=IDS)
def test_separable_sums_equal_a_direct_evaluation(name: str, resolved: Resolved, x: str, y: str) -> None:
    """Pool equity, maintenance and flags at random cells of the 201 × 201 grid equal the engine's."""
    result = frontier(resolved, x, y)
    rng = np.random.default_rng(11)
    cells = rng.integers(0, 201, size=(150, 2))
    for view in VIEWS:
        fv = result.modes[view]
        book = fv.book
        ev = _direct(book, fv, x, y, cells)
        atol = 1e-12 * _scale(book)
        got_eq = fv.pool_equity[cells[:, 0], cells[:, 1]]
        got_mm = fv.pool_maintenance[cells[:, 0], cells[:, 1]]
        np.testing.assert_allclose(got_eq, ev.pool_equity, rtol=1e-12, atol=atol)
        np.testing.assert_allclose(got_mm, ev.pool_maintenance, rtol=1e-12, atol=atol)
        has = book.pool_held
        np.testing.assert_array_equal(fv.liquidated[cells[:, 0], cells[:, 1]], (ev.pool_liquidated & has).any(axis=1))
        _assert_ratios(fv.margin_ratio[cells[:, 0], cells[:, 1]], _worst_ratio(ev, book))


def test_section1_frontier_by_hand() -> None:
    """§1 example, as_is: liquidated exactly where ETH ≥ +16.0066 % or BTC ≤ −47.9568 % (docstring)."""
    result = frontier(resolve(portfolio_from_dict(_section1())), "BTC", "ETH")
    fv = result.modes["as_is"]
    mx, my = result.moves_x, result.moves_y
    np.testing.assert_allclose(mx, np.arange(-100, 101) * 0.005, atol=1e-15)  # linspace(−0.5, 0.5, 201)
    expected = (my[:, None] >= ETH_UP) | (mx[None, :] <= BTC_DOWN)
    np.testing.assert_array_equal(fv.liquidated, expected)
    bnd = result.boundary("as_is")
    # going up from y = 0 in a column where BTC is alive: first liquidated row is +0.165 (> 0.16007)
    assert bnd["up"][100] == pytest.approx(0.165, abs=1e-12)
    assert bnd["down"][100] is None
    # going left from x = 0 in a row where ETH is alive: first liquidated column is −0.48 (≤ −0.47957)
    assert bnd["left"][100] == pytest.approx(-0.48, abs=1e-12)
    # at the current marks: ETH pool ratio 0.016·3400 / (15840 − 4·3400) = 54.4 / 2240
    assert fv.margin_ratio[100, 100] == pytest.approx(
        max(54.4 / 2240, 0.002 * 97000 / (0.5 * 97000 - 25140)), rel=1e-12
    )


def test_boundary_matches_a_plain_scan() -> None:
    """``down``/``up``/``left``/``right`` and ``cells`` equal a straightforward scan of the flags."""
    resolved = resolve(load_portfolio(SAMPLES / "hyperliquid-account.json"))
    result = frontier(resolved, "BTC", "ETH", steps=61, range_=0.9)
    for view in VIEWS:
        liq = result.modes[view].liquidated.tolist()
        bnd = result.boundary(view)
        n = len(liq)
        c = n // 2
        for ix in range(n):
            down = next((result.moves_y[j] for j in range(c - 1, -1, -1) if liq[j][ix] and not liq[j + 1][ix]), None)
            up = next((result.moves_y[j] for j in range(c + 1, n) if liq[j][ix] and not liq[j - 1][ix]), None)
            assert bnd["down"][ix] == down and bnd["up"][ix] == up
        for iy in range(n):
            left = next((result.moves_x[j] for j in range(c - 1, -1, -1) if liq[iy][j] and not liq[iy][j + 1]), None)
            right = next((result.moves_x[j] for j in range(c + 1, n) if liq[iy][j] and not liq[iy][j - 1]), None)
            assert bnd["left"][iy] == left and bnd["right"][iy] == right
        cells = sorted(
            [ix, iy]
            for iy in range(n)
            for ix in range(n)
            if liq[iy][ix]
            and any(
                0 <= iy + dy < n and 0 <= ix + dx < n and not liq[iy + dy][ix + dx]
                for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))
            )
        )
        assert sorted(bnd["cells"]) == cells
    assert any(result.boundary(v)["cells"] for v in VIEWS)


def test_to_dict_is_strict_json_in_the_documented_shape() -> None:
    resolved = resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json"))
    doc = frontier(resolved, "BTC", "ETH", steps=41, range_=0.95).to_dict()
    text = json.dumps(doc, allow_nan=False)  # raises on NaN / inf
    back = json.loads(text)
    assert back["x"] == "BTC" and back["y"] == "ETH"
    assert len(back["moves_x"]) == len(back["moves_y"]) == 41
    assert back["moves_x"][0] == pytest.approx(-0.95) and back["moves_x"][-1] == pytest.approx(0.95)
    assert set(back["modes"]) == set(VIEWS)
    for mode in back["modes"].values():
        assert len(mode["liquidated"]) == 41 and all(len(row) == 41 for row in mode["liquidated"])
        assert len(mode["margin_ratio"]) == 41 and all(len(row) == 41 for row in mode["margin_ratio"])
        for lrow, mrow in zip(mode["liquidated"], mode["margin_ratio"], strict=True):
            for liq, ratio in zip(lrow, mrow, strict=True):
                # null only where a pool has no equity left, which is past the trigger
                assert ratio is not None or liq
                assert ratio is None or (ratio >= 1.0) == liq
    # somewhere at −95 % / −95 % a pool has lost all its equity: null appears
    assert any(r is None for row in back["modes"]["cross"]["margin_ratio"] for r in row)


# --------------------------------------------------------------------------- smallest moves


def _check_move(book: Book, pool: int, moves: dict[str, float], scale: float) -> None:
    """At the returned move the pool sits on its trigger; 1e-7 (relative) closer to 0 it is alive."""
    ev = evaluate(book, _marks(book, moves))
    gap = ev.pool_equity[0, pool] - ev.pool_maintenance[0, pool]
    assert abs(gap) <= 1e-9 * scale, (pool, moves, gap)
    inside = {a: m * (1 - 1e-7) for a, m in moves.items()}
    ev_in = evaluate(book, _marks(book, inside))
    assert not ev_in.pool_liquidated[0, pool]
    assert ev_in.pool_equity[0, pool] > ev_in.pool_maintenance[0, pool]


def _check_no_earlier(book: Book, pool: int, assets: list[str], move: float | None, limit: float) -> None:
    """No liquidation on a 1,501-point grid strictly between 0 and ``move`` (or ``limit`` when None)."""
    end = limit if move is None else move
    grid = np.linspace(0.0, end, 1503)[1:-1]
    marks = np.stack([_marks(book, dict.fromkeys(assets, m)) for m in grid])
    assert not evaluate(book, marks).pool_liquidated[:, pool].any()


@pytest.mark.parametrize(("name", "resolved", "x", "y"), CASES, ids=IDS)
def test_smallest_moves_sit_on_the_trigger(name: str, resolved: Resolved, x: str, y: str) -> None:
    checked = 0
    for view in VIEWS:
        out = smallest_moves(resolved, view)
        json.dumps(out, allow_nan=False)
        book = compile_book(resolved, view)
        scale = _scale(book)
        all_assets = sorted({b for s in book.symbols if (b := symbol_base(s)) is not None})
        for entry in out["pools"]:
            g = entry["pool"]
            assert not entry["liquidated_now"]
            for direction, limit in (("down", -0.999), ("up", 10.0)):
                m = entry["uniform"][direction]
                if m is not None:
                    assert (m < 0) == (direction == "down")
                    _check_move(book, g, dict.fromkeys(all_assets, m), scale)
                    checked += 1
                _check_no_earlier(book, g, all_assets, m, limit)
                for asset, pair in entry["assets"].items():
                    m = pair[direction]
                    if m is not None:
                        _check_move(book, g, {asset: m}, scale)
                        checked += 1
                    _check_no_earlier(book, g, [asset], m, limit)
        # positions carry their pool's moves; the top level is the nearest over pools
        for pos in out["positions"]:
            pool = next(p for p in out["pools"] if p["pool"] == pos["pool"])
            assert pos["uniform"] == pool["uniform"] and pos["own_asset"] == pool["assets"][pos["asset"]]
        downs = [p["uniform"]["down"] for p in out["pools"] if p["uniform"]["down"] is not None]
        assert out["uniform"]["down"] == (max(downs) if downs else None)
    assert checked > 0


def test_smallest_moves_section1_by_hand_and_against_liquidation_prices() -> None:
    resolved = resolve(portfolio_from_dict(_section1()))
    out = smallest_moves(resolved, "as_is")
    eth = next(p for p in out["positions"] if p["asset"] == "ETH")
    btc = next(p for p in out["positions"] if p["asset"] == "BTC")
    assert eth["own_asset"]["up"] == pytest.approx(ETH_UP, rel=1e-9)
    assert eth["own_asset"]["down"] is None
    assert eth["uniform"]["up"] == pytest.approx(ETH_UP, rel=1e-9)  # only ETH's mark matters to its own pool
    assert btc["own_asset"]["down"] == pytest.approx(BTC_DOWN, rel=1e-9)
    assert btc["own_asset"]["up"] is None
    assert out["assets"]["ETH"] == eth["own_asset"] and out["assets"]["BTC"] == btc["own_asset"]
    # the closed-form solver of the engine: liquidation price / mark − 1
    book = compile_book(resolved, "as_is")
    lp = liquidation_prices(book).liquidation[0]
    assert eth["own_asset"]["up"] == pytest.approx(lp[1] / 3400 - 1, rel=1e-9)
    assert btc["own_asset"]["down"] == pytest.approx(lp[0] / 97000 - 1, rel=1e-9)


def test_smallest_single_asset_moves_equal_isolated_liquidation_prices() -> None:
    """Every isolated linear position (isolated view of the samples): its own-asset move is its
    liquidation price over its mark, minus one."""
    compared = 0
    for file in ("mixed-cross-isolated.json", "hyperliquid-account.json", "alt-basket-cross.json"):
        resolved = resolve(load_portfolio(SAMPLES / file))
        out = smallest_moves(resolved, "isolated")
        book = compile_book(resolved, "isolated")
        lp = liquidation_prices(book).liquidation[0]
        for i, pos in enumerate(out["positions"]):
            direction = "down" if book.sign[i] > 0 else "up"
            expected = lp[i] / book.marks[book.sym[i]] - 1
            if math.isnan(expected) or expected <= -0.999:
                continue
            assert pos["own_asset"][direction] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            compared += 1
    assert compared >= 10


def test_already_liquidated_pool_reports_zero() -> None:
    doc = _section1()
    doc["prices"]["ETH/USDT:USDT"] = 4000.0  # past 3944.22 (docstring)
    out = smallest_moves(resolve(portfolio_from_dict(doc)), "as_is")
    eth = next(p for p in out["pools"] if p["mode"] == "isolated")
    assert eth["liquidated_now"] and eth["uniform"] == {"down": 0.0, "up": 0.0}


# --------------------------------------------------------------------------- bad input


def _problems(exc: pytest.ExceptionInfo[PortfolioError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_unknown_asset_names_the_flag_and_the_assets() -> None:
    resolved = resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json"))
    with pytest.raises(PortfolioError) as exc:
        frontier(resolved, "DOGE", "ETH")
    (msg,) = _problems(exc)
    assert msg.startswith("--x") and "'DOGE'" in msg
    for base in ("BTC", "ETH", "SOL", "WIF"):
        assert base in msg
    with pytest.raises(PortfolioError) as exc:
        frontier(resolved, "BTC", "USDT")  # a settle asset is not a base asset
    assert _problems(exc)[0].startswith("--y")


def test_same_asset_twice_is_refused_case_insensitively() -> None:
    resolved = resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json"))
    with pytest.raises(PortfolioError, match="--y must differ from --x"):
        frontier(resolved, "ETH", "eth")
    assert frontier(resolved, "btc", "eth", steps=3).x == "BTC"


@pytest.mark.parametrize(
    ("steps", "range_", "flags"),
    [
        (2, 0.5, ["--steps"]),
        (1002, 0.5, ["--steps"]),
        (20.5, 0.5, ["--steps"]),
        (True, 0.5, ["--steps"]),
        (201, 0.0, ["--range"]),
        (201, 1.0, ["--range"]),
        (201, -0.2, ["--range"]),
        (201, float("nan"), ["--range"]),
        (1, 1.5, ["--steps", "--range"]),
    ],
)
def test_bad_steps_and_range(steps: Any, range_: float, flags: list[str]) -> None:
    resolved = resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json"))
    with pytest.raises(PortfolioError) as exc:
        frontier(resolved, "BTC", "ETH", steps=steps, range_=range_)
    assert [m.split(" ")[0] for m in _problems(exc)] == flags


def test_limits_are_accepted() -> None:
    resolved = resolve(load_portfolio(SAMPLES / "mixed-cross-isolated.json"))
    result = frontier(resolved, "BTC", "ETH", steps=3, range_=0.99, views=("cross",))
    assert list(result.modes) == ["cross"]
    np.testing.assert_allclose(result.moves_x, [-0.99, 0.0, 0.99])
    with pytest.raises(PortfolioError, match="views"):
        frontier(resolved, "BTC", "ETH", views=("nope",))
    with pytest.raises(PortfolioError, match="view"):
        smallest_moves(resolved, "nope")


# --------------------------------------------------------------------------- books with options (format §6)


def test_option_frontier_by_hand() -> None:
    """The two-base option book: the BTC pool (the covered call of ``tests/option_moves.py``) depends on the
    BTC move only, and equals the hand-worked pool in every row of the grid."""
    from tests.option_moves import pool_by_hand

    result = frontier(resolve(portfolio_from_dict(_two_base_options())), "BTC", "ETH", steps=21, range_=0.9)
    for view in ("as_is", "cross"):
        fv = result.modes[view]
        g = fv.book.pool_settle.index("BTC")
        for ix, mx in enumerate(result.moves_x.tolist()):
            equity, maintenance = pool_by_hand(mx)
            np.testing.assert_allclose(fv.pool_equity[:, ix, g], equity, rtol=1e-12)
            np.testing.assert_allclose(fv.pool_maintenance[:, ix, g], maintenance, rtol=1e-12)
            assert np.all(fv.pool_liquidated[:, ix, g] == (equity <= maintenance))
        # the parts along each axis add up to the grid (option values depend on their own forward only)
        sums = (fv.base_equity + fv.equity_x)[None, :, :] + fv.equity_y[:, None, :]
        np.testing.assert_allclose(sums, fv.pool_equity, rtol=1e-12, atol=1e-12 * _scale(fv.book))


def test_option_smallest_moves_by_hand() -> None:
    """The covered call: one pool with the perpetual and the call; its uniform moves sit on the hand-worked
    trigger, BTC's own move is the uniform move (every column is BTC), and ``account_distance`` finds the same
    moves (the same falling grid: equal; rising: the brackets differ, the root does not)."""
    from margin.distance import account_distance
    from tests.option_moves import covered_call, pool_by_hand

    r = resolve(portfolio_from_dict(covered_call()))
    for view in ("as_is", "cross"):
        out = smallest_moves(r, view)
        (pool,) = out["pools"]
        assert pool["positions"] == ["perp", "call"] and not pool["liquidated_now"]
        assert [p["id"] for p in out["positions"]] == ["perp", "call"]
        assert pool["assets"] == {"BTC": pool["uniform"]} and out["uniform"] == pool["uniform"]
        for m in (pool["uniform"]["down"], pool["uniform"]["up"]):
            equity, maintenance = pool_by_hand(m)
            assert equity <= maintenance and maintenance - equity <= 1e-12 * (equity + maintenance)
            equity, maintenance = pool_by_hand(m * (1 - 1e-7))
            assert equity > maintenance
        dist = account_distance(r).views[view].pools[0]
        assert dist.down == pool["uniform"]["down"]
        assert dist.up == pytest.approx(pool["uniform"]["up"], rel=1e-12)
    iso = smallest_moves(r, "isolated")
    assert [p["positions"] for p in iso["pools"]] == [["call"], ["perp"]]
    assert iso["pools"][0]["uniform"]["down"] is None  # a short call alone gains as BTC falls


FUTURES_CASES = [c for c in CASES if not c[1].option_legs]


@pytest.mark.parametrize(("name", "resolved", "x", "y"), FUTURES_CASES, ids=[c[0] for c in FUTURES_CASES])
def test_engine_paths_equal_the_closed_form_on_futures_books(name: str, resolved: Resolved, x: str, y: str) -> None:
    """The option paths run on futures-only books (the engine at every cell; the engine along the search
    grids with bisection by the engine) give the closed form's grid and moves."""
    from margin.frontier import engine_frontier_view, engine_smallest_moves

    fast = frontier(resolved, x, y, steps=41, range_=0.9)
    for view in VIEWS:
        fv = fast.modes[view]
        slow = engine_frontier_view(fv.book, fast.moves_x, fast.moves_y, x, y)
        atol = 1e-12 * _scale(fv.book)
        np.testing.assert_allclose(slow.pool_equity, fv.pool_equity, rtol=1e-12, atol=atol)
        np.testing.assert_allclose(slow.pool_maintenance, fv.pool_maintenance, rtol=1e-12, atol=atol)
        gap = np.abs(fv.pool_equity - fv.pool_maintenance)
        assert np.all(gap[slow.pool_liquidated != fv.pool_liquidated] <= 1e-9 * _scale(fv.book))
        _assert_ratios(slow.margin_ratio, fv.margin_ratio)
        a, b = engine_smallest_moves(resolved, view), smallest_moves(resolved, view)
        assert [p["positions"] for p in a["pools"]] == [p["positions"] for p in b["pools"]]
        assert [p["id"] for p in a["positions"]] == [p["id"] for p in b["positions"]]
        for pa, pb in zip(a["pools"], b["pools"], strict=True):
            pairs = [(pa["uniform"], pb["uniform"])] + [(pa["assets"][k], pb["assets"][k]) for k in pb["assets"]]
            assert set(pa["assets"]) == set(pb["assets"])
            for qa, qb in pairs:
                for side in ("down", "up"):
                    assert (qa[side] is None) == (qb[side] is None), (view, pa["pool"], side)
                    if qb[side] is not None:
                        assert qa[side] == pytest.approx(qb[side], rel=1e-12, abs=1e-15), (view, pa["pool"], side)
