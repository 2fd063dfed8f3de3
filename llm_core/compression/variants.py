"""Save compressed variants as ordinary model folders, and restore int8 ones on load.

A saved variant is a folder like any output (``config.json``, ``model.safetensors``,
tokenizer, ``provenance.json``), written atomically; ``provenance.json`` records
``"compression": {"method": ...}``.

- float32 (pruned, head-pruned, distilled): as is. Pruned weights are zeros in a dense
  tensor, so the file is as large as the original.
- bfloat16: weights stored as bfloat16 (half the bytes); they load as float32 like every
  model here (the values are exactly the bfloat16 ones).
- int8: each int8 linear layer's weight is stored in ``model.safetensors`` under its
  usual name as an int8 tensor (a quarter of the bytes), and its per-channel scales and
  zero points in ``int8_scales.safetensors``. Loading the folder with transformers alone
  gives integer-valued float weights; ``llm_core.load_model`` calls
  ``restore_variant``, which rebuilds the very same int8 layers (bit for bit).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_core.compression.pruning import make_pruning_permanent
from llm_core.compression.quantize import grouped_dynamic_linear, is_int8, quiet_quantization
from llm_core.errors import NotAModelFolderError
from llm_core.models.loading import register_restorer
from llm_core.models.outputs import save_output

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    import torch
    from torch import nn

INT8_SCALES_FILE = "int8_scales.safetensors"
WEIGHTS_FILE = "model.safetensors"


def _int8_state_dict(
    model: nn.Module,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(tensors for model.safetensors, tensors for INT8_SCALES_FILE)."""
    import torch
    import torch.ao.nn.quantized.dynamic as nnqd

    tensors: dict[str, torch.Tensor] = {}
    scales: dict[str, torch.Tensor] = {}
    quantized = {name: m for name, m in model.named_modules() if isinstance(m, nnqd.Linear)}
    prefixes = tuple(f"{name}." for name in quantized)  # their packed params are rebuilt below
    for name, tensor in model.state_dict().items():
        if isinstance(tensor, torch.Tensor) and not (prefixes and name.startswith(prefixes)):
            tensors[name] = tensor
    for name, module in quantized.items():
        weight = module.weight()
        if weight.qscheme() not in (torch.per_channel_affine, torch.per_channel_symmetric):
            raise ValueError(f"{name}: only per-channel int8 weights are saved")
        tensors[f"{name}.weight"] = weight.int_repr().contiguous()
        bias = module.bias()
        if bias is not None:
            tensors[f"{name}.bias"] = bias.detach().contiguous()
        scales[f"{name}.scale"] = weight.q_per_channel_scales().to(torch.float32).contiguous()
        scales[f"{name}.zero_point"] = weight.q_per_channel_zero_points().to(torch.int8)
    if getattr(model.config.get_text_config(), "tie_word_embeddings", False):
        tensors.pop("lm_head.weight", None)  # tied to the input embeddings; re-tied on load
    # safetensors refuses tensors sharing memory: give each its own
    return {k: v.detach().clone().contiguous() for k, v in tensors.items()}, scales


def _write_int8(model: nn.Module, folder: Path) -> None:
    from safetensors.torch import save_file

    tensors, scales = _int8_state_dict(model)
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    save_file(scales, str(folder / INT8_SCALES_FILE), metadata={"format": "pt"})
    model.config.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(folder)


def save_variant(
    target: Path,
    model: nn.Module,
    tokenizer: Any,
    provenance: dict[str, Any],
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Write ``model`` (any variant above) as a loadable folder at ``target``, atomically.

    Raises ``InputError`` if ``target`` exists; ``JobCancelledError`` (and leaves nothing)
    if ``should_stop`` turns true before the folder is moved into place.
    """

    def write_weights(folder: Path) -> None:
        if is_int8(model):
            _write_int8(model, folder)
        else:
            make_pruning_permanent(model)
            model.save_pretrained(folder, safe_serialization=True)

    return save_output(
        Path(target),
        model,
        tokenizer,
        provenance,
        should_stop=should_stop,
        write_weights=write_weights,
    )


def restore_variant(model: nn.Module, folder: Path, provenance: dict[str, Any]) -> nn.Module:
    """Re-apply what ``from_pretrained`` cannot know about a saved variant (int8 layers);
    any other model is returned untouched."""
    compression = provenance.get("compression")
    if not isinstance(compression, dict) or compression.get("method") != "int8":
        return model
    import torch
    from safetensors.torch import load_file

    path = Path(folder) / INT8_SCALES_FILE
    if not path.is_file():
        raise NotAModelFolderError(
            f"'{folder}' is an int8 variant but has no {INT8_SCALES_FILE}: save it again "
            "from the Compression page."
        )
    scales = load_file(str(path))
    layer_class = grouped_dynamic_linear()
    names = sorted({key.rsplit(".", 1)[0] for key in scales})
    with quiet_quantization(), torch.no_grad():
        for name in names:
            linear = model.get_submodule(name)
            scale = scales[f"{name}.scale"].to(torch.float64)
            zero = scales[f"{name}.zero_point"].to(torch.int64)
            # weights hold integers (int8 read as float32): scale back and re-quantize,
            # which gives the saved int8 values exactly
            values = linear.weight.detach().to(torch.float64) * scale[:, None]
            weight = torch.quantize_per_channel(values.float(), scale, zero, 0, torch.qint8)
            layer = layer_class(linear.in_features, linear.out_features, dtype=torch.qint8)
            bias = linear.bias.detach().clone() if linear.bias is not None else None
            layer.set_weight_bias(weight, bias)
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, layer)
    return model


register_restorer("compression", restore_variant)
