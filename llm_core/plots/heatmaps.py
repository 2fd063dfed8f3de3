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
MAX_ANNOTATED_SIZE = 12
# At most this many tick labels per axis; others are skipped so labels never overlap.
MAX_TICK_LABELS = 30
MAX_LABEL_CHARS = 14
MAX_TICK_CHARS = 8  # tick labels of big matrices, where only every k-th one is shown
COLOUR_SCALE = "Blues"
MASK_COLOUR = "#eeeeee"  # what shows through the empty (causal) upper triangle
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
    """The matrix with its all-zero upper triangle as NaN, so it draws as empty."""
    z = np.array(matrix, dtype=np.float64)
    upper = np.triu(np.ones(z.shape[-2:], dtype=bool), k=1)
    if np.all(z[..., upper] == 0):
        z[..., upper] = np.nan
    return z


def tick_settings(labels: Sequence[str]) -> dict[str, Any]:
    step = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    positions = list(range(0, len(labels), step))
    chars = MAX_LABEL_CHARS if step == 1 else MAX_TICK_CHARS
    return {
        "tickmode": "array",
        "tickvals": positions,
        "ticktext": escape_labels([short_label(labels[i], chars) for i in positions]),
        # keep the cells square by shrinking the plot, not by padding the axis range
        "constrain": "domain",
    }


def hover_labels(labels: Sequence[str]) -> np.ndarray:
    """[query, key, 2] labels for the hover box (numeric axes keep repeated labels apart)."""
    shown = np.array(escape_labels(labels), dtype=object)
    n = len(shown)
    return np.stack([np.repeat(shown[:, None], n, 1), np.repeat(shown[None, :], n, 0)], -1)


# ---------------------------------------------------------------------------- figures


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
    """Heatmap of one [query, key] matrix; hover shows both labels and the weight.

    Axes are positions with the labels as tick text, so repeated tokens stay apart.
    ``mask_upper`` leaves an all-zero upper triangle empty (a causal model cannot look
    ahead). Small matrices print each value in its cell.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    n = matrix.shape[-1]
    z = mask_upper_triangle(matrix) if mask_upper else matrix.astype(np.float64)
    heatmap = go.Heatmap(
        z=z,
        x=list(range(n)),
        y=list(range(n)),
        customdata=hover_labels(labels),
        colorscale=COLOUR_SCALE,
        zmin=0.0,
        zmax=zmax if zmax is not None else max(float(matrix.max(initial=0.0)), 1e-6),
        xgap=1 if n <= MAX_ANNOTATED_SIZE else 0,
        ygap=1 if n <= MAX_ANNOTATED_SIZE else 0,
        colorbar={"title": {"text": value_name}},
        hovertemplate=(
            f"{query_title}: %{{customdata[0]}}<br>{key_title}: %{{customdata[1]}}"
            f"<br>{value_name}: %{{z:.3f}}<extra></extra>"
        ),
    )
    if n <= MAX_ANNOTATED_SIZE:
        heatmap.update(texttemplate="%{z:.2f}", textfont={"size": 14})
    figure = go.Figure(heatmap)
    side = min(600, 160 + 36 * n)  # the plot stays square, so a taller one only adds margin
    figure.update_layout(
        # the key axis (ticks and title) sits on top, like a table header; the title above it
        title={"text": title, "y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 12}},
        height=side + (140 if title else 80),
        font={"family": FONT_FAMILY},
        plot_bgcolor=MASK_COLOUR,
        margin={"l": 10, "r": 10, "t": 100 if title else 10, "b": 10},
        xaxis={
            "title": {"text": key_title},
            "side": "top",
            "showgrid": False,
            **tick_settings(labels),
        },
        yaxis={
            "title": {"text": query_title},
            "autorange": "reversed",
            "showgrid": False,
            "scaleanchor": "x",
            **tick_settings(labels),
        },
    )
    small = n <= MAX_ANNOTATED_SIZE  # few labels: large enough to read on a projector
    figure.update_xaxes(tickangle=0 if small else -90, tickfont={"size": 16 if small else 11})
    figure.update_yaxes(tickfont={"size": 16 if small else 11})
    return figure


DIFFERENCE_SCALE = "RdBu_r"  # red: more attention than the reference, blue: less, white: same


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
    figure = attention_heatmap(
        difference,
        labels,
        title=title,
        query_title=query_title,
        key_title=key_title,
        value_name=value_name,
    )
    limit = max(float(np.abs(difference).max(initial=0.0)), 1e-6)
    figure.update_traces(colorscale=DIFFERENCE_SCALE, zmin=-limit, zmax=limit, zmid=0.0)
    return figure


def figure_html(figure: go.Figure) -> str:
    """A standalone HTML page of ``figure`` with plotly.js embedded, so it opens offline."""
    return figure.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
