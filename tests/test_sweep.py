"""``margin.sweep.uniform_sweep`` equals the general engine at the same marks.

The sweep never builds the (moves × positions) matrices; it sums each pool's PnL as α·r + β + γ/r and its
maintenance from coefficients that change where a position's notional crosses a tier floor. Here every
sample portfolio (linear, inverse, hedge, isolated, Hyperliquid tiers) and some synthetic books (Deribit
size-dependent rates, OKX fee in the trigger, Bybit maintenance at entry) are checked against
``margin.engine.evaluate`` with the marks moved explicitly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from margin import compile_book, evaluate, load_portfolio, portfolio_from_dict, resolve
from margin.engine import VIEWS
from margin.sweep import uniform_sweep

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "portfolios").glob("*.json"))
MOVES = np.concatenate([np.linspace(-0.95, 3.0, 1601), [0.0, -0.5, 0.25]])


def _synthetic(venue: str) -> dict[str, object]:
    if venue == "deribit":
        return {
            "format": "margin-portfolio/1",
            "venue": "deribit",
            "collateral": {"BTC": 3.0},
            "prices": {"BTC/USD:BTC": 60000.0},
            "positions": [
                {
                    "symbol": "BTC/USD:BTC",
                    "side": "long",
                    "contracts": 30000,
                    "contract_size": 10,
                    "entry_price": 58000.0,
                }
            ],
        }
    tiers = [
        {"min_notional": 0, "max_notional": 50000, "mmr": 0.004, "max_leverage": 50},
        {"min_notional": 50000, "max_notional": 250000, "mmr": 0.005, "max_leverage": 40},
        {"min_notional": 250000, "max_notional": None, "mmr": 0.01, "max_leverage": 20},
    ]
    return {
        "format": "margin-portfolio/1",
        "venue": venue,
        "position_mode": "hedge",
        "taker_fee": 0.0006,
        "collateral": {"USDT": 20000.0, "BTC": 1.5},
        "prices": {"BTC/USDT:USDT": 60000.0, "ETH/USDT:USDT": 3000.0, "BTC/USD:BTC": 60000.0},
        "tiers": {
            "BTC/USDT:USDT": tiers,
            "ETH/USDT:USDT": tiers,
            "BTC/USD:BTC": [
                {"min_notional": 0, "max_notional": 5, "mmr": 0.004},
                {"min_notional": 5, "max_notional": None, "mmr": 0.01},
            ],
        },
        "positions": [
            {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 3, "entry_price": 59000.0, "leverage": 10},
            {
                "symbol": "BTC/USDT:USDT",
                "side": "short",
                "contracts": 1,
                "entry_price": 61000.0,
                "leverage": 10,
                "margin_mode": "isolated",
            },
            {
                "symbol": "ETH/USDT:USDT",
                "side": "short",
                "contracts": 20,
                "entry_price": 3100.0,
                "leverage": 5,
                "margin_mode": "isolated",
            },
            {
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": 4000,
                "contract_size": 100,
                "entry_price": 57000.0,
                "leverage": 5,
                "margin_mode": "isolated",
                "isolated_margin": 1.0,
            },
        ],
    }


BOOKS = [(p.stem, lambda p=p: load_portfolio(p)) for p in SAMPLES] + [
    (f"synthetic-{v}", lambda v=v: portfolio_from_dict(_synthetic(v))) for v in ("generic", "okx", "bybit", "deribit")
]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("name", "load"), BOOKS, ids=[b[0] for b in BOOKS])
def test_sweep_equals_engine(name: str, load: object, view: str) -> None:
    book = compile_book(resolve(load()), view)  # type: ignore[operator]
    marks = book.marks[None, :] * (1.0 + MOVES[:, None])
    ev = evaluate(book, marks)
    sw = uniform_sweep(book, MOVES)
    scale = np.abs(ev.pool_equity).max() + np.abs(ev.pool_maintenance).max()
    np.testing.assert_allclose(sw.pool_equity, ev.pool_equity, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(sw.pool_maintenance, ev.pool_maintenance, rtol=1e-12, atol=1e-12 * scale)
    # flags may only differ where equity and maintenance are equal to rounding
    differ = sw.pool_liquidated != ev.pool_liquidated
    assert np.all(np.abs(ev.pool_equity - ev.pool_maintenance)[differ] <= 1e-9 * scale)
    assert sw.position_liquidated.shape == (MOVES.size, book.n_positions)


def test_sweep_crosses_tiers() -> None:
    """The synthetic book's BTC long (3 BTC at 60,000 = 180,000 notional, tier 2) enters tier 3 at
    250,000 / 3 = 83,333.33, i.e. a move of +38.9 %, and tier 1 below 50,000 / 3 = 16,666.67 (−72.2 %):
    the sweep range crosses both floors, so the equality above is not a one-tier check."""
    book = compile_book(resolve(portfolio_from_dict(_synthetic("generic"))), "cross")
    notional = 3 * 60000.0 * (1.0 + MOVES)
    assert notional.min() < 50000 < 250000 < notional.max()
    assert book.n_positions == 4


def test_sweep_order_of_moves_is_kept() -> None:
    book = compile_book(resolve(portfolio_from_dict(_synthetic("generic"))), "as_is")
    moves = np.array([0.3, -0.5, 0.0, 1.2, -0.9])
    sw = uniform_sweep(book, moves)
    for k, m in enumerate(moves):
        ev = evaluate(book, book.marks * (1 + m))
        # per pool: relative 1e-12 of the pool's own amounts (each pool is in its settle asset)
        scale = np.abs(ev.pool_equity[0]) + np.abs(ev.pool_maintenance[0]) + np.abs(book.pool_wallet)
        assert np.all(np.abs(sw.pool_maintenance[k] - ev.pool_maintenance[0]) <= 1e-12 * scale)
        assert np.all(np.abs(sw.pool_equity[k] - ev.pool_equity[0]) <= 1e-12 * scale)


@pytest.mark.parametrize("bad", [-1.0, -1.5, np.nan, np.inf])
def test_sweep_rejects_impossible_moves(bad: float) -> None:
    book = compile_book(resolve(portfolio_from_dict(_synthetic("generic"))), "as_is")
    with pytest.raises(ValueError, match="above -100%"):
        uniform_sweep(book, np.array([0.0, bad]))


@pytest.mark.parametrize(("name", "load"), BOOKS, ids=[b[0] for b in BOOKS])
def test_chunked_sweep_gives_the_same_numbers(name: str, load: object) -> None:
    """Issue 13: the sweep in blocks of pools (here two pools, or one, per block) is the whole sweep, bit for bit."""
    from margin.sweep import sweep_chunks

    book = compile_book(resolve(load()), "isolated")  # type: ignore[operator]
    whole = uniform_sweep(book, MOVES)
    for cells in (2 * MOVES.size, MOVES.size):
        blocks = list(sweep_chunks(book, MOVES, max_cells=cells))
        assert [b.first_pool for b in blocks] == list(range(0, book.n_pools, cells // MOVES.size))
        np.testing.assert_array_equal(np.hstack([b.pool_equity for b in blocks]), whole.pool_equity)
        np.testing.assert_array_equal(np.hstack([b.pool_maintenance for b in blocks]), whole.pool_maintenance)
        np.testing.assert_array_equal(np.hstack([b.pool_liquidated for b in blocks]), whole.pool_liquidated)


def test_sweep_summary_streams_totals_and_first_moves() -> None:
    """Totals are the sums of the whole sweep's pools; a pool's first liquidating move down is the largest
    liquidating move ≤ 0 (nearest 0), up the smallest ≥ 0."""
    from margin.sweep import sweep_summary

    book = compile_book(resolve(load_portfolio(SAMPLES[0])), "isolated")
    whole = uniform_sweep(book, MOVES)
    summary = sweep_summary(book, MOVES, max_cells=MOVES.size)  # one pool per block
    np.testing.assert_allclose(summary.equity, whole.pool_equity.sum(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(summary.pools_liquidated, whole.pool_liquidated.sum(axis=1))
    np.testing.assert_array_equal(summary.positions_liquidated, whole.position_liquidated.sum(axis=1))
    for g in range(book.n_pools):
        hit = whole.pool_liquidated[:, g]
        down = MOVES[hit & (MOVES <= 0)]
        assert (np.isnan(summary.pool_first_down[g]) and down.size == 0) or summary.pool_first_down[g] == down.max()


# --------------------------------------------------------------------------- books with options (format §6)


def test_option_book_sweep_by_hand() -> None:
    """``tests/option_moves.py``: the BTC cross pool of the covered call at every move, worked by hand
    (inverse perpetual PnL and §5.1 maintenance, Black-76 call value and §6.3 margin, ÷ F in BTC)."""
    from tests.option_moves import covered_call, pool_by_hand

    moves = np.array([-0.6, -0.3, -0.1, 0.0, 0.2, 0.5, 1.5])
    for view in ("as_is", "cross"):  # both positions in the one BTC cross pool (isolated: see below)
        book = compile_book(resolve(portfolio_from_dict(covered_call())), view)
        sw = uniform_sweep(book, moves)
        g = 0
        assert book.n_pools == 1 and book.pool_settle[g] == "BTC" and book.pool_mode[g] == "cross"
        for k, m in enumerate(moves):
            equity, maintenance = pool_by_hand(float(m))
            assert sw.pool_equity[k, g] == pytest.approx(equity, rel=1e-12)
            assert sw.pool_maintenance[k, g] == pytest.approx(maintenance, rel=1e-12)
            assert sw.pool_liquidated[k, g] == (equity <= maintenance)
    # isolated view: the perpetual's pool (wallet = its isolated margin) plus the cross pool with the call and
    # the rest of the wallet; the two pools together are the hand-worked pool (the margin only moved)
    iso = uniform_sweep(compile_book(resolve(portfolio_from_dict(covered_call())), "isolated"), moves)
    assert iso.pool_equity.shape == (moves.size, 2)
    for k, m in enumerate(moves):
        equity, maintenance = pool_by_hand(float(m))
        assert iso.pool_equity[k].sum() == pytest.approx(equity, rel=1e-12)
        assert iso.pool_maintenance[k].sum() == pytest.approx(maintenance, rel=1e-12)
    # at m = 0 the docstring's rounded figures: equity 0.255653, maintenance 0.128956
    cross = uniform_sweep(compile_book(resolve(portfolio_from_dict(covered_call())), "cross"), np.array([0.0]))
    assert cross.pool_equity[0, 0] == pytest.approx(0.255653, abs=1e-6)
    assert cross.pool_maintenance[0, 0] == pytest.approx(0.128956, abs=1e-6)


def test_option_book_summary_counts_the_options() -> None:
    """In the covered call's cross view both positions (the perpetual and the call) sit in the one BTC pool:
    a liquidated move counts 2 positions; the first moves bracket the hand-worked trigger."""
    from margin.sweep import sweep_summary
    from tests.option_moves import covered_call, pool_by_hand

    book = compile_book(resolve(portfolio_from_dict(covered_call())), "cross")
    summary = sweep_summary(book, MOVES)
    whole = uniform_sweep(book, MOVES)
    np.testing.assert_array_equal(summary.pools_liquidated, whole.pool_liquidated.sum(axis=1))
    np.testing.assert_array_equal(summary.positions_liquidated, 2 * whole.pool_liquidated[:, 0])
    down, up = summary.pool_first_down[0], summary.pool_first_up[0]
    assert down < 0 < up
    for m in (down, up):  # the grid point is liquidated by hand, the point before it (nearer 0) is not
        equity, maintenance = pool_by_hand(float(m))
        assert equity <= maintenance
    step = MOVES[1] - MOVES[0]
    for m in (down + step, up - step):
        equity, maintenance = pool_by_hand(float(m))
        assert equity > maintenance


FUTURES_BOOKS = [b for b in BOOKS if not resolve(b[1]()).option_legs]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("name", "load"), FUTURES_BOOKS, ids=[b[0] for b in FUTURES_BOOKS])
def test_engine_path_equals_the_closed_form_on_futures_books(name: str, load: object, view: str) -> None:
    """The option path (the engine over blocks of moves) run on a futures-only book gives the closed form's
    numbers (the closed form itself is what a futures book uses, unchanged)."""
    from margin.sweep import _engine_block

    book = compile_book(resolve(load()), view)  # type: ignore[operator]
    fast = uniform_sweep(book, MOVES)
    slow = _engine_block(book, MOVES, 0, book.n_pools)
    scale = np.abs(slow.pool_equity).max() + np.abs(slow.pool_maintenance).max()
    np.testing.assert_allclose(slow.pool_equity, fast.pool_equity, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(slow.pool_maintenance, fast.pool_maintenance, rtol=1e-12, atol=1e-12 * scale)
    differ = slow.pool_liquidated != fast.pool_liquidated
    assert np.all(np.abs(slow.pool_equity - slow.pool_maintenance)[differ] <= 1e-9 * scale)
