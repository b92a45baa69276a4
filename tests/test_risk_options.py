"""``margin.risk`` on accounts holding options (``portfolio-format.md`` §6): every pool checked with the engine.

The hand-worked book: a Deribit short put, 1 BTC of the Dec 25 100k put (coin-settled), 30 days before its
expiry, iv 0.5, forward 100,000, collateral ``W`` BTC and nothing else. Per unit (§6.2, §6.3):

- value of the short ``−p/S`` BTC (Black-76 put price ``p`` USD, ÷ the forward ``S`` for a coin option);
- maintenance of a short put ``(max(0.075·S, 0.075·p) + p)/S = 0.075 + p/S`` BTC (``p < S`` for a put);

so the pool is liquidated (equity ≤ maintenance, §2) when ``W − p/S ≤ 0.075 + p/S``, i.e. ``p/S ≥ (W − 0.075)/2``.
At the money with ``T = 30/365``: ``σ√T = 0.5 × 0.286691 = 0.143346``; ``p = S (2Φ(σ√T/2) − 1) =
100,000 × (2Φ(0.071673) − 1) = 100,000 × (2 × 0.528569 − 1) = 5,713.8`` USD, ``p/S = 0.057138``. Past expiry
(hour 720 and later) the price is the intrinsic ``max(K − S, 0)``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from margin import compile_book, evaluate, load_portfolio, portfolio_from_dict, resolve
from margin.engine import VIEWS
from margin.errors import PortfolioError
from margin.loader import load_daily_closes
from margin.risk import OPTIONS_NOTE, risk, risk_result, simulate
from margin.risk_evaluated import EvaluatedTouch, pool_flags
from margin.risk_inputs import risk_assets
from margin.risk_simulation import CHUNK_ELEMENTS, MAX_CHUNK_STEPS, NEVER

HIST = load_daily_closes()
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios"
PUT = "BTC/USD:BTC-261225-100000-P"


def _short_put(collateral: float, **extra: object) -> dict[str, object]:
    """The module docstring's book: 1 BTC of the 100k put short, 30 days before its expiry."""
    return {
        "format": "margin-portfolio/1",
        "venue": "deribit",
        "as_of": "2026-11-25T08:00:00Z",
        "collateral": {"BTC": collateral},
        "index_prices": {"BTC": 100000.0},
        "positions": [
            {"id": "short put", "symbol": PUT, "side": "short", "contracts": 1, "entry_price": 0.05, "iv": 0.5}
        ],
        **extra,
    }


def _mixed() -> dict[str, object]:
    """A long perpetual with a short put expiring within the horizon (hour 48) and a later short call: the
    put's expiry is crossed on every path; thin collateral so that pools do liquidate."""
    return {
        "format": "margin-portfolio/1",
        "venue": "deribit",
        "as_of": "2026-12-23T08:00:00Z",
        "collateral": {"BTC": 1.0},
        "index_prices": {"BTC": 100000.0},
        "prices": {"BTC/USD:BTC": 100050.0},
        "positions": [
            {
                "id": "perp",
                "symbol": "BTC/USD:BTC",
                "side": "long",
                "contracts": 3000,
                "contract_size": 10,
                "entry_price": 99000.0,
            },
            {"id": "put", "symbol": PUT, "side": "short", "contracts": 2, "entry_price": 0.01, "iv": 0.7},
            {
                "id": "call",
                "symbol": "BTC/USD:BTC-270326-110000-C",
                "side": "short",
                "contracts": 2,
                "entry_price": 0.03,
                "iv": 0.55,
            },
        ],
    }


def test_short_put_trigger_by_hand() -> None:
    """``pool_flags`` at hand-worked points of the module docstring's book with ``W = 0.175`` BTC: the trigger
    is ``p/S ≥ (0.175 − 0.075)/2 = 0.05``.

    - hour 0, S = 100,000: ``p/S = 0.057138 ≥ 0.05`` → liquidated;
    - hour 720 (T = 30/365 − 720/8760 = 0: expired), S = 100,000: intrinsic 0 → not (time has passed);
    - hour 720, S = 94,000: ``(100,000 − 94,000)/94,000 = 0.06383 ≥ 0.05`` → liquidated;
    - hour 800, S = 96,000: ``4,000/96,000 = 0.04167 < 0.05`` → not (the barrier past expiry is
      ``S ≤ K/1.05 = 95,238.1``).
    """
    book = compile_book(resolve(portfolio_from_dict(_short_put(0.175))))
    assert book.options is not None and book.options.t[0] == pytest.approx(30 / 365, rel=1e-12)
    marks = np.array([[100000.0], [100000.0], [94000.0], [96000.0]])
    flags = pool_flags(book, marks, np.array([0.0, 720.0, 720.0, 800.0]))
    assert flags[:, 0].tolist() == [True, False, True, False]
    value = evaluate(book, marks[:1]).option_terms
    assert value is not None
    assert -value.value[0, 0] * 100000.0 == pytest.approx(5713.8, rel=1e-4)  # p, the docstring's arithmetic


def test_already_liquidated_put_is_certain_at_hour_zero() -> None:
    """``W = 0.175`` BTC: liquidated today (``0.057 ≥ 0.05``, the test above): every path at hour 0, in every
    view (the option sits in the cross pool of BTC in each, §6.1)."""
    out = risk(resolve(portfolio_from_dict(_short_put(0.175))), 24, HIST, paths=200, model="gbm", vols={"BTC": 0.5})
    for view in VIEWS:
        body = out["modes"][view]  # type: ignore[index]
        assert body["probability"] == 1.0 and body["time_to_liquidation_hours"]["p95"] == 0.0
        assert body["pools"][0]["positions"] == ["short put"]


def test_simulated_flags_equal_evaluate_hour_by_hour() -> None:
    """``simulate``'s first liquidation hour of every pool of every view on every path equals a first touch
    computed with ``margin.engine.evaluate`` at the marks of the same paths (every column, the option forwards
    too, ``P₀ × r`` of BTC), with each option's time to expiry ``T − h/(365 × 24)`` years at hour ``h``."""
    resolved = resolve(portfolio_from_dict(_mixed()))
    hours, paths, seed = 96, 400, 11
    sim = simulate(resolved, hours, HIST, paths=paths, seed=seed, model="gbm", vols={"BTC": 0.9})
    mm = sim.model
    assert mm.assets == ("BTC",)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // paths))
    draws, done = [], 0
    while done < hours:
        draws.append(mm.draw(rng, min(chunk, hours - done), paths))
        done += draws[-1].shape[1]
    level = np.concatenate([np.zeros((1, 1, paths)), np.cumsum(np.concatenate(draws, axis=1), axis=1)], axis=1)
    ratio = np.exp(level)[0]  # (hours + 1, paths), hour 0 = today
    liquidated = expired_hits = 0
    for view, book in sim.books.items():
        assert book.options is not None
        expected = np.full((paths, book.n_pools), NEVER, dtype=np.int64)
        held = np.bincount(book.pool, minlength=book.n_pools) > 0
        held[book.options.pool] = True
        for hour in range(hours + 1):
            t = book.options.t - hour / (365.0 * 24.0)
            at_hour = dataclasses.replace(book, options=dataclasses.replace(book.options, t=t))
            marks = book.marks * ratio[hour][:, None]
            hit = evaluate(at_hour, marks).pool_liquidated & held
            new = hit & (expected == NEVER)
            expected[new] = hour
            if hour > 48:
                expired_hits += int(new[:, book.options.pool[0]].sum())
        np.testing.assert_array_equal(sim.first[view], expected, err_msg=view)
        liquidated += int(np.sum(expected != NEVER))
    assert liquidated > 100  # pools do liquidate on these paths (none today: the collateral covers them)
    assert expired_hits > 0  # and some after the put's expiry (hour 48: intrinsic value)


def test_short_put_probability_rises_with_vol() -> None:
    """``W = 0.25`` BTC: the trigger is ``p/S ≥ (0.25 − 0.075)/2 = 0.0875`` (healthy today: ``0.057``); a
    falling BTC raises ``p/S``. With the paths' volatility (``--vol``) 0.3, 0.6 then 0.9 a week's probability
    of liquidation rises, each interval above the previous one (10,000 paths, the same seed)."""
    resolved = resolve(portfolio_from_dict(_short_put(0.25)))
    lows, highs = [], []
    for vol in (0.3, 0.6, 0.9):
        out = risk_result(resolved, 168, HIST, paths=10_000, seed=1, model="gbm", vols={"BTC": vol})
        lo, hi = out.modes["as_is"].liquidation.ci95
        lows.append(lo)
        highs.append(hi)
    assert highs[0] < lows[1] and highs[1] < lows[2]
    assert lows[2] > 0.05


def test_options_document() -> None:
    """The document of the sample with options: a note says how options are valued; the closed form of the
    perpetual is null where its pool holds options (``as_is``, ``cross``) and a number where it is alone
    (``isolated``); the cross pool lists its options."""
    resolved = resolve(load_portfolio(SAMPLES / "deribit-options.json"))
    out = json.loads(json.dumps(risk(resolved, 48, HIST, paths=500, model="gbm", vols={"BTC": 0.6})))
    assert out["notes"] == [OPTIONS_NOTE]
    legs = [leg.label for leg in resolved.option_legs]
    for view in ("as_is", "cross"):
        (perp,) = out["modes"][view]["positions"]
        assert perp["probability"] is None and perp["probability_hourly"] is None and not perp["exact"]
        assert out["modes"][view]["pools"][0]["positions"][1:] == legs
    (perp,) = out["modes"]["isolated"]["positions"]
    assert isinstance(perp["probability"], float) and perp["exact"]
    pools = {p["mode"]: p for p in out["modes"]["isolated"]["pools"]}
    assert pools["cross"]["positions"] == legs


def test_options_with_orders_are_refused() -> None:
    """Orders are not run together with options yet: invalid input naming the first order, not a traceback
    and not a number without them."""
    doc = _mixed()
    doc["orders"] = [{"id": "stop", "symbol": "BTC/USD:BTC", "type": "stop", "trigger_price": 90000.0}]
    try:
        resolved = resolve(portfolio_from_dict(doc))
    except PortfolioError:
        pytest.fail("the sample order is valid")
    with pytest.raises(PortfolioError) as err:
        risk(resolved, 24, HIST, paths=100, model="gbm", vols={"BTC": 0.5})
    assert "orders[0]" in str(err.value) and "options" in str(err.value)


def test_vol_names_an_option_base() -> None:
    """An account of options alone: ``--vol BTC=…`` names its base (the options' base is a risk asset)."""
    resolved = resolve(portfolio_from_dict(_short_put(0.25)))
    risk(resolved, 2, HIST, paths=50, model="gbm", vols={"BTC": 0.5})
    with pytest.raises(PortfolioError, match="ETH"):
        risk(resolved, 2, HIST, paths=50, model="gbm", vols={"ETH": 0.5})


@pytest.mark.parametrize(
    "name", ["btc-long.json", "hedged-pair.json", "mixed-cross-isolated.json", "coin-margined.json"]
)
def test_futures_only_books_keep_the_fast_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A book without options never reaches the engine-checked path (its output stays that of the separable
    run: no options note), and that path, fed the same draws, finds the same first liquidation hours (two
    independent computations of one quantity)."""
    resolved = resolve(load_portfolio(SAMPLES / name))
    hours, paths, seed = 72, 300, 4
    vols = {a: v for a, v in {"BTC": 1.2, "ETH": 1.4, "WIF": 1.5}.items() if a in risk_assets(resolved)}
    sim = simulate(resolved, hours, HIST, paths=paths, seed=seed, model="gbm", vols=vols)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a futures-only book reached the engine-checked path")

    monkeypatch.setattr(EvaluatedTouch, "__init__", refuse)
    out = risk(resolved, hours, HIST, paths=paths, seed=seed, model="gbm", vols=vols)
    assert "notes" not in out
    monkeypatch.undo()
    first = sim.books["as_is"]
    mm = sim.model
    sym_col = np.array([list(mm.assets).index(s.split("/")[0]) for s in first.symbols], dtype=np.intp)
    coll_col = np.array(
        [list(mm.assets).index(c) if c in mm.assets else -1 for c in first.collateral_assets], dtype=np.intp
    )
    touch = EvaluatedTouch(sim.books, sym_col, coll_col, len(mm.assets), paths)
    touch.now()
    rng = np.random.default_rng(seed)
    chunk = max(1, min(MAX_CHUNK_STEPS, CHUNK_ELEMENTS // (paths * len(mm.assets))))
    level = np.zeros((len(mm.assets), paths))
    done = 0
    while done < hours:
        x = mm.draw(rng, min(chunk, hours - done), paths)
        ratios = np.empty_like(x)
        for j in range(x.shape[1]):  # the hourly log returns summed one hour after another, as simulate does
            level += x[:, j]
            ratios[:, j] = np.exp(level)
        touch.block(done, ratios)
        done += x.shape[1]
    got = touch.result()
    assert sum(int(np.sum(f != NEVER)) for f in got.values()) > 0  # pools do liquidate
    for view in VIEWS:
        np.testing.assert_array_equal(got[view], sim.first[view], err_msg=view)
