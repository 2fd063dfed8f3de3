"""Run once, ask anything: one forward pass kept as a ``Trace``.

``run_trace(loaded, token_ids)`` runs the model body once and keeps what every later
question needs, as TransformerLens keeps its activation cache:

- ``residual``: each decoder layer's input hidden state, ``[layer, query_pos, d_model]``
  (SmolLM2 at 2,048 tokens: 30 x 2,048 x 576 x 4 bytes = 141 MB);
- ``final``: the body's output after the final norm, ``[query_pos, d_model]``: the
  lm_head of it gives the model's logits (the logit lens's last row reads it);
- ``rotary``: the cos and sin the model's RoPE used, ``[2, query_pos, d_head]``, or None
  for models with learned positions (GPT-2 adds them to the embeddings).

``run_trace(loaded, token_ids, through_layer=L)`` stops once layer L's input is kept: a
*partial* trace (``complete`` False, no ``final``), enough for the attention of layers
0..L at L+1 layers' cost. A page shows a long text's first view from it, then runs the
whole pass. What needs every layer (the summary, the logit lens) refuses a partial one.

``run_traces(loaded, [ids, ...])`` traces several texts in one left-padded forward pass
(each row masked and given its own positions): the model's worker runs short texts that
wait at the same moment this way, since a pass over a few tokens mostly reads weights.

From a trace, any layer's exact attention is recomputed from that layer alone
(``llm_core.attention.recompute``); the logit lens reads every layer's stream. The
sdpa forward agrees with an eager one to float32 rounding (~1e-6 relative).

The forward pass uses PyTorch's fused attention (sdpa), which never materialises the
[head, T, T] weights: 5-6x faster than eager attention at 2,048 tokens. The shared model
is loaded with eager attention (the generation engine reads its weights), so
``run_trace`` switches it to sdpa only while it holds ``loaded.lock`` and switches it back
before letting go. Transformers picks the attention function at call time from
``config._attn_implementation`` (``ALL_ATTENTION_FUNCTIONS.get_interface``), and every
engine call that runs the model holds the same lock, so no other call ever sees sdpa.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.errors import InputError
from llm_core.models.anatomy import decoder_layers
from llm_core.models.kernels import fast_linears
from llm_core.models.loading import LoadedModel
from llm_core.models.padding import left_padded
from llm_core.models.threads import threads_for
from llm_core.text.tokens import check_ids_in_vocabulary

if TYPE_CHECKING:  # torch loads with the first model, not with ``import llm_core``
    import torch

# Engine limit: one layer's [head, T, T] weights (151 MB at 2,048 tokens for SmolLM2) and
# the trace itself (141 MB) grow with T; 2,048 keeps a view under ~0.5 GB.
MAX_ATTENTION_TOKENS = 2048
FUSED_ATTENTION = "sdpa"
# Traces of short texts run together (``run_traces``): rows x longest text under the
# budget (the batch's layer inputs, ~140 MB at 2,048 on SmolLM2, are held while it runs).
MAX_BATCHED_TRACE_TOKENS = 256
TRACE_BATCH_BUDGET = 2048
BATCHED_TRACE_MODEL_TYPES = ("llama", "qwen2", "gpt2")  # padding checked by the tests


@dataclass(frozen=True, eq=False)
class Trace:
    """One forward pass of one model over ``token_ids``. Arrays are float32, read-only.

    - ``residual``: [layer, query_pos, d_model], the input hidden state of each decoder
      layer (layer 0's is the embeddings, plus learned positions for GPT-2).
    - ``final``: [query_pos, d_model], after the last layer and the final norm; None in
      a *partial* trace (``complete`` False), which stopped at the input of its last
      kept layer: ``residual`` then holds layers 0..``n_layers - 1`` only.
    - ``rotary``: [2 (cos, sin), query_pos, d_head] as the model's RoPE computed them, or
      None when the model has no rotary position encoding.
    """

    token_ids: tuple[int, ...]
    model_name: str
    residual: np.ndarray  # [layer, query_pos, d_model]
    final: np.ndarray | None  # [query_pos, d_model]; None when not ``complete``
    rotary: np.ndarray | None  # [2, query_pos, d_head]
    complete: bool = True  # False: the pass stopped after ``n_layers`` layers' inputs

    def __post_init__(self) -> None:
        import torch

        # Tensors sharing the arrays' memory, made while the arrays are still writable
        # (torch refuses read-only arrays without a warning); foreign read-only arrays
        # are copied once.
        tensors = {}
        for name in ("residual", "final", "rotary"):
            array = getattr(self, name)
            if array is None:
                continue
            array = np.ascontiguousarray(array, dtype=np.float32)
            if not array.flags.writeable:
                array = array.copy()
            tensors[name] = torch.from_numpy(array)
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "_tensors", tensors)

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def n_layers(self) -> int:
        """Layers whose input is kept: all of the model's, unless the trace is partial."""
        return int(self.residual.shape[0])

    def require_complete(self, what: str) -> None:
        """``ValueError`` unless every layer (and the final stream) is kept."""
        if not self.complete:
            raise ValueError(
                f"{what} needs a complete trace; this one stops at layer {self.n_layers - 1}"
            )

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (what a cache of traces counts)."""
        arrays = (self.residual, self.final, self.rotary)
        return sum(array.nbytes for array in arrays if array is not None)

    # The arrays are float32; a model computing in another dtype (a bfloat16 variant)
    # reads them in its own: pass ``dtype=hidden_dtype(loaded)``. No copy for float32.

    def stream(self, layer: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Layer ``layer``'s input as a [1, query_pos, d_model] tensor."""
        return self._tensors["residual"][layer][None].to(dtype)

    def stream_at(self, position: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Every layer's input at one position, [layer, d_model]."""
        return self._tensors["residual"][:, position].to(dtype)

    def position_embeddings(
        self, dtype: torch.dtype | None = None
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(cos, sin), each [1, query_pos, d_head], as the attention modules receive them."""
        if self.rotary is None:
            return None
        rotary = self._tensors["rotary"].to(dtype)
        return rotary[0][None], rotary[1][None]

    def final_stream(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``final`` as a [query_pos, d_model] tensor (a complete trace only)."""
        self.require_complete("the final stream")
        return self._tensors["final"].to(dtype)


def hidden_dtype(loaded: LoadedModel) -> torch.dtype:
    """The dtype the model's hidden states have (that of its input embeddings)."""
    return loaded.model.get_input_embeddings().weight.dtype


class _EnoughLayers(Exception):
    """Raised inside the forward once a partial trace has the layers it asked for."""


def run_trace(
    loaded: LoadedModel, token_ids: Sequence[int], through_layer: int | None = None
) -> Trace:
    """Run the model body once over ``token_ids`` and keep its ``Trace``.

    ``through_layer``: stop as soon as that layer's input is kept (a partial trace,
    enough for that layer's attention and every layer before it, for a fraction of the
    pass: the first view of a long text); None or the last layer runs the whole body.

    The one model forward of the attention views: it holds ``loaded.lock`` while the model
    runs (and the attention implementation is switched, see the module doc). Raises
    ``InputError`` for empty input, unknown token ids, or inputs over the model's context
    length or ``MAX_ATTENTION_TOKENS``.
    """
    import torch

    ids = check_token_ids(loaded, token_ids)
    blocks = decoder_layers(loaded.model)
    last = len(blocks) - 1 if through_layer is None else check_layer(through_layer, len(blocks))
    kept: dict[str, Any] = {}

    def keep_input(layer: int, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs["hidden_states"]  # [1, query_pos, d_model]
        if layer == 0:
            kept["residual"] = torch.empty((last + 1, *hidden.shape[1:]))
            kept["rotary"] = kwargs.get("position_embeddings")  # (cos, sin) or None
        kept["residual"][layer] = hidden[0]  # float32 whatever the model computes in
        if layer == last < len(blocks) - 1:
            raise _EnoughLayers

    with loaded.lock, _block_inputs(blocks, keep_input):
        try:
            with (
                fused_attention(loaded.model),
                fast_linears(loaded.model, 0),
                torch.inference_mode(),
                threads_for(len(ids)),
            ):
                body = loaded.model.base_model  # no LM head: [T, vocab] logits are not needed
                output = body(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
        except _EnoughLayers:
            output = None
    rotary = kept["rotary"]
    if rotary is not None:
        rotary = torch.stack([part[0] for part in rotary]).float().numpy()  # [2, T, d_head]
    return Trace(
        token_ids=tuple(ids),
        model_name=loaded.description.name,
        residual=kept["residual"].numpy(),
        final=None if output is None else output.last_hidden_state[0].float().numpy(),
        rotary=rotary,
        complete=output is not None,
    )


def run_traces(
    loaded: LoadedModel, token_id_lists: Sequence[Sequence[int]]
) -> list[Trace | Exception]:
    """One whole ``Trace`` per list of ids (or the ``InputError`` that list gets from
    ``run_trace``), from one batched forward pass: what several sessions' texts cost
    together about what one costs alone, when they are short (a pass over a few tokens
    mostly reads the weights). Each row is left-padded, masked and given its own
    positions, so its trace equals ``run_trace`` of its ids to float32 rounding.
    Architectures whose padding this was not checked for run one ``run_trace`` each."""
    import torch

    results: list[Trace | Exception | None] = [None] * len(token_id_lists)
    valid: list[tuple[int, list[int]]] = []
    for i, token_ids in enumerate(token_id_lists):
        try:
            valid.append((i, check_token_ids(loaded, token_ids)))
        except InputError as error:
            results[i] = error
    if len(valid) <= 1 or loaded.description.model_type not in BATCHED_TRACE_MODEL_TYPES:
        for i, ids in valid:
            results[i] = run_trace(loaded, ids)
        return results
    input_ids, mask, positions = left_padded([ids for _, ids in valid])
    longest = input_ids.shape[1]
    blocks = decoder_layers(loaded.model)
    kept: dict[str, Any] = {"residual": [None] * len(blocks)}

    def keep_input(layer: int, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs["hidden_states"]  # [row, query_pos, d_model]
        kept["residual"][layer] = hidden.float().clone()
        if layer == 0:
            kept["rotary"] = kwargs.get("position_embeddings")  # (cos, sin) or None

    with (
        loaded.lock,
        _block_inputs(blocks, keep_input),
        fused_attention(loaded.model),
        fast_linears(loaded.model, 0),
        torch.inference_mode(),
        threads_for(input_ids.numel()),
    ):
        output = loaded.model.base_model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=False
        )
    layers = kept["residual"]  # per layer [row, query_pos, d_model]
    final = output.last_hidden_state.float()
    rotary = kept["rotary"]
    for row, (i, ids) in enumerate(valid):
        start = longest - len(ids)
        row_rotary = None
        if rotary is not None:
            row_rotary = torch.stack([part[row, start:] for part in rotary]).float().numpy()
        results[i] = Trace(
            token_ids=tuple(ids),
            model_name=loaded.description.name,
            residual=torch.stack([layer[row, start:] for layer in layers]).numpy(),
            final=final[row, start:].numpy().copy(),
            rotary=row_rotary,
            complete=True,
        )
    return results


def trace_batch_tokens(token_ids: Sequence[int], through_layer: int | None = None) -> int | None:
    """How many tokens a ``run_trace`` call adds to a batch of traces (``run_traces``), or
    None when it runs alone (a partial trace; a text over ``MAX_BATCHED_TRACE_TOKENS``)."""
    if through_layer is not None or len(token_ids) > MAX_BATCHED_TRACE_TOKENS:
        return None
    return len(token_ids)


@contextlib.contextmanager
def _block_inputs(
    blocks: Sequence[Any], keep: Callable[[int, tuple, dict], None]
) -> Iterator[None]:
    """While inside, each decoder block's input goes to ``keep(layer, args, kwargs)``
    before the block runs (a pre-hook per block, removed on the way out)."""
    handles = [
        block.register_forward_pre_hook(
            lambda _module, args, kwargs, layer=layer: keep(layer, args, kwargs),
            with_kwargs=True,
        )
        for layer, block in enumerate(blocks)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def fused_attention(model: torch.nn.Module) -> Iterator[None]:
    """Run ``model`` with sdpa attention inside the block, and restore its own after.

    Call it only while holding the model's lock. A model whose class cannot switch (or
    has no sdpa) keeps its implementation: the forward is then slower, never wrong.
    """
    before = model.config._attn_implementation
    with contextlib.suppress(ValueError, ImportError, KeyError):  # else: stays as it is
        model.set_attn_implementation(FUSED_ATTENTION)
    try:
        yield
    finally:
        if model.config._attn_implementation != before:
            model.set_attn_implementation(before)


def check_token_ids(loaded: LoadedModel, token_ids: Sequence[int]) -> list[int]:
    """``token_ids`` as ints, or ``InputError`` saying what is wrong with them."""
    ids = list(token_ids)
    if not ids:
        raise InputError("No tokens to look at: enter some text first.")
    vocab_size = loaded.model.get_input_embeddings().num_embeddings
    ids = check_ids_in_vocabulary(ids, vocab_size)
    context = loaded.description.context_length
    if context and len(ids) > context:
        raise InputError(
            f"The input has {len(ids)} tokens but {loaded.description.name} reads at most "
            f"{context} (its context length). Shorten the text."
        )
    if len(ids) > MAX_ATTENTION_TOKENS:
        raise InputError(
            f"The input has {len(ids)} tokens; attention is shown for at most "
            f"{MAX_ATTENTION_TOKENS} tokens (MAX_ATTENTION_TOKENS) to bound memory. "
            "Shorten the text."
        )
    return ids


def check_layer(layer: int, n_layers: int) -> int:
    """``layer`` as an int, or ``InputError`` naming the layers there are."""
    return _check_index(layer, n_layers, "layer")


def check_head(head: int, n_heads: int) -> int:
    """``head`` as an int, or ``InputError`` naming the heads there are."""
    return _check_index(head, n_heads, "head")


def _check_index(value: int, count: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"A {name} is a whole number; got {value!r}.")
    if not 0 <= value < count:
        raise InputError(f"No {name} {value}: this model has {name}s 0-{count - 1}.")
    return int(value)
