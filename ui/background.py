"""Background jobs started from the app: whose they are, and a collector that does not
stall them. Fine-tuning and compression both start their jobs through ``start_job``
(``ui.job_panel.start`` wraps it and shows a busy slot in the UI's language)."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable

import streamlit as st

from llm_core.jobs import JOB_SLOT, Job

OWNER_KEY = "job_owner"


def session_owner() -> str:
    """A stable id for this browser session: the owner of its jobs."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


def with_frozen_gc(work: Callable[[Job], object]) -> Callable[[Job], object]:
    """Run ``work`` with the garbage collector's current objects frozen.

    Streamlit ends every script run (each poll of a progress fragment too) with
    ``gc.collect(2)``: 0.4-0.9 s over this app's ~400k objects, with the GIL held, which
    starved a training thread to a tenth of its speed. Objects frozen here (imports,
    loaded models) are skipped by those collections; the job's end unfreezes them, so
    nothing is kept from the collector for longer than the job.
    """

    def frozen(job: Job) -> object:
        gc.freeze()
        try:
            return work(job)
        finally:
            gc.unfreeze()

    return frozen


def start_job(kind: str, description: str, work: Callable[[Job], object], method: str = "") -> Job:
    """Start ``work`` in the process-wide slot for this session; ``SlotBusyError`` if
    another job runs."""
    return JOB_SLOT.start(
        kind, description, with_frozen_gc(work), owner=session_owner(), method=method
    )
