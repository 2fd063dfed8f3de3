"""A fine-tuning job: copy a model, train it on a corpus, compare before and after, save.

    plan = plan_finetune(loaded, corpus, FinetuneSettings(method="lora", steps=60))
    job = JOB_SLOT.start("finetune", "tang300 → tang-lora",
                         finetune_work(loaded, plan, output_path("tang-lora")))
    ...; result = job.result                     # FinetuneResult
    run_finetune(job, loaded, corpus, settings, target)   # plans and trains, in this thread

Methods: ``lora`` (peft adapters on ``target_modules``, merged into the saved weights;
the adapter is kept in ``adapter/`` too), ``full`` (every weight trains) and ``scratch``
(a small fresh model of the same family and tokenizer, sized by ``scratch_*``: what
pre-training is). The shared model is never modified: training runs on a deep copy (or
on a fresh model for ``scratch``). Before and after training the same things are
measured: validation perplexity on held-out documents, a sample for the same prompt and
seed, and attention on the same text. Nothing is written until training has finished;
the output folder then appears at once, complete (``llm_core.models.outputs.save_output``).
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_core.attention.capture import AttentionCapture, capture_attention
from llm_core.generation.generate import generate
from llm_core.generation.sampling import GenerationSettings
from llm_core.jobs import Job
from llm_core.models.loading import LoadedModel, as_loaded
from llm_core.models.outputs import check_free, save_output, utc_now
from llm_core.text.corpus import Corpus
from llm_core.text.tokens import Tokenization
from llm_core.training.plan import FinetunePlan, plan_finetune
from llm_core.training.settings import METHODS, FinetuneSettings, add_lora, scratch_model

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    from torch import nn

__all__ = [
    "METHODS",
    "FinetuneResult",
    "FinetuneSettings",
    "Snapshot",
    "finetune_work",
    "run_finetune",
    "run_planned",
]
SAMPLE_TEMPERATURE, SAMPLE_TOP_K = 0.8, 40


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One side of before/after: validation perplexity, a sample, and attention
    (``attention``: every layer kept, on ``FinetuneResult.attention_tokens``)."""

    perplexity: float
    sample: str
    attention: AttentionCapture


@dataclass(frozen=True, eq=False)
class FinetuneResult:
    """What a finished job found and where it saved it. Losses are (step, loss) pairs;
    ``eval_losses`` include step 0 (before training) and the last step (after)."""

    output: str
    base_model: str
    method: str
    settings: FinetuneSettings
    corpus: dict[str, Any]
    before: Snapshot
    after: Snapshot
    sample_prompt: str
    attention_tokens: Tokenization
    train_losses: tuple[tuple[int, float], ...]
    eval_losses: tuple[tuple[int, float], ...]
    tokens_per_s: float
    wall_s: float
    n_train_tokens: int
    n_eval_tokens: int
    n_trainable_params: int
    n_params: int

    def to_json(self) -> dict[str, Any]:
        """The CLI shape: output, perplexities, loss lists, tokens/s (and a few more)."""
        return {
            "output": self.output,
            "eval_perplexity_before": self.before.perplexity,
            "eval_perplexity_after": self.after.perplexity,
            "train_losses": [loss for _, loss in self.train_losses],
            "eval_losses": [loss for _, loss in self.eval_losses],
            "eval_steps": [step for step, _ in self.eval_losses],
            "tokens_per_s": self.tokens_per_s,
            "wall_s": self.wall_s,
            "method": self.method,
            "base_model": self.base_model,
            "n_trainable_params": self.n_trainable_params,
            "sample_prompt": self.sample_prompt,
            "sample_before": self.before.sample,
            "sample_after": self.after.sample,
        }


# ---------------------------------------------------------------------------- measuring


def _count(model: nn.Module, trainable_only: bool) -> int:
    seen = {id(p): p for p in model.parameters() if p.requires_grad or not trainable_only}
    return sum(p.numel() for p in seen.values())


def measure(loaded: LoadedModel, plan: FinetunePlan, job: Job) -> Snapshot:
    """Perplexity on ``plan.measured``, one seeded sample after the plan's prompt, full
    attention on its attention text. Checks the job between batches and tokens."""
    from llm_core.training.trainer import block_perplexity

    perplexity = block_perplexity(loaded.model, plan.measured, checkpoint=job.checkpoint)
    loaded.model.cpu()  # the engine's generation and capture run on the CPU
    sampling = GenerationSettings(
        do_sample=True,
        temperature=SAMPLE_TEMPERATURE,
        top_k=SAMPLE_TOP_K,
        max_new_tokens=plan.settings.sample_tokens,
        seed=plan.settings.seed,
    )
    sample = generate(loaded, plan.prompt_ids, sampling, should_stop=job.should_stop).text
    job.checkpoint()
    ids, n_layers = plan.attention_tokens.ids, loaded.description.n_layers
    attention = capture_attention(loaded, ids, layers=range(n_layers))
    return Snapshot(perplexity, sample, attention)


# ---------------------------------------------------------------------------- the job


def run_finetune(
    job: Job,
    base: LoadedModel,
    corpus: Corpus,
    settings: FinetuneSettings,
    target: Path,
    copy_base: bool = True,
    base_spec: str | None = None,
) -> FinetuneResult:
    """Plan (``plan_finetune``: every check), then ``run_planned``."""
    job.report(0, settings.steps, "preparing")
    plan = plan_finetune(base, corpus, settings)
    return run_planned(job, base, plan, target, copy_base=copy_base, base_spec=base_spec)


def run_planned(
    job: Job,
    base: LoadedModel,
    plan: FinetunePlan,
    target: Path,
    copy_base: bool = True,
    base_spec: str | None = None,
) -> FinetuneResult:
    """The work of a fine-tuning ``job`` (see the module docstring) on a checked plan.

    ``copy_base=False`` trains ``base.model`` itself (a caller that loaded it for this
    job only, e.g. the CLI). Raises ``InputError`` for an existing ``target``,
    ``JobCancelledError`` when cancelled.
    """
    from llm_core.training.trainer import JobCallback, SkipFinalEval, TrainerOptions, build_trainer

    started = time.monotonic()
    settings, tokenizer = plan.settings, base.tokenizer
    target = Path(target)
    check_free(target)
    if settings.method == "scratch":
        model = scratch_model(base.model, settings)
    elif copy_base:
        with base.lock:  # no forward pass of another session runs while we copy
            model = copy.deepcopy(base.model)
    else:
        model = base.model
    job.checkpoint()
    job.report(0, settings.steps, "measuring_before")
    before = measure(as_loaded(model, tokenizer, "before"), plan, job)
    job.log(step=0, eval_loss=math.log(before.perplexity))
    job.checkpoint()

    trained = add_lora(model, settings) if settings.method == "lora" else model.requires_grad_(True)
    n_trainable = _count(trained, trainable_only=True)
    trained.train()
    options = TrainerOptions(
        steps=settings.steps,
        batch_size=settings.batch_size,
        learning_rate=settings.resolved_learning_rate,
        warmup_steps=min(5, settings.steps // 10),
        eval_every=settings.resolved_eval_every,
        seed=settings.seed,
    )
    with tempfile.TemporaryDirectory(prefix="llm-explorer-finetune-") as scratch:
        trainer = build_trainer(trained, plan.packed.train, plan.measured, options, scratch)
        progress = JobCallback(
            job,
            tokens_per_step=settings.batch_size * settings.block_length * trainer.args.world_size,
        )
        trainer.add_callback(progress)
        trainer.add_callback(SkipFinalEval())
        trainer.train()
        job.checkpoint()
        steps_done = trainer.state.global_step
        adapter_dir = None
        if settings.method == "lora":
            adapter_dir = Path(scratch) / "adapter"
            trained.save_pretrained(adapter_dir)  # the adapter alone (safetensors), kept too
            model = trained.merge_and_unload()
        model.eval()
        job.report(steps_done, settings.steps, "measuring_after")
        after = measure(as_loaded(model, tokenizer, "after"), plan, job)
        job.log(step=steps_done, eval_loss=math.log(after.perplexity))
        job.checkpoint()
        history = job.history()
        result = FinetuneResult(
            output=str(target),
            base_model=base_spec or base.source.name,
            method=settings.method,
            settings=settings,
            corpus=plan.corpus.describe(),
            before=before,
            after=after,
            sample_prompt=plan.sample_prompt,
            attention_tokens=plan.attention_tokens,
            train_losses=tuple((p["step"], p["train_loss"]) for p in history if "train_loss" in p),
            eval_losses=tuple((p["step"], p["eval_loss"]) for p in history if "eval_loss" in p),
            tokens_per_s=progress.tokens_per_s,
            wall_s=0.0,
            n_train_tokens=progress.tokens_seen,
            n_eval_tokens=int(plan.measured.size - len(plan.measured)),
            n_trainable_params=n_trainable,
            n_params=_count(model, trainable_only=False),
        )
        if not trainer.is_world_process_zero():  # under accelerate launch, rank 0 saves
            return result
        job.report(steps_done, settings.steps, "saving")
        result = replace(result, wall_s=time.monotonic() - started)
        save_output(
            target,
            model,
            tokenizer,
            provenance(result, base),
            adapter_dir=adapter_dir,
            extra_files={"training_log.json": json.dumps(history)},
            should_stop=job.should_stop,
        )
    job.report(steps_done, settings.steps, "done")
    return result


def provenance(result: FinetuneResult, base: LoadedModel) -> dict[str, Any]:
    """What ``provenance.json`` of a fine-tuned output records."""
    import peft
    import torch
    import transformers

    return {
        "kind": "finetune",
        "base_model": result.base_model,
        "base_model_name": base.description.name,
        "base_provenance": base.description.provenance,
        "method": result.method,
        "corpus": result.corpus,
        "steps": len(result.train_losses),
        "settings": result.settings.to_json(),
        "metrics": {
            "eval_perplexity_before": result.before.perplexity,
            "eval_perplexity_after": result.after.perplexity,
            "n_eval_tokens": result.n_eval_tokens,
            "n_train_tokens": result.n_train_tokens,
            "tokens_per_s": result.tokens_per_s,
            "wall_s": result.wall_s,
        },
        "created": utc_now(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
    }


def finetune_work(
    base: LoadedModel, plan: FinetunePlan, target: Path, base_spec: str | None = None
) -> Callable[[Job], FinetuneResult]:
    """The work function for ``JOB_SLOT.start``: trains a copy of the shared ``base``."""

    def work(job: Job) -> FinetuneResult:
        return run_planned(job, base, plan, target, copy_base=True, base_spec=base_spec)

    return work
