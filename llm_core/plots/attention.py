"""Figures of attention across heads and layers: the head grid (every head of a layer
side by side), the layers x heads overview, and the text flow (lines between words).

Plotly only, never streamlit; every title and axis word is an argument. Shapes and label
escaping as in ``llm_core.plots.heatmaps``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from llm_core.plots.heatmaps import (
    COLOUR_SCALE,
    FONT_FAMILY,
    MASK_COLOUR,
    MAX_ANNOTATED_SIZE,
    escape_labels,
    hover_labels,
    mask_upper_triangle,
    short_label,
)

# Cells per side of each small multiple in a head grid.
MAX_GRID_SIZE = 64
# The text-flow view draws one line per (query, key) pair: readable up to this many units.
MAX_FLOW_SIZE = 64
# Lines lighter than this are not drawn in the text-flow view (they would be invisible).
MIN_FLOW_WEIGHT = 0.02
FLOW_LEVELS = 10  # line opacities are drawn in this many steps (one plotly trace each)
FLOW_COLOUR = "31, 119, 180"
GRID_SPACING = (0.04, 0.3)  # between the head grid's columns; between its rows (all)


def head_grid_figure(
    weights: np.ndarray,
    labels: Sequence[str],
    head_titles: Sequence[str],
    *,
    columns: int = 3,
    value_name: str = "weight",
    mask_upper: bool = True,
) -> go.Figure:
    """All heads of one layer as small heatmaps on one colour scale.

    ``weights``: [head, query, key]; ``head_titles``: one title per head ("head 0").
    The layout is that of ``make_subplots(rows, columns, subplot_titles=...)`` with the
    spacing below, written out at once: building it through ``make_subplots`` and
    ``update_xaxes`` took ~90 ms for 9 heads, on every new text of every session.
    """
    weights = np.asarray(weights, dtype=np.float32)
    n_heads, n = weights.shape[0], weights.shape[-1]
    if len(head_titles) != n_heads:
        raise ValueError(f"{len(head_titles)} titles for {n_heads} heads")
    rows = math.ceil(n_heads / columns)
    shown = escape_labels(labels)
    ticks: dict[str, Any] = (
        {"tickmode": "array", "tickvals": list(range(n)), "ticktext": shown, "tickangle": 0}
        if n <= MAX_ANNOTATED_SIZE
        else {"showticklabels": False}
    )
    hover = hover_labels(labels)
    x_domains = _domains(columns, GRID_SPACING[0])
    y_domains = _domains(rows, GRID_SPACING[1] / rows)[::-1]  # first row on top
    layout: dict[str, Any] = {"annotations": []}
    traces = []
    for cell in range(rows * columns):
        row, col = divmod(cell, columns)
        suffix = "" if cell == 0 else str(cell + 1)
        layout[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}", "domain": x_domains[col], "showgrid": False, **ticks,
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}", "domain": y_domains[row], "showgrid": False,
            "autorange": "reversed", **ticks,
        }  # fmt: skip
        if cell >= n_heads:
            continue
        layout["annotations"].append(
            {
                "text": head_titles[cell], "x": sum(x_domains[col]) / 2, "y": y_domains[row][1],
                "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                "showarrow": False, "font": {"size": 16},
            }
        )  # fmt: skip
        z = mask_upper_triangle(weights[cell]) if mask_upper else weights[cell].astype(np.float64)
        traces.append(
            go.Heatmap(
                z=z,
                coloraxis="coloraxis",
                customdata=hover,
                hovertemplate=(
                    f"{html.escape(head_titles[cell])}<br>%{{customdata[0]}} → "
                    f"%{{customdata[1]}}<br>{value_name}: %{{z:.3f}}<extra></extra>"
                ),
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
            )
        )
    layout.update(
        coloraxis={
            "colorscale": COLOUR_SCALE,
            "cmin": 0.0,
            "cmax": max(float(weights.max(initial=0.0)), 1e-6),
            "colorbar": {"title": {"text": value_name}},
        },
        height=60 + 260 * rows,
        font={"family": FONT_FAMILY},
        plot_bgcolor=MASK_COLOUR,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return go.Figure(data=traces, layout=layout)


def _domains(count: int, spacing: float) -> list[list[float]]:
    """``count`` equal spans of [0, 1] with ``spacing`` between them, in order."""
    width = (1.0 - spacing * (count - 1)) / count
    return [[i * (width + spacing), i * (width + spacing) + width] for i in range(count)]


def overview_figure(
    values: np.ndarray,
    *,
    layer_title: str = "layer",
    head_title: str = "head",
    value_name: str = "value",
    selected: tuple[int, int] | None = None,
    colour_scale: str = "Viridis",
) -> go.Figure:
    """Every head of every layer as one cell coloured by a statistic ``values`` [layer, head].

    Under the heatmap lies a transparent scatter point per head (customdata = [layer,
    head]) so that a click selects a head; ``selected`` outlines one (layer, head).
    """
    values = np.asarray(values, dtype=np.float64)
    n_layers, n_heads = values.shape
    layer_of, head_of = np.meshgrid(range(n_layers), range(n_heads), indexing="ij")
    hover = (
        f"{layer_title} %{{y}}, {head_title} %{{x}}<br>{value_name}: %{{marker.color:.3f}}"
        "<extra></extra>"
    )
    figure = go.Figure(
        [
            go.Heatmap(
                z=values,
                x=list(range(n_heads)),
                y=list(range(n_layers)),
                colorscale=colour_scale,
                colorbar={"title": {"text": value_name}},
                hoverinfo="skip",
                xgap=1,
                ygap=1,
            ),
            go.Scatter(
                x=head_of.ravel(),
                y=layer_of.ravel(),
                mode="markers",
                marker={
                    "size": 14,
                    "symbol": "square",
                    "color": values.ravel(),
                    "colorscale": colour_scale,
                    "opacity": 0.0,
                },
                selected={"marker": {"opacity": 0.0}},  # a click must not repaint the cell
                unselected={"marker": {"opacity": 0.0}},
                customdata=np.stack([layer_of.ravel(), head_of.ravel()], -1),
                hovertemplate=hover,
                showlegend=False,
            ),
        ]
    )
    if selected is not None:
        layer, head = selected
        figure.add_shape(
            type="rect",
            x0=head - 0.5,
            x1=head + 0.5,
            y0=layer - 0.5,
            y1=layer + 0.5,
            line={"color": "#e45756", "width": 3},
        )
    figure.update_layout(
        height=120 + 18 * n_layers,
        font={"family": FONT_FAMILY},
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        clickmode="event+select",
        dragmode=False,
        xaxis={"title": {"text": head_title}, "dtick": 1, "showgrid": False, "side": "top"},
        yaxis={
            "title": {"text": layer_title},
            "range": [n_layers - 0.5, -0.5],  # layer 0 on top
            "showgrid": False,
            "zeroline": False,
        },
    )
    figure.update_xaxes(range=[-0.5, n_heads - 0.5], zeroline=False)
    return figure


def text_flow_figure(
    matrix: np.ndarray,
    labels: Sequence[str],
    *,
    query_title: str = "looking",
    key_title: str = "looked at",
    value_name: str = "weight",
    focus: int | None = None,
    min_weight: float = MIN_FLOW_WEIGHT,
) -> go.Figure:
    """BertViz-style head view: each unit on the left is joined to the units it attends
    to on the right by a line whose opacity and width grow with the weight.

    ``focus`` draws only the lines of that query row. Weights below ``min_weight`` are
    not drawn. Hovering the middle of a line shows its weight.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    n = matrix.shape[-1]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a matrix with {n} columns")
    shown = escape_labels([short_label(label) for label in labels])
    rows = range(n) if focus is None else [focus]
    segments: list[list[tuple[int, int, float]]] = [[] for _ in range(FLOW_LEVELS)]
    for query in rows:
        for key in range(n):
            weight = float(matrix[query, key])
            if weight >= min_weight:
                level = min(FLOW_LEVELS - 1, int(weight * FLOW_LEVELS))
                segments[level].append((query, key, weight))
    traces: list[go.Scatter] = []
    for level, pairs in enumerate(segments):
        if not pairs:
            continue
        strength = (level + 1) / FLOW_LEVELS
        xs = [x for _ in pairs for x in (0.0, 1.0, None)]
        ys = [y for q, k, _ in pairs for y in (-q, -k, None)]
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": f"rgba({FLOW_COLOUR}, {strength:.2f})", "width": 1 + 4 * strength},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    drawn = [pair for pairs in segments for pair in pairs]
    traces.append(  # hover targets halfway along each line
        go.Scatter(
            x=[0.5] * len(drawn),
            y=[-(q + k) / 2 for q, k, _ in drawn],
            mode="markers",
            marker={"size": 6, "opacity": 0.0},
            customdata=[[shown[q], shown[k], w] for q, k, w in drawn],
            hovertemplate=(
                f"%{{customdata[0]}} → %{{customdata[1]}}<br>{value_name}: "
                "%{customdata[2]:.3f}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    unit_texts = [
        f"<b>{label}</b>" if focus is not None and i == focus else label
        for i, label in enumerate(shown)
    ]
    for x, position in ((0.0, "middle left"), (1.0, "middle right")):
        traces.append(
            go.Scatter(
                x=[x] * n,
                y=[-i for i in range(n)],
                mode="markers+text",
                text=unit_texts,
                textposition=position,
                textfont={"size": 15},
                marker={"size": 5, "color": "#555"},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    figure = go.Figure(traces)
    for x, text in ((0.0, query_title), (1.0, key_title)):
        figure.add_annotation(
            x=x, y=1.0, yref="paper", yanchor="bottom", text=f"<b>{text}</b>", showarrow=False
        )
    figure.update_layout(
        height=120 + 30 * n,
        font={"family": FONT_FAMILY},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False, "range": [-0.8, 1.8], "fixedrange": True},
        yaxis={"visible": False, "range": [-n + 0.5, 0.5], "fixedrange": True},
    )
    return figure
