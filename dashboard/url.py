"""Page settings in the URL (a shared link reproduces the view) and kept across pages in the session.

Only page settings go in the URL (shock values, chosen symbols, preset, sample name); positions and
keys never do. A bad URL value is reported with a warning and the default is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import streamlit as st

from dashboard import keys

T = TypeVar("T")


def url_float(key: str, default: float, lo: float, hi: float) -> float:
    """A number from the URL, within [lo, hi]; a bad value is reported and the default used."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and lo <= value <= hi):
        st.warning(f"URL parameter {key} must be a number from {lo:g} to {hi:g}, got {raw!r}; using {default:g}.")
        return default
    return value


def url_choice(key: str, options: Sequence[str], default: str) -> str:
    """One of ``options`` from the URL; a value not among them is reported and the default used."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    if raw not in options:
        st.warning(f"URL parameter {key} must be one of {', '.join(options)}, got {raw!r}; using {default}.")
        return default
    return raw


def set_url(**values: float | int | str) -> None:
    """Write page settings to the URL (floats as ``%g``), touching only the ones that changed."""
    for key, value in values.items():
        text = f"{value:g}" if isinstance(value, float) else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def drop_url(*names: str) -> None:
    """Remove settings from the URL (a setting back at its default, or no longer meaningful)."""
    for name in names:
        if name in st.query_params:
            del st.query_params[name]


def sticky(key: str, default: T, options: Sequence[T] | None = None) -> None:
    """Seed widget ``key`` with its last value in this session, else ``default`` (usually from the URL).

    Streamlit forgets the state of widgets a page did not draw, and sidebar navigation drops the URL's
    query string, so a page's settings are also kept under a non-widget key (:func:`dashboard.keys.kept`).
    Call before creating the widget (and create it without ``value``/``index``); a kept value no longer
    among ``options`` (the portfolio changed) falls back to ``default``.
    """
    kept = keys.kept(key)
    if key not in st.session_state:
        value = st.session_state.get(kept, default)
        if options is not None and value not in options:
            value = default
        st.session_state[key] = value
    elif options is not None and st.session_state[key] not in options:
        st.session_state[key] = default
    st.session_state[kept] = st.session_state[key]
