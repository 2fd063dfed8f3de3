"""Long work (fine-tuning, compressing, distilling) as a job: observable progress,
cancellable, one at a time.

    def work(job: Job) -> dict:
        for step in range(total):
            job.checkpoint()                  # raises JobCancelledError once cancelled
            ...
            job.report(step + 1, total, "training", tokens_per_s=812.0)
            job.log(step=step + 1, train_loss=loss)   # a point of the live loss curve
        return {"output": "..."}

    job = JOB_SLOT.start("finetune", "tang300 → tang-lora", work, owner=session_id,
                         method="lora")                                    # in a thread
    job.progress(); job.history(); job.cancel(); job.wait(); job.state; job.result
    Job("finetune", "...", work).run()                                     # in this thread

A job reports its *stage* as a key of ``STAGES`` ("measuring_quality"), never as prose:
the CLI prints the English text of ``STAGES``, the app translates the key. Its
``description`` holds names only (corpus, model, output), and ``method`` is a key too
("lora", "int8"), so nothing a job says is in one language.

The slot admits one running job per process: a CPU has room for one training run, and
a second visitor is told what runs and when it should end (``SlotBusyError``). A work
function never saves half its output: it checks ``should_stop()`` and writes its output
atomically (``llm_core.saving``) only once it has finished.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llm_core.errors import LLMCoreError
from llm_core.serving.gate import INTERACTIVE

STATES = ("waiting", "running", "done", "failed", "cancelled")
FINISHED_STATES = ("done", "failed", "cancelled")
MAX_HISTORY_POINTS = 10_000  # loss points kept per job (one per logged step)
KEPT_FINISHED_JOBS = 8  # finished jobs a slot remembers, so their owners can read results
# Stage key -> the English the CLI prints; the app's catalog has "jobs.stage.<key>".
STAGES = {
    "starting": "starting",
    "preparing": "preparing the corpus",
    "measuring_before": "measuring before training",
    "training": "training",
    "measuring_after": "measuring after training",
    "saving": "saving",
    "compressing": "compressing",
    "building_student": "building the student",
    "distilling": "distilling",
    "measuring_quality": "measuring quality",
    "sampling": "sampling",
    "attention": "comparing attention",
    "pruning_to": "pruning to {sparsity:.0%}",  # the sparsity sweep: metric ``sparsity``
    "done": "done",
}

Work = Callable[["Job"], Any]
ProgressListener = Callable[["JobProgress"], None]


class JobCancelledError(LLMCoreError):
    """The job's ``cancel()`` was called; the work stopped and saved nothing."""


class SlotBusyError(LLMCoreError):
    """Another job is running in this process; its progress says when it should end."""

    def __init__(self, message: str, running: JobProgress) -> None:
        super().__init__(message)
        self.running = running


@dataclass(frozen=True)
class JobProgress:
    """A snapshot of a job: where it is, how fast, and what it found so far.

    ``fraction`` is ``step / total_steps`` (0 when the total is unknown); ``eta_s`` is
    the remaining time extrapolated from the steps done so far (None before the first).
    ``metrics``: the latest values given to ``report`` (e.g. ``tokens_per_s``).
    ``stage`` and ``method`` are keys (see the module docstring), ``description`` names.
    """

    job_id: int
    kind: str
    description: str
    state: str  # one of STATES
    step: int
    total_steps: int
    stage: str  # a key of STAGES
    elapsed_s: float
    eta_s: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    method: str = ""

    @property
    def stage_text(self) -> str:
        """The stage in English, for logs and the CLI (the app translates ``stage``)."""
        return STAGES[self.stage].format(**self.metrics)

    @property
    def fraction(self) -> float:
        return min(self.step / self.total_steps, 1.0) if self.total_steps > 0 else 0.0

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


_job_ids = itertools.count(1)


class Job:
    """One piece of long work. Thread-safe: the work reports from its thread, pages read
    snapshots from theirs."""

    def __init__(
        self,
        kind: str,
        description: str,
        work: Work,
        owner: str | None = None,
        listener: ProgressListener | None = None,
        method: str = "",
    ) -> None:
        self.id = next(_job_ids)
        self.kind, self.description, self.owner, self.method = kind, description, owner, method
        self._work, self._listener = work, listener
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._state = "waiting"
        self._step, self._total, self._stage = 0, 0, "starting"
        self._metrics: dict[str, float] = {}
        self._history: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._first_step_at: tuple[float, int] | None = None  # (time, step) of the first report
        self._step_at = 0.0  # when the latest step was reported
        self._ended: float | None = None
        self.result: Any = None
        self.error: str | None = None

    # ------------------------------------------------------------------ for the work

    def should_stop(self) -> bool:
        """True once ``cancel()`` was called: stop at the next step and save nothing."""
        return self._cancel.is_set()

    def checkpoint(self) -> None:
        """Between two steps or stages: raise ``JobCancelledError`` once ``cancel()`` was
        called. Every loop of a job calls it once per step (an optimizer step, a block
        measured), so it is the one place where long work gives way to other work: while a
        session waits on a model (``serving.gate.INTERACTIVE``), the job waits here first."""
        if self.should_stop():
            raise JobCancelledError("The job was cancelled; nothing was saved.")
        INTERACTIVE.yield_to_interactive(should_stop=self.should_stop)
        if self.should_stop():  # cancelled while it waited
            raise JobCancelledError("The job was cancelled; nothing was saved.")

    def report(self, step: int, total_steps: int, stage: str = "", **metrics: float) -> None:
        """Record progress: ``step`` of ``total_steps`` done, in ``stage`` (a key of
        ``STAGES``; "" keeps the current one), with the latest metrics."""
        if stage and stage not in STAGES:
            raise ValueError(f"unknown job stage {stage!r}: add it to llm_core.jobs.STAGES")
        with self._lock:
            now = time.monotonic()
            if self._first_step_at is None and step > 0:
                self._first_step_at = (now, step)
            if step != self._step:
                self._step_at = now
            self._step, self._total = int(step), int(total_steps)
            if stage:
                self._stage = stage
            self._metrics.update({k: float(v) for k, v in metrics.items()})
        if self._listener is not None:
            self._listener(self.progress())

    def log(self, **record: Any) -> None:
        """Append a point to the job's history (e.g. ``step=10, train_loss=2.3``)."""
        with self._lock:
            if len(self._history) < MAX_HISTORY_POINTS:
                self._history.append(dict(record))

    # ------------------------------------------------------------------ for the caller

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> Any:
        """Run the work in this thread; return its result or raise what it raised
        (``JobCancelledError`` when cancelled)."""
        with self._lock:
            self._state = "running"
            self._started = time.monotonic()
        try:
            result = self._work(self)
            if self._cancel.is_set():  # the work noticed and returned early
                raise JobCancelledError("The job was cancelled; nothing was saved.")
        except BaseException as error:
            cancelled = isinstance(error, JobCancelledError) or self._cancel.is_set()
            self._finish("cancelled" if cancelled else "failed", error=_describe(error))
            raise
        self.result = result
        self._finish("done")
        return result

    def run_in_thread(self) -> None:
        """Start ``run`` in a daemon thread; read ``progress()``, ``wait()`` for the end."""

        def target() -> None:
            # Recorded in state and error: a thread has no caller to raise to.
            with contextlib.suppress(BaseException):
                self.run()

        threading.Thread(target=target, name=f"job-{self.kind}-{self.id}", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (True) or ``timeout`` seconds passed (False)."""
        return self._finished.wait(timeout)

    @property
    def state(self) -> str:
        return self._state

    def progress(self) -> JobProgress:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return JobProgress(
                job_id=self.id,
                kind=self.kind,
                description=self.description,
                state=self._state,
                step=self._step,
                total_steps=self._total,
                stage=self._stage,
                elapsed_s=end - self._started,
                eta_s=self._eta(end),
                metrics=dict(self._metrics),
                error=self.error,
                method=self.method,
            )

    def history(self) -> list[dict[str, Any]]:
        """A copy of the logged points, oldest first."""
        with self._lock:
            return [dict(point) for point in self._history]

    def _eta(self, now: float) -> float | None:
        if self._state in FINISHED_STATES:
            return 0.0
        if self._first_step_at is None or self._total <= 0:
            return None
        first_time, first_step = self._first_step_at
        if self._step <= first_step:
            return None
        # Rate from the first report on: the first step includes one-off set-up. Counted
        # down from the latest report, so the estimate falls between two reports.
        per_step = (self._step_at - first_time) / (self._step - first_step)
        remaining = max(self._total - self._step, 0) * per_step
        return max(remaining - (now - self._step_at), 0.0)

    def _finish(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self._state, self.error, self._ended = state, error, time.monotonic()
        self._finished.set()
        if self._listener is not None:
            self._listener(self.progress())


def _describe(error: BaseException) -> str:
    if isinstance(error, LLMCoreError):
        return str(error)
    if isinstance(error, MemoryError):
        return "Out of memory: try a shorter block length, a smaller batch or LoRA."
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" (at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno})" if frame else ""
    return f"{type(error).__name__}: {error}{where}"


class JobSlot:
    """Admits one running job at a time; remembers the last few finished ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}

    def start(
        self,
        kind: str,
        description: str,
        work: Work,
        owner: str | None = None,
        listener: ProgressListener | None = None,
        method: str = "",
    ) -> Job:
        """Start ``work`` in a background thread, or raise ``SlotBusyError`` (its message
        is English, for the CLI and logs; the app words it from ``error.running``)."""
        with self._lock:
            running = self._running_locked()
            if running is not None:
                now = running.progress()
                when = (
                    f"in about {now.eta_s / 60:.0f} min"
                    if now.eta_s is not None
                    else "when it finishes"
                )
                raise SlotBusyError(
                    f"Another job is running ({now.kind}: {now.description}, step "
                    f"{now.step}/{now.total_steps}); one job runs at a time. It should end "
                    f"{when}: try again then.",
                    now,
                )
            job = Job(kind, description, work, owner, listener, method)
            job._state = "running"  # taken now, so a second start sees it before the thread runs
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state in FINISHED_STATES]
            for old in finished[: max(len(finished) - KEPT_FINISHED_JOBS, 0)]:
                del self._jobs[old.id]
        job.run_in_thread()
        return job

    def running(self) -> Job | None:
        with self._lock:
            return self._running_locked()

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def latest(self, owner: str | None = None, kind: str | None = None) -> Job | None:
        """The most recent job (of ``owner`` / ``kind`` when given), running or finished."""
        with self._lock:
            for job in reversed(list(self._jobs.values())):
                if (owner is None or job.owner == owner) and (kind is None or job.kind == kind):
                    return job
        return None

    def _running_locked(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state not in FINISHED_STATES), None)


# The process-wide slot: Streamlit sessions are threads of one process and share it.
JOB_SLOT = JobSlot()
