"""Two models side by side on one text: where does each find the text surprising, do they
predict the same next tokens, how differently do they continue it, and how differently
does one head attend.

What can be compared depends on the tokenizers (``Comparison.basis``):

- ``tokens``: both read the text as the same token ids (a fine-tuned or compressed model
  and its base). Everything is compared position by position: surprisal, top-1 agreement
  and KL(A || B) of the next-token distributions, and a head's attention.
- ``words``: the tokenizers split the text differently. Surprisal is compared per word,
  as the sum over each model's own tokens of that word (words are cut from the text
  itself, so both sides have the same words). Agreement and KL need a shared vocabulary
  and the attention difference the same positions: both are left out, and said so.

Each model reads the text after its own context (start token or BOS, see
``llm_core.interpret.prompts``), so its first word is predicted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llm_core.errors import InputError
from llm_core.interpret.attribution import sum_over_groups
from llm_core.interpret.prompts import Prompt, prepare_prompt
from llm_core.models.loading import LoadedModel

DEFAULT_CONTINUATION_TOKENS = 16


@dataclass(frozen=True, eq=False)
class ModelReading:
    """One model's reading of the text: ``surprisal`` [token] (nats, of each text token
    given what comes before it), its next-token log-probabilities ``logprobs`` [token,
    d_vocab] (kept only for a token-level comparison) and its greedy ``continuation``."""

    name: str
    prompt: Prompt
    surprisal: np.ndarray
    continuation: str
    logprobs: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class Comparison:
    """``basis`` "tokens" or "words" (see the module doc); ``labels`` of the compared
    units; ``surprisal_a``/``_b`` [unit] and ``difference`` = b - a; on a token basis
    also ``agreement`` [token] (1 where both models' top next token is the same),
    ``kl`` [token] (KL(A || B), nats) and ``attention_difference`` [query, key] (B - A)
    of ``head`` when one was asked for."""

    a: ModelReading
    b: ModelReading
    basis: str
    labels: list[str]
    surprisal_a: np.ndarray
    surprisal_b: np.ndarray
    agreement: np.ndarray | None = None
    kl: np.ndarray | None = None
    head: tuple[int, int] | None = None
    attention_difference: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def difference(self) -> np.ndarray:
        return self.surprisal_b - self.surprisal_a

    def levels(self) -> tuple[str, ...]:
        """The levels ``surprisal_at`` can group by: all three on a token basis."""
        return ("token", "character", "word") if self.basis == "tokens" else ("word",)

    def surprisal_at(self, level: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(labels, surprisal of A, of B) per unit of ``level``: a character's or word's
        surprisal is the sum over its tokens (-log p of the whole unit)."""
        if level not in self.levels():
            raise InputError(
                f"This comparison is per {self.basis[:-1]}; use one of {self.levels()}."
            )
        if level == "token" or self.basis == "words":
            return self.labels, self.surprisal_a, self.surprisal_b
        tokenization = self.a.prompt.tokenization
        groups = [group.tokens for group in tokenization.groups(level)]
        return (
            tokenization.labels(level),
            sum_over_groups(self.surprisal_a, groups),
            sum_over_groups(self.surprisal_b, groups),
        )

    def to_json(self) -> dict[str, Any]:
        def floats(values: np.ndarray | None) -> list[float] | None:
            return None if values is None else [round(float(v), 6) for v in values]

        result: dict[str, Any] = {
            "basis": self.basis,
            "labels": self.labels,
            "models": [self.a.name, self.b.name],
            "surprisal": [floats(self.surprisal_a), floats(self.surprisal_b)],
            "difference": floats(self.difference),
            "continuations": [self.a.continuation, self.b.continuation],
            "agreement": floats(self.agreement),
            "top1_agreement": None if self.agreement is None else float(self.agreement.mean()),
            "kl": floats(self.kl),
            "mean_kl": None if self.kl is None else float(self.kl.mean()),
            "notes": list(self.notes),
        }
        if self.attention_difference is not None and self.head is not None:
            result["head"] = list(self.head)
            result["attention_difference"] = [floats(row) for row in self.attention_difference]
        return result


def read_text(
    loaded: LoadedModel,
    text: str,
    name: str,
    keep_logprobs: bool = True,
    continuation_tokens: int = DEFAULT_CONTINUATION_TOKENS,
) -> ModelReading:
    """One forward pass for the surprisal (and log-probabilities) of ``text``, then a
    greedy continuation of ``continuation_tokens`` tokens."""
    import torch

    from llm_core.generation.generate import generate
    from llm_core.generation.perplexity import start_token_of
    from llm_core.generation.sampling import GenerationSettings

    prompt = prepare_prompt(loaded, text, start_token_of(loaded))
    ids = prompt.ids
    with loaded.lock, torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].float()
        logprobs = logits.log_softmax(-1)[prompt.n_context - 1 : -1]  # predicts each text token
        targets = torch.tensor(prompt.tokenization.ids)
        surprisal = -logprobs.gather(1, targets[:, None])[:, 0]
    settings = GenerationSettings(max_new_tokens=continuation_tokens, n_alternatives=1)
    continuation = generate(loaded, ids, settings).text
    return ModelReading(
        name=name,
        prompt=prompt,
        surprisal=surprisal.numpy(),
        continuation=continuation,
        logprobs=logprobs.numpy() if keep_logprobs else None,
    )


def compare(
    a: LoadedModel,
    b: LoadedModel,
    text: str,
    head: tuple[int, int] | None = None,
    names: tuple[str, str] = ("A", "B"),
    continuation_tokens: int = DEFAULT_CONTINUATION_TOKENS,
) -> Comparison:
    """Compare models ``a`` and ``b`` on ``text`` (see the module doc); ``head`` = (layer,
    head) for the attention difference, checked against both models."""
    reading_a = read_text(a, text, names[0], continuation_tokens=continuation_tokens)
    reading_b = read_text(b, text, names[1], continuation_tokens=continuation_tokens)
    same_tokens = reading_a.prompt.tokenization.ids == reading_b.prompt.tokenization.ids
    same_vocab = same_tokens and _same_vocabulary(a, b)
    if same_vocab:
        return _token_comparison(a, b, reading_a, reading_b, head)
    return _word_comparison(reading_a, reading_b, same_tokens)


def _token_comparison(
    a: LoadedModel,
    b: LoadedModel,
    reading_a: ModelReading,
    reading_b: ModelReading,
    head: tuple[int, int] | None,
) -> Comparison:
    pa, pb = reading_a.logprobs, reading_b.logprobs
    agreement = (pa.argmax(-1) == pb.argmax(-1)).astype(np.float32)
    kl = (np.exp(pa) * (pa - pb)).sum(-1).clip(min=0.0).astype(np.float32)
    notes: list[str] = []
    difference = None
    if head is not None:
        difference, note = _attention_difference(a, b, reading_a, reading_b, head)
        notes += [note] if note else []
    return Comparison(
        a=_light(reading_a),
        b=_light(reading_b),
        basis="tokens",
        labels=reading_a.prompt.tokenization.labels("token"),
        surprisal_a=reading_a.surprisal,
        surprisal_b=reading_b.surprisal,
        agreement=agreement,
        kl=kl,
        head=head if difference is not None else None,
        attention_difference=difference,
        notes=tuple(notes),
    )


def _word_comparison(
    reading_a: ModelReading, reading_b: ModelReading, same_tokens: bool
) -> Comparison:
    ta, tb = reading_a.prompt.tokenization, reading_b.prompt.tokenization
    spans = shared_spans(ta.groups("word"), tb.groups("word"))
    why = (
        "The two models read the same token ids but have different vocabularies"
        if same_tokens
        else "The two tokenizers split the text into different tokens"
    )
    note = (
        f"{why}: surprisal is compared per word (summed over each model's own tokens; a "
        "token that spans two words joins them); top-1 agreement, KL and the attention "
        "difference need the same tokens and vocabulary, so they are left out."
    )
    return Comparison(
        a=_light(reading_a),
        b=_light(reading_b),
        basis="words",
        labels=[ta.text[start:end].replace(" ", "␣") for start, end in spans],
        surprisal_a=_sum_into(reading_a.surprisal, ta.groups("word"), spans),
        surprisal_b=_sum_into(reading_b.surprisal, tb.groups("word"), spans),
        notes=(note,),
    )


def shared_spans(groups_a: Any, groups_b: Any) -> list[tuple[int, int]]:
    """The finest character spans [start, end) that are whole groups on both sides: the
    groups' ends that both partitions share, in order."""
    ends = sorted({g.end for g in groups_a} & {g.end for g in groups_b})
    starts = [min(g.start for g in groups_a), *ends[:-1]]
    return list(zip(starts, ends, strict=True))


def _sum_into(values: np.ndarray, groups: Any, spans: list[tuple[int, int]]) -> np.ndarray:
    """[span] float32: the sum of ``values`` [token] over the tokens of each span."""
    out = np.zeros(len(spans), dtype=np.float32)
    ends = [end for _, end in spans]
    for group in groups:
        span = int(np.searchsorted(ends, group.end))
        out[span] += float(np.asarray(values)[list(group.tokens)].sum())
    return out


def _attention_difference(
    a: LoadedModel,
    b: LoadedModel,
    reading_a: ModelReading,
    reading_b: ModelReading,
    head: tuple[int, int],
) -> tuple[np.ndarray | None, str | None]:
    """[query, key] head attention of B minus A over the text's tokens (context left out),
    or (None, why not)."""
    from llm_core.attention.capture import capture_attention

    layer, index = head
    for loaded in (a, b):
        d = loaded.description
        if not (0 <= layer < d.n_layers and 0 <= index < d.n_heads):
            return None, (
                f"Head {layer}.{index} is not in both models "
                f"({a.description.n_layers}x{a.description.n_heads} and "
                f"{b.description.n_layers}x{b.description.n_heads} layers x heads)."
            )
    if reading_a.prompt.ids != reading_b.prompt.ids:
        return None, "The two models read different context tokens; no attention difference."
    ids = reading_a.prompt.ids
    n = reading_a.prompt.n_context
    weights = [capture_attention(m, ids, layers=[layer]).head(layer, index)[n:, n:] for m in (a, b)]
    return (weights[1] - weights[0]).astype(np.float32), None


def _same_vocabulary(a: LoadedModel, b: LoadedModel) -> bool:
    if a is b or a.tokenizer is b.tokenizer:
        return True
    with a.lock:
        vocab_a = a.tokenizer.get_vocab()
    with b.lock:
        vocab_b = b.tokenizer.get_vocab()
    size_a = a.model.get_output_embeddings().weight.shape[0]
    size_b = b.model.get_output_embeddings().weight.shape[0]
    return vocab_a == vocab_b and size_a == size_b


def _light(reading: ModelReading) -> ModelReading:
    """The reading without its [token, d_vocab] log-probabilities (MBs per text)."""
    return ModelReading(reading.name, reading.prompt, reading.surprisal, reading.continuation)
