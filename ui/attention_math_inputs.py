"""The Attention-math page's inputs: the toy's editable matrices (parsed by the engine,
errors shown where they are typed) and the real head's text, layer and head, with the
cached recomputation of that head."""

from __future__ import annotations

import numpy as np
import streamlit as st

from llm_core.attention.formula import (
    MAX_TOY_D_MODEL,
    MAX_TOY_TOKENS,
    TOY_EMBEDDINGS,
    TOY_WORDS,
    AttentionSteps,
    RealHeadCheck,
    attention_steps,
    parse_matrix,
    recompute_head,
)
from llm_core.errors import LLMCoreError
from llm_core.models.description import ModelDescription
from ui.i18n import t
from ui.model_loader import _load_cached
from ui.trace_cache import tokens_of

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


def toy_steps() -> AttentionSteps | None:
    """The toy's widgets, then the engine's steps for what was typed; None (with the
    errors shown) when an input is not usable."""
    for key, value in TOY_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    columns = st.columns([1.3, 1, 1, 1])
    columns[0].text_input(
        t("math.words"), key="am_words", max_chars=MAX_INPUT_CHARS, help=t("math.words_help")
    )
    for column, (key, (_name, label)) in zip(columns, MATRICES.items(), strict=True):
        column.text_area(
            t(label), key=key, height=120, max_chars=MAX_INPUT_CHARS, help=t("math.matrix_help")
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
    for key, (name, _label) in MATRICES.items():
        try:
            matrices[name] = parse_matrix(st.session_state[key])
        except LLMCoreError as error:
            st.error(t("math.bad_matrix", name=name, error=error))
    if len(matrices) < len(MATRICES):
        return None
    try:
        return attention_steps(
            *matrices.values(),
            n_heads=int(st.session_state["am_heads"]),
            causal=st.session_state["am_causal"],
            labels=st.session_state["am_words"].split(),
        )
    except LLMCoreError as error:
        st.error(str(error))
        return None


def real_head_choice(d: ModelDescription) -> tuple[str, int, int]:
    """The real head's text, layer and head widgets (clamped to the model); their values."""
    columns = st.columns([3, 1, 1])
    text = columns[0].text_input(t("math.real_text"), value="我爱吃苹果", key="am_real_text")
    picked = {}
    for column, key, count in ((columns[1], "layer", d.n_layers), (columns[2], "head", d.n_heads)):
        if st.session_state.get(f"am_{key}", 0) >= count:  # a smaller model was picked
            st.session_state[f"am_{key}"] = count - 1
        label = t(f"math.{key}", last=count - 1)
        picked[key] = int(column.number_input(label, 0, count - 1, key=f"am_{key}"))
    return text, picked["layer"], picked["head"]


@st.cache_data(max_entries=64, show_spinner=False)
def real_head(spec: str, text: str, layer: int, head: int) -> tuple[list[str], RealHeadCheck]:
    """(token labels, RealHeadCheck) for one head; raises ``LLMCoreError`` for bad input."""
    tokens = tokens_of(spec, text)
    return tokens.labels("token"), recompute_head(_load_cached(spec), tokens.ids, layer, head)
