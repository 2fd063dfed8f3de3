"""What the Tokenizer page keeps and caches: its text and level across pages, languages and
shared links, the tokenizers it compares, and each tokenization (per tokenizer and text).

Widget values are set back before the widgets are drawn and the last good ones are kept
under ``*_kept``: Streamlit forgets a widget shown on another page, and a radio remembers
its choice by its label, which stops matching when the language changes.
"""

from __future__ import annotations

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.default_model import DEFAULT_SPEC, is_default_model_ready
from llm_core.text.tokens import LEVELS, Tokenization, tokenize
from ui.catalog import CATALOG
from ui.i18n import t
from ui.model_loader import get_model, get_tokenizer

TEXT_KEY, LEVEL_KEY = "tok_text", "tok_level"
COMPARE_KEY, CUSTOM_KEY = "tok_compare", "tok_compare_custom"
MAX_URL_TEXT_CHARS = 1_000  # longer texts stay out of the address bar
MAX_COMPARED = 4
MAX_CACHED_TOKENIZATIONS = 64
DEFAULT_TEXTS = set(CATALOG["tokenizer.default_text"].values())
# A folder without tokenizer files makes transformers raise OSError/ValueError.
LOAD_ERRORS = (LLMCoreError, OSError, ValueError)


@st.cache_data(max_entries=MAX_CACHED_TOKENIZATIONS, show_spinner=False)
def tokenize_with(spec: str, text: str) -> Tokenization:
    """The tokenization of ``text`` by ``spec``'s tokenizer (shared by sessions)."""
    return tokenize(get_tokenizer(spec), text)


def _kept(key: str, default: object) -> object:
    return st.session_state.get(f"{key}_kept", default)


def restore_state() -> None:
    """Set the text and level before they are drawn: a shared link (?text=&level=) gives
    them on a session's first visit, later the last good values (see module doc)."""
    url = st.query_params if f"{TEXT_KEY}_kept" not in st.session_state else {}
    text = st.session_state.get(TEXT_KEY, _kept(TEXT_KEY, url.get("text")))
    if text is None or text in DEFAULT_TEXTS:  # an untouched example follows the language
        text = t("tokenizer.default_text")
    level = st.session_state.get(LEVEL_KEY)
    if level not in LEVELS:
        level = _kept(LEVEL_KEY, url.get("level"))
    # Assigning also re-sends each value, so the radio is relabelled in the new language.
    st.session_state[TEXT_KEY] = text
    st.session_state[LEVEL_KEY] = level if level in LEVELS else "token"


def share_state(text: str, level: str) -> None:
    """Keep the values and put them in the address bar (a short text only)."""
    st.session_state[f"{TEXT_KEY}_kept"], st.session_state[f"{LEVEL_KEY}_kept"] = text, level
    st.query_params["level"] = level
    if text in DEFAULT_TEXTS or len(text) > MAX_URL_TEXT_CHARS:
        st.query_params.pop("text", None)
    else:
        st.query_params["text"] = text


def restore_compare(options: list[str]) -> None:
    picked = st.session_state.get(COMPARE_KEY, _kept(COMPARE_KEY, options[:MAX_COMPARED]))
    if not all(spec in options for spec in picked):  # labels of the other language, or gone
        picked = _kept(COMPARE_KEY, options[:MAX_COMPARED])
    st.session_state[COMPARE_KEY] = [spec for spec in picked if spec in options]


def keep_compare(picked: list[str]) -> None:
    st.session_state[f"{COMPARE_KEY}_kept"] = picked


def spec_label(spec: str, saved: list[str]) -> str:
    if spec == DEFAULT_SPEC:
        return t("tokenizer.compare_default")
    return t("tokenizer.compare_output", name=spec) if spec in saved else spec


def usable_spec(spec: str) -> str:
    """The sidebar's model if its tokenizer loads, else the default (with the reason shown)."""
    if not is_default_model_ready():
        get_model(DEFAULT_SPEC)  # first run: converts the default model with a progress bar
    try:
        get_tokenizer(spec)
        return spec
    except LOAD_ERRORS as error:
        st.error(t("loader.failed", error=error))
        st.info(t("loader.fallback"))
        return DEFAULT_SPEC
