"""Interactive work first: a generation while a fine-tuning job trains, with and without
the gate (``llm_core.serving.gate``) that makes the job wait between its steps.

In one process, as on a server: the default model serves generations through its worker
while a LoRA fine-tuning job (on a copy, as the studio runs it) trains on the Tang poems.
Prints the seconds of a 32-token generation (page settings) with no job, with the job and
the gate, and with the job and the gate switched off; and the job's training steps per
second while nothing else runs and while generations keep coming.

    .venv/bin/python benchmarks/interactive_first.py [--repeats 3] [--tokens 32]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from llm_core.generation.generate import build_prompt_ids
    from llm_core.generation.sampling import GenerationSettings
    from llm_core.jobs import JOB_SLOT
    from llm_core.models.loading import load_model
    from llm_core.serving import gate
    from llm_core.serving.worker import worker_for
    from llm_core.text.corpus import load_corpus
    from llm_core.training.finetune import run_finetune
    from llm_core.training.settings import FinetuneSettings

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    loaded = load_model("default")
    worker = worker_for(loaded)
    settings = GenerationSettings(
        max_new_tokens=args.tokens, stop_at_eos=False, capture_attention=True
    )
    ids = build_prompt_ids(loaded.tokenizer, "Once upon a time, there was a little robot who")

    def generation_seconds() -> list[float]:
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            worker.submit_generation(ids, settings).result()
            seconds.append(time.perf_counter() - start)
        return seconds

    generation_seconds()  # warm up
    alone = generation_seconds()
    with tempfile.TemporaryDirectory() as scratch:
        train = FinetuneSettings(method="lora", steps=10_000, eval_every=0)
        job = JOB_SLOT.start(
            "finetune",
            "benchmark",
            lambda job: run_finetune(
                job, loaded, load_corpus("tang300"), train, Path(scratch) / "x"
            ),
        )
        while job.progress().step < 3 and not job.progress().finished:
            time.sleep(0.2)

        def steps_per_s(seconds: float, busy: bool) -> tuple[float, list[float]]:
            first, start, timed = job.progress().step, time.perf_counter(), []
            while time.perf_counter() - start < seconds:
                if busy:
                    timed += generation_seconds()
                else:
                    time.sleep(0.5)
            return (job.progress().step - first) / (time.perf_counter() - start), timed

        quiet_rate, _ = steps_per_s(20.0, busy=False)
        gated_rate, gated = steps_per_s(20.0, busy=True)
        waited = gate.INTERACTIVE.yielded_s
        original = gate.INTERACTIVE.yield_to_interactive
        gate.INTERACTIVE.yield_to_interactive = lambda *a, **k: 0.0  # the gate off
        try:
            open_rate, ungated = steps_per_s(20.0, busy=True)
        finally:
            gate.INTERACTIVE.yield_to_interactive = original
        job.cancel()
        job.wait(120)

    def show(name: str, seconds: list[float]) -> None:
        print(
            f"  {name:<28} p50 {statistics.median(seconds):6.2f} s  "
            f"max {max(seconds):6.2f} s  ({len(seconds)} generations)"
        )

    print(f"a {args.tokens}-token generation (attention recorded):")
    show("no job", alone)
    show("LoRA job, gate on", gated)
    show("LoRA job, gate off", ungated)
    print("the LoRA job's training steps per second:")
    print(f"  nothing else running          {quiet_rate:.2f}")
    print(f"  generations, gate on          {gated_rate:.2f}  (waited {waited:.1f} s in all)")
    print(f"  generations, gate off         {open_rate:.2f}")


if __name__ == "__main__":
    main()
