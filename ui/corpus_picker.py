"""Choosing a corpus: a bundled sample or an upload, read (and checked) by the engine,
cached per file, with its counts and a preview. Fine-tuning shows the whole picker;
compression reads its corpus through the same cached readers."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel
from llm_core.text.corpus import (
    MAX_CORPUS_BYTES,
    SUPPORTED_SUFFIXES,
    Corpus,
    guess_text_field,
    load_corpus,
    read_corpus,
    sample_corpora,
    text_fields,
)
from llm_core.training.plan import count_corpus_tokens
from ui.catalog import CATALOG
from ui.i18n import choice_radio, current_language, t

PREVIEW_DOCUMENTS = 3
PREVIEW_CHARS = 600
DEFAULT_SAMPLE = "tang300"
SOURCES = ("sample", "upload")
UPLOAD_TYPES = [suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES]


@st.cache_data(max_entries=16, show_spinner=False)
def read_upload(data: bytes, filename: str, text_field: str | None = None) -> Corpus:
    return read_corpus(data, filename, text_field)


@st.cache_data(max_entries=16, show_spinner=False)
def _fields(data: bytes, filename: str) -> tuple[list[str], str | None]:
    """(the file's text fields or columns, the likeliest one); ([], None) for plain text."""
    fields = text_fields(data, filename)
    return fields, guess_text_field(data, filename) if fields else None


@st.cache_data(max_entries=8, show_spinner=False)
def sample(name: str) -> Corpus:
    return load_corpus(name)


@st.cache_data(max_entries=16, show_spinner=False)
def _n_tokens(_base: LoadedModel, spec: str, corpus: Corpus) -> int:
    return count_corpus_tokens(_base, corpus)


def sample_labels() -> dict[str, str]:
    """Bundled sample name -> its label in the UI's language (a dict: see i18n.labels)."""
    keys = {name: f"finetune.sample.{name}" for name in sample_corpora()}
    return {name: t(key) if key in CATALOG else name for name, key in keys.items()}


def _upload() -> Corpus | None:
    uploaded: UploadedFile | None = st.file_uploader(
        t("finetune.upload"),
        type=UPLOAD_TYPES,
        key="ft_upload",
        help=t("finetune.upload_help", limit=f"{MAX_CORPUS_BYTES / 2**20:.0f}"),
    )
    if uploaded is None:
        st.info(t("finetune.upload_prompt"))
        return None
    data = uploaded.getvalue()
    try:
        fields, guess = _fields(data, uploaded.name)
        field = None
        if fields:
            index = fields.index(guess) if guess in fields else 0
            field = st.selectbox(t("finetune.text_field"), fields, index, key="ft_field")
        return read_upload(data, uploaded.name, field)
    except InputError as error:
        st.error(str(error))
        return None


def _sample_picker() -> Corpus:
    labels = sample_labels()
    names = list(labels)
    key = f"ft_sample_{current_language()}"  # a select box keeps its shown label
    st.session_state[key] = st.session_state.get("ft_sample_kept", DEFAULT_SAMPLE)
    if st.session_state[key] not in names:
        st.session_state[key] = names[0]
    name = st.selectbox(t("finetune.sample_pick"), names, format_func=labels.__getitem__, key=key)
    st.session_state["ft_sample_kept"] = name
    return sample(name)


def choose_corpus(loaded: LoadedModel, spec: str) -> Corpus | None:
    """The corpus widgets; the checked corpus, or None (with the reason shown)."""
    source = choice_radio(t("finetune.corpus_source"), "finetune.source", SOURCES, "ft_source")
    corpus = _upload() if source == "upload" else _sample_picker()
    if corpus is None:
        return None
    figures = (
        ("documents", corpus.n_documents),
        ("characters", corpus.n_characters),
        ("tokens", _n_tokens(loaded, spec, corpus)),
        ("duplicates", corpus.n_duplicates_dropped),
    )
    for column, (name, value) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(t(f"finetune.metric_{name}"), f"{value:,}")
    if source == "sample":  # the engine's provenance line is English; say it in the UI's words
        st.caption(t("finetune.source_sample", name=corpus.name))
    else:
        st.caption(t("finetune.source_line", source=corpus.source))
    with st.expander(t("finetune.preview")):
        for document in corpus.documents[:PREVIEW_DOCUMENTS]:
            clipped = document if len(document) <= PREVIEW_CHARS else document[:PREVIEW_CHARS] + "…"
            st.text(clipped)
    return corpus
