"""Compression lab: quantize, prune or distil a copy of the model and measure the price."""

import streamlit as st

from llm_core.compression.distillation import DistillSettings
from llm_core.compression.head_pruning import MAX_HEAD_FRACTION
from llm_core.compression.metrics import DEFAULT_EVAL_TOKENS, EVAL_BLOCK_LENGTH, MAX_EVAL_TOKENS
from llm_core.compression.pruning import SCOPES
from llm_core.compression.run import METHODS, CompressionRequest
from llm_core.compression.sweep import DEFAULT_SWEEP
from llm_core.errors import LLMCoreError
from llm_core.jobs import SlotBusyError
from ui import compression_state as state
from ui.compression_views import poll, render_job, render_result, render_sweep
from ui.i18n import keep_choice, labels, t
from ui.model_loader import page_model

TECHNIQUES = (*METHODS, "sweep")
MAX_STUDENT_STEPS = 500  # a classroom run on a CPU: about 2 s a step for the default model


st.title(t("compression.title"))
st.write(t("compression.intro"))
reference, _ = page_model()
n_layers, n_heads = reference.description.n_layers, reference.description.n_heads


keep_choice("cmp_technique", TECHNIQUES[0])
keep_choice("cmp_scope", SCOPES[0])
names = labels("compression.method", TECHNIQUES)
technique = st.radio(
    t("compression.technique"),
    TECHNIQUES,
    format_func=names.__getitem__,
    horizontal=True,
    key="cmp_technique",
)
st.caption(t(f"compression.explain.{technique}"))
options: dict = {"method": "prune" if technique == "sweep" else technique}
sweep_levels = None
if technique == "int8":
    options["keep_outliers"] = st.checkbox(
        t("compression.keep_outliers"), value=True, help=t("compression.keep_outliers_help")
    )
elif technique == "prune":
    left, right = st.columns(2)
    options["sparsity"] = (
        left.slider(t("compression.sparsity"), 0, 95, 50, 5, format="%d %%", key="cmp_sparsity")
        / 100
    )
    scopes = labels("compression.scope", SCOPES)
    options["scope"] = right.radio(
        t("compression.scope"),
        SCOPES,
        format_func=scopes.__getitem__,
        horizontal=True,
        key="cmp_scope",
    )
elif technique == "heads":
    top = int(MAX_HEAD_FRACTION * 100)
    options["head_fraction"] = (
        st.slider(t("compression.head_fraction"), 0, top, 20, step=5, format="%d %%") / 100
    )
elif technique == "sweep":
    levels = st.multiselect(
        t("compression.sweep_levels"),
        list(range(0, 100, 10)),
        default=[round(100 * s) for s in DEFAULT_SWEEP],
        format_func=lambda level: f"{level} %",
    )
    sweep_levels = tuple(level / 100 for level in levels)
    options["scope"] = st.radio(
        t("compression.scope"),
        SCOPES,
        format_func=labels("compression.scope", SCOPES).__getitem__,
        horizontal=True,
        key="cmp_scope",
    )
elif technique == "distill":
    left, middle, right = st.columns(3)
    student = left.number_input(t("compression.student_layers"), 1, n_layers, max(1, n_layers // 2))
    width = middle.select_slider(t("compression.width"), [0.25, 0.5, 0.75, 1.0], value=1.0)
    steps = right.number_input(t("compression.steps"), 1, MAX_STUDENT_STEPS, 40)
    left, right = st.columns(2)
    temperature = left.slider(t("compression.temperature"), 0.5, 8.0, 2.0, step=0.5)
    alpha = right.slider(
        t("compression.alpha"), 0.0, 1.0, 0.5, step=0.1, help=t("compression.alpha_help")
    )
    options["distill"] = DistillSettings(
        int(student), float(width), int(steps), temperature=temperature, alpha=alpha
    )

with st.expander(t("compression.measure_heading")):
    left, right = st.columns(2)
    choices = state.corpus_choices()
    sample = left.selectbox(t("compression.corpus"), choices, index=0 if choices else None)
    upload = right.file_uploader(
        t("compression.upload"), type=["txt", "md", "jsonl", "csv"], key="cmp_upload"
    )
    eval_tokens = left.number_input(
        t("compression.eval_tokens_input"),
        EVAL_BLOCK_LENGTH,
        MAX_EVAL_TOKENS,
        DEFAULT_EVAL_TOKENS,
        step=EVAL_BLOCK_LENGTH,
        help=t("compression.eval_tokens_help"),
        key="cmp_eval_tokens",
    )
    prompt = right.text_input(
        t("compression.prompt"), help=t("compression.prompt_help"), key="cmp_prompt"
    )
    seed = left.number_input(t("compression.seed"), 0, 2**31 - 1, 0)
    layer = right.number_input(t("compression.drift_layer"), 0, n_layers - 1, n_layers // 2)
    head = right.number_input(t("compression.drift_head"), 0, n_heads - 1, 0)

job = state.latest_job()
running = job is not None and not job.progress().finished
if st.button(t("compression.run"), type="primary", disabled=running, key="cmp_run"):
    try:
        request = CompressionRequest(
            eval_tokens=int(eval_tokens),
            seed=int(seed),
            sample_prompt=prompt,
            drift_layer=int(layer),
            drift_head=int(head),
            **options,
        )
        job = state.start(reference, state.page_corpus(sample, upload), request, sweep_levels)
        running = True
    except SlotBusyError as error:
        st.warning(str(error))
    except LLMCoreError as error:
        st.error(str(error))

if job is not None and running:
    poll(job)
elif job is not None:
    render_job(job)  # a cancelled or failed run says so
    # by shape, not isinstance: a module reloaded after an edit defines a new class
    if hasattr(job.result, "quality"):
        render_result(job.result)
    elif hasattr(job.result, "points"):
        render_sweep(job.result)
