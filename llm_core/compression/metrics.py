"""What compression costs, measured against the uncompressed model on the same text.

    quality = compare_quality(reference, candidate, blocks)     # perplexity, top-1, KL
    sample = timed_sample(candidate, prompt_ids, seed=0)         # text and tokens/s
    drift = attention_drift(reference, candidate, ids, layer=3, head=2)

Per predicted position i of every block (each position predicts the token after it):
- perplexity: exp(mean NLL of the true next token), as ``llm_core.training.trainer.block_nll``;
- top-1 agreement: share of positions where both models rank the same token first;
- KL divergence: mean over positions of KL(p_reference || p_candidate), in nats, the
  full next-token distributions at temperature 1 (0 when they are identical).
Both models run block by block, so only one block's logits ([block_length, d_vocab])
per model are alive at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from llm_core.attention.capture import capture_attention
from llm_core.errors import InputError
from llm_core.generation.generate import generate
from llm_core.generation.sampling import GenerationSettings
from llm_core.jobs import JobCancelledError
from llm_core.models.loading import LoadedModel
from llm_core.serving.gate import INTERACTIVE

# Held-out tokens measured by default; the whole Tang validation split (~5,800 tokens)
# takes about a minute per model on 2 CPU cores, so the page starts with a third of it.
DEFAULT_EVAL_TOKENS = 2048
MAX_EVAL_TOKENS = 65_536
EVAL_BLOCK_LENGTH = 256
SAMPLE_TEMPERATURE, SAMPLE_TOP_K = 0.8, 40
DEFAULT_SAMPLE_TOKENS = 32
MAX_SAMPLE_TOKENS = 256
MAX_DRIFT_TOKENS = 128
WARMUP_TOKENS = 2

StopCheck = Callable[[], bool]
BlockDone = Callable[[int, int], None]  # (blocks done, total blocks)


@dataclass(frozen=True)
class QualityComparison:
    """Quality of the candidate next to the reference over ``n_predicted`` positions."""

    perplexity_before: float
    perplexity_after: float
    top1_agreement: float
    kl_divergence: float
    n_predicted: int

    def to_json(self) -> dict[str, float]:
        return {
            "perplexity_before": self.perplexity_before,
            "perplexity_after": self.perplexity_after,
            "top1_agreement": self.top1_agreement,
            "kl_divergence": self.kl_divergence,
        }


def check_blocks(blocks: np.ndarray) -> np.ndarray:
    blocks = np.asarray(blocks, dtype=np.int64)
    if blocks.ndim != 2 or blocks.shape[0] == 0 or blocks.shape[1] < 2:
        raise InputError(
            "The evaluation text is too short to measure: it must fill at least one block "
            f"of {EVAL_BLOCK_LENGTH} tokens. Use a longer corpus."
        )
    return blocks


def _log_probs(loaded: LoadedModel, block: Any) -> Any:
    """[block_length, d_vocab] float32 log-probabilities of the next token."""
    import torch

    with loaded.lock, torch.inference_mode():
        logits = loaded.model(input_ids=block[None], use_cache=False).logits[0]
        return torch.log_softmax(logits.float(), dim=-1)


def check_same_vocabulary(reference: LoadedModel, candidate: LoadedModel) -> None:
    n_ref = reference.model.get_input_embeddings().num_embeddings
    n_cand = candidate.model.get_input_embeddings().num_embeddings
    if n_ref != n_cand:
        raise InputError(
            f"The models have different vocabularies ({n_ref} vs {n_cand} tokens), so their "
            "next-token distributions cannot be compared. Use the same tokenizer."
        )


def compare_quality(
    reference: LoadedModel,
    candidate: LoadedModel,
    blocks: np.ndarray,
    should_stop: StopCheck | None = None,
    on_block: BlockDone | None = None,
) -> QualityComparison:
    """Perplexity of both, top-1 agreement and mean KL over ``blocks`` [n, block_length]."""
    import torch

    blocks = check_blocks(blocks)
    check_same_vocabulary(reference, candidate)
    nll_ref = nll_cand = agree = kl = 0.0
    count = 0
    for index, row in enumerate(blocks):
        if should_stop is not None and should_stop():
            raise JobCancelledError("The job was cancelled; nothing was saved.")
        INTERACTIVE.yield_to_interactive()  # a waiting session goes first
        block = torch.from_numpy(row)
        ref = _log_probs(reference, block)[:-1]  # (T - 1, d_vocab): position i predicts i + 1
        cand = _log_probs(candidate, block)[:-1]
        targets = block[1:, None]
        nll_ref -= float(ref.gather(1, targets).sum())
        nll_cand -= float(cand.gather(1, targets).sum())
        agree += float((ref.argmax(-1) == cand.argmax(-1)).sum())
        kl += float((ref.exp() * (ref - cand)).sum())
        count += len(targets)
        if on_block is not None:
            on_block(index + 1, len(blocks))
    return QualityComparison(
        perplexity_before=math.exp(nll_ref / count),
        perplexity_after=math.exp(nll_cand / count),
        top1_agreement=agree / count,
        kl_divergence=max(kl / count, 0.0),  # rounding can leave -1e-9 for equal models
        n_predicted=count,
    )


@dataclass(frozen=True)
class ReferencePass:
    """What the sweep keeps of the reference: its NLL and top-1 token at each position."""

    nll: float  # mean over positions
    top1: np.ndarray  # [n_blocks, block_length - 1] token ids


def reference_pass(reference: LoadedModel, blocks: np.ndarray) -> ReferencePass:
    import torch

    blocks = check_blocks(blocks)
    total, tops = 0.0, []
    for row in blocks:
        block = torch.from_numpy(row)
        log_probs = _log_probs(reference, block)[:-1]
        total -= float(log_probs.gather(1, block[1:, None]).sum())
        tops.append(log_probs.argmax(-1).numpy())
    return ReferencePass(total / (blocks.shape[0] * (blocks.shape[1] - 1)), np.stack(tops))


def quality_against(
    candidate: LoadedModel, blocks: np.ndarray, reference: ReferencePass
) -> tuple[float, float]:
    """(perplexity, top-1 agreement with ``reference``) of ``candidate`` on ``blocks``."""
    import torch

    total = agree = 0.0
    for index, row in enumerate(check_blocks(blocks)):
        block = torch.from_numpy(row)
        log_probs = _log_probs(candidate, block)[:-1]
        total -= float(log_probs.gather(1, block[1:, None]).sum())
        agree += float((log_probs.argmax(-1).numpy() == reference.top1[index]).sum())
    n = reference.top1.size
    return math.exp(total / n), agree / n


# ---------------------------------------------------------------------------- speed


@dataclass(frozen=True)
class TimedSample:
    """One seeded sample and how fast it came: generated tokens over wall seconds
    (prompt processing included)."""

    text: str
    n_tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.n_tokens / self.seconds if self.seconds > 0 else 0.0


def timed_sample(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    seed: int = 0,
    n_new: int = DEFAULT_SAMPLE_TOKENS,
    should_stop: StopCheck | None = None,
) -> TimedSample:
    """Sample ``n_new`` tokens (temperature 0.8, top-k 40, ``seed``), timed. A short
    untimed run first takes one-off costs (first-call kernel set-up) out of the figure."""
    if not 1 <= n_new <= MAX_SAMPLE_TOKENS:
        raise InputError(f"Sample length must be 1 to {MAX_SAMPLE_TOKENS} tokens; got {n_new}.")
    settings = GenerationSettings(
        do_sample=True,
        temperature=SAMPLE_TEMPERATURE,
        top_k=SAMPLE_TOP_K,
        max_new_tokens=n_new,
        seed=seed,
    )
    generate(loaded, prompt_ids, replace(settings, max_new_tokens=WARMUP_TOKENS))
    started = time.perf_counter()
    result = generate(loaded, prompt_ids, settings, should_stop=should_stop)
    seconds = time.perf_counter() - started
    if result.cancelled:
        raise JobCancelledError("The job was cancelled; nothing was saved.")
    return TimedSample(result.text, len(result.token_ids), seconds)


# ---------------------------------------------------------------------------- attention


@dataclass(frozen=True, eq=False)
class AttentionDrift:
    """One head's attention in both models on the same tokens: ``reference``,
    ``candidate`` and ``difference`` (candidate - reference), each [query_pos, key_pos].
    ``candidate_layer``: the student's layer compared (a distilled student has fewer
    layers: teacher layer L maps to round(L * (n_student - 1) / (n_teacher - 1)))."""

    layer: int
    head: int
    candidate_layer: int
    tokens: tuple[str, ...]
    reference: np.ndarray  # [query_pos, key_pos]
    candidate: np.ndarray  # [query_pos, key_pos]
    difference: np.ndarray  # [query_pos, key_pos]

    @property
    def mean_abs(self) -> float:
        n = self.difference.shape[0]
        lower = np.tril(np.ones((n, n), dtype=bool))  # the causal part that can differ
        return float(np.abs(self.difference[lower]).mean())

    @property
    def max_abs(self) -> float:
        return float(np.abs(self.difference).max())


def attention_drift(
    reference: LoadedModel, candidate: LoadedModel, token_ids: Sequence[int], layer: int, head: int
) -> AttentionDrift:
    """Attention of head (``layer``, ``head``) in both models on ``token_ids``."""
    ids = list(token_ids)[:MAX_DRIFT_TOKENS]
    n_ref, n_cand = reference.description.n_layers, candidate.description.n_layers
    if not 0 <= layer < n_ref:
        raise InputError(f"No layer {layer}: the model has layers 0-{n_ref - 1}.")
    n_heads = min(reference.description.n_heads, candidate.description.n_heads)
    if not 0 <= head < n_heads:
        raise InputError(f"No head {head}: both models have heads 0-{n_heads - 1}.")
    cand_layer = layer if n_cand == n_ref else round(layer * (n_cand - 1) / max(n_ref - 1, 1))
    ref = capture_attention(reference, ids, layers=[layer]).head(layer, head)
    cand = capture_attention(candidate, ids, layers=[cand_layer]).head(cand_layer, head)
    tokens = tuple(reference.tokenizer.decode([t]) for t in ids)
    return AttentionDrift(layer, head, cand_layer, tokens, ref, cand, cand - ref)
