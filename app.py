"""Entry point: page config, navigation over pages/, and the shared sidebar."""

import streamlit as st

from ui.i18n import t
from ui.sidebar import render_language_switch, render_model_picker

st.set_page_config(page_title="LLM Explorer", page_icon="🔍", layout="wide")

render_language_switch()
navigation = st.navigation(
    [
        st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
    ]
)
render_model_picker()
navigation.run()
