"""Everything across layers, folded from a ``Trace`` one layer at a time.

``summarize_attention`` walks the layers: each one's [head, T, T] weights are recomputed
(``llm_core.attention.recompute``), folded into the per-head statistics (overview,
ranking), the running mean over layers and rollout, and dropped before the next layer.
So it never holds [layer, head, T, T] (4.5 GB for SmolLM2 at 2,048 tokens): at most one
layer's weights plus three [T, T] matrices (151 MB + 50 MB). It costs one recomputation
and one T x T product per layer, seconds at 2,048 tokens, so it reports progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from llm_core.attention.recompute import head_weights
from llm_core.attention.reductions import rollout_step
from llm_core.attention.stats import HeadStats, layer_head_stats, stats_from_layers
from llm_core.attention.trace import Trace
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

# Up to this many tokens a summary costs well under a second (SmolLM2 on 2 cores), so a
# page computes it with the first view; longer texts get it when asked (it takes seconds).
QUICK_SUMMARY_TOKENS = 256
# progress(layers_done, n_layers), called after each layer
LayerProgress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class AttentionSummary:
    """Every layer of one trace, folded. Arrays are float32, read-only.

    - ``mean_layers``: [query_pos, key_pos], the mean over layers of each layer's mean
      over heads; rows sum to 1.
    - ``rollout``: [query_pos, key_pos], attention rollout (Abnar & Zuidema 2020) through
      every layer: how much of the last layer's position ``query_pos`` traces back to
      input token ``key_pos``. Rows sum to 1.
    - ``stats``: per-head statistics, each [layer, head] (``llm_core.attention.stats``).
    """

    token_ids: tuple[int, ...]
    mean_layers: np.ndarray  # [query_pos, key_pos]
    rollout: np.ndarray  # [query_pos, key_pos]
    stats: HeadStats

    @property
    def nbytes(self) -> int:
        return self.mean_layers.nbytes + self.rollout.nbytes + self.stats.entropy.nbytes * 4


def layer_by_layer(
    loaded: LoadedModel, trace: Trace, progress: LayerProgress | None = None
) -> Iterator[tuple[int, torch.Tensor]]:
    """(layer, [head, query_pos, key_pos] weights) for every layer in order, each a new
    tensor: a caller keeps the ones it needs and the others are freed as it goes.
    ``ValueError`` for a partial trace (its missing layers would be left out unseen)."""
    trace.require_complete("every layer's attention")
    for layer in range(trace.n_layers):
        yield layer, head_weights(loaded, trace, layer)
        if progress is not None:
            progress(layer + 1, trace.n_layers)


def summarize_attention(
    loaded: LoadedModel, trace: Trace, progress: LayerProgress | None = None
) -> AttentionSummary:
    """Head statistics, mean over layers and rollout of every layer of ``trace``."""
    import torch

    n = trace.n_tokens
    identity = torch.eye(n)
    total = torch.zeros(n, n)  # running sum of the layers' head means
    rollout = None
    table = []  # per layer, [4, head]
    with torch.inference_mode():
        for _layer, weights in layer_by_layer(loaded, trace, progress):
            table.append(layer_head_stats(weights))
            mean = weights.mean(0)  # [query_pos, key_pos]
            total += mean
            rollout = rollout_step(rollout, mean, identity)  # float32: exact enough
        mean_layers = (total / trace.n_layers).numpy()
        stats = torch.stack(table, dim=1).numpy()  # [4, layer, head]
    mean_layers.flags.writeable = False
    result = rollout.numpy()
    result.flags.writeable = False
    return AttentionSummary(
        token_ids=trace.token_ids,
        mean_layers=mean_layers,
        rollout=result,
        stats=stats_from_layers(stats, n, causal=True),
    )
