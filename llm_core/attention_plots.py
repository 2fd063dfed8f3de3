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
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llm_core.attention import aggregate

# Cells per side of a heatmap; bigger matrices are pooled into contiguous blocks.
MAX_HEATMAP_SIZE = 256
# Cells per side of each small multiple in a head grid.
MAX_GRID_SIZE = 64
# Up to this many cells per side, each cell also prints its value.
MAX_ANNOTATED_SIZE = 12
# The text-flow view draws one line per (query, key) pair: readable up to this many units.
MAX_FLOW_SIZE = 64
# At most this many tick labels per axis; others are skipped so labels never overlap.
MAX_TICK_LABELS = 30
MAX_LABEL_CHARS = 14
MAX_TICK_CHARS = 8  # tick labels of big matrices, where only every k-th one is shown
# Lines lighter than this are not drawn in the text-flow view (they would be invisible).
MIN_FLOW_WEIGHT = 0.02
FLOW_LEVELS = 10  # line opacities are drawn in this many steps (one plotly trace each)
FLOW_COLOUR = "31, 119, 180"
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


def _escaped(labels: Sequence[str]) -> list[str]:
    return [html.escape(label, quote=False) for label in labels]


def _masked(matrix: np.ndarray) -> np.ndarray:
    """The matrix with its all-zero upper triangle as NaN, so it draws as empty."""
    z = np.array(matrix, dtype=np.float64)
    upper = np.triu(np.ones(z.shape[-2:], dtype=bool), k=1)
    if np.all(z[..., upper] == 0):
        z[..., upper] = np.nan
    return z


def _ticks(labels: Sequence[str]) -> dict[str, Any]:
    step = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    positions = list(range(0, len(labels), step))
    chars = MAX_LABEL_CHARS if step == 1 else MAX_TICK_CHARS
    return {
        "tickmode": "array",
        "tickvals": positions,
        "ticktext": _escaped([short_label(labels[i], chars) for i in positions]),
        # keep the cells square by shrinking the plot, not by padding the axis range
        "constrain": "domain",
    }


def _hover_labels(labels: Sequence[str]) -> np.ndarray:
    """[query, key, 2] labels for the hover box (numeric axes keep repeated labels apart)."""
    shown = np.array(_escaped(labels), dtype=object)
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
    z = _masked(matrix) if mask_upper else matrix.astype(np.float64)
    heatmap = go.Heatmap(
        z=z,
        x=list(range(n)),
        y=list(range(n)),
        customdata=_hover_labels(labels),
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
        xaxis={"title": {"text": key_title}, "side": "top", "showgrid": False, **_ticks(labels)},
        yaxis={
            "title": {"text": query_title},
            "autorange": "reversed",
            "showgrid": False,
            "scaleanchor": "x",
            **_ticks(labels),
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
    """
    weights = np.asarray(weights, dtype=np.float32)
    n_heads, n = weights.shape[0], weights.shape[-1]
    if len(head_titles) != n_heads:
        raise ValueError(f"{len(head_titles)} titles for {n_heads} heads")
    rows = math.ceil(n_heads / columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=list(head_titles),
        horizontal_spacing=0.04,
        vertical_spacing=0.3 / rows,
    )
    shown = _escaped(labels)
    for head in range(n_heads):
        z = _masked(weights[head]) if mask_upper else weights[head].astype(np.float64)
        figure.add_trace(
            go.Heatmap(
                z=z,
                coloraxis="coloraxis",
                customdata=_hover_labels(labels),
                hovertemplate=(
                    f"{html.escape(head_titles[head])}<br>%{{customdata[0]}} → "
                    f"%{{customdata[1]}}<br>{value_name}: %{{z:.3f}}<extra></extra>"
                ),
            ),
            row=head // columns + 1,
            col=head % columns + 1,
        )
    tick_args: dict[str, Any] = (
        {"tickmode": "array", "tickvals": list(range(n)), "ticktext": shown, "tickangle": 0}
        if n <= MAX_ANNOTATED_SIZE
        else {"showticklabels": False}
    )
    figure.update_xaxes(showgrid=False, **tick_args)
    figure.update_yaxes(showgrid=False, autorange="reversed", **tick_args)
    figure.update_layout(
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
    return figure


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
    shown = _escaped([short_label(label) for label in labels])
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


# ---------------------------------------------------------------------------- export


def matrix_csv(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """CSV with a header row of key labels and one row per query label."""
    import csv
    import io

    matrix = np.asarray(matrix, dtype=np.float64)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query \\ key", *labels])
    for label, row in zip(labels, matrix, strict=True):
        writer.writerow([label, *(f"{value:.6g}" for value in row)])
    return out.getvalue()


def matrix_json(matrix: np.ndarray, labels: Sequence[str], **about: Any) -> str:
    """JSON: ``about`` (model, text, layer, ...) plus ``labels`` and ``matrix`` [query][key]."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return json.dumps(
        {**about, "labels": list(labels), "matrix": np.round(matrix, 6).tolist()},
        ensure_ascii=False,
        indent=1,
    )


def figure_html(figure: go.Figure) -> str:
    """A standalone HTML page of ``figure`` with plotly.js embedded, so it opens offline."""
    return figure.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
