"""The fast JSON writer gives the text of ``json.dumps(indent=2, allow_nan=False)`` exactly (issue 13)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin import load_portfolio
from margin.jsonout import dumps
from margin.report import evaluate_portfolio
from tests.conftest import ROOT, SAMPLES

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, derandomize=True)
@given(documents)
def test_same_text_as_json_dumps(doc: Any) -> None:
    assert dumps(doc) == json.dumps(doc, indent=2, allow_nan=False)


@pytest.mark.parametrize("name", SAMPLES)
def test_same_text_on_every_sample(name: str) -> None:
    doc = evaluate_portfolio(load_portfolio(ROOT / "fixtures" / "portfolios" / f"{name}.json"))
    assert dumps(doc) == json.dumps(doc, indent=2, allow_nan=False)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_is_refused_as_json_does(bad: float) -> None:
    with pytest.raises(ValueError):
        dumps({"x": [1.0, bad]})
    with pytest.raises(ValueError):
        json.dumps({"x": [1.0, bad]}, allow_nan=False)
