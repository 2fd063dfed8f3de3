"""Where things live inside a decoder model: its blocks, their attention modules, the
final norm. Every engine function that hooks or walks a model finds the parts here, so
support for a new architecture is added in one place.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from llm_core.errors import UnsupportedModelError

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

FINAL_NORM_NAMES = ("norm", "ln_f", "final_layernorm", "norm_f", "final_layer_norm")
INPUT_NORM_NAMES = ("input_layernorm", "ln_1")  # before attention, in a pre-norm block


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The list (``nn.ModuleList``) of decoder blocks: ``model.layers``, GPT-2's ``h``..."""
    base = model.base_model
    layers = getattr(base, "layers", None) or getattr(base, "h", None)
    if layers is None:
        raise UnsupportedModelError(
            f"Cannot find the layer list of {type(model).__name__}: this tool supports "
            "Llama-, Qwen2- and GPT-2-style models."
        )
    return layers


# model -> (n_layers, its attention modules): found once per model, since a walk over
# every module costs ~1.5 ms on SmolLM2 and a 30-layer summary asks 60 times.
_ATTENTION_MODULES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def attention_modules(model: torch.nn.Module, n_layers: int) -> list[torch.nn.Module]:
    """The self-attention module of each decoder layer, in layer order (found once per
    model: code that swaps a model's attention modules must build a new model)."""
    found = _ATTENTION_MODULES.get(model)
    if found is not None and found[0] == n_layers:
        return list(found[1])
    modules = _find_attention_modules(model, n_layers)
    _ATTENTION_MODULES[model] = (n_layers, tuple(modules))
    return modules


def _find_attention_modules(model: torch.nn.Module, n_layers: int) -> list[torch.nn.Module]:
    by_layer: dict[int, list[torch.nn.Module]] = {}
    for module in model.modules():
        layer = getattr(module, "layer_idx", None)
        if (
            type(module).__name__.endswith("Attention")
            and isinstance(layer, int)
            and not getattr(module, "is_cross_attention", False)
        ):
            by_layer.setdefault(layer, []).append(module)
    if sorted(by_layer) != list(range(n_layers)) or any(len(m) != 1 for m in by_layer.values()):
        raise UnsupportedModelError(
            f"Cannot find one self-attention module per layer in {type(model).__name__} "
            f"(found layers {sorted(by_layer)} of {n_layers}); this tool supports "
            "Llama, Qwen2, GPT-2 and similar decoder models."
        )
    return [by_layer[layer][0] for layer in range(n_layers)]


def final_norm(model: torch.nn.Module) -> torch.nn.Module:
    """The norm applied after the last block (``model.norm``, GPT-2's ``ln_f``...)."""
    for name in FINAL_NORM_NAMES:
        module = getattr(model.base_model, name, None)
        if module is not None:
            return module
    raise UnsupportedModelError(
        f"Cannot find the final norm of {type(model).__name__} (looked for "
        f"{', '.join(FINAL_NORM_NAMES)}); this tool supports Llama, Qwen2, GPT-2 "
        "and similar decoder models."
    )


def attention_input_norm(block: torch.nn.Module) -> torch.nn.Module:
    """The norm a pre-norm decoder block applies to its input before attention
    (Llama/Qwen2's ``input_layernorm``, GPT-2's ``ln_1``)."""
    for name in INPUT_NORM_NAMES:
        module = getattr(block, name, None)
        if module is not None:
            return module
    raise UnsupportedModelError(
        f"Cannot find the input norm of {type(block).__name__} (looked for "
        f"{', '.join(INPUT_NORM_NAMES)}); this tool supports Llama, Qwen2, GPT-2 "
        "and similar decoder models."
    )


def mlp_module(block: torch.nn.Module) -> torch.nn.Module:
    """The feed-forward part of a decoder block (``mlp`` in Llama, Qwen2 and GPT-2)."""
    for name in ("mlp", "feed_forward", "ffn"):
        module = getattr(block, name, None)
        if module is not None:
            return module
    raise UnsupportedModelError(
        f"Cannot find the MLP of {type(block).__name__} (looked for mlp, feed_forward, "
        "ffn); this tool supports Llama, Qwen2, GPT-2 and similar decoder models."
    )
