"""Several token sequences as one left-padded batch, each row as it would be alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch


def left_padded(
    sequences: Sequence[Sequence[int]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, mask, positions), each [row, longest]: the sequences right-aligned after
    padding (id 0), ``mask`` 1 on their tokens and 0 on padding, and ``positions`` each
    token's place in its own sequence (0 on padding), so that with the mask every row
    gets the positions it has alone."""
    import torch

    longest = max(len(sequence) for sequence in sequences)
    ids = torch.zeros(len(sequences), longest, dtype=torch.long)
    mask = torch.zeros(len(sequences), longest, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, longest - len(sequence) :] = torch.tensor(list(sequence), dtype=torch.long)
        mask[row, longest - len(sequence) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, positions
