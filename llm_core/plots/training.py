"""Figures of a fine-tuning run: the loss curve (altair) and attention after minus
before (plotly, the shared heatmap).

Never streamlit (a notebook shows the same figures). Titles and axis words are
arguments, so the UI passes translated ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from llm_core.plots.charts import Line, line_chart
from llm_core.plots.heatmaps import difference_heatmap_of

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


def loss_chart(
    history: Sequence[dict[str, Any]],
    *,
    total_steps: int | None = None,
    train_name: str = "training loss",
    eval_name: str = "validation loss",
    step_title: str = "step",
    loss_title: str = "loss (nats per token)",
    height: int = 340,
) -> alt.TopLevelMixin:
    """Training loss per step (line) and validation loss (dashed, with points), with a
    hover rule; ``total_steps`` fixes the x range so a live chart does not rescale."""
    points = loss_points(history)
    frame = pd.DataFrame({"step": pd.Series(dtype="int64")})
    for name, (steps, losses) in points.items():
        frame = frame.merge(pd.DataFrame({"step": steps, name: losses}), on="step", how="outer")
    for name in points:  # a history without one kind still gets its (empty) column
        if name not in frame:
            frame[name] = pd.Series(dtype="float64")
    lines = [
        Line("train_loss", train_name, TRAIN_COLOUR),
        Line("eval_loss", eval_name, EVAL_COLOUR, dashed=True, points=True),
    ]
    return line_chart(
        frame.sort_values("step"),
        "step",
        lines,
        x_title=step_title,
        y_title=loss_title,
        x_domain=(0, total_steps) if total_steps else None,
        x_step=1,
        height=height,
    )


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
