"""CLI command ``finetune``: train on a corpus, print before/after figures, save a model.

    python -m llm_core finetune --corpus tang300 --method lora --steps 60 --out tang-lora --json
    accelerate launch -m llm_core finetune --corpus poems.txt --method full --steps 500

The saved folder works as ``--model DIR`` on every other command. Progress lines go to
stderr; under ``accelerate launch`` only the first process saves and prints.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llm_core.cli.progress import print_progress

if TYPE_CHECKING:
    from llm_core.jobs import JobProgress


def _finetune_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.training.settings import METHODS, FinetuneSettings

    d = FinetuneSettings()
    parser.add_argument(
        "--corpus", required=True, help="a .txt/.md/.jsonl/.csv file, or a sample name (tang300)"
    )
    parser.add_argument("--text-field", help="the JSONL field or CSV column holding the text")
    parser.add_argument("--method", choices=METHODS, default=d.method, help="default: %(default)s")
    parser.add_argument("--steps", type=int, default=d.steps, help="optimizer steps (%(default)s)")
    parser.add_argument(
        "--out",
        help="a name (saved under the outputs folder) or a folder path "
        "(default: a new name under the outputs folder)",
    )
    parser.add_argument("--block-length", type=int, default=d.block_length, help="%(default)s")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="%(default)s")
    parser.add_argument("--learning-rate", type=float, help="default: chosen by method")
    parser.add_argument(
        "--validation-fraction", type=float, default=d.validation_fraction, help="%(default)s"
    )
    parser.add_argument(
        "--eval-tokens", type=int, default=d.eval_tokens, help="held-out tokens measured"
    )
    parser.add_argument("--eval-every", type=int, help="steps between validation losses")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--lora-rank", type=int, default=d.lora_rank)
    parser.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    parser.add_argument(
        "--target-modules",
        default=",".join(d.target_modules),
        help="LoRA targets, comma-separated (%(default)s)",
    )
    parser.add_argument("--scratch-layers", type=int, default=d.scratch_layers)
    parser.add_argument("--scratch-d-model", type=int, default=d.scratch_d_model)
    parser.add_argument("--scratch-heads", type=int, default=d.scratch_heads)
    parser.add_argument("--prompt", default="", help="prompt of the before/after samples")
    parser.add_argument("--attention-text", default="", help="text of the before/after attention")


def _settings(args: argparse.Namespace) -> Any:
    from llm_core.training.settings import FinetuneSettings

    return FinetuneSettings(
        method=args.method,
        steps=args.steps,
        block_length=args.block_length,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        eval_every=args.eval_every,
        eval_tokens=args.eval_tokens,
        seed=args.seed,
        lora_rank=args.lora_rank,
        lora_alpha=args.lora_alpha,
        target_modules=tuple(m.strip() for m in args.target_modules.split(",") if m.strip()),
        scratch_layers=args.scratch_layers,
        scratch_d_model=args.scratch_d_model,
        scratch_heads=args.scratch_heads,
        sample_prompt=args.prompt,
        attention_text=args.attention_text,
    ).validate()


def _progress_listener() -> Callable[[JobProgress], None]:
    last: list[Any] = [None]

    def listen(progress: JobProgress) -> None:
        key = (progress.step, progress.stage)
        if key == last[0] or progress.finished:
            return
        last[0] = key
        figures = [f"step {progress.step}/{progress.total_steps}"]
        if "tokens_per_s" in progress.metrics:
            figures.append(f"{progress.metrics['tokens_per_s']:.0f} tokens/s")
        if "train_loss" in progress.metrics:
            figures.append(f"loss {progress.metrics['train_loss']:.3f}")
        print_progress(progress.fraction, f"{progress.stage_text}: " + ", ".join(figures))

    return listen


def _finetune_run(args: argparse.Namespace) -> dict[str, Any]:

    from llm_core.jobs import Job
    from llm_core.locations import outputs_dir
    from llm_core.models.loading import load_model
    from llm_core.models.outputs import check_free, resolve_out, suggest_output_name
    from llm_core.text.corpus import load_corpus
    from llm_core.training.finetune import run_finetune

    settings = _settings(args)
    corpus = load_corpus(args.corpus, args.text_field)
    target = resolve_out(args.out) if args.out else None
    if target is None:
        target = outputs_dir() / suggest_output_name(corpus.name, settings.method)
    check_free(target)  # before minutes of loading and training, not after
    print_progress(0.0, f"loading {args.model}")
    base = load_model(args.model)
    job = Job(
        "finetune",
        f"{corpus.name} → {target.name}",
        lambda job: run_finetune(
            job, base, corpus, settings, target, copy_base=False, base_spec=args.model
        ),
        listener=_progress_listener(),
    )
    result = job.run()
    if int(os.environ.get("RANK", "0")) != 0:  # accelerate launch: rank 0 reports
        raise SystemExit(0)
    print_progress(1.0, f"saved {result.output}")
    return result.to_json()


def _format(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"saved: {result['output']}",
            f"validation perplexity: {result['eval_perplexity_before']:.2f} -> "
            f"{result['eval_perplexity_after']:.2f}",
            f"training: {len(result['train_losses'])} steps, {result['tokens_per_s']:.0f} "
            f"tokens/s, {result['wall_s']:.0f} s in all",
            f"prompt: {result['sample_prompt']}",
            f"before: {result['sample_before']}",
            f"after:  {result['sample_after']}",
        ]
    )


COMMANDS = {
    "finetune": (
        "fine-tune (LoRA / full) or train from scratch on a corpus, and save the model",
        _finetune_args,
        _finetune_run,
    ),
}
TEXT_FORMATTERS = {"finetune": _format}
