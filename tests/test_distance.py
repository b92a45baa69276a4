"""``margin.distance``: the market moves that liquidate the first pool and the whole account, and
``margin.states``: pool states by margin ratio.

Checks against what the module does not use: the engine (:func:`margin.engine.evaluate`) at marks built
here (each symbol's mark × (1 + β × m), the base read with :func:`margin.instruments.symbol_base`, so an
option's forward moves with its base, format §6.3), the uniform moves
of :func:`margin.frontier.smallest_moves`, and figures worked by hand:

- ``btc-long`` (8,000 USDT; BTC long 0.8 @ 94,500 cross, mark 97,000; Binance BTC tier 2 from 50,000
  notional: mmr 0.5 %, maint_amount 50): cross equity ``8000 + 0.8 (P − 94500) = 0.8P − 67600``,
  maintenance ``0.8P × 0.005 − 50 = 0.004P − 50``; trigger ``0.796 P = 67550`` → ``P = 84861.81``
  (notional 67,889: tier 2 ✓), a move of ``84861.81 / 97000 − 1 = −12.5136 %``. One pool: the first pool
  and the whole account go at the same move, and BTC's β is 1, so the betas change nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from margin import PortfolioError, compile_book, evaluate, load_portfolio, portfolio_from_dict, resolve
from margin.distance import account_distance
from margin.engine import VIEWS, Book
from margin.frontier import smallest_moves
from margin.instruments import symbol_base
from margin.marketdata import load_daily_closes
from margin.portfolio import Resolved
from margin.scenarios import DEFAULT_WINDOW_DAYS, bases_of
from margin.states import DEFAULT_LEVELS, LIQUIDATION, MARGIN_CALL, SAFE, WARNING, pool_state, worst_state
from margin.whatif import choose_betas

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios"
NAMES = sorted(p.stem for p in SAMPLES.glob("*.json"))
BTC_LONG_DOWN = 67550 / 0.796 / 97000 - 1  # −0.125136…, module docstring


def _resolved(name: str) -> Resolved:
    return resolve(load_portfolio(SAMPLES / f"{name}.json"))


def _betas(r: Resolved) -> dict[str, float]:
    return choose_betas(bases_of(r), load_daily_closes().window(DEFAULT_WINDOW_DAYS + 1)).betas


def _marks(book: Book, betas: dict[str, float], m: float) -> np.ndarray:
    beta = np.array([betas[symbol_base(s)] for s in book.symbols])  # type: ignore[index]
    return book.marks * (1.0 + beta * m)


@pytest.mark.parametrize("name", NAMES)
def test_uniform_moves_equal_smallest_moves(name: str) -> None:
    """With every β 1 the pools' moves are those of ``smallest_moves`` (same falling grid and bisection;
    rising, the brackets differ past +100 %, the roots do not)."""
    r = _resolved(name)
    dist = account_distance(r)
    assert dist.uniform
    for view in VIEWS:
        ours = dist.views[view].pools
        theirs = smallest_moves(r, view)["pools"]
        assert [p.positions for p in ours] == [tuple(p["positions"]) for p in theirs]
        for a, b in zip(ours, theirs, strict=True):
            assert a.down == b["uniform"]["down"]
            if b["uniform"]["up"] is None:
                assert a.up is None
            else:
                assert a.up == pytest.approx(b["uniform"]["up"], rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_moves_sit_on_the_trigger_with_betas(name: str) -> None:
    """Every pool's move with the shipped betas: the engine at marks × (1 + β × m) has the pool on its
    trigger (equity − maintenance within 1e-9 of the amounts in play: the engine sums in another order),
    alive 1e-7 (relative) nearer 0 and at 40 points between 0 and there; the first pool is the nearest of
    them, the whole account the farthest (when every pool has one)."""
    r = _resolved(name)
    betas = _betas(r)
    dist = account_distance(r, betas)
    checked = 0
    for view in VIEWS:
        book = compile_book(r, view)
        scale = float(np.abs(book.pool_wallet).sum() + np.abs(evaluate(book).notional).sum() + 1.0)
        vd = dist.views[view]
        held = np.flatnonzero(book.pool_held)  # a future or an option (format §6.3)
        for g, pool in zip(held.tolist(), vd.pools, strict=True):
            for m in (pool.down, pool.up):
                if m is None or m == 0.0:
                    continue
                ev = evaluate(book, _marks(book, betas, m))
                assert abs(ev.pool_equity[0, g] - ev.pool_maintenance[0, g]) <= 1e-9 * scale, (view, pool.label)
                inside = np.linspace(0.0, m * (1 - 1e-7), 40)
                marks = np.stack([_marks(book, betas, x) for x in inside])
                assert not evaluate(book, marks).pool_liquidated[:, g].any(), (view, pool.label, m)
                checked += 1
        downs = [p.down for p in vd.pools if p.down is not None]
        assert vd.down.first == (max(downs) if downs else None)
        if vd.down.account is not None:
            assert vd.down.account == min(downs) and not vd.down.survivors
        else:
            assert vd.down.survivors == tuple(p.label for p in vd.pools if p.down is None)
    assert checked > 0


def test_btc_long_by_hand() -> None:
    r = _resolved("btc-long")
    for dist in (account_distance(r), account_distance(r, _betas(r))):
        cross = dist.views["cross"]
        assert cross.down.first == pytest.approx(BTC_LONG_DOWN, rel=1e-9)
        assert cross.down.account == cross.down.first and cross.down.last_pool == "USDT cross"
        assert cross.up.first is None and cross.up.account is None


def test_alt_basket_whole_account_against_single_prices() -> None:
    """The issue's example: the nearest single-price liquidation of the alt basket is LINK at −78.85 %,
    while every price falling alike by 21.39 % (14.74 % of BTC with the betas) takes the cross pool, the
    whole account. Isolated, the ARB short survives every fall, so the whole account never goes."""
    r = _resolved("alt-basket-cross")
    uniform, with_betas = account_distance(r), account_distance(r, _betas(r))
    assert uniform.views["cross"].down.account == pytest.approx(-0.21394800, abs=1e-8)
    assert with_betas.views["cross"].down.account == pytest.approx(-0.14744628, abs=1e-8)
    iso = uniform.views["isolated"]
    assert iso.down.account is None and iso.down.survivors == ("ARB/USDT:USDT short",)
    assert iso.down.first_pool == "LINK/USDT:USDT long"
    # the search stops where the asset with the highest β reaches zero
    top = max(with_betas.betas, key=lambda a: with_betas.betas[a])
    assert with_betas.limit_down_asset == top
    assert with_betas.limit_down == pytest.approx(-1.0 / with_betas.betas[top], rel=1e-9)


def test_already_liquidated_pool_is_at_zero() -> None:
    r = resolve(load_portfolio(SAMPLES / "btc-long.json").with_prices({"BTC/USDT:USDT": 84000.0}))
    cross = account_distance(r).views["cross"]
    assert cross.down.first == 0.0 and cross.up.first == 0.0


def test_bad_betas_and_views_are_refused() -> None:
    r = _resolved("btc-long")
    with pytest.raises(PortfolioError, match=r"beta\.BTC must be a finite number"):
        account_distance(r, {"BTC": float("nan")})
    with pytest.raises(PortfolioError, match=r"beta\.BTC"):
        account_distance(r, {"ETH": 1.0})
    with pytest.raises(PortfolioError, match="views must be among"):
        account_distance(r, views=("sideways",))


def test_pool_states_by_margin_ratio() -> None:
    """``portfolio-format.md`` §8 defaults: warning at ≥ 0.5, margin call at ≥ 0.8, liquidation at ≥ 1,
    liquidated, or equity ≤ 0 (no ratio)."""
    assert (DEFAULT_LEVELS.warning, DEFAULT_LEVELS.margin_call) == (0.5, 0.8)
    cases: list[tuple[float | None, str]] = [
        (0.0, SAFE),
        (0.4999, SAFE),
        (0.5, WARNING),
        (0.7999, WARNING),
        (0.8, MARGIN_CALL),
    ]
    cases += [(0.9999, MARGIN_CALL), (1.0, LIQUIDATION), (1.31, LIQUIDATION), (None, LIQUIDATION)]
    for ratio, expected in cases:
        assert pool_state(ratio, False) == expected, ratio
    assert pool_state(0.2, True) == LIQUIDATION
    assert worst_state([SAFE, MARGIN_CALL, WARNING]) == MARGIN_CALL and worst_state([]) is None


# --------------------------------------------------------------------------- books with options (format §6)


def _gap_in_play(m: float) -> tuple[float, float]:
    """The hand-worked pool's equity − maintenance at ``m`` and the size of the amounts summed in it."""
    from tests.option_moves import pool_by_hand

    equity, maintenance = pool_by_hand(m)
    return equity - maintenance, abs(equity) + abs(maintenance) + 1.0


def test_option_book_distance_by_hand() -> None:
    """``tests/option_moves.py``'s covered call (one BTC pool in as_is and cross): each side's move sits on the
    hand-worked trigger (equity − maintenance within 1e-12 of the amounts), the pool is alive 1e-7 nearer 0,
    and the ``evaluate`` document at ``--shock ALL=m`` has the pool on its trigger too. BTC is the only base, so
    with β = 1.3 the market move is the uniform one ÷ 1.3 (BTC then moves 1.3 × m, the same price)."""
    from margin.report import evaluate_portfolio
    from margin.shocks import Shock
    from tests.option_moves import covered_call

    r = resolve(portfolio_from_dict(covered_call()))
    uniform = account_distance(r)
    with_beta = account_distance(r, {"BTC": 1.3})
    for view in ("as_is", "cross"):
        vd = uniform.views[view]
        (pool,) = vd.pools
        assert pool.label == "BTC cross" and pool.positions == ("perp", "call")
        assert pool.down is not None and pool.up is not None and pool.down < 0 < pool.up
        for m in (pool.down, pool.up):
            gap, size = _gap_in_play(m)
            assert gap <= 0 and abs(gap) <= 1e-12 * size
            assert _gap_in_play(m * (1 - 1e-7))[0] > 0
            doc = evaluate_portfolio(r, shocks=[Shock("ALL", m)])
            (shocked,) = doc["modes"][view]["pools"]  # type: ignore[index]
            assert abs(shocked["equity"] - shocked["maintenance_margin"]) <= 1e-12 * size
        assert vd.down.first == vd.down.account == pool.down and vd.down.last_pool == "BTC cross"
        assert vd.up.first == vd.up.account == pool.up
        (beta_pool,) = with_beta.views[view].pools
        assert beta_pool.down == pytest.approx(pool.down / 1.3, rel=1e-12)
        assert beta_pool.up == pytest.approx(pool.up / 1.3, rel=1e-12)
    # isolated view: the call alone in the cross pool, the perpetual in its own pool, members in file order
    iso = uniform.views["isolated"]
    assert [p.positions for p in iso.pools] == [("call",), ("perp",)]
    assert [p.label for p in iso.pools] == ["BTC cross", "perp"]


def test_option_sample_moves_in_the_file_order() -> None:
    """deribit-options: the one BTC cross pool lists the perpetual and the four options in the file's order."""
    r = _resolved("deribit-options")
    pool = account_distance(r).views["cross"].pools[0]
    assert pool.positions == tuple(p.label for p in r.portfolio.positions)


FUTURES_NAMES = [n for n in NAMES if not _resolved(n).option_legs]


@pytest.mark.parametrize("name", FUTURES_NAMES)
def test_engine_path_equals_the_closed_form_on_futures_books(name: str) -> None:
    """The option path (the engine along the grids, bisection by the engine) on a futures-only book finds the
    closed form's moves, uniform and with the shipped betas (same grids; the bracket's two functions differ by
    rounding only, so the roots agree to 1e-12 of the move)."""
    from margin.distance import _grids, _limits, engine_view_distance
    from margin.frontier import base_assets

    r = _resolved(name)
    for betas in (None, _betas(r)):
        dist = account_distance(r, betas)
        bases = list(base_assets(r))
        lo, hi, _, _ = _limits(dist.betas, bases)
        grids = _grids(lo, hi, max(dist.betas.values(), default=1.0))
        for view in VIEWS:
            slow = engine_view_distance(compile_book(r, view), dist.betas, grids)
            fast = dist.views[view]
            assert [p.positions for p in slow.pools] == [p.positions for p in fast.pools]
            for a, b in zip(slow.pools, fast.pools, strict=True):
                for x, y in ((a.down, b.down), (a.up, b.up)):
                    assert (x is None) == (y is None), (view, a.label)
                    if x is not None and y is not None:
                        assert x == pytest.approx(y, rel=1e-12, abs=1e-15), (view, a.label)
