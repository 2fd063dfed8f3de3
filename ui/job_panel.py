"""The one job panel: a session's background job (fine-tuning, compression, distillation,
the sparsity sweep) with its progress, time left, live loss chart and Cancel, and the
notice that another session's job holds the slot. Every word comes from the catalog:
a job reports stage keys (``llm_core.jobs.STAGES``), translated here.

    blocked = busy_elsewhere()                     # notice, refreshing itself
    if st.button(..., disabled=blocked or running(job)):
        job = start(KIND, "tang300 → tang-lora", work, method="lora")
    show_job(job, key="ft")                        # live while it runs, then how it ended
    ...                                            # the results
    mark_shown(job)                                # last on the page

While the job runs, a fragment redraws the panel every ``POLL_S`` seconds; the rest of
the page stays as it is. Once the job has ended the fragment reruns the whole page, which
shows the results, until a page run has drawn them to its end (``mark_shown``): a stale
tick of the fragment can cut that run short, and a later tick then asks again.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from llm_core.jobs import JOB_SLOT, Job, JobProgress, SlotBusyError
from llm_core.plots.training import loss_chart
from ui.background import session_owner, start_job
from ui.i18n import t

POLL_S = 2.0
BUSY_POLL_S = 3.0
DRAWING_KEY = "job_drawing_panel"  # True while a page run (not a tick) draws the panel


def _shown_key(kind: str) -> str:
    return f"job_shown_{kind}"  # the finished job whose results a page run drew to the end


def latest_job(kind: str) -> Job | None:
    """This session's most recent job of ``kind``, running or finished."""
    return JOB_SLOT.latest(owner=session_owner(), kind=kind)


def running(job: Job | None) -> bool:
    return job is not None and not job.progress().finished


# ---------------------------------------------------------------------------- words


def duration_text(seconds: float) -> str:
    """'2 min 05 s' / '2 分 05 秒'; under a minute '42 s' / '42 秒'."""
    seconds = int(round(seconds))
    if seconds >= 60:
        return t("jobs.minutes_seconds", minutes=seconds // 60, seconds=f"{seconds % 60:02d}")
    return t("jobs.seconds", seconds=seconds)


def stage_text(progress: JobProgress) -> str:
    """The job's stage in the UI's language (the sweep's stage names its sparsity)."""
    sparsity = progress.metrics.get("sparsity", 0.0)
    return t(f"jobs.stage.{progress.stage}", sparsity=f"{sparsity:.0%}")


def progress_text(progress: JobProgress) -> str:
    """'Training · step 3/48 · 812 tokens/s · about 2 min 05 s left'."""
    parts = [t("jobs.progress", stage=stage_text(progress), step=progress.step,
               total=progress.total_steps)]  # fmt: skip
    if "tokens_per_s" in progress.metrics:
        parts.append(t("jobs.speed", speed=f"{progress.metrics['tokens_per_s']:,.0f}"))
    if progress.eta_s is None:
        parts.append(t("jobs.eta_unknown"))
    else:
        parts.append(t("jobs.eta", time=duration_text(progress.eta_s)))
    return " · ".join(parts)


def what_text(progress: JobProgress) -> str:
    """What a job does, in the UI's language: its method's name, else its kind's."""
    if progress.method:
        return t(f"jobs.method.{progress.method}")
    return t(f"jobs.kind.{progress.kind}")


def busy_text(progress: JobProgress) -> str:
    """Why Start is refused: what runs, how far it is, when it should end."""
    if progress.eta_s is None:
        when = t("jobs.busy_unknown")
    else:
        when = t("jobs.busy_eta", time=duration_text(max(progress.eta_s, 1.0)))
    return t(
        "jobs.busy",
        what=what_text(progress),
        description=progress.description,
        step=progress.step,
        total=progress.total_steps,
        when=when,
    )


# ---------------------------------------------------------------------------- starting


def start(kind: str, description: str, work: Callable[[Job], object], method: str) -> Job | None:
    """Start ``work`` for this session, or say (translated) which job holds the slot.
    ``description``: names only (corpus, model, output); ``method``: a catalog key."""
    try:
        return start_job(kind, description, work, method)
    except SlotBusyError as error:
        st.warning(busy_text(error.running))
        return None


def busy_elsewhere() -> bool:
    """True (with a notice that refreshes itself) while another session's job runs."""
    job = JOB_SLOT.running()
    if job is None or job.owner == session_owner():
        return False
    _busy_notice()
    return True


@st.fragment(run_every=BUSY_POLL_S)
def _busy_notice() -> None:
    job = JOB_SLOT.running()
    if job is None:
        st.rerun(scope="app")  # the slot is free: enable Start
    st.info(busy_text(job.progress()))


# ---------------------------------------------------------------------------- the panel


def show_job(job: Job | None, key: str) -> None:
    """The live panel while ``job`` runs (and until its results were drawn), then how it
    ended: cancelled or failed, and its loss curve if it has one."""
    if job is None:
        return
    if not job.progress().finished or st.session_state.get(_shown_key(job.kind)) != job.id:
        st.session_state[DRAWING_KEY] = True
        try:
            _live_panel(job.id, key)
        finally:
            st.session_state[DRAWING_KEY] = False
    if running(job):
        return
    if job.state == "cancelled":
        st.warning(t("jobs.cancelled"))
    elif job.state == "failed":
        st.error(t("jobs.failed", error=job.error))
    _loss_chart(job, key=f"{key}_loss_{job.id}")


def mark_shown(job: Job | None) -> None:
    """Call last on the page: its run was not cut short, so the results are on screen."""
    if job is not None and job.progress().finished:
        st.session_state[_shown_key(job.kind)] = job.id


def _loss_chart(job: Job, key: str) -> None:
    history = job.history()
    if not any("train_loss" in point or "eval_loss" in point for point in history):
        return
    chart = loss_chart(
        history,
        total_steps=job.progress().total_steps or None,
        train_name=t("jobs.train_loss"),
        eval_name=t("jobs.eval_loss"),
        step_title=t("jobs.step"),
        loss_title=t("jobs.loss_axis"),
    )
    st.altair_chart(chart, key=key, width="stretch")


@st.fragment(run_every=POLL_S)
def _live_panel(job_id: int, key: str) -> None:
    """Progress bar, Cancel and the live loss chart, redrawn every ``POLL_S`` s."""
    job = JOB_SLOT.get(job_id)
    if job is None or job.progress().finished:
        # Only from a tick of its own: drawn within a page run, that run shows the results.
        shown = job is not None and st.session_state.get(_shown_key(job.kind)) == job_id
        if not shown and not st.session_state.get(DRAWING_KEY):
            st.rerun(scope="app")  # show the results (and a new output in the picker)
        return
    progress = job.progress()
    st.progress(progress.fraction, text=progress_text(progress))
    if job.should_stop():
        st.info(t("jobs.cancelling"))
    elif st.button(t("jobs.cancel"), key=f"{key}_cancel"):
        job.cancel()
        st.info(t("jobs.cancelling"))
    _loss_chart(job, key=f"{key}_live_loss")
