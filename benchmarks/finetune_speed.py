"""Fine-tuning speed on the default model: our Trainer-based training beside a plain
PyTorch loop, and the default classroom run on the Tang poems.

1. For LoRA and full fine-tuning, each in its own process: training tokens/s of
   ``llm_core.training.trainer.build_trainer`` (the Hugging Face Trainer, as the studio runs it)
   and of a plain loop (forward, backward, clip, AdamW step) over the same model, data,
   batch, block length and learning rate; the ratio trainer / plain (aim: >= 0.9), and
   each process's peak RSS. The first ``--warmup`` steps are not timed.
2. The classroom run: ``run_finetune`` with the default settings on tang300 (load,
   measure before, train, measure after, save): validation perplexity before -> after,
   wall time and peak RSS.

    .venv/bin/python benchmarks/finetune_speed.py [--steps 10] [--warmup 2] [--skip-classroom]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from isolation import measure_in_subprocess


def _setup(method: str, block_length: int, batch_size: int, steps: int):
    import torch

    from llm_core.models.loading import load_model
    from llm_core.text.corpus import load_corpus
    from llm_core.text.packing import pack_corpus
    from llm_core.training.settings import FinetuneSettings, add_lora

    torch.manual_seed(0)
    loaded = load_model("default")
    settings = FinetuneSettings(method=method, block_length=block_length, batch_size=batch_size)
    packed = pack_corpus(loaded.tokenizer, load_corpus("tang300"), block_length)
    model = add_lora(loaded.model, settings) if method == "lora" else loaded.model
    model.train()
    n_blocks = steps * batch_size
    blocks = packed.train[:n_blocks]
    assert len(blocks) == n_blocks, "not enough blocks in tang300 for these steps"
    return model, blocks, settings.resolved_learning_rate


def _rate(stamps: list[float], warmup: int, tokens_per_step: int) -> float:
    timed = stamps[warmup:]
    return tokens_per_step * (len(timed) - 1) / (timed[-1] - timed[0])


def run_trainer(method: str, steps: int, warmup: int, block_length: int, batch_size: int) -> dict:
    import torch
    from transformers import TrainerCallback

    from llm_core.training.trainer import TrainerOptions, build_trainer

    model, blocks, rate = _setup(method, block_length, batch_size, steps)
    stamps: list[float] = []

    class Stamp(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

    options = TrainerOptions(steps=steps, batch_size=batch_size, learning_rate=rate)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = build_trainer(model, blocks, None, options, scratch)
        trainer.add_callback(Stamp())
        trainer.train()
    return {
        "method": method,
        "loop": "trainer",
        "tokens_per_s": _rate(stamps, warmup, block_length * batch_size),
        "threads": torch.get_num_threads(),
    }


def run_plain(method: str, steps: int, warmup: int, block_length: int, batch_size: int) -> dict:
    import torch

    model, blocks, rate = _setup(method, block_length, batch_size, steps)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=rate, weight_decay=0.0)
    stamps = [time.perf_counter()]
    for step in range(steps):
        batch = torch.from_numpy(blocks[step * batch_size : (step + 1) * batch_size])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)  # as the Trainer does (max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss)  # the Trainer reads the loss every step (logging_steps=1)
        stamps.append(time.perf_counter())
    return {
        "method": method,
        "loop": "plain",
        "tokens_per_s": _rate(stamps, warmup, block_length * batch_size),
        "threads": torch.get_num_threads(),
    }


def run_classroom() -> dict:
    import os

    os.environ["LLM_EXPLORER_OUTPUTS"] = tempfile.mkdtemp(prefix="llm-explorer-bench-")
    from llm_core.jobs import Job
    from llm_core.models.loading import load_model
    from llm_core.models.outputs import output_path
    from llm_core.text.corpus import load_corpus
    from llm_core.training.finetune import run_finetune
    from llm_core.training.settings import FinetuneSettings

    started = time.perf_counter()
    base = load_model("default")
    corpus = load_corpus("tang300")
    settings = FinetuneSettings()
    target = output_path("classroom")
    job = Job(
        "finetune",
        "classroom",
        lambda j: run_finetune(j, base, corpus, settings, target, copy_base=False),
    )
    result = job.run()
    return {
        "settings": settings.to_json(),
        "perplexity_before": result.before.perplexity,
        "perplexity_after": result.after.perplexity,
        "eval_losses": [[step, loss] for step, loss in result.eval_losses],
        "tokens_per_s": result.tokens_per_s,
        "wall_s": time.perf_counter() - started,
        "sample_prompt": result.sample_prompt,
        "sample_before": result.before.sample,
        "sample_after": result.after.sample,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--block-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--methods", nargs="+", default=["lora", "full"], choices=["lora", "full"])
    parser.add_argument("--skip-classroom", action="store_true")
    args = parser.parse_args()
    if args.steps - args.warmup < 2:
        parser.error("--steps must exceed --warmup by at least 2")
    shape = {
        "steps": args.steps,
        "warmup": args.warmup,
        "block_length": args.block_length,
        "batch_size": args.batch_size,
    }
    print(
        f"default model, block {args.block_length} x batch {args.batch_size}, {args.steps} steps ({args.warmup} untimed)"
    )
    print(f"{'method':<6} {'loop':<8} {'tokens/s':>9} {'peak RSS MB':>12}")
    for method in args.methods:
        rates = {}
        for loop, target in (
            ("trainer", "finetune_speed:run_trainer"),
            ("plain", "finetune_speed:run_plain"),
        ):
            result = measure_in_subprocess(target, method=method, **shape)
            rates[loop] = result["tokens_per_s"]
            print(
                f"{method:<6} {loop:<8} {result['tokens_per_s']:>9.1f} {result['peak_rss_mb']:>12.0f}"
            )
        print(f"{method:<6} ratio trainer / plain: {rates['trainer'] / rates['plain']:.3f}")
    if not args.skip_classroom:
        result = measure_in_subprocess("finetune_speed:run_classroom")
        settings = result["settings"]
        print(
            f"\nclassroom run (tang300, {settings['method']}, {settings['steps']} steps x "
            f"{settings['batch_size']} x {settings['block_length']} tokens, lr {settings['learning_rate']}, "
            f"targets {','.join(settings['target_modules'])}):"
        )
        print(
            f"  validation perplexity {result['perplexity_before']:.2f} -> {result['perplexity_after']:.2f}"
        )
        print(
            f"  validation loss by step: {', '.join(f'{s}: {v:.3f}' for s, v in result['eval_losses'])}"
        )
        print(
            f"  wall time {result['wall_s']:.0f} s, {result['tokens_per_s']:.0f} training tokens/s, peak RSS {result['peak_rss_mb']:.0f} MB"
        )
        print(
            f"  prompt {result['sample_prompt']!r}\n  before {result['sample_before']!r}\n  after  {result['sample_after']!r}"
        )


if __name__ == "__main__":
    main()
