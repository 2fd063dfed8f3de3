"""What the Generation page keeps between runs, and how it runs the model.

A generation streams: each ``GenerationStep`` is appended to a ``LiveRun`` kept in session
state and the chips are redrawn in a placeholder, so tokens appear as they are produced.
Stop (or any other click) makes Streamlit rerun the script: the running script is
interrupted at its next placeholder update, and the next run finds the ``LiveRun`` left
behind and finishes it as a stopped ``ShownRun``. No thread, no exception box.

Finished runs live in session state, so choosing a step, a layer or a head only redraws
from the recorded steps; the model runs again only on Generate, Compare or a new
step-through token (whose distributions are cached per context).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from llm_core.generation.decoding import decode_generated
from llm_core.generation.generate import (
    StepDistribution,
    build_prompt_ids,
    check_prompt_ids,
    iter_generate,
    next_token_distribution,
)
from llm_core.generation.sampling import GenerationSettings, GenerationStep
from llm_core.models.loading import LoadedModel
from ui.generation_chips import Chip, PieceDecoder, chips_html, fragment_labels, token_pieces
from ui.model_loader import _load_cached

RUN_KEY = "gen_run"
LIVE_KEY = "gen_live"
COMPARE_KEY = "gen_compare"
COMPARE_LIVE_KEY = "gen_compare_live"
WALK_KEY = "gen_walk"
CACHE_TTL_S = 3600
MAX_CACHED_DISTRIBUTIONS = 32  # two [d_vocab] float32 arrays each: ~0.4 MB for SmolLM2


@dataclass(frozen=True)
class Request:
    """What to generate from: the model, the prompt as typed and as ids, the settings."""

    spec: str
    prompt: str
    chat: bool
    system: str
    prompt_ids: tuple[int, ...]
    settings: GenerationSettings


@dataclass(frozen=True, eq=False)
class ShownSequence:
    """One generated continuation as drawn: ``pieces[i]`` is the text step i completes
    ("" for a byte fragment), ``labels[i]`` what its chip shows."""

    steps: tuple[GenerationStep, ...]
    pieces: tuple[str, ...]
    labels: tuple[str, ...]
    text: str
    finish_reason: str  # "length", "eos", "stop_string" or "cancelled"

    @property
    def token_ids(self) -> list[int]:
        return [step.token_id for step in self.steps]


@dataclass(frozen=True, eq=False)
class ShownRun:
    """A finished (or stopped) generation and the labels of its prompt tokens."""

    request: Request
    prompt_pieces: tuple[str, ...]  # "" for a byte fragment (see ShownSequence)
    prompt_labels: tuple[str, ...]
    sequences: tuple[ShownSequence, ...]
    stopped: bool

    def context_labels(self, sequence: int, index: int) -> list[str]:
        """Labels of the keys step ``index`` attended to: the prompt, then the tokens
        generated before it."""
        return [*self.prompt_labels, *self.sequences[sequence].labels[:index]]


@dataclass
class LiveRun:
    """A generation in progress: filled step by step, finished by ``finish_run``."""

    request: Request
    steps: list[GenerationStep] = field(default_factory=list)


def make_request(
    loaded: LoadedModel, spec: str, prompt: str, chat: bool, system: str, settings
) -> Request:
    """Validate everything before the model runs; raises ``InputError`` with a message."""
    settings = settings.validate()
    with loaded.lock:  # fast tokenizers are not safe to call from several threads at once
        ids = build_prompt_ids(loaded.tokenizer, prompt, chat=chat, system=system or None)
    ids = check_prompt_ids(loaded, ids, settings)
    return Request(spec, prompt, chat, system, tuple(ids), settings)


def finish_run(loaded: LoadedModel, live: LiveRun, stopped: bool) -> ShownRun:
    """Group the steps by sequence and decode their pieces."""
    tokenizer, prompt_ids = loaded.tokenizer, list(live.request.prompt_ids)
    by_sequence: dict[int, list[GenerationStep]] = {}
    for step in live.steps:
        by_sequence.setdefault(step.sequence, []).append(step)
    sequences = []
    for number in sorted(by_sequence):
        steps = by_sequence[number]
        ids = [step.token_id for step in steps]
        pieces = token_pieces(tokenizer, ids, prompt_ids[-1:])
        reason = steps[-1].finish_reason or "cancelled"
        text = decode_generated(tokenizer, ids)
        labels = tuple(fragment_labels(pieces))
        sequences.append(ShownSequence(tuple(steps), tuple(pieces), labels, text, reason))
    prompt_pieces = tuple(token_pieces(tokenizer, prompt_ids))
    prompt_labels = tuple(fragment_labels(prompt_pieces))
    return ShownRun(live.request, prompt_pieces, prompt_labels, tuple(sequences), stopped)


def recover_interrupted() -> None:
    """A generation interrupted by Stop (or any click) is shown as stopped, with the steps
    it produced; an interrupted comparison is dropped (Compare runs it again)."""
    st.session_state.pop(COMPARE_LIVE_KEY, None)
    live = st.session_state.pop(LIVE_KEY, None)
    if live is not None:
        loaded = _load_cached(live.request.spec)
        st.session_state[RUN_KEY] = finish_run(loaded, live, stopped=True)
        st.session_state["gen_step"], st.session_state["gen_sequence"] = 0, 0


def stream_run(
    loaded: LoadedModel,
    request: Request,
    draw: Callable[[GenerationStep], None],
    on_wait: Callable[[int], None],
    live_key: str = LIVE_KEY,
) -> ShownRun:
    """Generate, calling ``draw(step)`` after each step; beam search yields only
    at its end, so ``on_wait(step)`` shows its progress (and, being a Streamlit call,
    lets a Stop click interrupt it)."""
    live = LiveRun(request)
    st.session_state[live_key] = live
    counter = [0]

    def waiting() -> bool:
        counter[0] += 1
        on_wait(counter[0])
        return False

    beam = request.settings.strategy == "beam"
    steps = iter_generate(
        loaded, list(request.prompt_ids), request.settings, waiting if beam else None
    )
    for step in steps:
        live.steps.append(step)
        draw(step)
    del st.session_state[live_key]
    return finish_run(loaded, live, stopped=False)


class StreamingChips:
    """Chips of the steps so far (one line per sequence), updated one step at a time:
    each sequence keeps its own ``PieceDecoder``, so a step costs one short decode."""

    def __init__(self, tokenizer, prompt_ids: tuple[int, ...]) -> None:
        self.tokenizer, self.prompt_ids = tokenizer, list(prompt_ids)
        self.decoders: dict[int, PieceDecoder] = {}
        self.pieces: dict[int, list[str]] = {}
        self.probs: dict[int, list[float]] = {}

    def add(self, step: GenerationStep) -> str:
        """Record ``step`` and return the HTML of every sequence so far."""
        number = step.sequence
        if number not in self.decoders:
            self.decoders[number] = PieceDecoder(self.tokenizer, self.prompt_ids[-1:])
            self.pieces[number], self.probs[number] = [], []
        self.pieces[number].append(self.decoders[number].push(step.token_id))
        self.probs[number].append(step.prob)
        html = []
        for sequence in sorted(self.pieces):
            labels = fragment_labels(self.pieces[sequence])
            chips = [Chip(text, p) for text, p in zip(labels, self.probs[sequence], strict=True)]
            html.append(chips_html(chips))
        return "".join(html)


def run_chips(run: ShownRun, sequence: int, selected: int | None, tips: dict[str, str]) -> str:
    """Prompt (grey) then the generated tokens coloured by probability; one selected."""
    shown = run.sequences[sequence]
    chips = [
        Chip(label, None, fragment=not piece)
        for label, piece in zip(run.prompt_labels, run.prompt_pieces, strict=True)
    ]
    for index, (step, label, piece) in enumerate(
        zip(shown.steps, shown.labels, shown.pieces, strict=True)
    ):
        title = tips["step"].format(
            index=index + 1, prob=f"{step.prob:.1%}", after=f"{step.prob_after:.1%}", rank=step.rank
        )
        chips.append(Chip(label, step.prob, title, fragment=not piece, selected=index == selected))
    return chips_html(chips)


# ---------------------------------------------------------------------------- step-through


@dataclass(frozen=True)
class WalkStep:
    """One token added in step-through mode, with its probabilities in the distribution
    it was chosen from (before and after the filters) and whether the user picked it."""

    token_id: int
    prob: float
    prob_after: float
    rank: int
    picked: bool


@st.cache_resource(max_entries=MAX_CACHED_DISTRIBUTIONS, ttl=CACHE_TTL_S, show_spinner=False)
def cached_distribution(
    spec: str, ids: tuple[int, ...], settings: GenerationSettings
) -> StepDistribution:
    """The next-token distributions after ``ids`` (shared by sessions; arrays read-only)."""
    return next_token_distribution(_load_cached(spec), list(ids), settings)


def walk_settings(settings: GenerationSettings) -> GenerationSettings:
    """One step at a time: beam search has no single next-token choice, so it walks
    greedily; one sequence, no attention."""
    return dataclasses.replace(
        settings,
        max_new_tokens=1,
        num_beams=1,
        num_return_sequences=1,
        capture_attention=False,
    )


def model_choice(dist: StepDistribution, settings: GenerationSettings, index: int) -> int:
    """The token the model would take: the most likely one, or (sampling) a draw from the
    filtered distribution seeded by (seed, index) so a walk is reproducible."""
    if not settings.do_sample:
        return int(np.argmax(dist.probs_after))
    probs = dist.probs_after.astype(np.float64)
    return int(
        np.random.default_rng([settings.seed, index]).choice(probs.size, p=probs / probs.sum())
    )


def walk_step(dist: StepDistribution, token_id: int, picked: bool) -> WalkStep:
    before, after = dist.prob_of(token_id)
    rank = int((dist.probs_before > dist.probs_before[token_id]).sum()) + 1
    return WalkStep(token_id, before, after, rank, picked)
