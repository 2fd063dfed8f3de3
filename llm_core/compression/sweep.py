"""Sweep mode: prune to several sparsities in turn, measure perplexity, top-1 agreement
(with the unpruned model) and generation speed at each, for a chart.

    sweep = run_sweep(job, loaded, corpus, levels=(0, 0.3, 0.5, 0.7, 0.9))

One copy of the model is pruned afresh from the original weights at each level; the
reference's top-1 tokens are computed once and kept ([n_blocks, block_length - 1] ids),
so each level costs one pass over the held-out blocks and one timed sample. Unstructured
zeros in dense tensors do not make matrix products faster: the speed line stays flat,
which is the lesson (structured pruning or sparse kernels are what buy speed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from llm_core.compression.metrics import quality_against, reference_pass, timed_sample
from llm_core.compression.pruning import check_sparsity, prune_linear
from llm_core.compression.quantize import copy_for_compression
from llm_core.compression.run import CompressionRequest, prepare_texts
from llm_core.errors import InputError
from llm_core.jobs import Job
from llm_core.models.loading import LoadedModel, as_loaded
from llm_core.text.corpus import Corpus

DEFAULT_SWEEP = (0.0, 0.3, 0.5, 0.7, 0.9)
MAX_SWEEP_POINTS = 12


@dataclass(frozen=True)
class SweepPoint:
    requested: float
    achieved: float
    perplexity: float
    top1_agreement: float
    tokens_per_s: float


@dataclass(frozen=True)
class SweepResult:
    """Perplexity, agreement and speed at each sparsity (0 = the model itself)."""

    scope: str
    points: tuple[SweepPoint, ...]
    n_eval_tokens: int

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "n_eval_tokens": self.n_eval_tokens,
            "points": [asdict(p) for p in self.points],
        }


def check_sweep(levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(sorted({check_sparsity(level) for level in levels}))
    if not 1 <= len(levels) <= MAX_SWEEP_POINTS:
        raise InputError(f"A sweep takes 1 to {MAX_SWEEP_POINTS} sparsities.")
    return levels


def run_sweep(
    job: Job,
    reference: LoadedModel,
    corpus: Corpus,
    levels: Sequence[float] = DEFAULT_SWEEP,
    request: CompressionRequest | None = None,
) -> SweepResult:
    """Prune a fresh copy to each of ``levels`` and measure it (see the module docstring)."""
    request = (request or CompressionRequest(method="prune")).validate()
    levels = check_sweep(levels)
    total = len(levels) + 1
    job.report(0, total, "preparing")
    texts = prepare_texts(reference, corpus, request)
    job.report(0, total, "measuring_quality")
    ref = reference_pass(reference, texts.measured, on_block=lambda _done, _n: job.checkpoint())
    model = copy_for_compression(reference)
    points = []
    for index, level in enumerate(levels):
        job.checkpoint()
        job.report(index + 1, total, "pruning_to", sparsity=level)
        with reference.lock:  # reads the shared model only
            model.load_state_dict(reference.model.state_dict())
        report = prune_linear(model, level, request.scope)
        candidate = as_loaded(model, reference.tokenizer, f"pruned-{level:.2f}")
        perplexity, agreement = quality_against(
            candidate, texts.measured, ref, on_block=lambda _done, _n: job.checkpoint()
        )
        sample = timed_sample(
            candidate, texts.prompt_ids, request.seed, request.sample_tokens, job.should_stop
        )
        points.append(
            SweepPoint(level, report.achieved, perplexity, agreement, sample.tokens_per_s)
        )
    job.report(total, total, "done")
    return SweepResult(request.scope, tuple(points), int(ref.top1.size))
