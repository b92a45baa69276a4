"""Streamlit and Plotly glue shared by the pages (no margin maths here: that lives in ``margin/``)."""
