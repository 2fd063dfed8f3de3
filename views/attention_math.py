"""Attention math: softmax(QKᵀ/√dₖ)V worked step by step on toy vectors, then on a real head."""

import math

import numpy as np
import streamlit as st

from llm_core.attention.formula import (
    MAX_REAL_HEAD_TOKENS,
    MAX_TOY_D_MODEL,
    MAX_TOY_TOKENS,
    TOY_EMBEDDINGS,
    TOY_WORDS,
    attention_steps,
    parse_matrix,
    recompute_head,
)
from llm_core.errors import LLMCoreError
from llm_core.plots.formula import (
    MAX_ANNOTATED_CELLS,
    REAL_HEAD_FIGURES,
    STEP_NAMES,
    VALUE_COLOURS,
    head_step_figures,
    matrix_heatmap,
    real_head_figures,
)
from llm_core.text.tokens import tokenize
from ui.i18n import t, template
from ui.model_loader import _load_cached, page_model

CHART = {"width": "stretch", "config": {"displaylogo": False}}
MAX_INPUT_CHARS = 4000  # a 16 x 16 matrix of short numbers fits
# The toy's text areas: widget key -> (matrix name, label key).
MATRICES = {
    "am_x": ("X", "math.x"),
    "am_wq": ("W_Q", "math.w_q"),
    "am_wk": ("W_K", "math.w_k"),
    "am_wv": ("W_V", "math.w_v"),
}


def _as_text(matrix: np.ndarray) -> str:
    return "\n".join(", ".join(f"{value:g}" for value in row) for row in matrix)


TOY_DEFAULTS = {
    "am_words": " ".join(TOY_WORDS),
    "am_x": _as_text(TOY_EMBEDDINGS),
    **dict.fromkeys(("am_wq", "am_wk", "am_wv"), _as_text(np.eye(TOY_EMBEDDINGS.shape[1]))),
    "am_causal": True,
    "am_heads": 1,
}


@st.cache_data(max_entries=64, show_spinner=False)
def _recompute(spec: str, text: str, layer: int, head: int):
    """(token labels, RealHeadCheck) for one head; the model comes from the one loader."""
    loaded = _load_cached(spec)
    tokens = tokenize(loaded.tokenizer, text)
    return tokens.labels("token"), recompute_head(loaded, tokens.ids, layer, head)


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
    for key, value in TOY_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    columns = st.columns([1.3, 1, 1, 1])
    columns[0].text_input(
        t("math.words"), key="am_words", max_chars=MAX_INPUT_CHARS, help=t("math.words_help")
    )
    for column, key in zip(columns, MATRICES, strict=True):
        column.text_area(
            t(MATRICES[key][1]),
            key=key,
            height=120,
            max_chars=MAX_INPUT_CHARS,
            help=t("math.matrix_help"),
        )
    options = st.columns([1, 1, 1, 3])
    options[0].toggle(t("math.causal"), key="am_causal", help=t("math.causal_help"))
    options[1].number_input(
        t("math.n_heads"), 1, MAX_TOY_D_MODEL, key="am_heads", help=t("math.n_heads_help")
    )
    reset = {"on_click": st.session_state.update, "args": (TOY_DEFAULTS,)}
    options[2].button(t("math.reset"), key="am_reset", **reset)
    options[3].caption(t("math.limits", max_tokens=MAX_TOY_TOKENS, max_dims=MAX_TOY_D_MODEL))

    matrices = {}
    for key, (name, _) in MATRICES.items():
        try:
            matrices[name] = parse_matrix(st.session_state[key])
        except LLMCoreError as error:
            st.error(t("math.bad_matrix", name=name, error=error))
    if len(matrices) < len(MATRICES):
        return
    try:
        steps = attention_steps(
            *matrices.values(),
            n_heads=int(st.session_state["am_heads"]),
            causal=st.session_state["am_causal"],
            labels=st.session_state["am_words"].split(),
        )
    except LLMCoreError as error:
        st.error(str(error))
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
    output = matrix_heatmap(
        steps.output, steps.labels, dims, colorscale=VALUE_COLOURS, centred=True
    )
    st.columns(3)[0].plotly_chart(output, key="am_fig_output_all", **CHART)


def render_real_head() -> None:
    loaded, spec = page_model()
    d = loaded.description
    st.markdown(t("math.real_intro", model=d.name))
    columns = st.columns([3, 1, 1])
    text = columns[0].text_input(t("math.real_text"), value="我爱吃苹果", key="am_real_text")
    picked = {}
    for column, key, count in ((columns[1], "layer", d.n_layers), (columns[2], "head", d.n_heads)):
        if st.session_state.get(f"am_{key}", 0) >= count:  # a smaller model was picked
            st.session_state[f"am_{key}"] = count - 1
        label = t(f"math.{key}", last=count - 1)
        picked[key] = int(column.number_input(label, 0, count - 1, key=f"am_{key}"))
    st.caption(t("math.real_limit", max_tokens=MAX_REAL_HEAD_TOKENS, annotated=MAX_ANNOTATED_CELLS))
    try:
        labels, check = _recompute(spec, text, picked["layer"], picked["head"])
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
