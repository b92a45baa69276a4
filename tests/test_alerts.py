"""Pool states and alert rules (``portfolio-format.md`` §8, issue 12): every pool's ``state`` in every view of
``evaluate``, the levels in force (defaults, a venue's, the file's ``alert_levels``), the ``alerts`` rows and
their validation.

Every expected number is worked by hand in the comments (linear PnL ``s·Q·(P − EP)``, maintenance
``N × mmr`` with one tier, margin ratio = maintenance / equity).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from margin.errors import PortfolioError
from margin.files import dump_portfolio_json, parse_portfolio_json
from margin.frontier import smallest_moves
from margin.portfolio import AlertRule, portfolio_from_dict, resolve
from margin.report import evaluate_portfolio
from margin.shocks import parse_shock
from margin.states import DEFAULT_LEVELS, AlertLevels
from margin.venues import VENUES
from tests.examples import assert_messages, one_tier

ETH = "ETH/USDT:USDT"
VIEWS = ("as_is", "cross", "isolated")


def losing_long(collateral: float, **extra: Any) -> dict[str, Any]:
    """USDT ``collateral``; ETH long 2 at 3,000, mark 2,000, one tier at 1 %, cross, leverage 10.

    UPNL 2 × (2,000 − 3,000) = −2,000; notional 4,000; maintenance 40; equity collateral − 2,000."""
    data: dict[str, Any] = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": collateral},
        "prices": {ETH: 2000.0},
        "tiers": {ETH: one_tier(0.01)},
        "positions": [{"symbol": ETH, "side": "long", "contracts": 2, "entry_price": 3000.0, "leverage": 10}],
    }
    data.update(extra)
    return data


def evaluated(data: dict[str, Any], *shocks: str) -> dict[str, Any]:
    return evaluate_portfolio(portfolio_from_dict(data), [parse_shock(s) for s in shocks])


def states(doc: dict[str, Any], view: str = "as_is") -> list[str]:
    return [p["state"] for p in doc["modes"][view]["pools"]]


# --------------------------------------------------------------------------- states


@pytest.mark.parametrize(
    ("collateral", "state"),
    [
        (2100.0, "safe"),  # equity 100, ratio 40 / 100 = 0.4 < 0.5
        (2060.0, "warning"),  # equity 60, ratio 0.667 in [0.5, 0.8)
        (2045.0, "margin_call"),  # equity 45, ratio 0.889 in [0.8, 1)
        (2030.0, "liquidation"),  # equity 30, ratio 1.33 ≥ 1
        (1900.0, "liquidation"),  # equity −100: no ratio, past the trigger
    ],
)
def test_default_levels(collateral: float, state: str) -> None:
    doc = evaluated(losing_long(collateral))
    assert states(doc) == states(doc, "cross") == [state]
    # isolated view: margin 6,000 / 10 = 600, equity 600 − 2,000 < 0 → liquidation; the cross pool holds no
    # position (never liquidated) → safe
    assert states(doc, "isolated") == ["safe", "liquidation"]


def test_file_levels_override() -> None:
    # ratio 0.667 (collateral 2,060): margin call from 0.6, safe below 0.7
    doc = evaluated(losing_long(2060.0, alert_levels={"warning": 0.3, "margin_call": 0.6}))
    assert states(doc) == ["margin_call"]
    doc = evaluated(losing_long(2060.0, alert_levels={"warning": 0.7, "margin_call": 0.9}))
    assert states(doc) == ["safe"]


def test_venue_levels_and_file_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """No preset documents its own levels today (the defaults are in force on every one); a venue that
    names levels has them used, and the file's ``alert_levels`` win over them."""
    assert all(v.alert_levels is None for v in VENUES.values())
    assert resolve(portfolio_from_dict(losing_long(2060.0))).alert_levels == DEFAULT_LEVELS
    venue_levels = AlertLevels(0.2, 0.3, source="a test venue's documentation")
    monkeypatch.setitem(VENUES, "generic", replace(VENUES["generic"], alert_levels=venue_levels))
    assert resolve(portfolio_from_dict(losing_long(2060.0))).alert_levels == venue_levels
    assert states(evaluated(losing_long(2100.0))) == ["margin_call"]  # ratio 0.4 ≥ 0.3
    doc = evaluated(losing_long(2100.0, alert_levels={"warning": 0.45, "margin_call": 0.6}))
    assert states(doc) == ["safe"]


@pytest.mark.parametrize(
    ("levels", "needle"),
    [
        ({"warning": 0.8, "margin_call": 0.5}, "alert_levels.margin_call must be > warning (0.8), got 0.5"),
        ({"warning": 0.5, "margin_call": 0.5}, "alert_levels.margin_call must be > warning (0.5), got 0.5"),
        ({"warning": 0, "margin_call": 0.5}, "alert_levels.warning must be > 0 and < 1 (a margin ratio), got 0"),
        ({"warning": 0.5, "margin_call": 1}, "alert_levels.margin_call must be > 0 and < 1 (a margin ratio), got 1"),
        ({"warning": "0.5", "margin_call": 0.8}, "alert_levels.warning must be a number, got '0.5'"),
        ({"warning": 0.5}, "alert_levels.margin_call is required"),
        ({"warning": 0.5, "margin_call": 0.8, "liquidation": 1}, "alert_levels.liquidation is not an alert_levels"),
        ([0.5, 0.8], "alert_levels must be an object {warning, margin_call}"),
    ],
)
def test_bad_levels(levels: object, needle: str) -> None:
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(losing_long(2100.0, alert_levels=levels))
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1 and found[0].startswith(needle), found


# --------------------------------------------------------------------------- alerts


def alert_book(**extra: Any) -> dict[str, Any]:
    """USDT 5,000 and BTC 0.5 (BTC priced by BTC/USDT:USDT at 60,000); ETH long 2 at 3,000, mark 3,100,
    one tier at 1 %, isolated with margin 6,000 / 10 = 600.

    ``as_is``: ETH pool equity 600 + 2 × 100 = 800, maintenance 6,200 × 1 % = 62, ratio 0.0775, available
    800 − 600 = 200; USDT cross 5,000 − 600 = 4,400 (no position); BTC cross 0.5 (no position).
    Liquidation 600 + 2 (P − 3,000) = 0.02 P → P = 5,400 / 1.98 = 2,727.27, distance 0.120235.
    ``cross``: USDT pool 5,000 + 200 = 5,200, ratio 62 / 5,200 = 0.011923, available 5,200 − 620 = 4,580;
    liquidation 1,000 / 1.98 = 505.05, distance 0.837080.
    """
    data: dict[str, Any] = {
        "format": "margin-portfolio/1",
        "venue": "generic",
        "collateral": {"USDT": 5000.0, "BTC": 0.5},
        "prices": {ETH: 3100.0, "BTC/USDT:USDT": 60_000.0},
        "tiers": {ETH: one_tier(0.01)},
        "positions": [
            {
                "symbol": ETH,
                "side": "long",
                "contracts": 2,
                "entry_price": 3000.0,
                "leverage": 10,
                "margin_mode": "isolated",
            }
        ],
        "alerts": [
            {"id": "mr", "metric": "margin_ratio", "above": 0.07},
            {"id": "mr-cross", "metric": "margin_ratio", "above": 0.07, "view": "cross"},
            {"id": "near", "metric": "distance_to_liquidation", "below": 0.15},
            {"id": "near-cross", "metric": "distance_to_liquidation", "below": 0.15, "view": "cross"},
            {"id": "eq", "metric": "equity", "below": 40_000},
            {"id": "cash", "metric": "available", "below": 0, "view": "cross"},
            {"id": "move", "metric": "account_move", "below": 0.1},
        ],
    }
    data.update(extra)
    return data


def rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["alerts"]}


def test_alert_rows() -> None:
    doc = evaluated(alert_book())
    assert [r["id"] for r in doc["alerts"]] == ["mr", "mr-cross", "near", "near-cross", "eq", "cash", "move"]
    assert all(set(r) == {"id", "metric", "value", "triggered"} for r in doc["alerts"])
    r = rows(doc)
    lp_iso, lp_cross = 5400 / 1.98, 1000 / 1.98
    assert r["mr"]["value"] == pytest.approx(62 / 800, rel=1e-12) and r["mr"]["triggered"] is True
    assert r["mr-cross"]["value"] == pytest.approx(62 / 5200, rel=1e-12) and r["mr-cross"]["triggered"] is False
    assert r["near"]["value"] == pytest.approx(1 - lp_iso / 3100, rel=1e-12) and r["near"]["triggered"] is True
    assert r["near-cross"]["value"] == pytest.approx(1 - lp_cross / 3100, rel=1e-12)
    assert r["near-cross"]["triggered"] is False
    # equity in USD: 4,400 + 800 + 0.5 × 60,000 = 35,200 < 40,000
    assert r["eq"]["value"] == pytest.approx(35_200.0, rel=1e-12) and r["eq"]["triggered"] is True
    # cross view available in USD: 4,580 + 0.5 × 60,000 = 34,580, not below 0
    assert r["cash"]["value"] == pytest.approx(34_580.0, rel=1e-12) and r["cash"]["triggered"] is False
    # the uniform move that liquidates the ETH pool is ETH's own: 2,727.27 / 3,100 − 1 = −12.02 %
    assert r["move"]["value"] == pytest.approx(1 - lp_iso / 3100, rel=1e-9) and r["move"]["triggered"] is False
    uniform = smallest_moves(resolve(portfolio_from_dict(alert_book())), "as_is")["uniform"]
    assert r["move"]["value"] == -uniform["down"] and uniform["up"] is None


def test_alerts_after_a_shock() -> None:
    """ETH=−5 %: mark 2,945; ETH pool equity 600 + 2 × (−55) = 490, maintenance 58.9, ratio 0.120204;
    distance 1 − 2,727.27 / 2,945 = 0.073932 (and so the account move); equity 4,400 + 490 + 30,000 = 34,890."""
    r = rows(evaluated(alert_book(), "ETH=-5%"))
    lp_iso = 5400 / 1.98
    assert r["mr"]["value"] == pytest.approx(58.9 / 490, rel=1e-12)
    assert r["near"]["value"] == pytest.approx(1 - lp_iso / 2945, rel=1e-12)
    assert r["move"]["value"] == pytest.approx(1 - lp_iso / 2945, rel=1e-9) and r["move"]["triggered"] is True
    assert r["eq"]["value"] == pytest.approx(34_890.0, rel=1e-12)


def test_no_alerts_key_without_rules() -> None:
    data = alert_book()
    del data["alerts"]
    assert "alerts" not in evaluated(data)


def test_unpriced_asset_is_left_out_and_named() -> None:
    data = alert_book(alerts=[{"id": "eq", "metric": "equity", "below": 0}])
    data["collateral"]["XYZ"] = 10.0  # a cross pool of its own, no XYZ/USD price anywhere
    (row,) = evaluated(data)["alerts"]
    assert row["value"] == pytest.approx(35_200.0, rel=1e-12)
    assert row["unpriced_assets"] == ["XYZ"]


def test_margin_ratio_with_no_equity_reads_as_infinite() -> None:
    # equity 1,900 − 2,000 = −100: no ratio (null); an "above" rule is triggered, a "below" one is not
    data = losing_long(
        1900.0,
        alerts=[
            {"id": "hi", "metric": "margin_ratio", "above": 0.5},
            {"id": "lo", "metric": "margin_ratio", "below": 2},
        ],
    )
    r = rows(evaluated(data))
    assert r["hi"] == {"id": "hi", "metric": "margin_ratio", "value": None, "triggered": True}
    assert r["lo"] == {"id": "lo", "metric": "margin_ratio", "value": None, "triggered": False}


def test_no_positions_gives_null_values() -> None:
    data = alert_book(positions=[])
    data["alerts"] = [
        {"metric": "margin_ratio", "above": 0},
        {"metric": "distance_to_liquidation", "below": 1},
        {"metric": "account_move", "below": 1},
    ]
    doc = evaluated(data)
    assert [(r["value"], r["triggered"]) for r in doc["alerts"]] == [(None, False)] * 3
    # default ids: "<metric> above|below <threshold>"
    assert [r["id"] for r in doc["alerts"]] == [
        "margin_ratio above 0",
        "distance_to_liquidation below 1",
        "account_move below 1",
    ]


def test_every_alert_problem_at_once() -> None:
    data = alert_book(
        alerts=[
            {"id": "a", "metric": "leverage", "above": 3},  # 0: unknown metric
            {"id": "b", "metric": "equity", "above": 1, "below": 2},  # 1: both
            {"id": "c", "metric": "equity"},  # 2: neither
            {"id": "d", "metric": "equity", "below": 1, "view": "hedged"},  # 3: no such view
            {"id": "a", "metric": "equity", "below": 1},  # 4: duplicate id
            {"id": "f", "metric": "equity", "below": "1"},  # 5: not a number
            {"id": "g", "metric": "equity", "below": 1, "when": "now"},  # 6: unknown field
            {"id": "h", "above": 1},  # 7: no metric
        ]
    )
    with pytest.raises(PortfolioError) as info:
        portfolio_from_dict(data)
    found = [str(p) for p in info.value.problems]
    want = [
        "alerts[0].metric must be one of margin_ratio, distance_to_liquidation, available, equity, account_move, "
        "got 'leverage'",
        "alerts[1] must give exactly one of 'above' and 'below'",
        "alerts[2] must give exactly one of 'above' and 'below'",
        "alerts[3].view must be one of as_is, cross, isolated, portfolio, got 'hedged'",
        "alerts[4].id must be unique (also alerts[0]), got 'a'",
        "alerts[5].below must be a number, got '1'",
        "alerts[6].when is not an alert field",
        "alerts[7].metric is required",
    ]
    assert_messages(found, want)


def test_any_case_and_round_trip() -> None:
    data = alert_book(alert_levels={"warning": 0.4, "margin_call": 0.7})
    data["alerts"].append({"metric": "Margin_Ratio", "above": 0.9, "view": "ISOLATED"})
    pf = portfolio_from_dict(data)
    assert pf.alerts[-1] == AlertRule(metric="margin_ratio", above=0.9, view="isolated")
    text = dump_portfolio_json(pf)
    assert parse_portfolio_json(text) == pf
    written = json.loads(text)
    assert written["alert_levels"] == {"warning": 0.4, "margin_call": 0.7}
    assert written["alerts"][0] == {"id": "mr", "metric": "margin_ratio", "above": 0.07}
    plain = alert_book()
    del plain["alerts"]
    assert {"alerts", "alert_levels"}.isdisjoint(json.loads(dump_portfolio_json(portfolio_from_dict(plain))))
