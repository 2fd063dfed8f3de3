"""Tokenizer: coloured token chips, counts, a table of every token, and tokenizers compared."""

import pandas as pd
import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.default_model import DEFAULT_SPEC, is_default_model_ready
from llm_core.models.specs import list_saved_outputs
from llm_core.text.tokens import LEVELS, MAX_TOKENIZE_CHARS, Tokenization, tokenize
from ui.catalog import CATALOG
from ui.i18n import t
from ui.model_loader import get_model, get_tokenizer
from ui.sidebar import selected_model_spec
from ui.token_chips import (
    MAX_CHIPS,
    chips_html,
    count_characters,
    count_words,
    fragment_example,
    token_table,
)

TEXT_KEY, LEVEL_KEY = "tok_text", "tok_level"
COMPARE_KEY, CUSTOM_KEY = "tok_compare", "tok_compare_custom"
MAX_URL_TEXT_CHARS = 1_000  # longer texts stay out of the address bar
MAX_COMPARED = 4
MAX_COMPARE_CHIPS = 400  # per column: narrow columns get long fast
DEFAULT_TEXTS = set(CATALOG["tokenizer.default_text"].values())
# A folder without tokenizer files makes transformers raise OSError/ValueError.
LOAD_ERRORS = (LLMCoreError, OSError, ValueError)


@st.cache_data(max_entries=64, show_spinner=False)
def tokenize_with(spec: str, text: str) -> Tokenization:
    return tokenize(get_tokenizer(spec), text)


def kept(key: str, default: object) -> object:
    return st.session_state.get(f"{key}_kept", default)


def restore_state() -> None:
    """Set the widgets' values before they are drawn. A shared link (?text=&level=) gives
    them on a session's first visit; later the last good values are kept under *_kept,
    since Streamlit forgets a widget on another page, and a radio remembers its choice by
    its label, which stops matching when the language changes."""
    url = st.query_params if f"{TEXT_KEY}_kept" not in st.session_state else {}
    text = st.session_state.get(TEXT_KEY, kept(TEXT_KEY, url.get("text")))
    if text is None or text in DEFAULT_TEXTS:  # an untouched example follows the language
        text = t("tokenizer.default_text")
    level = st.session_state.get(LEVEL_KEY)
    if level not in LEVELS:
        level = kept(LEVEL_KEY, url.get("level"))
    # Assigning also re-sends each value, so the radio is relabelled in the new language.
    st.session_state[TEXT_KEY] = text
    st.session_state[LEVEL_KEY] = level if level in LEVELS else "token"


def restore_compare(options: list[str]) -> None:
    picked = st.session_state.get(COMPARE_KEY, kept(COMPARE_KEY, options[:MAX_COMPARED]))
    if not all(spec in options for spec in picked):  # labels of the other language, or gone
        picked = kept(COMPARE_KEY, options[:MAX_COMPARED])
    st.session_state[COMPARE_KEY] = [spec for spec in picked if spec in options]


def share_state(text: str, level: str) -> None:
    st.session_state[f"{TEXT_KEY}_kept"], st.session_state[f"{LEVEL_KEY}_kept"] = text, level
    st.query_params["level"] = level
    if text in DEFAULT_TEXTS or len(text) > MAX_URL_TEXT_CHARS:
        st.query_params.pop("text", None)
    else:
        st.query_params["text"] = text


def spec_label(spec: str) -> str:
    if spec == DEFAULT_SPEC:
        return t("tokenizer.compare_default")
    return t("tokenizer.compare_output", name=spec) if spec in SAVED else spec


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


def show_chips(tokenization: Tokenization, max_chips: int, note_key: str) -> None:
    tips = {"special": t("tokenizer.special_tip"), "fragment": t("tokenizer.fragment_tip")}
    chips = chips_html(tokenization, level, max_chips, tips)
    st.html(chips.html)
    if chips.shown < chips.total:
        st.caption(t(note_key, shown=f"{chips.shown:,}", total=f"{chips.total:,}"))


SAVED = [source.name for source in list_saved_outputs()]
st.title(t("tokenizer.title"))
st.write(t("tokenizer.intro"))
restore_state()
text = st.text_area(t("tokenizer.text_label"), key=TEXT_KEY, height=110)
st.caption(
    t("tokenizer.limit", limit=f"{MAX_TOKENIZE_CHARS:,}", url_limit=f"{MAX_URL_TEXT_CHARS:,}")
)
level = st.radio(
    t("tokenizer.level"),
    LEVELS,
    # Labels in a dict, not t() in a lambda: AppTest calls format_func outside the run.
    format_func={name: t(f"tokenizer.level.{name}") for name in LEVELS}.__getitem__,
    horizontal=True,
    key=LEVEL_KEY,
)
share_state(text, level)

spec = usable_spec(selected_model_spec())
try:
    tokenization = tokenize_with(spec, text)
except LLMCoreError as error:
    st.error(str(error))
    st.stop()

st.markdown(t("tokenizer.tokenizer_of", name=spec_label(spec)))
n_characters = count_characters(text)
figures = (
    ("tokens", f"{tokenization.n_tokens:,}"),
    ("characters", f"{n_characters:,}"),
    ("words", f"{count_words(text):,}"),
    ("ratio", f"{tokenization.n_tokens / n_characters:.2f}"),
)
for column, (name, value) in zip(st.columns(len(figures)), figures, strict=True):
    help_key = f"tokenizer.metric_{name}_help"
    column.metric(
        t(f"tokenizer.metric_{name}"), value, help=t(help_key) if help_key in CATALOG else None
    )

example = fragment_example(tokenization)
if example:
    st.info(t("tokenizer.fragments", **example))
show_chips(tokenization, MAX_CHIPS, "tokenizer.hidden")
st.caption(t("tokenizer.legend", unit=t(f"tokenizer.level.{level}")))

st.subheader(t("tokenizer.table_heading"))
table = token_table(tokenization)
st.dataframe(
    pd.DataFrame({t(f"tokenizer.col_{name}"): values for name, values in table.items()}),
    hide_index=True,
    width="stretch",
    height=min(36 + 35 * tokenization.n_tokens, 400),
)

st.subheader(t("tokenizer.compare_heading"))
st.caption(t("tokenizer.compare_intro"))
options = list(dict.fromkeys([DEFAULT_SPEC, spec, *SAVED]))  # the sidebar's model too
restore_compare(options)
picked = st.multiselect(
    t("tokenizer.compare_pick"),
    options,
    format_func={option: spec_label(option) for option in options}.__getitem__,
    max_selections=MAX_COMPARED,
    key=COMPARE_KEY,
)
typed = st.text_input(
    t("tokenizer.compare_custom"), key=CUSTOM_KEY, help=t("tokenizer.compare_custom_help")
).strip()
st.session_state[f"{COMPARE_KEY}_kept"] = picked
specs = [*picked, typed] if typed and typed not in picked else picked
if not specs:
    st.info(t("tokenizer.compare_empty"))
for column, compared in zip(st.columns(len(specs)) if specs else [], specs, strict=True):
    with column:
        st.markdown(f"**{spec_label(compared)}**")
        try:
            result = tokenize_with(compared, text)
        except LOAD_ERRORS as error:
            st.error(t("tokenizer.compare_failed", error=error))
            continue
        ratio = f"{result.n_tokens / n_characters:.2f}"
        st.markdown(t("tokenizer.compare_counts", tokens=f"{result.n_tokens:,}", ratio=ratio))
        show_chips(result, MAX_COMPARE_CHIPS, "tokenizer.hidden_short")
