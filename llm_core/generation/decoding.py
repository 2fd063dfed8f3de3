"""The decoding loops: one token at a time over the model's KV cache, every step observed.

``KVDecoder`` feeds tokens to the model and keeps its own ``DynamicCache``, so several
generations can share one loaded model: each forward call holds ``loaded.lock`` for that
call only, and other sessions' calls interleave between steps. While the lock is held,
forward hooks on the attention modules copy out the attention row of the last query
(the token just fed in) over the whole cached context; they are removed before the lock
is released, so no other call ever sees them.

``sample_sequence`` runs greedy decoding or sampling and yields a ``GenerationStep`` per
token. ``beam_search`` keeps ``num_beams`` hypotheses ranked by their summed log
probability; a hypothesis ends at EOS or a stop string (only when it is among the
``num_beams`` best candidates, as in Hugging Face) and is then scored by its
length-normalised log probability (sum / number of generated tokens, Hugging Face's
``length_penalty=1``). The search stops once ``num_beams`` hypotheses have ended
(``early_stopping=True``) or at ``max_new_tokens``, when the live beams end with
"length". Log probabilities are those of the repetition-penalised distribution.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from llm_core.errors import UnsupportedModelError
from llm_core.generation.choosing import Chooser, choose_tokens
from llm_core.generation.sampling import (
    GenerationSettings,
    GenerationStep,
    entropy,
    penalise_repetition,
    rank_of,
    token_probs,
)
from llm_core.models.anatomy import attention_modules
from llm_core.models.kernels import fast_linears
from llm_core.models.loading import LoadedModel
from llm_core.text.pieces import PieceDecoder, VocabularyText, token_pieces

if TYPE_CHECKING:  # torch loads lazily: ``import llm_core`` stays fast without it
    import torch

StopCheck = Callable[[], bool]


@contextlib.contextmanager
def last_query_attention(modules: Sequence[Any]) -> Iterator[list[torch.Tensor]]:
    """While inside, forward hooks on the attention ``modules`` fill the yielded list:
    entry ``layer`` becomes [batch, head, key_pos] float32, the attention of the last
    query position over every key. Hooks are removed on leaving (hold the model's lock
    while inside, so no other call sees them)."""
    rows: list[Any] = [None] * len(modules)

    def keep_last_row(layer: int, output: Any) -> None:
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if weights is None:
            raise UnsupportedModelError(
                "The attention modules returned no weights. Load the model with "
                "llm_core.load_model, which uses attn_implementation='eager'."
            )
        rows[layer] = weights[:, :, -1, :].float().clone()  # [batch, head, key_pos]

    handles = [
        module.register_forward_hook(
            lambda _m, _a, output, layer=layer: keep_last_row(layer, output)
        )
        for layer, module in enumerate(modules)
    ]
    try:
        yield rows
    finally:
        for handle in handles:
            handle.remove()


class KVDecoder:
    """Feeds tokens to a model step by step over its own KV cache.

    ``feed`` returns the next-token logits of each batch row; with ``capture_attention``
    it leaves ``attention``: [batch, layer, head, key_pos] float32, the attention of the
    last fed position over every cached position (key_pos = context length).
    """

    def __init__(self, loaded: LoadedModel, capture_attention: bool = False) -> None:
        self.loaded = loaded
        self.cache: Any = None  # transformers DynamicCache, created by the first call
        n_layers = loaded.description.n_layers
        self.modules = attention_modules(loaded.model, n_layers) if capture_attention else []
        self.attention: np.ndarray | None = None  # [batch, layer, head, key_pos]

    def feed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``input_ids``: [batch, new_tokens] long -> logits [batch, d_vocab] float32."""
        import torch

        with self.loaded.lock, torch.inference_mode():
            with (
                last_query_attention(self.modules) as rows,
                fast_linears(self.loaded.model, input_ids.shape[0]),
            ):
                output = self.loaded.model(
                    input_ids=input_ids,
                    cache=self.cache,
                    use_cache=True,
                    logits_to_keep=1,  # only the last position's [d_vocab] logits
                )
            if self.modules:
                self.attention = torch.stack(rows, dim=1).numpy()  # [batch, layer, head, key]
        self.cache = output.cache
        return output.logits[:, -1, :].float()

    def reorder(self, parents: Sequence[int]) -> None:
        """Keep cache rows ``parents`` (beam search): row i becomes old row parents[i]."""
        import torch

        with torch.inference_mode():
            self.cache.reorder_cache(torch.tensor(list(parents), dtype=torch.long))


def eos_ids(loaded: LoadedModel) -> frozenset[int]:
    """Token ids that end a sequence: the generation config's, else the tokenizer's."""
    value = getattr(getattr(loaded.model, "generation_config", None), "eos_token_id", None)
    if value is None:
        value = loaded.tokenizer.eos_token_id
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, int) else (int(v) for v in value))


def decode_generated(tokenizer: Any, token_ids: Sequence[int]) -> str:
    """Generated text as shown to a person: special tokens (EOS) left out."""
    return tokenizer.decode(list(token_ids), skip_special_tokens=True)


def _hits_stop(text: str, stops: Sequence[str]) -> bool:
    return any(stop in text for stop in stops)


# ---------------------------------------------------------------------------- greedy, sampling


def sample_sequence(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    settings: GenerationSettings,
    seed: int,
    sequence: int = 0,
    should_stop: StopCheck | None = None,
) -> Iterator[GenerationStep]:
    """Greedy decoding or sampling (by ``settings.strategy``): one step per token.

    The last step yielded carries the ``finish_reason``; when ``should_stop()`` turns
    true (checked before each forward call) the generator simply ends, and the last step
    it yielded has no finish reason (the sequence was cancelled).
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    decoder = KVDecoder(loaded, settings.capture_attention)
    context = [int(t) for t in prompt_ids]
    n_prompt, ends = len(context), eos_ids(loaded)
    texts, pieces = VocabularyText(loaded.tokenizer), PieceDecoder(loaded.tokenizer, context)
    for index in range(settings.max_new_tokens):
        if should_stop is not None and should_stop():
            return
        with torch.inference_mode():
            fed = context if index == 0 else context[-1:]
            logits = decoder.feed(torch.tensor([fed], dtype=torch.long))  # [1, d_vocab]
            attention = decoder.attention[0] if decoder.attention is not None else None
            chooser = Chooser(context, settings, generator, sequence, index, pieces, attention)
            (step,) = choose_tokens(texts, logits, [chooser])
        context.append(step.token_id)
        reason = finish_reason_of(loaded, context[n_prompt:], settings, ends)
        yield dataclasses.replace(step, finish_reason=reason) if reason else step
        if reason:
            return


def finish_reason_of(
    loaded: LoadedModel, generated: list[int], settings: GenerationSettings, ends: frozenset[int]
) -> str | None:
    """Why a sequence of ``generated`` ids ends here ("eos", "stop_string", "length"), or
    None while it goes on."""
    if settings.stop_at_eos and generated[-1] in ends:
        return "eos"
    if settings.stop_strings and _hits_stop(
        decode_generated(loaded.tokenizer, generated), settings.stop_strings
    ):
        return "stop_string"
    if len(generated) >= settings.max_new_tokens:
        return "length"
    return None


# ---------------------------------------------------------------------------- beam search


class _BeamStep(NamedTuple):
    """What a beam records per step; decoded into a ``GenerationStep`` only if returned."""

    token_id: int
    prob: float
    rank: int
    top_ids: list[int]
    top_probs: list[float]
    entropy: float


class Hypothesis(NamedTuple):
    """A finished beam: generated ids, one record per step, how it ended, its score."""

    token_ids: tuple[int, ...]
    steps: tuple[GenerationStep, ...]
    finish_reason: str
    score: float  # summed log probability / number of generated tokens


def beam_search(
    loaded: LoadedModel,
    prompt_ids: Sequence[int],
    settings: GenerationSettings,
    should_stop: StopCheck | None = None,
) -> list[Hypothesis]:
    """The ``settings.num_return_sequences`` best hypotheses, best first (see module doc).

    On cancellation the live beams are returned with ``finish_reason="cancelled"``.
    """
    import torch

    n_beams, ends, prompt = settings.num_beams, eos_ids(loaded), [int(t) for t in prompt_ids]
    decoder = KVDecoder(loaded)
    beams: list[tuple[list[int], list[_BeamStep], float]] = [([], [], 0.0)]  # ids, steps, sum
    finished: list[tuple[float, list[int], list[_BeamStep], str]] = []
    live_reason = "length"
    for index in range(settings.max_new_tokens):
        if should_stop is not None and should_stop():
            live_reason = "cancelled"
            break
        with torch.inference_mode():
            fed = [prompt] if index == 0 else [ids[-1:] for ids, _, _ in beams]
            logits = decoder.feed(torch.tensor(fed, dtype=torch.long))  # [beam, d_vocab]
            context = torch.tensor([prompt + ids for ids, _, _ in beams])  # [beam, context]
            log_probs = penalise_repetition(logits, context, settings.repetition_penalty)
            log_probs = log_probs.log_softmax(-1)  # [beam, d_vocab]
            probs = log_probs.exp()
            entropies = entropy(probs).tolist()  # [beam]
            top_probs, top_ids = torch.topk(
                probs, min(settings.n_alternatives, probs.shape[-1]), dim=-1
            )
            sums = torch.tensor([total for _, _, total in beams])[:, None] + log_probs
            scores, flat = torch.topk(sums.flatten(), min(2 * n_beams, sums.numel()))  # [2 * beam]
        next_beams, parents = [], []
        for position, (score, where) in enumerate(zip(scores.tolist(), flat.tolist(), strict=True)):
            parent, token = divmod(where, probs.shape[-1])
            ids, steps, _ = beams[parent]
            record = _BeamStep(
                token,
                float(probs[parent, token]),
                rank_of(probs[parent], token),
                top_ids[parent].tolist(),
                top_probs[parent].tolist(),
                entropies[parent],
            )
            new_ids, new_steps = [*ids, token], [*steps, record]
            reason = finish_reason_of(loaded, new_ids, settings, ends)
            if reason in ("eos", "stop_string"):
                if position < n_beams:
                    finished.append((score / len(new_ids), new_ids, new_steps, reason))
                continue
            next_beams.append((new_ids, new_steps, score))
            parents.append(parent)
            if len(next_beams) == n_beams:
                break
        beams = next_beams
        if len(finished) >= n_beams or not beams or index == settings.max_new_tokens - 1:
            break
        decoder.reorder(parents)
    finished += [(total / max(len(ids), 1), ids, steps, live_reason) for ids, steps, total in beams]
    finished.sort(key=lambda item: -item[0])
    return [
        _hypothesis(loaded, prompt, rank, *item, settings)
        for rank, item in enumerate(finished[: settings.num_return_sequences])
    ]


def _hypothesis(
    loaded: LoadedModel,
    prompt: list[int],
    sequence: int,
    score: float,
    ids: list[int],
    records: list[_BeamStep],
    reason: str,
    settings: GenerationSettings,
) -> Hypothesis:
    tokenizer, steps = loaded.tokenizer, []
    pieces = token_pieces(tokenizer, ids, prompt[-1:])
    for index, record in enumerate(records):
        top = token_probs(tokenizer, record.top_ids, record.top_probs)
        steps.append(
            GenerationStep(
                sequence=sequence,
                index=index,
                token_id=record.token_id,
                token_text=tokenizer.decode([record.token_id]),
                prob=record.prob,
                rank=record.rank,
                top_before=top,
                entropy=record.entropy,
                prob_after=record.prob,
                top_after=top,
                entropy_after=record.entropy,
                finish_reason=reason
                if index == len(records) - 1 and reason != "cancelled"
                else None,
                piece=pieces[index],
            )
        )
    return Hypothesis(tuple(ids), tuple(steps), reason, float(score))
