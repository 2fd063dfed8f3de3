"""Attention math: softmax(QKᵀ/√dₖ)V worked step by step on toy vectors, then on a real
head of the model, recomputed by hand beside the attention the model reported."""

import math

import streamlit as st

from llm_core.attention.formula import MAX_REAL_HEAD_TOKENS
from llm_core.errors import LLMCoreError
from llm_core.plots.formula import (
    REAL_HEAD_FIGURES,
    STEP_NAMES,
    VALUE_COLOURS,
    head_step_figures,
    real_head_figures,
)
from llm_core.plots.heatmaps import MAX_ANNOTATED_SIZE, heatmap
from ui.attention_math_inputs import real_head, real_head_choice, toy_steps
from ui.i18n import t, template
from ui.model_loader import page_model

CHART = {"width": "stretch", "config": {"displaylogo": False}}


def _render_head(steps, labels, head: int) -> None:
    texts = {"query": t("math.axis_query"), "key": t("math.axis_key"), "sum": t("math.row_sum")}
    figures = head_step_figures(steps, labels, {**texts, "dim": template("math.dim")})
    d_k = steps.q.shape[1]
    captions = {name: t(f"math.step.{name}") for name in ("q", "k", "v", "scores", "weights")}
    captions["scaled"] = t("math.step.scaled", d_k=d_k, sqrt=math.sqrt(d_k))
    captions["masked"] = t("math.step.masked_" + ("none" if steps.mask.all() else "causal"))
    captions["output"] = t("math.step.output")
    for row in (STEP_NAMES[:3], STEP_NAMES[3:6], STEP_NAMES[6:]):
        for column, name in zip(st.columns(3), row, strict=False):
            column.markdown(captions[name])
            column.plotly_chart(figures[name], key=f"am_fig_{name}_{head}", **CHART)


def render_toy() -> None:
    steps = toy_steps()
    if steps is None:
        return
    if steps.n_heads == 1:
        _render_head(steps.heads[0], steps.labels, 0)
        return
    d_model = steps.x.shape[1]
    st.markdown(t("math.heads_intro", d_model=d_model, n_heads=steps.n_heads, d_k=steps.d_k))
    tabs = st.tabs([t("math.head_tab", number=h + 1) for h in range(steps.n_heads)])
    for head, tab in enumerate(tabs):
        with tab:
            _render_head(steps.heads[head], steps.labels, head)
    st.markdown(t("math.concat_output"))
    dims = [t("math.dim", index=i + 1) for i in range(d_model)]
    output = heatmap(steps.output, steps.labels, dims, colorscale=VALUE_COLOURS, centred=True)
    st.columns(3)[0].plotly_chart(output, key="am_fig_output_all", **CHART)


def render_real_head() -> None:
    loaded, spec = page_model()
    d = loaded.description
    st.markdown(t("math.real_intro", model=d.name))
    text, layer, head = real_head_choice(d)
    st.caption(t("math.real_limit", max_tokens=MAX_REAL_HEAD_TOKENS, annotated=MAX_ANNOTATED_SIZE))
    try:
        labels, check = real_head(spec, text, layer, head)
    except LLMCoreError as error:
        st.error(str(error))
        return

    metrics = st.columns(4)
    diff = check.max_abs_diff
    metrics[0].metric(t("math.metric_diff"), f"{diff:.1e}", help=t("math.metric_diff_help"))
    metrics[1].metric(t("math.metric_tokens"), len(labels))
    metrics[2].metric(t("math.metric_scale"), f"1/√{check.d_head} = {check.scale:.4f}")
    kv = {"n_heads": d.n_heads, "n_kv_heads": d.n_kv_heads, "kv_head": check.kv_head}
    kv_help = t("math.metric_kv_help", head=check.head, **kv)
    metrics[3].metric(t("math.metric_kv"), check.kv_head, help=kv_help)
    rope = check.position_encoding == "RoPE"
    st.markdown(t("math.rope") if rope else t("math.learned_positions"))
    if check.note:
        st.info(check.note)
    texts = {"query": t("math.axis_query"), "key": t("math.axis_key")}
    titles = {name: t(f"math.fig_{name}") for name in REAL_HEAD_FIGURES}
    figures = real_head_figures(check, labels, titles, texts)
    for row in (REAL_HEAD_FIGURES[:2], REAL_HEAD_FIGURES[2:]):
        for column, name in zip(st.columns(2), row, strict=True):
            column.plotly_chart(figures[name], key=f"am_real_{name}", **CHART)
    close = diff < 1e-4
    (st.success if close else st.warning)(t("math.match" if close else "math.mismatch", diff=diff))


st.title(t("math.title"))
st.write(t("math.intro"))
st.latex(r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V")
toy_tab, real_tab = st.tabs([t("math.tab_toy"), t("math.tab_real")])
with toy_tab:
    render_toy()
with real_tab:
    render_real_head()
