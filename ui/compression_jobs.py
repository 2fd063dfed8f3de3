"""Starting a Compression lab run as this session's background job, and keeping its
compressed model until it is saved.

A run is a job in the process-wide ``JOB_SLOT`` (shared with fine-tuning: one at a
time). A finished run keeps its compressed model so it can be saved; only
``MAX_HELD_VARIANTS`` such models are kept in the whole process (each is up to the size
of the model), older results keep their measurements only.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from llm_core.compression.run import CompressionResult, run_compression, save_compressed
from llm_core.compression.sweep import SweepResult, check_sweep, run_sweep
from llm_core.errors import InputError, LLMCoreError
from llm_core.jobs import Job
from llm_core.models.loading import LoadedModel
from llm_core.models.outputs import output_path
from llm_core.text.corpus import Corpus
from ui import job_panel
from ui.compression_settings import CompressionChoice
from ui.corpus_picker import read_upload, sample

KIND = "compress"
MAX_HELD_VARIANTS = 1
_held: list[CompressionResult] = []
_held_lock = threading.Lock()


def _hold(result: CompressionResult) -> CompressionResult:
    """Keep ``result``'s model; release the oldest ones beyond ``MAX_HELD_VARIANTS``."""
    with _held_lock:
        _held.append(result)
        while len(_held) > MAX_HELD_VARIANTS:
            _held.pop(0).release()
    return result


def _corpus(choice: CompressionChoice) -> Corpus:
    """The uploaded corpus if any, else the chosen sample; ``InputError`` if neither."""
    if choice.upload is not None:
        return read_upload(choice.upload.getvalue(), choice.upload.name)
    if not choice.sample:
        raise InputError("No sample corpus is installed: upload a .txt, .md, .jsonl or .csv file.")
    return sample(choice.sample)


def start_compression(reference: LoadedModel, spec: str, choice: CompressionChoice) -> Job | None:
    """Check the choice and start its run; None, with the reason shown, if it cannot."""
    try:
        corpus = _corpus(choice)
        request = choice.request.validate()
        levels = check_sweep(choice.sweep_levels) if choice.sweep_levels is not None else None
    except LLMCoreError as error:
        st.error(str(error))
        return None

    def work(job: Job) -> CompressionResult | SweepResult:
        if levels is not None:
            return run_sweep(job, reference, corpus, levels, request)
        return _hold(run_compression(job, reference, corpus, request, base_spec=spec))

    method = "sweep" if levels is not None else request.method
    return job_panel.start(KIND, reference.description.name, work, method=method)


def save(result: CompressionResult, name: str) -> Path:
    """Save the result's model as the output ``name`` (atomically)."""
    return save_compressed(result, output_path(name))
