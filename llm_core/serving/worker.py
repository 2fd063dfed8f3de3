"""One worker per loaded model: every session's model work goes through its queue.

    worker = worker_for(loaded)
    ticket = worker.submit_generation(ids, settings)        # joins the batch at the next step
    value = worker.run(perplexity, ids)                     # any (loaded, *args) -> value

The worker is a thread that takes turns. Each turn it (1) lets every waiting generation
join the decode batch (prefilled together; up to ``MAX_BATCH_ROWS`` rows), (2) runs one
decode step of every row (``llm_core.serving.batch``) and hands each row's step to its
ticket, dropping rows that finished, failed or were cancelled, and (3) runs the oldest
waiting call: forward-pass work such as perplexity, the logit lens, one step-through
distribution, an attention trace, and generations that are not batched (beam search; a
model whose cache cannot be batched), which run alone. A call submitted with a
``Together`` takes the waiting calls that share its ``many`` along (short texts' traces:
one padded pass for all). So a call waits at most for the calls ahead of it and one
decode step, and a generation starts at the next step however many run. Each turn
holds ``loaded.lock``; direct engine calls (the CLI, notebooks) take the same lock and
interleave between turns.

Every request counts as interactive work (``llm_core.serving.gate``) from when it is
queued to when it ends, so background jobs wait between their steps. A waiting request's
ticket tells its place and an estimate of its wait from the measured cost of what is
ahead (moving averages of each kind of work).

The worker holds its model only weakly between turns, and its thread ends after
``IDLE_EXIT_S`` without work (the next request starts a new one), so a model dropped from
the app's cache is freed.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_core.generation.generate import (
    GenerationResult,
    check_prompt_ids,
    collect_result,
    generate,
    iter_generate,
    sequence_seed,
)
from llm_core.generation.sampling import GenerationSettings, GenerationStep
from llm_core.models.loading import LoadedModel
from llm_core.models.memory import fix_mmap_threshold, trim_heap
from llm_core.models.threads import name_this_thread
from llm_core.serving.batch import MAX_BATCH_ROWS, MAX_PREFILL_TOKENS, DecodeBatch, Row, can_batch
from llm_core.serving.gate import INTERACTIVE
from llm_core.serving.tickets import QueuePlace, Ticket
from llm_core.text.pieces import VocabularyText

IDLE_EXIT_S = 30.0
WORKER_THREAD_NAME = "model-worker"  # the OS's name of its thread and its intra-op threads
DEFAULT_COST_S = 0.5  # a kind of work not measured yet
COST_WEIGHT = 0.3  # weight of the newest measurement in the moving averages
# Freed heap pages go back to the system every this many decode steps and when the
# worker runs out of work (llm_core.models.memory): 30 concurrent generations peaked at
# ~1.46 GB with it against ~1.6 GB after a few rounds without.
TRIM_EVERY_STEPS = 4


@dataclass(frozen=True, eq=False)
class Together:
    """How a call may run with others waiting beside it: ``many(loaded, items)`` returns
    one value (or exception) per item, in order, for the calls that share ``many``;
    a group holds as many as fit ``len(group) x max(size) <= budget``."""

    many: Callable[[LoadedModel, list], list]
    item: Any
    size: int
    budget: int


@dataclass(eq=False)
class _Request:
    """A ticket and what it asks: a generation (ids, settings) or a call (fn, args)."""

    ticket: Ticket
    ids: list[int] = field(default_factory=list)
    settings: GenerationSettings | None = None
    fn: Callable[..., Any] | None = None
    args: tuple = ()
    steps: list[GenerationStep] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    together: Together | None = None
    group: list[_Request] = field(default_factory=list)  # calls run with this one


class ModelWorker:
    """The queue and the decode batch of one loaded model (see module doc). Thread-safe."""

    def __init__(self, loaded: LoadedModel) -> None:
        self._ref = weakref.ref(loaded)
        self.batching = can_batch(loaded)
        self._cond = threading.Condition()
        self._waiting: list[_Request] = []  # in arrival order
        self._active: list[_Request] = []  # generations with rows in the batch
        self._batch: DecodeBatch | None = None
        self._current: _Request | None = None  # the call running now
        self._thread: threading.Thread | None = None
        self._costs: dict[str, float] = {}  # kind of work -> seconds (moving average)
        self._texts = VocabularyText(loaded.tokenizer)  # outlives each batch
        # What the worker did: for benchmarks and for tests that a rerun ran no model.
        self.counts = {"steps": 0, "rows_stepped": 0, "joins": 0, "calls": 0, "together": 0}

    # ------------------------------------------------------------------ submitting

    def submit_generation(
        self, prompt_ids: Sequence[int], settings: GenerationSettings | None = None
    ) -> Ticket:
        """Queue a generation; ``InputError`` at once for bad settings or ids."""
        return self.submit_generations([prompt_ids], settings)[0]

    def submit_generations(
        self, prompts: Sequence[Sequence[int]], settings: GenerationSettings | None = None
    ) -> list[Ticket]:
        """Queue several generations at once, so they join the batch at the same step."""
        loaded = self._loaded()
        settings = (settings or GenerationSettings()).validate()
        checked = [check_prompt_ids(loaded, ids, settings) for ids in prompts]
        alone = not self.batching or settings.strategy == "beam"
        requests = []
        for ids in checked:
            ticket = Ticket("generate", settings.strategy if alone else "generate", self._place_of)
            request = _Request(ticket, ids, settings)
            if alone:  # runs as a call, streaming into its ticket
                request.fn, request.args = _generate_alone, (ids, settings, ticket)
            requests.append(request)
        self._enqueue(requests)
        return [request.ticket for request in requests]

    def submit_call(
        self, fn: Callable[..., Any], *args: Any, label: str | None = None,
        together: Together | None = None,
    ) -> Ticket:  # fmt: skip
        """Queue ``fn(loaded, *args)``; it runs in the worker's thread holding the lock.
        The ticket's ``result()`` is its value or its error. ``label`` names the kind of
        work for wait estimates (default: the function's name). With ``together``, calls
        waiting at the same time run as one ``together.many`` (see ``Together``)."""
        name = label or getattr(fn, "__name__", "call")
        ticket = Ticket("call", name, self._place_of)
        self._enqueue([_Request(ticket, fn=fn, args=args, together=together)])
        return ticket

    def run(self, fn: Callable[..., Any], *args: Any, label: str | None = None) -> Any:
        """``fn(loaded, *args)`` through the queue, waiting for its value. Called from the
        worker's own thread or with the model's lock already held, it runs at once (a
        queue that waited on itself would never move)."""
        loaded = self._loaded()
        owned = getattr(loaded.lock, "_is_owned", lambda: False)()
        if owned or threading.current_thread() is self._thread:
            return fn(loaded, *args)
        return self.submit_call(fn, *args, label=label).result()

    def _enqueue(self, requests: list[_Request]) -> None:
        with self._cond:
            for request in requests:
                INTERACTIVE.enter()
                self._waiting.append(request)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=WORKER_THREAD_NAME, daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _loaded(self) -> LoadedModel:
        loaded = self._ref()
        if loaded is None:
            raise RuntimeError("this worker's model was unloaded")
        return loaded

    # ------------------------------------------------------------------ where a request is

    def _place_of(self, ticket: Ticket) -> QueuePlace:
        with self._cond:
            position = next((i for i, r in enumerate(self._waiting) if r.ticket is ticket), None)
            if position is None:
                return QueuePlace(0, 0.0, started=True, step=ticket.step)
            ahead = self._waiting[:position]
            eta = sum(self._cost(r.ticket.label) for r in ahead)
            if self._current is not None:
                running = self._current.ticket
                elapsed = time.monotonic() - (running.started or time.monotonic())
                eta += max(self._cost(running.label) - elapsed, 0.0)
            batch = self._batch  # read once: the worker sets it without the condition
            if batch is not None and len(batch):
                eta += self._cost("step")
            n_ahead = len(ahead) + (self._current is not None)
            return QueuePlace(n_ahead, eta if self._costs else None)

    def _cost(self, kind: str) -> float:
        return self._costs.get(kind, DEFAULT_COST_S)

    def _measured(self, kind: str, seconds: float) -> None:
        old = self._costs.get(kind)
        self._costs[kind] = seconds if old is None else old + COST_WEIGHT * (seconds - old)

    # ------------------------------------------------------------------ the loop

    def _loop(self) -> None:
        name_this_thread(WORKER_THREAD_NAME)
        fix_mmap_threshold()
        worked = False
        while True:
            if _EXITING.is_set():  # the interpreter is ending: torch must not be mid-call
                self._abandon()
                return
            with self._cond:
                idle = not self._waiting and not self._active
            if idle and worked:  # the burst is over: give its freed memory back
                trim_heap()
                worked = False
            with self._cond:
                while not self._waiting and not self._active and not _EXITING.is_set():
                    if not self._cond.wait(IDLE_EXIT_S) and not self._waiting:
                        self._thread = None
                        return
                joining, call = self._take()
            loaded = self._ref()
            if loaded is None:
                self._abandon(_taken(joining, call))
                return
            worked = True
            try:
                self._turn(loaded, joining, call)
            except Exception as error:  # a fault of the worker itself: fail what it held
                self._fail_everything(error, _taken(joining, call))
            del loaded  # hold the model only during a turn (see module doc)

    def _take(self) -> tuple[list[_Request], _Request | None]:
        """Under the condition: the generations that join now and the call to run."""
        joining, call, rows, tokens = [], None, len(self._batch or ()), 0
        full = False  # once one generation must wait, later ones wait behind it
        for request in list(self._waiting):
            if request.ticket.cancelled:
                self._waiting.remove(request)
                self._cancel_waiting(request)
            elif request.fn is None:
                n = request.settings.num_return_sequences
                cost = n * len(request.ids)
                full = full or rows + n > MAX_BATCH_ROWS
                full = full or bool(joining and tokens + cost > MAX_PREFILL_TOKENS)
                if full:
                    continue
                rows, tokens = rows + n, tokens + cost
                joining.append(request)
                self._waiting.remove(request)
            elif call is None:
                call = request
                self._waiting.remove(request)
        if call is not None and call.together is not None:
            call.group = self._companions(call)
        self._current = call
        return joining, call

    def _companions(self, call: _Request) -> list[_Request]:
        """Under the condition: ``call`` and the waiting calls that run with it."""
        group, largest = [call], call.together.size
        for request in list(self._waiting):
            other = request.together
            if other is None or other.many is not call.together.many:
                continue
            if request.ticket.cancelled or len(group) >= MAX_BATCH_ROWS:
                continue
            size = max(largest, other.size)
            if (len(group) + 1) * size > call.together.budget:
                continue
            group.append(request)
            largest = size
            self._waiting.remove(request)
        return group if len(group) > 1 else []

    def _turn(self, loaded: LoadedModel, joining: list[_Request], call: _Request | None) -> None:
        with loaded.lock:
            if joining:
                self._join(loaded, joining)
            self._drop_cancelled(loaded)
            if self._batch is not None and len(self._batch):
                self._step(loaded)
        if call is not None:
            self._call(loaded, call)

    def _join(self, loaded: LoadedModel, joining: list[_Request]) -> None:
        from llm_core.serving.batch import new_row

        start = time.monotonic()
        for request in joining:
            settings = request.settings
            request.rows = [
                new_row(loaded, request, request.ids, settings, n, sequence_seed(settings.seed, n))
                for n in range(settings.num_return_sequences)
            ]
        if self._batch is None:
            self._batch = DecodeBatch(loaded, self._texts)
        rows = [row for request in joining for row in request.rows]
        try:
            results = self._batch.join(rows)
        except Exception as error:
            if len(joining) == 1:
                self._fail(joining[0], error)
                return
            for request in joining:  # one of them is at fault: each joins alone
                self._join(loaded, [request])
            return
        self._active += joining
        self.counts["joins"] += 1
        self._measured("generate", (time.monotonic() - start) / len(joining))
        self._deliver(loaded, results)

    def _step(self, loaded: LoadedModel) -> None:
        start = time.monotonic()
        try:
            results = self._batch.step(all_threads=not _STEPS_ON_ONE_THREAD.is_set())
        except Exception as error:  # the whole step failed: every row's request with it
            self._batch = None  # first: no drop (a copy of the cache) per failed request
            for request in list(self._active):
                self._fail(request, error)
            return
        self.counts["steps"] += 1
        self.counts["rows_stepped"] += len(results)
        if self.counts["steps"] % TRIM_EVERY_STEPS == 0:
            trim_heap()  # see llm_core.models.memory: a batch's freed tensors leave holes
        self._measured("step", time.monotonic() - start)
        self._deliver(loaded, results)

    def _deliver(
        self, loaded: LoadedModel, results: list[tuple[Row, GenerationStep | Exception]]
    ) -> None:
        """Hand each row's step to its ticket; end requests whose rows all ended."""
        touched: dict[int, _Request] = {}
        ending: dict[int, tuple[_Request, Any, BaseException | None]] = {}
        for row, step in results:
            request = row.owner
            if request.ticket.done or id(request) in ending:
                continue
            if isinstance(step, Exception):
                ending[id(request)] = (request, None, step)
                continue
            request.steps.append(step)
            request.ticket.put(step)
            touched[id(request)] = request
        for key, request in touched.items():
            if key not in ending and all(r.done for r in request.rows):
                try:
                    result = collect_result(loaded, request.ids, request.settings, request.steps)
                except Exception as error:  # this request alone fails
                    ending[key] = (request, None, error)
                else:
                    ending[key] = (request, result, None)
        leaving = [row for row, _ in results if row.done or row.owner.ticket.done]
        self._end_all(list(ending.values()), leaving)

    def _drop_cancelled(self, loaded: LoadedModel) -> None:
        cancelled = [r for r in self._active if r.ticket.cancelled]
        ending = [
            (r, collect_result(loaded, r.ids, r.settings, r.steps, True), None) for r in cancelled
        ]
        self._end_all(ending, [])

    def _end_all(
        self, ending: list[tuple[_Request, Any, BaseException | None]], rows: list[Row]
    ) -> None:
        """End requests (each with its value or error) after taking their rows and
        ``rows`` out of the batch in one go: a drop copies the whole KV cache (~100 MB at 30
        rows of SmolLM2), and 23 of a class's 30 generations end at the same step. Tickets
        are told last, so a caller that has all its results (a script about to exit)
        never finds the worker still in a drop (torch aborted the process at exit)."""
        ended = [row for request, _, _ in ending for row in request.rows]
        leaving = list({id(row): row for row in rows + ended}.values())
        if self._batch is not None and leaving:
            self._batch.drop(leaving)
            if not len(self._batch):
                self._batch = None
        for request, value, error in ending:
            self._end(request, value, error, drop=False)

    def _call(self, loaded: LoadedModel, request: _Request) -> None:
        request.ticket.started = start = time.monotonic()
        if request.group:
            self._call_together(loaded, request.group)
        else:
            self._call_alone(loaded, request)
        n = max(len(request.group), 1)
        self.counts["calls"] += n
        with self._cond:
            self._current = None
            self._measured(request.ticket.label, (time.monotonic() - start) / n)

    def _call_alone(self, loaded: LoadedModel, request: _Request) -> None:
        try:
            with loaded.lock:
                value = request.fn(loaded, *request.args)
        except Exception as error:
            self._finish(request.ticket, error=error)
        else:
            self._finish(request.ticket, value)

    def _call_together(self, loaded: LoadedModel, group: list[_Request]) -> None:
        """One ``many`` for the group; if it fails as a whole, each call runs alone (so
        only a call at fault fails)."""
        for request in group:
            request.ticket.started = time.monotonic()
        try:
            with loaded.lock:
                values = group[0].together.many(loaded, [r.together.item for r in group])
            if len(values) != len(group):
                raise RuntimeError(f"{len(values)} results for {len(group)} calls")
        except Exception:
            for request in group:
                self._call_alone(loaded, request)
            return
        self.counts["together"] += 1
        for request, value in zip(group, values, strict=True):
            if isinstance(value, Exception):
                self._finish(request.ticket, error=value)
            else:
                self._finish(request.ticket, value)

    # ------------------------------------------------------------------ endings

    def _end(
        self,
        request: _Request,
        value: Any = None,
        error: BaseException | None = None,
        drop: bool = True,
    ) -> None:
        """A generation ends: its ticket gets the outcome and (unless the caller drops
        several requests' rows at once) its rows leave the batch."""
        if request in self._active:
            self._active.remove(request)
        if drop:
            self._end_all([], request.rows)
        self._finish(request.ticket, value, error)

    def _fail(self, request: _Request, error: BaseException) -> None:
        self._end(request, error=error)

    def _cancel_waiting(self, request: _Request) -> None:
        if request.ticket.kind == "generate":  # cancelled before its first step: no steps
            loaded = self._ref()
            value = None if loaded is None else _empty_result(loaded, request)
            self._finish(request.ticket, value)
        else:
            self._finish(request.ticket, error=CancelledRequestError("cancelled before it ran"))

    def _finish(
        self, ticket: Ticket, value: Any = None, error: BaseException | None = None
    ) -> None:
        if not ticket.done:
            ticket.finish(value, error)
            INTERACTIVE.leave()

    def _fail_everything(self, error: BaseException, taken: list[_Request]) -> None:
        """Every request taken this turn or in the batch fails with ``error``; the worker
        goes on with a fresh batch (no request is left waiting forever)."""
        with self._cond:
            requests, self._active, self._batch, self._current = (
                [*taken, *self._active],
                [],
                None,
                None,
            )
        for request in requests:
            self._finish(request.ticket, error=error)

    def _abandon(self, taken: Sequence[_Request] = ()) -> None:
        with self._cond:
            requests, self._waiting = [*taken, *self._waiting, *self._active], []
            self._active, self._batch, self._thread = [], None, None
        for request in requests:
            self._finish(request.ticket, error=RuntimeError("the model was unloaded"))


def _taken(joining: list[_Request], call: _Request | None) -> list[_Request]:
    """Every request a turn took from the queue: the joining generations, the call and
    the calls grouped with it."""
    return [*joining, *((call.group or [call]) if call is not None else [])]


class CancelledRequestError(Exception):
    """A call was cancelled before it ran."""


def _empty_result(loaded: LoadedModel, request: _Request) -> GenerationResult:
    return collect_result(loaded, request.ids, request.settings, [], cancelled=True)


def _generate_alone(
    loaded: LoadedModel, ids: list[int], settings: GenerationSettings, ticket: Ticket
) -> GenerationResult:
    """A generation outside the batch (beam search, or a model that is not batched),
    streaming into ``ticket``; beam search's steps come at its end, and its progress
    (steps done) shows in the ticket's place meanwhile."""

    def should_stop() -> bool:
        ticket.step += 1
        return ticket.cancelled

    if settings.strategy == "beam":
        result = generate(loaded, ids, settings, should_stop)
        for sequence in result.sequences:
            for step in sequence.steps:
                ticket.put(step)
        return result
    steps = []
    for step in iter_generate(loaded, ids, settings, lambda: ticket.cancelled):
        steps.append(step)
        ticket.put(step)
    return collect_result(loaded, ids, settings, steps, cancelled=ticket.cancelled)


# ---------------------------------------------------------------------------- registry

_WORKERS: dict[int, ModelWorker] = {}
_REGISTRY_LOCK = threading.Lock()
_EXITING = threading.Event()
EXIT_WAIT_S = 10.0


# Set by a server of many sessions (the app): see steps_on_one_thread.
_STEPS_ON_ONE_THREAD = threading.Event()


def steps_on_one_thread(on: bool = True) -> None:
    """Run every worker's decode steps on one thread, however many rows (``on``), or as
    ``llm_core.models.threads.threads_for`` decides (up to 16 rows on one, more on all:
    the default, for a script or notebook where a request's time is all that counts).
    The app turns it on: on a server of many sessions the CPU is what runs out, and a
    30-row step on two threads cost the worker ~0.31 CPU-s against ~0.25 on one
    (measured in a class of 30: ``benchmarks/classroom.py``), since its second core
    sped the step up by ~1.4x at most."""
    if on:
        _STEPS_ON_ONE_THREAD.set()
    else:
        _STEPS_ON_ONE_THREAD.clear()


def worker_for(loaded: LoadedModel) -> ModelWorker:
    """The worker of ``loaded`` (created on first use; forgotten when the model is freed)."""
    with _REGISTRY_LOCK:
        worker = _WORKERS.get(id(loaded))
        if worker is None or worker._ref() is not loaded:
            worker = _WORKERS[id(loaded)] = ModelWorker(loaded)
            weakref.finalize(loaded, _forget, id(loaded), worker)
        return worker


@atexit.register
def _stop_workers() -> None:
    """At interpreter exit, let each worker finish its turn and stop (a daemon thread
    killed inside a torch call aborts the process)."""
    _EXITING.set()
    with _REGISTRY_LOCK:
        workers = list(_WORKERS.values())
    for worker in workers:
        with worker._cond:
            worker._cond.notify_all()
            thread = worker._thread
        if thread is not None:
            thread.join(EXIT_WAIT_S)


def _forget(key: int, worker: ModelWorker) -> None:
    with _REGISTRY_LOCK:
        if _WORKERS.get(key) is worker:
            del _WORKERS[key]


def generate_many(
    loaded: LoadedModel,
    prompts: Sequence[Sequence[int]],
    settings: GenerationSettings | None = None,
) -> list[GenerationResult]:
    """One ``GenerationResult`` per prompt (token ids), generated as one batch through the
    model's worker: each equals ``generate(loaded, ids, settings)`` alone."""
    tickets = worker_for(loaded).submit_generations(prompts, settings)
    return [ticket.result() for ticket in tickets]
