"""Attention between groups of tokens, and the reductions of many heads to one matrix.

Every matrix is ``[query_pos, key_pos]`` (or ``[..., query_pos, key_pos]``) with rows
summing to 1. ``aggregate`` turns token-level weights into character- or word-level ones;
``mean_over_heads``, ``mean_over_layers`` and ``attention_rollout`` fold heads and layers.

``REDUCTIONS`` is the one vocabulary for what a view shows, used by the page, the CLI and
the downloads: one head, the mean over a layer's heads, the mean over every layer's
heads, or rollout through every layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from llm_core.errors import InputError

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

REDUCTIONS = ("head", "mean_heads", "mean_layers", "rollout")
LAYER_REDUCTIONS = ("head", "mean_heads")  # the ones that show one layer

# ---------------------------------------------------------------------------- aggregation


def aggregate(weights: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Attention between groups of tokens (characters, words) instead of tokens.

    ``weights``: [..., query_pos, key_pos] (e.g. [query_pos, key_pos] or [head, ...]).
    ``groups``: a partition of the token positions 0..T-1 into non-empty contiguous runs,
    in order. Returns [..., query_group, key_group] float32: attention TO a group is the
    sum over its tokens (key axis), attention FROM a group is the mean over its tokens
    (query axis), so rows still sum to 1.
    """
    weights = np.asarray(weights)
    if weights.ndim < 2 or weights.shape[-1] != weights.shape[-2]:
        raise InputError(
            f"Attention weights must end in [query_pos, key_pos] of equal size; got shape "
            f"{weights.shape}."
        )
    starts, sizes = _group_bounds(groups, weights.shape[-1])
    to_groups = np.add.reduceat(weights, starts, axis=-1, dtype=np.float32)  # [..., q, group]
    from_groups = np.add.reduceat(to_groups, starts, axis=-2)  # [..., group, group]
    return from_groups / sizes[:, None]


def _group_bounds(groups: Sequence[Sequence[int]], n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and size of each group; ``InputError`` unless groups partition 0..n_tokens-1."""
    groups = [list(group) for group in groups]
    flat = [t for group in groups for t in group]
    valid = (
        all(groups)
        and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in flat)
        and [int(t) for t in flat] == list(range(n_tokens))
    )
    if not valid:
        shown = str(groups[:8])[:200]
        raise InputError(
            f"Groups must split the token positions 0-{n_tokens - 1} into non-empty, "
            f"contiguous runs, in order, using each position exactly once; got {shown}. "
            "Build them from the same token ids as the attention."
        )
    sizes = np.array([len(group) for group in groups], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return starts, sizes.astype(np.float32)


# ---------------------------------------------------------------------------- reductions


def mean_over_heads(weights: np.ndarray) -> np.ndarray:
    """[..., head, query_pos, key_pos] -> [..., query_pos, key_pos] float32."""
    weights = np.asarray(weights)
    if weights.ndim < 3:
        raise InputError(
            f"Need weights shaped [..., head, query_pos, key_pos]; got {weights.shape}."
        )
    return weights.mean(axis=-3, dtype=np.float32)


def mean_over_layers(mean_heads: np.ndarray) -> np.ndarray:
    """Head means [layer, query_pos, key_pos] -> [query_pos, key_pos] float32."""
    mean_heads = np.asarray(mean_heads)
    if mean_heads.ndim != 3:
        raise InputError(
            f"Need head means shaped [layer, query_pos, key_pos]; got {mean_heads.shape}."
        )
    return mean_heads.mean(axis=0, dtype=np.float32)


def attention_rollout(mean_heads: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of head means [layer, query_pos, key_pos].

    Per layer A_hat = 0.5 A + 0.5 I with rows renormalised; the result is
    A_hat[last] @ ... @ A_hat[0], [query_pos, key_pos] float32 with rows summing to 1.
    Works on aggregated (group-level) head means too.
    """
    mean_heads = np.asarray(mean_heads)
    if mean_heads.ndim != 3 or mean_heads.shape[-1] != mean_heads.shape[-2]:
        raise InputError(
            f"Need head means shaped [layer, query_pos, key_pos]; got {mean_heads.shape}."
        )
    import torch

    heads = torch.from_numpy(mean_heads.astype(np.float64))
    identity = torch.eye(heads.shape[-1], dtype=torch.float64)
    rollout = None
    for mean in heads:
        rollout = rollout_step(rollout, mean, identity)
    return rollout.numpy().astype(np.float32)


def rollout_step(
    rollout: torch.Tensor | None, mean: torch.Tensor, identity: torch.Tensor
) -> torch.Tensor:
    """One layer of rollout: A_hat = rownorm(0.5 A + 0.5 I) for the layer's head mean A
    [query_pos, key_pos]; returns A_hat @ rollout (A_hat itself for the first layer)."""
    a_hat = 0.5 * mean + 0.5 * identity  # [query_pos, key_pos]
    a_hat = a_hat / a_hat.sum(-1, keepdim=True)
    return a_hat if rollout is None else a_hat @ rollout
