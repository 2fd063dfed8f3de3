"""Attention: one head (or a mean, or rollout) as a heatmap and as lines between words,
every head of a layer side by side, and every layer x head at a glance."""

from functools import partial

import pandas as pd
import streamlit as st

from llm_core.attention.capture import FULL_CAPTURE_MAX_TOKENS, MAX_ATTENTION_TOKENS
from llm_core.attention.export import matrix_csv, matrix_json
from llm_core.attention.stats import STAT_NAMES, HeadRole, RankedHead, describe_head, rank_heads
from llm_core.errors import LLMCoreError
from llm_core.plots.attention import (
    MAX_FLOW_SIZE,
    MIN_FLOW_WEIGHT,
    head_grid_figure,
    overview_figure,
    text_flow_figure,
)
from llm_core.plots.heatmaps import attention_heatmap, figure_html
from llm_core.text.tokens import LEVELS
from ui.attention_cache import (
    DEFAULT_VIEW,
    MAX_URL_TEXT_CHARS,
    REDUCTIONS,
    attention_of,
    attention_view,
    full_matrix,
    head_grid,
    keep_view,
    restore_view,
)
from ui.i18n import t
from ui.model_loader import page_model

MAX_TABLE_SIZE = 64  # rows of the numbers table; the CSV holds every value
TOP_HEADS = 10
# The modebar stays on: its camera button saves a PNG (at twice the screen resolution).
PNG = {"filename": "attention", "scale": 2}
CHART = {"width": "stretch", "config": {"displaylogo": False, "toImageButtonOptions": PNG}}


def open_head(layer: int, head: int) -> None:
    """Show one head in the main view (a click on the overview or the ranking)."""
    st.session_state.update(attn_layer=layer, attn_head=head, attn_reduction="head")


def on_overview_click() -> None:
    points = st.session_state["attn_overview"].selection.get("points") or []
    if points:
        open_head(int(points[0]["y"]), int(points[0]["x"]))


def on_ranking_click(ranked: tuple[RankedHead, ...]) -> None:
    for row in st.session_state["attn_ranked"].selection.rows[:1]:
        open_head(ranked[row].layer, ranked[row].head)


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


st.title(t("attention.title"))
st.caption(t("attention.how_to_read"))
loaded, spec = page_model()
d = loaded.description
restore_view({"attn_text": t("attention.default_text"), **DEFAULT_VIEW}, d.n_layers, d.n_heads)
text = st.text_area(t("attention.text"), key="attn_text", height=80)
left, middle, right, far_right = st.columns([3, 3, 4, 1])
level = left.radio(
    t("attention.level"),
    LEVELS,
    key="attn_level",
    horizontal=True,
    format_func=lambda v: t(f"attention.level.{v}"),
    help=t("attention.level_help"),
)
reduction = middle.selectbox(
    t("attention.reduction"),
    REDUCTIONS,
    key="attn_reduction",
    format_func=lambda v: t(f"attention.reduction.{v}"),
    help=t("attention.reduction_help"),
)
layer = right.select_slider(
    t("attention.layer"),
    list(range(d.n_layers)),
    key="attn_layer",
    disabled=reduction in ("mean_layers", "rollout"),
)
head = far_right.selectbox(
    t("attention.head"), list(range(d.n_heads)), key="attn_head", disabled=reduction != "head"
)
keep_view(spec, ["attn_text", *DEFAULT_VIEW])
limits = {"full": FULL_CAPTURE_MAX_TOKENS, "max_tokens": MAX_ATTENTION_TOKENS}
st.caption(t("attention.limits", context=f"{d.context_length:,}", **limits))
if not text.strip():
    st.error(t("attention.empty_text"))
    st.stop()
try:
    tokens, capture = attention_of(spec, text, layer)
    view = attention_view(spec, text, level, reduction, layer, head)
except LLMCoreError as error:
    st.error(str(error))
    st.stop()
n_units = len(view.full_labels)

counts = {"n_characters": len(tokens.characters), "n_words": len(tokens.words), "name": d.name}
st.caption(t("attention.counts", n_tokens=tokens.n_tokens, **counts))
if tokens.n_tokens > FULL_CAPTURE_MAX_TOKENS:
    st.info(t("attention.long_input", n_tokens=tokens.n_tokens, layer=layer, **limits))
if len(text) > MAX_URL_TEXT_CHARS:
    st.caption(t("attention.url_text_dropped", limit=MAX_URL_TEXT_CHARS))
if reduction == "head":
    role = describe_head(capture.stats, layer, head)
    st.info(f"{role_text(role)} {t('attention.role_basis')}")

axes = {
    "query_title": t("attention.axis_query"),
    "key_title": t("attention.axis_key"),
    "value_name": t("attention.weight"),
}
numbers = {"layer": layer, "head": head, "n_heads": d.n_heads, "n_layers": d.n_layers}
# a text flow needs a column of its own only when it can be drawn
fits_flow = n_units <= MAX_FLOW_SIZE
heat_column, flow_column = st.columns([3, 2]) if fits_flow else (st.container(), st.container())
with heat_column:
    figure = attention_heatmap(
        view.matrix,
        view.labels,
        mask_upper=capture.causal,
        title=t(f"attention.view_title.{reduction}", **numbers),
        **axes,
    )
    st.plotly_chart(figure, key="attn_heatmap", **CHART)
    if view.block > 1:
        st.caption(t("attention.pooled", n_units=n_units, block=view.block))
    # Downloads are built when clicked, from every unit (not the pooled cells).
    about = {"model": d.name, "text": text, "level": level, "view": reduction, **numbers}
    full = partial(full_matrix, tokens, capture, level, reduction, layer, head)
    downloads = (
        ("csv", lambda: matrix_csv(full(), view.full_labels), "text/csv"),
        ("json", lambda: matrix_json(full(), view.full_labels, **about), "application/json"),
        ("html", lambda: figure_html(figure), "text/html"),  # embeds plotly.js: works offline
    )
    for column, (kind, data, mime) in zip(st.columns(3), downloads, strict=True):
        column.download_button(
            t(f"attention.download_{kind}"), data, f"attention.{kind}", mime, key=f"attn_{kind}"
        )
    st.caption(t("attention.export_hint"))
with flow_column:
    st.markdown(f"**{t('attention.flow_heading')}**")
    if not fits_flow:
        st.info(t("attention.flow_too_long", max_units=MAX_FLOW_SIZE, n_units=n_units))
    else:
        focus = st.session_state.get("attn_focus", -1)  # re-set: survives a language switch
        st.session_state["attn_focus"] = focus if focus in range(-1, n_units) else -1
        focus = st.selectbox(
            t("attention.flow_focus"),
            range(-1, n_units),
            key="attn_focus",
            format_func=lambda i: view.full_labels[i] if i >= 0 else t("attention.flow_all"),
        )
        # under MAX_FLOW_SIZE units the view is never pooled: view.matrix has every unit
        flow = text_flow_figure(
            view.matrix, view.labels, focus=None if focus < 0 else focus, **axes
        )
        st.plotly_chart(flow, key="attn_flow", **CHART)
        st.caption(t("attention.flow_caption", min_weight=MIN_FLOW_WEIGHT))

tab_names = [
    t("attention.tab_grid", layer=layer),
    t("attention.tab_overview"),
    t("attention.tab_numbers"),
]
grid_tab, overview_tab, numbers_tab = st.tabs(tab_names)
with grid_tab:
    weights, grid_labels = head_grid(spec, text, level, layer)
    titles = [t("attention.grid_head", head=h) for h in range(d.n_heads)]
    st.plotly_chart(
        head_grid_figure(
            weights, grid_labels, titles, value_name=axes["value_name"], mask_upper=capture.causal
        ),
        key="attn_grid",
        **CHART,
    )
    st.caption(t("attention.grid_caption"))
with overview_tab:
    stat = st.selectbox(
        t("attention.stat"),
        STAT_NAMES,
        key="attn_stat",
        format_func=lambda s: t(f"attention.stat.{s}"),
    )
    overview = overview_figure(
        capture.stats.stat(stat),
        layer_title=t("attention.layer_axis"),
        head_title=t("attention.head_axis"),
        value_name=t(f"attention.stat.{stat}"),
        selected=(layer, head) if reduction == "head" else None,
    )
    st.plotly_chart(
        overview, key="attn_overview", on_select=on_overview_click, selection_mode="points", **CHART
    )
    st.caption(t("attention.overview_caption"))
    st.markdown(f"**{t('attention.ranked_heading', stat=t(f'attention.stat.{stat}'))}**")
    ranked = rank_heads(capture.stats, stat, top=TOP_HEADS)
    rows = [
        (
            r.layer,
            r.head,
            round(r.value, 3),
            role_text(describe_head(capture.stats, r.layer, r.head)),
        )
        for r in ranked
    ]
    columns = [t(f"attention.col_{c}") for c in ("layer", "head", "value", "role")]
    st.dataframe(
        pd.DataFrame(rows, columns=columns),
        hide_index=True,
        key="attn_ranked",
        selection_mode="single-row",
        on_select=lambda: on_ranking_click(ranked),
    )
with numbers_tab:
    labels = view.full_labels
    if n_units > MAX_TABLE_SIZE:
        st.caption(t("attention.numbers_too_big", n_units=n_units))
    else:
        if len(set(labels)) < n_units:  # repeated words: number them to keep columns apart
            labels = [f"{i}:{label}" for i, label in enumerate(labels)]
        table = pd.DataFrame(view.matrix, index=labels, columns=labels)  # not pooled here
        st.dataframe(table.round(4), key="attn_numbers")
