"""A request handed to a model worker, as its caller holds it: a ``Ticket``.

    ticket = worker.submit_generation(ids, settings)
    for item in ticket.stream():          # GenerationStep as each is made, or a
        ...                               # QueuePlace while the request still waits
    ticket.result()                       # GenerationResult (or raises the request's error)

    ticket = worker.submit_call(perplexity, ids)
    ticket.wait(0.25); ticket.place(); ticket.result()

``cancel()`` ends one request only (Stop on a page): a waiting one never starts, a
generating one leaves the batch at the next step and keeps the steps it made.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llm_core.generation.sampling import GenerationStep

POLL_S = 0.25  # how often ``stream`` reports the place of a request still waiting


@dataclass(frozen=True)
class QueuePlace:
    """Where a request stands: ``ahead`` requests will be served before it starts, in
    about ``eta_s`` seconds (None: no estimate yet). ``started``: it is being served;
    ``step``: steps done by work that reports them (beam search)."""

    ahead: int
    eta_s: float | None
    started: bool = False
    step: int = 0


class Ticket:
    """One request: its kind ("generate" or "call"), its events, its end (thread-safe)."""

    def __init__(self, kind: str, label: str, place: Callable[[Ticket], QueuePlace]) -> None:
        self.kind, self.label = kind, label
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.step = 0  # progress reported by unbatched work (beam search steps)
        self._place = place
        self._events: queue.Queue[GenerationStep | None] = queue.Queue()
        self._cancelled = threading.Event()
        self._finished = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ for the caller

    def cancel(self) -> None:
        """Stop this request only; steps already made stay (``result`` has them)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def failed(self) -> bool:
        """Ended with an error (``result()`` raises it)."""
        return self._finished.is_set() and self._error is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the request has ended (True) or ``timeout`` passed (False)."""
        return self._finished.wait(timeout)

    def place(self) -> QueuePlace:
        """Where the request stands now (see ``QueuePlace``)."""
        if self.done or self.started is not None:
            return QueuePlace(0, 0.0, started=True, step=self.step)
        return self._place(self)

    def stream(self, poll_s: float = POLL_S) -> Iterator[GenerationStep | QueuePlace]:
        """Each ``GenerationStep`` as it is made; while none comes for ``poll_s``, the
        request's ``QueuePlace``. Ends when the request has ended (then ``result()``)."""
        while True:
            try:
                item = self._events.get(timeout=poll_s)
            except queue.Empty:
                yield self.place()
                continue
            if item is None:
                return
            yield item

    def behind(self) -> bool:
        """True when more of the request's events are waiting to be read from ``stream``."""
        return not self._events.empty()

    def result(self, timeout: float | None = None) -> Any:
        """The request's value (a ``GenerationResult`` for a generation), or raise its error."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"the {self.label} request is still running")
        if self._error is not None:
            raise self._error
        return self._value

    # ------------------------------------------------------------------ for the worker

    def put(self, step: GenerationStep) -> None:
        if self.started is None:
            self.started = time.monotonic()
        self._events.put(step)

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        """Record how the request ended and wake its caller (only the first call counts)."""
        if self._finished.is_set():
            return
        self._value, self._error = value, error
        self._finished.set()
        self._events.put(None)
