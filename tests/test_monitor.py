"""``margin.monitor`` (format §8): pool states and alert rules at chosen marks, and the transitions between steps.

The book: USDT 5,000 collateral, BTC/USDT:USDT long 1 contract at 50,000, 10x, cross, on ``binance-usdm`` with
one tier (mmr 1 %, maintenance amount 0). At mark P (format §2, margin-models.md "Binance USD-M": maintenance =
notional × mmr − maintenance amount):

    equity = 5,000 + 1 × (P − 50,000) = P − 45,000        maintenance = 0.01 × P
    margin ratio r(P) = 0.01 P / (P − 45,000)

The isolated view holds the position with its default isolated margin 50,000 / 10 = 5,000, the whole
collateral, so its isolated pool has the same ratio and its cross pool holds nothing (always ``safe``).
State levels (format §8 defaults): warning at r ≥ 0.5, margin_call at r ≥ 0.8, liquidation at r ≥ 1.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin.monitor import Status, status, transitions, watch_line
from margin.portfolio import Resolved, portfolio_from_dict, resolve
from tests.examples import one_tier

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
BOOK: dict[str, Any] = {
    "format": "margin-portfolio/1",
    "venue": "binance-usdm",
    "collateral": {"USDT": 5000},
    "prices": {BTC: 50000},
    "tiers": {BTC: one_tier(0.01)},
    "positions": [{"symbol": BTC, "side": "long", "contracts": 1, "entry_price": 50000, "leverage": 10}],
    "alerts": [{"id": "mr", "metric": "margin_ratio", "above": 0.7}],
}
#: the pool keys of the book, in the order of the views and their pools (cross pools first)
AS_IS, CROSS, ISO_CROSS, ISO = (
    "as_is USDT cross",
    "cross USDT cross",
    "isolated USDT cross",
    f"isolated USDT isolated {BTC} long",
)


def resolved(doc: dict[str, Any] = BOOK) -> Resolved:
    return resolve(portfolio_from_dict(copy.deepcopy(doc), "test"))


def ratio(p: float) -> float:
    """r(P) of the module docstring."""
    return 0.01 * p / (5000 + (p - 50000))


def states(s: Status) -> dict[str, str]:
    return {p.key: p.state for p in s.pools}


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (50000, "safe"),  # 500 / 5,000 = 0.10
        (45900, "warning"),  # 459 / 900 = 0.51 (warning from P = 22,500 / 0.49 = 45,918.37 down)
        (45500, "margin_call"),  # 455 / 500 = 0.91 (margin call from P = 36,000 / 0.79 = 45,569.62 down)
        (45400, "liquidation"),  # 454 / 400 = 1.135 (trigger at P = 45,000 / 0.99 = 45,454.55)
        (44000, "liquidation"),  # equity 5,000 − 6,000 = −1,000 ≤ 0: no ratio, past the trigger
    ],
)
def test_states_of_one_position_at_hand_worked_marks(mark: float, expected: str) -> None:
    s = status(resolved(), {BTC: mark})
    assert s.marks[BTC] == mark
    assert [p.key for p in s.pools] == [AS_IS, CROSS, ISO_CROSS, ISO]
    assert states(s) == {AS_IS: expected, CROSS: expected, ISO_CROSS: "safe", ISO: expected}
    by_key = {p.key: p for p in s.pools}
    for key in (AS_IS, CROSS, ISO):
        if mark - 45000 > 0:
            assert by_key[key].margin_ratio == pytest.approx(ratio(mark), rel=1e-12)
        else:
            assert by_key[key].margin_ratio is None
    assert by_key[ISO_CROSS].margin_ratio is None  # equity 5,000 − 5,000 = 0 and no position
    # the alert rule: worst ratio above 0.7
    assert s.triggered == (["mr"] if mark <= 45500 else [])


def test_without_marks_the_files_marks_are_used() -> None:
    s = status(resolved())
    assert s.marks == {BTC: 50000} and states(s)[AS_IS] == "safe"


def test_file_alert_levels_move_the_states() -> None:
    doc = {**BOOK, "alert_levels": {"warning": 0.6, "margin_call": 0.95}}
    # r(45,900) = 0.51 < 0.6: safe; r(45,500) = 0.91: ≥ 0.6 and < 0.95: warning
    assert states(status(resolved(doc), {BTC: 45900}))[AS_IS] == "safe"
    assert states(status(resolved(doc), {BTC: 45500}))[AS_IS] == "warning"


def test_first_step_reports_every_pool_and_alert_from_none() -> None:
    first = status(resolved(), {BTC: 50000})
    assert transitions(None, first) == [
        {"kind": "pool", "id": AS_IS, "from": None, "to": "safe"},
        {"kind": "pool", "id": CROSS, "from": None, "to": "safe"},
        {"kind": "pool", "id": ISO_CROSS, "from": None, "to": "safe"},
        {"kind": "pool", "id": ISO, "from": None, "to": "safe"},
        {"kind": "alert", "id": "mr", "from": None, "to": "clear"},
    ]


def test_pool_state_change_and_alert_on_then_off() -> None:
    r = resolved()
    safe, warning, call = (status(r, {BTC: m}) for m in (50000, 45900, 45500))
    assert transitions(safe, safe) == []
    # 0.10 → 0.51: the three pools holding the position go safe → warning; the alert (0.51 ≤ 0.7) stays clear
    assert transitions(safe, warning) == [
        {"kind": "pool", "id": key, "from": "safe", "to": "warning"} for key in (AS_IS, CROSS, ISO)
    ]
    # 0.51 → 0.91: margin call, and the alert turns on (0.91 > 0.7)
    assert transitions(warning, call)[-1] == {"kind": "alert", "id": "mr", "from": "clear", "to": "triggered"}
    assert [t["to"] for t in transitions(warning, call)[:-1]] == ["margin_call"] * 3
    # back to 50,000: safe, and the alert turns off
    back = transitions(call, safe)
    assert back[-1] == {"kind": "alert", "id": "mr", "from": "triggered", "to": "clear"}
    assert [(t["id"], t["from"], t["to"]) for t in back[:-1]] == [
        (k, "margin_call", "safe") for k in (AS_IS, CROSS, ISO)
    ]


def test_a_vanished_pool_goes_to_none() -> None:
    # a second, isolated ETH short (2 contracts at 3,000, 5x: isolated margin 6,000 / 5 = 1,200) in the first
    # step; the re-imported account of the second step has only the BTC position
    doc = copy.deepcopy(BOOK)
    doc["collateral"] = {"USDT": 6200}
    doc["prices"][ETH] = 3000
    doc["tiers"][ETH] = one_tier(0.01)
    doc["positions"].append(
        {"symbol": ETH, "side": "short", "contracts": 2, "entry_price": 3000, "leverage": 5, "margin_mode": "isolated"}
    )
    before = status(resolved(doc))
    after = status(resolved())
    eth_pools = [p.key for p in before.pools if p.position == f"{ETH} short"]
    assert eth_pools == [f"as_is USDT isolated {ETH} short", f"isolated USDT isolated {ETH} short"]
    gone = [t for t in transitions(before, after) if t["to"] is None]
    assert gone == [{"kind": "pool", "id": key, "from": "safe", "to": None} for key in eth_pools]


def test_watch_line_has_the_format_keys() -> None:
    s = status(resolved(), {BTC: 45500})
    line = watch_line(s, 3, "2025-01-14T14:47:03Z", transitions(None, s))
    assert list(line) == ["time", "iteration", "marks", "pools", "alerts", "transitions"]
    assert line["iteration"] == 3 and line["marks"] == {BTC: 45500} and line["alerts"] == ["mr"]
    assert line["pools"][0] == {
        "view": "as_is",
        "settle": "USDT",
        "mode": "cross",
        "position": None,
        "margin_ratio": pytest.approx(0.91),
        "state": "margin_call",
    }


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=45_001.0, max_value=400_000.0))
def test_state_follows_the_one_tier_ratio(mark: float) -> None:
    r = ratio(mark)
    if min(abs(r - level) for level in (0.5, 0.8, 1.0)) < 1e-9:  # a level itself: float ties either way
        return
    expected = "liquidation" if r >= 1 else "margin_call" if r >= 0.8 else "warning" if r >= 0.5 else "safe"
    s = status(resolved(), {BTC: mark})
    assert states(s)[AS_IS] == expected and states(s)[ISO] == expected
    assert transitions(s, s) == []
    assert len(transitions(None, s)) == len(s.pools) + len(s.alerts)
