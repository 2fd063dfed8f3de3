"""The job panel speaks the UI's language. Each job kind (fine-tuning, every compression
technique including distillation, the sparsity sweep) runs on a tiny model while every
progress it reports is recorded; the panel then words each one with the UI in Chinese,
and no English stage text may be in it. One run through the Compression lab in Chinese
checks the same on the page itself."""

from __future__ import annotations

import re

import pytest
from apptest_pages import ROOT, TIMEOUT_S, TINY, assert_clean, run_until
from streamlit.testing.v1 import AppTest

from llm_core.compression.distillation import DistillSettings
from llm_core.compression.run import CompressionRequest, run_compression
from llm_core.compression.sweep import run_sweep
from llm_core.jobs import JOB_SLOT, STAGES, Job, JobProgress
from llm_core.text.corpus import Corpus, load_corpus
from llm_core.training.finetune import run_finetune
from llm_core.training.settings import FinetuneSettings
from ui.catalog import CATALOG

pytestmark = [pytest.mark.app, pytest.mark.usefixtures("one_torch_thread")]

MEASURE = {"eval_tokens": 256, "sample_tokens": 4}
DISTILL = DistillSettings(student_layers=1, steps=3, block_length=32, batch_size=2)
TECHNIQUES = ("int8", "bf16", "prune", "heads", "distill")
KINDS = ("finetune", *TECHNIQUES, "sweep")
WORD = re.compile(r"[A-Za-z]+")


def _english_words() -> set[str]:
    """Words of the English job texts (the engine's stages, the panel's catalog) that
    their Chinese versions do not share (such as "LoRA" or "int8")."""
    english, chinese = set(), set()
    for key, texts in CATALOG.items():
        if key.startswith("jobs."):
            english |= set(WORD.findall(texts["en"]))
            chinese |= set(WORD.findall(texts["zh"]))
    for text in STAGES.values():
        english |= set(WORD.findall(text))
    return {word.lower() for word in english - chinese}


def _work(kind: str, loaded, tmp_path):
    if kind == "finetune":
        corpus = Corpus("cats", tuple(f"The cat sat on the mat. ({i})" * 3 for i in range(30)), "t")
        settings = FinetuneSettings(
            method="lora", steps=3, block_length=8, batch_size=2, eval_tokens=32, sample_tokens=4
        )
        return lambda job: run_finetune(job, loaded, corpus, settings, tmp_path / "cats")
    tang = load_corpus("tang300")
    if kind == "sweep":
        request = CompressionRequest(method="prune", **MEASURE)
        return lambda job: run_sweep(job, loaded, tang, (0.0, 0.5), request)
    request = CompressionRequest(method=kind, distill=DISTILL, **MEASURE)
    return lambda job: run_compression(job, loaded, tang, request)


@pytest.fixture(scope="module")
def reported(tiny_models, tmp_path_factory) -> dict[str, list[JobProgress]]:
    """kind -> every progress its job reported, first to last."""
    found: dict[str, list[JobProgress]] = {}
    for kind in KINDS:
        found[kind] = []
        work = _work(kind, tiny_models["llama"], tmp_path_factory.mktemp(kind))
        method = "lora" if kind == "finetune" else kind
        Job("finetune" if kind == "finetune" else "compress", "唐诗 → 输出", work,
            listener=found[kind].append, method=method).run()  # fmt: skip
    return found


def panel_texts(progresses: list[JobProgress]) -> list[str]:
    """What the panel says of each progress (its bar's text and the busy notice), with
    the UI in Chinese."""

    def script(progresses):
        import streamlit as st

        from ui.job_panel import busy_text, progress_text

        for progress in progresses:
            st.text(progress_text(progress))
            st.text(busy_text(progress))

    at = AppTest.from_function(script, args=(progresses,), default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "zh"
    at.run()
    assert_clean(at)
    return [text.value for text in at.text]


def test_every_stage_a_job_reports_has_both_languages(reported):
    stages = {p.stage for progresses in reported.values() for p in progresses}
    assert stages == set(STAGES) - {"starting"}  # every stage is reached by some job kind
    for stage in STAGES:
        assert f"jobs.stage.{stage}" in CATALOG, stage


@pytest.mark.parametrize("kind", KINDS)
def test_each_job_kind_reports_in_chinese(reported, kind):
    english = _english_words()
    texts = panel_texts(reported[kind])
    assert len(texts) == 2 * len(reported[kind]) > 2
    for text in texts:
        words = {word.lower() for word in WORD.findall(text)}
        assert not words & english, text
    stages = {CATALOG[f"jobs.stage.{p.stage}"]["zh"].split(" ")[0] for p in reported[kind]}
    assert all(any(stage in text for text in texts) for stage in stages)


def test_the_compression_lab_reports_a_distillation_in_chinese(tiny, free_job_slot):
    at = AppTest.from_file(str(ROOT / "views" / "compression.py"), default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "zh"
    at.session_state["model_spec"] = TINY
    at.session_state["cmp_technique"] = "distill"
    at.run()
    at.number_input(key="cmp_eval_tokens").set_value(256)
    at.number_input(key="cmp_steps").set_value(12).run()
    at.button(key="cmp_run").click().run()
    seen: list[str] = []

    def finished(at: AppTest) -> bool:
        seen.extend(p.proto.text for p in at.get("progress"))
        job = JOB_SLOT.latest(kind="compress")
        return job is not None and job.progress().finished and not at.get("progress")

    run_until(at, finished)
    assert seen, "the page showed no progress"
    english = _english_words()
    for text in seen:
        assert not {word.lower() for word in WORD.findall(text)} & english, text
    assert any(m.label == CATALOG["compression.top1"]["zh"] for m in at.metric)
