"""Continuous batching: many sequences decoded in one forward pass, each as if alone.

Rows share one KV cache, left-padded: ``mask`` [row, column] is 1 where a column holds
one of that row's tokens and 0 where it is padding. Each decode step feeds every row's
last token in one forward pass with a 2-D attention mask over the past and new columns
and per-row ``position_ids`` (how many tokens the row has before this one). In
transformers the causal mask is built on columns (the cache length is the query offset)
and positions only feed RoPE or the position embeddings, so each row gets the positions
it has alone; eager attention adds the dtype's minimum to masked keys before the softmax,
so padding gets weight exactly 0 and each row's attention over its own keys, its
logits and its probabilities are those of the row alone (up to float rounding, ~1e-6).

Joining: new sequences are prefilled together (left-padded the same way, in groups of
similar lengths: ``prefill_groups``); their cache is padded on the left to the batch's
length (or the batch's to theirs) and concatenated along the row axis. Leaving: rows
are dropped with an index, and columns no row uses any more (padding only) are cut from
the left, so the cache stays as long as its longest row. Between joins and leaves, each
step writes its keys and values into room kept at the cache's end (``_roomy``). Every
row keeps its own settings, ``torch.Generator`` and piece decoder, and its steps are
made by the same ``choose_tokens`` as a generation alone.

Only models whose cache is a plain ``DynamicCache`` of full-attention layers (Llama,
Qwen2 without a sliding window, GPT-2) are batched (``can_batch``); others run alone.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_core.generation.choosing import Chooser, choose_tokens
from llm_core.generation.decoding import eos_ids, finish_reason_of, last_query_attention
from llm_core.generation.sampling import GenerationSettings, GenerationStep
from llm_core.models.anatomy import attention_modules
from llm_core.models.decode_step import can_step_lean, lean_decode_step
from llm_core.models.kernels import fast_linears
from llm_core.models.loading import LoadedModel
from llm_core.models.padding import left_padded
from llm_core.models.threads import one_thread, threads_for
from llm_core.text.pieces import PieceDecoder, VocabularyText

if TYPE_CHECKING:  # torch loads lazily: ``import llm_core`` stays fast without it
    import torch
    from transformers import DynamicCache

MAX_BATCH_ROWS = 32  # sequences decoded together; more wait for a row to free
# Tokens prefilled in one forward pass (rows x longest prompt): bounds the [row, head,
# query, key] attention weights of a join, ~150 MB per layer at 4,096 on SmolLM2.
MAX_PREFILL_TOKENS = 4096
# A prefill pass's fixed cost in tokens (its weights read once): measured ~75 ms for one
# row against ~2 ms per prompt token in a 30-row pass, on two cores.
PREFILL_OVERHEAD_TOKENS = 32


@dataclass(eq=False)
class Row:
    """One sequence being generated: its request (``owner``, any object the caller
    wants back), settings, own sampling generator, tokens so far, piece decoder."""

    owner: Any
    settings: GenerationSettings
    sequence: int
    context: list[int]
    n_prompt: int
    generator: torch.Generator  # seeded once, this row's own
    pieces: PieceDecoder
    index: int = 0  # steps made so far
    done: bool = False

    @property
    def generated(self) -> list[int]:
        return self.context[self.n_prompt :]


def can_batch(loaded: LoadedModel) -> bool:
    """True when the model's cache is plain full-attention ``DynamicLayer``s (see module doc)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        layers = DynamicCache(config=loaded.model.config).layers
    except Exception:  # a config transformers cannot lay a cache out for
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def new_row(
    loaded: LoadedModel,
    owner: Any,
    prompt_ids: Sequence[int],
    settings: GenerationSettings,
    sequence: int,
    seed: int,
) -> Row:
    import torch

    context = [int(t) for t in prompt_ids]
    generator = torch.Generator().manual_seed(seed)
    pieces = PieceDecoder(loaded.tokenizer, context)
    return Row(owner, settings, sequence, context, len(context), generator, pieces)


class DecodeBatch:
    """The rows decoding together over one left-padded KV cache (see module doc).

    Call every method with ``loaded.lock`` held: each one runs the model or its tokenizer.
    ``join`` and ``step`` return one ``(row, step)`` per row, where ``step`` is the
    ``GenerationStep`` made (with its finish reason) or the exception that failed that
    row alone; the caller then ``drop``s finished rows.
    """

    def __init__(self, loaded: LoadedModel, texts: VocabularyText | None = None) -> None:
        self.loaded = loaded
        self.rows: list[Row] = []
        self.cache: DynamicCache | None = None  # keys/values [row, kv_head, column, head_dim]
        self.mask: torch.Tensor | None = None  # [row, column] long: 1 = a token, 0 = padding
        self.texts = texts or VocabularyText(loaded.tokenizer)  # lone-token decodes, kept
        self.ends = eos_ids(loaded)
        self.modules = attention_modules(loaded.model, loaded.description.n_layers)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_columns(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[1])

    # ------------------------------------------------------------------ joining

    def join(self, rows: Sequence[Row]) -> list[tuple[Row, GenerationStep | Exception]]:
        """Prefill ``rows`` (left-padded, in groups of similar lengths: see
        ``prefill_groups``), take each one's first token, and add them to the batch. All
        or nothing: if a pass raises, the rows earlier passes added leave before it
        propagates (a caller retries with new rows: these took their first token)."""
        results, joined = [], []
        lengths = [len(row.context) for row in rows]
        try:
            for group in prefill_groups(lengths, PREFILL_OVERHEAD_TOKENS):
                members = [rows[i] for i in group]
                results += self._join_group(members)
                joined += members
        except BaseException:
            self.drop(joined)
            raise
        return results

    def _join_group(self, rows: Sequence[Row]) -> list[tuple[Row, GenerationStep | Exception]]:
        ids, mask, positions = left_padded([row.context for row in rows])  # [row, column]
        logits, attention, cache = self._forward(rows, ids, mask, positions, None)
        results = self._choose(rows, logits, attention, mask)
        self._merge(rows, cache, mask)
        return results

    def _merge(self, rows: Sequence[Row], cache: DynamicCache, mask: torch.Tensor) -> None:
        """Add prefilled rows (their ``cache`` and [row, column] ``mask``) to the batch."""
        import torch

        if self.cache is None:
            self.rows, self.cache, self.mask = list(rows), cache, mask
            return
        n_rows, n_columns = len(self.rows), self.n_columns
        width = max(n_columns, mask.shape[1])
        try:  # layer by layer: the old and new caches never coexist whole (~100 MB at 30 rows)
            for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
                mine.keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)])
                mine.values = torch.cat(
                    [_pad_left(mine.values, width), _pad_left(theirs.values, width)]
                )
            self.mask = torch.cat([_pad_left(self.mask, width), _pad_left(mask, width)])
        except BaseException:  # out of memory midway: the layers merged so far go back
            for layer in self.cache.layers:
                if layer.keys.shape[0] != n_rows:
                    layer.keys = layer.keys[:n_rows, :, width - n_columns :, :]
                if layer.values.shape[0] != n_rows:
                    layer.values = layer.values[:n_rows, :, width - n_columns :, :]
            raise
        self.rows += list(rows)

    # ------------------------------------------------------------------ decoding

    def step(self, all_threads: bool = False) -> list[tuple[Row, GenerationStep | Exception]]:
        """One decode step of every row: feed its last token, choose its next. On one
        thread unless ``all_threads`` (then ``threads_for`` its rows): the worker passes
        it unless the app asked for one (``steps_on_one_thread``)."""
        import torch

        _give_room(self.cache)
        ids = torch.tensor([[row.context[-1]] for row in self.rows], dtype=torch.long)
        positions = self.mask.sum(-1, keepdim=True)  # [row, 1]: tokens before the new one
        mask = torch.cat([self.mask, torch.ones(len(self.rows), 1, dtype=torch.long)], dim=1)
        with threads_for(len(self.rows)) if all_threads else one_thread():
            logits, attention, self.cache = self._forward(
                self.rows, ids, mask, positions, self.cache
            )
            self.mask = mask
            return self._choose(self.rows, logits, attention, mask)

    def _forward(
        self,
        rows: Sequence[Row],
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: DynamicCache | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, DynamicCache]:
        """One forward pass -> (logits [row, d_vocab], attention [row, layer, head,
        column] of the last position or None, the cache)."""
        import torch

        capture = any(row.settings.capture_attention for row in rows)
        model = self.loaded.model
        if cache is not None and ids.shape[1] == 1 and can_step_lean(model):
            with torch.inference_mode():
                logits, attention = lean_decode_step(
                    model, ids[:, 0], positions[:, 0], mask, cache, capture
                )
            return logits.float(), attention, cache
        with (
            torch.inference_mode(),
            last_query_attention(self.modules if capture else []) as kept,
            fast_linears(model, len(rows)),
            threads_for(ids.numel()),
        ):
            output = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            attention = torch.stack(kept, dim=1) if capture else None
        return output.logits[:, -1, :].float(), attention, output.cache

    def _choose(
        self,
        rows: Sequence[Row],
        logits: torch.Tensor,
        attention: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> list[tuple[Row, GenerationStep | Exception]]:
        import torch

        # numpy from here: each torch call from Python gives up the GIL (see
        # llm_core.models.decode_layers), two per row here at 30 rows was 60 more
        attention = attention.numpy() if attention is not None else None
        own = mask.numpy().astype(bool)  # [row, column]: this row's own keys
        choosers = []
        for i, row in enumerate(rows):
            kept = None
            if attention is not None and row.settings.capture_attention:
                kept = attention[i][:, :, own[i]]  # [layer, head, key_pos], a copy
            choosers.append(
                Chooser(row.context, row.settings, row.generator, row.sequence, row.index,
                        row.pieces, kept)
            )  # fmt: skip
        try:
            with torch.inference_mode():
                made: list[GenerationStep | Exception] = list(
                    choose_tokens(self.texts, logits, choosers)
                )
        except Exception:  # find the row at fault: it fails alone, the others go on
            made = [self._choose_alone(logits[i : i + 1], c) for i, c in enumerate(choosers)]
        results: list[tuple[Row, GenerationStep | Exception]] = []
        for row, step in zip(rows, made, strict=True):
            if not isinstance(step, Exception):
                step = self._advance(row, step)
            else:
                row.done = True
            results.append((row, step))
        return results

    def _choose_alone(self, logits: torch.Tensor, chooser: Chooser) -> GenerationStep | Exception:
        import torch

        try:
            with torch.inference_mode():
                return choose_tokens(self.texts, logits, [chooser])[0]
        except Exception as error:
            return error

    def _advance(self, row: Row, step: GenerationStep) -> GenerationStep | Exception:
        """Append the chosen token to the row; the step with its finish reason, if any."""
        try:
            row.context.append(step.token_id)
            row.index += 1
            reason = finish_reason_of(self.loaded, row.generated, row.settings, self.ends)
        except Exception as error:
            row.done = True
            return error
        if reason:
            row.done = True
            return dataclasses.replace(step, finish_reason=reason)
        return step

    # ------------------------------------------------------------------ leaving

    def drop(self, leaving: Sequence[Row]) -> None:
        """Remove ``leaving`` rows, then the columns no remaining row uses."""
        import torch

        gone = {id(row) for row in leaving}
        keep = [i for i, row in enumerate(self.rows) if id(row) not in gone]
        if len(keep) == len(self.rows):
            return
        if not keep:
            self.rows, self.cache, self.mask = [], None, None
            return
        index = torch.tensor(keep, dtype=torch.long)
        self.rows = [self.rows[i] for i in keep]
        self.mask = self.mask[index]
        first = int(self.mask.any(0).to(torch.long).argmax())  # first column still used
        self.mask = self.mask[:, first:]
        for layer in self.cache.layers:
            layer.keys = layer.keys[index, :, first:, :]
            layer.values = layer.values[index, :, first:, :]


ROOM_COLUMNS = 32  # columns of room a decode cache is given when it must grow


def _give_room(cache: DynamicCache) -> None:
    """Make each layer of ``cache`` a roomy one (see ``_roomy``), keeping its keys and values."""
    roomy = _roomy()
    for i, layer in enumerate(cache.layers):
        if not isinstance(layer, roomy):
            cache.layers[i] = roomy.taking(layer)


@functools.cache
def _roomy() -> type:
    """The ``DynamicLayer`` with room to grow (built on first use: no torch at import)."""
    from transformers.cache_utils import DynamicLayer

    class RoomyLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys and values are views of buffers with room for
        ``ROOM_COLUMNS`` more columns: a decode step writes its column in place, where
        ``DynamicLayer`` copies the whole cache into a new tensor every step (~60 MB a
        step for 30 rows of SmolLM2: time, and a heap of freed blocks of growing sizes).
        Keys and values set from outside (a join, a drop) release the buffers and are
        copied into new ones at the next update. Same values, so the same attention and
        logits."""

        buffers: tuple[torch.Tensor, torch.Tensor] | None = None
        views: tuple[torch.Tensor, torch.Tensor] | None = None

        @classmethod
        def taking(cls, layer: DynamicLayer) -> RoomyLayer:
            roomy = cls()
            roomy.__dict__.update(vars(layer))
            return roomy

        def __setattr__(self, name: str, value: Any) -> None:
            # Keys or values set from outside (a drop, a join) let go of the buffers at
            # once: held until the next update, every layer's old buffers stayed beside
            # the new tensors (~130 MB more at 30 rows of SmolLM2 after each drop).
            views = self.__dict__.get("views") if name in ("keys", "values") else None
            if views is not None and value is not views[0 if name == "keys" else 1]:
                self.__dict__["buffers"] = self.__dict__["views"] = None
            super().__setattr__(name, value)

        def update(
            self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
        ) -> tuple[torch.Tensor, torch.Tensor]:
            if not self.is_initialized:
                return super().update(key_states, value_states, *args, **kwargs)
            new = key_states.shape[-2]
            keys, values, used = self.room(new)
            keys[..., used : used + new, :] = key_states
            values[..., used : used + new, :] = value_states
            self.filled(keys[..., : used + new, :], values[..., : used + new, :])
            return self.keys, self.values

        def room(self, new: int) -> tuple[torch.Tensor, torch.Tensor, int]:
            """(keys buffer, values buffer, columns used): buffers [row, kv_head, column,
            d_head] with room for ``new`` more columns after the used ones, for a caller
            that writes them itself (``llm_core.models.decode_step``), then ``filled``."""
            import torch

            used = self.keys.shape[-2]
            if self.views is None:  # new, or set from outside (see __setattr__)
                self.buffers = None  # copied into new buffers below
            if self.buffers is None or self.buffers[0].shape[-2] < used + new:
                shape = list(self.keys.shape)
                shape[-2] = used + new + ROOM_COLUMNS
                buffers = tuple(torch.empty(shape, dtype=self.keys.dtype) for _ in range(2))
                buffers[0][..., :used, :] = self.keys
                buffers[1][..., :used, :] = self.values
                self.buffers = buffers
            return self.buffers[0], self.buffers[1], used

        def filled(self, keys: torch.Tensor, values: torch.Tensor) -> None:
            """``keys`` and ``values``, views of the first columns of the buffers (those
            written), are this layer's now."""
            self.__dict__.update(keys=keys, values=values, views=(keys, values))  # not "outside"

    return RoomyLayer


def prefill_groups(
    lengths: Sequence[int], overhead: int = PREFILL_OVERHEAD_TOKENS
) -> list[list[int]]:
    """Indices of prompts to prefill together, each group in one forward pass.

    A pass costs about ``overhead`` tokens' worth (reading every weight) plus its rows x
    its longest prompt (shorter rows are padded to it). Prompts sorted by length are cut
    into the runs of least total cost (dynamic programming over the cut points), so 30
    prompts of 7 to 34 tokens do not all pad to 34 (1,020 tokens computed for 508 real
    ones) and 30 of similar lengths still share one pass.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best = [0.0] + [float("inf")] * len(order)  # best[j]: cost of the first j prompts
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        for start in range(end):
            cost = best[start] + overhead + (end - start) * longest
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], len(order)
    while end:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


def _pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zeros on the left of the column axis (dim 2 of keys/values, dim 1 of a mask)."""
    import torch

    axis = 2 if tensor.dim() == 4 else 1
    missing = width - tensor.shape[axis]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[axis] = missing
    return torch.cat([torch.zeros(shape, dtype=tensor.dtype), tensor], dim=axis)
