"""Exact attention of any layer, recomputed from a ``Trace`` of that layer alone.

For layer L: the trace's input hidden state -> the block's input norm -> the attention
module's own q/k projections -> the model's own position encoding (RoPE with the cos and
sin the forward pass used, for Llama/Qwen2; GPT-2's learned positions are already in the
hidden state and its fused ``c_attn`` gives q, k, v side by side) -> softmax(QK^T * scale)
with the causal mask. Grouped-query models report every query head (SmolLM2: 9 per
layer; head h reads key/value head h // (n_heads / n_kv_heads)). Rows sum to 1 and the
upper triangle is exactly 0, as in an eager forward (equal to it within ~1e-5).

No model forward runs here: only the block's norm and projections are called, which
read weights and hold no state, so no lock is needed and a head switch never waits for
another session's forward pass. Architectures outside ``SUPPORTED_MODEL_TYPES`` (and
sliding-window layers shorter than the text) fall back to an eager forward that stops
after the layer, under the model's lock.

Cost at 2,048 tokens on SmolLM2: one head ~30 ms, a layer's 9 heads ~0.2 s (151 MB).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from llm_core.attention.trace import Trace, check_head, check_layer, hidden_dtype
from llm_core.errors import UnsupportedModelError
from llm_core.models.anatomy import attention_input_norm, attention_modules, decoder_layers
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

ROPE_MODEL_TYPES = ("llama", "qwen2")  # q_proj/k_proj, RoPE (cos, sin) passed as a kwarg
SUPPORTED_MODEL_TYPES = (*ROPE_MODEL_TYPES, "gpt2")
# Weights [head, query, key] computed in one product when no bigger (a short text: the
# loop's per-head calls would cost more than the arithmetic); longer, one head at a time.
ALL_HEADS_AT_ONCE = 1 << 20


def project_query_key(
    attn: torch.nn.Module,
    model_type: str,
    attn_input: torch.Tensor,
    position_embeddings: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """q: [head, pos, d_head] and k: [kv_head, pos, d_head] as the attention module
    computes them from its input ``attn_input`` [1, pos, d_model], after its model's
    position encoding (``position_embeddings``: the (cos, sin) of RoPE, or None)."""
    d_head = attn.head_dim
    n_tokens = attn_input.shape[1]
    if model_type == "gpt2":  # Conv1D c_attn gives q, k, v side by side
        q, k, _ = attn.c_attn(attn_input).split(attn.split_size, dim=2)
    else:
        q, k = attn.q_proj(attn_input), attn.k_proj(attn_input)
    q = q.view(1, n_tokens, -1, d_head).transpose(1, 2)  # [1, head, pos, d_head]
    k = k.view(1, n_tokens, -1, d_head).transpose(1, 2)  # [1, kv_head, pos, d_head]
    if model_type in ROPE_MODEL_TYPES:
        cos, sin = position_embeddings
        rope = sys.modules[type(attn).__module__].apply_rotary_pos_emb  # the model's own RoPE
        q, k = rope(q, k, cos, sin)
    return q[0], k[0]


def attention_scale(attn: torch.nn.Module) -> float:
    """What the module multiplies QK^T by: its ``scaling`` (1/sqrt(d_head) unless the
    model says otherwise, e.g. GPT-2's scale_attn_by_inverse_layer_idx)."""
    return float(getattr(attn, "scaling", attn.head_dim**-0.5))


def layer_query_key(
    loaded: LoadedModel, trace: Trace, layer: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(q [head, pos, d_head], k [kv_head, pos, d_head], scale) of one layer, from the trace."""
    import torch

    layer = check_layer(layer, trace.n_layers)
    attn = attention_modules(loaded.model, loaded.description.n_layers)[layer]
    norm = attention_input_norm(decoder_layers(loaded.model)[layer])
    dtype = hidden_dtype(loaded)
    with torch.inference_mode():
        attn_input = norm(trace.stream(layer, dtype))  # [1, pos, d_model]
        q, k = project_query_key(
            attn, loaded.description.model_type, attn_input, trace.position_embeddings(dtype)
        )
    return q.float(), k.float(), attention_scale(attn)


def head_weights(
    loaded: LoadedModel, trace: Trace, layer: int, heads: Sequence[int] | None = None
) -> torch.Tensor:
    """Attention of ``heads`` (default: all) of ``layer``: [len(heads), query_pos, key_pos]
    float32. Over ``ALL_HEADS_AT_ONCE`` weights, one head at a time into the result
    (peak = result + one [T, T]); under, all heads in one batched product."""
    import torch

    n_heads = loaded.description.n_heads
    heads = list(range(n_heads)) if heads is None else [check_head(h, n_heads) for h in heads]
    layer = check_layer(layer, trace.n_layers)
    if not can_recompute(loaded, trace, layer):
        return eager_layer_call(loaded, trace.token_ids, layer).weights[heads]
    q, k, scale = layer_query_key(loaded, trace, layer)
    group = q.shape[0] // k.shape[0]  # query heads per key/value head
    n = trace.n_tokens
    with torch.inference_mode():
        future = torch.ones(n, n, dtype=torch.bool).triu_(1)  # key_pos > query_pos
        if len(heads) * n * n <= ALL_HEADS_AT_ONCE:  # a short text: one product, no loop
            index = torch.tensor(heads)
            weights = torch.matmul(q[index], k[index // group].transpose(1, 2))
            weights.mul_(scale).masked_fill_(future, float("-inf"))
            _softmax_rows_(weights)
            return weights
        weights = torch.empty(len(heads), n, n)
        for row, head in enumerate(heads):
            scores = weights[row]  # [query_pos, key_pos], written in place
            torch.matmul(q[head], k[head // group].T, out=scores)
            scores.mul_(scale).masked_fill_(future, float("-inf"))
            _softmax_rows_(scores)
    return weights


def layer_attention(loaded: LoadedModel, trace: Trace, layer: int) -> np.ndarray:
    """Every head of one layer: [head, query_pos, key_pos] float32, read-only."""
    return _frozen(head_weights(loaded, trace, layer).numpy())


def head_attention(loaded: LoadedModel, trace: Trace, layer: int, head: int) -> np.ndarray:
    """One head: [query_pos, key_pos] float32, read-only."""
    return _frozen(head_weights(loaded, trace, layer, [head])[0].numpy())


def query_attention(loaded: LoadedModel, trace: Trace, layer: int, position: int) -> np.ndarray:
    """The attention one query ``position`` pays, per head: [head, key_pos] float32.

    Only that row is computed (O(T) per head), so reading the last position of a long
    text costs microseconds after the trace. Negative positions count from the end.
    """
    import torch

    position = int(position) % trace.n_tokens
    layer = check_layer(layer, trace.n_layers)
    if not can_recompute(loaded, trace, layer):
        return _frozen(head_weights(loaded, trace, layer)[:, position].numpy().copy())
    q, k, scale = layer_query_key(loaded, trace, layer)
    group = q.shape[0] // k.shape[0]
    with torch.inference_mode():
        keys = k.repeat_interleave(group, dim=0)[:, : position + 1]  # [head, key_pos, d_head]
        scores = torch.einsum("hd,hkd->hk", q[:, position], keys) * scale  # [head, key_pos]
        row = torch.zeros(q.shape[0], trace.n_tokens)
        row[:, : position + 1] = scores.softmax(-1)  # later keys are masked: exactly 0
    return _frozen(row.numpy())


def can_recompute(loaded: LoadedModel, trace: Trace, layer: int) -> bool:
    """Whether ``layer``'s attention can be recomputed from the trace alone (a supported
    architecture, RoPE values kept when it needs them, no window shorter than the text)."""
    model_type = loaded.description.model_type
    if model_type not in SUPPORTED_MODEL_TYPES:
        return False
    if model_type in ROPE_MODEL_TYPES and trace.rotary is None:
        return False
    window = getattr(
        attention_modules(loaded.model, loaded.description.n_layers)[layer], "sliding_window", None
    )
    return not window or window >= trace.n_tokens


def _softmax_rows_(scores: torch.Tensor) -> None:
    """Softmax over the last axis, in place (no second [T, T] buffer). Rows of -inf
    entries get exactly 0 there; the diagonal is never masked, so no row is all -inf."""
    scores.sub_(scores.amax(-1, keepdim=True)).exp_()
    scores.div_(scores.sum(-1, keepdim=True))


class _StopForward(Exception):
    """Raised by the hook once the layer asked for has run: nothing after it is needed."""


class EagerLayerCall(NamedTuple):
    """What one layer's attention module received and reported in an eager forward."""

    attn_input: torch.Tensor  # [1, pos, d_model]: the module's input (after the block's norm)
    position_embeddings: tuple[torch.Tensor, torch.Tensor] | None  # (cos, sin) [1, pos, d_head]
    weights: torch.Tensor  # [head, query_pos, key_pos] float32: the module's own weights


def eager_layer_call(loaded: LoadedModel, token_ids: Sequence[int], layer: int) -> EagerLayerCall:
    """Run the model's own eager attention up to ``layer`` (no further) and return what
    that layer's attention module saw and reported. Holds ``loaded.lock``. The fallback
    for architectures not recomputed here, and the independent reference the
    attention-math page sets beside its recomputation."""
    import torch

    captured: dict[str, Any] = {}

    def keep(_module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        captured["input"] = kwargs.get("hidden_states", args[0] if args else None)
        captured["position_embeddings"] = kwargs.get("position_embeddings")
        captured["weights"] = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        raise _StopForward

    attn = attention_modules(loaded.model, loaded.description.n_layers)[layer]
    with loaded.lock, torch.inference_mode():
        handle = attn.register_forward_hook(keep, with_kwargs=True)
        try:
            ids = torch.tensor([list(token_ids)], device=loaded.model.device)
            loaded.model.base_model(input_ids=ids, use_cache=False)
        except _StopForward:
            pass
        finally:
            handle.remove()
    if captured.get("weights") is None:
        raise UnsupportedModelError(
            "The attention modules returned no weights. Load the model with "
            "llm_core.load_model, which uses attn_implementation='eager'."
        )
    weights = captured["weights"][0].float()
    return EagerLayerCall(captured["input"], captured["position_embeddings"], weights)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
