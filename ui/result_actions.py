"""What can be done with a finished result's saved model: one function, used by the
Fine-tuning studio and the Compression lab.

Both models are named by specs that ``llm_core.load_model`` accepts: the base model's
(the sidebar's spec: "default", a saved output's name, a hub id or a folder) and the
saved output's name, so any page can be linked with the pair, e.g.
``st.page_link("views/compare.py", query_params={"model": base_spec, "other": output})``.
"""

from __future__ import annotations

import streamlit as st

from ui.i18n import t


def show_result_actions(base_spec: str, output: str) -> None:
    """Say where the result was saved and how to use it (``output``: its name)."""
    st.success(t("results.saved_as", name=output, base=base_spec))
    st.page_link(
        "views/compare.py",
        label=t("results.compare"),
        icon=":material/compare:",
        query_params={"model": base_spec, "other": output},
    )
