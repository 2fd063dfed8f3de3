"""The Generation page's runs: what it asked for, what came back, and how it streams.

A generation goes to the model's worker (``llm_core.serving``), which batches it with
every other session's. Each ``GenerationStep`` it streams back is appended to a ``LiveRun``
kept in session state and the chips are redrawn in a placeholder, so tokens appear as
they are produced; while the request waits for a place, the placeholder says how many
requests are ahead. Stop (or any other click) makes Streamlit rerun the script: the
running script is interrupted at its next placeholder update, its request is cancelled
(only that one), and the next run finds the ``LiveRun`` left behind and finishes it as a
stopped ``ShownRun``. No thread of the page's own, no exception box.

Finished runs live in session state, so choosing a step, a layer or a head only redraws
from the recorded steps: the model runs again only on Generate, Compare or a new
step-through token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from llm_core.generation.generate import GenerationResult, prompt_ids_for
from llm_core.generation.sampling import GenerationSettings, GenerationStep
from llm_core.models.loading import LoadedModel
from llm_core.serving.tickets import QueuePlace
from llm_core.serving.worker import worker_for
from llm_core.text.pieces import decoded_text, fragment_labels, labelled_pieces
from ui.i18n import t
from ui.model_loader import _load_cached
from ui.serving import place_text
from ui.token_chips import chips_html, probability_chips

RUN_KEY = "gen_run"
LIVE_KEY = "gen_live"


@dataclass(frozen=True)
class Request:
    """What to generate from: the model, the prompt as typed, as ids and as chip text."""

    spec: str
    prompt: str
    chat: bool
    system: str
    prompt_ids: tuple[int, ...]
    settings: GenerationSettings
    prompt_pieces: tuple[str, ...] = ()  # the text each prompt token completes
    prompt_labels: tuple[str, ...] = ()  # what each prompt chip shows


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
    """A finished (or stopped) generation."""

    request: Request
    sequences: tuple[ShownSequence, ...]
    stopped: bool

    def context_labels(self, sequence: int, index: int) -> list[str]:
        """Labels of the keys step ``index`` attended to: the prompt, then the tokens
        generated before it."""
        return [*self.request.prompt_labels, *self.sequences[sequence].labels[:index]]


@dataclass
class LiveRun:
    """A generation in progress: filled step by step, finished by ``finish_run``."""

    request: Request
    steps: list[GenerationStep] = field(default_factory=list)


def make_request(
    loaded: LoadedModel, spec: str, prompt: str, chat: bool, system: str, settings
) -> Request:
    """Validate everything before the model runs; raises ``InputError`` with a message."""
    ids = prompt_ids_for(loaded, prompt, settings, chat=chat, system=system)
    pieces, labels = labelled_pieces(loaded, ids)
    return Request(spec, prompt, chat, system, tuple(ids), settings.validate(), pieces, labels)


def finish_run(
    loaded: LoadedModel, live: LiveRun, stopped: bool, result: GenerationResult | None = None
) -> ShownRun:
    """Group the steps by sequence; their text from ``result`` when it came (else decoded)."""
    by_sequence: dict[int, list[GenerationStep]] = {}
    for step in live.steps:
        by_sequence.setdefault(step.sequence, []).append(step)
    sequences = []
    for number in sorted(by_sequence):
        steps = by_sequence[number]
        pieces = tuple(step.piece for step in steps)
        reason = steps[-1].finish_reason or "cancelled"
        if result is not None and number < len(result.sequences):
            text = result.sequences[number].text
        else:
            text = decoded_text(loaded, [step.token_id for step in steps])
        labels = tuple(fragment_labels(pieces))
        sequences.append(ShownSequence(tuple(steps), pieces, labels, text, reason))
    return ShownRun(live.request, tuple(sequences), stopped)


def recover_interrupted(live_key: str = LIVE_KEY, run_key: str = RUN_KEY) -> None:
    """A generation interrupted by Stop (or any click) is shown as stopped, with the steps
    it produced."""
    live = st.session_state.pop(live_key, None)
    if live is not None:
        loaded = _load_cached(live.request.spec)
        st.session_state[run_key] = finish_run(loaded, live, stopped=True)
        st.session_state["gen_step"], st.session_state["gen_sequence"] = 0, 0


def stream_runs(
    loaded: LoadedModel,
    requests: Sequence[Request],
    draws: Sequence[Callable[[GenerationStep, bool], None]],
    on_waits: Sequence[Callable[[QueuePlace], None]],
    live_key: str = LIVE_KEY,
) -> list[ShownRun]:
    """Generate every request at once (they join the same batch) and follow them in
    turn: ``draw(step, show)`` after each step, ``on_wait(place)`` while one waits (or,
    beam search, runs: its steps come only at its end). ``show`` is False while later
    steps are already waiting: a page that fell behind (a class of 30 sharing the server)
    redraws once for them all instead of once per step, and the page draws the whole run
    when it ends."""
    worker = worker_for(loaded)
    tickets = [worker.submit_generation(r.prompt_ids, r.settings) for r in requests]
    runs = []
    try:
        for request, ticket, draw, on_wait in zip(requests, tickets, draws, on_waits, strict=True):
            live = LiveRun(request)
            st.session_state[live_key] = live
            for item in ticket.stream():
                if isinstance(item, QueuePlace):
                    on_wait(item)
                else:
                    live.steps.append(item)
                    draw(item, not ticket.behind())
            runs.append(finish_run(loaded, live, stopped=False, result=ticket.result()))
            del st.session_state[live_key]
    finally:
        for ticket in tickets:  # Stop interrupted the loop: end these requests only
            ticket.cancel()
    return runs


def streamer(
    placeholder: Any, request: Request
) -> tuple[Callable[[GenerationStep, bool], None], Callable[[QueuePlace], None]]:
    """(draw, on_wait) callbacks that redraw ``placeholder`` while generating."""
    chips = StreamingChips()

    def draw(step: GenerationStep, show: bool = True) -> None:
        chips.add(step)
        if show:
            placeholder.html(chips.html())

    def on_wait(place: QueuePlace) -> None:
        if place.started and request.settings.strategy == "beam":
            total = request.settings.max_new_tokens
            placeholder.caption(t("gen.beam_progress", step=max(place.step, 1), total=total))
        elif not (place.started and chips.pieces):  # between two steps the chips stay
            placeholder.caption(place_text(place))

    return draw, on_wait


class StreamingChips:
    """Chips of the steps so far (one line per sequence), updated one step at a time from
    the text each step completes (no tokenizer call)."""

    def __init__(self) -> None:
        self.pieces: dict[int, list[str]] = {}
        self.probs: dict[int, list[float]] = {}

    def add(self, step: GenerationStep) -> None:
        """Record ``step``."""
        self.pieces.setdefault(step.sequence, []).append(step.piece)
        self.probs.setdefault(step.sequence, []).append(step.prob)

    def html(self) -> str:
        """The HTML of every sequence so far."""
        return "".join(
            chips_html(probability_chips(self.pieces[number], self.probs[number]))
            for number in sorted(self.pieces)
        )


def run_chips(
    run: ShownRun,
    sequence: int,
    selected: int | None,
    tip: str,
    href_of: Callable[[int], str] | None = None,
) -> str:
    """Prompt (grey) then the generated tokens coloured by probability; one selected.
    ``tip`` is a template with {index}, {prob}, {after} and {rank}; ``href_of(step)``, if
    given, makes each generated chip a link."""
    shown, request = run.sequences[sequence], run.request
    titles = [
        tip.format(index=i + 1, prob=f"{s.prob:.1%}", after=f"{s.prob_after:.1%}", rank=s.rank)
        for i, s in enumerate(shown.steps)
    ]
    n_prompt = len(request.prompt_pieces)
    hrefs = None if href_of is None else [""] * n_prompt + [href_of(i) for i in range(len(titles))]
    chips = probability_chips(
        [*request.prompt_pieces, *shown.pieces],
        [None] * n_prompt + [s.prob for s in shown.steps],
        [""] * n_prompt + titles,
        selected=None if selected is None else n_prompt + selected,
        hrefs=hrefs,
    )
    return chips_html(chips)
