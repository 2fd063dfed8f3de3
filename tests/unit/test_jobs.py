"""Jobs: progress, history, cancel, failure, and one running job per slot."""

from __future__ import annotations

import threading

import pytest

from llm_core.errors import InputError
from llm_core.jobs import (
    KEPT_FINISHED_JOBS,
    MAX_HISTORY_POINTS,
    Job,
    JobCancelledError,
    JobSlot,
    SlotBusyError,
)

WAIT_S = 30


def test_run_returns_the_result_and_keeps_progress_and_history():
    def work(job):
        for step in range(1, 4):
            job.report(step, 3, "training", tokens_per_s=10.0 * step)
            job.log(step=step, train_loss=3.0 / step)
        return {"output": "x"}

    job = Job("finetune", "three steps", work)
    assert job.run() == {"output": "x"}
    progress = job.progress()
    assert (job.state, progress.step, progress.total_steps) == ("done", 3, 3)
    assert progress.fraction == 1.0 and progress.finished and progress.eta_s == 0.0
    assert progress.metrics == {"tokens_per_s": 30.0} and progress.stage == "training"
    assert [p["train_loss"] for p in job.history()] == [3.0, 1.5, 1.0]
    job.history()[0]["train_loss"] = 99  # a copy: the job's history is not changed
    assert job.history()[0]["train_loss"] == 3.0


def test_eta_is_unknown_until_two_steps_then_extrapolates(monkeypatch):
    """30 s of set-up before step 1, then 10 s a step: 5 steps left take 50 s (the set-up
    is not extrapolated: elapsed / steps would say 70 s)."""
    clock = [0.0]
    monkeypatch.setattr("llm_core.jobs.time.monotonic", lambda: clock[0])
    seen = []

    def work(job):
        job.report(0, 10, "preparing")
        seen.append(job.progress().eta_s)
        clock[0] = 30.0
        job.report(1, 10, "training")
        seen.append(job.progress().eta_s)
        clock[0] = 70.0
        job.report(5, 10)
        seen.append(job.progress().eta_s)
        clock[0] = 75.0  # half a step later, the estimate has counted down
        seen.append(job.progress().eta_s)

    Job("k", "d", work).run()
    assert seen[0] is None and seen[1] is None
    assert seen[2] == pytest.approx(50.0) and seen[3] == pytest.approx(45.0)


def test_stages_are_keys_with_english_for_the_cli():
    def work(job):
        job.report(1, 4, "pruning_to", sparsity=0.5)
        assert job.progress().stage == "pruning_to"
        assert job.progress().stage_text == "pruning to 50%"
        job.report(2, 4)  # no stage: the current one stays
        assert job.progress().stage == "pruning_to"
        job.report(3, 4, "measuring quality")  # prose, not a key

    job = Job("k", "d", work)
    with pytest.raises(ValueError, match="unknown job stage 'measuring quality'"):
        job.run()
    assert Job("k", "d", lambda job: None).progress().stage == "starting"


def test_a_failing_work_is_recorded_and_raised():
    def work(job):
        raise InputError("The corpus is too short.")

    job = Job("k", "d", work)
    with pytest.raises(InputError):
        job.run()
    assert job.state == "failed" and job.error == "The corpus is too short."
    assert job.progress().error == "The corpus is too short."


def test_an_unexpected_error_names_its_type_and_place():
    job = Job("k", "d", lambda job: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        job.run()
    assert job.error.startswith("ZeroDivisionError") and "test_jobs.py" in job.error


def test_cancel_stops_a_work_that_checks_should_stop():
    started, steps = threading.Event(), []

    def work(job):
        started.set()
        for step in range(10_000):
            if job.should_stop():
                raise JobCancelledError("cancelled")
            steps.append(step)
            threading.Event().wait(0.001)
        return "finished"

    job = Job("k", "d", work)
    job.run_in_thread()
    assert started.wait(WAIT_S)
    job.cancel()
    assert job.wait(WAIT_S)
    assert job.state == "cancelled" and job.result is None and len(steps) < 10_000


def test_a_work_that_returns_after_cancel_counts_as_cancelled():
    def work(job):
        job.cancel()  # e.g. the user pressed Cancel just as the last step ended
        return "result"

    job = Job("k", "d", work)
    with pytest.raises(JobCancelledError):
        job.run()
    assert job.state == "cancelled" and job.result is None


def test_checkpoint_waits_for_a_session_and_a_cancel_ends_the_wait():
    from llm_core.serving.gate import INTERACTIVE

    at_checkpoint, passed = threading.Event(), threading.Event()

    def work(job):
        at_checkpoint.set()
        job.checkpoint()  # a session is busy: the job waits here
        passed.set()
        return "finished"

    job = Job("k", "d", work)
    with INTERACTIVE.busy():
        job.run_in_thread()
        assert at_checkpoint.wait(WAIT_S)
        assert not passed.wait(0.3)  # held while the session's work is in flight
        job.cancel()
        assert job.wait(WAIT_S)  # the cancel ended the wait within its 1 s slice
        assert INTERACTIVE.active == 1  # ... not the session finishing
    assert job.state == "cancelled" and not passed.is_set()


def test_history_is_capped():
    def work(job):
        for step in range(MAX_HISTORY_POINTS + 5):
            job.log(step=step)

    job = Job("k", "d", work)
    job.run()
    assert len(job.history()) == MAX_HISTORY_POINTS


def test_listener_hears_reports_and_the_end():
    heard = []
    job = Job("k", "d", lambda job: job.report(1, 2, "training"), listener=heard.append)
    job.run()
    assert [p.state for p in heard] == ["running", "done"]
    assert heard[0].step == 1 and heard[-1].finished


def test_slot_runs_one_job_at_a_time_and_says_what_runs():
    slot, release = JobSlot(), threading.Event()

    def blocking(job):
        job.report(2, 8, "training")
        release.wait(WAIT_S)
        return "first"

    first = slot.start("finetune", "LoRA on tang300", blocking, owner="alice")
    with pytest.raises(SlotBusyError) as busy:
        slot.start("finetune", "full on poems", lambda job: None, owner="bob")
    assert busy.value.running.description == "LoRA on tang300"
    assert "one job runs at a time" in str(busy.value)
    assert slot.running() is first
    release.set()
    assert first.wait(WAIT_S) and first.result == "first"
    assert slot.running() is None
    second = slot.start("finetune", "full on poems", lambda job: "second", owner="bob")
    assert second.wait(WAIT_S) and second.result == "second"


def test_slot_finds_jobs_by_owner_and_kind_and_forgets_old_ones():
    slot = JobSlot()
    jobs = []
    for index in range(KEPT_FINISHED_JOBS + 3):
        owner = "alice" if index % 2 else "bob"
        job = slot.start("finetune" if index % 3 else "distil", str(index), lambda j: 0, owner)
        assert job.wait(WAIT_S)
        jobs.append(job)
    last_alice = [j for j in jobs if j.owner == "alice"][-1]
    assert slot.latest(owner="alice") is last_alice
    assert slot.latest(kind="distil").kind == "distil"
    assert slot.latest(owner="nobody") is None
    assert slot.get(jobs[-1].id) is jobs[-1]
    assert slot.get(jobs[0].id) is None  # finished long ago: forgotten
    kept = [j for j in jobs if slot.get(j.id) is not None]
    assert len(kept) <= KEPT_FINISHED_JOBS + 1


def test_a_failing_job_frees_the_slot():
    slot = JobSlot()
    job = slot.start("k", "d", lambda job: 1 / 0)
    assert job.wait(WAIT_S) and job.state == "failed"
    assert slot.running() is None
