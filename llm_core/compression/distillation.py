"""Knowledge distillation: a smaller student learns the teacher's next-token distributions.

    student, details = train_student(job, teacher, train_documents, DistillSettings(steps=60))

The student has the teacher's family, tokenizer and vocabulary, with fewer layers
(``student_layers``) and/or narrower layers (``width_factor`` scales each head's width
and the MLP; the number of heads stays, so heads can be compared). A student of full
width starts from a copy of evenly spaced teacher layers (the first and last included),
its embeddings and final norm: it begins close and learns fast. A narrower student
starts from random weights (seeded) and needs many more steps.

Loss per predicted position (Hinton et al. 2015):
    alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
        + (1 - alpha) * cross-entropy(student, true next token)
The T^2 keeps the KL term's gradients comparable across temperatures. Training runs on
the Hugging Face ``Trainer`` (``llm_core.training``), reporting to the job through
``JobCallback``, so it shows progress and stops within one step of a cancel, like
fine-tuning. The teacher is only read, each forward under its lock.
"""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.errors import InputError
from llm_core.jobs import Job
from llm_core.models.anatomy import decoder_layers
from llm_core.models.loading import LoadedModel
from llm_core.text.packing import pack_blocks

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    from torch import nn

MAX_STEPS = 10_000
MAX_TEMPERATURE = 20.0
MIN_WIDTH_FACTOR, MAX_WIDTH_FACTOR = 0.125, 1.0
MAX_BLOCK_LENGTH = 1024
MAX_BATCH_SIZE = 64


@dataclass(frozen=True)
class DistillSettings:
    """``student_layers`` None: half the teacher's (at least 1)."""

    student_layers: int | None = None
    width_factor: float = 1.0
    steps: int = 40
    block_length: int = 128
    batch_size: int = 4
    learning_rate: float = 3e-4
    temperature: float = 2.0
    alpha: float = 0.5
    seed: int = 0

    def validate(self) -> DistillSettings:
        def whole(name: str, value: Any, low: int, high: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(
                    f"{name} must be a whole number from {low} to {high}; got {value}."
                )

        if self.student_layers is not None:
            whole("The student's layers", self.student_layers, 1, 1024)
        whole("Steps", self.steps, 1, MAX_STEPS)
        whole("The block length", self.block_length, 8, MAX_BLOCK_LENGTH)
        whole("The batch size", self.batch_size, 1, MAX_BATCH_SIZE)
        if not MIN_WIDTH_FACTOR <= self.width_factor <= MAX_WIDTH_FACTOR:
            raise InputError(
                f"The width factor must be from {MIN_WIDTH_FACTOR} to {MAX_WIDTH_FACTOR}; "
                f"got {self.width_factor}."
            )
        if not 0 < self.temperature <= MAX_TEMPERATURE:
            raise InputError(f"The temperature must be above 0 and at most {MAX_TEMPERATURE}.")
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError("alpha (the weight of the KL term) must be from 0 to 1.")
        if not 0 < self.learning_rate < 1:
            raise InputError("The learning rate must be between 0 and 1 (e.g. 3e-4).")
        return self


def teacher_layers_for(n_teacher: int, n_student: int) -> list[int]:
    """Evenly spaced teacher layers a full-width student copies (first and last included)."""
    return [int(i) for i in np.linspace(0, n_teacher - 1, n_student).round()]


def build_student(teacher: nn.Module, settings: DistillSettings) -> nn.Module:
    """A student of ``teacher``'s family (see the module docstring), float32, eager."""
    import torch
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(teacher.config)
    n_teacher = config.num_hidden_layers
    n_student = settings.student_layers or max(1, n_teacher // 2)
    if n_student > n_teacher:
        raise InputError(
            f"The student must not be deeper than the teacher ({n_teacher} layers); "
            f"got {n_student}."
        )
    if n_student == n_teacher and settings.width_factor == 1.0:
        raise InputError(
            "That student is the teacher's size: give fewer layers or a narrower width."
        )
    config.num_hidden_layers = n_student
    for name in ("layer_types", "max_window_layers"):  # per-layer lists sized for the teacher
        if isinstance(getattr(config, name, None), list):
            setattr(config, name, getattr(config, name)[:n_student])
    if settings.width_factor != 1.0:
        n_heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_heads
        new_head_dim = max(2, 2 * round(head_dim * settings.width_factor / 2))  # RoPE: even
        config.hidden_size = n_heads * new_head_dim
        if getattr(config, "head_dim", None) is not None:
            config.head_dim = new_head_dim
        for name in ("intermediate_size", "n_inner"):
            if getattr(config, name, None):
                setattr(config, name, max(1, round(getattr(config, name) * settings.width_factor)))
    torch.manual_seed(settings.seed)
    student = AutoModelForCausalLM.from_config(
        config, dtype=torch.float32, attn_implementation="eager"
    )
    if settings.width_factor == 1.0:
        _copy_from_teacher(teacher, student, teacher_layers_for(n_teacher, n_student))
    return student


def _copy_from_teacher(teacher: nn.Module, student: nn.Module, chosen: Sequence[int]) -> None:
    """Embeddings, final norm, head and the ``chosen`` layers, copied into ``student``."""
    import torch

    with torch.no_grad():
        wanted = student.state_dict()
        outside = {  # everything but the layers: embeddings, final norm, (untied) head
            k: v
            for k, v in teacher.state_dict().items()
            if ".layers." not in k and ".h." not in k and k in wanted
        }
        student.load_state_dict(outside, strict=False)
        teacher_layers, student_layers = decoder_layers(teacher), decoder_layers(student)
        for index, source in enumerate(chosen):
            student_layers[index].load_state_dict(teacher_layers[source].state_dict())


def _distillation_trainer_class() -> type:
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    class DistillationTrainer(Trainer):
        """A Trainer whose loss is the distillation loss of the module docstring."""

        def __init__(
            self, *args: Any, teacher: LoadedModel, temperature: float, alpha: float, **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            self.teacher, self.temperature, self.alpha = teacher, temperature, alpha

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            ids = inputs["input_ids"]
            outputs = model(input_ids=ids, labels=inputs["labels"], use_cache=False)
            with self.teacher.lock, torch.no_grad():
                teacher_logits = self.teacher.model(input_ids=ids, use_cache=False).logits
            t = self.temperature
            student_log = F.log_softmax(outputs.logits[:, :-1].float() / t, dim=-1)
            teacher_log = F.log_softmax(teacher_logits[:, :-1].float() / t, dim=-1)
            kl = F.kl_div(student_log, teacher_log, log_target=True, reduction="none")
            kl = kl.sum(-1).mean() * t * t  # mean over (batch, position)
            loss = self.alpha * kl + (1.0 - self.alpha) * outputs.loss
            return (loss, outputs) if return_outputs else loss

    return DistillationTrainer


def train_student(
    job: Job, teacher: LoadedModel, train_documents: Sequence[str], settings: DistillSettings
) -> tuple[nn.Module, dict[str, Any]]:
    """Build and train a student; return (student in eval mode, JSON-able details).

    Raises ``InputError`` for bad settings or too little text for one batch,
    ``JobCancelledError`` when the job is cancelled (nothing is kept)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from llm_core.training.trainer import (
        BlockDataset,
        JobCallback,
        TrainerOptions,
        training_arguments,
    )

    settings = settings.validate()
    with teacher.lock:  # a fast tokenizer is not safe to call from several threads at once
        blocks = pack_blocks(teacher.tokenizer, train_documents, settings.block_length)
    if len(blocks) < 1:
        raise InputError(
            f"The training documents are shorter than one block of {settings.block_length} "
            "tokens: use a longer corpus or a shorter block length."
        )
    job.report(0, settings.steps, "building_student")
    student = build_student(teacher.model, settings)
    student.train()
    options = TrainerOptions(
        steps=settings.steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=min(5, settings.steps // 10),
        seed=settings.seed,
    )
    trainer_class = _distillation_trainer_class()
    with tempfile.TemporaryDirectory(prefix="llm-explorer-distill-") as scratch:
        trainer = trainer_class(
            model=student,
            args=training_arguments(options, scratch),
            train_dataset=BlockDataset(blocks),
            teacher=teacher,
            temperature=settings.temperature,
            alpha=settings.alpha,
        )
        trainer.remove_callback(PrinterCallback)  # it would print every loss to stdout
        trainer.remove_callback(ProgressCallback)
        progress = JobCallback(job, settings.batch_size * settings.block_length, "distilling")
        trainer.add_callback(progress)
        trainer.train()
        steps_done = trainer.state.global_step
    job.checkpoint()
    student.eval()
    losses = [p["train_loss"] for p in job.history() if "train_loss" in p]
    n_teacher = teacher.model.config.num_hidden_layers
    return student, {
        "student_layers": student.config.num_hidden_layers,
        "teacher_layers": n_teacher,
        "width_factor": settings.width_factor,
        "copied_teacher_layers": (
            teacher_layers_for(n_teacher, student.config.num_hidden_layers)
            if settings.width_factor == 1.0
            else []
        ),
        "steps": steps_done,
        "train_losses": [round(v, 5) for v in losses if math.isfinite(v)],
        "tokens_per_s": progress.tokens_per_s,
        "n_train_tokens": progress.tokens_seen,
        "temperature": settings.temperature,
        "alpha": settings.alpha,
    }
