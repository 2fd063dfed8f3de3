"""Translation: ``t(key, **values)`` looks a string up in the catalog for the chosen language."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui.catalog import CATALOG, LANGUAGES

LANGUAGE_KEY = "lang"
DEFAULT_LANGUAGE = "en"


def current_language() -> str:
    lang = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **values: object) -> str:
    """The string for ``key`` in the current language, formatted with ``values``.

    A missing key is a bug, so it raises rather than showing the key to a user.
    """
    text = CATALOG[key][current_language()]
    return text.format(**values) if values else text


def template(key: str) -> str:
    """The unformatted string for ``key``: for templates the engine fills in itself."""
    return CATALOG[key][current_language()]


def labels(prefix: str, options: Sequence[str]) -> dict[str, str]:
    """Option labels resolved in this run's language, for a widget's ``format_func``: a
    dict, not ``t()`` in a lambda, because AppTest calls ``format_func`` again outside the
    run (where ``t`` is English)."""
    return {option: t(f"{prefix}.{option}") for option in options}


def keep_choice(key: str, default: object, options: Sequence[object] | None = None) -> None:
    """Re-send a radio's value before it is drawn: it then survives a language switch (a
    radio otherwise loses its choice when its labels change) and a visit to another page.
    With ``options``, a kept value no longer among them falls back to ``default``."""
    kept = st.session_state.get(key, st.session_state.get(f"{key}_kept", default))
    if options is not None and kept not in options:
        kept = default
    st.session_state[key] = st.session_state[f"{key}_kept"] = kept


def choice_radio(
    label: str, prefix: str, options: Sequence[str], key: str, default: str | None = None
) -> str:
    """A horizontal radio over ``options`` labelled ``t(f"{prefix}.{option}")`` that keeps
    its choice across a language switch and a visit elsewhere (``keep_choice``)."""
    keep_choice(key, options[0] if default is None else default, options)
    names = labels(prefix, options)
    return st.radio(label, options, format_func=names.__getitem__, horizontal=True, key=key)
