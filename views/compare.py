"""Two models side by side on one text: where each is surprised, whether they predict the
same next token, how each continues, and how one head's attention differs."""

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.default_model import DEFAULT_SPEC
from llm_core.models.specs import list_saved_outputs
from llm_core.plots.heatmaps import difference_heatmap_of
from llm_core.plots.interpret import signed_chart, surprisal_pair_chart
from ui.i18n import t
from ui.interpret_cache import compared
from ui.model_loader import page_model
from ui.result_actions import COMPARE_HANDOFF_KEY
from ui.sidebar import CUSTOM_CHOICE

SEED_TEXT = "床前明月光，疑是地上霜。"
CHART = {"width": "stretch", "config": {"displaylogo": False}}

st.title(t("vs.title"))
st.caption(t("vs.intro"))
loaded, spec = page_model()
choices = [DEFAULT_SPEC, *(source.name for source in list_saved_outputs()), CUSTOM_CHOICE]
wanted = st.session_state.pop(COMPARE_HANDOFF_KEY, None)  # "compare with the base model"
if wanted is None and st.query_params.get("other") != st.session_state.get("vs_link"):
    wanted = st.session_state["vs_link"] = st.query_params.get("other")  # a shared link
if wanted:
    st.session_state["vs_other"] = wanted if wanted in choices else CUSTOM_CHOICE
    st.session_state["vs_custom"] = "" if wanted in choices else wanted
if st.session_state.get("vs_other") not in choices:
    st.session_state["vs_other"] = DEFAULT_SPEC
st.session_state.setdefault("vs_text", SEED_TEXT)
names = {DEFAULT_SPEC: t("sidebar.model_default"), CUSTOM_CHOICE: t("sidebar.model_custom")}
left, right = st.columns(2)
left.text_input(t("vs.model_a"), spec, disabled=True, help=t("vs.model_a_help"))
other = right.selectbox(
    t("vs.model_b"),
    choices,
    key="vs_other",
    format_func={c: names.get(c) or t("sidebar.model_output", name=c) for c in choices}.__getitem__,
)
if other == CUSTOM_CHOICE:
    other = right.text_input(
        t("sidebar.custom_spec"), key="vs_custom", help=t("sidebar.custom_help")
    ).strip()
    if not other:
        st.info(t("vs.custom_empty"))
        st.stop()
text = st.text_area(t("vs.text"), key="vs_text", height=80)
d = loaded.description
cells = st.columns(2)
layer = cells[0].slider(t("vs.layer"), 0, d.n_layers - 1, d.n_layers // 2, key="vs_layer")
head = cells[1].slider(t("vs.head"), 0, d.n_heads - 1, 0, key="vs_head")
try:
    result = compared(spec, other, text, (layer, head))
except LLMCoreError as error:
    st.error(str(error))
    st.stop()

st.caption(t(f"vs.basis_{result.basis}"))
for note in result.notes:
    st.info(note)
a_name, b_name = f"A: {spec}", f"B: {other}"
cells = st.columns(4)
cells[0].metric(t("vs.m_mean_a"), f"{result.surprisal_a.mean():.2f}", help=t("vs.m_mean_help"))
cells[1].metric(t("vs.m_mean_b"), f"{result.surprisal_b.mean():.2f}")
if result.agreement is not None:
    cells[2].metric(
        t("vs.m_agreement"), f"{result.agreement.mean():.0%}", help=t("vs.m_agreement_help")
    )
    cells[3].metric(t("vs.m_kl"), f"{result.kl.mean():.3f}", help=t("vs.m_kl_help"))
levels = result.levels()
if st.session_state.get("vs_level") not in levels:
    st.session_state["vs_level"] = levels[-1]
level_names = {level: t(f"attr.level_{level}") for level in levels}
level = st.radio(
    t("vs.level"), levels, key="vs_level", horizontal=True, format_func=level_names.__getitem__
)
labels, surprisal_a, surprisal_b = result.surprisal_at(level)
left, right = st.columns(2)
left.markdown(f"**{t('vs.surprisal_heading')}**")
chart = surprisal_pair_chart(labels, surprisal_a, surprisal_b, (a_name, b_name), t("vs.nats"))
left.altair_chart(chart, width="stretch", key="vs_surprisal")
right.markdown(f"**{t('vs.difference_heading')}**")
chart = signed_chart(labels, surprisal_b - surprisal_a, t("vs.difference_axis"))
right.altair_chart(chart, width="stretch", key="vs_difference")
st.subheader(t("vs.continuations_heading"))
left, right = st.columns(2)
left.markdown(f"**{a_name}**")
left.code(result.a.continuation or " ", language=None, wrap_lines=True)
right.markdown(f"**{b_name}**")
right.code(result.b.continuation or " ", language=None, wrap_lines=True)
if result.attention_difference is not None:
    st.subheader(t("vs.attention_heading", layer=layer, head=head))
    figure = difference_heatmap_of(
        result.attention_difference,
        result.labels,
        query_title=t("vs.query_axis"),
        key_title=t("vs.key_axis"),
        value_name=t("vs.attention_value"),
    )
    st.plotly_chart(figure, key="vs_attention", **CHART)
    st.caption(t("vs.attention_caption"))
