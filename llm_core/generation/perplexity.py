"""Per-token surprisal and perplexity of a text under a model.

The training objective of a language model is L = -sum_i log p(x_i | x_<i): each token
predicted from the ones before it. ``perplexity(loaded, "The cat sat on the mat")``
returns that negative log-likelihood per predicted token and exp(mean) of it. The first
token has no prediction (nothing comes before it), so ``nll`` has one entry fewer than
``tokens``; a tokenizer that adds a BOS token gives the first word a prediction too.

A tokenizer that adds no start token (SmolLM2) leaves the first word without a
prediction, and the model reads a document that starts mid-stream: "cat" after a bare
"The" costs 14 nats. ``document_start_token`` names the document separator the model was
trained with; ``text_ids_after(loaded, text, token)`` puts it first, so the first word is
predicted from a proper start (the Perplexity page and the CLI both do, by default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel

MAX_PERPLEXITY_TOKENS = 1024  # logits are [tokens, d_vocab]: 200 MB at 1,024 for SmolLM2
MAX_PERPLEXITY_CHARS = 20_000
SEED_TEXT = "The cat sat on the mat"
DOCUMENT_SEPARATORS = ("<|endoftext|>", "</s>", "<s>", "<|begin_of_text|>")


@dataclass(frozen=True, eq=False)
class PerplexityResult:
    """``nll``: [n_tokens - 1] float32, nats; ``nll[i - 1] = -log p(x_i | x_<i)`` for
    token i >= 1. ``perplexity = exp(mean(nll))``. ``tokens``: each id decoded alone."""

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    nll: np.ndarray  # [n_tokens - 1]
    perplexity: float

    @property
    def mean_nll(self) -> float:
        """Mean negative log-likelihood in nats (the cross-entropy loss)."""
        return float(self.nll.astype(np.float64).mean())

    def to_json(self) -> dict[str, Any]:
        """``{"tokens": [...], "nll": [...], "perplexity": x}``; ``nll`` is one shorter than
        ``tokens`` (entry i - 1 is the surprisal of token i)."""
        return {
            "tokens": list(self.tokens),
            "nll": [float(x) for x in self.nll],
            "perplexity": self.perplexity,
        }


def encode_text(loaded: LoadedModel, text_or_ids: str | Sequence[int], limit: int) -> list[int]:
    """Token ids of a text (with the tokenizer's usual special tokens) or checked ids."""
    if isinstance(text_or_ids, str):
        if not text_or_ids.strip():
            raise InputError("The text is empty: type a sentence first.")
        if len(text_or_ids) > MAX_PERPLEXITY_CHARS:
            raise InputError(
                f"The text has {len(text_or_ids)} characters; at most "
                f"{MAX_PERPLEXITY_CHARS}. Shorten it."
            )
        with loaded.text_tokenizer() as tokenizer:
            ids = list(tokenizer(text_or_ids, add_special_tokens=True)["input_ids"])
    else:
        ids = list(text_or_ids)
        if any(isinstance(t, bool) or not isinstance(t, (int, np.integer)) for t in ids):
            raise InputError("Token ids must be whole numbers (as returned by the tokenizer).")
    vocab_size = loaded.model.get_input_embeddings().num_embeddings
    bad = [int(t) for t in ids if not 0 <= t < vocab_size]
    if bad:
        raise InputError(
            f"Token ids {bad[:5]} are not in this model's vocabulary (0-{vocab_size - 1}). "
            "Tokenize the text with the same model's tokenizer."
        )
    context = loaded.description.context_length or limit
    if len(ids) > min(limit, context):
        raise InputError(
            f"The text has {len(ids)} tokens; at most {min(limit, context)} here. Shorten it."
        )
    return [int(t) for t in ids]


def document_start_token(tokenizer: Any) -> str | None:
    """The token that starts a document in this model's training data, when the tokenizer
    does not add one itself; None when it does, or has none to offer."""
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    if len(probe) > len(tokenizer("a", add_special_tokens=False)["input_ids"]):
        return None
    vocabulary = tokenizer.get_vocab()
    found = [token for token in (*DOCUMENT_SEPARATORS, tokenizer.bos_token) if token in vocabulary]
    return found[0] if found else None


def start_token_of(loaded: LoadedModel) -> str | None:
    """``document_start_token`` of the model's tokenizer (its ``text_tokenizer``)."""
    with loaded.text_tokenizer() as tokenizer:
        return document_start_token(tokenizer)


def text_ids_after(loaded: LoadedModel, text: str, start_token: str | None) -> list[int]:
    """The text's ids (checked as ``encode_text`` does), after ``start_token`` if given."""
    with loaded.text_tokenizer() as tokenizer:  # not safe in several threads at once
        ids = encode_text(loaded, text, MAX_PERPLEXITY_TOKENS)
        if start_token:
            if start_token not in tokenizer.get_vocab():
                raise InputError(f"'{start_token}' is not a token of this model's vocabulary.")
            ids.insert(0, tokenizer.convert_tokens_to_ids(start_token))
    return ids


def perplexity(loaded: LoadedModel, text_or_ids: str | Sequence[int]) -> PerplexityResult:
    """Surprisal of every token after the first and the perplexity, from one forward pass.

    Raises ``InputError`` for fewer than 2 tokens or more than ``MAX_PERPLEXITY_TOKENS``.
    """
    import torch

    ids = encode_text(loaded, text_or_ids, MAX_PERPLEXITY_TOKENS)
    if len(ids) < 2:
        raise InputError(
            "Perplexity needs at least 2 tokens: the first is only context, each later "
            "one is predicted. Type a longer text."
        )
    with loaded.lock, torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]
        logits = logits[:-1].float()  # [n_tokens - 1, d_vocab]: position i predicts i + 1
        targets = torch.tensor(ids[1:])  # [n_tokens - 1]
        picked = logits.gather(1, targets[:, None])[:, 0]
        nll = (torch.logsumexp(logits, dim=-1) - picked).numpy()  # [n_tokens - 1]
    nll.flags.writeable = False
    tokens = tuple(loaded.tokenizer.decode([t]) for t in ids)
    mean = float(nll.astype(np.float64).mean())
    return PerplexityResult(tuple(ids), tokens, nll, math.exp(mean))
