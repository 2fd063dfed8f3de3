"""The one cached model loader of the app.

Models load once per process through a bounded ``st.cache_resource`` and are shared by
every session. Pages never mutate them (fine-tuning copies), and every engine call that
runs one holds ``LoadedModel.lock``, so concurrent sessions never run a model at once.
"""

from __future__ import annotations

import gc
import os

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.default_model import (
    DEFAULT_SPEC,
    is_default_model_ready,
    prepare_default_model,
)
from llm_core.models.loading import LoadedModel, load_model, load_tokenizer
from llm_core.serving.worker import steps_on_one_thread
from llm_core.text.tokens import prepare_word_splitter
from ui.i18n import t
from ui.sidebar import selected_model_spec

# A class shares this server's cores: decode steps take one (see steps_on_one_thread).
steps_on_one_thread()

# Two models fit comfortably in a hosted container's memory (the default takes ~0.6 GB).
MAX_CACHED_MODELS = 2
# Hosted deployments set this to 0 so visitors cannot load arbitrary server folders.
ALLOW_LOCAL_PATHS = os.environ.get("LLM_EXPLORER_ALLOW_LOCAL_PATHS", "1") != "0"


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner=False)
def _load_cached(spec: str) -> LoadedModel:
    loaded = load_model(spec, allow_local_paths=ALLOW_LOCAL_PATHS)
    prepare_word_splitter()  # the first Chinese text would otherwise pay for it, GIL held
    # A full collection (Python's own, and Streamlit's after every script run where
    # runner.postScriptGC is on; .streamlit/config.toml turns it off) with torch,
    # transformers and a model on the heap (~0.5 M tracked objects) took 0.24 s. Freezing
    # what lives now (imports, models) leaves it out of every later collection
    # (benchmarks/rerun_memory.py measures it).
    # A model evicted later is still freed by reference counting, not by the collector.
    gc.collect()
    gc.freeze()
    return loaded


@st.cache_resource(max_entries=8, show_spinner=False)
def get_tokenizer(spec: str):
    """A model's tokenizer alone (no weights): for comparing several side by side.

    Raises ``LLMCoreError`` with a user-facing message.
    """
    return load_tokenizer(spec, allow_local_paths=ALLOW_LOCAL_PATHS)


def _prepare_default_with_progress() -> None:
    """First run only: convert the default model while showing a progress bar."""
    with st.status(t("loader.converting"), expanded=True) as status:
        bar = st.progress(0.0)
        prepare_default_model(lambda fraction, message: bar.progress(min(fraction, 1.0), message))
        status.update(label=t("loader.converted"), state="complete", expanded=False)


def get_model(spec: str) -> LoadedModel:
    """The loaded model for ``spec``; raises ``LLMCoreError`` with a user-facing message."""
    if spec == DEFAULT_SPEC and not is_default_model_ready():
        _prepare_default_with_progress()
    with st.spinner(t("loader.loading", name=spec)):
        return _load_cached(spec)


def get_model_or_default(spec: str) -> LoadedModel:
    """Like ``get_model``, but a failure shows the error and falls back to the default model."""
    if spec != DEFAULT_SPEC:
        try:
            return get_model(spec)
        except LLMCoreError as error:
            st.error(t("loader.failed", error=error))
            st.info(t("loader.fallback"))
    return get_model(DEFAULT_SPEC)


def page_model() -> tuple[LoadedModel, str]:
    """The model picked in the sidebar, and the spec it was loaded by: the default's after
    a fallback, so caches keyed by spec match the model shown. When not even the default
    model loads, shows why and stops the page."""
    spec = selected_model_spec()
    try:
        loaded = get_model_or_default(spec)
    except LLMCoreError as error:
        st.error(str(error))
        st.stop()
    return loaded, DEFAULT_SPEC if loaded.source.kind == "default" else spec
