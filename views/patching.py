"""Where does the model keep the fact? Activation patching: restore one activation of a
clean prompt inside a corrupted one, at every layer and position, and see how much of
the clean answer comes back."""

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.interpret.patching import COMPONENTS
from llm_core.plots.interpret import patching_heatmap
from ui.i18n import t
from ui.interpret_cache import patched
from ui.model_loader import page_model

EXAMPLES = (
    ("The capital of France is", "The capital of Italy is", " Paris"),
    (
        "When Mary and John went to the store, John gave a drink to",
        "When Mary and John went to the store, Mary gave a drink to",
        " Mary",
    ),
)
KEYS = {
    "patch_clean": EXAMPLES[0][0],
    "patch_corrupt": EXAMPLES[0][1],
    "patch_target": EXAMPLES[0][2],
}
CHART = {"width": "stretch", "config": {"displaylogo": False}}


def restore() -> None:
    kept = st.session_state.setdefault("patch_kept", {})
    for key, default in KEYS.items():
        st.session_state[key] = st.session_state.get(key, kept.get(key, default))


def percent(p: float) -> str:
    """2 decimals, or a power of ten below 0.01% (3e-5 is not 0.00%)."""
    return f"{p:.2%}" if p >= 1e-4 else f"{p * 100:.1e}%"


def use_example(clean: str, corrupt: str, target: str) -> None:
    st.session_state.update(patch_clean=clean, patch_corrupt=corrupt, patch_target=target)


st.title(t("patch.title"))
st.caption(t("patch.intro"))
loaded, spec = page_model()
restore()
columns = st.columns([1, 3, 3])
columns[0].caption(t("patch.examples"))
for number, (column, example) in enumerate(zip(columns[1:], EXAMPLES, strict=True)):
    label = (
        f"{example[0][:28]}… → {example[2]!r}"
        if len(example[0]) > 28
        else f"{example[0]} → {example[2]!r}"
    )
    column.button(label, key=f"patch_example_{number}", on_click=use_example, args=example)
left, right = st.columns(2)
clean = left.text_input(t("patch.clean"), key="patch_clean", help=t("patch.clean_help"))
corrupt = right.text_input(t("patch.corrupt"), key="patch_corrupt", help=t("patch.corrupt_help"))
target = st.text_input(t("patch.target"), key="patch_target", help=t("patch.target_help"))
st.session_state["patch_kept"] = {key: st.session_state[key] for key in KEYS}
try:
    first = patched(spec, clean, corrupt, target or None, "residual")
except LLMCoreError as error:
    st.error(str(error))
    st.stop()

cells = st.columns(3)
cells[0].metric(t("patch.m_target"), repr(first.target.text))
cells[1].metric(t("patch.m_clean"), percent(first.p_clean), help=t("patch.m_clean_help"))
cells[2].metric(t("patch.m_corrupt"), percent(first.p_corrupt), help=t("patch.m_corrupt_help"))
changed = ", ".join(
    repr(first.labels[i]) + " → " + repr(first.corrupt_labels[i]) for i in first.differs
)
st.caption(t("patch.differs", changed=changed, n_tokens=len(first.labels)))
st.latex(
    r"\text{effect}(l, p) = \frac{p_{\text{patched}} - p_{\text{corrupt}}}{p_{\text{clean}} - p_{\text{corrupt}}}"
)
names = {component: t(f"patch.component_{component}") for component in COMPONENTS}
component = st.radio(
    t("patch.component"),
    COMPONENTS,
    key="patch_component",
    horizontal=True,
    format_func=names.__getitem__,
)
try:
    result = patched(spec, clean, corrupt, target or None, component)
except LLMCoreError as error:
    st.error(str(error))
    st.stop()
figure = patching_heatmap(
    result.effect,
    result.labels,
    title=t(f"patch.heatmap_{component}"),
    layer_title=t("patch.layer_axis"),
    position_title=t("patch.position_axis"),
    value_name=t("patch.effect"),
)
st.plotly_chart(figure, key=f"patch_map_{component}", **CHART)
st.caption(t(f"patch.read_{component}"))
st.info(t("patch.lesson"))
