"""A compression job: compress a copy of a model, measure it against the original, keep it
ready to save.

    request = CompressionRequest(method="prune", sparsity=0.5).validate()
    job = JOB_SLOT.start("compress", "SmolLM2", lambda job: run_compression(job, loaded,
                         corpus, request), method="prune")
    result = job.result                       # CompressionResult: table, samples, drift
    save_compressed(result, output_path("smol-pruned-50"))

Methods: ``int8``, ``bf16``, ``prune`` (unstructured, ``scope`` global or per layer),
``heads`` (structured: whole attention heads) and ``distill`` (a smaller student trained
on the corpus against the model's next-token distributions,
``llm_core.compression.distillation``). ``llm_core.compression.sweep`` prunes to several
sparsities in turn. The shared model is only read (under its lock); nothing is written
until ``save_compressed``, and a cancelled job leaves nothing.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.compression.head_pruning import (
    MAX_HEAD_FRACTION,
    check_head_fraction,
    head_importance,
    prune_heads,
)
from llm_core.compression.metrics import (
    DEFAULT_EVAL_TOKENS,
    DEFAULT_SAMPLE_TOKENS,
    EVAL_BLOCK_LENGTH,
    MAX_EVAL_TOKENS,
    MAX_SAMPLE_TOKENS,
    AttentionDrift,
    QualityComparison,
    StopCheck,
    TimedSample,
    attention_drift,
    compare_quality,
    timed_sample,
)
from llm_core.compression.pruning import SCOPES, check_sparsity, prune_linear
from llm_core.compression.quantize import copy_for_compression, quantize_int8, to_bfloat16
from llm_core.compression.sizes import ModelSize, measure_size
from llm_core.errors import InputError
from llm_core.generation.generate import build_prompt_ids
from llm_core.jobs import Job
from llm_core.models.loading import LoadedModel, as_loaded
from llm_core.models.outputs import utc_now
from llm_core.text.corpus import Corpus
from llm_core.text.packing import eval_blocks, pack_corpus

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    from torch import nn

    from llm_core.compression.distillation import DistillSettings

METHODS = ("int8", "bf16", "prune", "heads", "distill")


@dataclass(frozen=True)
class CompressionRequest:
    """What to do and how to measure it. ``sample_prompt`` "": the first line of the first
    held-out document. ``drift_layer`` None: the middle layer. ``distill``: a
    ``DistillSettings`` (method "distill" only; its defaults when None)."""

    method: str = "int8"
    sparsity: float = 0.5
    scope: str = "global"
    head_fraction: float = 0.2
    keep_outliers: bool = True
    eval_tokens: int = DEFAULT_EVAL_TOKENS
    validation_fraction: float = 0.1
    seed: int = 0
    sample_prompt: str = ""
    sample_tokens: int = DEFAULT_SAMPLE_TOKENS
    drift_layer: int | None = None
    drift_head: int = 0
    distill: DistillSettings | None = None

    def validate(self) -> CompressionRequest:
        if self.method not in METHODS:
            raise InputError(f"Unknown method '{self.method}': use one of {', '.join(METHODS)}.")
        check_sparsity(self.sparsity)
        check_head_fraction(self.head_fraction, MAX_HEAD_FRACTION)
        if self.scope not in SCOPES:
            raise InputError(f"Unknown pruning scope '{self.scope}': use {' or '.join(SCOPES)}.")
        if not EVAL_BLOCK_LENGTH <= self.eval_tokens <= MAX_EVAL_TOKENS:
            raise InputError(
                f"Evaluate on {EVAL_BLOCK_LENGTH} to {MAX_EVAL_TOKENS} tokens (MAX_EVAL_TOKENS); "
                f"got {self.eval_tokens}."
            )
        if not 1 <= self.sample_tokens <= MAX_SAMPLE_TOKENS:
            raise InputError(f"Sample length must be 1 to {MAX_SAMPLE_TOKENS} tokens.")
        if self.method == "distill":
            from llm_core.compression.distillation import DistillSettings

            return replace(self, distill=(self.distill or DistillSettings()).validate())
        return self

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "distill"}
        if self.distill is not None:
            data["distill"] = asdict(self.distill)
        return data


@dataclass
class CompressionResult:
    """A finished run. ``candidate`` is the compressed model, kept to be saved (None once
    released); everything else is plain numbers, text and arrays."""

    method: str
    request: CompressionRequest
    base_model: str  # the spec it was loaded by when given, else the model's name
    base_provenance: dict[str, Any]
    corpus: dict[str, Any]
    size_before: ModelSize
    size_after: ModelSize
    quality: QualityComparison
    sample_prompt: str
    sample_before: TimedSample
    sample_after: TimedSample
    drift: AttentionDrift
    details: dict[str, Any]
    wall_s: float
    candidate: LoadedModel | None = field(default=None, repr=False)
    saved_to: str | None = None

    def release(self) -> None:
        """Drop the compressed model (its memory); the measurements stay."""
        self.candidate = None

    def to_json(self) -> dict[str, Any]:
        """The CLI shape (see the README): sizes, perplexities, agreement, KL, speeds."""
        data = {
            "method": self.method,
            "base_model": self.base_model,
            "size_bytes_before": self.size_before.tensor_bytes,
            "size_bytes_after": self.size_after.tensor_bytes,
            "linear_weight_bytes_before": self.size_before.linear_weight_bytes,
            "linear_weight_bytes_after": self.size_after.linear_weight_bytes,
            "n_params_before": self.size_before.n_params,
            "n_params_after": self.size_after.n_params,
            **self.quality.to_json(),
            "tokens_per_s_before": self.sample_before.tokens_per_s,
            "tokens_per_s_after": self.sample_after.tokens_per_s,
            "n_eval_tokens": self.quality.n_predicted,
            "attention_drift": {
                "layer": self.drift.layer,
                "head": self.drift.head,
                "mean_abs": self.drift.mean_abs,
                "max_abs": self.drift.max_abs,
            },
            "sample_prompt": self.sample_prompt,
            "sample_before": self.sample_before.text,
            "sample_after": self.sample_after.text,
            "details": self.details,
            "wall_s": self.wall_s,
            "output": self.saved_to,
        }
        if self.method in ("prune", "heads"):
            data["sparsity"] = self.size_after.linear_sparsity
        return data


@dataclass(frozen=True, eq=False)
class PreparedTexts:
    """What a run reads: training documents (distillation) and blocks (calibration), the
    held-out blocks measured, and the sample prompt."""

    train_documents: tuple[str, ...]
    train: np.ndarray  # [n_blocks, EVAL_BLOCK_LENGTH] training blocks
    measured: np.ndarray  # [n_blocks, EVAL_BLOCK_LENGTH] held-out blocks measured
    prompt: str
    prompt_ids: list[int]

    @property
    def calibration(self) -> list[int]:
        """Token ids int8 and head pruning calibrate on: the first training block."""
        return self.train[0].tolist()


def prepare_texts(
    reference: LoadedModel, corpus: Corpus, request: CompressionRequest
) -> PreparedTexts:
    """Split and pack ``corpus`` (``InputError`` when too short) and pick the prompt."""
    with reference.lock:  # a fast tokenizer is not safe to call from several threads
        tokenizer = reference.tokenizer
        packed = pack_corpus(
            tokenizer, corpus, EVAL_BLOCK_LENGTH, request.validation_fraction, request.seed
        )
        held_out = packed.validation_documents[0]
        prompt = request.sample_prompt.strip() or held_out.strip().split("\n", 1)[0].strip()
        ids = build_prompt_ids(tokenizer, prompt)
    measured = eval_blocks(packed.validation, request.eval_tokens)
    return PreparedTexts(packed.train_documents, packed.train, measured, prompt, ids)


def _compress(
    job: Job, reference: LoadedModel, texts: PreparedTexts, request: CompressionRequest
) -> tuple[nn.Module, dict[str, Any]]:
    """(compressed model, JSON-able details of what was done)."""
    if request.method == "distill":
        from llm_core.compression.distillation import train_student

        return train_student(job, reference, texts.train_documents, request.distill)
    model = copy_for_compression(reference)
    if request.method == "int8":
        report = quantize_int8(model, texts.calibration, keep_outliers=request.keep_outliers)
        return model, {
            "n_int8_layers": len(report.quantized),
            "kept_float": report.kept_float,
            "activation_bits": report.activation_bits,
            "grouped_rows": report.grouped_rows,
        }
    if request.method == "bf16":
        to_bfloat16(model)
        return model, {"dtype": "bfloat16"}
    if request.method == "prune":
        report = prune_linear(model, request.sparsity, request.scope)
        return model, {
            "requested_sparsity": report.requested,
            "achieved_sparsity": report.achieved,
            "n_pruned": report.n_pruned,
            "n_weights": report.n_weights,
            "scope": report.scope,
        }
    importance = head_importance(model, texts.calibration)
    n_remove = round(request.head_fraction * importance.size)
    report = prune_heads(model, importance, n_remove)
    return model, {
        "heads_removed_per_layer": report.removed_per_layer(),
        "n_heads_removed": report.n_removed,
        "removable_params": report.removable_params,
        "importance": np.round(report.importance, 4).tolist(),
    }


def run_compression(
    job: Job,
    reference: LoadedModel,
    corpus: Corpus,
    request: CompressionRequest,
    base_spec: str | None = None,
) -> CompressionResult:
    """The work of a compression ``job``: compress, then measure both models on the same
    held-out blocks, prompt and seed. Raises ``InputError`` for bad settings or a corpus
    too short; ``JobCancelledError`` when cancelled. ``base_spec``: the spec
    ``reference`` was loaded by, recorded as ``base_model``."""
    started = time.monotonic()
    request = request.validate()
    job.report(0, 1, "preparing")
    texts = prepare_texts(reference, corpus, request)
    n_blocks = len(texts.measured)
    total = n_blocks + 4
    job.report(0, total, "compressing")
    model, details = _compress(job, reference, texts, request)
    job.checkpoint()
    candidate = as_loaded(
        model, reference.tokenizer, f"{reference.description.name}-{request.method}"
    )
    job.report(1, total, "measuring_quality")

    def measured(done: int, _n_blocks: int) -> None:
        job.checkpoint()
        job.report(1 + done, total, "measuring_quality")

    quality = compare_quality(reference, candidate, texts.measured, on_block=measured)
    job.report(1 + n_blocks, total, "sampling")
    before = timed_sample(
        reference, texts.prompt_ids, request.seed, request.sample_tokens, job.should_stop
    )
    after = timed_sample(
        candidate, texts.prompt_ids, request.seed, request.sample_tokens, job.should_stop
    )
    job.report(3 + n_blocks, total, "attention")
    layer = request.drift_layer
    if layer is None:
        layer = reference.description.n_layers // 2
    drift = attention_drift(reference, candidate, texts.prompt_ids, layer, request.drift_head)
    job.checkpoint()
    job.report(total, total, "done")
    return CompressionResult(
        method=request.method,
        request=request,
        base_model=base_spec or reference.source.name,
        base_provenance=reference.description.provenance,
        corpus=corpus.describe(),
        size_before=measure_size(reference.model),
        size_after=measure_size(model),
        quality=quality,
        sample_prompt=texts.prompt,
        sample_before=before,
        sample_after=after,
        drift=drift,
        details=details,
        wall_s=time.monotonic() - started,
        candidate=candidate,
    )


# ---------------------------------------------------------------------------- saving


def provenance(result: CompressionResult) -> dict[str, Any]:
    """What ``provenance.json`` of a compressed output records."""
    import torch
    import transformers

    metrics = {k: v for k, v in result.to_json().items() if isinstance(v, (int, float))}
    return {
        "kind": "compression",
        "base_model": result.base_model,
        "base_provenance": result.base_provenance,
        "method": result.method,
        "compression": {"method": result.method, **result.details},
        "settings": result.request.to_json(),
        "corpus": result.corpus,
        "metrics": metrics,
        "created": utc_now(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }


def save_compressed(
    result: CompressionResult, target: Path, should_stop: StopCheck | None = None
) -> Path:
    """Save ``result.candidate`` at ``target`` atomically (``llm_core.compression.variants``)."""
    from llm_core.compression.variants import save_variant

    if result.candidate is None:
        raise InputError("This result's model was released to free memory: run it again to save.")
    candidate = result.candidate
    path = save_variant(
        Path(target),
        candidate.model,
        candidate.tokenizer,
        provenance(result),
        should_stop,
    )
    result.saved_to = str(path)
    return path
