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


tricky = st.text(alphabet=st.sampled_from(list('{}[],:" \n\\ab')), max_size=8)
row = st.dictionaries(st.one_of(tricky, st.text()), st.one_of(scalars, tricky), min_size=1, max_size=5)
tables = st.lists(st.one_of(row, row, st.dictionaries(st.text(), scalars, max_size=2), scalars), max_size=6)


@settings(max_examples=400, derandomize=True)
@given(st.one_of(tables, st.dictionaries(tricky, tables, max_size=3), st.lists(tables, max_size=3)))
def test_tables_of_rows_give_the_same_text(doc: Any) -> None:
    """Lists of flat rows take the one-call path: strings holding braces, commas and line breaks, empty rows
    and rows mixed with other values must still give json.dumps's text."""
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
