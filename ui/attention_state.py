"""What the Attention page keeps between runs: its view (widget values, kept across page
visits and mirrored in the address bar, so a copied link reproduces the view) and the
callbacks that open a head from the overview or the ranking."""

from __future__ import annotations

import streamlit as st

from llm_core.attention.reductions import REDUCTIONS
from llm_core.attention.stats import STAT_NAMES, RankedHead
from llm_core.models.default_model import DEFAULT_SPEC
from llm_core.text.tokens import LEVELS

# Widget keys and their defaults; the text's default comes from the catalog.
DEFAULT_VIEW = {
    "attn_level": "word",
    "attn_reduction": "head",
    "attn_layer": 3,
    "attn_head": 2,
    "attn_stat": STAT_NAMES[0],
}
URL_KEYS = {  # query parameter -> widget key: a copied link reproduces the view
    "text": "attn_text",
    "level": "attn_level",
    "view": "attn_reduction",
    "layer": "attn_layer",
    "head": "attn_head",
}
ALLOWED = {"attn_level": LEVELS, "attn_reduction": REDUCTIONS, "attn_stat": STAT_NAMES}
MAX_URL_TEXT_CHARS = 1_000  # longer texts stay out of the address bar
KEPT_KEY = "attn_kept"


def restore_view(defaults: dict[str, object], n_layers: int, n_heads: int) -> None:
    """Fill the page's widget state before the widgets are drawn: from a shared link on
    the session's first visit, afterwards from the values kept by ``keep_view`` (Streamlit
    forgets a widget's state while another page shows). Bad values fall back to defaults;
    layer and head are clamped to the model. Call it before the widgets are drawn."""
    first_visit = KEPT_KEY not in st.session_state
    kept = st.session_state.setdefault(KEPT_KEY, {})
    if first_visit:
        kept.update(
            {key: st.query_params[p] for p, key in URL_KEYS.items() if p in st.query_params}
        )
    for key, default in defaults.items():
        value = st.session_state[key] if key in st.session_state else kept.get(key, default)
        if key in ALLOWED and value not in ALLOWED[key]:
            value = default
        # Set even an unchanged value: a selectbox or radio remembers its choice by the
        # label it showed, so after a language switch only a value set here survives.
        st.session_state[key] = value
    for key, count in (("attn_layer", n_layers), ("attn_head", n_heads)):
        value = str(st.session_state[key])
        st.session_state[key] = min(int(value) if value.isdigit() else defaults[key], count - 1)


def keep_view(spec: str, keys: list[str]) -> None:
    """Remember the widget values for the next visit and mirror them in the address bar."""
    kept = st.session_state.get(KEPT_KEY, {})  # a widget not drawn this run keeps its value
    st.session_state[KEPT_KEY] = {key: st.session_state.get(key, kept.get(key)) for key in keys}
    params = {p: str(st.session_state[key]) for p, key in URL_KEYS.items()}
    if len(params["text"]) > MAX_URL_TEXT_CHARS:
        del params["text"]
    if spec != DEFAULT_SPEC:
        params["model"] = spec
    for stale in ({"text", "model"} - set(params)) & set(st.query_params):
        del st.query_params[stale]
    st.query_params.update(params)


# A click on the overview or the ranking sets this; the panel then reruns the whole page
# (the main view lives in a fragment of its own, which a click elsewhere does not rerun).
OPENED_KEY = "attn_opened"


def open_head(layer: int, head: int) -> None:
    """Show one head in the main view."""
    st.session_state.update(attn_layer=layer, attn_head=head, attn_reduction="head")
    st.session_state[OPENED_KEY] = True


def on_overview_click() -> None:
    points = st.session_state["attn_overview"].selection.get("points") or []
    if points:
        open_head(int(points[0]["y"]), int(points[0]["x"]))


def on_ranking_click(ranked: tuple[RankedHead, ...]) -> None:
    for row in st.session_state["attn_ranked"].selection.rows[:1]:
        open_head(ranked[row].layer, ranked[row].head)
