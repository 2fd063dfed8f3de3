"""Figures for the attention formula worked step by step (``llm_core.attention.formula``).

Plotly only, never streamlit, so a notebook can show the same pictures. Every label is
passed in (the UI translates them). Each figure is drawn by the one heatmap builder
(``llm_core.plots.heatmaps.heatmap``): cells at integer positions named by tick labels
(repeated tokens stay separate rows), labels HTML-escaped, masked cells in one colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from llm_core.attention.formula import HeadSteps, RealHeadCheck, causal_mask
from llm_core.plots.heatmaps import heatmap

# The order a head is worked through: Q = XW_Q, K, V, QK^T, ÷ sqrt(d_k), mask, softmax, ·V.
STEP_NAMES = ("q", "k", "v", "scores", "scaled", "masked", "weights", "output")
SCORE_COLOURS = "Blues"
WEIGHT_COLOURS = "Viridis"
VALUE_COLOURS = "RdBu"


def head_step_figures(
    steps: HeadSteps,
    labels: Sequence[str],
    texts: Mapping[str, str] | None = None,
) -> dict[str, go.Figure]:
    """One annotated heatmap per name in ``STEP_NAMES`` for a toy head.

    labels: one per token (rows, and the key columns). texts: optional "dim" template for
    the dimension columns ("d{index}" by default, index from 1), "query" and "key" axis
    titles, and "sum" (the row-sum column header of the weights).
    """
    texts = {"dim": "d{index}", "query": "", "key": "", "sum": "Σ", **(texts or {})}
    d_k = steps.q.shape[1]
    dims = [texts["dim"].format(index=i + 1) for i in range(d_k)]
    axes = {"x_title": texts["key"], "y_title": texts["query"]}
    vectors = {
        name: heatmap(matrix, labels, dims, colorscale=VALUE_COLOURS, centred=True)
        for name, matrix in (("q", steps.q), ("k", steps.k), ("v", steps.v))
    }
    # Weights of masked cells are exactly 0: grey them like the -inf they came from.
    blocked = ~steps.mask
    return {
        **vectors,
        "scores": heatmap(steps.scores, labels, labels, **axes),
        "scaled": heatmap(steps.scaled, labels, labels, **axes),
        "masked": heatmap(steps.masked, labels, labels, **axes),
        "weights": heatmap(
            steps.weights,
            labels,
            labels,
            greyed=blocked,
            colorscale=WEIGHT_COLOURS,
            zrange=(0.0, 1.0),
            row_sums_label=texts["sum"],
            **axes,
        ),
        "output": heatmap(steps.output, labels, dims, colorscale=VALUE_COLOURS, centred=True),
    }


# Two rows of two: the comparison side by side, then where it comes from and how close it is.
REAL_HEAD_FIGURES = ("recomputed", "reported", "scaled", "difference")
DIFFERENCE_COLOURS = "Reds"


def real_head_figures(
    check: RealHeadCheck,
    labels: Sequence[str],
    titles: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> dict[str, go.Figure]:
    """Heatmaps of one real head, keyed by ``REAL_HEAD_FIGURES``: the softmax recomputed by
    hand, the model's own weights, the scaled scores QK^T/sqrt(d_k) and |recomputed -
    reported|. labels: one per token. titles: one per key; texts: "query", "key"."""
    titles = {**{name: name for name in REAL_HEAD_FIGURES}, **(titles or {})}
    texts = {"query": "", "key": "", **(texts or {})}
    common = {"x_title": texts["key"], "y_title": texts["query"]}
    weights = {
        **common,
        "greyed": ~causal_mask(len(labels)),  # zero weights above the diagonal
        "grey_text": False,
        "colorscale": WEIGHT_COLOURS,
        "zrange": (0.0, 1.0),
    }
    difference = np.abs(check.recomputed - check.reported)
    return {
        "recomputed": heatmap(
            check.recomputed, labels, labels, title=titles["recomputed"], **weights
        ),
        "reported": heatmap(check.reported, labels, labels, title=titles["reported"], **weights),
        "scaled": heatmap(
            check.scaled_scores,
            labels,
            labels,
            decimals=1,
            grey_text=False,
            title=titles["scaled"],
            **common,
        ),
        "difference": heatmap(
            difference,
            labels,
            labels,
            annotate=False,
            greyed=~causal_mask(len(labels)),
            colorscale=DIFFERENCE_COLOURS,
            zrange=(0.0, max(float(difference.max()), 1e-12)),
            title=titles["difference"],
            **common,
        ).update_traces(colorbar_tickformat=".0e", selector={"name": "values"}),
    }
