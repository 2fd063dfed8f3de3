"""Interactive work first: background jobs step aside while a session waits on a model.

A 2-core server cannot run a training step and a generation at full speed together:
both use every core, and the student waiting on the page pays for it. So each request
a model worker takes counts as interactive work from when it is queued to when it ends
(``INTERACTIVE.busy()``), and a background job calls ``INTERACTIVE.yield_to_interactive()``
between its steps (``Job.checkpoint()`` does): it waits there while any interactive work is queued or running, and
goes on when none is (or after ``MAX_YIELD_S``, so a busy class never starves a job
entirely: the job then runs one step and yields again).

One process-wide gate: Streamlit sessions and background jobs are threads of one process.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

MAX_YIELD_S = 20.0  # a job waits at most this long per step before it runs one anyway


class InteractiveGate:
    """Counts interactive work in flight; lets background work wait until there is none."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.yielded_s = 0.0  # total seconds background work spent waiting here

    @property
    def active(self) -> int:
        return self._active

    def enter(self) -> None:
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active = max(self._active - 1, 0)
            if self._active == 0:
                self._cond.notify_all()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Interactive work for the length of the block."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def yield_to_interactive(
        self, max_wait_s: float = MAX_YIELD_S, should_stop: Callable[[], bool] | None = None
    ) -> float:
        """Block while interactive work is in flight, at most ``max_wait_s`` (or until
        ``should_stop()`` holds: a cancelled job stops waiting within a second); return the
        seconds waited. Call it between the steps of background work (``Job.checkpoint``)."""
        start = time.monotonic()
        deadline = start + max_wait_s
        with self._cond:
            while self.active > 0 and not (should_stop is not None and should_stop()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(timeout=min(left, 1.0))
        waited = time.monotonic() - start
        self.yielded_s += waited
        return waited


INTERACTIVE = InteractiveGate()
