"""Margin Lab: the router. Every page script lives in ``pages/``; ``dashboard.navigation`` names and groups them.

The sidebar's Share control (``dashboard.share``) sits under the page list, on every page.
"""

from __future__ import annotations

import streamlit as st

from dashboard import import_panel, share, state, views
from dashboard.navigation import st_pages


def _typed_secrets() -> list[str]:
    """What was typed into the import panel's key inputs (never to appear in a shared link)."""
    return [str(st.session_state.get(k) or "") for k in import_panel.SECRET_WIDGETS]


st.set_page_config(page_title="Margin Lab", page_icon="📉", layout="wide")
views.apply_layout()
page = st.navigation(st_pages())
with st.sidebar:
    share.render(page.url_path, state.current_text, _typed_secrets)
page.run()
