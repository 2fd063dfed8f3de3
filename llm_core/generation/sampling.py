"""How the next token is chosen: generation settings and the two distributions of a step.

One step turns the model's logits for the next token into two distributions:

- **before** the sampling filters: ``softmax(penalised logits)`` at temperature 1, where
  the penalised logits are the model's logits after the repetition penalty (identical
  to the model's logits when ``repetition_penalty == 1``). Entropy is taken here.
- **after** the filters, the distribution actually sampled from. The order is that of
  Hugging Face's ``generate``: repetition penalty -> temperature -> top-k -> top-p ->
  softmax. Filtered tokens get probability exactly 0; the rest sum to 1.

Greedy and beam search apply no filters (they do not change the argmax), so for them
the "after" distribution is the "before" one.

Everything here works on ``[..., d_vocab]`` tensors and knows nothing of models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.errors import InputError
from llm_core.text.pieces import readable_token

if TYPE_CHECKING:  # torch loads lazily: ``import llm_core`` stays fast without it
    import torch

MAX_NEW_TOKENS = 512
MAX_BEAMS = 8
MAX_RETURN_SEQUENCES = 8
MAX_ALTERNATIVES = 50  # alternatives recorded per step, before and after the filters
MAX_STOP_STRINGS = 8
MAX_STOP_STRING_CHARS = 64
MAX_SEED = 2**63 - 1
STRATEGIES = ("greedy", "sample", "beam")


@dataclass(frozen=True)
class TokenProb:
    """One candidate next token and its probability in one distribution. ``label``: how
    to show it out of context: ``token``, or for a byte fragment its bytes ("\ufffd[E4]")."""

    token_id: int
    token: str  # decoded alone; a byte fragment of a character decodes as "\ufffd"
    prob: float
    label: str = ""

    @property
    def shown(self) -> str:
        """``label`` when there is one, else ``token``."""
        return self.label or self.token

    def to_json(self) -> dict[str, Any]:
        return {"token_id": self.token_id, "token": self.token, "prob": self.prob}


@dataclass(frozen=True)
class GenerationSettings:
    """How to choose tokens. Call ``validate()`` (the engine does) to check the options.

    - greedy: ``do_sample=False, num_beams=1`` (the default): always the most likely token.
    - sampling: ``do_sample=True`` with ``temperature`` (> 0), ``top_k`` (0 = off) and
      ``top_p`` (1.0 = off), drawn with a ``torch.Generator`` seeded by ``seed``.
    - beam search: ``num_beams > 1`` (no sampling): see ``llm_core.generation.decoding``.

    ``repetition_penalty`` (1.0 = off) divides positive logits and multiplies negative
    ones of every token already in the context, prompt included (as Hugging Face does).
    ``num_return_sequences`` > 1 draws several samples, or returns the best beams.
    ``n_alternatives``: how many top tokens each step records. ``capture_attention``:
    keep each generated token's attention row (not with beam search).
    """

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    num_beams: int = 1
    max_new_tokens: int = 32
    seed: int = 0
    stop_strings: tuple[str, ...] = ()
    num_return_sequences: int = 1
    n_alternatives: int = 10
    capture_attention: bool = False
    stop_at_eos: bool = True

    def __post_init__(self) -> None:
        stops = self.stop_strings
        if isinstance(stops, str):  # a single stop string given bare
            stops = (stops,)
        if isinstance(stops, (list, tuple)):
            object.__setattr__(self, "stop_strings", tuple(stops))

    @property
    def strategy(self) -> str:
        """One of ``STRATEGIES``: "greedy", "sample" or "beam"."""
        if self.num_beams > 1:
            return "beam"
        return "sample" if self.do_sample else "greedy"

    def validate(self) -> GenerationSettings:
        """Return ``self`` if every option is in range and they fit together, else raise
        ``InputError`` naming the option and what to do."""
        _check_int("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS)
        _check_int("num_beams", self.num_beams, 1, MAX_BEAMS)
        _check_int("num_return_sequences", self.num_return_sequences, 1, MAX_RETURN_SEQUENCES)
        _check_int("n_alternatives", self.n_alternatives, 1, MAX_ALTERNATIVES)
        _check_int("top_k", self.top_k, 0, None)
        _check_int("seed", self.seed, 0, MAX_SEED)
        for name in ("do_sample", "capture_attention", "stop_at_eos"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        temperature = _check_float("temperature", self.temperature)
        top_p = _check_float("top_p", self.top_p)
        penalty = _check_float("repetition_penalty", self.repetition_penalty)
        if self.do_sample and temperature <= 0:
            raise InputError(
                f"temperature must be above 0 when sampling; got {temperature}. "
                "For always the most likely token use greedy decoding (do_sample=False)."
            )
        if not 0 < top_p <= 1:
            raise InputError(
                f"top_p must be in (0, 1]; got {top_p}. 1.0 turns nucleus filtering off; "
                "0.9 keeps the most likely tokens that together hold 90% of the probability."
            )
        if penalty <= 0:
            raise InputError(
                f"repetition_penalty must be above 0; got {penalty}. 1.0 turns it off; "
                "values such as 1.2 discourage repeating tokens."
            )
        if self.num_beams > 1 and self.do_sample:
            raise InputError(
                "Beam search with sampling is not supported: use num_beams=1 to sample, "
                "or do_sample=False for beam search."
            )
        if self.num_beams > 1 and self.capture_attention:
            raise InputError(
                "Attention is captured for greedy decoding and sampling only: turn "
                "capture_attention off for beam search, or use num_beams=1."
            )
        if self.num_return_sequences > 1 and self.strategy == "greedy":
            raise InputError(
                "Greedy decoding gives the same sequence every time: turn sampling on "
                "(do_sample=True) or use beam search to return several sequences."
            )
        if self.strategy == "beam" and self.num_return_sequences > self.num_beams:
            raise InputError(
                f"Beam search can return at most num_beams={self.num_beams} sequences; "
                f"got num_return_sequences={self.num_return_sequences}."
            )
        _check_stop_strings(self.stop_strings)
        return self


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a whole number; got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InputError(f"{name} must be {bound}; got {value}.")


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{name} must be a number; got {value!r}.")
    if not math.isfinite(float(value)):
        raise InputError(f"{name} must be a finite number; got {value}.")
    return float(value)


def _check_stop_strings(stops: Any) -> None:
    if not isinstance(stops, tuple) or not all(isinstance(s, str) and s for s in stops):
        raise InputError(f"stop_strings must be a list of non-empty strings; got {stops!r}.")
    if len(stops) > MAX_STOP_STRINGS:
        raise InputError(f"At most {MAX_STOP_STRINGS} stop strings; got {len(stops)}.")
    long = [s for s in stops if len(s) > MAX_STOP_STRING_CHARS]
    if long:
        raise InputError(
            f"Stop strings are at most {MAX_STOP_STRING_CHARS} characters; "
            f"{long[0][:20]!r}... is longer."
        )


# ---------------------------------------------------------------------------- the math


def penalise_repetition(
    logits: torch.Tensor, context_ids: torch.Tensor, penalty: float
) -> torch.Tensor:
    """Hugging Face's repetition penalty: for each token id in the context, logit / penalty
    if the logit is positive, logit * penalty otherwise.

    ``logits``: [batch, d_vocab]; ``context_ids``: [batch, context] (long). Returns a new
    tensor; with ``penalty == 1`` returns ``logits`` itself.
    """
    import torch

    if penalty == 1.0:
        return logits
    ids = context_ids.clamp(max=logits.shape[-1] - 1)  # [batch, context]
    seen = torch.gather(logits, 1, ids)  # [batch, context]
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(1, ids, seen)


def filter_logits(logits: torch.Tensor, settings: GenerationSettings) -> torch.Tensor:
    """Temperature, then top-k, then top-p, on [batch, d_vocab] logits (already penalised).

    Returns logits with every filtered token at ``-inf``; at least one token (the most
    likely) always survives. Top-k keeps exactly ``k`` tokens (ties broken by index);
    top-p keeps the smallest set of most likely tokens whose probabilities, after
    temperature and top-k, sum to at least ``top_p``.
    """
    import torch

    scaled = logits / settings.temperature  # [batch, d_vocab]
    k = settings.top_k
    if 0 < k < scaled.shape[-1]:
        kept = torch.zeros_like(scaled, dtype=torch.bool)
        kept.scatter_(1, torch.topk(scaled, k, dim=-1).indices, True)
        scaled = scaled.masked_fill(~kept, float("-inf"))
    if settings.top_p < 1.0:
        sorted_logits, order = torch.sort(scaled, dim=-1, descending=True)  # [batch, d_vocab]
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        mass_before = cumulative - sorted_logits.softmax(-1)  # probability of tokens above
        drop_sorted = mass_before >= settings.top_p
        drop_sorted[:, 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
        scaled = scaled.masked_fill(drop, float("-inf"))
    return scaled


def step_distributions(
    logits: torch.Tensor, context_ids: torch.Tensor, settings: GenerationSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """(before, after) probabilities, each [batch, d_vocab] float32 (see module doc).

    ``logits``: the model's [batch, d_vocab] next-token logits; ``context_ids``:
    [batch, context], the tokens the repetition penalty looks at.
    """
    penalised = penalise_repetition(logits.float(), context_ids, settings.repetition_penalty)
    before = penalised.softmax(-1)
    if settings.strategy != "sample":
        return before, before
    return before, filter_logits(penalised, settings).softmax(-1)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of [batch, d_vocab] probabilities -> [batch] (0 log 0 counts as 0)."""
    import torch

    # -p log p with log's argument raised to the smallest normal float, so 0 log 0 = 0 and
    # a NaN stays NaN: torch.special.entr's value (a difference below 1e-42 per token)
    # at a quarter of its time (entr is not vectorised on this CPU build: 11 ms on 30 x
    # SmolLM2's 49,152 tokens, one thread, against 2.7).
    if probs.dtype in (torch.float16, torch.bfloat16):  # their smallest normal: too coarse
        probs = probs.float()
    tiny = torch.finfo(probs.dtype).tiny
    return (probs * probs.clamp_min(tiny).log_()).sum(-1).neg_().add_(0.0)  # -0.0 -> 0.0


def rank_of(probs: torch.Tensor | np.ndarray, token_id: int) -> int:
    """1-based rank of ``token_id`` in 1-D ``probs``: 1 + how many tokens are more likely."""
    return int((probs > probs[token_id]).sum()) + 1


def top_tokens(
    tokenizer: Any, probs: torch.Tensor, n: int, nonzero: bool = False
) -> tuple[TokenProb, ...]:
    """The ``n`` most likely tokens of 1-D ``probs``, most likely first. With ``nonzero``,
    tokens of probability 0 (filtered out) are left out, so fewer may come back."""
    import torch

    values, ids = torch.topk(probs, min(n, probs.shape[-1]))
    return token_probs(tokenizer, ids.tolist(), values.tolist(), nonzero)


def token_probs(
    tokenizer: Any, ids: Sequence[int], probs: Sequence[float], nonzero: bool = False
) -> tuple[TokenProb, ...]:
    """``TokenProb`` for each (id, prob), decoding each id alone."""
    found = []
    for i, p in zip(ids, probs, strict=True):
        if nonzero and p <= 0:
            continue
        text = tokenizer.decode([int(i)])
        label = readable_token(tokenizer, int(i), text)
        found.append(TokenProb(int(i), text, float(p), label if label != text else ""))
    return tuple(found)


@dataclass(frozen=True, eq=False)
class GenerationStep:
    """One generated token and the distributions it was chosen from.

    - ``prob``, ``rank`` (1 = most likely), ``top_before``, ``entropy`` (nats): in the
      distribution *before* the filters (softmax of the repetition-penalised logits at
      temperature 1; the model's own distribution when the penalty is 1).
    - ``prob_after``, ``top_after``, ``entropy_after``: in the distribution actually
      sampled from (after temperature, top-k, top-p); ``top_after`` lists kept tokens
      only. For greedy and beam search these equal the "before" values.
    - ``attention``: [layer, head, key_pos] float32 or None: the attention row of the
      query that produced this token (the token before it, fed in at this decoding
      step) over the whole context so far, so ``key_pos`` runs over prompt + the tokens
      generated before this one. Each row sums to 1.
    - ``finish_reason``: why the sequence ended after this step ("length", "eos",
      "stop_string"), or None while it goes on.
    - ``piece``: the text this token completes after the tokens before it ("" for a byte
      fragment that completes no character yet; see ``llm_core.text.pieces``).
    """

    sequence: int  # which returned sequence this step belongs to
    index: int  # 0 for the first generated token
    token_id: int
    token_text: str
    prob: float
    rank: int
    top_before: tuple[TokenProb, ...]
    entropy: float
    prob_after: float
    top_after: tuple[TokenProb, ...]
    entropy_after: float
    attention: np.ndarray | None = None  # [layer, head, key_pos]
    finish_reason: str | None = None
    piece: str = ""

    def to_json(self) -> dict[str, Any]:
        """``{"token_id", "token", "prob", "top"}`` in the distribution sampled from (the
        after-filter one; for greedy and beam search the same as before the filters)."""
        return {
            "token_id": self.token_id,
            "token": self.token_text,
            "prob": self.prob_after,
            "top": [candidate.to_json() for candidate in self.top_after],
        }
