"""Every layer's attention of one text at once, as numpy: ``capture_attention``.

Vocabulary: ``layer``, ``head``, ``query_pos`` (the token that looks), ``key_pos`` (the
token looked at). Every weight matrix is ``[query_pos, key_pos]`` with rows summing to 1;
for causal models the upper triangle (key_pos > query_pos) is exactly 0. Grouped-query
models report every query head (SmolLM2: 9 per layer, not its 3 key/value heads).

It runs one ``Trace`` and recomputes each layer from it (``llm_core.attention.recompute``),
keeping in full only the layers asked for and folding every layer into its head mean
and head statistics. For callers that want a few layers of a short text as plain arrays
(fine-tuning's before/after, compression's drift); the Attention page and the CLI read
single layers from a cached trace instead (``llm_core.attention.matrices``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from llm_core.attention.reductions import mean_over_layers, rollout_step
from llm_core.attention.stats import HeadStats, layer_head_stats, stats_from_layers
from llm_core.attention.summary import layer_by_layer
from llm_core.attention.trace import check_head, check_layer, run_trace
from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel

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
            rollout = rollout_step(rollout, torch.from_numpy(mean.astype(np.float32)), identity)
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
        check_layer(layer, self.n_layers)
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
        return weights[check_head(head, self.n_heads)]

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

    n_layers = loaded.description.n_layers
    if layers is not None:
        keep = {check_layer(layer, n_layers) for layer in layers}
    trace = run_trace(loaded, token_ids)
    n = trace.n_tokens
    if layers is None:
        keep = set(range(n_layers)) if n <= FULL_CAPTURE_MAX_TOKENS else set()
    mean_heads = np.empty(
        (n_layers, n, n), dtype=np.float16 if n > FULL_CAPTURE_MAX_TOKENS else np.float32
    )
    kept: dict[int, np.ndarray] = {}
    table = []  # per layer, [4, head]
    with torch.inference_mode():
        for layer, weights in layer_by_layer(loaded, trace):
            if layer in keep:
                kept[layer] = weights.numpy()  # shares the tensor's memory, no copy
                kept[layer].flags.writeable = False
            mean_heads[layer] = weights.mean(0).numpy()
            table.append(layer_head_stats(weights))
        stats = torch.stack(table, dim=1).numpy()  # [4, layer, head]
    mean_heads.flags.writeable = False
    return AttentionCapture(
        token_ids=trace.token_ids,
        n_layers=n_layers,
        n_heads=loaded.description.n_heads,
        causal=True,  # every model this engine loads is a causal LM
        layers=kept,
        mean_heads=mean_heads,
        stats=stats_from_layers(stats, n, causal=True),
    )
