"""Tokenizer: coloured token chips, counts, a table of every token, and tokenizers compared."""

import pandas as pd
import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.default_model import DEFAULT_SPEC
from llm_core.models.specs import list_saved_outputs
from llm_core.text.summary import count_characters, count_words, fragment_example, token_table
from llm_core.text.tokens import LEVELS, MAX_TOKENIZE_CHARS, Tokenization
from ui.catalog import CATALOG
from ui.i18n import t
from ui.sidebar import selected_model_spec
from ui.token_chips import MAX_CHIPS, tokenization_html
from ui.tokenizer_state import (
    COMPARE_KEY,
    CUSTOM_KEY,
    LEVEL_KEY,
    LOAD_ERRORS,
    MAX_COMPARED,
    MAX_URL_TEXT_CHARS,
    TEXT_KEY,
    keep_compare,
    restore_compare,
    restore_state,
    share_state,
    spec_label,
    tokenize_with,
    usable_spec,
)

MAX_COMPARE_CHIPS = 400  # per column: narrow columns get long fast


def show_chips(tokenization: Tokenization, level: str, max_chips: int, note_key: str) -> None:
    tips = {"special": t("tokenizer.special_tip"), "fragment": t("tokenizer.fragment_tip")}
    chips = tokenization_html(tokenization, level, max_chips, tips)
    st.html(chips.html)
    if chips.shown < chips.total:
        st.caption(t(note_key, shown=f"{chips.shown:,}", total=f"{chips.total:,}"))


saved = [source.name for source in list_saved_outputs()]
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

st.markdown(t("tokenizer.tokenizer_of", name=spec_label(spec, saved)))
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
show_chips(tokenization, level, MAX_CHIPS, "tokenizer.hidden")
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
options = list(dict.fromkeys([DEFAULT_SPEC, spec, *saved]))  # the sidebar's model too
restore_compare(options)
picked = st.multiselect(
    t("tokenizer.compare_pick"),
    options,
    format_func={option: spec_label(option, saved) for option in options}.__getitem__,
    max_selections=MAX_COMPARED,
    key=COMPARE_KEY,
)
typed = st.text_input(
    t("tokenizer.compare_custom"), key=CUSTOM_KEY, help=t("tokenizer.compare_custom_help")
).strip()
keep_compare(picked)
specs = [*picked, typed] if typed and typed not in picked else picked
if not specs:
    st.info(t("tokenizer.compare_empty"))
for column, compared in zip(st.columns(len(specs)) if specs else [], specs, strict=True):
    with column:
        st.markdown(f"**{spec_label(compared, saved)}**")
        try:
            result = tokenize_with(compared, text)
        except LOAD_ERRORS as error:
            st.error(t("tokenizer.compare_failed", error=error))
            continue
        ratio = f"{result.n_tokens / n_characters:.2f}"
        st.markdown(t("tokenizer.compare_counts", tokens=f"{result.n_tokens:,}", ratio=ratio))
        show_chips(result, level, MAX_COMPARE_CHIPS, "tokenizer.hidden_short")
