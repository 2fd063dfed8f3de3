"""What can be done with a finished result's saved model: one function, used by the
Fine-tuning studio and the Compression lab.

Both models are named by specs that ``llm_core.load_model`` accepts: the base model's
(the sidebar's spec: "default", a saved output's name, a hub id or a folder) and the
saved output's name. "Compare with the base model" opens the Compare page with the
output as model B (a shared link does the same with ``?model=BASE&other=OUTPUT``).
"""

from __future__ import annotations

import streamlit as st

from ui.i18n import t

COMPARE_PAGE = "views/compare.py"
COMPARE_HANDOFF_KEY = "vs_handoff"  # the model the Compare page opens as model B


def show_result_actions(base_spec: str, output: str) -> None:
    """Say where the result was saved and how to use it (``output``: its name)."""
    st.success(t("results.saved_as", name=output, base=base_spec))
    if st.button(t("results.compare"), key=f"compare_{output}", icon=":material/compare:"):
        st.session_state[COMPARE_HANDOFF_KEY] = output  # the sidebar's model is the base
        st.switch_page(COMPARE_PAGE)
