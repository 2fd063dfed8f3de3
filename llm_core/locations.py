"""Where the engine keeps things on disk. Environment variables override each place.

- ``LLM_EXPLORER_CACHE``: converted default model (default: the user's cache dir).
- ``LLM_EXPLORER_OUTPUTS``: fine-tuned and compressed models (default: the user's data dir).
- ``LLM_EXPLORER_CORPORA``: the bundled sample corpora (``llm_core.text.corpus``; default:
  ``assets/corpora`` beside the package).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "llm-explorer"
CACHE_ENV = "LLM_EXPLORER_CACHE"
OUTPUTS_ENV = "LLM_EXPLORER_OUTPUTS"


def cache_dir() -> Path:
    """Root of the model cache (created on demand by the writers, not here)."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir(APP_NAME))


def outputs_dir() -> Path:
    """Folder whose sub-folders are saved models (fine-tuned, compressed, distilled)."""
    override = os.environ.get(OUTPUTS_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "outputs"
