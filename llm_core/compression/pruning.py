"""Magnitude pruning of the linear layers on a copy of a model: the smallest weights set
to exactly 0, over all layers together (``global``) or the same fraction in each
(``layer``). ``PruneReport.achieved`` is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llm_core.compression.quantize import linear_layers
from llm_core.errors import InputError

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    import torch
    from torch import nn

MAX_SPARSITY = 0.99  # 100 % would leave no weight at all
SCOPES = ("global", "layer")


@dataclass(frozen=True)
class PruneReport:
    """Requested and achieved sparsity of the linear layers' weights. ``achieved`` is
    exact: ``n_pruned / n_weights``; ``per_layer``: name -> that layer's fraction."""

    requested: float
    scope: str
    n_pruned: int
    n_weights: int
    per_layer: dict[str, float] = field(default_factory=dict)

    @property
    def achieved(self) -> float:
        return self.n_pruned / self.n_weights if self.n_weights else 0.0


def check_sparsity(sparsity: float) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise InputError(f"The sparsity must be a number from 0 to {MAX_SPARSITY}.")
    if not 0.0 <= float(sparsity) <= MAX_SPARSITY or math.isnan(sparsity):
        raise InputError(
            f"The sparsity must be from 0 to {MAX_SPARSITY} (0.5 = half the weights set to "
            f"zero); got {sparsity}."
        )
    return float(sparsity)


def _exact_magnitude_method() -> type:
    import torch
    from torch.nn.utils import prune

    class ExactMagnitude(prune.BasePruningMethod):
        """Zero exactly round(amount * n) entries of smallest |w| (ties: first in order).

        Like torch's ``L1Unstructured`` but found with ``kthvalue`` (a selection, not a
        sort: seconds instead of tens of seconds on 100 M weights). Entries already
        masked count as the smallest, so pruning further never revives a weight.
        """

        PRUNING_TYPE = "unstructured"

        def __init__(self, amount: float) -> None:
            self.amount = amount

        def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
            mask = default_mask.clone(memory_format=torch.contiguous_format)
            k = round(self.amount * t.numel())
            if k == 0:
                return mask
            scores = t.detach().abs().flatten().masked_fill(default_mask.flatten() == 0, -1.0)
            threshold = torch.kthvalue(scores, k).values
            below = scores < threshold
            ties = (scores == threshold).nonzero()[:, 0][: k - int(below.sum())]
            below[ties] = True
            mask.view(-1)[below] = 0
            return mask

    return ExactMagnitude


def prune_linear(model: nn.Module, sparsity: float, scope: str = "global") -> PruneReport:
    """Magnitude-prune the linear layers' weights to ``sparsity``, in place.

    ``scope="global"``: the smallest weights of all layers together (layers lose
    different shares); ``"layer"``: each layer loses ``sparsity`` of its own. The masks
    are then made permanent: plain tensors with zeros.
    """
    from torch.nn.utils import prune

    sparsity = check_sparsity(sparsity)
    if scope not in SCOPES:
        raise InputError(f"Unknown pruning scope '{scope}': use one of {', '.join(SCOPES)}.")
    layers = linear_layers(model)
    method = _exact_magnitude_method()
    if scope == "global":
        targets = [(module, "weight") for _, module in layers]
        prune.global_unstructured(targets, pruning_method=method, amount=sparsity)
    else:
        for _, module in layers:
            method.apply(module, "weight", amount=sparsity)
    per_layer, n_pruned, n_weights = {}, 0, 0
    for name, module in layers:
        zeros = int((module.weight_mask == 0).sum())
        per_layer[name] = zeros / module.weight_mask.numel()
        n_pruned += zeros
        n_weights += module.weight_mask.numel()
        prune.remove(module, "weight")
    return PruneReport(sparsity, scope, n_pruned, n_weights, per_layer)


def make_pruning_permanent(model: nn.Module) -> None:
    """Fold any ``torch.nn.utils.prune`` masks into plain weights (before saving)."""
    from torch.nn.utils import prune

    for module in model.modules():
        for name in [h._tensor_name for h in module._forward_pre_hooks.values() if _is_prune(h)]:
            prune.remove(module, name)


def _is_prune(hook: object) -> bool:
    from torch.nn.utils import prune

    return isinstance(hook, prune.BasePruningMethod)
