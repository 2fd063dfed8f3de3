"""What the Perplexity page computes, cached: a text's surprisal and its logit lens.

The model runs once per (model, token ids) for the surprisal and once per (model, ids,
position) for the lens, always with ``LENS_K`` ranks; choosing how many ranks to show
only slices the cached result. Results are shared by sessions (read-only arrays).

A tokenizer that adds no start token (SmolLM2) leaves the first word without a
prediction, and the model reads a document that starts mid-stream: "cat" after a bare
"The" costs 14 nats. ``start_token_choices`` offers the document separator the model was
trained with, so the first word is predicted from a proper start.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from llm_core.logit_lens import LogitLens, logit_lens
from llm_core.perplexity import (
    MAX_PERPLEXITY_TOKENS,
    PerplexityResult,
    encode_text,
    perplexity,
)
from ui.model_loader import _load_cached

CACHE_TTL_S = 3600
LENS_K = 10  # ranks computed per layer; the page shows up to this many
MAX_CACHED_RESULTS = 32
DOCUMENT_SEPARATORS = ("<|endoftext|>", "</s>", "<s>", "<|begin_of_text|>")


def start_token_choices(tokenizer: Any) -> list[str]:
    """[a document-start token, ""] ("" = none), or [] when the tokenizer adds a start
    token itself or has none to offer."""
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    if len(probe) > len(tokenizer("a", add_special_tokens=False)["input_ids"]):
        return []
    vocabulary = tokenizer.get_vocab()
    found = [token for token in (*DOCUMENT_SEPARATORS, tokenizer.bos_token) if token in vocabulary]
    return [found[0], ""] if found else []


def text_ids(spec: str, text: str, start_token: str) -> tuple[int, ...]:
    """The text's ids as the engine makes them, after ``start_token`` if given; raises
    ``InputError`` for an empty or over-long text."""
    loaded = _load_cached(spec)
    with loaded.lock:  # fast tokenizers are not safe to call from several threads at once
        ids = encode_text(loaded, text, MAX_PERPLEXITY_TOKENS)
        if start_token:
            ids.insert(0, loaded.tokenizer.convert_tokens_to_ids(start_token))
    return tuple(ids)


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def cached_perplexity(spec: str, ids: tuple[int, ...]) -> PerplexityResult:
    return perplexity(_load_cached(spec), list(ids))


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def cached_lens(spec: str, ids: tuple[int, ...], position: int) -> LogitLens:
    return logit_lens(_load_cached(spec), list(ids), position=position, k=LENS_K)
