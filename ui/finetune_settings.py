"""The Fine-tuning studio's method and settings widgets, the plan the engine makes of
them (cached; it holds every check a run makes), and starting the run it describes."""

from __future__ import annotations

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.jobs import Job
from llm_core.models.loading import LoadedModel
from llm_core.models.outputs import check_free, output_path, suggest_output_name
from llm_core.text.corpus import Corpus
from llm_core.training.finetune import finetune_work
from llm_core.training.plan import FinetunePlan, plan_finetune
from llm_core.training.settings import (
    DEFAULT_LEARNING_RATES,
    METHODS,
    FinetuneSettings,
    default_lora_targets,
    lora_target_choices,
)
from ui import job_panel
from ui.i18n import choice_radio, t

KIND = "finetune"
BLOCK_LENGTHS = (32, 64, 128, 256, 512, 1024)
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2)
LORA_RANKS = (1, 2, 4, 8, 16, 32, 64)
SCRATCH_WIDTHS = (64, 128, 256, 384, 512)
SCRATCH_HEADS = (1, 2, 4, 8)


@st.cache_resource(max_entries=8, show_spinner=False)
def _lora_targets(_loaded: LoadedModel, spec: str) -> tuple[list[str], tuple[str, ...]]:
    return lora_target_choices(_loaded.model), default_lora_targets(_loaded.model)


def _lora_settings(loaded: LoadedModel, spec: str, d: FinetuneSettings) -> dict:
    columns = st.columns([1, 1, 3])
    choices, default = _lora_targets(loaded, spec)
    return {
        "lora_rank": columns[0].select_slider(
            t("finetune.lora_rank"), LORA_RANKS, d.lora_rank, key="ft_rank"
        ),
        "lora_alpha": int(
            columns[1].number_input(t("finetune.lora_alpha"), 1, 4096, d.lora_alpha, key="ft_alpha")
        ),
        "target_modules": tuple(
            columns[2].multiselect(
                t("finetune.target_modules"), choices, list(default), key="ft_targets"
            )
        ),
    }


def _scratch_settings(d: FinetuneSettings) -> dict:
    columns = st.columns(3)
    return {
        "scratch_layers": columns[0].slider(
            t("finetune.scratch_layers"), 1, 12, d.scratch_layers, key="ft_layers"
        ),
        "scratch_d_model": columns[1].select_slider(
            t("finetune.scratch_d_model"), SCRATCH_WIDTHS, d.scratch_d_model, key="ft_width"
        ),
        "scratch_heads": columns[2].select_slider(
            t("finetune.scratch_heads"), SCRATCH_HEADS, d.scratch_heads, key="ft_heads"
        ),
    }


def _text_settings(d: FinetuneSettings) -> dict:
    help_text = t("finetune.auto_text_help")
    return {
        "sample_prompt": st.text_input(
            t("finetune.sample_prompt"), key="ft_prompt", help=help_text
        ),
        "attention_text": st.text_input(
            t("finetune.attention_text"), key="ft_att_text", help=help_text
        ),
        "seed": int(st.number_input(t("finetune.seed"), 0, 2**31 - 1, d.seed, key="ft_seed")),
    }


def choose_settings(loaded: LoadedModel, spec: str) -> tuple[FinetuneSettings, str]:
    """The method and settings widgets; (settings, output name as typed)."""
    d = FinetuneSettings()
    method = choice_radio(t("finetune.method"), "finetune.method", METHODS, "ft_method", d.method)
    st.caption(t(f"finetune.method_help.{method}"))
    steps_col, block_col, batch_col, lr_col = st.columns(4)
    steps = steps_col.number_input(t("finetune.steps"), 1, 100_000, d.steps, key="ft_steps")
    block = block_col.select_slider(
        t("finetune.block_length"), BLOCK_LENGTHS, d.block_length, key="ft_block"
    )
    batch = batch_col.number_input(t("finetune.batch_size"), 1, 64, d.batch_size, key="ft_batch")
    rate = lr_col.select_slider(
        t("finetune.learning_rate"), LEARNING_RATES, DEFAULT_LEARNING_RATES[method],
        format_func=lambda value: f"{value:.0e}",
        key=f"ft_lr_{method}",  # one per method: each has its own sensible default
    )  # fmt: skip
    fraction = st.slider(
        t("finetune.validation_fraction"), 0.05, 0.5, d.validation_fraction, 0.05, key="ft_val"
    )
    extra: dict = {}
    if method == "lora":
        with st.expander(t("finetune.lora_settings")):
            extra.update(_lora_settings(loaded, spec, d))
    if method == "scratch":
        with st.expander(t("finetune.scratch_settings"), expanded=True):
            extra.update(_scratch_settings(d))
    with st.expander(t("finetune.more_settings")):
        extra.update(_text_settings(d))
    name = st.text_input(t("finetune.output_name"), key="ft_name", help=t("finetune.output_help"))
    settings = FinetuneSettings(
        method=method, steps=int(steps), block_length=int(block), batch_size=int(batch),
        learning_rate=float(rate), validation_fraction=float(fraction), **extra,
    )  # fmt: skip
    return settings, name.strip()


@st.cache_resource(max_entries=8, show_spinner=False)
def _plan(_loaded: LoadedModel, spec: str, corpus: Corpus, settings: FinetuneSettings):
    return plan_finetune(_loaded, corpus, settings)


def show_plan(
    loaded: LoadedModel, spec: str, corpus: Corpus | None, settings: FinetuneSettings
) -> FinetunePlan | None:
    """The engine's plan of the run (cached), as one line; None, with the reason, if the
    run could not start (bad settings, a corpus too short, an int8 model)."""
    if corpus is None:
        return None
    try:
        plan = _plan(loaded, spec, corpus, settings)
    except LLMCoreError as error:
        st.error(str(error))
        return None
    s = plan.settings
    st.caption(
        t(
            "finetune.plan",
            steps=s.steps,
            batch=s.batch_size,
            block=s.block_length,
            tokens=f"{plan.tokens_to_train:,}",
            train_tokens=f"{plan.n_train_tokens:,}",
            epochs=f"{plan.epochs:.2g}",
            n_validation=f"{plan.n_validation_documents:,}",
        )  # fmt: skip
    )
    return plan


def start_finetune(loaded: LoadedModel, spec: str, plan: FinetunePlan, name: str) -> Job | None:
    """Start training ``plan`` into the output ``name`` (or a new name); None, with the
    reason shown, if the name is taken or the slot is busy."""
    try:
        target = output_path(name or suggest_output_name(plan.corpus.name, plan.settings.method))
        check_free(target)
    except LLMCoreError as error:
        st.error(str(error))
        return None
    work = finetune_work(loaded, plan, target, base_spec=spec)
    description = f"{plan.corpus.name} → {target.name}"
    return job_panel.start(KIND, description, work, method=plan.settings.method)
