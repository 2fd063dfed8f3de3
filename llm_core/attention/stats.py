"""Per-head attention statistics: what does each head mostly look at?

Four numbers per head, each a ``[layer, head]`` float32 array (``HeadStats``):

- ``previous_token``: mean over query positions q >= 1 of ``A[q, q-1]``
- ``first_token``: mean over q >= 1 of ``A[q, 0]`` (the "attention sink")
- ``current_token``: mean over q >= 1 of ``A[q, q]`` (the token attends to itself)
- ``entropy``: mean over q >= 1 of the row entropy ``-sum_k A[q, k] ln A[q, k]`` (nats)

Row q = 0 is left out because under a causal mask it can only attend to itself (share 1,
entropy 0) and would bias every head toward "self". A one-token input has no other row,
so its statistics use row 0: previous and first shares 0 (there is no other token),
current share 1, entropy 0.

``describe_head`` turns the numbers into a ``HeadRole``: a ``kind`` key the UI can
translate ("previous", "first", "self", "broad", "mixed"), the numbers, and an English
sentence. ``rank_heads`` orders heads by one statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from llm_core.errors import InputError

if TYPE_CHECKING:
    import torch

STAT_NAMES = ("previous_token", "first_token", "current_token", "entropy")
# A head "mostly attends to" something when that share is at least this on average.
DOMINANT_SHARE = 0.5
# A head "spreads its attention broadly" when its entropy reaches this fraction of the
# largest entropy possible on this input (uniform attention over every visible key).
BROAD_ENTROPY_FRACTION = 0.7
ROLE_KINDS = ("previous", "first", "self", "broad", "mixed")
_KIND_BY_SHARE = {"previous_token": "previous", "first_token": "first", "current_token": "self"}


@dataclass(frozen=True, eq=False)
class HeadStats:
    """Statistics of every head on one input; each array is ``[layer, head]`` float32.

    ``max_entropy`` is the entropy (nats) of uniform attention over the visible keys,
    averaged over the same query rows: the ceiling for ``entropy`` on this input.
    """

    previous_token: np.ndarray  # [layer, head]
    first_token: np.ndarray  # [layer, head]
    current_token: np.ndarray  # [layer, head]
    entropy: np.ndarray  # [layer, head], nats
    max_entropy: float
    n_tokens: int

    @property
    def n_layers(self) -> int:
        return int(self.entropy.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.entropy.shape[1])

    def stat(self, name: str) -> np.ndarray:
        """The ``[layer, head]`` array of one statistic, by name (see ``STAT_NAMES``)."""
        if name not in STAT_NAMES:
            raise InputError(
                f"Unknown head statistic '{name}'. Use one of: {', '.join(STAT_NAMES)}."
            )
        return getattr(self, name)


@dataclass(frozen=True)
class RankedHead:
    """One head and its value of the statistic it was ranked by."""

    layer: int
    head: int
    value: float


@dataclass(frozen=True)
class HeadRole:
    """What one head mostly does, as data (``kind`` + numbers) and as an English sentence.

    ``kind`` is one of ``ROLE_KINDS``; ``share`` is the share behind the kind for
    "previous", "first" and "self", and the largest of the three shares otherwise.
    """

    layer: int
    head: int
    kind: str
    share: float
    previous_token: float
    first_token: float
    current_token: float
    entropy: float  # nats
    max_entropy: float  # nats
    sentence: str


def _query_rows(n_tokens: int) -> slice:
    """The query rows statistics average over: q >= 1, or row 0 alone for one token."""
    return slice(1, None) if n_tokens > 1 else slice(0, 1)


def max_row_entropy(n_tokens: int, causal: bool) -> float:
    """Mean over the statistic rows of the largest possible row entropy (nats)."""
    if not causal:
        return math.log(n_tokens)
    if n_tokens == 1:
        return 0.0
    # row q of a causal matrix sees q + 1 keys
    return float(np.mean(np.log(np.arange(2, n_tokens + 1, dtype=np.float64))))


def layer_head_stats(weights: torch.Tensor) -> torch.Tensor:
    """The four statistics of one layer: ``weights`` [head, query_pos, key_pos] -> [4, head].

    Rows of the result follow ``STAT_NAMES``. Runs in torch so the capture can call it on
    each layer's weights as they are produced, without a copy.
    """
    import torch

    n_tokens = weights.shape[-1]
    rows = _query_rows(n_tokens)
    if n_tokens > 1:
        previous = torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1).mean(-1)  # [head]
        first = weights[:, rows, 0].mean(-1)  # [head]
    else:  # the only token is itself, not a previous or a first *other* token
        previous = first = torch.zeros(weights.shape[0], dtype=weights.dtype)
    current = torch.diagonal(weights, dim1=-2, dim2=-1)[:, rows].mean(-1)  # [head]
    entropy = torch.special.entr(weights).sum(-1)[:, rows].mean(-1)  # [head]
    return torch.stack([previous, first, current, entropy]).float()


def stats_from_layers(table: np.ndarray, n_tokens: int, causal: bool) -> HeadStats:
    """Build ``HeadStats`` from a [4 (``STAT_NAMES``), layer, head] table."""
    table = np.asarray(table, dtype=np.float32)
    return HeadStats(
        *(table[i] for i in range(len(STAT_NAMES))),
        max_entropy=max_row_entropy(n_tokens, causal),
        n_tokens=n_tokens,
    )


def rank_heads(
    stats: HeadStats, stat_name: str, top: int | None = 10, descending: bool = True
) -> tuple[RankedHead, ...]:
    """Heads ordered by one statistic (largest first unless ``descending=False``).

    ``top=None`` returns every head. Ties keep (layer, head) order.
    """
    values = stats.stat(stat_name)
    if top is not None and top < 1:
        raise InputError(f"top must be at least 1 (or None for every head); got {top}.")
    flat = values.reshape(-1)
    order = np.argsort(-flat if descending else flat, kind="stable")
    if top is not None:
        order = order[:top]
    n_heads = values.shape[1]
    return tuple(RankedHead(int(i // n_heads), int(i % n_heads), float(flat[i])) for i in order)


def describe_head(stats: HeadStats, layer: int, head: int) -> HeadRole:
    """What head ``head`` of layer ``layer`` mostly attends to, as a ``HeadRole``."""
    if not (0 <= layer < stats.n_layers and 0 <= head < stats.n_heads):
        raise InputError(
            f"No head {head} in layer {layer}: this model has layers 0-{stats.n_layers - 1} "
            f"and heads 0-{stats.n_heads - 1}."
        )
    values = [float(getattr(stats, name)[layer, head]) for name in STAT_NAMES]
    return _role(layer, head, values, stats.max_entropy)


def head_role(weights: torch.Tensor, layer: int, head: int, causal: bool = True) -> HeadRole:
    """The ``HeadRole`` of one head from its own weights [query_pos, key_pos] alone (no
    other head is needed, so a page can describe the head it shows at once)."""
    values = layer_head_stats(weights[None])[:, 0].tolist()  # [4], in STAT_NAMES order
    return _role(layer, head, values, max_row_entropy(weights.shape[-1], causal))


def _role(layer: int, head: int, values: list[float], max_entropy: float) -> HeadRole:
    shares = dict(zip(STAT_NAMES[:3], values[:3], strict=True))
    entropy = values[3]
    best = max(shares, key=shares.__getitem__)  # ties: previous, first, current
    share = shares[best]
    if share >= DOMINANT_SHARE:
        kind = _KIND_BY_SHARE[best]
    elif max_entropy > 0 and entropy >= BROAD_ENTROPY_FRACTION * max_entropy:
        kind = "broad"
    else:
        kind = "mixed"
    role = HeadRole(
        layer=layer,
        head=head,
        kind=kind,
        share=share,
        previous_token=shares["previous_token"],
        first_token=shares["first_token"],
        current_token=shares["current_token"],
        entropy=entropy,
        max_entropy=max_entropy,
        sentence="",
    )
    return replace(role, sentence=english_sentence(role))


def english_sentence(role: HeadRole) -> str:
    """The plain-English sentence for a role, e.g. 'layer 3 head 2 mostly attends to ...'."""
    who = f"layer {role.layer} head {role.head}"
    if role.kind == "previous":
        return f"{who} mostly attends to the previous token ({role.share:.0%})"
    if role.kind == "first":
        return f"{who} mostly attends to the first token (attention sink, {role.share:.0%})"
    if role.kind == "self":
        return f"{who} mostly attends to itself ({role.share:.0%})"
    if role.kind == "broad":
        return f"{who} spreads its attention broadly (entropy {role.entropy:.1f} nats)"
    return (
        f"{who} mixes patterns: previous token {role.previous_token:.0%}, first token "
        f"{role.first_token:.0%}, itself {role.current_token:.0%} "
        f"(entropy {role.entropy:.1f} nats)"
    )
