"""Translation: ``t(key, **values)`` looks a string up in the catalog for the chosen language."""

from __future__ import annotations

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
