"""Entry point: page config, navigation over views/, and the shared sidebar.

The page scripts live in views/, not pages/: with a pages/ folder beside app.py, Streamlit
(1.67) serves a fresh server's first deep link (/attention) from pages/ in its legacy
multipage mode, without this file's navigation and sidebar, until someone opens /."""

import streamlit as st

from ui.i18n import t
from ui.sidebar import render_language_switch, render_model_picker

st.set_page_config(page_title="LLM Explorer", page_icon="🔍", layout="wide")

render_language_switch()
navigation = st.navigation(
    [
        st.Page("views/home.py", title=t("nav.home"), icon=":material/home:", default=True),
        st.Page("views/tokenizer.py", title=t("nav.tokenizer"), icon=":material/segment:"),
        st.Page("views/attention.py", title=t("nav.attention"), icon=":material/grid_on:"),
        st.Page(
            "views/attention_math.py", title=t("nav.attention_math"), icon=":material/function:"
        ),
        st.Page("views/generation.py", title=t("nav.generation"), icon=":material/edit_note:"),
        st.Page("views/perplexity.py", title=t("nav.perplexity"), icon=":material/insights:"),
        st.Page("views/finetune.py", title=t("nav.finetune"), icon=":material/model_training:"),
        st.Page("views/compression.py", title=t("nav.compression"), icon=":material/compress:"),
        st.Page("views/attribution.py", title=t("nav.attribution"), icon=":material/help:"),
        st.Page("views/patching.py", title=t("nav.patching"), icon=":material/build:"),
        st.Page("views/compare.py", title=t("nav.compare"), icon=":material/compare:"),
    ]
)
render_model_picker()
navigation.run()
