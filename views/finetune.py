"""Fine-tuning studio: pick a corpus, train (LoRA, full or from scratch) in the background,
watch the loss fall, then compare perplexity, samples and attention before and after."""

import streamlit as st

from ui.finetune_results import show_outputs, show_result
from ui.finetune_state import (
    busy_elsewhere,
    choose_corpus,
    choose_settings,
    draw_live_panel,
    latest_job,
    loss_chart,
    mark_shown,
    needs_panel,
    show_plan,
    start,
)
from ui.i18n import t
from ui.model_loader import page_model

st.title(t("finetune.title"))
st.markdown(t("finetune.intro"))
loaded, spec = page_model()
st.caption(t("finetune.base_model", name=loaded.description.name))

st.subheader(t("finetune.corpus_heading"))
corpus = choose_corpus(loaded, spec)

st.subheader(t("finetune.settings_heading"))
settings, name = choose_settings(loaded)
if corpus is not None:
    show_plan(loaded, corpus, settings, spec)

st.subheader(t("finetune.run_heading"))
job = latest_job()
running = job is not None and not job.progress().finished
blocked = busy_elsewhere()
clicked = st.button(
    t("finetune.start"),
    type="primary",
    disabled=corpus is None or running or blocked,
    key="ft_start",
)
if clicked and corpus is not None:
    start(loaded, spec, corpus, settings, name)
    job = latest_job()
    running = job is not None and not job.progress().finished

if needs_panel(job):
    draw_live_panel(job)
if job is not None and not running:
    if job.state == "cancelled":
        st.warning(t("finetune.cancelled"))
    elif job.state == "failed":
        st.error(t("finetune.failed", error=job.error))
    if job.history():
        loss_chart(job, key=f"ft_loss_{job.id}")
    if job.state == "done":
        st.subheader(t("finetune.results_heading"))
        show_result(job.result, job.id)

st.divider()
show_outputs()
mark_shown(job)
