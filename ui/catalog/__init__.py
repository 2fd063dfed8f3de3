"""The one UI string catalog, kept in one file per page so pages can grow independently.

Each module defines ``STRINGS: dict[key, {"en": ..., "zh": ...}]``; keys are
namespaced by page ("home.title"). ``CATALOG`` merges them and refuses duplicates.
"""

from __future__ import annotations

from ui.catalog import (
    attention,
    attention_math,
    common,
    compression,
    finetune,
    generation,
    home,
    interpret,
    jobs,
    tokenizer,
)

LANGUAGES = {"en": "English", "zh": "中文"}


def _merge(*modules) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for module in modules:
        for key, texts in module.STRINGS.items():
            if key in merged:
                raise KeyError(f"UI string key {key!r} is defined twice")
            merged[key] = texts
    return merged


CATALOG = _merge(
    common,
    home,
    tokenizer,
    attention,
    attention_math,
    generation,
    finetune,
    compression,
    interpret,
    jobs,
)
