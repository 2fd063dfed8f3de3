"""Figures of the interpret package: attribution bars, the attention the last position
pays beside them, activation patching's layers x positions heatmap, and two models'
surprisal side by side. Every word is an argument (the UI passes translated ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from llm_core.plots.charts import bar_chart
from llm_core.plots.heatmaps import DIFFERENCE_SCALE, heatmap

POSITIVE_COLOUR, NEGATIVE_COLOUR = "#d62728", "#2166ac"  # the chips' two hues
ATTENTION_COLOUR = "#3182bd"
MODEL_COLOURS = ("#9ecae1", "#fd8d3c")


def _unique(labels: Sequence[str]) -> list[str]:
    """Bar labels made distinct ("的", "的 (2)"): a chart's category axis merges repeats."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def signed_chart(
    labels: Sequence[str], scores: Sequence[float], value_title: str
) -> alt.TopLevelMixin:
    """Horizontal bars of signed values (an attribution, a difference), red for positive
    and blue for negative, in text order."""
    values = np.asarray(scores, dtype=np.float64)
    colours = np.where(values >= 0, POSITIVE_COLOUR, NEGATIVE_COLOUR)
    return _bars(labels, values, colours, [f"{v:+.2f}" for v in values], value_title, "+.3f")


def attention_share_chart(
    labels: Sequence[str], attention: Sequence[float], value_title: str
) -> alt.TopLevelMixin:
    """Horizontal bars of the attention weight each group receives (0..1)."""
    values = np.asarray(attention, dtype=np.float64)
    texts = [f"{v:.1%}" for v in values]
    return _bars(labels, values, ATTENTION_COLOUR, texts, value_title, ".3f", axis_format="%")


def _bars(
    labels: Sequence[str],
    values: np.ndarray,
    colours: Any,
    texts: list[str],
    value_title: str,
    value_format: str,
    axis_format: str | None = None,
) -> alt.TopLevelMixin:
    frame = pd.DataFrame(
        {"label": _unique(labels), "score": values, "colour": colours, "text": texts}
    )
    return bar_chart(
        frame,
        label="label",
        value="score",
        value_title=value_title,
        colour="colour",
        text="text",
        value_format=value_format,
        axis_format=axis_format,
    )


def patching_heatmap(
    effect: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    layer_title: str = "layer",
    position_title: str = "position",
    value_name: str = "effect",
) -> go.Figure:
    """[layer, position] normalized effects, layer 0 at the top, on a diverging scale
    centred on 0 and reaching at least ±1 (1 = the clean answer fully restored)."""
    effect = np.asarray(effect, dtype=np.float64)
    top = max(1.0, float(np.abs(effect).max()) if effect.size else 1.0)
    figure = heatmap(
        effect,
        [str(layer) for layer in range(effect.shape[0])],
        list(labels),
        title=title,
        x_title=position_title,
        y_title=layer_title,
        value_name=value_name,
        colorscale=DIFFERENCE_SCALE,
        zrange=(-top, top),
        annotate=False,
    )
    return figure.update_traces(zmid=0.0)


def surprisal_pair_chart(
    labels: Sequence[str],
    surprisal_a: Sequence[float],
    surprisal_b: Sequence[float],
    names: tuple[str, str],
    value_title: str,
) -> alt.TopLevelMixin:
    """Each unit's surprisal under both models (``names``, distinct: the legend), two
    bars side by side."""
    units = _unique(labels)
    frame = pd.DataFrame(
        {
            "label": units * 2,
            "model": [names[0]] * len(units) + [names[1]] * len(units),
            "nats": np.concatenate([np.asarray(surprisal_a), np.asarray(surprisal_b)]).astype(
                float
            ),
        }
    )
    if names[0] == names[1]:
        raise ValueError("The two models need distinct names for the legend.")
    colours = dict(zip(names, MODEL_COLOURS, strict=True))
    return bar_chart(
        frame,
        label="label",
        value="nats",
        value_title=value_title,
        group="model",
        group_colours=colours,
        value_format=".2f",
    )
