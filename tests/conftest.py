"""Shared fixtures. Tiny models are built once per session; each test gets its own
cache and outputs folders so nothing it writes leaks into the user's real ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tiny_models import save_tiny_model  # noqa: E402

ARCHS = ("llama", "gpt2", "qwen2")


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    """{"llama": folder, "gpt2": folder, "qwen2": folder}, each a saved random model."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {arch: save_tiny_model(root / arch, arch) for arch in ARCHS}


@pytest.fixture(params=ARCHS)
def tiny_model_dir(request, tiny_model_dirs) -> Path:
    return tiny_model_dirs[request.param]


@pytest.fixture
def tiny_llama(tiny_model_dirs):
    """A loaded tiny Llama (grouped-query attention: 4 heads, 2 kv heads)."""
    from llm_core.models.loading import load_model

    return load_model(str(tiny_model_dirs["llama"]))


@pytest.fixture(scope="module")
def tiny_models(tiny_model_dirs) -> dict:
    """{"llama": LoadedModel, ...}, loaded once per test module that asks."""
    from llm_core.models.loading import load_model

    return {arch: load_model(str(folder)) for arch, folder in tiny_model_dirs.items()}


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy machine threads cost 10x.
    A module asks for it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def isolated_outputs(tmp_path, monkeypatch) -> Path:
    """An empty outputs folder, set through LLM_EXPLORER_OUTPUTS for this test only."""
    folder = tmp_path / "outputs"
    folder.mkdir()
    monkeypatch.setenv("LLM_EXPLORER_OUTPUTS", str(folder))
    return folder


@pytest.fixture(scope="session")
def default_model():
    """The real default model (SmolLM2-135M-Instruct), loaded once per session."""
    from llm_core.models.loading import load_model

    return load_model("default")
