"""Saved outputs (fine-tuned, compressed models): name, save atomically, list, zip, delete.

An output is a folder under ``locations.outputs_dir()`` holding ``config.json``,
``*.safetensors`` weights, the tokenizer and ``provenance.json`` (base model, method,
corpus, steps, metrics). It is written with ``saving.write_folder_atomically``, so it is
complete or absent: a cancelled or killed job leaves at most a hidden ``.NAME.partial-*``
folder that no listing shows. A LoRA output also keeps its adapter in ``adapter/``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llm_core.errors import InputError
from llm_core.jobs import JobCancelledError
from llm_core.locations import outputs_dir
from llm_core.models.default_model import DEFAULT_SPEC, PROVENANCE_FILE, read_provenance
from llm_core.models.specs import OUTPUT_NAME_PATTERN, list_saved_outputs
from llm_core.saving import (
    PARTIAL_MARK,
    folder_lock,
    remove_stale_partials,
    write_folder_atomically,
)

MAX_OUTPUT_NAME_CHARS = 64
ADAPTER_FOLDER = "adapter"
# A download is built in memory (Streamlit sends bytes): refuse folders larger than this.
MAX_ZIP_BYTES = int(os.environ.get("LLM_EXPLORER_MAX_ZIP_BYTES", str(2 * 2**30)))
# Weights barely compress; storing them keeps zipping fast.
STORED_SUFFIXES = (".safetensors",)


@dataclass(frozen=True)
class SavedOutput:
    """One complete output folder and what its provenance says."""

    name: str
    path: Path
    provenance: dict[str, Any]
    n_bytes: int

    @property
    def has_adapter(self) -> bool:
        return (self.path / ADAPTER_FOLDER / "adapter_config.json").is_file()


# ---------------------------------------------------------------------------- names


def validate_output_name(name: str) -> str:
    """The name, stripped, if it can name an output folder; else ``InputError``."""
    name = (name or "").strip()
    if not name:
        raise InputError("Give the output a name (letters, digits, '-', '_' or '.').")
    if len(name) > MAX_OUTPUT_NAME_CHARS:
        raise InputError(
            f"The output name has {len(name)} characters; at most {MAX_OUTPUT_NAME_CHARS}."
        )
    if name == DEFAULT_SPEC or not OUTPUT_NAME_PATTERN.match(name) or name.startswith("."):
        raise InputError(
            f"'{name}' cannot name an output: use letters, digits, '-', '_' and '.', start "
            f"with a letter or digit, and do not use '{DEFAULT_SPEC}'."
        )
    return name


def suggest_output_name(corpus_name: str, method: str, now: datetime | None = None) -> str:
    """e.g. ``tang300-lora-20250101-093000``: unique enough for one person's outputs."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in corpus_name).strip("-_")
    stem = stem[: MAX_OUTPUT_NAME_CHARS - len(method) - len(stamp) - 2] or "corpus"
    return f"{stem}-{method}-{stamp}"


def output_path(name: str) -> Path:
    """Where the output ``name`` lives (it may not exist yet)."""
    return outputs_dir() / validate_output_name(name)


def resolve_out(out: str) -> Path:
    """Where a CLI ``--out`` saves: a bare name (``tang-lora``) goes under the outputs
    folder, where the model picker lists it; anything with a slash is a folder path."""
    if "/" not in out and OUTPUT_NAME_PATTERN.match(out):
        return output_path(out)
    return Path(out).expanduser()


def check_free(target: Path) -> None:
    """``InputError`` if ``target`` already exists (outputs are never silently replaced)."""
    if Path(target).exists():
        raise InputError(
            f"An output already exists at '{target}'. Choose another name, or delete it first."
        )


# ---------------------------------------------------------------------------- saving


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_output(
    target: Path,
    model: Any,
    tokenizer: Any,
    provenance: dict[str, Any],
    adapter_dir: Path | None = None,
    extra_files: dict[str, str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    write_weights: Callable[[Path], None] | None = None,
) -> Path:
    """Write a loadable model folder at ``target`` atomically and return it.

    ``write_weights(folder)`` writes the config and weights (default: the model's own
    ``save_pretrained`` as safetensors; compressed variants bring their own).
    ``adapter_dir``: a saved PEFT adapter to keep in ``adapter/``. ``extra_files``:
    name -> text (e.g. a training log). ``should_stop`` is checked once everything is
    written and before the folder is moved into place: a cancel then leaves nothing.
    Raises ``InputError`` if ``target`` exists.
    """
    target = Path(target)

    def write(folder: Path) -> None:
        if write_weights is not None:
            write_weights(folder)
        else:
            model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        if adapter_dir is not None:
            shutil.copytree(adapter_dir, folder / ADAPTER_FOLDER)
        record = {**provenance, "saved": utc_now()}
        text = json.dumps(record, ensure_ascii=False, indent=2)
        (folder / PROVENANCE_FILE).write_text(text, encoding="utf-8")
        for name, content in (extra_files or {}).items():
            (folder / name).write_text(content, encoding="utf-8")
        if should_stop is not None and should_stop():
            raise JobCancelledError("The job was cancelled while saving; nothing was saved.")

    with folder_lock(target):
        check_free(target)
        remove_stale_partials(target)
        return write_folder_atomically(target, write)


# ---------------------------------------------------------------------------- managing


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def list_outputs() -> list[SavedOutput]:
    """Every complete output, with its provenance and size on disk, by name."""
    found = []
    for source in list_saved_outputs():
        path = Path(source.location)
        try:
            provenance = read_provenance(path)
        except (OSError, ValueError):  # unreadable provenance must not hide the output
            provenance = {}
        found.append(SavedOutput(source.name, path, provenance, _folder_bytes(path)))
    return found


def _existing_output(name: str) -> Path:
    path = output_path(name)
    # A symlink could point anywhere: only real folders inside the outputs dir are ours.
    if path.is_symlink() or not path.is_dir() or path.resolve().parent != outputs_dir().resolve():
        raise InputError(f"There is no saved output named '{name}'.")
    return path


def delete_output(name: str) -> None:
    """Remove the output ``name``. It first moves out of sight under a hidden name in one
    rename, so nobody sees a half-deleted folder that looks complete."""
    path = _existing_output(name)
    with folder_lock(path):
        if not path.is_dir():
            raise InputError(f"There is no saved output named '{name}'.")
        hidden = Path(tempfile.mkdtemp(prefix=f".{path.name}{PARTIAL_MARK}", dir=path.parent))
        os.rmdir(hidden)
        os.replace(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)


def zip_output(name: str, adapter_only: bool = False) -> bytes:
    """The output folder (or only its LoRA adapter) as zip bytes, for a download.

    Files sit under a top folder named after the output. Raises ``InputError`` when
    there is no such output or adapter, or it exceeds ``MAX_ZIP_BYTES``.
    """
    path = _existing_output(name)
    root = path / ADAPTER_FOLDER if adapter_only else path
    if adapter_only and not root.is_dir():
        raise InputError(f"'{name}' has no LoRA adapter: download the whole model instead.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    size = sum(p.stat().st_size for p in files)
    if size > MAX_ZIP_BYTES:
        raise InputError(
            f"'{name}' is {size / 2**30:.1f} GB; downloads are limited to "
            f"{MAX_ZIP_BYTES / 2**30:.1f} GB (LLM_EXPLORER_MAX_ZIP_BYTES). Copy the folder "
            f"{path} instead."
        )
    top = f"{name}-adapter" if adapter_only else name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in files:
            method = zipfile.ZIP_STORED if file.suffix in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            archive.write(file, f"{top}/{file.relative_to(root).as_posix()}", compress_type=method)
    return buffer.getvalue()
