"""What the three interpret pages compute, shared by sessions: an attribution with the
last position's attention, a patching map of a prompt pair, and a comparison of
two models.

Each is one call on the model's worker (``llm_core.serving``), cached per inputs as a
ticket (``ui.serving.shared_call``): a class that opens the page with the same example
computes it once, and a rerun that changes nothing runs nothing. Choosing the level, the
attention source or the head only re-reads the cached result.
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from llm_core.generation.perplexity import start_token_of
from llm_core.interpret.attention_agreement import LastRows, last_position_attention
from llm_core.interpret.attribution import Attribution, attribute
from llm_core.interpret.comparison import Comparison, compare
from llm_core.interpret.patching import Patching, patch
from llm_core.interpret.prompts import prepare_prompt
from llm_core.models.loading import LoadedModel
from llm_core.serving.tickets import Ticket
from llm_core.serving.worker import worker_for
from ui.model_loader import _load_cached
from ui.serving import shared_call

CACHE_TTL_S = 3600
MAX_CACHED_RESULTS = 32


class Explained(NamedTuple):
    attribution: Attribution
    attention: LastRows


def _attribute(
    loaded: LoadedModel, text: str, target: str | int | None, method: str, steps: int
) -> Attribution:
    return attribute(
        loaded, prepare_prompt(loaded, text, start_token_of(loaded)), target, method, steps
    )


def _attention(loaded: LoadedModel, text: str) -> LastRows:
    return last_position_attention(loaded, prepare_prompt(loaded, text, start_token_of(loaded)).ids)


def _patch(
    loaded: LoadedModel, clean: str, corrupt: str, target: str | None, component: str
) -> Patching:
    start = start_token_of(loaded)
    pair = prepare_prompt(loaded, clean, start), prepare_prompt(loaded, corrupt, start)
    return patch(loaded, *pair, target, component)


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _attribution_ticket(
    spec: str, text: str, target: str | int | None, method: str, steps: int
) -> Ticket:
    loaded = _load_cached(spec)
    return worker_for(loaded).submit_call(
        _attribute, text, target, method, steps, label="attribution"
    )


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _attention_ticket(spec: str, text: str) -> Ticket:
    """The last position's attention, once per text: another method or target reuses it."""
    return worker_for(_load_cached(spec)).submit_call(_attention, text, label="attention")


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _patch_ticket(
    spec: str, clean: str, corrupt: str, target: str | None, component: str
) -> Ticket:
    loaded = _load_cached(spec)
    return worker_for(loaded).submit_call(
        _patch, clean, corrupt, target, component, label=f"patching-{component}"
    )


@st.cache_resource(max_entries=MAX_CACHED_RESULTS, ttl=CACHE_TTL_S, show_spinner=False)
def _compare_ticket(spec: str, other: str, text: str, head: tuple[int, int]) -> Ticket:
    loaded = _load_cached(spec)
    b = loaded if other == spec else _load_cached(other)  # a bad spec fails here, with its message
    return worker_for(loaded).submit_call(compare, b, text, head, (spec, other), label="compare")


def explained(spec: str, text: str, target: str | int | None, method: str, steps: int) -> Explained:
    """The attribution of ``text`` for ``target`` and the last position's attention."""
    attribution = shared_call(_attribution_ticket, spec, text, target, method, steps)
    return Explained(attribution, shared_call(_attention_ticket, spec, text))


def patched(spec: str, clean: str, corrupt: str, target: str | None, component: str) -> Patching:
    """The patching of every (layer, position) of ``component`` for the pair (each
    component is its own call: one costs layers x positions runs of the prompt)."""
    return shared_call(_patch_ticket, spec, clean, corrupt, target, component)


def compared(spec: str, other: str, text: str, head: tuple[int, int]) -> Comparison:
    """Model ``spec`` against ``other`` on ``text``, with ``head``'s attention difference."""
    return shared_call(_compare_ticket, spec, other, text, head)
