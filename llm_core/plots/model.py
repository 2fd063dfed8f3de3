"""The model card's figures: where the parameters are (altair bars) and the architecture
(graphviz DOT). Never streamlit, so a notebook can show the same pictures as the app.
Labels are passed in, so the UI can translate them."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from llm_core.models.description import ModelDescription
from llm_core.plots.charts import bar_chart

COMPONENT_COLOURS = {
    "embeddings": "#4C78A8",
    "attention": "#F58518",
    "mlp": "#54A24B",
    "norms": "#B279A2",
    "head": "#E45756",
    "other": "#9D755D",
}


def format_count(n: int) -> str:
    """1234567 -> '1.23M'; short enough for a metric tile."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= threshold:
            return f"{n / threshold:.3g}{suffix}"
    return str(n)


def parameter_breakdown_chart(
    description: ModelDescription,
    labels: Mapping[str, str] | None = None,
    axis_title: str = "parameters",
) -> alt.TopLevelMixin:
    """Horizontal bars: parameters per component, with each one's share of the total."""
    labels = labels or {}
    items = [(k, v) for k, v in description.params_by_component.items() if v > 0]
    total = max(description.n_params, 1)
    frame = pd.DataFrame(
        {
            "component": [labels.get(k, k) for k, _ in items],
            "parameters": [v for _, v in items],
            "colour": [COMPONENT_COLOURS.get(k, "#888888") for k, _ in items],
            "text": [f"{format_count(v)} ({v / total:.1%})" for _, v in items],
        }
    )
    return bar_chart(
        frame,
        label="component",
        value="parameters",
        value_title=axis_title,
        colour="colour",
        text="text",
        value_format=",d",
        axis_format="~s",
    )


ARCHITECTURE_LABELS = {
    "ids": "token ids\\n(up to {context} positions)",
    "emb": "embeddings\\n{vocab} × {d_model}",
    "attn": "attention\\n{n_heads} heads × {d_head} dims{kv}",
    "kv": ", {n_kv_heads} kv heads",
    "mlp": "MLP\\n{d_model} → {d_ff} → {d_model}",
    "head": "output head\\n{head_note}",
    "tied": "tied to embeddings",
    "probs": "next-token probabilities\\n({vocab} tokens)",
    "layers": "× {n_layers} layers",
    "next": "next layer",
}


def architecture_dot(description: ModelDescription, labels: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT of the stack: embeddings -> N x [attention, MLP] -> head.

    Uses only figures from the description, so it is true for any loaded model.
    ``labels`` overrides the templates of ``ARCHITECTURE_LABELS`` (e.g. translations).
    """
    d = description
    text = {**ARCHITECTURE_LABELS, **(labels or {})}
    values = {
        "context": f"{d.context_length:,}",
        "vocab": f"{d.vocab_size:,}",
        "d_model": d.d_model,
        "n_heads": d.n_heads,
        "d_head": d.d_head,
        "n_kv_heads": d.n_kv_heads,
        "d_ff": d.d_ff,
        "n_layers": d.n_layers,
    }
    values["kv"] = text["kv"].format(**values) if d.n_kv_heads != d.n_heads else ""
    values["head_note"] = text["tied"] if d.tied_embeddings else f"{d.d_model} → {d.vocab_size:,}"
    nodes = [
        ("ids", "#eeeeee"),
        ("emb", "#dbe7f3"),
        ("attn", "#fde3c8"),
        ("mlp", "#d8ecd5"),
        ("head", "#f7d4d4"),
        ("probs", "#eeeeee"),
    ]
    lines = [
        "digraph model {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fontname="sans-serif"];',
    ]
    lines += [
        f'  {name} [label="{text[name].format(**values)}", fillcolor="{colour}"];'
        for name, colour in nodes
    ]
    lines += [
        f'  subgraph cluster_block {{ label="{text["layers"].format(**values)}"; style=dashed; '
        "attn; mlp; }",
        "  ids -> emb -> attn -> mlp -> head -> probs;",
        f'  mlp -> attn [style=dotted, label=" {text["next"]}", constraint=false];',
        "}",
    ]
    return "\n".join(lines)
