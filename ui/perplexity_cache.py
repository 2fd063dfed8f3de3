"""What the Perplexity page computes, cached and shared by sessions: a text's ids, its
surprisal with the chip text of every token, and its logit lens with readable tokens.

Model work goes through the model's worker (``llm_core.serving``) as shared calls
(``ui.serving``): the surprisal once per (model, ids), the lens once per (model, ids,
position), always with ``LENS_K`` ranks, so choosing how many ranks to show only slices
the cached result, and a rerun that changes nothing runs nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

from llm_core.generation.logit_lens import LogitLens, logit_lens
from llm_core.generation.perplexity import PerplexityResult, perplexity, start_token_of
from llm_core.generation.perplexity import text_ids_after as engine_text_ids
from llm_core.models.loading import LoadedModel
from llm_core.serving.tickets import Ticket
from llm_core.serving.worker import worker_for
from llm_core.text.pieces import labelled_pieces, readable_tokens
from ui.model_loader import _load_cached
from ui.serving import shared_call

CACHE_TTL_S = 3600
LENS_K = 10  # ranks computed per layer; the page shows up to this many
MAX_CACHED_RESULTS = 32
MAX_CACHED_TEXTS = 256


class Scored(NamedTuple):
    """The surprisal of a text and what its chips show: ``pieces[i]`` the text token i
    completes ("" for a byte fragment), ``labels[i]`` its chip's text."""

    result: PerplexityResult
    pieces: tuple[str, ...]
    labels: tuple[str, ...]


class Lens(NamedTuple):
    """The logit lens and its tokens made readable: ``readable[layer][rank]``."""

    lens: LogitLens
    readable: tuple[tuple[str, ...], ...]


@st.cache_data(max_entries=MAX_CACHED_TEXTS, ttl=CACHE_TTL_S, show_spinner=False)
def start_token_choices(spec: str) -> list[str]:
    """[a document-start token, ""] ("" = none), or [] when the tokenizer adds a start
    token itself or has none to offer."""
    token = start_token_of(_load_cached(spec))
    return [token, ""] if token else []


@st.cache_data(max_entries=MAX_CACHED_TEXTS, ttl=CACHE_TTL_S, show_spinner=False)
def text_ids(spec: str, text: str, start_token: str) -> tuple[int, ...]:
    """The text's ids as the engine makes them, after ``start_token`` if given; raises
    ``InputError`` for an empty or over-long text."""
    return tuple(engine_text_ids(_load_cached(spec), text, start_token or None))


def _scored(loaded: LoadedModel, ids: list[int]) -> Scored:
    return Scored(perplexity(loaded, ids), *labelled_pieces(loaded, ids))


def _lens(loaded: LoadedModel, ids: list[int], position: int) -> Lens:
    lens = logit_lens(loaded, ids, position=position, k=LENS_K)
    flat = readable_tokens(loaded, np.asarray(lens.top_ids).ravel().tolist())
    k = lens.top_ids.shape[1]
    return Lens(lens, tuple(flat[i : i + k] for i in range(0, len(flat), k)))


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _scored_ticket(spec: str, ids: tuple[int, ...]) -> Ticket:
    return worker_for(_load_cached(spec)).submit_call(_scored, list(ids), label="perplexity")


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _lens_ticket(spec: str, ids: tuple[int, ...], position: int) -> Ticket:
    loaded = _load_cached(spec)
    return worker_for(loaded).submit_call(_lens, list(ids), position, label="logit_lens")


def scored(spec: str, ids: tuple[int, ...]) -> Scored:
    """The surprisal of ``ids`` (waiting in the worker's queue, its place shown)."""
    return shared_call(_scored_ticket, spec, ids)


def lens_at(spec: str, ids: tuple[int, ...], position: int) -> Lens:
    """The logit lens of ``ids`` at ``position`` (see ``scored``)."""
    return shared_call(_lens_ticket, spec, ids, position)
