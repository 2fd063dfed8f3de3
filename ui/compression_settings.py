"""The Compression lab's widgets: the technique and its settings, and what to measure on.
They return the engine's ``CompressionRequest`` (checked by the engine when the run
starts) and, for the sweep, the sparsities to measure."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from llm_core.compression.distillation import DistillSettings
from llm_core.compression.head_pruning import MAX_HEAD_FRACTION
from llm_core.compression.metrics import DEFAULT_EVAL_TOKENS, EVAL_BLOCK_LENGTH, MAX_EVAL_TOKENS
from llm_core.compression.pruning import SCOPES
from llm_core.compression.run import METHODS, CompressionRequest
from llm_core.compression.sweep import DEFAULT_SWEEP
from llm_core.models.description import ModelDescription
from ui.corpus_picker import UPLOAD_TYPES, sample_labels
from ui.i18n import choice_radio, t

TECHNIQUES = (*METHODS, "sweep")
MAX_STUDENT_STEPS = 500  # a classroom run on a CPU: about 2 s a step for the default model
WIDTHS = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class CompressionChoice:
    """What the widgets chose: the request, the sweep's sparsities (None: not a sweep),
    and the corpus (an upload, else the sample's name)."""

    technique: str
    request: CompressionRequest
    sweep_levels: tuple[float, ...] | None
    sample: str | None
    upload: UploadedFile | None


def _scope() -> str:
    return choice_radio(t("compression.scope"), "compression.scope", SCOPES, "cmp_scope")


def _prune_settings() -> dict:
    left, right = st.columns(2)
    with left:
        sparsity = st.slider(
            t("compression.sparsity"), 0, 95, 50, 5, format="%d %%", key="cmp_sparsity"
        )
    with right:
        return {"sparsity": sparsity / 100, "scope": _scope()}


def _distill_settings(n_layers: int) -> dict:
    left, middle, right = st.columns(3)
    student = left.number_input(
        t("compression.student_layers"), 1, n_layers, max(1, n_layers // 2), key="cmp_student"
    )
    width = middle.select_slider(t("compression.width"), WIDTHS, 1.0, key="cmp_width")
    steps = right.number_input(t("compression.steps"), 1, MAX_STUDENT_STEPS, 40, key="cmp_steps")
    left, right = st.columns(2)
    temperature = left.slider(t("compression.temperature"), 0.5, 8.0, 2.0, 0.5, key="cmp_temp")
    alpha = right.slider(
        t("compression.alpha"), 0.0, 1.0, 0.5, 0.1, help=t("compression.alpha_help"),
        key="cmp_alpha",
    )  # fmt: skip
    distill = DistillSettings(int(student), float(width), int(steps), temperature=temperature,
                              alpha=alpha)  # fmt: skip
    return {"distill": distill}


def _technique_settings(technique: str, n_layers: int) -> tuple[dict, tuple[float, ...] | None]:
    """(request options, sweep sparsities) from the chosen technique's own widgets."""
    if technique == "int8":
        keep = st.checkbox(
            t("compression.keep_outliers"), value=True, help=t("compression.keep_outliers_help"),
            key="cmp_keep_outliers",
        )  # fmt: skip
        return {"keep_outliers": keep}, None
    if technique == "prune":
        return _prune_settings(), None
    if technique == "heads":
        top = int(MAX_HEAD_FRACTION * 100)
        share = st.slider(
            t("compression.head_fraction"), 0, top, 20, 5, format="%d %%", key="cmp_heads"
        )
        return {"head_fraction": share / 100}, None
    if technique == "sweep":
        levels = st.multiselect(
            t("compression.sweep_levels"), list(range(0, 100, 10)),
            default=[round(100 * s) for s in DEFAULT_SWEEP], format_func=lambda v: f"{v} %",
            key="cmp_sweep_levels",
        )  # fmt: skip
        return {"scope": _scope()}, tuple(level / 100 for level in levels)
    if technique == "distill":
        return _distill_settings(n_layers), None
    return {}, None  # bf16 has nothing to choose


def _measure_settings(description: ModelDescription) -> tuple[dict, str | None, UploadedFile]:
    n_layers, n_heads = description.n_layers, description.n_heads
    with st.expander(t("compression.measure_heading")):
        left, right = st.columns(2)
        names = sample_labels()
        sample = left.selectbox(
            t("compression.corpus"), list(names), index=0 if names else None,
            format_func=names.__getitem__,
        )  # fmt: skip
        upload = right.file_uploader(t("compression.upload"), type=UPLOAD_TYPES, key="cmp_upload")
        eval_tokens = left.number_input(
            t("compression.eval_tokens_input"), EVAL_BLOCK_LENGTH, MAX_EVAL_TOKENS,
            DEFAULT_EVAL_TOKENS, step=EVAL_BLOCK_LENGTH, help=t("compression.eval_tokens_help"),
            key="cmp_eval_tokens",
        )  # fmt: skip
        prompt = right.text_input(
            t("compression.prompt"), help=t("compression.prompt_help"), key="cmp_prompt"
        )
        seed = left.number_input(t("compression.seed"), 0, 2**31 - 1, 0, key="cmp_seed")
        layer = right.number_input(
            t("compression.drift_layer"), 0, n_layers - 1, n_layers // 2, key="cmp_layer"
        )
        head = right.number_input(t("compression.drift_head"), 0, n_heads - 1, 0, key="cmp_head")
    options = {"eval_tokens": int(eval_tokens), "seed": int(seed), "sample_prompt": prompt,
               "drift_layer": int(layer), "drift_head": int(head)}  # fmt: skip
    return options, sample, upload


def choose_compression(description: ModelDescription) -> CompressionChoice:
    """The technique radio, its settings, and the measurement expander."""
    technique = choice_radio(
        t("compression.technique"), "compression.method", TECHNIQUES, "cmp_technique"
    )
    st.caption(t(f"compression.explain.{technique}"))
    options, sweep_levels = _technique_settings(technique, description.n_layers)
    measure, sample, upload = _measure_settings(description)
    method = "prune" if technique == "sweep" else technique
    request = CompressionRequest(method=method, **options, **measure)
    return CompressionChoice(technique, request, sweep_levels, sample, upload)
