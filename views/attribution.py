"""Why this token? Which words of the prompt made the model say its next token
(attribution), beside the attention the last position pays them."""

import math

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.interpret.attention_agreement import SOURCES, attention_agreement
from llm_core.interpret.attribution import DEFAULT_STEPS, MAX_STEPS, METHODS
from llm_core.plots.interpret import attention_share_chart, signed_chart
from ui.i18n import t
from ui.interpret_cache import explained
from ui.model_loader import page_model
from ui.step_detail import ATTRIBUTION_HANDOFF_KEY
from ui.token_chips import chips_html, legend_html, score_chips

EXAMPLES = ("我爱吃苹果", "The capital of France is", "床前明月光，疑是地上")
LEVELS = ("word", "character", "token")
KEYS = {
    "attr_text": EXAMPLES[0],
    "attr_target_mode": "top",
    "attr_target_text": " Paris",
    "attr_method": "integrated-gradients",
    "attr_level": "word",
    "attr_steps": DEFAULT_STEPS,
    "attr_source": "mean",
}


def restore() -> None:
    """Widget values survive a visit to another page; a Generation step ("Why this
    token?") or a shared link (?prompt=...&target=id) sets the prompt and the target."""
    kept = st.session_state.setdefault("attr_kept", {})
    for key, default in KEYS.items():
        st.session_state[key] = st.session_state.get(key, kept.get(key, default))
    link = (st.query_params.get("prompt"), st.query_params.get("target"))
    if link[0] and link[1] and link[1].isdigit() and st.session_state.get("attr_link") != link:
        st.session_state["attr_link"] = link
        handoff = (link[0], int(link[1]))
    else:
        handoff = st.session_state.pop(ATTRIBUTION_HANDOFF_KEY, None)
    if handoff is not None:
        st.session_state.update(attr_text=handoff[0], attr_target_mode="link")
        st.session_state["attr_target_id"] = int(handoff[1])


def labels_of(prefix: str, options) -> object:
    """Option labels resolved now, in this run's language (AppTest calls format_func
    after the run, where t() no longer sees the session's language)."""
    return {option: t(f"{prefix}_{option}") for option in options}.__getitem__


def use_example(text: str) -> None:
    st.session_state["attr_text"] = text


st.title(t("attr.title"))
st.caption(t("attr.intro"))
loaded, spec = page_model()
restore()
text = st.text_area(t("attr.text"), key="attr_text", height=80)
columns = st.columns([1] + [2] * len(EXAMPLES))
columns[0].caption(t("attr.examples"))
for number, (column, example) in enumerate(zip(columns[1:], EXAMPLES, strict=True)):
    column.button(example, key=f"attr_example_{number}", on_click=use_example, args=(example,))
modes = ["top", "typed", *(["link"] if "attr_target_id" in st.session_state else [])]
left, middle, right = st.columns([2, 2, 1])
mode = left.radio(
    t("attr.target"), modes, key="attr_target_mode", format_func=labels_of("attr.target", modes)
)
target = {"top": None, "link": st.session_state.get("attr_target_id")}.get(mode)
if mode == "typed":
    target = left.text_input(
        t("attr.target_text"), key="attr_target_text", help=t("attr.target_help")
    )
method = middle.selectbox(
    t("attr.method"),
    METHODS,
    key="attr_method",
    format_func=labels_of("attr.method", METHODS),
    help=t("attr.method_help"),
)
level = middle.radio(
    t("attr.level"),
    LEVELS,
    key="attr_level",
    horizontal=True,
    format_func=labels_of("attr.level", LEVELS),
)
steps = right.number_input(
    t("attr.steps"),
    1,
    MAX_STEPS,
    key="attr_steps",
    disabled=method != "integrated-gradients",
    help=t("attr.steps_help"),
)
st.session_state["attr_kept"] = {key: st.session_state[key] for key in KEYS}
try:
    result = explained(spec, text, target, method, int(steps))
except LLMCoreError as error:
    st.error(str(error))
    st.stop()

found = result.attribution
st.markdown(
    t("attr.explaining", token=repr(found.target.text), prob=f"{math.exp(found.target.logp):.1%}")
)
if found.completeness is not None:
    check = found.completeness
    cells = st.columns(4)
    cells[0].metric(t("attr.m_sum"), f"{check.sum:.3f}", help=t("attr.m_sum_help"))
    cells[1].metric(t("attr.m_expected"), f"{check.expected:.3f}", help=t("attr.m_expected_help"))
    cells[2].metric(t("attr.m_gap"), f"{check.gap:.1%}")
    cells[3].metric(t("attr.m_steps"), found.steps, help=t("attr.m_steps_help"))
    (st.success if check.holds else st.warning)(
        t("attr.complete" if check.holds else "attr.incomplete")
    )
if found.neutral_token is not None:
    st.caption(t("attr.neutral", token=repr(found.neutral_token)))
labels, scores = found.labels(level), found.group_scores(level)
st.html(chips_html(score_chips(labels, scores)))
st.html(legend_html(t("attr.legend"), kind="signed", scale=float(max(abs(scores).max(), 1e-9))))

st.subheader(t("attr.versus_heading"))
st.caption(t("attr.versus_intro"))
layer = head = None
cells = st.columns([2, 1, 1])
source = cells[0].radio(
    t("attr.source"),
    SOURCES,
    key="attr_source",
    horizontal=True,
    format_func=labels_of("attr.source", SOURCES),
)
if source == "head":
    d = loaded.description
    layer = cells[1].slider(t("attr.layer"), 0, d.n_layers - 1, d.n_layers // 2, key="attr_layer")
    head = cells[2].slider(t("attr.head"), 0, d.n_heads - 1, 0, key="attr_head")
agreement = attention_agreement(result.attention, found, level, source, layer, head)
left, right = st.columns(2)
left.markdown(f"**{t('attr.scores_heading')}**")
left.altair_chart(
    signed_chart(labels, scores, t("attr.score_axis")), width="stretch", key="attr_scores"
)
right.markdown(f"**{t('attr.attention_heading')}**")
chart = attention_share_chart(labels, agreement.attention, t("attr.attention_axis"))
right.altair_chart(chart, width="stretch", key="attr_attention")
cells = st.columns(2)
value = "—" if agreement.correlation is None else f"{agreement.correlation:+.2f}"
cells[0].metric(t("attr.m_correlation"), value, help=t("attr.m_correlation_help"))
cells[1].metric(
    t("attr.m_context"), f"{agreement.context_share:.0%}", help=t("attr.m_context_help")
)
st.info(t("attr.lesson"))
