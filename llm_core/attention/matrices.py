"""The one matrix a view shows: a reduction of a trace's attention between the units of a
level. The Attention page, its downloads and the CLI all call ``attention_matrix``.

Reductions (``REDUCTIONS``): ``head`` (one head of one layer), ``mean_heads`` (the mean
over one layer's heads), ``mean_layers`` (the mean over every layer's head means) and
``rollout`` (through every layer). The last two need an ``AttentionSummary`` of every
layer; pass a cached one, or it is computed (seconds at 2,048 tokens).

As a file or a JSON record (one shape for the CLI and the page): ``llm_core.attention.export``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llm_core.attention.recompute import (
    head_attention,
    head_weights,
    layer_attention,
    query_attention,
)
from llm_core.attention.reductions import (
    LAYER_REDUCTIONS,
    REDUCTIONS,
    aggregate,
    mean_over_heads,
)
from llm_core.attention.stats import HeadRole, head_role
from llm_core.attention.summary import AttentionSummary, LayerProgress, summarize_attention
from llm_core.attention.trace import Trace, check_head, check_layer
from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel
from llm_core.text.tokens import LEVELS, Tokenization


@dataclass(frozen=True, eq=False)
class AttentionMatrix:
    """``weights``: [query_unit, key_unit] float32, rows summing to 1, one label per unit.

    ``layer`` is None for ``mean_layers`` and ``rollout``; ``head`` is None unless the
    reduction is ``head``.
    """

    weights: np.ndarray  # [query_unit, key_unit]
    labels: tuple[str, ...]
    level: str
    reduction: str
    layer: int | None
    head: int | None


def view_of(reduction: str, layer: int | None, head: int | None) -> tuple[int | None, int | None]:
    """The (layer, head) that ``reduction`` reads, the others dropped: a page whose
    widgets always hold a layer and a head passes them through this."""
    check_reduction(reduction)
    return (layer if reduction in LAYER_REDUCTIONS else None), (
        head if reduction == "head" else None
    )


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise InputError(f"Unknown view '{reduction}'. Use one of: {', '.join(REDUCTIONS)}.")
    return reduction


def check_view(
    loaded: LoadedModel, reduction: str, layer: int | None, head: int | None
) -> tuple[int | None, int | None]:
    """``InputError`` unless ``layer`` and ``head`` are given exactly where ``reduction``
    needs them, and exist in this model."""
    check_reduction(reduction)
    d = loaded.description
    if reduction == "head" and (layer is None or head is None):
        raise InputError("One head needs a layer and a head (--layer and --head).")
    if reduction == "mean_heads" and layer is None:
        raise InputError("mean_heads averages the heads of one layer: give a layer (--layer).")
    if reduction != "head" and head is not None:
        raise InputError(f"{reduction} covers every head: leave the head out.")
    if reduction not in LAYER_REDUCTIONS and layer is not None:
        raise InputError(f"{reduction} covers every layer: leave the layer out.")
    return (
        None if layer is None else check_layer(layer, d.n_layers),
        None if head is None else check_head(head, d.n_heads),
    )


def token_matrix(
    loaded: LoadedModel,
    trace: Trace,
    reduction: str,
    layer: int | None = None,
    head: int | None = None,
    summary: AttentionSummary | None = None,
    progress: LayerProgress | None = None,
) -> np.ndarray:
    """The token-level [query_pos, key_pos] float32 matrix of one view (see ``check_view``)."""
    layer, head = check_view(loaded, reduction, layer, head)
    if reduction == "head":
        return head_attention(loaded, trace, layer, head)
    if reduction == "mean_heads":
        return mean_over_heads(layer_attention(loaded, trace, layer))
    summary = summary if summary is not None else summarize_attention(loaded, trace, progress)
    return summary.mean_layers if reduction == "mean_layers" else summary.rollout


def attention_matrix(
    loaded: LoadedModel,
    trace: Trace,
    tokenization: Tokenization,
    level: str,
    reduction: str,
    layer: int | None = None,
    head: int | None = None,
    summary: AttentionSummary | None = None,
    progress: LayerProgress | None = None,
) -> AttentionMatrix:
    """One view of ``trace`` between the units of ``level`` (one of ``LEVELS``).

    ``tokenization`` must be that of the trace's tokens. Raises ``InputError`` for an
    unknown level or view, or a layer/head that is missing, extra or out of range.
    """
    if level not in LEVELS:
        raise InputError(f"Unknown level '{level}'. Use one of: {', '.join(LEVELS)}.")
    if tuple(tokenization.ids) != trace.token_ids:
        raise InputError("The tokenization is not the trace's: tokenize the same text.")
    weights = token_matrix(loaded, trace, reduction, layer, head, summary, progress)
    layer, head = view_of(reduction, layer, head)
    return AttentionMatrix(
        weights=group_matrix(tokenization, level, weights),
        labels=tuple(tokenization.labels(level)),
        level=level,
        reduction=reduction,
        layer=layer,
        head=head,
    )


def group_matrix(tokenization: Tokenization, level: str, weights: np.ndarray) -> np.ndarray:
    """[..., query_pos, key_pos] -> [..., query_unit, key_unit] float32 at ``level``."""
    if level == "token":  # one group per token: nothing to add up
        return np.asarray(weights, dtype=np.float32)
    return aggregate(weights, [group.tokens for group in tokenization.groups(level)])


def attention_to_tokens(
    loaded: LoadedModel,
    trace: Trace,
    reduction: str,
    layer: int | None = None,
    head: int | None = None,
    position: int = -1,
    summary: AttentionSummary | None = None,
) -> np.ndarray:
    """The attention query ``position`` (default: the last token) pays to every token,
    [key_pos] float32 summing to 1, for one head, the mean over a layer's heads, or
    rollout / the mean over layers (these read ``summary``, computed when not given).

    One head or a layer's mean computes only that query row: cheap at any length.
    """
    layer, head = check_view(loaded, reduction, layer, head)
    if not -trace.n_tokens <= position < trace.n_tokens:
        raise InputError(f"No position {position}: the text has positions 0-{trace.n_tokens - 1}.")
    if reduction in LAYER_REDUCTIONS:
        rows = query_attention(loaded, trace, layer, position)  # [head, key_pos]
        return rows[head] if reduction == "head" else rows.mean(0, dtype=np.float32)
    matrix = token_matrix(loaded, trace, reduction, summary=summary)
    return matrix[position]


def role_of_head(loaded: LoadedModel, trace: Trace, layer: int, head: int) -> HeadRole:
    """What one head mostly attends to on this trace, from that head alone (the page
    describes the head it shows without waiting for every layer's statistics)."""
    layer, head = check_layer(layer, trace.n_layers), check_head(head, loaded.description.n_heads)
    return head_role(head_weights(loaded, trace, layer, [head])[0], layer, head)
