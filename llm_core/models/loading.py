"""Load models: ``load_model(spec)`` returns a ``LoadedModel`` (model, tokenizer,
description, lock), float32 on CPU, eager attention so attention weights can be captured.

Safety: weights load from safetensors only and ``trust_remote_code`` is never set.

A saved folder whose provenance names something ``from_pretrained`` cannot rebuild (an
int8 compressed variant) is finished by a *restorer*: a function registered under that
provenance key with ``register_restorer``. The compression package registers its own, so
this loader never imports it.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_core.errors import ModelOutOfMemoryError, NotAModelFolderError, UnsafeWeightsError
from llm_core.models.default_model import (
    DEFAULT_NAME,
    DEFAULT_SPEC,
    ProgressCallback,
    prepare_default_model,
    read_provenance,
)
from llm_core.models.description import ModelDescription, auto_class, describe_model, detect_kind
from llm_core.models.specs import (
    TOKENIZER_FILES,
    ModelSource,
    check_model_folder,
    probe_hub,
    resolve_spec,
)

# provenance key -> restore(model, folder, provenance) -> model; see the module doc.
Restorer = Callable[[Any, Path, dict[str, Any]], Any]
_RESTORERS: dict[str, Restorer] = {}


def register_restorer(provenance_key: str, restore: Restorer) -> None:
    """Call ``restore`` on every model loaded from a folder whose provenance has this key."""
    _RESTORERS[provenance_key] = restore


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
    _text_lock: threading.RLock = field(
        default_factory=threading.RLock, init=False, repr=False, compare=False
    )
    _text_copy: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:  # text work's own tokenizer (see text_tokenizer); ~0.15 s for SmolLM2's
            self._text_copy = copy.deepcopy(self.tokenizer)
        except Exception:  # noqa: BLE001 - any failure: text work shares the original
            self._text_copy = None

    @contextlib.contextmanager
    def text_tokenizer(self) -> Iterator[Any]:
        """A tokenizer for a page's text work (tokenize, decode) that never waits for the
        model: a copy of ``tokenizer`` (made with the model) under a lock of its own. A
        fast tokenizer is not safe in two threads at once, and ``lock`` is held through
        every forward pass of every session, so text work under it waited for other
        sessions' model turns (a decode step, a batch of traces). A tokenizer that could
        not be copied is lent under ``lock``, as before."""
        if self._text_copy is None:
            with self.lock:
                yield self.tokenizer
            return
        with self._text_lock:
            yield self._text_copy


def _load_pretrained(location: str, local_only: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoTokenizer

    common = {"trust_remote_code": False, "local_files_only": local_only}
    config = AutoConfig.from_pretrained(location, **common)
    kind = detect_kind(config)
    tokenizer = AutoTokenizer.from_pretrained(location, **common)
    model = auto_class(kind).from_pretrained(
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
            for key, restore in _RESTORERS.items():
                if key in provenance:  # e.g. a compressed variant's int8 layers, rebuilt
                    model = restore(model, Path(source.location), provenance)
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
        probe_hub(location)
        return AutoTokenizer.from_pretrained(location, **common)


def _load_hub(repo_id: str) -> tuple[Any, Any]:
    try:  # already in the local Hugging Face cache: no network at all
        return _load_pretrained(repo_id, local_only=True)
    except (OSError, ValueError):
        pass
    probe_hub(repo_id)
    return _load_pretrained(repo_id, local_only=False)


def as_loaded(model: Any, tokenizer: Any, name: str) -> LoadedModel:
    """An in-memory model (a copy being trained or compressed) as a ``LoadedModel``, so
    every engine function that measures a loaded model measures it too."""
    source = ModelSource("output", name, name)
    return LoadedModel(model, tokenizer, describe_model(model, source), source)
