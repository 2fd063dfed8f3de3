"""The attention formula, softmax(QK^T / sqrt(d_k)) V, worked step by step.

Two modes, both returning frozen dataclasses of float64 numpy arrays:

- ``attention_steps``: toy vectors (by default the four words 我 爱 吃 苹果 in 3 dimensions)
  through every intermediate matrix, optionally split into several heads.
- ``recompute_head``: the real Q and K of one head of a loaded model (after the model's own
  position encoding), the attention recomputed from them, and the attention the model
  itself reported, with their largest difference.

Convention: tokens are rows, so Q = X @ W_Q with W_Q of shape [d_model, d_model].
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.attention.recompute import (
    SUPPORTED_MODEL_TYPES,
    attention_scale,
    eager_layer_call,
    project_query_key,
)
from llm_core.errors import InputError
from llm_core.models.anatomy import attention_modules
from llm_core.models.loading import LoadedModel

TOY_WORDS = ("我", "爱", "吃", "苹果")
TOY_EMBEDDINGS = np.array(
    [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1.0, 1.1, 1.2]]
)  # [pos, d_model]
MAX_TOY_TOKENS = 16
MAX_TOY_D_MODEL = 16
MAX_REAL_HEAD_TOKENS = 512


@dataclass(frozen=True)
class HeadSteps:
    """Every intermediate of one attention head (toy mode).

    q, k, v: [pos, d_k]. scores = q @ k.T and scaled = scores / sqrt(d_k): [query_pos, key_pos].
    mask: [query_pos, key_pos] bool, True where the query may attend to the key.
    masked: scaled with -inf where mask is False (what softmax sees).
    weights: softmax of masked over key_pos; each row sums to 1, masked entries are 0.
    output = weights @ v: [query_pos, d_k].
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    scaled: np.ndarray
    mask: np.ndarray
    masked: np.ndarray
    weights: np.ndarray
    output: np.ndarray


@dataclass(frozen=True)
class AttentionSteps:
    """Toy attention worked step by step.

    x: [pos, d_model]; w_q, w_k, w_v: [d_model, d_model]; heads: one ``HeadSteps`` per head,
    head h using columns h*d_k:(h+1)*d_k of Q, K and V. output: [pos, d_model], the heads'
    outputs side by side (no output projection W_O in this toy).
    """

    labels: tuple[str, ...]
    x: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    d_k: int
    causal: bool
    heads: tuple[HeadSteps, ...]
    output: np.ndarray

    @property
    def n_heads(self) -> int:
        return len(self.heads)


@dataclass(frozen=True)
class RealHeadCheck:
    """One head of a real model, recomputed by hand beside what the model reported.

    q, k: [pos, d_head], after the model's position encoding (RoPE rotates them for
    Llama/Qwen2; GPT-2 adds learned positions to the embeddings, so q, k are as projected).
    scaled_scores: (q @ k.T) * scale, [query_pos, key_pos], -inf above the diagonal (causal).
    recomputed: softmax of scaled_scores (float64); reported: the model's own weights for the
    head (float32 computed, as float64). Both [query_pos, key_pos], rows sum to 1.
    note: empty, or why ``scale`` is not 1/sqrt(d_head).
    """

    layer: int
    head: int
    kv_head: int
    d_head: int
    scale: float
    position_encoding: str
    q: np.ndarray
    k: np.ndarray
    scaled_scores: np.ndarray
    recomputed: np.ndarray
    reported: np.ndarray
    max_abs_diff: float
    note: str = ""


# ---------------------------------------------------------------------------- toy mode


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; -inf entries get weight 0. Stable: the row max is subtracted."""
    shifted = scores - np.max(scores, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=-1, keepdims=True)


def causal_mask(n_tokens: int) -> np.ndarray:
    """[query_pos, key_pos] bool: a token sees itself and the tokens before it."""
    return np.tril(np.ones((n_tokens, n_tokens), dtype=bool))


def _as_matrix(value: Any, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a table of numbers ({error}).") from error
    if matrix.ndim != 2:
        raise InputError(
            f"{name} must be a matrix (rows of numbers), got {matrix.ndim} dimensions."
        )
    if shape is not None and matrix.shape != shape:
        raise InputError(
            f"{name} must have {shape[0]} rows of {shape[1]} numbers to match the embeddings, "
            f"got {matrix.shape[0]} rows of {matrix.shape[1]}."
        )
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{name} contains NaN or infinity; use ordinary numbers.")
    return matrix


def _head_steps(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray) -> HeadSteps:
    d_k = q.shape[1]
    scores = q @ k.T  # [query_pos, key_pos]
    scaled = scores / math.sqrt(d_k)
    masked = np.where(mask, scaled, -np.inf)
    weights = softmax_rows(masked)
    return HeadSteps(q, k, v, scores, scaled, mask, masked, weights, weights @ v)


def attention_steps(
    x: Any = None,
    w_q: Any = None,
    w_k: Any = None,
    w_v: Any = None,
    n_heads: int = 1,
    causal: bool = True,
    labels: Sequence[str] | None = None,
) -> AttentionSteps:
    """Work softmax(QK^T / sqrt(d_k)) V through on toy vectors.

    x: [pos, d_model], default ``TOY_EMBEDDINGS``; each W defaults to the identity.
    d_model is split into ``n_heads`` heads of d_k = d_model / n_heads. Labels default to
    ``TOY_WORDS`` when there are four tokens, else "#0", "#1", ...
    """
    x = _as_matrix(TOY_EMBEDDINGS if x is None else x, "The embeddings x")
    n_tokens, d_model = x.shape
    if not 1 <= n_tokens <= MAX_TOY_TOKENS:
        raise InputError(f"Use between 1 and {MAX_TOY_TOKENS} tokens (rows of x); got {n_tokens}.")
    if not 1 <= d_model <= MAX_TOY_D_MODEL:
        raise InputError(
            f"Use between 1 and {MAX_TOY_D_MODEL} dimensions per token; got {d_model}."
        )
    square = (d_model, d_model)
    w_q, w_k, w_v = (
        np.eye(d_model) if w is None else _as_matrix(w, name, square)
        for w, name in ((w_q, "W_Q"), (w_k, "W_K"), (w_v, "W_V"))
    )
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise InputError(
            f"The number of heads must be a whole number of at least 1; got {n_heads!r}."
        )
    if d_model % n_heads:
        divisors = [d for d in range(1, d_model + 1) if d_model % d == 0]
        raise InputError(
            f"d_model = {d_model} cannot be split evenly into {n_heads} heads; pick a number "
            f"of heads that divides {d_model}: {', '.join(map(str, divisors))}."
        )
    if labels is None:
        labels = TOY_WORDS if n_tokens == len(TOY_WORDS) else [f"#{i}" for i in range(n_tokens)]
    labels = tuple(str(label) for label in labels)
    if len(labels) != n_tokens:
        raise InputError(f"Give one label per token: {n_tokens} tokens but {len(labels)} labels.")

    d_k = d_model // int(n_heads)
    q_all, k_all, v_all = x @ w_q, x @ w_k, x @ w_v  # [pos, d_model] each
    mask = causal_mask(n_tokens) if causal else np.ones((n_tokens, n_tokens), dtype=bool)
    heads = tuple(
        _head_steps(q_all[:, cols], k_all[:, cols], v_all[:, cols], mask)
        for cols in (slice(h * d_k, (h + 1) * d_k) for h in range(int(n_heads)))
    )
    output = np.concatenate([head.output for head in heads], axis=1)  # [pos, d_model]
    return AttentionSteps(labels, x, w_q, w_k, w_v, d_k, bool(causal), heads, output)


def parse_matrix(text: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Parse a matrix typed by a person: one row per line ("0.1, 0.2, 0.3"; commas and/or
    spaces, optional brackets) or JSON ``[[...], [...]]``. Returns float64 [rows, cols]."""
    text = (text or "").strip()
    if not text:
        raise InputError(
            "The matrix is empty: type one row of numbers per line, e.g. 0.1, 0.2, 0.3"
        )
    if re.match(r"\[\s*\[", text):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(
                f"The matrix is not valid JSON ({error.msg} at character {error.pos})."
            ) from error
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise InputError("JSON must be a list of rows, e.g. [[0.1, 0.2], [0.3, 0.4]].")
        rows = [[str(item) for item in row] for row in rows]
    else:
        lines = [line.strip(" \t[](),，;") for line in text.splitlines()]
        rows = [re.split(r"[,，;\s]+", line) for line in lines if line]
    values: list[list[float]] = []
    for number, row in enumerate(rows, start=1):
        values.append([])
        for item in filter(None, row):
            try:
                values[-1].append(float(item))
            except ValueError:
                raise InputError(f"Row {number}: '{item}' is not a number.") from None
        if not values[-1]:
            raise InputError(f"Row {number} has no numbers.")
        if not all(math.isfinite(value) for value in values[-1]):
            raise InputError(f"Row {number} contains NaN or infinity; use ordinary numbers.")
        if len(values[-1]) != len(values[0]):
            raise InputError(
                f"Row {number} has {len(values[-1])} numbers but row 1 has {len(values[0])}; "
                "every row needs the same count."
            )
    matrix = np.array(values, dtype=np.float64)
    if shape is not None and matrix.shape != tuple(shape):
        raise InputError(
            f"Expected {shape[0]} rows of {shape[1]} numbers, got {matrix.shape[0]} rows of "
            f"{matrix.shape[1]}."
        )
    return matrix


# ---------------------------------------------------------------------------- real head


def recompute_head(
    loaded: LoadedModel, token_ids: Sequence[int], layer: int, head: int
) -> RealHeadCheck:
    """Recompute one real head's attention from its Q and K and compare with the model's.

    Supports Llama (incl. grouped-query attention), Qwen2 and GPT-2 models.
    """
    import torch

    description = loaded.description
    model_type = description.model_type
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise InputError(
            f"Recomputing a real head works for {', '.join(SUPPORTED_MODEL_TYPES)} models; "
            f"this model is '{model_type}'. Pick one of those, e.g. the default SmolLM2."
        )
    ids = [int(token) for token in token_ids]
    limit = min(MAX_REAL_HEAD_TOKENS, description.context_length or MAX_REAL_HEAD_TOKENS)
    if not 1 <= len(ids) <= limit:
        raise InputError(f"Give between 1 and {limit} tokens; got {len(ids)}. Shorten the text.")
    vocab = loaded.model.get_input_embeddings().num_embeddings
    if not all(0 <= token < vocab for token in ids):
        raise InputError(f"Token ids must be between 0 and {vocab - 1} for this model.")
    if not 0 <= layer < description.n_layers:
        raise InputError(f"Layer {layer} does not exist: pick 0 to {description.n_layers - 1}.")
    if not 0 <= head < description.n_heads:
        raise InputError(f"Head {head} does not exist: pick 0 to {description.n_heads - 1}.")

    call = eager_layer_call(loaded, ids, layer)  # the model's own eager attention
    attn = attention_modules(loaded.model, description.n_layers)[layer]
    with torch.inference_mode():
        q_heads, k_heads = project_query_key(
            attn, model_type, call.attn_input, call.position_embeddings
        )
    scale = attention_scale(attn)
    reported = call.weights[head].double().cpu().numpy()

    n_heads, n_kv_heads, d_head = q_heads.shape[0], k_heads.shape[0], q_heads.shape[2]
    kv_head = head // (n_heads // n_kv_heads)  # grouped-query attention shares K across heads
    q = q_heads[head].double().cpu().numpy()  # [pos, d_head]
    k = k_heads[kv_head].double().cpu().numpy()  # [pos, d_head]
    mask = causal_mask(len(ids))
    scaled = np.where(mask, (q @ k.T) * scale, -np.inf)  # [query_pos, key_pos]
    recomputed = softmax_rows(scaled)
    note = ""
    if not math.isclose(scale, d_head**-0.5, rel_tol=1e-6):
        note = f"This model scales scores by {scale:.6g}, not 1/sqrt(d_head) = {d_head**-0.5:.6g}."
    return RealHeadCheck(
        layer=layer,
        head=head,
        kv_head=kv_head,
        d_head=d_head,
        scale=scale,
        position_encoding="learned absolute (added to embeddings)"
        if model_type == "gpt2"
        else "RoPE",
        q=q,
        k=k,
        scaled_scores=scaled,
        recomputed=recomputed,
        reported=reported,
        max_abs_diff=float(np.max(np.abs(recomputed - reported))),
        note=note,
    )
