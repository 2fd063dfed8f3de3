"""Figures for the attention formula worked step by step (``llm_core.attention.formula``).

Plotly only, never streamlit, so a notebook can show the same pictures. Every label is
passed in (the UI translates them). Cells are placed at integer positions and named with
tick labels, so repeated tokens ("的", "的") stay separate rows instead of merging; labels
are HTML-escaped because plotly renders a subset of HTML in text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from llm_core.attention.formula import HeadSteps, RealHeadCheck, causal_mask

# The order a head is worked through: Q = XW_Q, K, V, QK^T, ÷ sqrt(d_k), mask, softmax, ·V.
STEP_NAMES = ("q", "k", "v", "scores", "scaled", "masked", "weights", "output")
MASKED_TEXT = "−∞"
MASKED_COLOUR = "#d9d9d9"
MAX_ANNOTATED_CELLS = 16  # rows or columns; beyond it numbers would overlap, so hover only
MAX_HOVER_LABELLED_CELLS = 64  # beyond it: hover shows positions, grey cells stay white (lighter)
SCORE_COLOURS = "Blues"
WEIGHT_COLOURS = "Viridis"
VALUE_COLOURS = "RdBu"


def _escaped(labels: Sequence[str]) -> list[str]:
    return [html.escape(str(label)) for label in labels]


def matrix_heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    greyed: np.ndarray | None = None,
    decimals: int = 2,
    colorscale: str = SCORE_COLOURS,
    zrange: tuple[float, float] | None = None,
    centred: bool = False,
    row_sums_label: str | None = None,
    annotate: bool | None = None,
    grey_text: bool = True,
    x_title: str = "",
    y_title: str = "",
    title: str = "",
) -> go.Figure:
    """An annotated heatmap of ``matrix`` [row, col] (rows top to bottom).

    greyed: [row, col] bool, True for cells drawn grey (a masked score, a zero weight);
    non-finite cells (-inf) are always grey and read "−∞". zrange: the colour scale's ends
    (default: the data's); centred: a diverging scale symmetric around 0. row_sums_label:
    when given, a last column with that header shows each row's sum over its finite cells.
    annotate: write the numbers in the cells (default: up to ``MAX_ANNOTATED_CELLS`` rows
    and columns; beyond that they would overlap, so only the hover box shows them);
    grey_text: write the numbers in grey cells too.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    n_rows, n_cols = matrix.shape
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(
            f"need {n_rows} row labels and {n_cols} column labels, "
            f"got {len(row_labels)} and {len(col_labels)}"
        )
    grey = ~np.isfinite(matrix)
    if greyed is not None:
        grey |= np.asarray(greyed, dtype=bool)
    n_max = max(n_rows, n_cols)
    if annotate is None:
        annotate = n_max <= MAX_ANNOTATED_CELLS
    font = {"size": 14 if n_max <= 5 else 12 if n_max <= 8 else 10 if n_max <= 12 else 8}
    shown = np.where(grey, np.nan, matrix)  # NaN cells are left to the grey trace
    finite = shown[np.isfinite(shown)]
    if zrange is None:
        zrange = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    zmin, zmax = (float(z) for z in zrange)
    if centred:
        zmax = max(abs(zmin), abs(zmax), 1e-12)
        zmin = -zmax
    rows, cols = _escaped(row_labels), _escaped(col_labels)
    trace = {"z": shown, "colorscale": colorscale, "zmin": zmin, "zmax": zmax}
    if n_max <= MAX_HOVER_LABELLED_CELLS:  # each cell's own row and column label on hover
        trace["customdata"] = np.dstack(np.meshgrid(cols, rows))  # [row, col, (col, row)]
        trace["hovertemplate"] = "%{customdata[1]} → %{customdata[0]}: %{z:.4g}<extra></extra>"
    else:  # thousands of cells: positions only, to keep the figure small
        trace["hovertemplate"] = "#%{y} → #%{x}: %{z:.4g}<extra></extra>"
    if annotate:
        trace["texttemplate"] = f"%{{z:.{decimals}f}}"
        trace["textfont"] = font
        trace["showscale"] = False
    figure = go.Figure()
    if grey.any() and n_max <= MAX_HOVER_LABELLED_CELLS:  # grey cells under the values
        figure.add_trace(
            go.Heatmap(
                z=np.where(grey, 0.0, np.nan),
                colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]],
                showscale=False,
                hoverinfo="skip",
                name="masked",
            )
        )
        for row, col in np.argwhere(grey) if annotate and grey_text else ():
            value = matrix[row, col]
            text = f"{value:.{decimals}f}" if np.isfinite(value) else MASKED_TEXT
            figure.add_annotation(
                x=col, y=row, text=text, showarrow=False, font={**font, "color": "#666"}
            )
    figure.add_trace(go.Heatmap(name="values", **trace))
    step = 1 if annotate else -(-max(n_rows, n_cols) // MAX_ANNOTATED_CELLS)  # ceil
    x_ticks, x_text = list(range(0, n_cols, step)), cols[::step]
    if row_sums_label is not None:
        sums = np.where(np.isfinite(matrix), matrix, 0.0).sum(axis=1)
        for row, total in enumerate(sums):
            figure.add_annotation(
                x=n_cols, y=row, text=f"<b>{total:.{decimals}f}</b>", showarrow=False, font=font
            )
        x_ticks, x_text = [*x_ticks, n_cols], [*x_text, html.escape(row_sums_label)]
    figure.update_xaxes(
        tickvals=x_ticks,
        ticktext=x_text,
        range=[-0.5, (n_cols if row_sums_label is not None else n_cols - 1) + 0.5],
        title=x_title,
        showgrid=False,
        zeroline=False,
    )
    figure.update_yaxes(
        tickvals=list(range(0, n_rows, step)),
        ticktext=rows[::step],
        range=[n_rows - 0.5, -0.5],  # first token on top
        title=y_title,
        showgrid=False,
        zeroline=False,
    )
    cell_px = 44 if annotate else max(1, 480 // max(n_rows, 1))
    figure.update_layout(
        title=title or None,
        height=min(640, 90 + cell_px * n_rows),
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white",
        font={"size": 14},
    )
    return figure


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
        name: matrix_heatmap(matrix, labels, dims, colorscale=VALUE_COLOURS, centred=True)
        for name, matrix in (("q", steps.q), ("k", steps.k), ("v", steps.v))
    }
    # Weights of masked cells are exactly 0: grey them like the -inf they came from.
    blocked = ~steps.mask
    return {
        **vectors,
        "scores": matrix_heatmap(steps.scores, labels, labels, **axes),
        "scaled": matrix_heatmap(steps.scaled, labels, labels, **axes),
        "masked": matrix_heatmap(steps.masked, labels, labels, **axes),
        "weights": matrix_heatmap(
            steps.weights,
            labels,
            labels,
            greyed=blocked,
            colorscale=WEIGHT_COLOURS,
            zrange=(0.0, 1.0),
            row_sums_label=texts["sum"],
            **axes,
        ),
        "output": matrix_heatmap(
            steps.output, labels, dims, colorscale=VALUE_COLOURS, centred=True
        ),
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
        "recomputed": matrix_heatmap(
            check.recomputed, labels, labels, title=titles["recomputed"], **weights
        ),
        "reported": matrix_heatmap(
            check.reported, labels, labels, title=titles["reported"], **weights
        ),
        "scaled": matrix_heatmap(
            check.scaled_scores,
            labels,
            labels,
            decimals=1,
            grey_text=False,
            title=titles["scaled"],
            **common,
        ),
        "difference": matrix_heatmap(
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
