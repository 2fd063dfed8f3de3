"""Figures of the compression lab: sizes before/after and heads removed (altair bars),
the sparsity sweep (altair lines), attention drift (plotly, the shared heatmap).

Never streamlit; every word on a figure is an argument, so the UI passes translated ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from llm_core.plots.charts import Line, bar_chart, line_chart, styled
from llm_core.plots.heatmaps import MAX_ANNOTATED_SIZE, difference_heatmap_of, short_label

BEFORE_COLOUR, AFTER_COLOUR = "#9aa5b1", "#1f77b4"
PERPLEXITY_COLOUR, SPEED_COLOUR = "#1f77b4", "#ff7f0e"


def size_chart(
    bars: Mapping[str, tuple[float, float]], before: str, after: str, unit: str
) -> alt.TopLevelMixin:
    """Bars side by side: label -> (before, after) in ``unit`` (e.g. MB)."""
    frame = pd.DataFrame(
        [
            {"measure": label, "model": side, "value": value, "text": f"{value:,.1f}"}
            for label, pair in bars.items()
            for side, value in zip((before, after), pair, strict=True)
        ]
    )
    return bar_chart(
        frame,
        label="measure",
        value="value",
        value_title=unit,
        group="model",
        group_colours={before: BEFORE_COLOUR, after: AFTER_COLOUR},
        text="text",
    )


def sweep_chart(
    sparsity: Sequence[float],
    perplexity: Sequence[float],
    tokens_per_s: Sequence[float],
    *,
    x_title: str,
    perplexity_title: str,
    speed_title: str,
) -> alt.TopLevelMixin:
    """Perplexity (left axis, log scale) and tokens/s (right axis) against sparsity
    (in %), with a hover rule."""
    frame = pd.DataFrame(
        {
            "sparsity": [100 * s for s in sparsity],
            "perplexity": list(perplexity),
            "tokens_per_s": list(tokens_per_s),
        }
    )
    lines = [
        Line("perplexity", perplexity_title, PERPLEXITY_COLOUR, points=True, log=True),
        Line(
            "tokens_per_s", speed_title, SPEED_COLOUR, dashed=True, points=True, value_format=",.1f"
        ),
    ]
    return line_chart(
        frame,
        "sparsity",
        lines,
        x_title=f"{x_title} (%)",
        x_format=".0f",
        own_axes=True,
        height=380,
    )


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


def head_removal_chart(
    removed_per_layer: Sequence[int], n_heads: int, *, x_title: str, y_title: str
) -> alt.TopLevelMixin:
    """Bars: heads removed in each layer (out of ``n_heads``)."""
    frame = pd.DataFrame(
        {"layer": range(len(removed_per_layer)), "removed": list(removed_per_layer)}
    )
    bars = (
        alt.Chart(frame)
        .mark_bar(color=AFTER_COLOUR, cornerRadiusEnd=2)
        .encode(
            x=alt.X("layer:O", title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("removed:Q", title=y_title, scale=alt.Scale(domain=[0, n_heads])),
            tooltip=[
                alt.Tooltip("layer:O", title=x_title),
                alt.Tooltip("removed:Q", title=y_title),
            ],
        )
    )
    return styled(bars, height=260)


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Tokens as short, visible labels (spaces shown as '·')."""
    return [short_label(token.replace(" ", "·").replace("\n", "↵") or "∅") for token in tokens]
