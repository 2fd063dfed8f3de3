"""The sidebar every page shares: language switch and model picker."""

from __future__ import annotations

import streamlit as st

from llm_core.models.default_model import DEFAULT_SPEC
from llm_core.models.specs import list_saved_outputs
from ui.catalog import LANGUAGES
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGE_KEY, current_language, t

CUSTOM_CHOICE = "__custom__"
MODEL_SPEC_KEY = "model_spec"
# The chosen entry of the picker; kept outside the widget so it survives language switches.
CHOICE_KEY = "model_choice"


def render_language_switch() -> None:
    st.sidebar.radio(
        "Language / 语言",  # bilingual on purpose: it must be readable before a choice is made
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        horizontal=True,
        key=LANGUAGE_KEY,
        index=list(LANGUAGES).index(DEFAULT_LANGUAGE),
    )


def _choice_label(choice: str) -> str:
    if choice == DEFAULT_SPEC:
        return t("sidebar.model_default")
    if choice == CUSTOM_CHOICE:
        return t("sidebar.model_custom")
    return t("sidebar.model_output", name=choice)


def _apply_model_from_url(choices: list[str]) -> None:
    """A shared link (?model=...) picks the model on a session's first run only."""
    if CHOICE_KEY in st.session_state or "model" not in st.query_params:
        return
    wanted = st.query_params["model"]
    if wanted in choices:
        st.session_state[CHOICE_KEY] = wanted
    else:
        st.session_state[CHOICE_KEY] = CUSTOM_CHOICE
        st.session_state["model_custom"] = wanted


def _keep_choice(widget_key: str) -> None:
    st.session_state[CHOICE_KEY] = st.session_state[widget_key]


def render_model_picker() -> str:
    """Show the picker and return the chosen model spec (also kept in session state)."""
    choices = [DEFAULT_SPEC, *(source.name for source in list_saved_outputs()), CUSTOM_CHOICE]
    _apply_model_from_url(choices)
    if st.session_state.get(CHOICE_KEY) not in choices:
        st.session_state[CHOICE_KEY] = DEFAULT_SPEC  # e.g. a saved output was deleted
    # Labels resolved now, in this run's language: format_func may be called later,
    # outside the run (AppTest does), where t() would not see the session's language.
    labels = {choice: _choice_label(choice) for choice in choices}
    # One widget per language: the browser keeps a select box's shown label when only
    # the labels change, so a new widget is drawn, seeded from the kept choice.
    widget_key = f"{CHOICE_KEY}_{current_language()}"
    st.session_state[widget_key] = st.session_state[CHOICE_KEY]
    choice = st.sidebar.selectbox(
        t("sidebar.model"),
        choices,
        format_func=labels.__getitem__,
        key=widget_key,
        on_change=_keep_choice,
        args=(widget_key,),
    )
    spec = choice
    if choice == CUSTOM_CHOICE:
        typed = st.sidebar.text_input(
            t("sidebar.custom_spec"), key="model_custom", help=t("sidebar.custom_help")
        ).strip()
        if not typed:
            st.sidebar.caption(t("sidebar.custom_empty"))
        spec = typed or DEFAULT_SPEC
    st.session_state[MODEL_SPEC_KEY] = spec
    return spec


def selected_model_spec() -> str:
    return st.session_state.get(MODEL_SPEC_KEY, DEFAULT_SPEC)
