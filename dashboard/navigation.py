"""The app's pages, named and grouped for ``st.navigation`` (``app.py`` is the router).

Home first, then the analysis pages, then Learn. The page scripts live in ``pages/``; each keeps its
URL path (``/Shock_lab``), so links shared before the pages were grouped still open the same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PageSpec:
    section: str  # "" for the pages above every section header
    script: str  # relative to app.py
    title: str  # the sidebar's label and the browser tab's title
    url_path: str  # "" for the default page
    icon: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("", "pages/0_Home.py", "Home", "", ":material/home:"),
    PageSpec("Analysis", "pages/7_Calculator.py", "What-if calculator", "Calculator", ":material/calculate:"),
    PageSpec(
        "Analysis", "pages/1_Cross_vs_isolated.py", "Cross vs isolated", "Cross_vs_isolated", ":material/compare:"
    ),
    PageSpec("Analysis", "pages/2_Shock_lab.py", "Shock lab", "Shock_lab", ":material/bolt:"),
    PageSpec("Analysis", "pages/3_Liquidation_map.py", "Liquidation map", "Liquidation_map", ":material/map:"),
    PageSpec("Analysis", "pages/4_Contagion.py", "Contagion", "Contagion", ":material/device_hub:"),
    PageSpec("Analysis", "pages/5_Stress_tests.py", "Stress tests", "Stress_tests", ":material/warning:"),
    PageSpec("Analysis", "pages/8_Monitor.py", "Monitor", "Monitor", ":material/monitor_heart:"),
    PageSpec(
        "Analysis", "pages/9_Options.py", "Options & portfolio margin", "Options", ":material/stacked_line_chart:"
    ),
    PageSpec("Learn", "pages/6_Learn.py", "How liquidation works", "Learn", ":material/school:"),
)


def sections() -> dict[str, list[PageSpec]]:
    """The pages by section, in order."""
    out: dict[str, list[PageSpec]] = {}
    for spec in PAGES:
        out.setdefault(spec.section, []).append(spec)
    return out


def st_pages() -> dict[str, list[Any]]:
    """The ``st.Page`` objects of :data:`PAGES` by section, for ``st.navigation``."""
    import streamlit as st

    return {
        section: [
            st.Page(p.script, title=p.title, url_path=p.url_path or None, icon=p.icon, default=not p.url_path)
            for p in specs
        ]
        for section, specs in sections().items()
    }


#: whether this process has handed a bypassing page run back to the router once (see :func:`ensure_router`)
_handed_back = False


def ensure_router() -> None:
    """Hand a page run that bypassed the router back to it (call first thing in every page script).

    While a server process has not yet run ``st.navigation`` (``app.py``), Streamlit treats a ``pages/``
    folder as its first multipage mode: a first session opening on a page URL (``/Shock_lab``) runs that
    script directly, with an automatic sidebar listing ``app`` and every file. The first time this
    happens in a process, the flag Streamlit keeps for that mode is cleared (as ``st.navigation`` clears
    it) and the run restarts through ``app.py``: the page keeps its URL path, hence its page hash, so the
    same page opens, grouped and named. (Streamlit's AppTest sets the flag again before every run; later
    runs of the process only clear it and go on, so no widget event is lost to a restart.)
    """
    global _handed_back
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not _handed_back:
            _handed_back = True
            st.rerun()
