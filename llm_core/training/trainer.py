"""Training on packed token blocks with the Hugging Face ``Trainer``, observed by a ``Job``.

    blocks = pack_corpus(tokenizer, corpus, 128)
    trainer = build_trainer(model, blocks.train, blocks.validation[:16], TrainerOptions(steps=60))
    trainer.add_callback(JobCallback(job, tokens_per_step=4 * 128))
    trainer.train()                          # stops within one step of job.cancel()
    block_perplexity(model, blocks.validation)

``Trainer`` (accelerate underneath) picks the device: the same code trains on a CPU, a
GPU, or several under ``accelerate launch``. This module knows nothing of LoRA or of
what is saved; ``llm_core.finetune`` does.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from llm_core.errors import InputError
from llm_core.jobs import Job, JobCancelledError
from llm_core.serving.gate import INTERACTIVE

EVAL_BATCH_SIZE = 8  # blocks per forward pass when measuring perplexity


# ---------------------------------------------------------------------------- measuring


def block_nll(
    model: Any,
    blocks: np.ndarray,
    batch_size: int = EVAL_BATCH_SIZE,
    should_stop: Callable[[], bool] | None = None,
) -> float:
    """Mean negative log-likelihood (nats per predicted token) of ``blocks``.

    ``blocks``: [n_blocks, block_length] token ids. Each block is read on its own, so
    it predicts ``block_length - 1`` tokens; the mean weights every token equally.
    ``should_stop`` is checked before each batch (``JobCancelledError`` when it says so).
    """
    import torch

    blocks = np.asarray(blocks)
    if blocks.ndim != 2 or blocks.shape[0] == 0 or blocks.shape[1] < 2:
        raise InputError(
            f"Perplexity needs [n_blocks, block_length] token ids with at least one block "
            f"of 2 or more tokens; got shape {tuple(blocks.shape)}."
        )
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.inference_mode():
            for start in range(0, len(blocks), batch_size):
                if should_stop is not None and should_stop():
                    raise JobCancelledError("The job was cancelled; nothing was saved.")
                INTERACTIVE.yield_to_interactive()  # a waiting session goes first
                batch = torch.as_tensor(blocks[start : start + batch_size], device=device)
                loss = model(input_ids=batch, labels=batch, use_cache=False).loss  # mean NLL
                n_predicted = batch.shape[0] * (batch.shape[1] - 1)
                total += float(loss) * n_predicted
                count += n_predicted
    finally:
        model.train(was_training)
    return total / count


def block_perplexity(
    model: Any,
    blocks: np.ndarray,
    batch_size: int = EVAL_BATCH_SIZE,
    should_stop: Callable[[], bool] | None = None,
) -> float:
    """exp of the token-weighted mean NLL over packed blocks (see ``block_nll``)."""
    return math.exp(block_nll(model, blocks, batch_size, should_stop))


# ---------------------------------------------------------------------------- the Trainer


class BlockDataset:
    """Packed blocks as a map-style dataset: item i is ``{"input_ids", "labels"}``, both the
    block itself (the model shifts labels by one to predict the next token)."""

    def __init__(self, blocks: np.ndarray) -> None:
        self.blocks = np.asarray(blocks, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        ids = torch.from_numpy(self.blocks[index])
        return {"input_ids": ids, "labels": ids.clone()}


@dataclass(frozen=True)
class TrainerOptions:
    """How long and how fast to train; mapped onto ``TrainingArguments``.

    ``eval_every``: steps between validation losses (0: never during training).
    """

    steps: int
    batch_size: int = 4
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    weight_decay: float = 0.0
    eval_every: int = 0
    seed: int = 0
    max_grad_norm: float = 1.0


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def training_arguments(options: TrainerOptions, scratch_dir: str) -> TrainingArguments:
    """Arguments for a quiet, checkpoint-free run: the caller saves the result itself."""
    return TrainingArguments(
        output_dir=scratch_dir,
        max_steps=options.steps,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=EVAL_BATCH_SIZE,
        learning_rate=options.learning_rate,
        lr_scheduler_type="constant_with_warmup",  # a short run should not decay to nothing
        warmup_steps=options.warmup_steps,
        weight_decay=options.weight_decay,
        max_grad_norm=options.max_grad_norm,
        logging_strategy="steps",
        logging_steps=1,  # one point of the live loss curve per step
        eval_strategy="steps" if options.eval_every > 0 else "no",
        eval_steps=options.eval_every if options.eval_every > 0 else None,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=options.seed,
        data_seed=options.seed,
        dataloader_num_workers=0,
        dataloader_pin_memory=_has_cuda(),
        remove_unused_columns=False,
    )


def build_trainer(
    model: Any,
    train_blocks: np.ndarray,
    eval_blocks: np.ndarray | None,
    options: TrainerOptions,
    scratch_dir: str | None = None,
) -> Trainer:
    """A ``Trainer`` over packed blocks. ``scratch_dir`` receives nothing but the Trainer's
    own bookkeeping (no checkpoints are saved); a temporary folder by default."""
    scratch_dir = scratch_dir or tempfile.mkdtemp(prefix="llm-explorer-trainer-")
    args = training_arguments(options, scratch_dir)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=BlockDataset(train_blocks),
        eval_dataset=BlockDataset(eval_blocks) if eval_blocks is not None else None,
    )
    # Progress goes through callbacks (JobCallback); the printer would write every loss
    # to stdout, where the CLI keeps its JSON.
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


# ---------------------------------------------------------------------------- observing


class JobCallback(TrainerCallback):
    """Reports a Trainer's progress and losses to a ``Job``; stops on ``job.cancel()``.

    After each optimizer step: ``job.report(step, max_steps, "training",
    tokens_per_s=..., train_loss=...)``; each logged loss becomes a history point
    ``{"step", "train_loss"}`` or ``{"step", "eval_loss"}``. Cancelling stops training at
    the end of the step under way (no evaluation or save after it), and aborts an
    evaluation under way with ``JobCancelledError``. ``tokens_per_s`` counts training
    steps only (evaluation time excluded).
    """

    def __init__(self, job: Job, tokens_per_step: int, message: str = "training") -> None:
        self.job = job
        self.tokens_per_step = int(tokens_per_step)
        self.message = message
        self.train_seconds = 0.0
        self.tokens_seen = 0
        self._step_started: float | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_seen / self.train_seconds if self.train_seconds > 0 else 0.0

    def _stop(self, control: Any) -> Any:
        control.should_training_stop = True
        control.should_evaluate = control.should_save = control.should_log = False
        return control

    def on_train_begin(self, args, state, control, **kwargs):
        self.job.report(state.global_step, state.max_steps, self.message)

    def on_step_begin(self, args, state, control, **kwargs):
        INTERACTIVE.yield_to_interactive()  # a waiting session goes first (not timed)
        self._step_started = time.perf_counter()

    def on_substep_end(self, args, state, control, **kwargs):
        if self.job.should_stop():  # between gradient-accumulation micro-batches
            return self._stop(control)
        return None

    def on_step_end(self, args, state, control, **kwargs):
        if self._step_started is not None:
            self.train_seconds += time.perf_counter() - self._step_started
            self.tokens_seen += self.tokens_per_step
            self._step_started = None
        if self.job.should_stop():
            return self._stop(control)
        self.job.report(
            state.global_step, state.max_steps, self.message, tokens_per_s=self.tokens_per_s
        )
        return None

    def on_prediction_step(self, args, state, control, **kwargs):
        if self.job.should_stop():
            raise JobCancelledError("The job was cancelled during evaluation; nothing was saved.")

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        for key, name in (("loss", "train_loss"), ("eval_loss", "eval_loss")):
            if key in logs and math.isfinite(float(logs[key])):
                value = float(logs[key])
                self.job.log(step=state.global_step, **{name: value})
                self.job.report(state.global_step, state.max_steps, self.message, **{name: value})


class SkipFinalEval(TrainerCallback):
    """No Trainer evaluation at the last step: the caller measures the trained model
    itself right after (e.g. as "after", with ``block_perplexity``)."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = False
        return control
