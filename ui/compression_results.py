"""What a finished Compression lab run shows: the comparison (table, sizes, samples,
attention drift) with saving, or the sparsity sweep."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from llm_core.compression.run import CompressionResult
from llm_core.compression.sweep import SweepResult
from llm_core.errors import LLMCoreError
from llm_core.models.outputs import suggest_output_name
from llm_core.plots.compression import (
    drift_figure,
    head_removal_chart,
    size_chart,
    sweep_chart,
    token_labels,
)
from ui import compression_jobs
from ui.i18n import t
from ui.result_actions import show_result_actions

MB = 2**20


def _table(result: CompressionResult) -> pd.DataFrame:
    before, after = result.size_before, result.size_after
    rows = [
        ("params", before.n_params, after.n_params, "{:,.0f}"),
        ("size_mb", before.tensor_bytes / MB, after.tensor_bytes / MB, "{:,.1f}"),
        ("linear_mb", before.linear_weight_bytes / MB, after.linear_weight_bytes / MB, "{:,.1f}"),
        ("sparsity", 100 * before.linear_sparsity, 100 * after.linear_sparsity, "{:.2f} %"),
        (
            "perplexity",
            result.quality.perplexity_before,
            result.quality.perplexity_after,
            "{:,.2f}",
        ),
        (
            "speed",
            result.sample_before.tokens_per_s,
            result.sample_after.tokens_per_s,
            "{:,.1f}",
        ),
    ]
    return pd.DataFrame(
        {
            t("compression.col_measure"): [t(f"compression.row_{key}") for key, *_ in rows],
            t("compression.col_before"): [fmt.format(b) for _, b, _, fmt in rows],
            t("compression.col_after"): [fmt.format(a) for _, _, a, fmt in rows],
            t("compression.col_ratio"): [
                f"× {a / b:.3f}" if key != "sparsity" and b and not math.isnan(b) else "—"
                for key, b, a, _ in rows
            ],
        }
    )


def show_compression_result(result: CompressionResult | SweepResult) -> None:
    """The comparison of a finished run, or the chart and table of a sweep."""
    # by shape, not isinstance: a module reloaded after an edit defines a new class
    if hasattr(result, "points"):
        _show_sweep(result)
    else:
        _show_comparison(result)


def _show_comparison(result: CompressionResult) -> None:
    st.subheader(t("compression.result_heading", method=t(f"compression.method.{result.method}")))
    quality = result.quality
    columns = st.columns(3)
    columns[0].metric(
        t("compression.top1"), f"{quality.top1_agreement:.1%}", help=t("compression.top1_help")
    )
    columns[1].metric(
        t("compression.kl"), f"{quality.kl_divergence:.4f}", help=t("compression.kl_help")
    )
    columns[2].metric(t("compression.eval_tokens"), f"{quality.n_predicted:,}")
    st.dataframe(_table(result), hide_index=True, width="stretch")
    st.caption(t(f"compression.note.{result.method}", **_note_values(result)))
    bars = {
        t("compression.row_size_mb"): (
            result.size_before.tensor_bytes / MB,
            result.size_after.tensor_bytes / MB,
        ),
        t("compression.row_linear_mb"): (
            result.size_before.linear_weight_bytes / MB,
            result.size_after.linear_weight_bytes / MB,
        ),
    }
    labels = (t("compression.col_before"), t("compression.col_after"))
    st.altair_chart(size_chart(bars, *labels, unit="MB"), width="stretch")
    if result.method == "heads":
        st.markdown(t("compression.heads_heading"))
        removed = result.details["heads_removed_per_layer"]
        chart = head_removal_chart(
            removed,
            len(result.details["importance"][0]),
            x_title=t("compression.layer"),
            y_title=t("compression.heads_removed"),
        )
        st.altair_chart(chart, width="stretch")
    st.markdown(
        t("compression.samples_heading", prompt=result.sample_prompt, seed=result.request.seed)
    )
    left, right = st.columns(2)
    for column, key, sample in (
        (left, "before", result.sample_before),
        (right, "after", result.sample_after),
    ):
        column.markdown(
            f"**{t('compression.col_' + key)}** · {sample.tokens_per_s:.1f} {t('compression.tokens_per_s')}"
        )
        column.text(sample.text)
    drift = result.drift
    st.markdown(
        t(
            "compression.drift_heading",
            layer=drift.layer,
            head=drift.head,
            mean=f"{drift.mean_abs:.4f}",
            peak=f"{drift.max_abs:.3f}",
        )
    )
    if drift.candidate_layer != drift.layer:
        st.caption(t("compression.drift_student", layer=drift.candidate_layer))
    figure = drift_figure(
        drift.difference,
        token_labels(drift.tokens),
        query_title=t("compression.query"),
        key_title=t("compression.key"),
        value_name=t("compression.difference"),
    )
    st.plotly_chart(figure, width="stretch")
    _save_form(result)


def _note_values(result: CompressionResult) -> dict[str, object]:
    details = result.details
    return {
        "kept": len(details.get("kept_float", {})),
        "layers": details.get("n_int8_layers", 0),
        "bits": details.get("activation_bits", 8),
        "removed": details.get("n_heads_removed", 0),
        "student": details.get("student_layers", 0),
        "teacher": details.get("teacher_layers", 0),
        "steps": details.get("steps", 0),
    }


def _save_form(result: CompressionResult) -> None:
    st.subheader(t("compression.save_heading"))
    if result.saved_to:
        show_result_actions(result.base_model, Path(result.saved_to).name)
        return
    if result.candidate is None:
        st.info(t("compression.released"))
        return
    with st.form("compression_save"):
        default = suggest_output_name(result.corpus.get("name", "model"), result.method)
        name = st.text_input(t("compression.save_name"), value=default)
        if st.form_submit_button(t("compression.save")):
            try:
                with st.spinner(t("compression.saving")):
                    compression_jobs.save(result, name)
            except LLMCoreError as error:
                st.error(str(error))
                return
            st.rerun()  # the sidebar's model picker lists the new output
    st.caption(t("compression.save_note." + ("int8" if result.method == "int8" else "other")))


def _show_sweep(result: SweepResult) -> None:
    st.subheader(t("compression.sweep_heading"))
    points = result.points
    chart = sweep_chart(
        [p.achieved for p in points],
        [p.perplexity for p in points],
        [p.tokens_per_s for p in points],
        x_title=t("compression.row_sparsity"),
        perplexity_title=t("compression.row_perplexity"),
        speed_title=t("compression.row_speed"),
    )
    st.altair_chart(chart, width="stretch")
    frame = pd.DataFrame(
        {
            t("compression.row_sparsity"): [f"{100 * p.achieved:.2f} %" for p in points],
            t("compression.row_perplexity"): [f"{p.perplexity:,.2f}" for p in points],
            t("compression.top1"): [f"{p.top1_agreement:.1%}" for p in points],
            t("compression.row_speed"): [f"{p.tokens_per_s:.1f}" for p in points],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    st.caption(t("compression.sweep_note", tokens=f"{result.n_eval_tokens:,}"))
