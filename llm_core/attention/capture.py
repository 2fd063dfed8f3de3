"""Capture attention weights in one forward pass, aggregate them to characters or words,
and reduce them (mean over heads, mean over layers, attention rollout).

Vocabulary: ``layer``, ``head``, ``query_pos`` (the token that looks), ``key_pos`` (the
token looked at). Every weight matrix is ``[query_pos, key_pos]`` with rows summing to 1;
for causal models the upper triangle (key_pos > query_pos) is exactly 0. Grouped-query
models report every query head (SmolLM2: 9 per layer, not its 3 key/value heads).

Memory: a forward hook on each layer's attention module receives that layer's
``[head, query_pos, key_pos]`` weights (transformers' eager attention returns them even
without ``output_attentions``), keeps them only for the layers asked for, and otherwise
folds them into the compact per-model results (head mean, rollout, head statistics)
before the next layer runs. So a capture of 2,048 tokens on SmolLM2 with one layer in full
keeps about 0.4 GB (peak about 0.9 GB above the loaded model while it runs), not the
4.5 GB that every layer's full weights would take.

Everything after ``capture_attention`` is pure numpy, so the UI can cache one capture
and change layer, head or level (token, character, word) without running the model.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.attention.reductions import mean_over_layers
from llm_core.attention.stats import HeadStats, layer_head_stats, stats_from_layers
from llm_core.errors import InputError, UnsupportedModelError
from llm_core.models.anatomy import attention_modules
from llm_core.models.loading import LoadedModel

# Engine limit: the [head, T, T] weights of one layer, and the [layer, T, T] head means,
# grow with T^2; 2,048 tokens keeps a capture of the default model under ~0.5 GB.
MAX_ATTENTION_TOKENS = 2048
# With ``layers=None``, inputs up to this many tokens keep every layer in full
# (SmolLM2: 30 x 9 x 256^2 x 4 bytes = 71 MB); longer ones keep no layer in full.
FULL_CAPTURE_MAX_TOKENS = 256


@dataclass(frozen=True, eq=False)
class AttentionCapture:
    """Attention of one model on one token sequence. Arrays are read-only.

    - ``layers``: full weights of the captured layers, layer -> [head, query_pos, key_pos]
      float32.
    - ``mean_heads``: [layer, query_pos, key_pos], the mean over heads of every layer.
      float32 up to ``FULL_CAPTURE_MAX_TOKENS`` tokens, float16 beyond (half the memory;
      rows then sum to 1 within ~1e-3).
    - ``rollout``: [query_pos, key_pos] float32, attention rollout (Abnar & Zuidema
      2020) through every layer: how much of the last layer's position ``query_pos``
      traces back to input token ``key_pos``. Rows sum to 1. Computed from
      ``mean_heads`` on first use (30 T x T products: seconds at 2,048 tokens).
    - ``stats``: per-head statistics, each [layer, head] (see ``llm_core.attention.stats``).
    """

    token_ids: tuple[int, ...]
    n_layers: int
    n_heads: int
    causal: bool
    layers: dict[int, np.ndarray]  # layer -> [head, query_pos, key_pos]
    mean_heads: np.ndarray  # [layer, query_pos, key_pos]
    stats: HeadStats

    @functools.cached_property
    def rollout(self) -> np.ndarray:
        """[query_pos, key_pos] float32, read-only; see the class docstring."""
        import torch

        identity = torch.eye(self.n_tokens)
        rollout = None
        for mean in self.mean_heads:  # float32 products in torch: fast, and exact enough
            rollout = _rollout_step(rollout, torch.from_numpy(mean.astype(np.float32)), identity)
        result = rollout.numpy()
        result.flags.writeable = False
        return result

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def captured_layers(self) -> tuple[int, ...]:
        """Layers whose full weights were kept, in order."""
        return tuple(sorted(self.layers))

    def layer(self, layer: int) -> np.ndarray:
        """Full weights of one captured layer: [head, query_pos, key_pos]."""
        _check_layer(layer, self.n_layers)
        if layer not in self.layers:
            kept = ", ".join(map(str, self.captured_layers)) or "none"
            raise InputError(
                f"Layer {layer} was not captured in full (kept: {kept}). Capture it with "
                f"capture_attention(model, token_ids, layers=[{layer}])."
            )
        return self.layers[layer]

    def head(self, layer: int, head: int) -> np.ndarray:
        """Weights of one head: [query_pos, key_pos]."""
        weights = self.layer(layer)
        if not 0 <= head < self.n_heads:
            raise InputError(f"No head {head}: this model has heads 0-{self.n_heads - 1}.")
        return weights[head]

    def mean_layers(self) -> np.ndarray:
        """Mean over layers of the head means: [query_pos, key_pos] float32."""
        return mean_over_layers(self.mean_heads)


# ---------------------------------------------------------------------------- capture


def capture_attention(
    loaded: LoadedModel, token_ids: Sequence[int], layers: Sequence[int] | None = None
) -> AttentionCapture:
    """Run the model once over ``token_ids`` and capture its attention.

    ``layers`` lists the layers whose full [head, query_pos, key_pos] weights are kept.
    ``None`` keeps every layer when the input has at most ``FULL_CAPTURE_MAX_TOKENS``
    tokens and no layer beyond (ask for the layers you will show). Head means, rollout
    and head statistics always cover every layer. Raises ``InputError`` for empty input,
    unknown token ids, inputs over the model's context length or ``MAX_ATTENTION_TOKENS``.
    """
    import torch

    ids = _check_token_ids(loaded, token_ids)
    n_layers = loaded.description.n_layers
    if layers is None:
        keep = set(range(n_layers)) if len(ids) <= FULL_CAPTURE_MAX_TOKENS else set()
    else:
        keep = {_check_layer(layer, n_layers) for layer in layers}
    consumer = _LayerConsumer(n_layers, len(ids), keep)
    modules = attention_modules(loaded.model, n_layers)
    model = loaded.model.base_model  # skip the LM head: [T, vocab] logits are not needed
    with loaded.lock:
        handles = [
            module.register_forward_hook(
                lambda _module, _args, output, layer=layer: consumer.consume(layer, output)
            )
            for layer, module in enumerate(modules)
        ]
        try:
            with torch.inference_mode():
                model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
        finally:
            for handle in handles:
                handle.remove()
    return consumer.result(tuple(ids), causal=loaded.description.kind == "causal-lm")


class _LayerConsumer:
    """Folds each layer's weights into the results as the forward pass produces them."""

    def __init__(self, n_layers: int, n_tokens: int, keep: set[int]) -> None:
        self.n_layers, self.n_tokens, self.keep = n_layers, n_tokens, keep
        mean_dtype = np.float16 if n_tokens > FULL_CAPTURE_MAX_TOKENS else np.float32
        self.mean_heads = np.empty((n_layers, n_tokens, n_tokens), dtype=mean_dtype)
        self.layers: dict[int, np.ndarray] = {}
        self.stats: list[Any] = []  # per layer, torch [4, head]
        self.n_heads = 0

    def consume(self, layer: int, output: Any) -> None:

        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if weights is None:
            raise UnsupportedModelError(
                "The attention modules returned no weights. Load the model with "
                "llm_core.load_model, which uses attn_implementation='eager'."
            )
        if layer != len(self.stats):
            raise RuntimeError(f"attention of layer {layer} arrived out of order")
        weights = weights[0].float()  # [head, query_pos, key_pos]
        self.n_heads = weights.shape[0]
        if layer in self.keep:
            self.layers[layer] = weights.numpy()  # shares the tensor's memory, no copy
        mean = weights.mean(0)  # [query_pos, key_pos]
        self.mean_heads[layer] = mean.numpy()
        self.stats.append(layer_head_stats(weights))

    def result(self, token_ids: tuple[int, ...], causal: bool) -> AttentionCapture:
        import torch

        if len(self.stats) != self.n_layers:
            raise RuntimeError(f"captured {len(self.stats)} of {self.n_layers} layers")
        for array in (*self.layers.values(), self.mean_heads):
            array.flags.writeable = False
        table = torch.stack(self.stats, dim=1).numpy()  # [4, layer, head]
        return AttentionCapture(
            token_ids=token_ids,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            causal=causal,
            layers=self.layers,
            mean_heads=self.mean_heads,
            stats=stats_from_layers(table, self.n_tokens, causal),
        )


def _rollout_step(rollout: Any, mean: Any, identity: Any) -> Any:
    """One layer of rollout in torch: A_hat = rownorm(0.5 A + 0.5 I); R <- A_hat @ R."""
    a_hat = 0.5 * mean + 0.5 * identity  # [query_pos, key_pos]
    a_hat = a_hat / a_hat.sum(-1, keepdim=True)
    return a_hat if rollout is None else a_hat @ rollout


def _check_token_ids(loaded: LoadedModel, token_ids: Sequence[int]) -> list[int]:
    ids = list(token_ids)
    if not ids:
        raise InputError("No tokens to look at: enter some text first.")
    if any(isinstance(t, bool) or not isinstance(t, (int, np.integer)) for t in ids):
        raise InputError("Token ids must be whole numbers (as returned by the tokenizer).")
    context = loaded.description.context_length
    if context and len(ids) > context:
        raise InputError(
            f"The input has {len(ids)} tokens but {loaded.description.name} reads at most "
            f"{context} (its context length). Shorten the text."
        )
    if len(ids) > MAX_ATTENTION_TOKENS:
        raise InputError(
            f"The input has {len(ids)} tokens; attention is shown for at most "
            f"{MAX_ATTENTION_TOKENS} tokens (MAX_ATTENTION_TOKENS) to bound memory. "
            "Shorten the text."
        )
    vocab_size = loaded.model.get_input_embeddings().num_embeddings
    bad = [int(t) for t in ids if not 0 <= t < vocab_size]
    if bad:
        raise InputError(
            f"Token ids {bad[:5]} are not in this model's vocabulary (0-{vocab_size - 1}). "
            "Tokenize the text with the same model's tokenizer."
        )
    return [int(t) for t in ids]


def _check_layer(layer: int, n_layers: int) -> int:
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise InputError(f"A layer is a whole number; got {layer!r}.")
    if not 0 <= layer < n_layers:
        raise InputError(f"No layer {layer}: this model has layers 0-{n_layers - 1}.")
    return int(layer)
