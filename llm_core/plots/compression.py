"""Figures of the compression lab: sizes before/after, the sparsity sweep, attention drift.

Plotly only (never streamlit); every word on a figure is an argument, so the UI passes
translated ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llm_core.plots.heatmaps import (
    FONT_FAMILY,
    MAX_ANNOTATED_SIZE,
    difference_heatmap_of,
    short_label,
)

BEFORE_COLOUR, AFTER_COLOUR = "#9aa5b1", "#1f77b4"
SPEED_COLOUR = "#ff7f0e"


def size_figure(
    bars: Mapping[str, tuple[float, float]], before: str, after: str, unit: str
) -> go.Figure:
    """Grouped bars: label -> (before, after) in ``unit`` (e.g. MB)."""
    labels = list(bars)
    figure = go.Figure(
        [
            go.Bar(
                name=before, x=labels, y=[bars[k][0] for k in labels], marker_color=BEFORE_COLOUR
            ),
            go.Bar(name=after, x=labels, y=[bars[k][1] for k in labels], marker_color=AFTER_COLOUR),
        ]
    )
    figure.update_traces(texttemplate="%{y:,.1f}", textposition="outside")
    figure.update_layout(
        barmode="group",
        height=340,
        yaxis_title=unit,
        font={"family": FONT_FAMILY},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure


def sweep_figure(
    sparsity: Sequence[float],
    perplexity: Sequence[float],
    tokens_per_s: Sequence[float],
    *,
    x_title: str,
    perplexity_title: str,
    speed_title: str,
) -> go.Figure:
    """Perplexity (left axis) and tokens/s (right axis) against sparsity (in %)."""
    x = [100 * s for s in sparsity]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(x=x, y=list(perplexity), name=perplexity_title, mode="lines+markers"),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=list(tokens_per_s),
            name=speed_title,
            mode="lines+markers",
            line={"color": SPEED_COLOUR, "dash": "dot"},
        ),
        secondary_y=True,
    )
    figure.update_xaxes(title_text=x_title, ticksuffix=" %")
    figure.update_yaxes(title_text=perplexity_title, type="log", secondary_y=False)
    figure.update_yaxes(title_text=speed_title, rangemode="tozero", secondary_y=True)
    figure.update_layout(
        height=380,
        font={"family": FONT_FAMILY},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure


def drift_figure(
    difference: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    query_title: str = "query",
    key_title: str = "key",
    value_name: str = "difference",
) -> go.Figure:
    """Heatmap of compressed - original attention [query_pos, key_pos], centred on 0."""
    figure = difference_heatmap_of(
        difference,
        labels,
        title=title,
        query_title=query_title,
        key_title=key_title,
        value_name=value_name,
    )
    if difference.shape[-1] <= MAX_ANNOTATED_SIZE:  # drift is small: 2 decimals show "0.00"
        figure.update_traces(texttemplate="%{z:+.3f}")
    return figure


def head_removal_figure(
    removed_per_layer: Sequence[int], n_heads: int, *, x_title: str, y_title: str
) -> go.Figure:
    """Bars: heads removed in each layer (out of ``n_heads``)."""
    figure = go.Figure(go.Bar(x=list(range(len(removed_per_layer))), y=list(removed_per_layer)))
    figure.update_layout(
        height=280,
        font={"family": FONT_FAMILY},
        xaxis_title=x_title,
        yaxis={"title": y_title, "range": [0, n_heads]},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Tokens as short, visible labels (spaces shown as '·')."""
    return [short_label(token.replace(" ", "·").replace("\n", "↵") or "∅") for token in tokens]
