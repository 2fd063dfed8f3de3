"""The Fine-tuning studio's results: perplexity, samples and attention, before vs after,
and what can be done with the saved model (``ui.result_actions``)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from llm_core.attention.reductions import aggregate
from llm_core.plots.heatmaps import attention_heatmap
from llm_core.plots.training import difference_heatmap
from llm_core.training.finetune import FinetuneResult
from ui.i18n import choice_radio, t
from ui.job_panel import duration_text
from ui.result_actions import show_result_actions

LEVELS = ("token", "character")
CHART = {"width": "stretch", "config": {"displaylogo": False}}


def most_changed_head(result: FinetuneResult) -> tuple[int, int, float]:
    """(layer, head, largest |after - before| of any weight) over every layer and head."""
    best = (0, 0, -1.0)
    before, after = result.before.attention, result.after.attention
    for layer in range(min(before.n_layers, after.n_layers)):
        change = np.abs(after.layer(layer) - before.layer(layer)).max(axis=(1, 2))  # [head]
        head = int(change.argmax())
        if change[head] > best[2]:
            best = (layer, head, float(change[head]))
    return best


def show_metrics(result: FinetuneResult) -> None:
    before, after = result.before.perplexity, result.after.perplexity
    columns = st.columns(5)
    help_text = t("finetune.ppl_help", tokens=f"{result.n_eval_tokens:,}")
    columns[0].metric(t("finetune.ppl_before"), f"{before:,.2f}", help=help_text)
    columns[1].metric(
        t("finetune.ppl_after"),
        f"{after:,.2f}",
        f"{after - before:+,.2f}",
        delta_color="inverse",
        help=help_text,
    )
    speed = t("finetune.metric_speed_value", value=f"{result.tokens_per_s:,.0f}")
    columns[2].metric(t("finetune.metric_speed"), speed)
    columns[3].metric(t("finetune.metric_time"), duration_text(result.wall_s))
    share = result.n_trainable_params / max(result.n_params, 1)
    columns[4].metric(
        t("finetune.metric_trainable"),
        f"{result.n_trainable_params:,}",
        f"{share:.2%}",
        delta_color="off",
    )


def show_samples(result: FinetuneResult) -> None:
    st.subheader(t("finetune.samples_heading"))
    st.caption(t("finetune.sample_prompt_shown", prompt=result.sample_prompt))
    for column, side, snapshot in zip(
        st.columns(2), ("before", "after"), (result.before, result.after), strict=True
    ):
        column.markdown(f"**{t(f'finetune.{side}')}**")
        column.text(result.sample_prompt + snapshot.sample)


def show_attention(result: FinetuneResult, job_id: int) -> None:
    st.subheader(t("finetune.attention_heading"))
    best_layer, best_head, _ = most_changed_head(result)
    n_layers, n_heads = result.after.attention.n_layers, result.after.attention.n_heads
    columns = st.columns([2, 2, 2])
    layer = columns[0].number_input(
        t("finetune.attention_layer"), 0, n_layers - 1, best_layer, key=f"ft_att_layer_{job_id}"
    )
    head = columns[1].number_input(
        t("finetune.attention_head"), 0, n_heads - 1, best_head, key=f"ft_att_head_{job_id}"
    )
    with columns[2]:
        level = choice_radio(
            t("finetune.attention_level"), "finetune.level", LEVELS, "ft_att_level", "character"
        )
    tokens = result.attention_tokens
    groups = [group.tokens for group in tokens.groups(level)]
    names = tokens.labels(level)
    matrices = [
        aggregate(s.attention.head(int(layer), int(head)), groups)
        for s in (result.before, result.after)
    ]
    axes = {"query_title": t("finetune.query"), "key_title": t("finetune.key")}
    zmax = max(float(m.max()) for m in matrices)
    figures = [
        attention_heatmap(
            m,
            names,
            title=t(f"finetune.{side}"),
            value_name=t("finetune.weight"),
            zmax=zmax,
            **axes,
        )
        for side, m in zip(("before", "after"), matrices, strict=True)
    ]
    figures.append(
        difference_heatmap(
            *matrices,
            names,
            title=t("finetune.difference"),
            value_name=t("finetune.difference"),
            **axes,
        )
    )
    # Before and after side by side; the difference, the point of it all, below at the same size.
    for index, (column, figure) in enumerate(
        zip([*st.columns(2), st.columns(2)[0]], figures, strict=True)
    ):
        column.plotly_chart(figure, key=f"ft_att_{index}", **CHART)
    change = float(np.abs(matrices[1] - matrices[0]).max())
    st.caption(t("finetune.difference_caption", change=change, layer=best_layer, head=best_head))


def show_result(result: FinetuneResult, job_id: int) -> None:
    show_result_actions(result.base_model, result.output.rsplit("/", 1)[-1])
    show_metrics(result)
    show_samples(result)
    show_attention(result, job_id)
