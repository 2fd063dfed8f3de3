"""Figures of generation, surprisal and the logit lens (plotly and altair, never streamlit,
so a notebook shows the same figures).

- ``top_k_figure``: the candidates of one step, before and after the sampling filters.
- ``context_attention_figure``: where one generated token looked, per context position.
- ``surprisal_chart``: -log p of every token of a text (altair bars with a hover rule).
- ``logit_lens_figure``: layers x rank, each cell a token and its probability (heatmap).

Every title and axis word is an argument, so the UI passes translated ones. Token text is
HTML-escaped (plotly reads a little HTML in labels) and its whitespace made visible.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from llm_core.generation.sampling import TokenProb
from llm_core.plots.heatmaps import FONT_FAMILY, MAX_TICK_LABELS, short_label

BEFORE_COLOUR = "#9ecae1"
AFTER_COLOUR = "#fd8d3c"
HEAD_COLOUR = "#3182bd"
MEAN_COLOUR = "#bdbdbd"
SURPRISAL_SCHEME = "orangered"  # Vega's sequential scheme, as plotly's OrRd was
RULE_COLOUR = "#888888"  # the hover rule and light grid of the app's altair charts
GRID_COLOUR = "#e6e6e6"
LENS_SCALE = "Blues"
WHITESPACE_MARKS = str.maketrans({" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"})
MAX_LENS_LABEL_CHARS = 10


def token_label(text: str, max_chars: int = 14) -> str:
    """A token as an axis label: whitespace visible, shortened, HTML-escaped."""
    shown = text.translate(WHITESPACE_MARKS) if text else "∅"
    return html.escape(short_label(shown, max_chars), quote=False)


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(_frame(title, height))
    return figure


def _frame(title: str, height: int) -> dict[str, Any]:
    """The layout every figure here shares: title, height, font, margins."""
    return {
        "title": {"text": html.escape(title, quote=False)} if title else {},
        "height": height,
        "font": {"family": FONT_FAMILY},
        "margin": {"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
    }


def top_k_figure(
    top_before: Sequence[TokenProb],
    top_after: Sequence[TokenProb],
    chosen_id: int,
    *,
    title: str = "",
    before_name: str = "model (before filters)",
    after_name: str = "sampled from (after filters)",
    prob_title: str = "probability",
    chosen_name: str = "chosen",
) -> go.Figure:
    """Horizontal bars, one row per candidate token (most likely on top), two bars each:
    its probability before the filters and after them (0 when filtered out). The chosen
    token's label is marked. Rows: the ``top_before`` tokens, then any kept token that
    was not among them."""
    rows = list(top_before) + [c for c in top_after if c.token_id not in _ids(top_before)]
    after = {c.token_id: c.prob for c in top_after}
    before = {c.token_id: c.prob for c in top_before}
    labels = [
        f"{token_label(c.shown)} ({c.token_id})"
        + (f" ◀ {html.escape(chosen_name)}" if c.token_id == chosen_id else "")
        for c in rows
    ]
    y = list(range(len(rows)))
    bars = [
        go.Bar(
            y=y,
            x=values,
            name=html.escape(name),
            orientation="h",
            marker_color=colour,
            text=[f"{v:.1%}" for v in values],
            textposition="outside",
            customdata=labels,
            hovertemplate="%{customdata}: %{x:.4f}<extra>%{fullData.name}</extra>",
        )
        for name, values, colour in (
            (before_name, [before.get(c.token_id, 0.0) for c in rows], BEFORE_COLOUR),
            (after_name, [after.get(c.token_id, 0.0) for c in rows], AFTER_COLOUR),
        )
    ]
    layout = {
        "barmode": "group",
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        "xaxis": {"title": {"text": html.escape(prob_title)}, "range": [0, 1.15]},
        "yaxis": {
            "tickmode": "array",
            "tickvals": y,
            "ticktext": labels,
            "autorange": "reversed",
            "tickfont": {"size": 14},
        },
        **_frame(title, 140 + 44 * len(rows)),
    }
    return go.Figure(data=bars, layout=layout)  # built at once: plotly validates once


def _ids(candidates: Sequence[TokenProb]) -> set[int]:
    return {c.token_id for c in candidates}


def context_attention_figure(
    labels: Sequence[str],
    head_weights: np.ndarray,
    mean_weights: np.ndarray,
    *,
    title: str = "",
    head_name: str = "head",
    mean_name: str = "mean over heads",
    key_title: str = "context (looked at)",
    value_name: str = "attention",
) -> go.Figure:
    """Two bars per context position: one head's weight and the mean over heads.

    ``head_weights``, ``mean_weights``: [key_pos], each summing to 1; ``labels``: one per
    key position. Positions are the x axis (labels as ticks), so repeated tokens stay apart.
    """
    head_weights, mean_weights = np.asarray(head_weights), np.asarray(mean_weights)
    if not len(labels) == head_weights.shape[-1] == mean_weights.shape[-1]:
        raise ValueError(f"{len(labels)} labels for {head_weights.shape[-1]} weights")
    shown = [token_label(label) for label in labels]
    x = list(range(len(shown)))
    step = max(1, -(-len(shown) // MAX_TICK_LABELS))
    bars = [
        go.Bar(
            x=x,
            y=values.astype(float),
            name=html.escape(name),
            marker_color=colour,
            customdata=shown,
            hovertemplate="%{x}: %{customdata}<br>%{y:.3f}<extra>%{fullData.name}</extra>",
        )
        for name, values, colour in (
            (head_name, head_weights, HEAD_COLOUR),
            (mean_name, mean_weights, MEAN_COLOUR),
        )
    ]
    layout = {
        "barmode": "group",
        "bargap": 0.15,
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "yaxis": {"title": {"text": html.escape(value_name)}, "rangemode": "tozero"},
        "xaxis": {
            "title": {"text": html.escape(key_title)},
            "tickmode": "array",
            "tickvals": x[::step],
            "ticktext": shown[::step],
            "tickangle": -60 if len(shown) > 12 else 0,
        },
        **_frame(title, 380),
    }
    return go.Figure(data=bars, layout=layout)


def surprisal_chart(
    tokens: Sequence[str],
    nll: np.ndarray,
    *,
    token_title: str = "token",
    value_name: str = "surprisal −log p (nats)",
    prob_name: str = "p",
    height: int = 320,
) -> alt.TopLevelMixin:
    """An altair bar per predicted token (``tokens[1:]``, as ``nll`` has one entry fewer):
    height and colour the surprisal -log p(x_i | x_<i). The pointer's bar gets a rule and
    a tooltip (position, token, surprisal, p). Positions are the x axis, labelled by
    their tokens, so repeated tokens stay apart."""
    nll = np.asarray(nll, dtype=float)
    if len(tokens) != nll.shape[0] + 1:
        raise ValueError(f"{len(tokens)} tokens need {len(tokens) - 1} surprisals, not {len(nll)}")
    shown = [_chart_label(token) for token in tokens[1:]]
    frame = pd.DataFrame(
        {"position": range(1, len(tokens)), "token": shown, "nll": nll, "p": np.exp(-nll)}
    )
    step = max(1, -(-len(shown) // MAX_TICK_LABELS))
    # Vega reads the tick text from this list by position (a JSON array is a Vega literal).
    ticks = json.dumps(shown)
    x = alt.X(
        "position:O",
        title=token_title,
        axis=alt.Axis(
            labelExpr=f"datum.value % {step} == 1 % {step} ? {ticks}[datum.value - 1] : ''",
            labelAngle=-60 if len(shown) > 12 else 0,
            labelFontSize=14 if len(shown) <= 12 else 11,
        ),
    )
    nearest = alt.selection_point(
        fields=["position"], nearest=True, on="pointerover", empty=False, clear="pointerout"
    )
    tooltip = [
        alt.Tooltip("position:O", title="#"),
        alt.Tooltip("token:N", title=token_title),
        alt.Tooltip("nll:Q", title=value_name, format=".3f"),
        alt.Tooltip("p:Q", title=prob_name, format=".2%"),
    ]
    colour = alt.Color("nll:Q", scale=alt.Scale(scheme=SURPRISAL_SCHEME, domainMin=0), legend=None)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(x=x, y=alt.Y("nll:Q", title=value_name), color=colour, tooltip=tooltip)
        .add_params(nearest)
    )
    rule = (
        alt.Chart(frame)
        .mark_rule(color=RULE_COLOUR, strokeWidth=1.5)
        .encode(x=x, tooltip=tooltip)
        .transform_filter(nearest)
    )
    return (
        alt.layer(bars, rule)
        .properties(height=height, width="container")
        .configure(font=FONT_FAMILY)
        .configure_axis(gridColor=GRID_COLOUR, labelFontSize=12, titleFontSize=13)
        .configure_view(strokeWidth=0)
    )


def _chart_label(text: str, max_chars: int = 14) -> str:
    """A token as chart text (Vega draws plain text: visible whitespace, no escaping)."""
    return short_label(text.translate(WHITESPACE_MARKS) if text else "∅", max_chars)


def logit_lens_figure(
    top_tokens: Sequence[Sequence[str]],
    top_probs: np.ndarray,
    *,
    title: str = "",
    layer_title: str = "layer",
    rank_title: str = "rank",
    value_name: str = "probability",
    layer_names: Sequence[str] | None = None,
) -> go.Figure:
    """Heatmap of the logit lens: row = layer (0 = embeddings, at the bottom), column =
    rank (1 = most likely); each cell prints its token and probability, and is coloured by
    the probability.

    ``top_tokens``: [layer][rank] strings; ``top_probs``: [layer, rank].
    """
    probs = np.asarray(top_probs, dtype=float)
    n_layers, k = probs.shape
    if len(top_tokens) != n_layers or any(len(row) != k for row in top_tokens):
        raise ValueError("top_tokens must have the shape of top_probs [layer, rank]")
    names = list(layer_names) if layer_names is not None else [str(i) for i in range(n_layers)]
    cells = np.array(
        [
            [
                f"{token_label(token, MAX_LENS_LABEL_CHARS)}<br>{p:.2f}"
                for token, p in zip(row, ps, strict=True)
            ]
            for row, ps in zip(top_tokens, probs, strict=True)
        ],
        dtype=object,
    )
    figure = go.Figure(
        go.Heatmap(
            z=probs,
            x=list(range(1, k + 1)),
            y=list(range(n_layers)),
            text=cells,
            texttemplate="%{text}",
            textfont={"size": 11},
            customdata=np.array([[names[i]] * k for i in range(n_layers)], dtype=object),
            colorscale=LENS_SCALE,
            zmin=0.0,
            zmax=1.0,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": html.escape(value_name)}},
            hovertemplate=(
                f"{html.escape(layer_title)} %{{customdata}}<br>{html.escape(rank_title)} %{{x}}"
                "<br>%{text}<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        xaxis={"title": {"text": html.escape(rank_title)}, "side": "top", "dtick": 1},
        yaxis={
            "title": {"text": html.escape(layer_title)},
            "tickmode": "array",
            "tickvals": list(range(n_layers)),
            "ticktext": [html.escape(name) for name in names],
        },
    )
    return _layout(figure, title, 120 + 34 * n_layers)
