"""The logit lens: what the model would predict if it stopped after each layer.

For one position, each layer's residual stream (read from the ``Trace`` of one forward
pass, ``llm_core.attention.trace``) goes through the final norm and the unembedding
(``lm_head``), giving a next-token distribution per layer. Row 0 reads the embeddings, row i the stream after block i - 1,
and the last row (after the last block) is the model's own next-token distribution.

Transformers already applies the final norm to the last ``hidden_states`` entry (Llama,
Qwen2, GPT-2 alike), so that row is not normed again: it is taken from the model's own
logits, and the last row equals the model's prediction exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from llm_core.attention.trace import hidden_dtype, run_trace
from llm_core.errors import InputError
from llm_core.generation.perplexity import encode_text
from llm_core.models.anatomy import final_norm
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

MAX_LENS_TOKENS = 2048
MAX_LENS_K = 50


@dataclass(frozen=True, eq=False)
class LogitLens:
    """Top-k next-token predictions at ``position`` read from every layer.

    The ``layer`` axis has ``n_layers + 1`` rows: 0 = embeddings, i = after block i - 1.
    - ``top_ids``: [layer, rank] int64; ``top_probs``: [layer, rank] float32, most
      likely first; ``top_tokens``: the same ids decoded, [layer][rank].
    - ``entropy``: [layer] float32, nats.
    - ``final_token_probs``: [layer] float32, the probability each layer gives to the
      model's own top prediction (``top_ids[-1, 0]``).
    """

    token_ids: tuple[int, ...]
    position: int  # the query position read, 0-based
    top_ids: np.ndarray  # [layer, rank]
    top_probs: np.ndarray  # [layer, rank]
    top_tokens: tuple[tuple[str, ...], ...]  # [layer][rank]
    entropy: np.ndarray  # [layer]
    final_token_probs: np.ndarray  # [layer]

    @property
    def n_layers(self) -> int:
        """Blocks of the model (rows are ``n_layers + 1``)."""
        return self.top_ids.shape[0] - 1


def lens_distributions(loaded: LoadedModel, ids: Sequence[int], position: int) -> torch.Tensor:
    """[layer, d_vocab] float32 probabilities at ``position`` (see module doc), read from
    the ``Trace`` of one forward pass: row i normed and unembedded from layer i's input,
    the last row from the body's output (already normed), as the model's own logits are."""
    import torch

    model = loaded.model
    trace = run_trace(loaded, ids)
    dtype = hidden_dtype(loaded)
    with torch.inference_mode():
        streams = trace.stream_at(position, dtype)  # [layer, d_model]
        unembed = model.get_output_embeddings()
        logits = unembed(final_norm(model)(streams))  # [layer, d_vocab]
        own = unembed(trace.final_stream(dtype)[position : position + 1])  # [1, d_vocab]
        logits = torch.cat([logits, own]).float()
    return logits.softmax(-1)


def logit_lens(
    loaded: LoadedModel, text_or_ids: str | Sequence[int], position: int = -1, k: int = 10
) -> LogitLens:
    """The logit lens at ``position`` (negative counts from the end) of a text or ids."""
    import torch

    ids = encode_text(loaded, text_or_ids, MAX_LENS_TOKENS)
    if not ids:
        raise InputError("No tokens to read: type some text first.")
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise InputError(f"position must be a whole number; got {position!r}.")
    if not -len(ids) <= position < len(ids):
        raise InputError(f"No position {position}: the text has positions 0-{len(ids) - 1}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_LENS_K:
        raise InputError(f"k must be a whole number from 1 to {MAX_LENS_K}; got {k!r}.")
    position = int(position) % len(ids)
    probs = lens_distributions(loaded, ids, position)  # [layer, d_vocab]
    top_probs, top_ids = torch.topk(probs, min(int(k), probs.shape[-1]), dim=-1)
    logs = torch.where(probs > 0, probs.log(), torch.zeros_like(probs))
    entropy = -(probs * logs).sum(-1)  # [layer]
    final_token = int(top_ids[-1, 0])
    decode = loaded.tokenizer.decode
    return LogitLens(
        token_ids=tuple(ids),
        position=position,
        top_ids=_frozen(top_ids.numpy().astype(np.int64)),
        top_probs=_frozen(top_probs.numpy()),
        top_tokens=tuple(tuple(decode([t]) for t in row) for row in top_ids.tolist()),
        entropy=_frozen(entropy.numpy()),
        final_token_probs=_frozen(probs[:, final_token].numpy().copy()),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
