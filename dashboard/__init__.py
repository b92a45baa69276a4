"""Streamlit and Plotly glue shared by the pages (no margin maths here: that lives in ``margin/``).

- ``keys``: every session-state and widget key; ``url``: page settings in the URL (and kept across pages);
- ``state``: the session's portfolio; ``compute``: the cached computations, returning ``results`` (typed);
- ``views``: the page head and tables; ``charts``: figure builders; ``summary``, ``compare``, ``editing``,
  ``explain``: pure helpers of the pages; ``import_panel``: the exchange import; ``samples``: bundled books.

Imports go one way (``keys`` ← ``url`` ← ``state`` ← ``views``; ``results`` ← ``compute`` ← ``state``): no cycle.
"""
