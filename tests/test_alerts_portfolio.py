"""Alert rules on the ``portfolio`` view (format §8 on §6.4) and the live marks of an options book (§6.1).

The book is §6.5's worked example: its portfolio view is equity 27,420.13 USD, IM 19,365.84, MM 15,492.68,
margin ratio 0.5650 and one risk unit (BTC) whose liquidation moves are +9.1920 % up and none down.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from margin.monitor import status
from margin.portfolio import portfolio_from_dict, resolve
from margin.report import evaluate_portfolio
from tests.examples import section_6_5_example

CALL = "BTC/USD:BTC-261225-100000-C"
PUT = "BTC/USD:BTC-261225-90000-P"
WORKED: dict[str, Any] = section_6_5_example()


def book(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(WORKED)
    data["alerts"] = alerts
    return data


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in evaluate_portfolio(portfolio_from_dict(data))["alerts"]}  # type: ignore[union-attr]


def test_every_metric_of_the_portfolio_view() -> None:
    r = rows(
        book(
            [
                {"id": "mr", "metric": "margin_ratio", "above": 0.5, "view": "portfolio"},
                {"id": "near", "metric": "distance_to_liquidation", "below": 0.05, "view": "portfolio"},
                {"id": "cash", "metric": "available", "below": 10_000, "view": "portfolio"},
                {"id": "eq", "metric": "equity", "below": 20_000, "view": "portfolio"},
                {"id": "move", "metric": "account_move", "below": 0.1, "view": "portfolio"},
            ]
        )
    )
    # §6.5: MM 15,492.68 / equity 27,420.13 = 0.5650 > 0.5
    assert r["mr"]["value"] == pytest.approx(0.5650, abs=5e-5) and r["mr"]["triggered"] is True
    # the BTC unit's only liquidation move is +9.1920 %: not below 5 %
    assert r["near"]["value"] == pytest.approx(0.091920, abs=5e-7) and r["near"]["triggered"] is False
    # available = equity − IM = 27,420.13 − 19,365.84 = 8,054.29 (to the cent of the example's figures)
    assert r["cash"]["value"] == pytest.approx(27_420.13 - 19_365.84, abs=0.01) and r["cash"]["triggered"] is True
    assert r["eq"]["value"] == pytest.approx(27_420.13, abs=0.005) and r["eq"]["triggered"] is False
    # one risk unit: moving every unit at once is moving BTC, so the account move is the unit's +9.1920 %
    assert r["move"]["value"] == pytest.approx(r["near"]["value"], rel=1e-9) and r["move"]["triggered"] is True


def test_standard_views_equity_in_usd_at_the_index_price() -> None:
    """``as_is`` BTC pool: the §6.5 standard-view equity (0.3 BTC + futures PnL + options value, in BTC) × the
    index price 97,000 (the portfolio view's USD price of BTC), the same USD total as the portfolio view's equity:
    no haircut, and every amount of this book is in BTC."""
    r = rows(book([{"id": "eq", "metric": "equity", "below": 1.0}]))
    doc = evaluate_portfolio(portfolio_from_dict(WORKED))
    (btc,) = doc["modes"]["as_is"]["pools"]  # type: ignore[index]
    assert r["eq"]["value"] == pytest.approx(btc["equity"] * 97_000, rel=1e-12)
    assert r["eq"]["value"] == pytest.approx(27_420.13, abs=0.005)


def test_live_marks_move_option_forwards_with_their_base() -> None:
    """A venue's mark of an option is its premium: ``status`` never takes it as the forward. The perpetual's mark
    97,100 → 87,390 (−10 %) moves both options' forward 97,000 → 87,300 (the same −10 %)."""
    res = resolve(portfolio_from_dict(WORKED))
    st = status(res, {"BTC/USD:BTC": 87_390.0, CALL: 0.05})
    assert st.marks["BTC/USD:BTC"] == 87_390.0
    assert st.marks[CALL] == pytest.approx(87_300.0, rel=1e-12) and st.marks[PUT] == pytest.approx(87_300.0, rel=1e-12)


def test_a_rule_on_the_portfolio_view_in_the_monitor() -> None:
    res = resolve(
        portfolio_from_dict(book([{"id": "mr", "metric": "margin_ratio", "above": 0.5, "view": "portfolio"}]))
    )
    value, on = status(res).alerts["mr"]
    assert value == pytest.approx(0.5650, abs=5e-5) and on is True
