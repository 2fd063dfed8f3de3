"""Attention is not attribution: how much the last position attends to each word, beside
how much each word moved log p(target), and the rank correlation of the two.

The attention of the last position (the one that predicts the target) to each group of
the prompt's text is the sum of its weights over the group's tokens, read from one of
three sources: a chosen head, the mean over all heads and layers, or rollout (Abnar &
Zuidema 2020). The weight it gives the context tokens (start token, BOS) is not any
word's: it is reported apart as ``context_share`` (on SmolLM2 usually most of it: the
first position is where heads park attention they do not use).

The correlation is Spearman's, between attention and the *size* of the attribution
(|score|): attention has no sign, so a word that pushed the target down strongly is as
much "what mattered" as one that pushed it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llm_core.attention.capture import AttentionCapture, capture_attention
from llm_core.errors import InputError
from llm_core.interpret.attribution import Attribution, sum_over_groups
from llm_core.models.loading import LoadedModel

SOURCES = ("mean", "rollout", "head")


@dataclass(frozen=True, eq=False)
class AttentionAgreement:
    """Per group at one level: ``attention`` [group] (the last position's weights, summed
    over the group's tokens), ``scores`` [group] (the attribution), their Spearman
    ``correlation`` (None with fewer than 2 groups or a constant side), and the share of
    attention that went to the context tokens."""

    labels: list[str]
    attention: np.ndarray
    scores: np.ndarray
    correlation: float | None
    context_share: float
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "attention": [round(float(a), 6) for a in self.attention],
            "scores": [round(float(s), 6) for s in self.scores],
            "correlation": self.correlation,
            "context_share": self.context_share,
            "source": self.source,
        }


@dataclass(frozen=True, eq=False)
class LastRows:
    """What the last position attends to, from one capture: ``mean`` [key_pos] (over all
    heads and layers), ``rollout`` [key_pos] and ``heads`` [layer, head, key_pos]. Small
    (30 x 9 x T floats on SmolLM2), so a page keeps it where a capture would be MBs."""

    token_ids: tuple[int, ...]
    mean: np.ndarray
    rollout: np.ndarray
    heads: np.ndarray

    def row(
        self, source: str = "mean", layer: int | None = None, head: int | None = None
    ) -> np.ndarray:
        """[key_pos] float32 from ``source`` ("head" needs ``layer`` and ``head``)."""
        if source not in SOURCES:
            raise InputError(
                f"Unknown attention source '{source}': use one of {', '.join(SOURCES)}."
            )
        if source == "head":
            n_layers, n_heads = self.heads.shape[:2]
            if layer is None or head is None or not (0 <= layer < n_layers and 0 <= head < n_heads):
                raise InputError(f"A head is a layer 0-{n_layers - 1} and a head 0-{n_heads - 1}.")
            return self.heads[layer, head]
        return self.rollout if source == "rollout" else self.mean


def last_rows(capture: AttentionCapture) -> LastRows:
    """The last position's rows of ``capture`` (which must keep every layer in full)."""
    heads = np.stack([capture.layer(layer)[:, -1] for layer in range(capture.n_layers)])
    return LastRows(
        token_ids=tuple(capture.token_ids),
        mean=np.asarray(capture.mean_layers()[-1], dtype=np.float32),
        rollout=np.asarray(capture.rollout[-1], dtype=np.float32),
        heads=heads.astype(np.float32),
    )


def last_position_attention(loaded: LoadedModel, ids: list[int]) -> LastRows:
    """Capture the attention of ``ids`` (at most ``MAX_INTERPRET_TOKENS``, so every layer
    is kept) and keep the last position's rows."""
    return last_rows(capture_attention(loaded, ids))


def attention_agreement(
    rows: LastRows,
    attribution: Attribution,
    level: str = "word",
    source: str = "mean",
    layer: int | None = None,
    head: int | None = None,
) -> AttentionAgreement:
    """Compare the last position's attention with ``attribution`` at ``level``. ``rows``
    must be of the attribution's prompt (its ids, context first)."""
    prompt = attribution.prompt
    if list(rows.token_ids) != prompt.ids:
        raise InputError("The attention was captured on other tokens than the attribution's.")
    row = rows.row(source, layer, head)
    groups = [group.tokens for group in prompt.tokenization.groups(level)]
    attention = sum_over_groups(row[prompt.n_context :], groups)
    scores = attribution.group_scores(level)
    name = f"head {layer}.{head}" if source == "head" else source
    return AttentionAgreement(
        labels=attribution.labels(level),
        attention=attention,
        scores=scores,
        correlation=spearman(attention, np.abs(scores)),
        context_share=float(row[: prompt.n_context].sum()),
        source=name,
    )


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation (ties get their mean rank); None when it is undefined
    (fewer than 2 values, or one side constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError(f"Need two equal-length vectors; got {a.shape} and {b.shape}.")
    if len(a) < 2:
        return None
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for value in np.unique(values):  # ties share their mean rank
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
