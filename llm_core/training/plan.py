"""What a fine-tuning run will do, checked before it starts: the page shows the plan as
the settings change, and the job trains exactly that plan.

    plan = plan_finetune(loaded, corpus, FinetuneSettings(steps=48))   # or InputError
    plan.tokens_to_train, plan.n_train_tokens, plan.epochs, plan.n_validation_documents
    run_planned(job, loaded, plan, output_path("tang-lora"))         # llm_core.training.finetune

Every check a run makes before its first step is made here, once: the settings are in
range, the model can be trained this way (int8 layers cannot), the corpus splits into
training and validation documents that each fill a block, and the before/after texts
(sample prompt, attention text) fit. Tokenizer calls hold the model's lock: a fast
tokenizer is not safe to call from several threads at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llm_core.errors import InputError
from llm_core.generation.generate import build_prompt_ids
from llm_core.models.loading import LoadedModel
from llm_core.text.corpus import Corpus
from llm_core.text.packing import PackedCorpus, count_tokens, eval_blocks, pack_corpus
from llm_core.text.tokens import Tokenization, tokenize
from llm_core.training.settings import (
    DEFAULT_ATTENTION_TOKENS,
    MAX_ATTENTION_TEXT_TOKENS,
    FinetuneSettings,
    check_trainable,
)


@dataclass(frozen=True, eq=False)
class FinetunePlan:
    """A checked run: validated settings, the corpus packed, and what is measured before
    and after (``measured``: [n_blocks, block_length] held-out token ids)."""

    settings: FinetuneSettings
    corpus: Corpus
    packed: PackedCorpus
    measured: np.ndarray  # [n_blocks, block_length], spread over the validation blocks
    sample_prompt: str
    prompt_ids: list[int]
    attention_tokens: Tokenization

    @property
    def tokens_to_train(self) -> int:
        """Tokens the optimizer steps see: steps x batch size x block length."""
        s = self.settings
        return s.steps * s.batch_size * s.block_length

    @property
    def n_train_tokens(self) -> int:
        """Tokens of the training blocks (the tail shorter than a block is dropped)."""
        return int(self.packed.train.size)

    @property
    def epochs(self) -> float:
        """Passes over the training blocks."""
        return self.tokens_to_train / max(self.n_train_tokens, 1)

    @property
    def n_validation_documents(self) -> int:
        return self.packed.n_validation_documents


def count_corpus_tokens(base: LoadedModel, corpus: Corpus) -> int:
    """Tokens of ``corpus`` for ``base``'s tokenizer, as packed (one EOS per document)."""
    with base.lock:
        return count_tokens(base.tokenizer, corpus.documents)


def default_texts(tokenizer: object, validation_document: str) -> tuple[str, str]:
    """(sample prompt, attention text) from a held-out document: its first line, and its
    first ``DEFAULT_ATTENTION_TOKENS`` tokens cut at a token boundary."""
    prompt = validation_document.strip().split("\n", 1)[0].strip()
    tokens = tokenize(tokenizer, validation_document).tokens
    end = tokens[min(len(tokens), DEFAULT_ATTENTION_TOKENS) - 1].end
    return prompt, validation_document[:end].strip()


def plan_finetune(base: LoadedModel, corpus: Corpus, settings: FinetuneSettings) -> FinetunePlan:
    """Check everything a run of ``settings`` on ``corpus`` needs (see the module
    docstring); ``InputError`` says what to change."""
    settings = settings.validate()
    check_trainable(base.model, settings)
    with base.lock:
        tokenizer = base.tokenizer
        packed = pack_corpus(
            tokenizer, corpus, settings.block_length, settings.validation_fraction, settings.seed
        )
        prompt, attention_text = default_texts(tokenizer, packed.validation_documents[0])
        prompt = settings.sample_prompt.strip() or prompt
        attention = tokenize(tokenizer, settings.attention_text.strip() or attention_text)
        prompt_ids = build_prompt_ids(tokenizer, prompt)
    if attention.n_tokens > MAX_ATTENTION_TEXT_TOKENS:
        raise InputError(
            f"The attention text has {attention.n_tokens} tokens; before/after attention "
            f"is kept for at most {MAX_ATTENTION_TEXT_TOKENS}. Shorten it."
        )
    measured = eval_blocks(packed.validation, settings.eval_tokens)
    return FinetunePlan(settings, corpus, packed, measured, prompt, prompt_ids, attention)
