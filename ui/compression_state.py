"""Glue of the Compression lab: the session's job, its corpus, holding and saving results.

A run is a background job in the process-wide ``JOB_SLOT`` (shared with fine-tuning: one
at a time), owned by this browser session. A finished run keeps its compressed model
so it can be saved; only ``MAX_HELD_VARIANTS`` such models are kept in the whole process
(each is up to the size of the model), older results keep their measurements only.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import streamlit as st

from llm_core.compression.run import CompressionRequest, CompressionResult, run_compression
from llm_core.errors import InputError
from llm_core.jobs import JOB_SLOT, Job
from llm_core.models.loading import LoadedModel
from llm_core.models.outputs import output_path
from llm_core.text.corpus import Corpus, load_corpus, read_corpus, sample_corpora
from ui.background import session_owner, start_job

JOB_KIND = "compress"
MAX_HELD_VARIANTS = 1
_held: list[CompressionResult] = []
_held_lock = threading.Lock()


def latest_job() -> Job | None:
    return JOB_SLOT.latest(owner=session_owner(), kind=JOB_KIND)


def _hold(result: Any) -> Any:
    """Keep ``result``'s model; release the oldest ones beyond ``MAX_HELD_VARIANTS``."""
    if isinstance(result, CompressionResult):
        with _held_lock:
            _held.append(result)
            while len(_held) > MAX_HELD_VARIANTS:
                _held.pop(0).release()
    return result


def start(
    reference: LoadedModel,
    corpus: Corpus,
    request: CompressionRequest,
    sweep_levels: tuple[float, ...] | None = None,
) -> Job:
    """Start the run in the background; raises ``SlotBusyError`` or ``InputError``."""
    request = request.validate()
    if sweep_levels is not None:
        from llm_core.compression.sweep import check_sweep, run_sweep

        levels = check_sweep(sweep_levels)

        def work(job: Job) -> Any:
            return run_sweep(job, reference, corpus, levels, request)

        description = f"sparsity sweep of {reference.description.name}"
    else:

        def work(job: Job) -> Any:
            return _hold(run_compression(job, reference, corpus, request))

        description = f"{request.method} of {reference.description.name}"
    return start_job(JOB_KIND, description, work)


@st.cache_data(max_entries=8, show_spinner=False)
def _read_upload(data: bytes, name: str) -> Corpus:
    return read_corpus(data, name)


def corpus_choices() -> list[str]:
    return list(sample_corpora())


def page_corpus(sample: str | None, upload: Any) -> Corpus:
    """The uploaded corpus if any, else the chosen sample; ``InputError`` if neither."""
    if upload is not None:
        return _read_upload(upload.getvalue(), upload.name)
    if not sample:
        raise InputError("No sample corpus is installed: upload a .txt, .md, .jsonl or .csv file.")
    return load_corpus(sample)


def save(result: CompressionResult, name: str) -> Path:
    """Save the result's model as the output ``name`` (atomically)."""
    from llm_core.compression.run import save_compressed

    return save_compressed(result, output_path(name))
