"""Choosing the next token of one sequence or of many at once, and recording the step.

``choose_tokens`` takes the model's [row, d_vocab] logits of several sequences (one, for a
generation alone; many, for a batch) and, per row, its own settings, context, generator
and piece decoder. The distributions (``llm_core.generation.sampling``) are computed for
all rows in a few tensor operations: rows sharing filter settings are filtered together,
every row draws from its own ``torch.Generator``. A generation alone goes through the
same function with one row, so a row's step in a batch is the step it would get alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.generation.sampling import (
    GenerationSettings,
    GenerationStep,
    entropy,
    filter_logits,
    penalise_repetition,
    token_probs,
)
from llm_core.text.pieces import PieceDecoder

if TYPE_CHECKING:  # torch loads lazily: ``import llm_core`` stays fast without it
    import torch


@dataclass(frozen=True, eq=False)
class Chooser:
    """One sequence about to choose its next token: everything the choice depends on.

    ``attention``: the [layer, head, key_pos] attention row of the position fed in (kept
    in the step), or None; ``pieces`` is pushed the chosen token.
    """

    context: Sequence[int]  # prompt + generated so far (the repetition penalty reads it)
    settings: GenerationSettings
    generator: torch.Generator  # this sequence's own
    sequence: int
    index: int
    pieces: PieceDecoder
    attention: np.ndarray | None = None


def choose_tokens(
    texts: Any, logits: torch.Tensor, choosers: Sequence[Chooser]
) -> list[GenerationStep]:
    """One ``GenerationStep`` per row of ``logits`` [row, d_vocab] (call under
    ``torch.inference_mode``); no finish reason yet. ``texts`` decodes ids
    (``llm_core.text.pieces.VocabularyText`` or a tokenizer)."""
    import torch

    logits = logits.float()
    penalised = _penalised(logits, choosers)  # [row, d_vocab]
    before = penalised.softmax(-1)  # [row, d_vocab]
    entropies = entropy(before).tolist()  # [row]
    n = max(c.settings.n_alternatives for c in choosers)
    top_values, top_ids = torch.topk(before, min(n, before.shape[-1]), dim=-1)  # [row, n]
    tokens = _most_likely(before, top_values, top_ids)  # greedy (beams' "after" is "before")
    after = _filtered(penalised, choosers)  # row -> (probs [d_vocab], entropy, top, kept)
    for row, chooser in enumerate(choosers):
        if row in after:
            drawn = torch.multinomial(after[row][0], 1, generator=chooser.generator)
            tokens[row] = int(drawn)
    chosen = before.gather(1, torch.tensor(tokens)[:, None])[:, 0]  # [row]
    ranks = _ranks(before, chosen, [row in after for row in range(len(choosers))])
    # whole tensors to lists once, not a slice per row: each torch call from Python gives
    # up the GIL, which the pages of a class sharing the process then hold
    probs, top_ids, top_values = chosen.tolist(), top_ids.tolist(), top_values.tolist()
    steps = []
    for row, chooser in enumerate(choosers):
        token, k = tokens[row], chooser.settings.n_alternatives
        top_before = token_probs(texts, top_ids[row][:k], top_values[row][:k])
        prob, entropy_after, top_after = probs[row], entropies[row], top_before
        prob_after = prob
        if row in after:
            row_after, entropy_after, (values, ids) = after[row]
            prob_after = float(row_after[token])
            top_after = token_probs(texts, ids[:k].tolist(), values[:k].tolist(), nonzero=True)
        attention = chooser.attention
        if attention is not None:
            attention.flags.writeable = False
        steps.append(
            GenerationStep(
                sequence=chooser.sequence,
                index=chooser.index,
                token_id=token,
                token_text=texts.decode([token]),
                prob=prob,
                rank=ranks[row],
                top_before=top_before,
                entropy=entropies[row],
                prob_after=prob_after,
                top_after=top_after,
                entropy_after=entropy_after,
                attention=attention,
                piece=chooser.pieces.push(token),
            )
        )
    return steps


def _most_likely(before: torch.Tensor, values: torch.Tensor, ids: torch.Tensor) -> list[int]:
    """Each row's ``argmax`` (the first of equally likely tokens), read from its top-k
    (``values``, ``ids``) where the first is strictly the most likely: a pass over the
    vocabulary fewer (``argmax`` took 4 ms on 30 rows of 49,152, one thread). With fewer
    than 2 alternatives asked for, ``argmax`` (a top-k of 2 could list a tied token other
    than the one chosen)."""
    if values.shape[-1] < 2:
        return before.argmax(-1).tolist()
    tokens = ids[:, 0].tolist()
    for row in (~(values[:, 0] > values[:, 1])).nonzero()[:, 0].tolist():  # a tie or NaN
        tokens[row] = int(before[row].argmax())
    return tokens


def _ranks(before: torch.Tensor, probs: torch.Tensor, drawn: list[bool]) -> list[int]:
    """1 + how many tokens are more likely than the chosen one (``probs`` [row]), per
    row. A row not ``drawn`` chose its ``argmax``: nothing is more likely, so 1."""
    import torch

    ranks = [1] * len(drawn)
    rows = [row for row, was_drawn in enumerate(drawn) if was_drawn]
    if rows:
        index = torch.tensor(rows)
        counted = (before[index] > probs[index, None]).sum(-1) + 1
        for row, rank in zip(rows, counted.tolist(), strict=True):
            ranks[row] = rank
    return ranks


def _penalised(logits: torch.Tensor, choosers: Sequence[Chooser]) -> torch.Tensor:
    """The logits after each row's repetition penalty (rows without one unchanged)."""
    import torch

    rows = [i for i, c in enumerate(choosers) if c.settings.repetition_penalty != 1.0]
    if not rows:
        return logits
    penalised = logits.clone()
    for i in rows:
        context = torch.tensor([list(choosers[i].context)], dtype=torch.long)
        penalty = choosers[i].settings.repetition_penalty
        penalised[i] = penalise_repetition(logits[i : i + 1], context, penalty)[0]
    return penalised


def _filtered(penalised: torch.Tensor, choosers: Sequence[Chooser]) -> dict[int, tuple]:
    """For each sampling row: (after-filter probs [d_vocab], their entropy, (top values,
    top ids)). Rows with the same temperature, top-k and top-p are filtered together."""
    import torch

    groups: dict[tuple, list[int]] = {}
    for i, chooser in enumerate(choosers):
        s = chooser.settings
        if s.strategy == "sample":
            groups.setdefault((s.temperature, s.top_k, s.top_p), []).append(i)
    found: dict[int, tuple] = {}
    for rows in groups.values():
        settings = choosers[rows[0]].settings
        n = max(choosers[i].settings.n_alternatives for i in rows)
        after = filter_logits(penalised[rows], settings).softmax(-1)  # [group, d_vocab]
        entropies = entropy(after).tolist()
        values, ids = torch.topk(after, min(n, after.shape[-1]), dim=-1)
        for j, i in enumerate(rows):
            found[i] = (after[j], entropies[j], (values[j], ids[j]))
    return found
