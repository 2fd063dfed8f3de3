"""Compression lab: quantize, prune or distil a copy of the model and measure the price."""

import streamlit as st

from ui.compression_jobs import KIND, start_compression
from ui.compression_results import show_compression_result
from ui.compression_settings import choose_compression
from ui.i18n import t
from ui.job_panel import busy_elsewhere, latest_job, mark_shown, running, show_job
from ui.model_loader import page_model

st.title(t("compression.title"))
st.write(t("compression.intro"))
reference, spec = page_model()

choice = choose_compression(reference.description)

job = latest_job(KIND)
blocked = busy_elsewhere()
if st.button(t("compression.run"), type="primary", disabled=running(job) or blocked, key="cmp_run"):
    job = start_compression(reference, spec, choice) or job

show_job(job, key="cmp")  # progress, live loss and Cancel; then how it ended
if job is not None and job.state == "done":
    show_compression_result(job.result)
mark_shown(job)
