"""Figures of a fine-tuning run: the loss curve, and attention after minus before.

Plotly only, never streamlit (a notebook shows the same figures). Titles and axis words
are arguments, so the UI passes translated ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from llm_core.plots.heatmaps import FONT_FAMILY, difference_heatmap_of

TRAIN_COLOUR, EVAL_COLOUR = "#1f77b4", "#d62728"


def loss_points(history: Sequence[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """``{"train_loss": (steps, losses), "eval_loss": (steps, losses)}`` from a job's history
    (points such as ``{"step": 3, "train_loss": 2.1}``)."""
    points: dict[str, tuple[list[int], list[float]]] = {
        "train_loss": ([], []),
        "eval_loss": ([], []),
    }
    for point in history:
        for name, (steps, losses) in points.items():
            if name in point:
                steps.append(int(point["step"]))
                losses.append(float(point[name]))
    return points


def loss_figure(
    history: Sequence[dict[str, Any]],
    *,
    total_steps: int | None = None,
    train_name: str = "training loss",
    eval_name: str = "validation loss",
    step_title: str = "step",
    loss_title: str = "loss (nats per token)",
    height: int = 340,
) -> go.Figure:
    """Training loss per step (line) and validation loss (markers); ``total_steps`` fixes
    the x range so a live chart does not rescale as it grows."""
    points = loss_points(history)
    figure = go.Figure()
    steps, losses = points["train_loss"]
    figure.add_trace(
        go.Scatter(x=steps, y=losses, name=train_name, mode="lines", line={"color": TRAIN_COLOUR})
    )
    steps, losses = points["eval_loss"]
    figure.add_trace(
        go.Scatter(
            x=steps,
            y=losses,
            name=eval_name,
            mode="lines+markers",
            line={"color": EVAL_COLOUR, "dash": "dot"},
            marker={"size": 9},
        )
    )
    figure.update_layout(
        height=height,
        font={"family": FONT_FAMILY},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12, "x": 0},
        xaxis={"title": {"text": step_title}, "range": [0, total_steps] if total_steps else None},
        yaxis={"title": {"text": loss_title}},
        hovermode="x unified",
    )
    return figure


def difference_heatmap(
    before: np.ndarray,
    after: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    query_title: str = "query (looking)",
    key_title: str = "key (looked at)",
    value_name: str = "after - before",
) -> go.Figure:
    """Heatmap of ``after - before`` for two [query, key] attention matrices of the same
    text, on a diverging scale centred on 0 (symmetric, so colours compare across cells)."""
    before, after = np.asarray(before, np.float32), np.asarray(after, np.float32)
    if before.shape != after.shape:
        raise ValueError(f"matrices differ in shape: {before.shape} vs {after.shape}")
    difference = after - before  # [query, key]; each row sums to 0
    return difference_heatmap_of(
        difference,
        labels,
        title=title,
        query_title=query_title,
        key_title=key_title,
        value_name=value_name,
    )
