"""Every page is safe at every value (issue 10, item 4): URL parameters and sliders at their limits, on every
bundled sample, give a result or a short note, never an exception box.

A move that would take an asset's price through zero (a −90 % market move with a beta above 1.11) is
clamped, and the page says so; these tests check the note is there exactly when some asset is clamped.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from margin import parse_portfolio_json, resolve
from margin.scenarios import bases_of
from tests.conftest import ROOT, SAMPLES
from tests.test_app_pages import open_app

APP = str(ROOT / "app.py")
SHOCK = "pages/2_Shock_lab.py"
CONTAGION = "pages/4_Contagion.py"
MAP = "pages/3_Liquidation_map.py"
CLAMPED = "A price cannot go through zero"


def run(page: str, query: dict[str, str]) -> AppTest:
    return open_app(query, page, timeout=180)


def assets_of(sample: str) -> list[str]:
    text = (ROOT / "fixtures" / "portfolios" / f"{sample}.json").read_text()
    return list(bases_of(resolve(parse_portfolio_json(text, sample))))


def views_answered(sample: str) -> int:
    """The views the Shock lab answers (liquidated or not): the three of format §2, and on a book holding
    options also the portfolio view (§6.4), which the lab shows beside them."""
    text = (ROOT / "fixtures" / "portfolios" / f"{sample}.json").read_text()
    return 4 if resolve(parse_portfolio_json(text, sample)).option_legs else 3


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("move", ["-0.9", "0.9"])
@pytest.mark.parametrize("betas", ["1", "0"])
def test_shock_lab_at_its_limits(sample: str, move: str, betas: str) -> None:
    """The market slider at ±90 %, betas on and off: every view answered (liquidated or not), the slider
    where the link put it; with betas off no asset moves past −90 %, so nothing is clamped."""
    at = run(SHOCK, {"sample": sample, "move": move, "betas": betas})
    assert at.slider(key="shock_move").value == 100.0 * float(move)
    assert len(at.error) + len(at.success) == views_answered(sample)
    warnings = " ".join(str(w.value) for w in at.warning)
    if betas == "0" or move == "0.9":
        assert CLAMPED not in warnings


@pytest.mark.parametrize("sample", SAMPLES)
def test_shock_lab_every_asset_at_its_limit_on_top_of_the_market(sample: str) -> None:
    """Every per-asset slider at −90 % on top of a −90 % market move (−99 % compounded for each asset with
    β = 1): answered, and every asset at −90 % is in the link as given."""
    assets = assets_of(sample)
    query = {"sample": sample, "move": "-0.9", "betas": "0", **{f"m_{a}": "-0.9" for a in assets}}
    at = run(SHOCK, query)
    for a in assets:
        assert at.slider(key=f"shock_{a}").value == -90.0
    assert len(at.error) + len(at.success) == views_answered(sample)


def test_a_beta_above_one_at_minus_ninety_is_clamped_and_said() -> None:
    """alt-basket-cross holds assets whose estimated beta against BTC exceeds 1/0.9 (the Shock lab's beta
    table says so): a −90 % BTC move would take them below zero, so they are held at the floor, with a note."""
    at = run(SHOCK, {"sample": "alt-basket-cross", "move": "-0.9", "betas": "1"})
    warnings = " ".join(str(w.value) for w in at.warning)
    assert CLAMPED in warnings, warnings
    assert len(at.error) + len(at.success) == 3


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize(("move", "strength"), [("-0.9", "0"), ("0.9", "5"), ("-0.9", "5")])
def test_contagion_at_its_limits(sample: str, move: str, strength: str) -> None:
    at = run(CONTAGION, {"sample": sample, "move": move, "strength": strength})
    # a book with options too (issue 11: the cascade values them): the page runs and shows its totals
    assert at.title and at.metric  # the cascade's totals are shown
    assert not at.exception


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("range_", ["0.1", "0.9"])
def test_liquidation_map_at_its_limits(sample: str, range_: str) -> None:
    at = run(MAP, {"sample": sample, "range": range_})
    assert at.title
    assert not [w for w in at.warning if "URL parameter" in str(w.value)]
