"""What the Perplexity page computes, cached: a text's surprisal and its logit lens.

The model runs once per (model, token ids) for the surprisal and once per (model, ids,
position) for the lens, always with ``LENS_K`` ranks; choosing how many ranks to show
only slices the cached result. Results are shared by sessions (read-only arrays).

``start_token_choices`` offers the document separator the model was trained with (see
``llm_core.generation.perplexity.document_start_token``), or none.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from llm_core.generation.logit_lens import LogitLens, logit_lens
from llm_core.generation.perplexity import (
    PerplexityResult,
    document_start_token,
    perplexity,
    text_ids_after,
)
from ui.model_loader import _load_cached

CACHE_TTL_S = 3600
LENS_K = 10  # ranks computed per layer; the page shows up to this many
MAX_CACHED_RESULTS = 32


def start_token_choices(tokenizer: Any) -> list[str]:
    """[a document-start token, ""] ("" = none), or [] when the tokenizer adds a start
    token itself or has none to offer."""
    token = document_start_token(tokenizer)
    return [token, ""] if token else []


def text_ids(spec: str, text: str, start_token: str) -> tuple[int, ...]:
    """The text's ids as the engine makes them, after ``start_token`` if given; raises
    ``InputError`` for an empty or over-long text."""
    return tuple(text_ids_after(_load_cached(spec), text, start_token or None))


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def cached_perplexity(spec: str, ids: tuple[int, ...]) -> PerplexityResult:
    return perplexity(_load_cached(spec), list(ids))


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def cached_lens(spec: str, ids: tuple[int, ...], position: int) -> LogitLens:
    return logit_lens(_load_cached(spec), list(ids), position=position, k=LENS_K)
