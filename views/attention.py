"""Attention: one head (or a mean, or rollout) as a heatmap and as lines between words,
every head of a layer side by side, and every layer x head at a glance.

The model runs once per text (a trace, shared by every session); a switch of level,
view, layer or head reruns only the fragment that draws the view, never the model. A
long text's first view comes from a pass stopped at its layer; the rest of the pass
runs right after it is drawn."""

import streamlit as st

from llm_core.attention.trace import MAX_ATTENTION_TOKENS
from llm_core.errors import LLMCoreError
from llm_core.plots.attention import MAX_FLOW_SIZE
from llm_core.plots.heatmaps import attention_heatmap
from ui.attention_panels import (
    CHART,
    downloads,
    ensure_summary,
    flow_panel,
    grid_and_numbers,
    overview_panel,
    role_text,
    view_controls,
)
from ui.attention_state import DEFAULT_VIEW, MAX_URL_TEXT_CHARS, keep_view, restore_view
from ui.i18n import t
from ui.model_loader import page_model
from ui.trace_cache import (
    attention_view,
    first_trace,
    full_matrix,
    head_role,
    tokens_of,
    trace_of,
    trace_through,
)

st.title(t("attention.title"))
st.caption(t("attention.how_to_read"))
loaded, spec = page_model()
d = loaded.description
restore_view({"attn_text": t("attention.default_text"), **DEFAULT_VIEW}, d.n_layers, d.n_heads)
text = st.text_area(t("attention.text"), key="attn_text", height=80)
limits = {"max_tokens": MAX_ATTENTION_TOKENS, "context": f"{d.context_length:,}"}
st.caption(t("attention.limits", **limits))
if not text.strip():
    st.error(t("attention.empty_text"))
    st.stop()
try:
    tokens = tokens_of(spec, text)
    with st.spinner(t("attention.running", n_tokens=tokens.n_tokens)):
        chosen = st.session_state["attn_reduction"], st.session_state["attn_layer"]
        first_view_only = first_trace(spec, text, *chosen)  # every view below reads it
except LLMCoreError as error:
    st.error(str(error))
    st.stop()
counts = {"n_characters": len(tokens.characters), "n_words": len(tokens.words), "name": d.name}
st.caption(t("attention.counts", n_tokens=tokens.n_tokens, **counts))
if len(text) > MAX_URL_TEXT_CHARS:
    st.caption(t("attention.url_text_dropped", limit=MAX_URL_TEXT_CHARS))


@st.fragment
def main_view() -> None:
    """Controls, the heatmap, the text flow, the head grid and the numbers of one view."""
    level, reduction, layer, head = view_controls(d)
    keep_view(spec, ["attn_text", *DEFAULT_VIEW])
    if reduction in ("mean_layers", "rollout"):
        ensure_summary(spec, text, d.n_layers)
    else:  # here, not inside a cached view below: a partial pass may show a wait
        trace_through(spec, text, layer)
    view = attention_view(spec, text, level, reduction, layer, head)
    if reduction == "head":
        st.info(f"{role_text(head_role(spec, text, layer, head))} {t('attention.role_basis')}")
    axes = {
        "query_title": t("attention.axis_query"),
        "key_title": t("attention.axis_key"),
        "value_name": t("attention.weight"),
    }
    numbers = {"layer": layer, "head": head, "n_heads": d.n_heads, "n_layers": d.n_layers}
    fits_flow = len(view.full_labels) <= MAX_FLOW_SIZE  # a column of its own only if drawn
    heat_column, flow_column = st.columns([3, 2]) if fits_flow else (st.container(),) * 2
    with heat_column:
        title = t(f"attention.view_title.{reduction}", **numbers)
        figure = attention_heatmap(view.matrix, view.labels, title=title, **axes)
        st.plotly_chart(figure, key="attn_heatmap", **CHART)
        if view.block > 1:
            n_units = len(view.full_labels)
            st.caption(t("attention.pooled", n_units=n_units, block=view.block))
        matrix = lambda: full_matrix(spec, text, level, reduction, layer, head)  # noqa: E731
        downloads(figure, matrix, {"model": d.name, "text": text})
    with flow_column:
        flow_panel(view, axes)
    grid_and_numbers(spec, text, level, layer, view)


main_view()
if first_view_only:  # the first view of a long text came from a partial pass: finish it
    with st.spinner(t("attention.finishing", n_layers=d.n_layers)):
        trace_of(spec, text)
overview_panel(spec, text, d, tokens.n_tokens)
