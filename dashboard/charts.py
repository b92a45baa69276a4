"""Chart builders: pure functions from numbers to ``go.Figure`` (tested on the figure object).

One template and one meaning per colour everywhere: loss, profit, maintenance, liquidation, equity,
and a colour per margin view. Backgrounds are transparent and text and grid are mid-grey so the
charts read in Streamlit's light and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.results import CascadeStep
from margin.whatif import liquidation_crossings

FloatArray = npt.NDArray[np.float64]

COLORS = {
    "loss": "#e4572e",
    "profit": "#2e9e6b",
    "maintenance": "#f0a202",
    "liquidation": "#c0392b",
    "bankruptcy": "#7d3c98",
    "equity": "#3b82f6",
    "entry": "#8a8f98",
    "mark": "#3b82f6",
    "neutral": "#8a8f98",
}
VIEW_COLORS = {"as_is": "#3b82f6", "cross": "#e4572e", "isolated": "#2e9e6b"}
VIEW_LABELS = {"as_is": "as is", "cross": "all cross", "isolated": "all isolated"}
TEMPLATE = "marginlab"

pio.templates[TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#8a8f98", "size": 13},
        xaxis={"gridcolor": "rgba(138,143,152,0.25)", "zerolinecolor": "rgba(138,143,152,0.5)"},
        yaxis={"gridcolor": "rgba(138,143,152,0.25)", "zerolinecolor": "rgba(138,143,152,0.5)"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hoverlabel={"namelength": -1},
        colorway=list(VIEW_COLORS.values()),
    )
)


def _figure(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title={"text": title, "x": 0})
    return fig


POOL_COLORS = ["#3b82f6", "#e4572e", "#2e9e6b", "#9b59b6", "#f0a202", "#17becf", "#8c564b", "#e377c2"]


def pools_vs_move(
    moves: FloatArray,
    panels: Mapping[str, Sequence[tuple[str, FloatArray, FloatArray]]],
    settle: str,
    current: float | None = None,
) -> go.Figure:
    """One panel per view: each margin pool's equity (solid) and maintenance margin (dotted) against the
    market move, with × where the pool is first liquidated going down and going up from no move.

    Built as one figure with side-by-side axes (not ``make_subplots``, which costs ~100 ms per redraw)."""
    titles = list(panels)
    n = max(len(titles), 1)
    gap = 0.03
    x = 100.0 * np.asarray(moves)
    traces: list[go.Scatter] = []
    layout: dict[str, Any] = {}  # the axes of each panel
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    seen: set[str] = set()
    for k, title in enumerate(titles, start=1):
        xa, ya = f"x{k if k > 1 else ''}", f"y{k if k > 1 else ''}"
        lo, hi = (k - 1) / n + (gap if k > 1 else 0.0), k / n - (gap if k < n else 0.0)
        layout[f"xaxis{k if k > 1 else ''}"] = {
            "domain": [lo, hi],
            "anchor": ya,
            "ticksuffix": " %",
            "title": {"text": "market move (%)"},
        }
        layout[f"yaxis{k if k > 1 else ''}"] = {"anchor": xa, **({"title": {"text": settle}} if k == 1 else {})}
        annotations.append(
            {
                "text": title,
                "x": (lo + hi) / 2,
                "y": 1.04,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "xanchor": "center",
                "yanchor": "bottom",
                "font": {"size": 13},
            }
        )
        if current is not None:
            shapes.append(
                {
                    "type": "line",
                    "xref": xa,
                    "yref": f"{ya} domain",
                    "x0": 100.0 * current,
                    "x1": 100.0 * current,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": COLORS["neutral"], "dash": "dash"},
                }
            )
        for j, (label, eq, mm) in enumerate(panels[title]):
            color = POOL_COLORS[j % len(POOL_COLORS)]
            traces.append(
                go.Scatter(
                    x=x,
                    y=eq,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    xaxis=xa,
                    yaxis=ya,
                    showlegend=label not in seen,
                    line={"color": color, "width": 2},
                    hovertemplate=f"move %{{x:.1f}} %<br>equity %{{y:,.2f}} {settle}<extra>{label}</extra>",
                )
            )
            seen.add(label)
            traces.append(
                go.Scatter(
                    x=x,
                    y=mm,
                    mode="lines",
                    name=f"{label}: maintenance",
                    legendgroup=label,
                    xaxis=xa,
                    yaxis=ya,
                    showlegend=False,
                    line={"color": color, "width": 1, "dash": "dot"},
                    hovertemplate=f"move %{{x:.1f}} %<br>maintenance %{{y:,.2f}} {settle}<extra>{label}</extra>",
                )
            )
            hits = liquidation_crossings(moves, eq, mm)
            if hits:
                traces.append(
                    go.Scatter(
                        x=x[hits],
                        y=np.asarray(eq)[hits],
                        mode="markers",
                        showlegend=False,
                        legendgroup=label,
                        xaxis=xa,
                        yaxis=ya,
                        marker={"symbol": "x", "size": 11, "color": COLORS["liquidation"]},
                        hovertemplate=f"{label} liquidated at %{{x:.1f}} %<extra></extra>",
                    )
                )
    fig = go.Figure(data=traces)
    fig.update_layout(
        template=TEMPLATE,
        height=430,
        shapes=shapes,
        annotations=annotations,
        legend={"orientation": "h", "y": -0.25, "font": {"size": 11}},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        **layout,
    )
    return fig


def margin_ratio_gauges(ratios: Mapping[str, float | None]) -> go.Figure:
    """The margin ratio (maintenance / equity) of the worst pool of each view as gauges in one figure;
    liquidation at 100 % (``None``: a pool at or below zero equity, shown as past 100 %)."""
    fig = go.Figure()
    n = max(len(ratios), 1)
    for k, (title, ratio) in enumerate(ratios.items()):
        value = 100.0 if ratio is None else 100.0 * ratio
        fig.add_trace(
            go.Indicator(
                mode="gauge+number",
                value=min(value, 200.0),
                number={"suffix": " %", "valueformat": ".1f"},
                title={"text": title, "font": {"size": 14}},
                domain={"x": [k / n + 0.02, (k + 1) / n - 0.02], "y": [0, 1]},
                gauge={
                    "axis": {"range": [0, 120], "tickvals": [0, 50, 100], "ticktext": ["0 %", "50 %", "100 %"]},
                    "bar": {"color": COLORS["liquidation"] if value >= 100 else COLORS["equity"]},
                    "steps": [
                        {"range": [0, 50], "color": "rgba(46,158,107,0.25)"},
                        {"range": [50, 80], "color": "rgba(240,162,2,0.25)"},
                        {"range": [80, 120], "color": "rgba(192,57,43,0.25)"},
                    ],
                    "threshold": {"line": {"color": COLORS["liquidation"], "width": 3}, "value": 100},
                },
            )
        )
    fig.update_layout(template=TEMPLATE, height=230, margin={"l": 20, "r": 20, "t": 50, "b": 10})
    return fig


def price_ladder(
    symbol: str,
    settle: str,
    entry: Sequence[tuple[str, float]],
    mark: float,
    levels: Mapping[str, Sequence[tuple[str, float | None]]],
    bankruptcy: Mapping[str, Sequence[tuple[str, float | None]]] | None = None,
) -> go.Figure:
    """A price ladder for one symbol: entry prices, the mark, and liquidation (and bankruptcy) prices of
    each view, one column per view."""
    fig = _figure(f"{symbol}: where each view liquidates")
    views = list(levels)
    fig.add_hline(
        y=mark,
        line={"color": COLORS["mark"], "width": 2},
        annotation_text=f"mark {mark:,.6g}",
        annotation_position="top left",
    )
    for label, price in entry:
        fig.add_hline(
            y=price,
            line={"color": COLORS["entry"], "dash": "dot"},
            annotation_text=f"entry {label} {price:,.6g}",
            annotation_position="bottom left",
        )
    for view in views:
        pts = [(lbl, p) for lbl, p in levels[view] if p is not None]
        fig.add_trace(
            go.Scatter(
                x=[VIEW_LABELS.get(view, view)] * len(pts),
                y=[p for _, p in pts],
                mode="markers+text",
                marker={
                    "symbol": "line-ew-open",
                    "size": 40,
                    "color": COLORS["liquidation"],
                    "line": {"width": 4, "color": COLORS["liquidation"]},
                },
                text=[f"liq. {lbl}" for lbl, _ in pts],
                textposition="top center",
                name=f"liquidation ({view})",
                hovertemplate=(
                    f"%{{text}}<br>%{{y:,.6g}} ({settle} per unit)<extra>{VIEW_LABELS.get(view, view)}</extra>"
                ),
                showlegend=False,
            )
        )
        if bankruptcy is not None:
            bpts = [(lbl, p) for lbl, p in bankruptcy.get(view, []) if p is not None]
            fig.add_trace(
                go.Scatter(
                    x=[VIEW_LABELS.get(view, view)] * len(bpts),
                    y=[p for _, p in bpts],
                    mode="markers",
                    marker={
                        "symbol": "line-ew-open",
                        "size": 30,
                        "color": COLORS["bankruptcy"],
                        "line": {"width": 2, "color": COLORS["bankruptcy"]},
                    },
                    text=[f"bankruptcy {lbl}" for lbl, _ in bpts],
                    name=f"bankruptcy ({view})",
                    hovertemplate="%{text}<br>%{y:,.6g}<extra></extra>",
                    showlegend=False,
                )
            )
    fig.update_yaxes(title=f"price ({symbol.split(':')[0].split('/')[1]})")
    fig.update_xaxes(categoryorder="array", categoryarray=[VIEW_LABELS.get(v, v) for v in views])
    return fig


def frontier_heatmap(
    moves_x: FloatArray,
    moves_y: FloatArray,
    margin_ratio: FloatArray,
    x: str,
    y: str,
    boundaries: Mapping[str, FloatArray] | None = None,
    view: str = "as_is",
) -> go.Figure:
    """Margin ratio of the worst pool over joint moves of two assets, with each view's boundary
    (the contour where the margin ratio reaches 100 %)."""
    fig = _figure(f"Liquidation frontier: {x} and {y} ({VIEW_LABELS.get(view, view)})")
    z = np.where(np.isfinite(margin_ratio), 100.0 * np.minimum(margin_ratio, 2.0), 200.0)
    fig.add_trace(
        go.Heatmap(
            x=100.0 * np.asarray(moves_x),
            y=100.0 * np.asarray(moves_y),
            z=z,
            zmin=0,
            zmax=150,
            colorscale=[
                (0, "rgba(46,158,107,0.9)"),
                (0.5, "rgba(240,162,2,0.9)"),
                (0.6667, "rgba(192,57,43,0.95)"),
                (1, "rgba(90,20,20,1)"),
            ],
            colorbar={"title": "margin ratio %"},
            name="margin ratio",
            hovertemplate=f"{x} %{{x:.1f}} %<br>{y} %{{y:.1f}} %<br>margin ratio %{{z:.1f}} %<extra></extra>",
        )
    )
    for name, ratio in (boundaries or {}).items():
        fig.add_trace(
            go.Contour(
                x=100.0 * np.asarray(moves_x),
                y=100.0 * np.asarray(moves_y),
                z=np.where(np.isfinite(ratio), ratio, 10.0),
                contours={"start": 1, "end": 1, "size": 1, "coloring": "none"},
                line={"color": VIEW_COLORS.get(name, COLORS["neutral"]), "width": 3},
                showscale=False,
                name=f"boundary, {VIEW_LABELS.get(name, name)}",
                showlegend=True,
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(title=f"{x} move (%)", ticksuffix=" %")
    fig.update_yaxes(title=f"{y} move (%)", ticksuffix=" %")
    return fig


def collateral_waterfall(
    steps: Sequence[CascadeStep | Mapping[str, object]], start: float, end: float, settle: str, title: str
) -> go.Figure:
    """Account value through a cascade: the start, the change up to and including each liquidation
    event (market move and fee), and what is left at the end (steps as :class:`CascadeStep` or as the
    ``cascade`` document's step mappings)."""
    fig = _figure(title)
    events = [s if isinstance(s, CascadeStep) else CascadeStep.from_doc(s) for s in steps]
    labels = ["start"]
    measures = ["absolute"]
    values = [start]
    prev = start
    for k, step in enumerate(events, start=1):
        value = prev if step.account_value is None else step.account_value
        labels.append(f"{k}. {step.event.replace('_', ' ')}")
        measures.append("relative")
        values.append(value - prev)
        prev = value
    labels.append("end")
    measures.append("relative")
    values.append(end - prev)
    labels.append("left")
    measures.append("total")
    values.append(0.0)
    fig.add_trace(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            textposition="outside",
            decreasing={"marker": {"color": COLORS["loss"]}},
            increasing={"marker": {"color": COLORS["profit"]}},
            totals={"marker": {"color": COLORS["equity"]}},
            customdata=["", *[step.position for step in events], "", ""],
            hovertemplate=f"%{{x}} %{{customdata}}<br>%{{y:+,.2f}} {settle}<extra></extra>",
        )
    )
    fig.update_yaxes(title=settle)
    fig.update_xaxes(tickangle=-30, automargin=True)
    return fig


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    unit: str,
    percent: bool = False,
) -> go.Figure:
    """Bars per category, one series per view (colours by view)."""
    fig = _figure(title)
    for view, vals in series.items():
        ys: list[Any] = [None if v is None else (100.0 * v if percent else v) for v in vals]  # None: no bar
        fig.add_trace(
            go.Bar(
                x=list(categories),
                y=ys,
                name=VIEW_LABELS.get(view, view),
                marker={"color": VIEW_COLORS.get(view)},
                hovertemplate=f"%{{x}}<br>%{{y:,.2f}}{' %' if percent else ' ' + unit}<extra>"
                f"{VIEW_LABELS.get(view, view)}</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=f"{unit}", ticksuffix=" %" if percent else "")
    return fig


def histogram(values: FloatArray, title: str, unit: str, color: str = COLORS["liquidation"]) -> go.Figure:
    """A histogram of ``values`` (counts of paths)."""
    fig = _figure(title)
    fig.add_trace(
        go.Histogram(
            x=np.asarray(values),
            marker={"color": color},
            nbinsx=40,
            hovertemplate=f"%{{x}} {unit}<br>%{{y}} paths<extra></extra>",
        )
    )
    fig.update_xaxes(title=unit)
    fig.update_yaxes(title="paths")
    return fig


def cumulative_probability(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> go.Figure:
    """Probability of having been liquidated by each hour, one line per view: ``{view: (hours,
    probability)}`` (a view with no checkpoint is left out)."""
    fig = _figure("Probability of liquidation by time")
    for view, (hours, probability) in curves.items():
        if not hours:
            continue
        fig.add_trace(
            go.Scatter(
                x=list(hours),
                y=[100.0 * p for p in probability],
                mode="lines",
                name=VIEW_LABELS.get(view, view),
                line={"color": VIEW_COLORS.get(view), "width": 2},
                hovertemplate="%{x} h<br>%{y:.2f} %<extra>" + VIEW_LABELS.get(view, view) + "</extra>",
            )
        )
    fig.update_xaxes(title="hours")
    fig.update_yaxes(title="probability (%)", ticksuffix=" %")
    return fig
