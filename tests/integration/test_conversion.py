"""Converting the default model from scratch into an empty cache (the first-run path)."""

from __future__ import annotations

import pytest

from llm_core.models import default_model

pytestmark = pytest.mark.integration


def test_fresh_conversion_is_atomic_and_reports_progress(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path))
    seen: list[tuple[float, str]] = []
    folder = default_model.prepare_default_model(lambda f, m: seen.append((f, m)))
    assert default_model.is_default_model_ready()
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.parent.glob(".*partial*")), "temporary folder left behind"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len({m for _, m in seen}) >= 4, "each stage should be reported"
    # A second call finds it ready and converts nothing.
    seen.clear()
    assert default_model.prepare_default_model(lambda f, m: seen.append((f, m))) == folder
    assert seen == []


def test_interrupted_conversion_leaves_no_complete_looking_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path))

    def interrupt(fraction: float, message: str) -> None:
        if message.startswith("Saving"):
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C while saving

    with pytest.raises(KeyboardInterrupt):
        default_model.prepare_default_model(interrupt)
    assert not default_model.is_default_model_ready()
    assert not default_model.default_model_dir().exists()
    assert not list(default_model.default_model_dir().parent.glob(".*partial*"))
