"""AppTest of the Compression lab: every technique's settings, a run with its table,
samples and drift, saving, a cancel, bad input, and a busy slot in both languages. A
tiny random model keeps the runs fast."""

from __future__ import annotations

import json
import threading

import pytest
from apptest_pages import JOB_WAIT_S, ROOT, TIMEOUT_S, TINY, assert_clean, open_page, run_until
from streamlit.testing.v1 import AppTest

from llm_core.jobs import JOB_SLOT
from ui.catalog import CATALOG

pytestmark = [pytest.mark.app, pytest.mark.usefixtures("free_job_slot")]

PAGE = str(ROOT / "views" / "compression.py")


def open_lab(lang: str = "en", technique: str = "prune") -> AppTest:
    """The page alone, as the sidebar leaves it with the tiny model picked."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = lang
    at.session_state["model_spec"] = TINY
    at.session_state["cmp_technique"] = technique
    at.run()
    at.number_input(key="cmp_eval_tokens").set_value(512)
    return at


def has_result(at: AppTest) -> bool:
    return any(m.label in ("Top-1 agreement", "Top-1 一致率") for m in at.metric)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "Compression lab: smaller, faster — at what price?"), ("zh", "模型压缩实验室")],
)
def test_the_lab_opens_through_the_app_in_both_languages(lang, title):
    at = open_page("views/compression.py", lang)
    assert_clean(at)
    assert at.title[0].value.startswith(title)
    assert not at.error


# Each technique's own widgets (key -> catalog key of its label); the measurement
# settings are shared by all of them.
SETTINGS = {
    "int8": {"cmp_keep_outliers": "compression.keep_outliers"},
    "bf16": {},
    "prune": {"cmp_sparsity": "compression.sparsity", "cmp_scope": "compression.scope"},
    "heads": {"cmp_heads": "compression.head_fraction"},
    "distill": {
        "cmp_student": "compression.student_layers",
        "cmp_width": "compression.width",
        "cmp_steps": "compression.steps",
        "cmp_temp": "compression.temperature",
        "cmp_alpha": "compression.alpha",
    },
    "sweep": {"cmp_sweep_levels": "compression.sweep_levels", "cmp_scope": "compression.scope"},
}


def widget_labels(at: AppTest) -> dict[str, str]:
    """key -> label of every keyed widget on the page."""
    kinds = ("checkbox", "slider", "select_slider", "radio", "number_input", "multiselect")
    return {w.key: w.label for kind in kinds for w in at.get(kind) if w.key}


@pytest.mark.parametrize("technique", list(SETTINGS))
def test_every_technique_shows_its_settings(tiny, technique):
    at = open_lab("zh", technique)
    assert_clean(at)
    shown = widget_labels(at)
    own = SETTINGS[technique]
    assert {key: shown.get(key) for key in own} == {
        key: CATALOG[label]["zh"] for key, label in own.items()
    }
    others = {key for settings in SETTINGS.values() for key in settings} - set(own)
    assert not others & set(shown), f"{technique} shows another technique's settings"
    explain = CATALOG[f"compression.explain.{technique}"]["zh"]
    assert any(c.value == explain for c in at.caption)
    assert not at.button(key="cmp_run").disabled


def test_a_run_shows_the_comparison_and_saves(tiny):
    at = open_lab("en", "prune")
    at.slider(key="cmp_sparsity").set_value(60)
    at.button(key="cmp_run").click().run()
    run_until(at, has_result)
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0])[:2] == ["Parameters", "All tensors (MB)"]
    sparsity = table[table.iloc[:, 0] == "Sparsity of linear weights"].iloc[0, 2]
    assert sparsity == "60.00 %"
    assert len(at.get("vega_lite_chart")) == 1 and len(at.get("plotly_chart")) == 1  # size, drift
    sizes = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    (bars,) = [layer for layer in sizes["layer"] if layer["mark"]["type"] == "bar"]
    assert bars["encoding"]["color"]["scale"]["domain"] == ["Original", "Compressed"]
    assert bars["encoding"]["y"]["sort"] == ["All tensors (MB)", "Linear-layer weights (MB)"]
    form_name = [w for w in at.text_input if w.label == "Output name"][0]
    form_name.set_value("lab-pruned-60")
    (save,) = [b for b in at.button if b.label == "Save"]  # the form's, wherever it is drawn
    save.click().run()
    assert_clean(at)
    assert (tiny / "lab-pruned-60" / "model.safetensors").is_file()
    assert any("lab-pruned-60" in s.value for s in at.success)
    assert any(b.label == "Compare with the base model" for b in at.button)


def test_a_cancelled_run_says_so_and_keeps_nothing(tiny):
    at = open_lab("en", "distill")
    at.button(key="cmp_run").click().run()
    job = JOB_SLOT.latest(kind="compress")
    job.cancel()
    assert job.wait(JOB_WAIT_S)
    run_until(at, lambda at: any("cancelled" in w.value for w in at.warning))
    assert not has_result(at)
    assert sorted(p.name for p in tiny.iterdir() if not p.name.startswith(".")) == [TINY]


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ["fine-tuning", "One job runs at a time"]), ("zh", ["微调", "一次只运行一个任务"])],
)
def test_a_busy_slot_is_explained_in_the_ui_language(tiny, lang, words):
    release = threading.Event()
    JOB_SLOT.start("finetune", "tang300 → theirs", lambda job: release.wait(JOB_WAIT_S))
    try:
        at = open_lab(lang, "int8")
        assert_clean(at)
        assert at.button(key="cmp_run").disabled
        (notice,) = [i.value for i in at.info if "tang300 → theirs" in i.value]
        assert all(word in notice for word in words), notice
        assert "Another job is running" not in notice  # the engine's English SlotBusyError
    finally:
        release.set()


def test_an_empty_upload_is_refused_and_the_page_keeps_working(tiny):
    at = open_lab("en", "int8")
    at.file_uploader(key="cmp_upload").set_value(("empty.txt", b"  ", "text/plain")).run()
    before = JOB_SLOT.latest()
    at.button(key="cmp_run").click().run()
    assert_clean(at)
    assert any("empty" in e.value for e in at.error)
    assert JOB_SLOT.latest() is before  # no job was started
    at.file_uploader(key="cmp_upload").set_value(None).run()
    assert_clean(at)
    assert not at.error
