"""Generation with every step observable: which token, how likely, what else was possible.

    ids = build_prompt_ids(loaded.tokenizer, "Why is the sky blue?", chat=True)
    for step in iter_generate(loaded, ids, GenerationSettings(do_sample=True, top_p=0.9)):
        print(step.token_text, step.prob, [c.token for c in step.top_after])
    result = generate(loaded, ids, GenerationSettings(max_new_tokens=20))  # collects

The engine runs its own loop over the KV cache (``llm_core.generation.decoding``), not
``model.generate``; greedy output equals Hugging Face's token for token. How the two
distributions of a step are defined, and the filter order, is in ``llm_core.generation.sampling``.

Locking: ``loaded.lock`` is held for each forward call only, never across a ``yield``,
so a slow consumer of ``iter_generate`` never blocks other sessions; each generation
keeps its own KV cache, so interleaved calls do not disturb one another.

Cancelling: pass ``should_stop`` (checked before every forward call), or stop iterating.
Beam search yields its steps only once the search ends (the best beam is known only
then); ``should_stop`` still cancels it between steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.errors import InputError
from llm_core.generation.decoding import (
    KVDecoder,
    StopCheck,
    beam_search,
    decode_generated,
    sample_sequence,
)
from llm_core.generation.sampling import (
    GenerationSettings,
    GenerationStep,
    TokenProb,
    entropy,
    rank_of,
    step_distributions,
    top_tokens,
)
from llm_core.models.loading import LoadedModel

MAX_PROMPT_CHARS = 20_000
MAX_PROMPT_TOKENS = 2048
# Attention kept during one generation: n_layers x n_heads x (sum of context lengths)
# float32 values. 256 MB is 64 tokens after a 2,000-token prompt on SmolLM2 (30 x 9).
MAX_ATTENTION_CAPTURE_BYTES = 256 * 2**20
FINISH_REASONS = ("length", "eos", "stop_string", "cancelled")


@dataclass(frozen=True, eq=False)
class GeneratedSequence:
    """One generated continuation. ``token_ids`` are the generated ids only (an EOS that
    ended it included); ``text`` decodes them without special tokens. ``score``: mean log
    probability of its tokens (before the filters; NaN when empty); beam search ranks
    finished beams by it. ``seed``: the sampling seed it was drawn with (None if not
    sampled)."""

    token_ids: tuple[int, ...]
    text: str
    steps: tuple[GenerationStep, ...]
    finish_reason: str  # one of FINISH_REASONS
    score: float
    seed: int | None

    def to_json(self) -> dict[str, Any]:
        """``{"text", "steps": [{"token_id", "token", "prob", "top": [...]}]}``; see
        ``GenerationStep.to_json`` for which distribution ``prob`` and ``top`` come from."""
        return {"text": self.text, "steps": [step.to_json() for step in self.steps]}


@dataclass(frozen=True, eq=False)
class GenerationResult:
    """The prompt, the settings and the generated sequences, best (or first) first.

    ``text``, ``steps``, ``token_ids`` and ``finish_reason`` are those of
    ``sequences[0]``. ``cancelled``: ``should_stop`` ended the run (then later sequences
    may be missing, and the one it interrupted has finish_reason "cancelled").
    """

    prompt_ids: tuple[int, ...]
    settings: GenerationSettings
    sequences: tuple[GeneratedSequence, ...]
    cancelled: bool = False

    @property
    def text(self) -> str:
        return self.sequences[0].text

    @property
    def steps(self) -> tuple[GenerationStep, ...]:
        return self.sequences[0].steps

    @property
    def token_ids(self) -> tuple[int, ...]:
        return self.sequences[0].token_ids

    @property
    def finish_reason(self) -> str:
        return self.sequences[0].finish_reason

    def to_json(self, sequence: int = 0) -> dict[str, Any]:
        """The CLI shape for one sequence: ``{"text": ..., "steps": [{"token_id", "token",
        "prob", "top": [{"token_id", "token", "prob"}]}]}``."""
        if not 0 <= sequence < len(self.sequences):
            raise InputError(f"No sequence {sequence}: there are {len(self.sequences)}.")
        return self.sequences[sequence].to_json()


@dataclass(frozen=True, eq=False)
class StepDistribution:
    """The next-token distributions after ``context_ids`` (one step, for step-through).

    ``probs_before``/``probs_after``: [d_vocab] float32, read-only; before and after the
    filters as defined in ``llm_core.generation.sampling``. ``n_kept``: tokens the filters keep.
    """

    context_ids: tuple[int, ...]
    probs_before: np.ndarray  # [d_vocab]
    probs_after: np.ndarray  # [d_vocab]
    top_before: tuple[TokenProb, ...]
    top_after: tuple[TokenProb, ...]
    entropy: float  # nats, before the filters
    entropy_after: float
    n_kept: int

    def prob_of(self, token_id: int) -> tuple[float, float]:
        """(before, after) probability of any token, e.g. one the user picked."""
        if not 0 <= token_id < self.probs_before.shape[0]:
            raise InputError(f"No token id {token_id} in this vocabulary.")
        return float(self.probs_before[token_id]), float(self.probs_after[token_id])

    def rank_of(self, token_id: int) -> int:
        """1-based rank of ``token_id`` before the filters (1 = the most likely)."""
        self.prob_of(token_id)  # checks the id
        return rank_of(self.probs_before, token_id)

    def model_choice(self, settings: GenerationSettings, index: int) -> int:
        """The token the model takes here: the most likely one, or (sampling) a draw from
        the filtered distribution seeded by (``settings.seed``, ``index``), so a walk of
        one token per call is reproducible."""
        if not settings.do_sample:
            return int(np.argmax(self.probs_after))
        probs = self.probs_after.astype(np.float64)
        rng = np.random.default_rng([settings.seed, index])
        return int(rng.choice(probs.size, p=probs / probs.sum()))


# ---------------------------------------------------------------------------- prompts


def build_prompt_ids(
    tokenizer: Any, prompt: str, chat: bool = False, system: str | None = None
) -> list[int]:
    """Token ids of a prompt.

    ``chat=True``: the tokenizer's chat template over an optional system message and the
    user message, ending with the assistant's turn (``add_generation_prompt=True``).
    ``chat=False``: the raw text, with the tokenizer's usual special tokens (BOS where
    the model expects one). ``system`` is ignored in raw mode.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("The prompt is empty: type something for the model to continue.")
    if len(prompt) > MAX_PROMPT_CHARS or len(system or "") > MAX_PROMPT_CHARS:
        raise InputError(
            f"The prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS} "
            "(MAX_PROMPT_CHARS). Shorten it."
        )
    if not chat:
        return list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(
            "This model's tokenizer has no chat template, so a conversation cannot be "
            "formatted for it: use raw-text mode (chat=False)."
        )
    messages = [{"role": "system", "content": system}] if system and system.strip() else []
    messages.append({"role": "user", "content": prompt})
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as error:  # jinja TemplateError, e.g. a template without system role
        raise InputError(
            f"This model's chat template rejected the conversation ({error}). Leave the "
            "system message empty, or use raw-text mode (chat=False)."
        ) from error
    # The template writes special tokens (BOS, <|im_start|>) itself: add none again.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def check_prompt_ids(
    loaded: LoadedModel, prompt_ids: Sequence[int], settings: GenerationSettings
) -> list[int]:
    """The ids as ints, or ``InputError`` if empty, not in the vocabulary, too long for
    ``MAX_PROMPT_TOKENS`` or the model's context with ``max_new_tokens``, or too much
    attention to keep (``MAX_ATTENTION_CAPTURE_BYTES``)."""
    ids = list(prompt_ids)
    if not ids:
        raise InputError("The prompt has no tokens: type something first.")
    if any(isinstance(t, bool) or not isinstance(t, (int, np.integer)) for t in ids):
        raise InputError("Token ids must be whole numbers (as returned by the tokenizer).")
    if len(ids) > MAX_PROMPT_TOKENS:
        raise InputError(
            f"The prompt has {len(ids)} tokens; at most {MAX_PROMPT_TOKENS} "
            "(MAX_PROMPT_TOKENS). Shorten it."
        )
    vocab_size = loaded.model.get_input_embeddings().num_embeddings
    bad = [int(t) for t in ids if not 0 <= t < vocab_size]
    if bad:
        raise InputError(
            f"Token ids {bad[:5]} are not in this model's vocabulary (0-{vocab_size - 1}). "
            "Tokenize the prompt with the same model's tokenizer."
        )
    context = loaded.description.context_length
    if context and len(ids) + settings.max_new_tokens > context:
        raise InputError(
            f"{len(ids)} prompt tokens + {settings.max_new_tokens} new tokens exceed the "
            f"{context}-token context of {loaded.description.name}. Shorten the prompt or "
            "ask for fewer new tokens."
        )
    if settings.capture_attention:
        n, new = len(ids), settings.max_new_tokens
        per_key = loaded.description.n_layers * loaded.description.n_heads * 4  # float32
        needed = per_key * (n * new + new * (new - 1) // 2) * settings.num_return_sequences
        if needed > MAX_ATTENTION_CAPTURE_BYTES:
            raise InputError(
                f"Keeping attention for {new} new tokens after {n} prompt tokens would take "
                f"{needed / 2**20:.0f} MB (limit {MAX_ATTENTION_CAPTURE_BYTES // 2**20} MB). "
                "Ask for fewer new tokens, a shorter prompt, or turn capture_attention off."
            )
    return [int(t) for t in ids]


def prompt_ids_for(
    loaded: LoadedModel,
    prompt: str,
    settings: GenerationSettings,
    chat: bool = False,
    system: str | None = None,
) -> list[int]:
    """The checked ids of a prompt as a page gives it: settings validated, the prompt
    tokenized (``build_prompt_ids`` with the model's ``text_tokenizer``: fast tokenizers
    are not safe from several threads at once) and checked (``check_prompt_ids``)."""
    settings = settings.validate()
    with loaded.text_tokenizer() as tokenizer:
        ids = build_prompt_ids(tokenizer, prompt, chat=chat, system=system or None)
    return check_prompt_ids(loaded, ids, settings)


def sequence_seed(seed: int, sequence: int) -> int:
    """The sampling seed of return sequence ``sequence``: ``seed`` itself for the first
    (so asking for more sequences keeps the first), a hash of (seed, sequence) after."""
    if sequence == 0:
        return seed
    state = np.random.SeedSequence([seed, sequence]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))  # 63 bits: a valid torch seed


# ---------------------------------------------------------------------------- generating


def iter_generate(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    settings: GenerationSettings | None = None,
    should_stop: StopCheck | None = None,
) -> Iterator[GenerationStep]:
    """Yield each ``GenerationStep`` as soon as it is chosen (sequence 0 first, then 1...).

    Settings are checked before the first step (``InputError``). A sequence's last step
    carries its ``finish_reason``; a sequence whose last step has none was cancelled.
    """
    settings = (settings or GenerationSettings()).validate()
    ids = check_prompt_ids(loaded, prompt_ids, settings)
    return _steps(loaded, ids, settings, should_stop)


def _steps(
    loaded: LoadedModel, ids: list[int], settings: GenerationSettings, should_stop: StopCheck | None
) -> Iterator[GenerationStep]:
    if settings.strategy == "beam":
        for hypothesis in beam_search(loaded, ids, settings, should_stop):
            yield from hypothesis.steps
        return
    for sequence in range(settings.num_return_sequences):
        seed = sequence_seed(settings.seed, sequence)
        last = None
        for last in sample_sequence(loaded, ids, settings, seed, sequence, should_stop):
            yield last
        if last is None or last.finish_reason is None:  # cancelled
            return


def generate(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    settings: GenerationSettings | None = None,
    should_stop: StopCheck | None = None,
) -> GenerationResult:
    """Run ``iter_generate`` to the end and collect its steps into a ``GenerationResult``."""
    settings = (settings or GenerationSettings()).validate()
    ids = check_prompt_ids(loaded, prompt_ids, settings)
    fired = [False]

    def stop_check() -> bool:
        fired[0] = fired[0] or bool(should_stop is not None and should_stop())
        return fired[0]

    if settings.strategy == "beam":
        hypotheses = beam_search(loaded, ids, settings, stop_check)
        sequences = [_sequence(loaded, h.steps, h.finish_reason, None, h.score) for h in hypotheses]
        return GenerationResult(tuple(ids), settings, tuple(sequences), cancelled=fired[0])
    steps = list(_steps(loaded, ids, settings, stop_check))
    return collect_result(loaded, ids, settings, steps, cancelled=fired[0])


def collect_result(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    settings: GenerationSettings,
    steps: Sequence[GenerationStep],
    cancelled: bool = False,
) -> GenerationResult:
    """The ``GenerationResult`` of greedy or sampled ``steps`` (in any order between
    sequences): a sequence whose last step has no finish reason was cancelled."""
    by_sequence: dict[int, list[GenerationStep]] = {}
    for step in steps:
        by_sequence.setdefault(step.sequence, []).append(step)
    sequences = []
    for sequence in range(max(by_sequence, default=0) + 1):
        done = by_sequence.get(sequence, [])
        reason = done[-1].finish_reason if done and done[-1].finish_reason else "cancelled"
        seed = sequence_seed(settings.seed, sequence) if settings.do_sample else None
        sequences.append(_sequence(loaded, done, reason, seed))
    return GenerationResult(tuple(prompt_ids), settings, tuple(sequences), cancelled=cancelled)


def _sequence(
    loaded: LoadedModel,
    steps: Sequence[GenerationStep],
    reason: str,
    seed: int | None,
    score: float | None = None,
) -> GeneratedSequence:
    token_ids = tuple(step.token_id for step in steps)
    if score is None:
        score = float(np.mean(np.log([step.prob for step in steps]))) if steps else float("nan")
    return GeneratedSequence(
        token_ids=token_ids,
        text=decode_generated(loaded.tokenizer, token_ids),
        steps=tuple(steps),
        finish_reason=reason,
        score=score,
        seed=seed,
    )


# ---------------------------------------------------------------------------- one step


def next_token_distribution(
    loaded: LoadedModel, ids: Sequence[int], settings: GenerationSettings | None = None
) -> StepDistribution:
    """The distributions of the token after ``ids`` under ``settings`` (one forward pass),
    so a page can show one step, let the user pick any token, append it and call again.
    ``max_new_tokens`` only bounds the context check here."""
    import torch

    settings = (settings or GenerationSettings(max_new_tokens=1)).validate()
    ids = check_prompt_ids(loaded, ids, settings)
    with torch.inference_mode():
        logits = KVDecoder(loaded).feed(torch.tensor([ids], dtype=torch.long))  # [1, d_vocab]
        before, after = step_distributions(logits, torch.tensor([ids]), settings)
        before, after = before[0], after[0]  # [d_vocab]
        n = settings.n_alternatives
        entropies = entropy(torch.stack([before, after])).tolist()
        probs_before, probs_after = before.numpy().copy(), after.numpy().copy()
        top_before = top_tokens(loaded.tokenizer, before, n)
        top_after = top_tokens(loaded.tokenizer, after, n, nonzero=True)
    for array in (probs_before, probs_after):
        array.flags.writeable = False
    return StepDistribution(
        context_ids=tuple(ids),
        probs_before=probs_before,
        probs_after=probs_after,
        top_before=top_before,
        top_after=top_after,
        entropy=float(entropies[0]),
        entropy_after=float(entropies[1]),
        n_kept=int((probs_after > 0).sum()),
    )
