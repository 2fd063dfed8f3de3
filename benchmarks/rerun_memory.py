"""Reruns of the Attention page: what Streamlit's post-run garbage collection costs with
the model on the heap, with and without ``gc.freeze()`` (ui/model_loader.py freezes after
a model loads), and whether memory grows over 200 reruns.

Drives views/attention.py with Streamlit's AppTest in this process (the default model,
a head switch per rerun), prints the seconds one full collection ``gc.collect(2)`` takes
before and after the freeze, and the process's RSS (psutil) every 50 reruns.

    .venv/bin/python benchmarks/rerun_memory.py [--reruns 200]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "app")]


def full_collection_s(repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        gc.collect(2)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    import psutil
    from streamlit.testing.v1 import AppTest

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reruns", type=int, default=200)
    args = parser.parse_args()
    process = psutil.Process()
    at = AppTest.from_file(str(ROOT / "views" / "attention.py"), default_timeout=600)
    at.session_state["lang"] = "en"
    at.run()  # loads the model, which freezes the heap (ui/model_loader.py)
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    before = full_collection_s()
    gc.freeze()
    after = full_collection_s()
    print(f"objects frozen after the model loaded: {frozen:,}")
    print(
        f"gc.collect(2) with the model on the heap: {before:.3f} s unfrozen, {after:.4f} s frozen"
    )
    rss = [process.memory_info().rss / 1024**2]
    started = time.perf_counter()
    for rerun in range(1, args.reruns + 1):
        at.selectbox(key="attn_head").set_value(rerun % 9).run()
        assert not at.exception, at.exception
        if rerun % 50 == 0:
            rss.append(process.memory_info().rss / 1024**2)
            print(f"after {rerun:>4} reruns: RSS {rss[-1]:7.1f} MB", flush=True)
    per_rerun = (time.perf_counter() - started) / args.reruns
    print(
        f"{per_rerun:.3f} s per rerun (AppTest, whole script); RSS change from rerun 50 to "
        f"{args.reruns}: {rss[-1] - rss[1]:+.1f} MB (first run: {rss[0]:.0f} MB)"
    )


if __name__ == "__main__":
    main()
