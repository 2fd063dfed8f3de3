"""What the Attention page keeps between runs: cached attention (the model runs once per
(model, text, layers); changing layer, head, level or view only re-slices the cached
capture) and the page's view state (session and address bar).

Inputs of up to ``FULL_CAPTURE_MAX_TOKENS`` tokens are captured with every layer in full
(``layers=None``), so nothing the page offers ever runs the model again. Longer inputs keep
only the chosen layer in full (``layers=(layer,)``, part of the cache key): choosing another
layer runs the model once more, and head means, rollout and head statistics (which the
engine always keeps for every layer) stay available.

Captures are shared by every session through ``st.cache_resource`` (their arrays are
read-only), bounded by size class: many small ones, few large ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from llm_core.attention import capture as attention
from llm_core.attention.capture import FULL_CAPTURE_MAX_TOKENS, AttentionCapture
from llm_core.attention.reductions import aggregate
from llm_core.attention.stats import STAT_NAMES
from llm_core.models.default_model import DEFAULT_SPEC
from llm_core.plots.attention import MAX_GRID_SIZE
from llm_core.plots.heatmaps import MAX_HEATMAP_SIZE, fit_matrix
from llm_core.text.tokens import LEVELS, Tokenization, tokenize
from ui.model_loader import _load_cached

REDUCTIONS = ("head", "mean_heads", "mean_layers", "rollout")
CACHE_TTL_S = 3600
# A short capture of the default model takes at most ~75 MB (30 x 9 x 256^2 float32);
# a long one up to ~0.7 GB (one layer in full, float16 head means of every layer).
MAX_SHORT_CAPTURES = 16
MAX_LONG_CAPTURES = 2


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


def capture_layers(n_tokens: int, layer: int) -> tuple[int, ...] | None:
    """Which layers to keep in full: all (None) for short inputs, else the chosen one."""
    return None if n_tokens <= FULL_CAPTURE_MAX_TOKENS else (layer,)


@st.cache_resource(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def tokenization_of(spec: str, text: str) -> Tokenization:
    """``text`` tokenized by the model's tokenizer; raises ``InputError`` for bad text."""
    loaded = _load_cached(spec)
    with loaded.lock:  # fast tokenizers are not safe to call from several threads at once
        return tokenize(loaded.tokenizer, text)


def _capture(spec: str, text: str, layers: tuple[int, ...] | None) -> AttentionCapture:
    loaded = _load_cached(spec)
    ids = tokenization_of(spec, text).ids
    return attention.capture_attention(loaded, ids, None if layers is None else list(layers))


@st.cache_resource(max_entries=MAX_SHORT_CAPTURES, ttl=CACHE_TTL_S, show_spinner=False)
def _short_capture(spec: str, text: str) -> AttentionCapture:
    return _capture(spec, text, None)


@st.cache_resource(max_entries=MAX_LONG_CAPTURES, ttl=CACHE_TTL_S, show_spinner=False)
def _long_capture(spec: str, text: str, layers: tuple[int, ...]) -> AttentionCapture:
    return _capture(spec, text, layers)


def attention_of(spec: str, text: str, layer: int) -> tuple[Tokenization, AttentionCapture]:
    """Tokens and attention of ``text``, from the cache when possible.

    Raises ``LLMCoreError`` (``InputError`` for empty or over-long text).
    """
    tokenization = tokenization_of(spec, text)
    layers = capture_layers(tokenization.n_tokens, layer)
    if layers is None:
        return tokenization, _short_capture(spec, text)
    return tokenization, _long_capture(spec, text, layers)


def reduce(
    capture: AttentionCapture, reduction: str, layer: int, head: int
) -> np.ndarray:  # [query_pos, key_pos]
    """The token-level matrix of one of ``REDUCTIONS``."""
    if reduction == "head":
        return capture.head(layer, head)
    if reduction == "mean_heads":
        return capture.mean_heads[layer]
    if reduction == "mean_layers":
        return capture.mean_layers()
    if reduction == "rollout":
        return capture.rollout
    raise ValueError(f"unknown reduction {reduction!r}; use one of {REDUCTIONS}")


def full_matrix(
    tokenization: Tokenization,
    capture: AttentionCapture,
    level: str,
    reduction: str,
    layer: int,
    head: int,
) -> np.ndarray:  # [query_unit, key_unit]
    """Attention between the units of ``level`` for one of ``REDUCTIONS`` (pure numpy)."""
    return _grouped(tokenization, level, reduce(capture, reduction, layer, head))


def _grouped(tokenization: Tokenization, level: str, weights: np.ndarray) -> np.ndarray:
    if level == "token":  # one group per token: nothing to add up
        return np.asarray(weights, dtype=np.float32)
    return aggregate(weights, [g.tokens for g in tokenization.groups(level)])


@st.cache_data(max_entries=128, ttl=CACHE_TTL_S, show_spinner=False)
def attention_view(
    spec: str, text: str, level: str, reduction: str, layer: int, head: int
) -> AttentionView:
    """The matrix drawn for these choices, pooled to at most ``MAX_HEATMAP_SIZE`` units
    per side (so a cached view stays under ~0.3 MB)."""
    tokenization, capture = attention_of(spec, text, layer)
    labels = tokenization.labels(level)
    full = full_matrix(tokenization, capture, level, reduction, layer, head)
    matrix, shown_labels, block = fit_matrix(full, labels, MAX_HEATMAP_SIZE)
    return AttentionView(matrix, shown_labels, block, labels)


@st.cache_data(max_entries=32, ttl=CACHE_TTL_S, show_spinner=False)
def head_grid(spec: str, text: str, level: str, layer: int) -> tuple[np.ndarray, list[str]]:
    """Every head of ``layer`` at ``level``: [head, query_unit, key_unit] (pooled to at
    most ``MAX_GRID_SIZE`` per side) and the unit labels."""
    tokenization, capture = attention_of(spec, text, layer)
    weights = _grouped(tokenization, level, capture.layer(layer))
    matrix, labels, _block = fit_matrix(weights, tokenization.labels(level), MAX_GRID_SIZE)
    return matrix, labels


# ---------------------------------------------------------------------------- view state

# Widget keys and their defaults; the text's default comes from the catalog.
DEFAULT_VIEW = {
    "attn_level": "word",
    "attn_reduction": "head",
    "attn_layer": 3,
    "attn_head": 2,
    "attn_stat": STAT_NAMES[0],
}
URL_KEYS = {  # query parameter -> widget key: a copied link reproduces the view
    "text": "attn_text",
    "level": "attn_level",
    "view": "attn_reduction",
    "layer": "attn_layer",
    "head": "attn_head",
}
ALLOWED = {"attn_level": LEVELS, "attn_reduction": REDUCTIONS, "attn_stat": STAT_NAMES}
MAX_URL_TEXT_CHARS = 1_000  # longer texts stay out of the address bar
KEPT_KEY = "attn_kept"


def restore_view(defaults: dict[str, object], n_layers: int, n_heads: int) -> None:
    """Fill the page's widget state before the widgets are drawn: from a shared link on
    the session's first visit, afterwards from the values kept by ``keep_view`` (Streamlit
    forgets a widget's state while another page shows). Bad values fall back to defaults;
    layer and head are clamped to the model. Call it before the widgets are drawn."""
    first_visit = KEPT_KEY not in st.session_state
    kept = st.session_state.setdefault(KEPT_KEY, {})
    if first_visit:
        kept.update(
            {key: st.query_params[p] for p, key in URL_KEYS.items() if p in st.query_params}
        )
    for key, default in defaults.items():
        value = st.session_state[key] if key in st.session_state else kept.get(key, default)
        if key in ALLOWED and value not in ALLOWED[key]:
            value = default
        # Set even an unchanged value: a selectbox or radio remembers its choice by the
        # label it showed, so after a language switch only a value set here survives.
        st.session_state[key] = value
    for key, count in (("attn_layer", n_layers), ("attn_head", n_heads)):
        value = str(st.session_state[key])
        st.session_state[key] = min(int(value) if value.isdigit() else defaults[key], count - 1)


def keep_view(spec: str, keys: list[str]) -> None:
    """Remember the widget values for the next visit and mirror them in the address bar."""
    st.session_state[KEPT_KEY] = {key: st.session_state[key] for key in keys}
    params = {p: str(st.session_state[key]) for p, key in URL_KEYS.items()}
    if len(params["text"]) > MAX_URL_TEXT_CHARS:
        del params["text"]
    if spec != DEFAULT_SPEC:
        params["model"] = spec
    for stale in ({"text", "model"} - set(params)) & set(st.query_params):
        del st.query_params[stale]
    st.query_params.update(params)
