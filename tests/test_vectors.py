"""Every published/recorded vector of ``tests/data/liquidation-vectors.json`` (the shared reference's file).

Each record is checked against the closed form of its formula id (``margin.venues.*``, ``margin.tiers``)
and, where the formula describes a position, against the full engine: a portfolio is built from the
vector's inputs, validated by :func:`margin.portfolio.portfolio_from_dict`, evaluated by
:func:`margin.report.evaluate_portfolio` (array path) and by :func:`margin.scalar.liquidation_price`
(readable reference), and its liquidation price or margins are compared with ``expected`` to the
tolerance the record states (``tolerance.abs`` or ``tolerance.rel``).

The expected numbers are the records' own (published by the venue, or recorded from freqtrade's tests /
live Hyperliquid positions); none is taken from the engine. ``margin-models.md`` §9 indexes the formula ids.

The file is a copy of the project's ``shared/reference/liquidation-vectors.json`` kept in the repository
(``tests/data/README.md``), so a clean clone needs nothing beside it. A missing file FAILS the suite
(``test_vector[vectors-file-missing]``), it is never skipped.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from margin.engine import compile_book, evaluate
from margin.errors import PortfolioError
from margin.portfolio import portfolio_from_dict, resolve
from margin.report import evaluate_portfolio
from margin.scalar import liquidation_price as scalar_liquidation_price
from margin.tiers import cum_step, parse_tier_table, recurrence_problems
from margin.venues import binance, bybit, hyperliquid, okx

VECTORS_PATH = Path(__file__).resolve().parent / "data" / "liquidation-vectors.json"
MISSING_ID = "vectors-file-missing"
FORMAT = "margin-portfolio/1"

Vector = dict[str, Any]


def _load() -> tuple[list[Vector], str | None]:
    if not VECTORS_PATH.is_file():
        return [], f"{VECTORS_PATH} is missing (a copy of shared/reference/liquidation-vectors.json)"
    data = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data:
        return [], f"{VECTORS_PATH} must hold a non-empty JSON list of vectors"
    return data, None


VECTORS, LOAD_ERROR = _load()


# --------------------------------------------------------------------------- helpers


def side_sign(side: str) -> int:
    assert side in ("long", "short"), f"side must be long or short, got {side!r}"
    return 1 if side == "long" else -1


def assert_close(actual: float | None, expected: float, tolerance: Mapping[str, float], what: str) -> None:
    """``|actual − expected| ≤ abs`` or ``≤ rel × |expected|`` as the record states."""
    assert actual is not None and math.isfinite(actual), f"{what}: got no number ({actual!r}), expected {expected}"
    if "abs" in tolerance:
        bound = float(tolerance["abs"])
    elif "rel" in tolerance:
        bound = float(tolerance["rel"]) * abs(expected)
    else:
        pytest.fail(f"{what}: tolerance must give 'abs' or 'rel', got {tolerance!r}")
    assert abs(actual - expected) <= bound, (
        f"{what}: got {actual!r}, expected {expected!r} ± {bound:.3g} (off by {actual - expected:.3g})"
    )


def buffered(raw: float, entry: float, buffer: float, side: int) -> float:
    """freqtrade's safety buffer (NOT an exchange rule, margin-models.md §1.6/§9).

    Moves the raw liquidation price towards entry by ``buffer × |entry − raw|`` and then clamps at 0:
    long ``raw + buffer·(entry − raw)``, short ``raw − buffer·(raw − entry)``.
    """
    moved = raw + buffer * (entry - raw) if side > 0 else raw - buffer * (raw - entry)
    return max(moved, 0.0)


def two_tier_table(mmr: float, cum: float) -> tuple[list[dict[str, Any]], float]:
    """A tier table whose tier at every notional ≥ F is exactly (mmr, cum), and that passes validation.

    The vectors give only the (mmr, maint_amount) of the bracket the position sits in. A valid table
    must start at 0 with maint_amount 0 and follow the recurrence cum_2 = cum_1 + F × (mmr_2 − mmr_1),
    so we prepend a first tier [0, F) at rate m0 < mmr: F = cum / (mmr − m0). Any m0 < mmr gives the
    same maintenance above F (N·mmr − cum); m0 = mmr/2 gives F = 2·cum/mmr, e.g. 2 × 0.01 / 0.01 = 2 USDT
    for freqtrade's mocked (0.01, 0.01) and 2 × 16,300 / 0.025 = 1,304,000 USDT for the BTC example, well
    below every liquidation notional (checked by the caller). With cum = 0 one tier [0, ∞) suffices.
    Returns the records and F.
    """
    if cum == 0:
        return [{"min_notional": 0, "max_notional": None, "mmr": mmr, "maint_amount": 0.0}], 0.0
    m0 = mmr / 2
    floor = cum / (mmr - m0)
    return [
        {"min_notional": 0, "max_notional": floor, "mmr": m0, "maint_amount": 0.0},
        {"min_notional": floor, "max_notional": None, "mmr": mmr, "maint_amount": cum},
    ], floor


def single_tier(mmr: float) -> list[dict[str, Any]]:
    return [{"min_notional": 0, "max_notional": None, "mmr": mmr, "maint_amount": 0.0}]


def engine_liquidation(data: dict[str, Any], index: int = 0) -> float | None:
    """Liquidation price of ``positions[index]`` in the as-is view, by the engine.

    Validates ``data`` like a portfolio file, reads the ``evaluate`` document (array path) and checks
    that the readable scalar reference agrees (both none, or equal to 1e-9 relative).
    """
    portfolio = portfolio_from_dict(data, "vector")
    doc = evaluate_portfolio(portfolio)
    lp = doc["modes"]["as_is"]["positions"][index]["liquidation_price"]  # type: ignore[index]
    book = compile_book(resolve(portfolio), "as_is")
    ref = scalar_liquidation_price(book, index)
    if lp is None or ref is None:
        assert lp is None and ref is None, f"array path {lp!r} vs scalar reference {ref!r}"
    else:
        assert ref == pytest.approx(lp, rel=1e-9), f"array path {lp!r} vs scalar reference {ref!r}"
    return None if lp is None else float(lp)


def portfolio(
    venue: str,
    collateral: dict[str, float],
    positions: list[dict[str, Any]],
    tiers: dict[str, list[dict[str, Any]]],
    **extra: Any,
) -> dict[str, Any]:
    return {"format": FORMAT, "venue": venue, "collateral": collateral, "tiers": tiers, "positions": positions, **extra}


# --------------------------------------------------------------------------- per formula


def check_binance_usdm_lp(v: Vector) -> None:
    """Binance USDⓈ-M one-way LP, margin-models.md §1.3 (B1/B4), closed form and engine.

    Other cross positions enter with TMM = qty·mark·mmr − cum and UPNL = s·qty·(mark − entry) at their
    marks. Vectors with ``liquidation_buffer`` (freqtrade) compare the buffered, clamped raw LP.
    """
    x = v["inputs"]
    s = side_sign(x["side"])
    qty, entry, wb = float(x["qty"]), float(x["entry_price"]), float(x["wallet_balance"])
    mmr, cum = float(x["mmr"]), float(x["maint_amount"])
    others = x.get("other_positions", [])
    if v["mode"] == "isolated":
        assert not others, "an isolated position has no other positions in its pool"
    tmm = sum(float(o["qty"]) * float(o["mark_price"]) * float(o["mmr"]) - float(o["maint_amount"]) for o in others)
    upnl = sum(
        side_sign(o["side"]) * float(o["qty"]) * (float(o["mark_price"]) - float(o["entry_price"])) for o in others
    )
    raw = binance.usdm_liquidation_price(wb, tmm, upnl, both=binance.Leg(s, qty, entry, mmr, cum))
    expected = float(v["expected"]["liq_price"])
    buffer = float(x.get("liquidation_buffer", 0.0))
    if "liquidation_buffer" in x:
        assert_close(buffered(raw, entry, buffer, s), expected, v["tolerance"], "buffered closed form")
    else:
        assert_close(raw, expected, v["tolerance"], "closed form")

    # Full engine, venue generic (Binance arithmetic, tiers from the file).
    subject = "SUBJECT/USDT:USDT"
    records, floor = two_tier_table(mmr, cum)
    tiers = {subject: records}
    if raw > 0:
        assert qty * raw >= floor, f"LP notional {qty * raw} below the tier floor {floor}: table inconsistent"
    pos: dict[str, Any] = {
        "id": "subject",
        "symbol": subject,
        "side": x["side"],
        "contracts": qty,
        "contract_size": 1.0,
        "entry_price": entry,
        "mark_price": entry,
        "leverage": 1.0,
        "margin_mode": v["mode"],
    }
    if v["mode"] == "isolated":
        pos["isolated_margin"] = wb
    else:
        assert v["mode"] == "cross", f"mode must be cross or isolated, got {v['mode']!r}"
    positions = [pos]
    for k, o in enumerate(others):
        o_records, o_floor = two_tier_table(float(o["mmr"]), float(o["maint_amount"]))
        assert float(o["qty"]) * float(o["mark_price"]) >= o_floor, "other position's notional below its tier"
        tiers[o["pair"]] = o_records
        positions.append(
            {
                "id": f"other{k}",
                "symbol": o["pair"],
                "side": o["side"],
                "contracts": o["qty"],
                "contract_size": 1.0,
                "entry_price": o["entry_price"],
                "mark_price": o["mark_price"],
                "leverage": 1.0,
                "margin_mode": "cross",
            }
        )
    lp = engine_liquidation(portfolio("generic", {"USDT": wb}, positions, tiers), 0)
    if raw <= 0:
        # Binance shows "--" in the vector's bracket (its negative MM near 0, −cum, keeps equity above it).
        # Our table's first tier [0, F) has maint 0 and rate m0, where the trigger solves
        # WB + s·Q·(P − EP) = Q·P·m0  →  P1 = (s·Q·EP − WB) / (Q·(s − m0)).
        # P1 > 0 only when the equity at price 0 (WB − Q·EP for a long) is negative. freqtrade's lev-1
        # vectors round Q = stake/EP up to 8 decimals: 47.61904762 × 2.1 = 100.000000002 > WB 100 by 2e-9,
        # so P1 = 2e-9 / (47.61904762 × 0.95) ≈ 4.4e-11 (bankrupt by rounding at a price of 0); the engine
        # must report exactly that root (in tier 1), else no price.
        assert not others
        m0 = records[0]["mmr"]
        p1 = (s * qty * entry - wb) / (qty * (s - m0))
        if p1 > 0 and (floor == 0 or qty * p1 < floor):
            assert lp is not None and lp == pytest.approx(p1, rel=1e-6), f"engine {lp}, first-tier root {p1}"
            assert p1 < 1e-9 * entry, "only a rounding-size root may exist when the raw LP is ≤ 0"
        else:
            assert lp is None, f"raw LP {raw} ≤ 0 but the engine reports {lp}"
    elif buffer == 0:
        assert_close(lp, expected, v["tolerance"], "engine")
    else:
        assert_close(lp, raw, v["tolerance"], "engine vs unbuffered closed form")


def check_freqtrade_liq_buffer(v: Vector) -> None:
    """freqtrade's safety buffer: pure arithmetic, NOT an exchange rule (margin-models.md §1.6, §9).

    17.47 + 0.05 × (18.884 − 17.47) = 17.47 + 0.0707 = 17.5407 for the recorded vector.
    """
    x = v["inputs"]
    got = buffered(
        float(x["raw_liq_price"]), float(x["entry_price"]), float(x["liquidation_buffer"]), side_sign(x["side"])
    )
    assert_close(got, float(v["expected"]["liq_price"]), v["tolerance"], "buffered LP")


def check_binance_coinm_mm(v: Vector) -> None:
    """COIN-M MM = contracts·CS/mark·MMR − cum (§2, C1).

    100 × 100 / 25,000 = 0.4 BTC; 0.4 × 0.4 % − 0 = 0.0016 BTC.
    """
    x = v["inputs"]
    contracts, cs, mark = float(x["contracts"]), float(x["contract_size_usd"]), float(x["mark_price"])
    mmr, cum = float(x["mmr"]), float(x["maint_amount"])
    exp = v["expected"]
    tol = v["tolerance"]
    assert_close(contracts * cs / mark, float(exp["notional_coin"]), tol, "notional")
    mm = binance.coinm_maintenance_margin(contracts, cs, mark, mmr, cum)
    assert_close(mm, float(exp["maintenance_margin"]), tol, "closed-form MM")
    symbol = "BTC/USD:BTC"
    data = portfolio(
        "binance-coinm",
        {"BTC": 1.0},
        [
            {
                "symbol": symbol,
                "side": "long",
                "contracts": contracts,
                "contract_size": cs,
                "entry_price": mark,
                "mark_price": mark,
                "leverage": 10.0,
            }
        ],
        {symbol: [{"min_notional": 0, "max_notional": None, "mmr": mmr, "maint_amount": cum}]},
    )
    ev = evaluate(compile_book(resolve(portfolio_from_dict(data, "vector")), "as_is"))
    assert_close(float(ev.notional[0, 0]), float(exp["notional_coin"]), tol, "engine notional")
    assert_close(float(ev.maintenance[0, 0]), float(exp["maintenance_margin"]), tol, "engine MM")
    assert float(ev.mmr[0, 0]) == pytest.approx(mmr)


def check_bracket_cum_step(v: Vector) -> None:
    """cum_n = cum_{n−1} + floor_n × (mmr_n − mmr_{n−1}) (§1.1): 0.56 + 50 × (5 % − 2.5 %) = 1.81 BTC."""
    x = v["inputs"]
    got = cum_step(float(x["floor_n"]), float(x["mmr_n"]), float(x["mmr_prev"]), float(x["cum_prev"]))
    assert_close(got, float(v["expected"]["cum_n"]), v["tolerance"], "cum_n")


AAVE_ID = "ft-bracket-table-AAVE"
AAVE = "AAVE/USDT:USDT"


def check_bracket_cum_recurrence(v: Vector) -> None:
    """The maintenance amounts of a table follow the recurrence of §1.1; validation accepts/rejects it.

    Exception (margin-models.md §11.2): freqtrade's hand-made AAVE fixture breaks the recurrence although
    its record says ``recurrence_holds: true`` (the record states the rule; §11.2 says this fixture violates
    it). Worked from its own numbers, cum_k = cum_{k−1} + floor_k × (mmr_k − mmr_{k−1}):

        tier 1: 0     + 5,000      × (2 % − 1 %)      = 50          fixture 75       broken
        tier 2: 75    + 25,000     × (5 % − 2 %)      = 825         fixture 700      broken
        tier 3: 700   + 100,000    × (10 % − 5 %)     = 5,700       fixture 5,700    ok
        tier 4: 5,700 + 250,000    × (12.5 % − 10 %)  = 11,950      fixture 11,950   ok
        tier 5: 11,950 + 10,000,000 × (50 % − 12.5 %) = 3,761,950   fixture 386,950  broken

    and tier 5 starts at 10,000,000 while tier 4 stops at 1,000,000 (a gap). Validation must reject it:
    parse_tier_table names the gap at tier 5 and a portfolio carrying the table raises PortfolioError;
    with the gap closed the recurrence alone rejects it, naming tiers 1, 2 and 5.
    """
    records = v["inputs"]["tiers"]
    problems = recurrence_problems(records, "tiers")
    table, parse_problems = parse_tier_table(records, "tiers")
    if v["id"] == AAVE_ID:
        broken = ["tiers[1].maint_amount", "tiers[2].maint_amount", "tiers[5].maint_amount"]
        assert [p.path for p in problems] == broken, [str(p) for p in problems]
        for problem, want in zip(problems, ("= 50 ", "= 825 ", "= 3761950 "), strict=True):
            assert want in str(problem), str(problem)
        assert table is None
        assert "tiers[5].min_notional" in [p.path for p in parse_problems], [str(p) for p in parse_problems]
        with pytest.raises(PortfolioError) as err:
            portfolio_from_dict(portfolio("generic", {"USDT": 1000.0}, [], {AAVE: records}), "vector")
        assert any(p.path.startswith(f"tiers[{AAVE!r}][5].") for p in err.value.problems), str(err.value)
        # Close the gap (tier 4 up to 10,000,000): the table is contiguous, the recurrence alone rejects it.
        closed = [dict(r) for r in records]
        closed[4]["max_notional"] = closed[5]["min_notional"]
        table2, problems2 = parse_tier_table(closed, "tiers")
        assert table2 is None
        assert [p.path for p in problems2] == broken, [str(p) for p in problems2]
        with pytest.raises(PortfolioError) as err2:
            portfolio_from_dict(portfolio("generic", {"USDT": 1000.0}, [], {AAVE: closed}), "vector")
        assert [p.path for p in err2.value.problems] == [f"tiers[{AAVE!r}][{k}].maint_amount" for k in (1, 2, 5)], str(
            err2.value
        )
        return
    assert v["expected"]["recurrence_holds"] is True, "only the AAVE fixture is known to break the recurrence"
    assert problems == [], [str(p) for p in problems]
    assert parse_problems == [], [str(p) for p in parse_problems]
    assert table is not None and table.maint_given
    tol = float(v["tolerance"]["abs"])
    for k in range(1, len(records)):
        expected = cum_step(
            float(records[k]["min_notional"]),
            float(records[k]["mmr"]),
            float(records[k - 1]["mmr"]),
            float(records[k - 1]["maint_amount"]),
        )
        assert abs(float(records[k]["maint_amount"]) - expected) <= tol
        # continuity of MM at the floor: both tiers give the same maintenance
        floor = float(records[k]["min_notional"])
        below = floor * float(records[k - 1]["mmr"]) - float(records[k - 1]["maint_amount"])
        assert table.maintenance(floor) == pytest.approx(below, abs=tol)


def check_bracket_lookup(v: Vector) -> None:
    """Highest tier with min_notional ≤ N (§1.1 [bracket_lookup])."""
    x = v["inputs"]
    table, problems = parse_tier_table(x["tiers"], "tiers")
    assert table is not None, [str(p) for p in problems]
    tier = table.tier(float(x["notional"]))
    assert_close(tier.mmr, float(v["expected"]["mmr"]), v["tolerance"], "mmr")
    assert_close(tier.maint_amount, float(v["expected"]["maint_amount"]), v["tolerance"], "maint_amount")


def check_bybit_isolated_simple(v: Vector) -> None:
    """Bybit isolated linear, MM valued at entry (§3.2).

    EP·(1 − 1/lev + MMR) long, EP·(1 + 1/lev − MMR) short.
    E.g. short 10 at 3×, 1 %: 10 × (1 + 0.3333 − 0.01) = 13.2333. Engine: venue bybit, isolated margin
    qty·EP/lev (qty 1 where the record gives none; the LP does not depend on it).
    """
    x = v["inputs"]
    s = side_sign(x["side"])
    entry, lev, mmr = float(x["entry_price"]), float(x["leverage"]), float(x["mmr"])
    qty = float(x.get("qty", 1.0))
    expected = float(v["expected"]["liq_price"])
    raw = bybit.isolated_simple_liquidation_price(s, entry, lev, mmr)
    buffer = float(x.get("liquidation_buffer", 0.0))
    assert_close(buffered(raw, entry, buffer, s), expected, v["tolerance"], "closed form")
    # the documented general form with IM = qty·EP/lev and no deduction gives the same number
    assert_close(
        bybit.isolated_linear_liquidation_price(s, qty, entry, qty * entry / lev, mmr), raw, {"rel": 1e-12}, "Y1 form"
    )
    symbol = "TEST/USDT:USDT"
    data = portfolio(
        "bybit",
        {"USDT": qty * entry / lev},
        [
            {
                "symbol": symbol,
                "side": x["side"],
                "contracts": qty,
                "contract_size": 1.0,
                "entry_price": entry,
                "mark_price": entry,
                "leverage": lev,
                "margin_mode": "isolated",
                "isolated_margin": qty * entry / lev,
            }
        ],
        {symbol: single_tier(mmr)},
    )
    lp = engine_liquidation(data)
    if buffer == 0:
        assert_close(lp, expected, v["tolerance"], "engine")
    else:
        assert_close(lp, raw, v["tolerance"], "engine vs unbuffered closed form")


def check_okx_gate_isolated_linear(v: Vector) -> None:
    """OKX/Gate isolated linear with the taker fee in the trigger (§4): (EP ∓ M/Q) / (1 ∓ (MMR + fee)).

    E.g. long 1 @ 10, margin 2, 1 % + 0.06 %: (10 − 2)/(1 − 0.0106) = 8/0.9894 = 8.08571. freqtrade mocks
    (mmr, cum) = (0.01, 0.01) but this formula has no cum, so the engine table is one tier, maint 0.
    """
    x = v["inputs"]
    s = side_sign(x["side"])
    qty, entry, margin = float(x["qty"]), float(x["entry_price"]), float(x["isolated_margin"])
    mmr, fee = float(x["mmr"]), float(x["taker_fee_rate"])
    maint = float(x.get("maint_amount", 0.0))
    expected = float(v["expected"]["liq_price"])
    raw = okx.isolated_linear_liquidation_price(s, qty, entry, margin, mmr, fee)
    buffer = float(x.get("liquidation_buffer", 0.0))
    assert_close(buffered(raw, entry, buffer, s), expected, v["tolerance"], "closed form")
    symbol = "TEST/USDT:USDT"
    records = single_tier(mmr) if maint == 0 else two_tier_table(mmr, maint)[0]
    data = portfolio(
        "okx",
        {"USDT": margin},
        [
            {
                "symbol": symbol,
                "side": x["side"],
                "contracts": qty,
                "contract_size": 1.0,
                "entry_price": entry,
                "mark_price": entry,
                "leverage": 1.0,
                "margin_mode": "isolated",
                "isolated_margin": margin,
            }
        ],
        {symbol: records},
        taker_fee=fee,
    )
    lp = engine_liquidation(data)
    if raw <= 0:
        assert lp is None, f"raw LP {raw} ≤ 0 but the engine reports {lp}"
    elif buffer == 0:
        assert_close(lp, expected, v["tolerance"], "engine")
    else:
        assert_close(lp, raw, v["tolerance"], "engine vs unbuffered closed form")


_HL_ASSET = re.compile(r"^ft-hyperliquid-(?:cross|isolated)-\d+-(.+)-(?:long|short)-lev\d+$")


def check_hyperliquid_lp(v: Vector) -> None:
    """Hyperliquid H1 (§6): price − s·(margin − Q·price·l)/Q/(1 − l·s), l = 1/(2·max_leverage).

    Recorded live positions (pnl = 0 snapshot, price = entry). Engine: venue hyperliquid, a
    max_leverage-only tier (rate 1/(2·max_leverage)), mark = entry; cross collateral = account value,
    isolated margin = the recorded isolated margin.
    """
    x = v["inputs"]
    s = side_sign(x["side"])
    qty, entry = float(x["qty"]), float(x["entry_price"])
    maxlev, lev = float(x["max_leverage"]), float(x["leverage"])
    assert 1 <= lev <= maxlev
    if v["mode"] == "cross":
        margin = float(x["account_value"])
    else:
        assert v["mode"] == "isolated", f"mode must be cross or isolated, got {v['mode']!r}"
        margin = float(x["isolated_margin"])
    expected = float(v["expected"]["liq_price"])
    assert_close(hyperliquid.liquidation_price(s, qty, entry, margin, maxlev), expected, v["tolerance"], "closed form")
    match = _HL_ASSET.match(v["id"])
    assert match, f"cannot read the asset from {v['id']!r}"
    symbol = f"{match.group(1)}/USDC:USDC"
    pos: dict[str, Any] = {
        "symbol": symbol,
        "side": x["side"],
        "contracts": qty,
        "contract_size": 1.0,
        "entry_price": entry,
        "mark_price": entry,
        "leverage": lev,
        "margin_mode": v["mode"],
    }
    if v["mode"] == "isolated":
        pos["isolated_margin"] = margin
    data = portfolio(
        "hyperliquid",
        {"USDC": margin},
        [pos],
        {symbol: [{"min_notional": 0, "max_notional": None, "max_leverage": maxlev}]},
    )
    assert_close(engine_liquidation(data), expected, v["tolerance"], "engine")


def check_hyperliquid_margins(v: Vector) -> None:
    """IM = N/lev, MM = N/(2·max_leverage) (§6): 10,000/10 = 1,000; 10,000/(2 × 20) = 250."""
    x = v["inputs"]
    n, lev, maxlev = float(x["notional"]), float(x["leverage"]), float(x["max_leverage"])
    exp, tol = v["expected"], v["tolerance"]
    im, mm = hyperliquid.margins(n, lev, maxlev)
    assert_close(im, float(exp["initial_margin"]), tol, "closed-form IM")
    assert_close(mm, float(exp["maintenance_margin"]), tol, "closed-form MM")
    symbol = "TEST/USDC:USDC"
    data = portfolio(
        "hyperliquid",
        {"USDC": n},
        [
            {
                "symbol": symbol,
                "side": "long",
                "contracts": 1.0,
                "contract_size": 1.0,
                "entry_price": n,
                "mark_price": n,
                "leverage": lev,
            }
        ],
        {symbol: [{"min_notional": 0, "max_notional": None, "max_leverage": maxlev}]},
    )
    ev = evaluate(compile_book(resolve(portfolio_from_dict(data, "vector")), "as_is"))
    assert_close(float(ev.initial[0, 0]), float(exp["initial_margin"]), tol, "engine IM")
    assert_close(float(ev.maintenance[0, 0]), float(exp["maintenance_margin"]), tol, "engine MM")


CHECKS: dict[str, Callable[[Vector], None]] = {
    "binance_usdm_lp": check_binance_usdm_lp,
    "freqtrade_liq_buffer": check_freqtrade_liq_buffer,
    "binance_coinm_mm": check_binance_coinm_mm,
    "bracket_cum_step": check_bracket_cum_step,
    "bracket_cum_recurrence": check_bracket_cum_recurrence,
    "bracket_lookup": check_bracket_lookup,
    "bybit_isolated_simple": check_bybit_isolated_simple,
    "okx_gate_isolated_linear": check_okx_gate_isolated_linear,
    "hyperliquid_lp": check_hyperliquid_lp,
    "hyperliquid_margins": check_hyperliquid_margins,
}


def check_vector(v: Vector) -> str:
    """Check one vector; returns its formula id. An unknown formula FAILS."""
    formula = v.get("formula")
    check = CHECKS.get(formula)  # type: ignore[arg-type]
    if check is None:
        pytest.fail(f"vector {v.get('id')!r}: unknown formula {formula!r} (no check written for it)")
    check(v)
    return str(formula)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    "vector",
    VECTORS or [None],
    ids=[str(v["id"]) for v in VECTORS] if VECTORS else [MISSING_ID],
)
def test_vector(vector: Vector | None) -> None:
    if vector is None:
        pytest.fail(LOAD_ERROR or "no vectors")
    check_vector(vector)


def test_every_vector_checked_by_formula() -> None:
    """All vectors are checked (re-run here in one place, so -k or xdist cannot hide a drop), per formula."""
    assert LOAD_ERROR is None, LOAD_ERROR
    ids = [v["id"] for v in VECTORS]
    assert len(set(ids)) == len(ids), "vector ids must be unique"
    in_file = Counter(str(v.get("formula")) for v in VECTORS)
    checked: Counter[str] = Counter()
    for v in VECTORS:
        checked[check_vector(v)] += 1
    assert checked == in_file
    assert sum(checked.values()) == len(VECTORS)


def test_unknown_formula_fails() -> None:
    """A vector with a formula no check knows must fail, not pass silently."""
    with pytest.raises(pytest.fail.Exception, match="unknown formula"):
        check_vector(
            {"id": "made-up", "formula": "no_such_formula", "inputs": {}, "expected": {}, "tolerance": {"abs": 0}}
        )
