"""Traces shared by every session, and the small views read from them.

One ``TraceStore`` per process (memory-bounded, least recently used out first; see
``llm_core.attention.trace_store``) holds each (model, text)'s trace, 7 MB at 107 tokens
and 147 MB at 2,048 for the default model, and, once a view needs every layer, its
summary. The views drawn (a pooled matrix, a layer's head grid, a head's role) are small
and cached per choice with ``st.cache_data``, so switching back is free. Nothing here
decides anything: the engine computes, this module remembers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from llm_core.attention.matrices import (
    AttentionMatrix,
    attention_matrix,
    group_matrix,
    role_of_head,
    view_of,
)
from llm_core.attention.recompute import layer_attention
from llm_core.attention.stats import HeadRole
from llm_core.attention.summary import (
    QUICK_SUMMARY_TOKENS,
    AttentionSummary,
    LayerProgress,
    summarize_attention,
)
from llm_core.attention.trace import (
    TRACE_BATCH_BUDGET,
    Trace,
    run_trace,
    run_traces,
    trace_batch_tokens,
)
from llm_core.attention.trace_store import TraceStore
from llm_core.plots.attention import MAX_GRID_SIZE
from llm_core.plots.heatmaps import MAX_HEATMAP_SIZE, fit_matrix
from llm_core.serving.worker import Together, worker_for
from llm_core.text.tokens import Tokenization, tokenize_with
from ui.model_loader import _load_cached
from ui.serving import follow

CACHE_TTL_S = 3600


@dataclass(frozen=True)
class AttentionView:
    """The matrix the page draws: ``matrix`` [query_unit, key_unit], one label per unit.

    ``block`` > 1 means each cell pools that many consecutive units (see ``fit_matrix``);
    ``full_labels`` names every unit (``full_matrix`` gives their values, for downloads).
    """

    matrix: np.ndarray  # [query_unit, key_unit], at most MAX_HEATMAP_SIZE per side
    labels: list[str]
    block: int
    full_labels: list[str]


@st.cache_resource(show_spinner=False)
def trace_store() -> TraceStore:
    """The process's one store of traces and summaries, shared by every session."""
    return TraceStore()


def _key(kind: str, spec: str, text: str) -> tuple:
    # id(): a model evicted from the loader's cache and loaded again gets new entries
    return kind, spec, id(_load_cached(spec)), text


@st.cache_resource(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def tokens_of(spec: str, text: str) -> Tokenization:
    """``text`` tokenized by the model's tokenizer; raises ``InputError`` for bad text."""
    return tokenize_with(_load_cached(spec), text)


def trace_of(spec: str, text: str) -> Trace:
    """The trace of ``text``: from the store, or one forward pass (shared by sessions
    asking at the same moment) queued on the model's worker, so it takes its turn with
    the class's generations; the page shows its place while it waits. Raises
    ``LLMCoreError`` (``InputError`` for bad text)."""
    return _stored_trace(spec, text, "trace")


def trace_through(spec: str, text: str, layer: int) -> Trace:
    """A trace holding layer ``layer``: the whole one if kept. A text over
    ``QUICK_SUMMARY_TOKENS`` tokens whose whole trace is not kept yet gets a partial one
    that stops at that layer (a fraction of the pass: 4 of 30 layers for layer 3), so
    its first view comes before the rest of the model has run; ``trace_of`` then runs
    the whole pass for every other view. Layer inputs are the same either way."""
    whole = trace_store().peek(_key("trace", spec, text))
    if whole is not None:
        return whole
    last = _load_cached(spec).description.n_layers - 1
    if tokens_of(spec, text).n_tokens <= QUICK_SUMMARY_TOKENS or layer >= last:
        return trace_of(spec, text)
    return _stored_trace(spec, text, f"through layer {layer}", layer)


def first_trace(spec: str, text: str, reduction: str, layer: int) -> bool:
    """Before the page draws: the trace its first view reads (``trace_through`` for a
    one-layer view, else the whole one). True when that was a partial pass, so the page
    must still call ``trace_of`` once the view is drawn."""
    layer_read = view_of(reduction, layer, None)[0]
    if layer_read is None:
        trace_of(spec, text)
        return False
    return not trace_through(spec, text, layer_read).complete


def _stored_trace(spec: str, text: str, kind: str, *through_layer: int) -> Trace:
    """From the store under ``kind``, or ``run_trace`` on the model's worker (through
    ``through_layer`` if given), waited for with the queue place shown."""
    loaded = _load_cached(spec)
    ids = tokens_of(spec, text).ids
    size = trace_batch_tokens(ids, *through_layer)  # short texts run with others waiting
    together = None if size is None else Together(run_traces, ids, size, TRACE_BATCH_BUDGET)
    submit = worker_for(loaded).submit_call
    run = lambda: follow(submit(run_trace, ids, *through_layer, label="trace", together=together))  # noqa: E731
    return trace_store().get(_key(kind, spec, text), run)


def summary_of(spec: str, text: str, progress: LayerProgress | None = None) -> AttentionSummary:
    """Every layer of the trace folded (statistics, mean over layers, rollout)."""
    loaded, trace = _load_cached(spec), trace_of(spec, text)
    compute = lambda: summarize_attention(loaded, trace, progress)  # noqa: E731
    return trace_store().get(_key("summary", spec, text), compute)


def has_summary(spec: str, text: str) -> bool:
    return trace_store().peek(_key("summary", spec, text)) is not None


def full_matrix(
    spec: str, text: str, level: str, reduction: str, layer: int, head: int
) -> AttentionMatrix:
    """The view between every unit (not pooled): what the downloads hold."""
    layer_read, head_read = view_of(reduction, layer, head)
    one_layer = layer_read is not None
    trace = trace_through(spec, text, layer_read) if one_layer else trace_of(spec, text)
    loaded, tokens = _load_cached(spec), tokens_of(spec, text)
    summary = None if one_layer else summary_of(spec, text)
    return attention_matrix(loaded, trace, tokens, level, reduction, layer_read, head_read, summary)


@st.cache_data(max_entries=128, ttl=CACHE_TTL_S, show_spinner=False)
def attention_view(
    spec: str, text: str, level: str, reduction: str, layer: int, head: int
) -> AttentionView:
    """The matrix drawn for these choices, pooled to at most ``MAX_HEATMAP_SIZE`` units
    per side (so a cached view stays under ~0.3 MB). Mean over layers and rollout read
    the summary: the page computes it first, with progress."""
    full = full_matrix(spec, text, level, reduction, layer, head)
    matrix, shown_labels, block = fit_matrix(full.weights, full.labels, MAX_HEATMAP_SIZE)
    return AttentionView(matrix, shown_labels, block, list(full.labels))


@st.cache_data(max_entries=32, ttl=CACHE_TTL_S, show_spinner=False)
def head_grid(spec: str, text: str, level: str, layer: int) -> tuple[np.ndarray, list[str]]:
    """Every head of ``layer`` at ``level``: [head, query_unit, key_unit] (pooled to at
    most ``MAX_GRID_SIZE`` per side) and the unit labels."""
    tokens = tokens_of(spec, text)
    weights = layer_attention(_load_cached(spec), trace_through(spec, text, layer), layer)
    grouped = group_matrix(tokens, level, weights)
    matrix, labels, _block = fit_matrix(grouped, tokens.labels(level), MAX_GRID_SIZE)
    return matrix, labels


@st.cache_data(max_entries=256, ttl=CACHE_TTL_S, show_spinner=False)
def head_role(spec: str, text: str, layer: int, head: int) -> HeadRole:
    """What one head mostly attends to, from that head alone."""
    return role_of_head(_load_cached(spec), trace_through(spec, text, layer), layer, head)
