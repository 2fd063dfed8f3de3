"""The default model's set-up costs: first-run conversion (GGUF -> safetensors) into an
empty cache, then a load from the converted folder; seconds and peak RSS of each, in
separate processes. Nothing is written to the real cache.

    .venv/bin/python benchmarks/default_model.py
"""

from __future__ import annotations

import os
import tempfile
import time

from isolation import measure_in_subprocess


def convert(cache: str) -> dict:
    os.environ["LLM_EXPLORER_CACHE"] = cache
    from llm_core.models.default_model import prepare_default_model

    started = time.perf_counter()
    prepare_default_model()
    return {"step": "convert (first run)", "seconds": time.perf_counter() - started}


def load(cache: str) -> dict:
    os.environ["LLM_EXPLORER_CACHE"] = cache
    from llm_core.models.loading import load_model

    started = time.perf_counter()  # includes importing torch and transformers
    load_model("default")
    return {"step": "load (converted)", "seconds": time.perf_counter() - started}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="llm-explorer-bench-") as cache:
        for step in ("convert", "load"):
            r = measure_in_subprocess(f"default_model:{step}", cache=cache)
            print(
                f"{r['step']:<22} {r['seconds']:6.1f} s  peak RSS {r['peak_rss_mb']:6.0f} MB"
                f"  RSS after {r['rss_now_mb']:6.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
