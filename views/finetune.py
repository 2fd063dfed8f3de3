"""Fine-tuning studio: pick a corpus, train (LoRA, full or from scratch) in the background,
watch the loss fall, then compare perplexity, samples and attention before and after."""

import streamlit as st

from ui.corpus_picker import choose_corpus
from ui.finetune_results import show_result
from ui.finetune_settings import KIND, choose_settings, show_plan, start_finetune
from ui.i18n import t
from ui.job_panel import busy_elsewhere, latest_job, mark_shown, running, show_job
from ui.model_loader import page_model
from ui.saved_models import show_outputs

st.title(t("finetune.title"))
st.markdown(t("finetune.intro"))
loaded, spec = page_model()
st.caption(t("finetune.base_model", name=loaded.description.name))

st.subheader(t("finetune.corpus_heading"))
corpus = choose_corpus(loaded, spec)

st.subheader(t("finetune.settings_heading"))
settings, name = choose_settings(loaded, spec)
plan = show_plan(loaded, spec, corpus, settings)  # the engine's checks, cached

st.subheader(t("finetune.run_heading"))
job = latest_job(KIND)
blocked = busy_elsewhere()
disabled = plan is None or running(job) or blocked
if st.button(t("finetune.start"), type="primary", disabled=disabled, key="ft_start") and plan:
    job = start_finetune(loaded, spec, plan, name) or job

show_job(job, key="ft")  # progress, live loss and Cancel; then how it ended
if job is not None and job.state == "done":
    st.subheader(t("finetune.results_heading"))
    show_result(job.result, job.id)

st.divider()
show_outputs()
mark_shown(job)
