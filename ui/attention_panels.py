"""The pieces of the Attention page: its view controls, downloads, text flow, head grid
and numbers, and the layers x heads overview with its ranking. Each draws from the
cached views of ``ui.trace_cache``; the page script puts them in order."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from llm_core.attention.export import matrix_csv, matrix_json
from llm_core.attention.reductions import LAYER_REDUCTIONS, REDUCTIONS
from llm_core.attention.stats import STAT_NAMES, HeadRole, describe_head, rank_heads
from llm_core.attention.summary import QUICK_SUMMARY_TOKENS
from llm_core.models.description import ModelDescription
from llm_core.plots.attention import (
    MAX_FLOW_SIZE,
    MIN_FLOW_WEIGHT,
    head_grid_figure,
    overview_figure,
    text_flow_figure,
)
from llm_core.plots.heatmaps import figure_html
from llm_core.text.tokens import LEVELS
from ui.attention_state import OPENED_KEY, on_overview_click, on_ranking_click
from ui.i18n import labels, t
from ui.trace_cache import AttentionView, has_summary, head_grid, summary_of

MAX_TABLE_SIZE = 64  # rows of the numbers table; the CSV holds every value
TOP_HEADS = 10
# The modebar stays on: its camera button saves a PNG (at twice the screen resolution).
PNG = {"filename": "attention", "scale": 2}
CHART = {"width": "stretch", "config": {"displaylogo": False, "toImageButtonOptions": PNG}}


def view_controls(d: ModelDescription) -> tuple[str, str, int, int]:
    """Level, reduction, layer and head widgets in one row; their values."""
    left, middle, right, far_right = st.columns([3, 3, 4, 1])
    level = left.radio(
        t("attention.level"), LEVELS, key="attn_level", horizontal=True,
        format_func=labels("attention.level", LEVELS).__getitem__,
        help=t("attention.level_help"),
    )  # fmt: skip
    reduction = middle.selectbox(
        t("attention.reduction"), REDUCTIONS, key="attn_reduction",
        format_func=labels("attention.reduction", REDUCTIONS).__getitem__,
        help=t("attention.reduction_help"),
    )  # fmt: skip
    layer = right.select_slider(
        t("attention.layer"), list(range(d.n_layers)), key="attn_layer",
        disabled=reduction not in LAYER_REDUCTIONS,
    )  # fmt: skip
    head = far_right.selectbox(
        t("attention.head"), list(range(d.n_heads)), key="attn_head", disabled=reduction != "head"
    )
    return level, reduction, layer, head


def role_text(role: HeadRole) -> str:
    """The engine's head role in the UI's language (not its English sentence)."""
    shares = zip(
        ("share", "previous", "first", "itself"),
        (role.share, role.previous_token, role.first_token, role.current_token),
        strict=True,
    )
    entropies = {"entropy": f"{role.entropy:.2f}", "max_entropy": f"{role.max_entropy:.2f}"}
    return t(
        f"attention.role.{role.kind}",
        layer=role.layer,
        head=role.head,
        **entropies,
        **{name: f"{value:.0%}" for name, value in shares},
    )


def ensure_summary(spec: str, text: str, n_layers: int) -> None:
    """Fold every layer (for the overview, mean over layers, rollout), with a progress bar."""
    if has_summary(spec, text):
        return
    bar = st.progress(0.0, t("attention.summary_progress", done=0, n_layers=n_layers))
    summary_of(spec, text, lambda done, n: bar.progress(done / n, t("attention.summary_progress", done=done, n_layers=n)))  # fmt: skip
    bar.empty()


def downloads(figure: object, matrix: Callable[[], object], about: dict[str, object]) -> None:
    """CSV, JSON (the CLI's record) and HTML, each built when clicked, from every unit."""
    files = (
        ("csv", lambda: matrix_csv(matrix()), "text/csv"),
        ("json", lambda: matrix_json(matrix(), **about), "application/json"),
        ("html", lambda: figure_html(figure), "text/html"),  # embeds plotly.js: works offline
    )
    for column, (kind, data, mime) in zip(st.columns(3), files, strict=True):
        column.download_button(
            t(f"attention.download_{kind}"), data, f"attention.{kind}", mime, key=f"attn_{kind}"
        )
    st.caption(t("attention.export_hint"))


def flow_panel(view: AttentionView, axes: dict[str, str]) -> None:
    """BertViz-style lines between units, for views small enough to read."""
    st.markdown(f"**{t('attention.flow_heading')}**")
    n_units = len(view.full_labels)
    if n_units > MAX_FLOW_SIZE:
        st.info(t("attention.flow_too_long", max_units=MAX_FLOW_SIZE, n_units=n_units))
        return
    focus = st.session_state.get("attn_focus", -1)  # re-set: survives a language switch
    st.session_state["attn_focus"] = focus if focus in range(-1, n_units) else -1
    names = {i: view.full_labels[i] if i >= 0 else t("attention.flow_all") for i in range(-1, n_units)}  # fmt: skip
    focus = st.selectbox(
        t("attention.flow_focus"), range(-1, n_units), key="attn_focus", format_func=names.get
    )
    # under MAX_FLOW_SIZE units the view is never pooled: view.matrix has every unit
    flow = text_flow_figure(view.matrix, view.labels, focus=None if focus < 0 else focus, **axes)
    st.plotly_chart(flow, key="attn_flow", **CHART)
    st.caption(t("attention.flow_caption", min_weight=MIN_FLOW_WEIGHT))


def grid_and_numbers(spec: str, text: str, level: str, layer: int, view: AttentionView) -> None:
    """Tabs: every head of the layer side by side; the numbers of the view."""
    grid_tab, numbers_tab = st.tabs([t("attention.tab_grid", layer=layer), t("attention.tab_numbers")])  # fmt: skip
    with grid_tab:
        weights, grid_labels = head_grid(spec, text, level, layer)
        titles = [t("attention.grid_head", head=h) for h in range(weights.shape[0])]
        figure = head_grid_figure(weights, grid_labels, titles, value_name=t("attention.weight"))
        st.plotly_chart(figure, key="attn_grid", **CHART)
        st.caption(t("attention.grid_caption"))
    with numbers_tab:
        names, n_units = view.full_labels, len(view.full_labels)
        if n_units > MAX_TABLE_SIZE:
            st.caption(t("attention.numbers_too_big", n_units=n_units))
            return
        if len(set(names)) < n_units:  # repeated words: number them to keep columns apart
            names = [f"{i}:{name}" for i, name in enumerate(names)]
        table = pd.DataFrame(view.matrix, index=names, columns=names)  # not pooled here
        st.dataframe(table.round(4), key="attn_numbers")


@st.fragment
def overview_panel(spec: str, text: str, d: ModelDescription, n_tokens: int) -> None:
    """Every layer x head coloured by a statistic, and the top heads by it. A click opens
    that head in the main view (a rerun of the whole page). Long texts compute the
    statistics on request: they read every layer."""
    if st.session_state.pop(OPENED_KEY, False):
        st.rerun()  # a click here changed the main view, which lives in another fragment
    st.subheader(t("attention.overview_heading"))
    if not has_summary(spec, text) and n_tokens > QUICK_SUMMARY_TOKENS:
        limit = {"limit": QUICK_SUMMARY_TOKENS, "n_layers": d.n_layers}
        st.caption(t("attention.summary_on_request", n_tokens=n_tokens, **limit))
        if not st.button(t("attention.summary_button"), key="attn_summary"):
            return
    ensure_summary(spec, text, d.n_layers)
    stats = summary_of(spec, text).stats
    names = labels("attention.stat", STAT_NAMES)
    stat = st.selectbox(t("attention.stat"), STAT_NAMES, key="attn_stat", format_func=names.get)
    overview = overview_figure(
        stats.stat(stat),
        layer_title=t("attention.layer_axis"),
        head_title=t("attention.head_axis"),
        value_name=names[stat],
    )
    st.plotly_chart(
        overview, key="attn_overview", on_select=on_overview_click, selection_mode="points", **CHART
    )
    st.caption(t("attention.overview_caption"))
    st.markdown(f"**{t('attention.ranked_heading', stat=names[stat])}**")
    ranked = rank_heads(stats, stat, top=TOP_HEADS)
    rows = [
        (r.layer, r.head, round(r.value, 3), role_text(describe_head(stats, r.layer, r.head)))
        for r in ranked
    ]
    columns = [t(f"attention.col_{c}") for c in ("layer", "head", "value", "role")]
    st.dataframe(
        pd.DataFrame(rows, columns=columns), hide_index=True, key="attn_ranked",
        selection_mode="single-row", on_select=lambda: on_ranking_click(ranked),
    )  # fmt: skip
