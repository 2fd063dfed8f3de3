"""Glue of the Fine-tuning studio: corpus choice, settings, starting a job, live progress.

Training runs in the process-wide ``JOB_SLOT`` (one job at a time, a background thread),
owned by this browser session. The page polls the job with a fragment that reruns every
``POLL_S`` seconds while it runs; the rest of the page stays responsive.
"""

from __future__ import annotations

import streamlit as st

from llm_core.errors import InputError, LLMCoreError
from llm_core.jobs import JOB_SLOT, Job, JobProgress, SlotBusyError
from llm_core.models.loading import LoadedModel
from llm_core.models.outputs import check_free, output_path, suggest_output_name
from llm_core.plots.training import loss_figure
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
from llm_core.text.packing import count_tokens, pack_corpus
from llm_core.training.finetune import finetune_work
from llm_core.training.settings import (
    DEFAULT_LEARNING_RATES,
    DEFAULT_TARGET_MODULES,
    METHODS,
    FinetuneSettings,
    check_trainable,
)
from ui.background import session_owner, start_job
from ui.catalog import CATALOG
from ui.i18n import current_language, keep_choice, t

KIND = "finetune"
SHOWN_KEY = "ft_shown_job"  # the finished job whose results a page run drew to the end
DRAWING_KEY = "ft_drawing_panel"  # True while a page run (not a tick) draws live_panel
POLL_S = 2.0
BUSY_POLL_S = 3.0
PREVIEW_DOCUMENTS = 3
PREVIEW_CHARS = 600
DEFAULT_SAMPLE = "tang300"
BLOCK_LENGTHS = (32, 64, 128, 256, 512, 1024)
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2)
LORA_RANKS = (1, 2, 4, 8, 16, 32, 64)
SCRATCH_WIDTHS = (64, 128, 256, 384, 512)
SCRATCH_HEADS = (1, 2, 4, 8)
CHART = {"width": "stretch", "config": {"displaylogo": False}}


def latest_job() -> Job | None:
    return JOB_SLOT.latest(owner=session_owner(), kind=KIND)


# ---------------------------------------------------------------------------- corpus


@st.cache_data(max_entries=16, show_spinner=False)
def _read_upload(data: bytes, filename: str, text_field: str | None) -> Corpus:
    return read_corpus(data, filename, text_field)


@st.cache_data(max_entries=16, show_spinner=False)
def _fields(data: bytes, filename: str) -> list[str]:
    return text_fields(data, filename)


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str) -> Corpus:
    return load_corpus(name)


@st.cache_data(max_entries=16, show_spinner=False)
def _n_tokens(_tokenizer, spec: str, corpus: Corpus) -> int:
    return count_tokens(_tokenizer, corpus.documents)


def _sample_label(name: str) -> str:
    key = f"finetune.sample.{name}"
    return t(key) if key in CATALOG else name


def _upload() -> Corpus | None:
    uploaded = st.file_uploader(
        t("finetune.upload"),
        type=[suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES],
        key="ft_upload",
        help=t("finetune.upload_help", limit=f"{MAX_CORPUS_BYTES / 2**20:.0f}"),
    )
    if uploaded is None:
        st.info(t("finetune.upload_prompt"))
        return None
    data = uploaded.getvalue()
    try:
        fields = _fields(data, uploaded.name)
        field = None
        if fields:
            guess = guess_text_field(data, uploaded.name)
            field = st.selectbox(
                t("finetune.text_field"), fields, fields.index(guess), key="ft_field"
            )
        return _read_upload(data, uploaded.name, field)
    except InputError as error:
        st.error(str(error))
        return None


def choose_corpus(loaded: LoadedModel, spec: str) -> Corpus | None:
    """The corpus widgets; the checked corpus, or None (with the reason shown)."""
    keep_choice("ft_source", "sample", ("sample", "upload"))
    source = st.radio(
        t("finetune.corpus_source"),
        ("sample", "upload"),
        format_func={s: t(f"finetune.source.{s}") for s in ("sample", "upload")}.__getitem__,
        horizontal=True,
        key="ft_source",
    )
    if source == "upload":
        corpus = _upload()
    else:
        names = list(sample_corpora())
        labels = {name: _sample_label(name) for name in names}
        key = f"ft_sample_{current_language()}"  # a select box keeps its shown label
        st.session_state[key] = st.session_state.get("ft_sample_kept", DEFAULT_SAMPLE)
        if st.session_state[key] not in names:
            st.session_state[key] = names[0]
        name = st.selectbox(
            t("finetune.sample_pick"), names, format_func=labels.__getitem__, key=key
        )
        st.session_state["ft_sample_kept"] = name
        corpus = _sample(name)
    if corpus is None:
        return None
    figures = (
        ("documents", corpus.n_documents),
        ("characters", corpus.n_characters),
        ("tokens", _n_tokens(loaded.tokenizer, spec, corpus)),
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


# ---------------------------------------------------------------------------- settings


def _target_choices(loaded: LoadedModel) -> list[str]:
    names = {name.rsplit(".", 1)[-1] for name, _ in loaded.model.named_modules()}
    return sorted(n for n in names if n.endswith("proj") or n in ("c_attn", "c_proj", "c_fc"))


def choose_settings(loaded: LoadedModel) -> tuple[FinetuneSettings, str]:
    """The method and settings widgets; (settings, output name as typed)."""
    d = FinetuneSettings()
    keep_choice("ft_method", d.method, METHODS)
    method = st.radio(
        t("finetune.method"),
        METHODS,
        format_func={m: t(f"finetune.method.{m}") for m in METHODS}.__getitem__,
        horizontal=True,
        key="ft_method",
    )
    st.caption(t(f"finetune.method_help.{method}"))
    steps_col, block_col, batch_col, lr_col = st.columns(4)
    steps = steps_col.number_input(t("finetune.steps"), 1, 100_000, d.steps, key="ft_steps")
    block = block_col.select_slider(
        t("finetune.block_length"), BLOCK_LENGTHS, d.block_length, key="ft_block"
    )
    batch = batch_col.number_input(t("finetune.batch_size"), 1, 64, d.batch_size, key="ft_batch")
    rate = lr_col.select_slider(
        t("finetune.learning_rate"),
        LEARNING_RATES,
        DEFAULT_LEARNING_RATES[method],
        format_func=lambda value: f"{value:.0e}",
        key=f"ft_lr_{method}",  # one per method: each has its own sensible default
    )
    fraction = st.slider(
        t("finetune.validation_fraction"), 0.05, 0.5, d.validation_fraction, 0.05, key="ft_val"
    )
    extra: dict = {}
    if method == "lora":
        with st.expander(t("finetune.lora_settings")):
            columns = st.columns([1, 1, 3])
            extra["lora_rank"] = columns[0].select_slider(
                t("finetune.lora_rank"), LORA_RANKS, d.lora_rank, key="ft_rank"
            )
            extra["lora_alpha"] = int(
                columns[1].number_input(
                    t("finetune.lora_alpha"), 1, 4096, d.lora_alpha, key="ft_alpha"
                )
            )
            choices = _target_choices(loaded)
            default = [m for m in DEFAULT_TARGET_MODULES if m in choices] or choices[:2]
            extra["target_modules"] = tuple(
                columns[2].multiselect(
                    t("finetune.target_modules"), choices, default, key="ft_targets"
                )
            )
    if method == "scratch":
        with st.expander(t("finetune.scratch_settings"), expanded=True):
            columns = st.columns(3)
            extra["scratch_layers"] = columns[0].slider(
                t("finetune.scratch_layers"), 1, 12, d.scratch_layers, key="ft_layers"
            )
            extra["scratch_d_model"] = columns[1].select_slider(
                t("finetune.scratch_d_model"), SCRATCH_WIDTHS, d.scratch_d_model, key="ft_width"
            )
            extra["scratch_heads"] = columns[2].select_slider(
                t("finetune.scratch_heads"), SCRATCH_HEADS, d.scratch_heads, key="ft_heads"
            )
    with st.expander(t("finetune.more_settings")):
        help_text = t("finetune.auto_text_help")
        extra["sample_prompt"] = st.text_input(
            t("finetune.sample_prompt"), key="ft_prompt", help=help_text
        )
        extra["attention_text"] = st.text_input(
            t("finetune.attention_text"), key="ft_att_text", help=help_text
        )
        extra["seed"] = int(
            st.number_input(t("finetune.seed"), 0, 2**31 - 1, d.seed, key="ft_seed")
        )
    name = st.text_input(t("finetune.output_name"), key="ft_name", help=t("finetune.output_help"))
    settings = FinetuneSettings(
        method=method, steps=int(steps), block_length=int(block), batch_size=int(batch),
        learning_rate=float(rate), validation_fraction=float(fraction), **extra,
    )  # fmt: skip
    return settings, name.strip()


def show_plan(loaded: LoadedModel, corpus: Corpus, settings: FinetuneSettings, spec: str) -> None:
    n_tokens = _n_tokens(loaded.tokenizer, spec, corpus)
    train_tokens = max(int(n_tokens * (1 - settings.validation_fraction)), 1)
    tokens = settings.steps * settings.batch_size * settings.block_length
    n_validation = min(
        max(1, round(corpus.n_documents * settings.validation_fraction)), corpus.n_documents - 1
    )
    st.caption(
        t(
            "finetune.plan",
            steps=settings.steps,
            batch=settings.batch_size,
            block=settings.block_length,
            tokens=f"{tokens:,}",
            train_tokens=f"{train_tokens:,}",
            epochs=f"{tokens / train_tokens:.2g}",
            n_validation=f"{max(n_validation, 0):,}",
        )  # fmt: skip
    )


# ---------------------------------------------------------------------------- the job


def start(
    loaded: LoadedModel, spec: str, corpus: Corpus, settings: FinetuneSettings, name: str
) -> None:
    """Check everything that can be checked at once, then start the job (or say why not)."""
    try:
        settings = settings.validate()
        check_trainable(loaded.model, settings)
        target = output_path(name or suggest_output_name(corpus.name, settings.method))
        check_free(target)
        pack_corpus(
            loaded.tokenizer,
            corpus,
            settings.block_length,
            settings.validation_fraction,
            settings.seed,
        )
        work = finetune_work(loaded, corpus, settings, target, base_spec=spec)
        start_job(KIND, f"{settings.method} · {corpus.name} → {target.name}", work)
    except SlotBusyError as error:
        st.warning(_busy_text(error.running))
    except LLMCoreError as error:
        st.error(str(error))


def _busy_text(running: JobProgress) -> str:
    if running.eta_s is None:
        when = t("finetune.busy_unknown")
    else:
        when = t("finetune.busy_eta", minutes=f"{max(running.eta_s / 60, 0.1):.1f}")
    return t(
        "finetune.busy",
        description=running.description,
        step=running.step,
        total=running.total_steps,
        when=when,
    )


def busy_elsewhere() -> bool:
    """True (with a notice that refreshes itself) while another session's job runs."""
    running = JOB_SLOT.running()
    if running is None or running.owner == session_owner():
        return False
    _busy_notice()
    return True


@st.fragment(run_every=BUSY_POLL_S)
def _busy_notice() -> None:
    running = JOB_SLOT.running()
    if running is None:
        st.rerun(scope="app")  # the slot is free: enable Train
    st.info(_busy_text(running.progress()))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def progress_text(progress: JobProgress) -> str:
    stage_key = f"finetune.stage.{progress.message}"
    stage = t(stage_key) if stage_key in CATALOG else progress.message
    eta = (
        t("finetune.eta", time=_duration(progress.eta_s))
        if progress.eta_s
        else t("finetune.eta_unknown")
    )
    speed = f"{progress.metrics.get('tokens_per_s', 0.0):,.0f}"
    return t(
        "finetune.progress",
        stage=stage,
        step=progress.step,
        total=progress.total_steps,
        speed=speed,
        eta=eta,
    )


def loss_chart(job: Job, key: str) -> None:
    figure = loss_figure(
        job.history(),
        total_steps=job.progress().total_steps or None,
        train_name=t("finetune.train_loss"),
        eval_name=t("finetune.eval_loss"),
        step_title=t("finetune.step"),
        loss_title=t("finetune.loss_axis"),
    )
    st.plotly_chart(figure, key=key, **CHART)


def needs_panel(job: Job | None) -> bool:
    """Whether the page draws ``live_panel``: while the job runs, and until its results
    were shown by a page run that reached its end."""
    if job is None:
        return False
    return not job.progress().finished or st.session_state.get(SHOWN_KEY) != job.id


def draw_live_panel(job: Job) -> None:
    st.session_state[DRAWING_KEY] = True
    try:
        live_panel(job.id)
    finally:
        st.session_state[DRAWING_KEY] = False


def mark_shown(job: Job | None) -> None:
    """Call last on the page: its run was not cut short, so the results are on screen."""
    if job is not None and job.progress().finished:
        st.session_state[SHOWN_KEY] = job.id


@st.fragment(run_every=POLL_S)
def live_panel(job_id: int) -> None:
    """Progress bar, loss chart and Cancel, redrawn every ``POLL_S`` s while the job runs.

    Once it has ended, it reruns the whole page to show the results, until a page run has
    drawn them to its end (``mark_shown``): a stale auto-rerun tick can cut that page
    run short, and a later tick then asks again.
    """
    job = JOB_SLOT.get(job_id)
    if job is None or job.progress().finished:
        # Only from a tick of its own: drawn within a page run, that run shows the results.
        if st.session_state.get(SHOWN_KEY) != job_id and not st.session_state.get(DRAWING_KEY):
            st.rerun(scope="app")  # show the results (and the new output in the picker)
        return
    progress = job.progress()
    st.progress(progress.fraction, text=progress_text(progress))
    if job.should_stop():
        st.info(t("finetune.cancelling"))
    elif st.button(t("finetune.cancel"), key="ft_cancel"):
        job.cancel()
        st.info(t("finetune.cancelling"))
    loss_chart(job, key="ft_live_loss")
