"""Chart builders: pure functions from numbers to ``go.Figure`` (tested on the figure object).

One template and one meaning per colour everywhere: loss, profit, maintenance, liquidation, equity,
and a colour per margin view. Backgrounds are transparent and text and grid are mid-grey so the
charts read in Streamlit's light and dark themes alike.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.results import CascadeStep
from margin.cascade_results import WaterfallBar
from margin.states import DEFAULT_LEVELS, TRIGGER, AlertLevels
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
    "liquidated_cell": "rgba(70,15,15,1)",
}
VIEW_COLORS = {"as_is": "#3b82f6", "cross": "#e4572e", "isolated": "#2e9e6b"}
VIEW_LABELS = {"as_is": "as is", "cross": "all cross", "isolated": "all isolated"}
VIEW_TITLES = {"as_is": "As is (each position in its own mode)", "cross": "All cross", "isolated": "All isolated"}
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


#: one colour per position, the same in every chart: the k-th position of the portfolio takes the k-th
#: colour (cycling past the last); cross pools, which hold many positions, take the slate greys
POSITION_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
    "#393b79",
    "#637939",
)
CROSS_POOL_COLORS = ("#334155", "#64748b", "#94a3b8")


def position_colors(ids: Sequence[str]) -> dict[str, str]:
    """The colour of every position (by id, in portfolio order) in every chart."""
    return {pid: POSITION_PALETTE[k % len(POSITION_PALETTE)] for k, pid in enumerate(ids)}


def cross_pool_color(k: int) -> str:
    """The colour of the k-th cross pool (one per settle asset)."""
    return CROSS_POOL_COLORS[k % len(CROSS_POOL_COLORS)]


@dataclass(frozen=True, eq=False)
class PoolLine:
    """One line pair of :func:`pools_vs_move`: a pool's equity and maintenance along the moves."""

    label: str
    equity: FloatArray
    maintenance: FloatArray
    color: str


#: plot-area margins shared by :func:`pools_vs_move` and :func:`move_ruler_html` (fixed, not automatic, so the
#: ruler's panels sit exactly above the chart's)
PANEL_MARGIN = {"l": 72, "r": 16}
PANEL_GAP = 0.04


def _panel_domains(n: int) -> list[tuple[float, float]]:
    """The x domain of each of ``n`` side-by-side panels."""
    n = max(n, 1)
    return [
        ((k - 1) / n + (PANEL_GAP if k > 1 else 0.0), k / n - (PANEL_GAP if k < n else 0.0)) for k in range(1, n + 1)
    ]


def _axis(k: int) -> tuple[str, str]:
    """The x and y axis names of panel ``k`` (1-based) as traces and shapes name them."""
    suffix = str(k) if k > 1 else ""
    return f"x{suffix}", f"y{suffix}"


def pools_vs_move(
    moves: FloatArray,
    panels: Mapping[str, Sequence[PoolLine]],
    settle: str,
    current: float | None = None,
    notes: Mapping[str, str] | None = None,
    titles: bool = True,
) -> go.Figure:
    """One panel per view: each margin pool's equity (solid) and maintenance margin (dotted) against the
    market move, with × where the pool is first liquidated going down and going up from no move.
    ``current``: a dashed line at that move (the dashboard leaves it out and draws
    :func:`move_ruler_html`, with the panel titles, above the chart instead, so that a slider move
    redraws the ruler only: ``titles`` False); ``notes``: a line of text at the top of a panel (e.g. the
    pools not drawn). Margins are fixed (:data:`PANEL_MARGIN`).

    Built as one figure with side-by-side axes (not ``make_subplots``, which costs ~100 ms per redraw)."""
    names = list(panels)
    domains = _panel_domains(len(names))
    x = 100.0 * np.asarray(moves)
    x_range = [float(x.min()), float(x.max())] if x.size else [-100.0, 100.0]
    traces: list[go.Scatter] = []
    layout: dict[str, Any] = {}  # the axes of each panel
    annotations: list[dict[str, object]] = []
    seen: set[str] = set()
    for k, title in enumerate(names, start=1):
        xa, ya = _axis(k)
        lo, hi = domains[k - 1]
        layout[f"xaxis{xa[1:]}"] = {
            "domain": [lo, hi],
            "anchor": ya,
            "range": x_range,
            "automargin": False,
            "ticksuffix": " %",
            "title": {"text": "market move (%)"},
        }
        layout[f"yaxis{ya[1:]}"] = {
            "anchor": xa,
            "automargin": False,
            **({"title": {"text": settle, "standoff": 4}} if k == 1 else {}),
        }
        if titles:
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
        if notes and notes.get(title):
            annotations.append(
                {
                    "text": notes[title],
                    "x": (lo + hi) / 2,
                    "y": 0.99,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                    "xanchor": "center",
                    "yanchor": "top",
                    "font": {"size": 11, "color": COLORS["neutral"]},
                }
            )
        hit_x: list[float] = []
        hit_y: list[float] = []
        hit_label: list[str] = []
        for line in panels[title]:
            label, eq, mm, color = line.label, line.equity, line.maintenance, line.color
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
            hit_x.extend(x[hits].tolist())
            hit_y.extend(np.asarray(eq)[hits].tolist())
            hit_label.extend([label] * len(hits))
        if hit_x:  # every × of the panel in one trace (fewer traces: a cheaper redraw)
            traces.append(
                go.Scatter(
                    x=hit_x,
                    y=hit_y,
                    customdata=np.asarray(hit_label, dtype=object),
                    mode="markers",
                    name="liquidated",
                    showlegend=False,
                    xaxis=xa,
                    yaxis=ya,
                    marker={"symbol": "x", "size": 11, "color": COLORS["liquidation"]},
                    hovertemplate="%{customdata} liquidated at %{x:.1f} %<extra></extra>",
                )
            )
    fig = go.Figure(data=traces)
    fig.update_layout(
        template=TEMPLATE,
        height=470 if titles else 440,
        shapes=move_marker(current, len(names)),
        annotations=annotations,
        legend={"orientation": "h", "y": -0.22, "yanchor": "top", "font": {"size": 11}},
        margin={**PANEL_MARGIN, "t": 40 if titles else 10, "b": 150},
        **layout,
    )
    return fig


def move_marker(current: float | None, panels: int) -> list[dict[str, object]]:
    """A dashed line at the market move ``current`` on each of ``panels`` panels (layout ``shapes``)."""
    if current is None:
        return []
    return [
        {
            "type": "line",
            "xref": _axis(k)[0],
            "yref": f"{_axis(k)[1]} domain",
            "x0": 100.0 * current,
            "x1": 100.0 * current,
            "y0": 0,
            "y1": 1,
            "line": {"color": COLORS["neutral"], "dash": "dash"},
        }
        for k in range(1, panels + 1)
    ]


def move_ruler_html(current: float, moves: FloatArray, titles: Sequence[str]) -> str:
    """An HTML strip over the panels of :func:`pools_vs_move` (drawn at full width, ``titles=False``): each
    panel's title, and a dashed tick with the move in % at the market move ``current``, placed with the
    chart's fixed margins (:data:`PANEL_MARGIN`), panel domains and move range, so it sits exactly over
    the chart's x axis. It is the one thing a slider move redraws there (a text element, no plot redraw)."""
    x = 100.0 * np.asarray(moves)
    x_lo, x_hi = (float(x.min()), float(x.max())) if x.size else (-100.0, 100.0)
    left, right = PANEL_MARGIN["l"], PANEL_MARGIN["l"] + PANEL_MARGIN["r"]
    where = min(max((100.0 * current - x_lo) / ((x_hi - x_lo) or 1.0), 0.0), 1.0)
    label = f"{100.0 * current:+.1f} %".replace("-", "−")
    flip = where > 0.8  # the label on the left of the tick near the right end
    marks = []
    for (lo, hi), title in zip(_panel_domains(len(titles)), titles, strict=True):
        f = lo + (hi - lo) * where
        pos = f"calc({left}px + {f:.6f} * (100% - {right}px))"
        mid = f"calc({left}px + {(lo + hi) / 2:.6f} * (100% - {right}px))"
        marks.append(
            f'<span style="position:absolute;left:{mid};top:0;transform:translateX(-50%);white-space:nowrap;'
            f'font-weight:400;font-size:13px">{html.escape(title)}</span>'
        )
        text = (
            f'<span style="position:absolute;right:calc(100% - {pos} + 4px);top:24px">{label}</span>'
            if flip
            else f'<span style="position:absolute;left:calc({pos} + 4px);top:24px">{label}</span>'
        )
        marks.append(
            f'<span class="ml-move-mark" style="position:absolute;left:{pos};top:22px;height:22px;'
            f'border-left:2px dashed {COLORS["neutral"]}"></span>{text}'
        )
    return (
        f'<div class="ml-move-ruler" style="position:relative;height:46px;font-size:12px;font-weight:600;'
        f'color:{COLORS["neutral"]}">{"".join(marks)}</div>'
    )


#: what a gauge past its trigger says instead of a number (its bar is full, clamped at the trigger)
GAUGE_LIQUIDATED = "liquidated"
GAUGE_BANKRUPT = "bankrupt"


def gauge_reading(ratio: float | None) -> tuple[float, str | None]:
    """The gauge value of a margin ratio, clamped to [0 %, 100 %], and the label that replaces the number
    past the trigger: ``liquidated`` at a ratio ≥ 1 (format §2: equity at or below maintenance),
    ``bankrupt`` when there is no ratio (equity ≤ 0, format §4); ``None`` below the trigger."""
    if ratio is None:
        return 100.0, GAUGE_BANKRUPT
    if ratio >= TRIGGER:
        return 100.0, GAUGE_LIQUIDATED
    return max(100.0 * ratio, 0.0), None


def margin_ratio_gauges(ratios: Mapping[str, float | None], levels: AlertLevels = DEFAULT_LEVELS) -> go.Figure:
    """The margin ratio (maintenance / equity) of the worst pool of each view as gauges in one figure.

    The dial runs from 0 to the trigger (100 %), banded by the pool states of :mod:`margin.states`
    (safe, warning and margin call from ``levels``: the file's ``alert_levels``, else 50 % and 80 %;
    ``portfolio-format.md`` §8). Past the trigger the
    ratio has no meaning left (the pool is liquidated; with equity ≤ 0 it is not even defined), so the
    bar stays full and the number gives way to the word ``liquidated`` or ``bankrupt`` (equity ≤ 0)."""
    traces: list[dict[str, Any]] = []
    n = max(len(ratios), 1)
    warn, call = 100.0 * levels.warning, 100.0 * levels.margin_call
    annotations: list[dict[str, object]] = []
    for k, (title, ratio) in enumerate(ratios.items()):
        value, label = gauge_reading(ratio)
        lo, hi = k / n + 0.04, (k + 1) / n - 0.04
        traces.append(
            {
                "type": "indicator",
                "mode": "gauge" if label else "gauge+number",
                "value": value,
                "number": {"suffix": " %", "valueformat": ".1f"},
                "title": {"text": title, "font": {"size": 14}},
                "domain": {"x": [lo, hi], "y": [0, 1]},
                "gauge": {
                    "axis": {
                        "range": [0, 100],
                        "tickvals": [0, warn, call, 100],
                        "ticktext": ["0 %", f"{warn:.0f} %", f"{call:.0f} %", "100 %"],
                    },
                    "bar": {"color": COLORS["liquidation"] if label else COLORS["equity"]},
                    "steps": [
                        {"range": [0, warn], "color": "rgba(46,158,107,0.25)"},
                        {"range": [warn, call], "color": "rgba(240,162,2,0.25)"},
                        {"range": [call, 100], "color": "rgba(192,57,43,0.25)"},
                    ],
                    "threshold": {"line": {"color": COLORS["liquidation"], "width": 3}, "value": 100},
                },
            }
        )
        if label:
            detail = "equity ≤ 0" if label == GAUGE_BANKRUPT else "margin ratio ≥ 100 %"
            annotations.append(
                {
                    "text": f"<b>{label}</b><br><span style='font-size:11px'>{detail}</span>",
                    "x": (lo + hi) / 2,
                    "y": 0.12,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                    "font": {"size": 20, "color": COLORS["liquidation"]},
                }
            )
    layout = {
        "template": pio.templates[TEMPLATE],
        "height": 230,
        "margin": {"l": 20, "r": 20, "t": 50, "b": 10},
        "annotations": annotations,
        "transition": {"duration": 0},  # the number jumps to the new value (no animation to wait for)
    }
    # a fixed, known-good structure rebuilt on every slider move: plotly's validation (~30 ms) is skipped
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


#: the ladder's order levels (portfolio-format.md §7): one colour per order type, unlike any other tick
ORDER_COLORS = {"stop": "#e67e22", "take_profit": "#16a085"}
ORDER_LABELS = {"stop": "stop", "take_profit": "take profit"}


def order_level_name(order_id: str, order_type: str, trigger: float) -> str:
    """The ladder's label of an order level: ``stop sl-btc 90,000``."""
    return f"{ORDER_LABELS.get(order_type, order_type)} {order_id} {trigger:,.6g}"


def price_ladder(
    symbol: str,
    settle: str,
    entry: Sequence[tuple[str, float]],
    mark: float,
    levels: Mapping[str, Sequence[tuple[str, float | None]]],
    bankruptcy: Mapping[str, Sequence[tuple[str, float | None]]] | None = None,
    orders: Sequence[tuple[str, str, float]] = (),
) -> go.Figure:
    """A price ladder for one symbol: entry prices, the mark, and liquidation (and bankruptcy) prices of
    each view, one column per view; ``orders`` ``(id, type, trigger_price)`` (format §7) each drawn as its
    own level in every view column (an order is the same in every view), one trace per order named by
    :func:`order_level_name`."""
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
    columns = [VIEW_LABELS.get(v, v) for v in views]
    for order_id, order_type, trigger in orders:
        name = order_level_name(order_id, order_type, trigger)
        color = ORDER_COLORS.get(order_type, COLORS["neutral"])
        fig.add_trace(
            go.Scatter(
                x=columns,
                y=[trigger] * len(columns),
                mode="markers+text",
                marker={"symbol": "line-ew-open", "size": 34, "color": color, "line": {"width": 3, "color": color}},
                text=[name] * len(columns),
                textposition="bottom center",
                textfont={"color": color},
                name=name,
                hovertemplate="%{text}<extra>order (same in every view)</extra>",
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
    levels: AlertLevels = DEFAULT_LEVELS,
) -> go.Figure:
    """Margin ratio of the worst pool over joint moves of two assets, with each view's boundary
    (the contour where the margin ratio reaches 100 %). The colour scale runs from 0 to the trigger
    (100 %), banded by the pool states (:mod:`margin.states`); cells at or past the trigger (or with a
    pool's equity ≤ 0) are one dark colour labelled ``liquidated`` (a second trace), not a ratio."""
    fig = _figure(f"Liquidation frontier: {x} and {y} ({VIEW_LABELS.get(view, view)})")
    ratio = np.asarray(margin_ratio, dtype=np.float64)
    dead = ~(np.isfinite(ratio) & (ratio < TRIGGER))  # at or past the trigger, or equity ≤ 0 (ratio +inf/NaN)
    warn, call = levels.warning, levels.margin_call
    xs, ys = 100.0 * np.asarray(moves_x), 100.0 * np.asarray(moves_y)
    fig.add_trace(
        go.Heatmap(
            x=xs,
            y=ys,
            z=np.where(dead, np.nan, 100.0 * np.clip(ratio, 0.0, TRIGGER)),
            zmin=0,
            zmax=100,
            colorscale=[
                (0, "rgba(46,158,107,0.9)"),
                (warn, "rgba(240,162,2,0.9)"),
                (call, "rgba(192,57,43,0.9)"),
                (1, "rgba(192,57,43,1)"),
            ],
            colorbar={
                "title": "margin ratio",
                "tickvals": [0, 100 * warn, 100 * call, 100],
                "ticktext": ["0 %", f"{warn:.0%}", f"{call:.0%}", "100 %"],
            },
            name="margin ratio",
            hovertemplate=f"{x} %{{x:.1f}} %<br>{y} %{{y:.1f}} %<br>margin ratio %{{z:.1f}} %<extra></extra>",
        )
    )
    # past the trigger the ratio means nothing more: one colour and the word, not a number
    fig.add_trace(
        go.Heatmap(
            x=xs,
            y=ys,
            z=np.where(dead, 1.0, np.nan),
            zmin=0,
            zmax=1,
            colorscale=[(0.0, COLORS["liquidated_cell"]), (1.0, COLORS["liquidated_cell"])],
            showscale=False,
            name="liquidated",
            hovertemplate=f"{x} %{{x:.1f}} %<br>{y} %{{y:.1f}} %<br>liquidated (a pool at or past its trigger)"
            "<extra></extra>",
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


WATERFALL_HELP = {
    "start": "account value before the shock",
    "market": "the shock's price moves on the positions while they were held (before any liquidation this is "
    "the loss of the book as it stands; with no liquidation, the whole loss at the shocked prices)",
    "impact": "what the forced trades' own price move took (price impact), beside the liquidations it caused",
    "end": "account value left",
}


def _bar_label(k: int, bar: WaterfallBar) -> str:
    if bar.kind == "liquidation":
        return f"{k}. {bar.event.replace('_', ' ')}: {bar.position}"
    return {"start": "start", "market": "market move", "impact": "price impact", "end": "left"}[bar.kind]


def cascade_waterfall(bars: Sequence[WaterfallBar], settle: str, title: str) -> go.Figure:
    """Where the account value went in a cascade (:meth:`margin.cascade_results.ViewCascade.waterfall`):
    the start, the market move, each liquidation's own cost (fee, collateral lost, write-off), the price
    impact, and what is left; the changes add up exactly to the end bar (Plotly's ``total`` measure)."""
    fig = _figure(title)
    labels, measures, values, hover = [], [], [], []
    k = 0
    for bar in bars:
        if bar.kind == "liquidation":
            k += 1
            where = "" if bar.move is None else f" at a move of {bar.move:+.2%}"
            hover.append(
                f"{bar.event.replace('_', ' ')} {bar.position}{where}; fee {bar.fee:,.2f} {settle}; "
                "the event's own cost at its marks"
            )
        else:
            hover.append(WATERFALL_HELP[bar.kind])
        labels.append(_bar_label(k, bar))
        measures.append({"start": "absolute", "end": "total"}.get(bar.kind, "relative"))
        values.append(0.0 if bar.kind == "end" else float(bar.value))
    fig.add_trace(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            text=[f"{b.value:+,.2f}" if b.kind not in ("start", "end") else f"{b.value:,.2f}" for b in bars],
            textposition="outside",
            decreasing={"marker": {"color": COLORS["loss"]}},
            increasing={"marker": {"color": COLORS["profit"]}},
            totals={"marker": {"color": COLORS["equity"]}},
            hovertext=hover,
            hovertemplate=f"%{{x}}<br>%{{y:+,.2f}} {settle}<br>%{{hovertext}}<extra></extra>",
        )
    )
    fig.update_yaxes(title=settle)
    fig.update_xaxes(tickangle=-30, automargin=True)
    return fig


def percent_interval(p: float, interval: tuple[float, float], level: str = "95 %") -> str:
    """A probability as a percentage with its interval: ``"92.3 % (90.1–94.2 %, 95 % interval)"``; one
    decimal, two when the upper end is under 1 % (so 0.04 % does not read 0.0 %)."""
    digits = 2 if interval[1] < 0.01 else 1
    lo, hi = (f"{100.0 * x:.{digits}f}" for x in interval)
    return f"{100.0 * p:.{digits}f} % ({lo}–{hi} %, {level} interval)"


# --------------------------------------------------------------------------- options (portfolio-format.md §6)

#: the heatmap's diverging scale: loss red, zero clear, profit green (centred on 0 by ``zmid``)
PNL_SCALE = [(0.0, COLORS["loss"]), (0.5, "rgba(138,143,152,0.15)"), (1.0, COLORS["profit"])]


def risk_matrix_heatmap(
    underlying: str,
    moves: Sequence[float],
    vols: Sequence[str],
    pnl: Sequence[Sequence[float]],
    worst: tuple[int, int] | None,
) -> go.Figure:
    """A risk unit's standard scenarios (§6.4): rows the volatility states, columns the moves (in %), each
    cell the account's USD PnL in that scenario; the worst cell (the one setting the scenario loss) marked
    with a ring (trace 1) unless the worst scenario is an extended one (no mark)."""
    fig = _figure(f"Risk matrix of {underlying}: USD PnL of the account per scenario")
    xs = 100.0 * np.asarray(moves, dtype=np.float64)
    rows = np.arange(len(vols), dtype=np.float64)  # one row per volatility state, labelled on the axis
    z = np.asarray(pnl, dtype=np.float64)
    fig.add_trace(
        go.Heatmap(
            x=xs,
            y=rows,
            z=z,
            zmid=0.0,
            colorscale=PNL_SCALE,
            text=np.vectorize(lambda v: f"{v:+,.0f}", otypes=[object])(z),
            texttemplate="%{text}",
            colorbar={"title": "PnL (USD)"},
            name="scenario PnL",
            customdata=np.array([[v] * len(xs) for v in vols], dtype=object),
            hovertemplate="move %{x:+.1f} %<br>vol %{customdata}<br>PnL %{z:+,.2f} USD<extra></extra>",
        )
    )
    if worst is not None:
        row, col = worst
        fig.add_trace(
            go.Scatter(
                x=xs[col : col + 1],
                y=rows[row : row + 1],
                mode="markers",
                marker={"symbol": "circle-open", "size": 34, "line": {"width": 3, "color": COLORS["liquidation"]}},
                name="worst scenario",
                hovertemplate=f"worst: move %{{x:+.1f}} %, vol {vols[row]}, PnL {z[row, col]:+,.2f} USD<extra></extra>",
            )
        )
    fig.update_xaxes(title=f"{underlying} move (%)", ticksuffix=" %", tickvals=xs)
    fig.update_yaxes(title="volatility", tickvals=rows, ticktext=list(vols))
    return fig


def option_pnl_chart(
    underlying: str, moves: Sequence[float], today: Sequence[float], at_expiry: Sequence[float]
) -> go.Figure:
    """The account's USD equity change against the underlying's move (in %): today (trace 0, Black-76
    values) and at the last expiry (trace 1, intrinsic values)."""
    fig = _figure(f"PnL of the book across {underlying}'s move (USD, portfolio view)")
    xs = 100.0 * np.asarray(moves, dtype=np.float64)
    for name, ys, dash, color in (
        ("today", today, "solid", COLORS["equity"]),
        ("at expiry", at_expiry, "dot", COLORS["maintenance"]),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=np.asarray(ys, dtype=np.float64),
                mode="lines",
                name=name,
                line={"dash": dash, "color": color, "width": 2},
                hovertemplate=f"{name}: move %{{x:+.0f}} %<br>PnL %{{y:+,.2f}} USD<extra></extra>",
            )
        )
    fig.add_hline(y=0.0, line={"color": COLORS["neutral"], "width": 1})
    fig.update_xaxes(title=f"{underlying} move (%)", ticksuffix=" %")
    fig.update_yaxes(title="equity change (USD)")
    return fig
