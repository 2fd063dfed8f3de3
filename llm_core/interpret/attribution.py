"""Which prompt tokens made the model say the target? Three attributions of
log p(target | prompt) at the last position to the prompt's tokens.

- ``gradient-x-input``: score_i = sum_d e_i,d * d log p / d e_i,d (e_i: the input
  embedding of token i), from one forward and one backward pass.
- ``integrated-gradients`` (Sundararajan et al. 2017): the same product with the gradient
  averaged along the straight path from a baseline of zero embeddings to the input,
  x(a) = a * e for a in [0, 1], by the trapezoid rule over ``steps`` intervals. The
  scores then sum to log p(target | input) - log p(target | baseline) when the rule has
  converged (completeness); ``Completeness`` reports both numbers, so a page can show
  whether to trust the scores or to take more steps.
- ``occlusion``: the drop in log p(target) when token i is replaced by a neutral token
  (``NEUTRAL_TOKEN_TEXTS``), every position at once in one batched forward pass.

Context tokens (start token, BOS; see ``llm_core.interpret.prompts``) stay as they are
in every run (also in the baseline) and get no score. Scores of characters and words are
sums over their tokens, so every level keeps the same total.

Gradients never touch the shared model: the embeddings are a detached copy that alone
requires a gradient, ``torch.autograd.grad`` returns the gradient for it without filling
any parameter's ``.grad``, and the model stays in eval mode. Each chunk of rows runs
under ``loaded.lock``, released between chunks so other sessions interleave.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.attention.trace import fused_attention
from llm_core.errors import InputError
from llm_core.interpret.prompts import (
    Prompt,
    Target,
    next_token_logits,
    target_id_for,
    token_text,
)
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch loads lazily, with the first model: ``import llm_core`` stays fast
    import torch

METHODS = ("gradient-x-input", "integrated-gradients", "occlusion")
DEFAULT_STEPS = 32
PATH_POWER = 3.0  # how strongly integrated gradients' nodes crowd near the baseline
MAX_STEPS = 256
# The scores sum to the expected change within this share: the check a page shows.
COMPLETENESS_TOLERANCE = 0.02
# Occlusion's stand-in, the first that is one token: a placeholder word the model reads
# as ordinary text. Not the space or the document separator: on SmolLM2 both turn the
# position into an attention sink (a residual stream ~10x the norm of other tokens, like
# the first token's), which lowers every word's score alike.
NEUTRAL_TOKEN_TEXTS = (" something", "something", "...")
# Activations kept for the backward pass, per chunk of rows (rough estimate below).
MAX_BACKWARD_BYTES = 768 * 2**20
MAX_FORWARD_BYTES = 256 * 2**20  # attention weights alive in one forward (occlusion)


@dataclass(frozen=True)
class Completeness:
    """Integrated gradients' check: ``sum`` of the scores against ``expected`` =
    log p(target | input) - log p(target | baseline) (``baseline_logp``)."""

    sum: float
    expected: float
    baseline_logp: float

    @property
    def gap(self) -> float:
        """|sum - expected| as a share of |expected|."""
        return abs(self.sum - self.expected) / max(abs(self.expected), 1e-9)

    @property
    def holds(self) -> bool:
        return self.gap <= COMPLETENESS_TOLERANCE

    def to_json(self) -> dict[str, float]:
        return {"sum": self.sum, "expected": self.expected}


@dataclass(frozen=True, eq=False)
class Attribution:
    """Scores of the prompt's text tokens for one target. ``scores``: [token] float32,
    one per token of ``prompt.tokenization`` (context tokens get none); positive pushed
    log p(target) up. ``completeness`` for integrated gradients, ``neutral_token`` (its
    text) for occlusion."""

    prompt: Prompt
    method: str
    target: Target
    scores: np.ndarray  # [token]
    steps: int | None = None
    completeness: Completeness | None = None
    neutral_token: str | None = None

    def labels(self, level: str = "token") -> list[str]:
        return self.prompt.tokenization.labels(level)

    def group_scores(self, level: str = "token") -> np.ndarray:
        """[group] float32: the sum of the scores of each group's tokens at ``level``."""
        groups = [group.tokens for group in self.prompt.tokenization.groups(level)]
        return sum_over_groups(self.scores, groups)

    def to_json(self, level: str = "token") -> dict[str, Any]:
        """The CLI shape: labels, scores, target, method (and completeness)."""
        result: dict[str, Any] = {
            "labels": self.labels(level),
            "scores": [round(float(s), 6) for s in self.group_scores(level)],
            "target": self.target.to_json(),
            "method": self.method,
            "level": level,
        }
        if self.completeness is not None:
            result["completeness"] = self.completeness.to_json()
            result["steps"] = self.steps
        if self.neutral_token is not None:
            result["neutral_token"] = self.neutral_token
        return result


def sum_over_groups(
    values: np.ndarray, groups: list[tuple[int, ...]] | list[list[int]]
) -> np.ndarray:
    """[group] float32 sums of ``values`` [token] over groups that partition the tokens
    in order (as ``Tokenization.groups`` gives them)."""
    values = np.asarray(values, dtype=np.float32)
    flat = [int(t) for group in groups for t in group]
    if not all(groups) or flat != list(range(values.shape[0])):
        raise InputError("Groups must split the tokens 0..n-1 into contiguous runs, in order.")
    starts = np.cumsum([0, *(len(group) for group in groups[:-1])])
    return np.add.reduceat(values, starts) if len(values) else values


def attribute(
    loaded: LoadedModel,
    prompt: Prompt,
    target: str | int | None = None,
    method: str = "integrated-gradients",
    steps: int = DEFAULT_STEPS,
) -> Attribution:
    """Attribute log p(target | prompt) to the prompt's tokens with ``method``.

    ``target``: a token id, a text whose first token is the target, or None for the
    model's most likely next token. Raises ``InputError`` for an unknown method, steps
    outside 1..``MAX_STEPS``, or a target not in the vocabulary.
    """
    if method not in METHODS:
        raise InputError(f"Unknown method '{method}': use one of {', '.join(METHODS)}.")
    if method == "integrated-gradients" and (
        isinstance(steps, bool)
        or not isinstance(steps, (int, np.integer))
        or not 1 <= steps <= MAX_STEPS
    ):
        raise InputError(f"Integrated gradients takes 1 to {MAX_STEPS} steps; got {steps!r}.")
    ids = prompt.ids
    target_id = target_id_for(loaded, target, next_token_logits(loaded, ids))
    if method == "occlusion":
        return _occlusion(loaded, prompt, target_id)
    embeds = _embeddings(loaded, ids)  # [T, d_model]
    if method == "gradient-x-input":
        logp, grads = _log_prob_gradients(loaded, embeds[None], target_id)
        scores = (embeds * grads[0]).sum(-1)[prompt.n_context :]  # [token]
        target_found = Target(target_id, token_text(loaded, target_id), float(logp[0]))
        return Attribution(prompt, method, target_found, _frozen(scores.numpy()))
    return _integrated_gradients(loaded, prompt, embeds, target_id, int(steps))


# ---------------------------------------------------------------------------- methods


def _integrated_gradients(
    loaded: LoadedModel, prompt: Prompt, embeds: torch.Tensor, target_id: int, steps: int
) -> Attribution:
    import torch

    baseline = embeds.clone()
    baseline[prompt.n_context :] = 0.0  # context tokens stay; the text's embeddings are 0
    delta = embeds - baseline  # [T, d_model]
    chunk = _rows_per_backward(loaded, len(prompt.ids))

    def at(alphas: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """log p [n] and the per-token products delta * gradient [n, T] at ``alphas``."""
        logps, products = [], []
        for start in range(0, len(alphas), chunk):
            a = torch.tensor(alphas[start : start + chunk], dtype=torch.float32)
            path = baseline[None] + a[:, None, None] * delta[None]  # [rows, T, d_model]
            logp, grads = _log_prob_gradients(loaded, path, target_id)
            logps.append(logp.double())
            products.append((grads * delta[None]).sum(-1).double())  # [rows, T]
        return torch.cat(logps), torch.cat(products)

    path = TrapezoidPath.start(steps, at)
    path.refine(at, budget=refinement_budget(steps))
    scores = path.scores()[prompt.n_context :]  # [token]
    check = Completeness(
        sum=float(scores.sum()), expected=path.expected, baseline_logp=path.logp[0]
    )
    found = Target(target_id, token_text(loaded, target_id), path.logp[-1])
    return Attribution(
        prompt, "integrated-gradients", found, _frozen(scores.numpy()), path.steps, check
    )


def refinement_budget(steps: int) -> int:
    """How many steps integrated gradients may take in all when ``steps`` miss the check."""
    return min(MAX_STEPS, 8 * steps)


class TrapezoidPath:
    """The trapezoid rule over nodes 0 = a_0 < ... < a_n = 1 of the path, refined where
    it is wrong.

    At every node the forward pass gives f(a) = log p(target) as well as the gradient, so
    each interval's error is known exactly: its trapezoid estimate, (g_k + g_k+1) / 2 *
    (a_k+1 - a_k) with g = the gradient along the path, against f(a_k+1) - f(a_k). The
    intervals' f differences add up to the expected total, so their errors add up to the
    completeness gap. ``refine`` halves the worst intervals until the gap is within
    ``COMPLETENESS_TOLERANCE`` or the budget of steps is spent.

    Why refine at all: near the zero baseline the function is far from smooth. On SmolLM2
    and 我爱吃苹果, log p swings by ±4 within a = 0.005..0.013 (real, the same in float64),
    where the residual stream is almost only what the start token's attention writes;
    no fixed 32 nodes capture that, 512 even ones still leave the sum 170% off.
    """

    def __init__(self, alphas: list[float], logp: torch.Tensor, products: torch.Tensor):
        self.alphas = alphas  # [n + 1]
        self.logp = [float(v) for v in logp]  # [n + 1]
        self.products = list(products)  # [n + 1] tensors [T]: delta * gradient per token

    @classmethod
    def start(cls, steps: int, at: Any) -> TrapezoidPath:
        alphas = path_nodes(steps)
        return cls(alphas, *at(alphas))

    @property
    def steps(self) -> int:
        return len(self.alphas) - 1

    @property
    def expected(self) -> float:
        return self.logp[-1] - self.logp[0]

    def interval_errors(self) -> list[float]:
        """Signed error of each interval's trapezoid estimate against its f difference."""
        errors = []
        for k in range(self.steps):
            width = self.alphas[k + 1] - self.alphas[k]
            estimate = float(self.products[k].sum() + self.products[k + 1].sum()) * width / 2
            errors.append(estimate - (self.logp[k + 1] - self.logp[k]))
        return errors

    def gap(self) -> float:
        return abs(sum(self.interval_errors())) / max(abs(self.expected), 1e-9)

    def refine(self, at: Any, budget: int, per_round: int = 8) -> None:
        """Halve the intervals with the largest errors, ``per_round`` at a time (one
        batched pass), until the gap is within tolerance or ``budget`` steps are taken."""
        while self.gap() > COMPLETENESS_TOLERANCE and self.steps < budget:
            errors = self.interval_errors()
            n_new = min(per_round, budget - self.steps)
            worst = sorted(range(self.steps), key=lambda k: -abs(errors[k]))[:n_new]
            mids = [(self.alphas[k] + self.alphas[k + 1]) / 2 for k in worst]
            logp, products = at(mids)
            for mid, value, product in zip(mids, logp, products, strict=True):
                k = bisect.bisect(self.alphas, mid)
                self.alphas.insert(k, mid)
                self.logp.insert(k, float(value))
                self.products.insert(k, product)

    def scores(self) -> torch.Tensor:
        """[T] float64: sum over nodes of the trapezoid weight times delta * gradient."""
        import torch

        alphas = torch.tensor(self.alphas, dtype=torch.float64)
        widths = alphas[1:] - alphas[:-1]
        weights = torch.zeros(len(alphas), dtype=torch.float64)
        weights[:-1] += widths / 2
        weights[1:] += widths / 2
        return (weights[:, None] * torch.stack(self.products)).sum(0)


def path_nodes(steps: int, power: float = PATH_POWER) -> list[float]:
    """The trapezoid rule's starting nodes a_k = (k / steps) ** power on [0, 1], crowded
    near the baseline, where the RMS norm of near-zero embeddings,
    a e / sqrt(a^2 mean(e^2) + eps), turns from 0 to its full value within a few
    hundredths of the path (``TrapezoidPath`` refines them where that is not enough)."""
    return [(k / steps) ** power for k in range(steps + 1)]


def _occlusion(loaded: LoadedModel, prompt: Prompt, target_id: int) -> Attribution:
    import torch

    neutral_id, neutral_text = neutral_token(loaded)
    ids = torch.tensor(prompt.ids)  # [T]
    n_context, n = prompt.n_context, len(prompt.tokenization.tokens)
    rows = ids.repeat(n + 1, 1)  # [1 + token, T]: row 0 as is, row 1 + i without token i
    positions = torch.arange(n) + n_context
    rows[torch.arange(1, n + 1), positions] = neutral_id
    logp = _log_probs(loaded, rows, target_id)  # [1 + token]
    scores = (logp[0] - logp[1:]).numpy()  # the drop when each token is hidden
    found = Target(target_id, token_text(loaded, target_id), float(logp[0]))
    return Attribution(prompt, "occlusion", found, _frozen(scores), neutral_token=neutral_text)


def neutral_token(loaded: LoadedModel) -> tuple[int, str]:
    """(id, text) of occlusion's stand-in: the first of ``NEUTRAL_TOKEN_TEXTS`` that is one
    token, else the tokenizer's unknown, padding or end token."""
    with loaded.text_tokenizer() as tokenizer:
        for text in NEUTRAL_TOKEN_TEXTS:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) == 1:
                return int(ids[0]), text
        for token_id in (tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id):
            if token_id is not None:
                return int(token_id), tokenizer.convert_ids_to_tokens(int(token_id))
    raise InputError("This tokenizer has no single-token stand-in for occlusion.")


# ---------------------------------------------------------------------------- passes


def _embeddings(loaded: LoadedModel, ids: list[int]) -> torch.Tensor:
    """[T, d_model] float32 input embeddings, a detached copy (not an inference tensor,
    so autograd may use it)."""
    import torch

    with loaded.lock, torch.no_grad():
        return loaded.model.get_input_embeddings()(torch.tensor(ids)).float().clone()


def _log_prob_gradients(
    loaded: LoadedModel, embeds: torch.Tensor, target_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(target) at the last position of each row of ``embeds`` [rows, T, d_model],
    and its gradient with respect to those embeddings: ([rows], [rows, T, d_model])."""
    import torch

    inputs = embeds.detach().requires_grad_(True)
    with loaded.lock, fused_attention(loaded.model), torch.enable_grad():
        logits = loaded.model(inputs_embeds=inputs, use_cache=False, logits_to_keep=1).logits
        logp = logits[:, -1].float().log_softmax(-1)[:, target_id]  # [rows]
        # Only the embeddings' gradient: no parameter's .grad is filled or kept.
        (grads,) = torch.autograd.grad(logp.sum(), inputs)
    return logp.detach(), grads


def _log_probs(loaded: LoadedModel, rows: torch.Tensor, target_id: int) -> torch.Tensor:
    """[rows] log p(target) at the last position of each row of ids [rows, T]."""
    import torch

    n_tokens = rows.shape[1]
    per_row = loaded.description.n_heads * n_tokens * n_tokens * 4  # one layer's weights
    chunk = max(1, MAX_FORWARD_BYTES // per_row)
    out = []
    for start in range(0, rows.shape[0], chunk):
        with loaded.lock, fused_attention(loaded.model), torch.inference_mode():
            logits = loaded.model(
                input_ids=rows[start : start + chunk], use_cache=False, logits_to_keep=1
            ).logits
            out.append(logits[:, -1].float().log_softmax(-1)[:, target_id])
    return torch.cat(out)


def _rows_per_backward(loaded: LoadedModel, n_tokens: int) -> int:
    """Rows of T tokens whose saved activations fit ``MAX_BACKWARD_BYTES``: per layer and
    token about 4 d_ff + 8 d_model floats, plus 3 attention maps of n_heads x T."""
    d = loaded.description
    per_row = d.n_layers * n_tokens * (4 * d.d_ff + 8 * d.d_model + 3 * d.n_heads * n_tokens) * 4
    return max(1, MAX_BACKWARD_BYTES // per_row)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.flags.writeable = False
    return array
