"""AppTest of the Fine-tuning studio: corpus checks, start, live progress, results, cancel,
a busy slot, and saved models. A tiny random model keeps training fast."""

from __future__ import annotations

import gc
import threading

import pytest
from apptest_pages import JOB_WAIT_S, ROOT, TIMEOUT_S, TINY, assert_clean, run_until
from streamlit.testing.v1 import AppTest

from llm_core.jobs import JOB_SLOT

pytestmark = [pytest.mark.app, pytest.mark.usefixtures("free_job_slot")]

PAGE = str(ROOT / "views" / "finetune.py")
CATS = "\n\n".join(f"The cat sat on the mat. The dog sat on the log. ({i})" for i in range(40))


def open_studio(lang: str = "en") -> AppTest:
    """The page alone, as the sidebar would leave it with the tiny model picked (app.py's
    sidebar under AppTest: see apptest_pages)."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = lang
    at.session_state["model_spec"] = TINY
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="ft_source").set_value("upload").run()
    at.file_uploader(key="ft_upload").set_value((name, data, "text/plain")).run()
    return at


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


@pytest.mark.parametrize(
    ("lang", "title", "tokens"),
    [("en", "Fine-tuning studio", "Tokens"), ("zh", "微调工作室", "词元数")],
)
def test_sample_corpus_counts_and_plan(tiny, lang, title, tokens):
    at = open_studio(lang)
    assert_clean(at)
    assert at.title[0].value == title
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics[tokens].replace(",", "")) > 50_000  # tang300 for the tiny tokenizer
    assert not at.button(key="ft_start").disabled
    assert any("24,576" in c.value for c in at.caption)  # 48 steps x 4 x 128 tokens


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("bad.jsonl", b'{"text": "a"}\n{oops}\n', "Line 2"),
    ],
)
def test_each_bad_upload_gets_its_message_and_no_train_button(tiny, name, data, message):
    at = upload(open_studio(), name, data)
    assert_clean(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="ft_start").disabled


def test_too_large_and_too_short_uploads(tiny, monkeypatch):
    from llm_core.text import corpus

    monkeypatch.setattr(corpus, "MAX_CORPUS_BYTES", 1000)
    at = upload(open_studio(), "big.txt", b"word " * 300)
    assert any("limited to" in e.value for e in at.error)
    at = upload(open_studio(), "short.txt", b"One cat.\n\nTwo cats.\n\nThree cats.")
    assert_clean(at)  # the engine's plan says so before Train is pressed
    assert any("too short" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="ft_start").disabled
    assert JOB_SLOT.running() is None


def test_jsonl_upload_offers_its_fields_and_guesses_the_text(tiny):
    data = b'{"id": "1", "verse": "The cat sat."}\n{"id": "2", "verse": "The dog sat."}\n'
    at = upload(open_studio(), "v.jsonl", data)
    assert_clean(at)
    field = at.selectbox(key="ft_field")
    assert field.options == ["id", "verse"] and field.value == "verse"  # the longer texts
    # read without error; only the plan says two sentences are too short to train on
    assert [e.value for e in at.error if "too short" not in e.value] == []
    assert {m.label: m.value for m in at.metric}["Documents"] == "2"
    field.set_value("id").run()
    assert "(JSON Lines, field 'id')" in " ".join(c.value for c in at.caption)


def test_upload_train_progress_results_and_saved_model(tiny):
    at = upload(open_studio(), "cats.txt", CATS.encode())
    assert {m.label: m.value for m in at.metric}["Documents"] == "40"
    at.number_input(key="ft_steps").set_value(6)
    at.select_slider(key="ft_block").set_value(32)
    at.text_input(key="ft_name").input("cats-run").run()
    at.button(key="ft_start").click().run()
    assert_clean(at)
    assert progress_texts(at), "a progress bar appears at once"
    run_until(at, lambda at: bool(at.success))
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Validation perplexity after"].replace(",", "")) > 0
    assert "cats-run" in at.success[0].value
    assert len(at.get("plotly_chart")) == 3  # attention before / after / difference
    assert len(at.get("vega_lite_chart")) == 1  # the loss curve
    table = at.dataframe[0].value
    assert "cats-run" in set(table["Name"])
    assert (tiny / "cats-run" / "provenance.json").is_file()
    assert not at.button(key="ft_start").disabled  # the slot is free again
    assert gc.get_freeze_count() == 0  # frozen for the job's duration only


def test_cancel_stops_the_job_and_saves_nothing(tiny):
    at = upload(open_studio(), "cats.txt", CATS.encode())
    at.number_input(key="ft_steps").set_value(100_000)
    at.select_slider(key="ft_block").set_value(32)
    at.text_input(key="ft_name").input("never-saved").run()
    at.button(key="ft_start").click().run()
    run_until(at, lambda at: any("Training · step" in p for p in progress_texts(at)))
    assert at.button(key="ft_start").disabled  # one job per process
    at.button(key="ft_cancel").click().run()
    assert_clean(at)
    run_until(at, lambda at: bool(at.warning))
    assert "nothing was saved" in at.warning[0].value
    assert not (tiny / "never-saved").exists()
    assert sorted(p.name for p in tiny.iterdir() if not p.name.startswith(".")) == [TINY]


def test_a_second_user_sees_the_slot_busy(tiny):
    release = threading.Event()

    def other_users_job(job):
        job.report(3, 10, "training")
        release.wait(JOB_WAIT_S)

    job = JOB_SLOT.start("finetune", "full · poems → theirs", other_users_job, owner="someone else")
    try:
        at = open_studio()
        assert_clean(at)
        assert at.button(key="ft_start").disabled
        assert any("full · poems → theirs" in i.value and "step 3/10" in i.value for i in at.info)
    finally:
        release.set()
        job.wait(JOB_WAIT_S)
    at.run()
    assert not at.button(key="ft_start").disabled


def test_choices_survive_a_language_switch(tiny):
    at = open_studio()
    at.radio(key="ft_method").set_value("scratch").run()
    at.session_state["lang"] = "zh"
    at.run()
    assert_clean(at)
    assert at.radio(key="ft_method").value == "scratch"
    assert at.selectbox(key="ft_sample_zh").value == "tang300"
    assert at.radio(key="ft_source").value == "sample"
