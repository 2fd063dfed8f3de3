"""What a model's tensors weigh, whatever its variant (float32, bfloat16, pruned, int8).

    size = measure_size(model)   # params, bytes, linear-weight bytes, exact zeros

An int8 layer counts as it is saved (``llm_core.compression.variants``): one byte per
weight plus a float32 scale and an int8 zero point per output channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    import torch
    from torch import nn


@dataclass(frozen=True)
class ModelSize:
    """What a model's tensors weigh. ``tensor_bytes``: every parameter and buffer once
    (tied tensors once; an int8 layer as int8 values + one float32 scale and one int8
    zero point per output channel, as saved). ``linear_weight_bytes``: the same for the
    linear layers' weights only. ``n_zero_linear``: exactly-zero linear weights."""

    n_params: int
    tensor_bytes: int
    linear_weight_bytes: int
    n_linear_weights: int
    n_zero_linear: int
    dtypes: tuple[str, ...]

    @property
    def linear_sparsity(self) -> float:
        return self.n_zero_linear / self.n_linear_weights if self.n_linear_weights else 0.0


def _int8_weight(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values [out, in], float32 scales [out]) of a dynamic int8 linear."""
    import torch

    weight = module.weight()  # a quantized tensor
    if weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        scales = weight.q_per_channel_scales().to(torch.float32)
    else:
        scales = torch.full((weight.shape[0],), weight.q_scale(), dtype=torch.float32)
    return weight.int_repr(), scales


def int8_weight_bytes(n_out: int, n_in: int) -> int:
    """int8 values + a float32 scale and an int8 zero point per output channel."""
    return n_out * n_in + n_out * 5


def measure_size(model: nn.Module) -> ModelSize:
    """Count parameters and bytes of ``model`` (float, bf16, pruned or int8)."""
    import torch
    import torch.ao.nn.quantized.dynamic as nnqd

    seen: dict[int, torch.Tensor] = {}
    for tensor in [*model.parameters(), *model.buffers()]:
        seen.setdefault(id(tensor), tensor)
    n_params = sum(t.numel() for t in model.parameters())
    tensor_bytes = sum(t.numel() * t.element_size() for t in seen.values())
    dtypes = {str(t.dtype).replace("torch.", "") for t in model.parameters()}
    linear_bytes = n_linear = n_zero = 0
    head = model.get_output_embeddings()
    for module in model.modules():
        if isinstance(module, nnqd.Linear):
            values, _scales = _int8_weight(module)
            n_out, n_in = values.shape
            size = int8_weight_bytes(n_out, n_in)
            bias = module.bias()
            n_params += values.numel() + (bias.numel() if bias is not None else 0)
            tensor_bytes += size + (bias.numel() * 4 if bias is not None else 0)
            linear_bytes += size
            n_linear += values.numel()
            n_zero += int((values == 0).sum())
            dtypes.add("int8")
        elif isinstance(module, torch.nn.Linear) and module is not head:
            weight = module.weight
            linear_bytes += weight.numel() * weight.element_size()
            n_linear += weight.numel()
            n_zero += int((weight == 0).sum())
    return ModelSize(n_params, tensor_bytes, linear_bytes, n_linear, n_zero, tuple(sorted(dtypes)))
