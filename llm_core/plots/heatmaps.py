"""Figures of attention weights: heatmap, head grid, layers x heads overview, text flow.

Plotly only, never streamlit, so a notebook shows the same pictures as the app. Every
title and axis word is an argument, so the UI passes translated ones. Matrices are
``[query_pos, key_pos]`` (or groups of positions): row = the token that looks, column =
the token it looks at. Token text is HTML-escaped before plotly sees it, because plotly
reads a little HTML in labels ("<br>", "<b>") and token text can hold anything.

Size: a plotly heatmap sends one number per cell to the browser and hover labels with
it, so a 2,048 x 2,048 token matrix (4 M cells) is too heavy for a page.
``fit_matrix`` pools larger matrices into at most ``MAX_HEATMAP_SIZE`` contiguous blocks
per side with ``attention.aggregate`` (sum over key blocks, mean over query blocks), so
rows still sum to 1 and the picture stays honest; the UI says when it did.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from llm_core.attention.reductions import aggregate

# Cells per side of a heatmap; bigger matrices are pooled into contiguous blocks.
MAX_HEATMAP_SIZE = 256
# Up to this many cells per side, each cell also prints its value.
MAX_ANNOTATED_SIZE = 16
MAX_FIGURE_HEIGHT = 640
# Up to this many cells per side, each cell carries its own labels for the hover box.
MAX_HOVER_LABELLED_SIZE = 64
# At most this many tick labels per axis; others are skipped so labels never overlap.
MAX_TICK_LABELS = 30
MAX_LABEL_CHARS = 14
MAX_TICK_CHARS = 8  # tick labels of big matrices, where only every k-th one is shown
COLOUR_SCALE = "Blues"
DIFFERENCE_SCALE = "RdBu_r"  # red: more attention than the reference, blue: less, white: same
MASK_COLOUR = "#e4e4e4"  # masked cells (the causal upper triangle, a -inf score) show this
MASKED_TEXT = "−∞"
# Plotly draws text with the browser's fonts: name CJK-capable ones first.
FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)


# ---------------------------------------------------------------------------- preparation


def short_label(label: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """``label`` cut to ``max_chars`` characters with an ellipsis."""
    return label if len(label) <= max_chars else label[: max_chars - 1] + "…"


def fit_matrix(
    matrix: np.ndarray, labels: Sequence[str], max_size: int = MAX_HEATMAP_SIZE
) -> tuple[np.ndarray, list[str], int]:
    """Pool ``matrix`` [query, key] into at most ``max_size`` blocks per side.

    Returns (pooled matrix, one label per block, block size); block size 1 means the
    matrix is returned as is. A block's label joins the labels it covers.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    n = matrix.shape[-1]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a matrix with {n} columns")
    if n <= max_size:
        return matrix, list(labels), 1
    block = math.ceil(n / max_size)
    groups = [list(range(start, min(start + block, n))) for start in range(0, n, block)]
    pooled_labels = [short_label("".join(labels[g[0] : g[-1] + 1])) for g in groups]
    return aggregate(matrix, groups), pooled_labels, block


def escape_labels(labels: Sequence[str]) -> list[str]:
    return [html.escape(label, quote=False) for label in labels]


def mask_upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """The matrix with its all-zero upper triangle as NaN, so it shows the mask colour."""
    z = np.array(matrix, dtype=np.float64)
    upper = np.triu(np.ones(z.shape[-2:], dtype=bool), k=1)
    if np.all(z[..., upper] == 0):
        z[..., upper] = np.nan
    return z


def tick_settings(labels: Sequence[str], categories: Sequence[str] | None = None) -> dict[str, Any]:
    """At most ``MAX_TICK_LABELS`` short tick labels; ``categories``: the axis's values
    when it is a category axis (else the positions 0..n-1)."""
    step = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    positions = list(range(0, len(labels), step))
    chars = MAX_LABEL_CHARS if step == 1 else MAX_TICK_CHARS
    return {
        "tickmode": "array",
        "tickvals": positions if categories is None else [categories[i] for i in positions],
        "ticktext": escape_labels([short_label(labels[i], chars) for i in positions]),
        # keep the cells square by shrinking the plot, not by padding the axis range
        "constrain": "domain",
    }


def _categories(labels: Sequence[str]) -> list[str]:
    """Unique axis values "position: label" (repeated tokens stay apart), escaped."""
    return [f"{i}: {label}" for i, label in enumerate(escape_labels(labels))]


def hover_labels(row_labels: Sequence[str], col_labels: Sequence[str] | None = None) -> np.ndarray:
    """[row, col, 2] labels (row's, column's) for the hover box; columns default to the
    rows' (a [query, key] matrix). Numeric axes keep repeated labels apart."""
    rows = np.array(escape_labels(row_labels), dtype=object)
    cols = rows if col_labels is None else np.array(escape_labels(col_labels), dtype=object)
    shape = (len(rows), len(cols))
    return np.stack([np.broadcast_to(rows[:, None], shape), np.broadcast_to(cols, shape)], -1)


# ---------------------------------------------------------------------------- figures


def heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    value_name: str = "value",
    colorscale: str = COLOUR_SCALE,
    zrange: tuple[float, float] | None = None,
    centred: bool = False,
    greyed: np.ndarray | None = None,
    grey_text: bool = True,
    annotate: bool | None = None,
    decimals: int = 2,
    row_sums_label: str | None = None,
    square: bool = False,
) -> go.Figure:
    """The one heatmap builder: ``matrix`` [row, col], rows top to bottom, the column
    axis on top like a table header. Attention, the formula's steps, fine-tuning and
    compression differences all draw through it.

    ``col_labels`` default to ``row_labels`` (a [query, key] matrix). ``square`` keeps
    the cells square (a main view; in a narrow column, leave it off to fill the width).
    Axes are positions with labels as tick text, so repeated tokens stay apart.
    ``greyed`` [row, col] bool cells, and every non-finite one (-inf), show the mask
    colour; with ``grey_text`` their values are printed too ("−∞"). ``zrange``: the colour
    scale's ends (default: the finite data's); ``centred``: symmetric around 0.
    ``annotate``: print each value in its cell (default: up to ``MAX_ANNOTATED_SIZE`` per
    side). ``row_sums_label``: a last column with that header holding each row's sum.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    col_labels = row_labels if col_labels is None else col_labels
    n_rows, n_cols = matrix.shape
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(
            f"need {n_rows} row labels and {n_cols} column labels, "
            f"got {len(row_labels)} and {len(col_labels)}"
        )
    grey = ~np.isfinite(matrix)
    if greyed is not None:
        grey |= np.asarray(greyed, dtype=bool)
    side = max(n_rows, n_cols)
    annotate = side <= MAX_ANNOTATED_SIZE if annotate is None else annotate
    z = np.where(grey, np.nan, matrix)  # NaN cells let the mask colour show through
    finite = z[np.isfinite(z)]
    if zrange is None:
        zrange = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    zmin, zmax = (float(value) for value in zrange)
    if centred:
        zmax = max(abs(zmin), abs(zmax), 1e-12)
        zmin = -zmax
    # Up to MAX_HOVER_LABELLED_SIZE per side each cell carries its labels for the hover
    # box; beyond, n x n labels would weigh megabytes (5 MB at 256 x 256), so the axes
    # become categories named "position: label" and the hover reads those (2n strings).
    labelled = side <= MAX_HOVER_LABELLED_SIZE
    xs = list(range(n_cols)) if labelled else _categories(col_labels)
    ys = list(range(n_rows)) if labelled else _categories(row_labels)
    trace = go.Heatmap(
        z=z.astype(np.float32),  # half the bytes of float64 on the wire
        x=xs,
        y=ys,
        name="values",
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        xgap=1 if annotate else 0,
        ygap=1 if annotate else 0,
        colorbar={"title": {"text": value_name}},
        # a narrow figure that prints its values needs the width more than a colour bar
        showscale=square or not annotate,
    )
    row_name, col_name, value = y_title or "row", x_title or "column", value_name
    if labelled:
        trace.update(
            customdata=hover_labels(row_labels, col_labels),
            hovertemplate=f"{row_name}: %{{customdata[0]}}<br>{col_name}: %{{customdata[1]}}"
            f"<br>{value}: %{{z:.4g}}<extra></extra>",
        )
    else:
        trace.update(
            hovertemplate=f"{row_name}: %{{y}}<br>{col_name}: %{{x}}"
            f"<br>{value}: %{{z:.4g}}<extra></extra>"
        )
    font = {"size": 16 if side <= 5 else 14 if side <= 8 else 12 if side <= 12 else 10}
    if annotate:
        trace.update(texttemplate=f"%{{z:.{decimals}f}}", textfont=font)
    figure = go.Figure(trace)
    if annotate and grey_text:
        for row, col in np.argwhere(grey):
            value = matrix[row, col]
            text = f"{value:.{decimals}f}" if np.isfinite(value) else MASKED_TEXT
            figure.add_annotation(
                x=col, y=row, text=text, showarrow=False, font={**font, "color": "#666"}
            )
    x_ticks = tick_settings(col_labels, None if labelled else xs)
    if row_sums_label is not None:
        sums = np.where(np.isfinite(matrix), matrix, 0.0).sum(axis=1)
        for row, total in enumerate(sums):
            figure.add_annotation(
                x=n_cols, y=row, text=f"<b>{total:.{decimals}f}</b>", showarrow=False, font=font
            )
        x_ticks["tickvals"] = [*x_ticks["tickvals"], n_cols]
        x_ticks["ticktext"] = [*x_ticks["ticktext"], html.escape(row_sums_label)]
        # the sums column is not a cell: cover the mask colour behind it
        figure.add_shape(
            type="rect", x0=n_cols - 0.5, x1=n_cols + 0.5, y0=-0.5, y1=n_rows - 0.5,
            fillcolor="white", line={"width": 0}, layer="below",
        )  # fmt: skip
    cell = 56 if annotate else max(2, 480 // n_rows)
    figure.update_layout(
        title={"text": title, "y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 12}},
        height=min(MAX_FIGURE_HEIGHT, 100 + cell * n_rows + (60 if title else 0)),
        font={"family": FONT_FAMILY},
        plot_bgcolor=MASK_COLOUR,
        margin={"l": 10, "r": 10, "t": 70 if title else 10, "b": 10},
        xaxis={
            "title": {"text": x_title},
            "side": "top",
            "showgrid": False,
            "zeroline": False,
            "range": [-0.5, n_cols - 0.5 + (row_sums_label is not None)],
            **x_ticks,
        },
        yaxis={
            "title": {"text": y_title},
            "range": [n_rows - 0.5, -0.5],  # first row on top
            "showgrid": False,
            "zeroline": False,
            **tick_settings(row_labels, None if labelled else ys),
        },
    )
    if square:
        figure.update_yaxes(scaleanchor="x")
    small = side <= MAX_ANNOTATED_SIZE  # few labels: large enough to read on a projector
    figure.update_xaxes(tickangle=0 if small else -90, tickfont={"size": 16 if small else 11})
    figure.update_yaxes(tickfont={"size": 16 if small else 11})
    return figure


def attention_heatmap(
    matrix: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    query_title: str = "query (looking)",
    key_title: str = "key (looked at)",
    value_name: str = "weight",
    mask_upper: bool = True,
    zmax: float | None = None,
) -> go.Figure:
    """Heatmap of one attention matrix [query, key]; hover shows both labels and the weight.

    ``mask_upper`` leaves an all-zero upper triangle empty (a causal model cannot look
    ahead). Small matrices print each value in its cell.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    upper = np.triu(np.ones(matrix.shape, dtype=bool), k=1)
    greyed = upper if mask_upper and np.all(matrix[upper] == 0) else None
    return heatmap(
        matrix,
        labels,
        title=title,
        x_title=key_title,
        y_title=query_title,
        value_name=value_name,
        zrange=(0.0, zmax if zmax is not None else max(float(matrix.max(initial=0.0)), 1e-6)),
        greyed=greyed,
        grey_text=False,
        square=True,
    )


def difference_heatmap_of(
    difference: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    query_title: str = "query (looking)",
    key_title: str = "key (looked at)",
    value_name: str = "difference",
) -> go.Figure:
    """Heatmap of a difference of two attention matrices [query, key] of the same text,
    on a diverging scale centred on 0 and symmetric, so colours compare across cells."""
    difference = np.asarray(difference, dtype=np.float64)
    upper = np.triu(np.ones(difference.shape, dtype=bool), k=1)
    figure = heatmap(
        difference,
        labels,
        title=title,
        x_title=key_title,
        y_title=query_title,
        value_name=value_name,
        colorscale=DIFFERENCE_SCALE,
        centred=True,
        greyed=upper if np.all(difference[upper] == 0) else None,
        grey_text=False,
        square=True,
    )
    return figure.update_traces(zmid=0.0)


def figure_html(figure: go.Figure) -> str:
    """A standalone HTML page of ``figure`` with plotly.js embedded, so it opens offline."""
    return figure.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
