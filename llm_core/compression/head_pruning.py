"""Structured pruning of attention heads, ranked by a head-importance score.

    importance = head_importance(model, token_ids)        # [layer, head]
    report = prune_heads(model, importance, n_remove=27)  # in place on a copy

Importance of head h in layer l: the mean, over the tokens of a calibration text, of the
L2 norm of what the head adds to the residual stream, ``W_o[:, h] @ z_h`` (``z_h``: the
head's attention output, the slice of ``o_proj``'s input that belongs to it). A head
that writes little can go. Removing a head zeroes its query rows in ``q_proj`` and its
columns in ``o_proj`` (``torch.nn.utils.prune.custom_from_mask``): its output is then
exactly zero. The tensors keep their shape (transformers' Llama has no per-layer head
count), so ``removable_params`` says what a physically smaller model would save. Key and
value heads are shared by several query heads (grouped-query attention) and stay.
Llama-style attention (``q_proj``/``o_proj``, as in Llama, Qwen2, SmolLM2) only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from llm_core.errors import InputError, UnsupportedModelError
from llm_core.models.anatomy import attention_modules

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    import torch
    from torch import nn

MAX_IMPORTANCE_TOKENS = 512

MAX_HEAD_FRACTION = 0.9  # at least one head per layer is always kept anyway


@dataclass(frozen=True)
class HeadReport:
    """``removed``: layer -> removed heads (sorted); ``importance``: [layer, head] scores
    used; ``removable_params``: weights a physical removal would free."""

    removed: dict[int, tuple[int, ...]]
    importance: np.ndarray  # [layer, head]
    n_heads: int
    removable_params: int

    @property
    def n_removed(self) -> int:
        return sum(len(heads) for heads in self.removed.values())

    def removed_per_layer(self) -> list[int]:
        """Number of heads removed in each layer, in layer order."""
        return [len(self.removed.get(layer, ())) for layer in range(self.importance.shape[0])]


def _projections(model: nn.Module) -> list[tuple[nn.Linear, nn.Linear, int]]:
    """(q_proj, o_proj, head_dim) of every layer."""
    config = model.config.get_text_config()
    n_layers = config.num_hidden_layers
    found = []
    for module in attention_modules(model, n_layers):
        q, o = getattr(module, "q_proj", None), getattr(module, "o_proj", None)
        head_dim = getattr(module, "head_dim", None)
        if q is None or o is None or head_dim is None or not hasattr(o, "weight"):
            raise UnsupportedModelError(
                f"Head pruning needs Llama-style attention (q_proj, o_proj); "
                f"{type(model).__name__} has {type(module).__name__}. Use a Llama or Qwen2 model."
            )
        found.append((q, o, int(head_dim)))
    return found


def head_importance(model: nn.Module, token_ids: Sequence[int]) -> np.ndarray:
    """[layer, head] float64: mean norm of each head's contribution on ``token_ids``."""
    import torch

    ids = list(token_ids)[:MAX_IMPORTANCE_TOKENS]
    if len(ids) < 2:
        raise InputError("Head importance needs a text of at least 2 tokens.")
    projections = _projections(model)
    n_heads = projections[0][0].weight.shape[0] // projections[0][2]
    scores = np.zeros((len(projections), n_heads))

    def record(layer: int, o_weight: torch.Tensor, head_dim: int):
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            z = args[0].detach()[0]  # (T, n_heads * head_dim)
            tokens = z.shape[0]
            z = z.reshape(tokens, n_heads, head_dim)  # (T, head, head_dim)
            w = o_weight.detach().reshape(o_weight.shape[0], n_heads, head_dim)
            contribution = torch.einsum("thd,ohd->tho", z, w)  # (T, head, d_model)
            scores[layer] = contribution.norm(dim=-1).mean(0).double().numpy()

        return hook

    handles = [
        o.register_forward_pre_hook(record(layer, o.weight, head_dim))
        for layer, (_q, o, head_dim) in enumerate(projections)
    ]
    try:
        with torch.inference_mode():
            model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return scores


def check_head_fraction(fraction: float, max_fraction: float) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise InputError(f"The share of heads to remove must be a number from 0 to {max_fraction}.")
    if not 0.0 <= float(fraction) <= max_fraction:
        raise InputError(
            f"The share of heads to remove must be from 0 to {max_fraction}; got {fraction}."
        )
    return float(fraction)


def choose_heads(importance: np.ndarray, n_remove: int) -> dict[int, tuple[int, ...]]:
    """The ``n_remove`` least important heads overall, keeping at least one per layer."""
    n_layers, n_heads = importance.shape
    n_remove = min(int(n_remove), n_layers * (n_heads - 1))
    removed: dict[int, list[int]] = {}
    for flat in np.argsort(importance, axis=None, kind="stable"):
        if n_remove == 0:
            break
        layer, head = divmod(int(flat), n_heads)
        if len(removed.get(layer, [])) < n_heads - 1:
            removed.setdefault(layer, []).append(head)
            n_remove -= 1
    return {layer: tuple(sorted(heads)) for layer, heads in sorted(removed.items())}


def prune_heads(model: nn.Module, importance: np.ndarray, n_remove: int) -> HeadReport:
    """Remove the ``n_remove`` least important heads of ``model`` in place (see above)."""
    import torch
    from torch.nn.utils import prune

    projections = _projections(model)
    n_heads = projections[0][0].weight.shape[0] // projections[0][2]
    removed = choose_heads(importance, n_remove)
    removable = 0
    for layer, heads in removed.items():
        q, o, head_dim = projections[layer]
        q_mask = torch.ones_like(q.weight)  # (n_heads * head_dim, d_model)
        o_mask = torch.ones_like(o.weight)  # (d_model, n_heads * head_dim)
        for head in heads:
            rows = slice(head * head_dim, (head + 1) * head_dim)
            q_mask[rows, :] = 0
            o_mask[:, rows] = 0
            removable += q.weight[rows].numel() + o.weight[:, rows].numel()
        prune.custom_from_mask(q, "weight", q_mask)
        prune.remove(q, "weight")
        prune.custom_from_mask(o, "weight", o_mask)
        prune.remove(o, "weight")
        if q.bias is not None:
            with torch.no_grad():
                for head in heads:
                    q.bias[head * head_dim : (head + 1) * head_dim] = 0
    return HeadReport(removed, np.asarray(importance, dtype=np.float64), n_heads, removable)
