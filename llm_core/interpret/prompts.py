"""Prompts and target tokens for attribution and patching.

A ``Prompt`` is a text after its *context* tokens: the document start token the model was
trained with (as on the Perplexity page, see
``llm_core.generation.perplexity.document_start_token``) or the BOS its tokenizer adds.
The model reads the context but it is never scored: it is where every later position
parks unused attention (SmolLM2's first position carries activations ~10x larger than
the rest), and without it a prompt of zero embeddings has no first token at all, so the
integrated-gradients path starts at a point where the gradient is not even defined.

A target token is given by id (a token clicked on the Generation page), by text (the
first token of the text as the tokenizer encodes it: " Paris" with its leading space is
one token of the default model), or left out (the model's most likely next token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel
from llm_core.text.tokens import Tokenization, tokenize

if TYPE_CHECKING:  # torch loads lazily, with the first model: ``import llm_core`` stays fast
    import torch

# Attribution runs up to 33 copies of the prompt through the model with gradients;
# 256 tokens keeps one chunk of that under ~1 GB on the default model.
MAX_INTERPRET_TOKENS = 256


@dataclass(frozen=True, eq=False)
class Prompt:
    """A text's tokens (``tokenization``) after ``context_ids`` (start token or BOS, not
    scored). ``ids`` is what the model reads: context first, then the text's tokens."""

    tokenization: Tokenization
    context_ids: tuple[int, ...]
    context_labels: tuple[str, ...]

    @property
    def ids(self) -> list[int]:
        return [*self.context_ids, *self.tokenization.ids]

    @property
    def n_context(self) -> int:
        return len(self.context_ids)

    def position_labels(self) -> list[str]:
        """One label per position of ``ids``: the context tokens, then the text's tokens."""
        return [*self.context_labels, *self.tokenization.labels("token")]


@dataclass(frozen=True)
class Target:
    """The token whose probability is explained: its id, its text, log p(target | prompt)."""

    id: int
    text: str
    logp: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "logp": self.logp}


def prepare_prompt(
    loaded: LoadedModel,
    text: str,
    start_token: str | None = None,
    limit: int = MAX_INTERPRET_TOKENS,
) -> Prompt:
    """The text tokenized and grouped, after ``start_token`` (when given) and any BOS the
    tokenizer adds. Raises ``InputError`` for an empty or over-long text, or an unknown
    start token."""
    with loaded.text_tokenizer() as tokenizer:  # not safe in several threads at once
        tokenization = tokenize(tokenizer, text)
        plain = tokenization.ids
        full = list(tokenizer(text, add_special_tokens=True)["input_ids"])
        context = _leading_extras(full, plain)
        if start_token:
            if start_token not in tokenizer.get_vocab():
                raise InputError(f"'{start_token}' is not a token of this model's vocabulary.")
            context.insert(0, tokenizer.convert_tokens_to_ids(start_token))
        labels = tuple(tokenizer.convert_ids_to_tokens(context))
    context_length = loaded.description.context_length or limit
    n = len(context) + len(plain)
    if n > min(limit, context_length):
        raise InputError(
            f"The prompt has {n} tokens; at most {min(limit, context_length)} here "
            "(MAX_INTERPRET_TOKENS). Shorten it."
        )
    return Prompt(tokenization, tuple(int(i) for i in context), labels)


def _leading_extras(full: list[int], plain: list[int]) -> list[int]:
    """The ids the tokenizer puts before the text's own (a BOS); [] when none."""
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start]
    return []


def first_token_id(loaded: LoadedModel, token_text: str) -> int:
    """The first token of ``token_text`` as the tokenizer encodes it (no special tokens)."""
    if not isinstance(token_text, str) or not token_text:
        raise InputError("The target is empty: type the token to explain, e.g. ' Paris'.")
    with loaded.text_tokenizer() as tokenizer:
        ids = tokenizer(token_text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise InputError(f"{token_text!r} encodes to no token; type a word or a character.")
    return int(ids[0])


def check_token_id(loaded: LoadedModel, token_id: Any) -> int:
    vocab_size = loaded.model.get_input_embeddings().num_embeddings
    if isinstance(token_id, bool) or not isinstance(token_id, (int, np.integer)):
        raise InputError(f"A target token id is a whole number; got {token_id!r}.")
    if not 0 <= token_id < vocab_size:
        raise InputError(f"No token id {token_id}: this vocabulary has ids 0-{vocab_size - 1}.")
    return int(token_id)


def target_id_for(loaded: LoadedModel, target: str | int | None, logits: torch.Tensor) -> int:
    """The target's id: ``target`` as an id, as a text's first token, or when None the
    most likely next token under ``logits`` [d_vocab]."""
    if target is None:
        return int(logits.argmax())
    if isinstance(target, str):
        return first_token_id(loaded, target)
    return check_token_id(loaded, target)


def token_text(loaded: LoadedModel, token_id: int) -> str:
    with loaded.text_tokenizer() as tokenizer:
        return tokenizer.decode([token_id])


def next_token_logits(loaded: LoadedModel, ids: Sequence[int]) -> torch.Tensor:
    """[d_vocab] float32 logits after ``ids`` (one forward pass, no gradients)."""
    import torch

    with loaded.lock, torch.inference_mode():
        logits = loaded.model(
            input_ids=torch.tensor([list(ids)]), use_cache=False, logits_to_keep=1
        )
        return logits.logits[0, -1].float()
