"""Split a corpus into training and validation documents and pack them into token blocks.

train_docs, validation_docs = split_corpus(corpus, 0.1)    # by document, seeded
blocks = pack_blocks(tokenizer, train_docs, 128)           # [n_blocks, 128] int64
packed = pack_corpus(tokenizer, corpus, 128, 0.1)          # both sides, each >= one block
measured = eval_blocks(packed.validation, 1536)            # a spread of held-out blocks
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.errors import InputError
from llm_core.text.corpus import MAX_VALIDATION_FRACTION, Corpus


def split_corpus(
    corpus: Corpus, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(training documents, validation documents): whole documents, drawn with ``seed``.

    No document is in both (duplicates were dropped on reading), so validation text is
    never trained on. At least one document goes to each side.
    """
    if not 0 < validation_fraction <= MAX_VALIDATION_FRACTION:
        raise InputError(
            f"The validation fraction must be above 0 and at most {MAX_VALIDATION_FRACTION}; "
            f"got {validation_fraction}. 0.1 holds out one document in ten."
        )
    n = corpus.n_documents
    if n < 2:
        raise InputError(
            "The corpus has a single document, so none can be held out for validation. "
            "Separate documents with a blank line (or one record per line in .jsonl)."
        )
    n_validation = min(max(1, round(n * validation_fraction)), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    held_out = set(order[:n_validation].tolist())
    train = [d for i, d in enumerate(corpus.documents) if i not in held_out]
    validation = [d for i, d in enumerate(corpus.documents) if i in held_out]
    return train, validation


def count_tokens(tokenizer: Any, documents: Sequence[str]) -> int:
    """Tokens of the documents as packed (each followed by one EOS token)."""
    encoded = tokenizer(list(documents), add_special_tokens=False)["input_ids"]
    return sum(len(ids) + 1 for ids in encoded)


def pack_blocks(tokenizer: Any, documents: Sequence[str], block_length: int) -> np.ndarray:
    """Token ids of the documents, each followed by EOS, cut into full blocks.

    Returns ``[n_blocks, block_length]`` int64; the tail shorter than a block is dropped
    (so it may be ``[0, block_length]``: callers check ``len(blocks)``).
    """
    if isinstance(block_length, bool) or not isinstance(block_length, int) or block_length < 2:
        raise InputError(
            f"The block length must be a whole number of at least 2; got {block_length!r}."
        )
    eos = tokenizer.eos_token_id
    if eos is None:
        raise InputError(
            "This tokenizer has no end-of-sequence token to separate documents with; "
            "pick a model whose tokenizer defines eos_token."
        )
    stream: list[int] = []
    for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    n_blocks = len(stream) // block_length
    return np.asarray(stream[: n_blocks * block_length], dtype=np.int64).reshape(
        n_blocks, block_length
    )


@dataclass(frozen=True, eq=False)
class PackedCorpus:
    """A corpus split by document and packed: ``train`` and ``validation`` are
    ``[n_blocks, block_length]`` int64, each with at least one block; the documents of
    each side, in corpus order."""

    train: np.ndarray  # [n_train_blocks, block_length]
    validation: np.ndarray  # [n_validation_blocks, block_length]
    train_documents: tuple[str, ...]
    validation_documents: tuple[str, ...]

    @property
    def block_length(self) -> int:
        return int(self.train.shape[1])

    @property
    def n_train_documents(self) -> int:
        return len(self.train_documents)

    @property
    def n_validation_documents(self) -> int:
        return len(self.validation_documents)


def pack_corpus(
    tokenizer: Any,
    corpus: Corpus,
    block_length: int,
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> PackedCorpus:
    """Split ``corpus`` (``split_corpus``) and pack both sides (``pack_blocks``).

    Raises ``InputError`` when either side is too short to form one block.
    """
    train_docs, validation_docs = split_corpus(corpus, validation_fraction, seed)
    train = pack_blocks(tokenizer, train_docs, block_length)
    validation = pack_blocks(tokenizer, validation_docs, block_length)
    for side, blocks, docs in (
        ("training", train, train_docs),
        ("validation", validation, validation_docs),
    ):
        if len(blocks) == 0:
            raise InputError(
                f"The corpus is too short: its {side} part ({len(docs)} documents, "
                f"{count_tokens(tokenizer, docs)} tokens) does not fill one block of "
                f"{block_length} tokens. Add text, choose a shorter block length"
                + (", or hold out a larger validation fraction." if side == "validation" else ".")
            )
    return PackedCorpus(train, validation, tuple(train_docs), tuple(validation_docs))


def eval_blocks(validation: np.ndarray, eval_tokens: int) -> np.ndarray:
    """At most ``eval_tokens`` worth of ``validation`` blocks [n_blocks, block_length],
    spread evenly over all of them (the first and last included)."""
    n = min(len(validation), max(1, eval_tokens // validation.shape[1]))
    return validation[np.linspace(0, len(validation) - 1, n).round().astype(int)]
