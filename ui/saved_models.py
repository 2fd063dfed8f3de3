"""The saved models (fine-tuned and compressed outputs): a table, and download (zip) or
delete for the one picked. Shown on the Fine-tuning studio."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.models.outputs import SavedOutput, delete_output, list_outputs, zip_output
from ui.i18n import t


def _row(output: SavedOutput) -> dict[str, object]:
    record = output.provenance
    metrics = record.get("metrics", {})
    before, after = metrics.get("eval_perplexity_before"), metrics.get("eval_perplexity_after")
    return {
        t("finetune.col_name"): output.name,
        t("finetune.col_method"): record.get("method", record.get("kind", "")),
        t("finetune.col_base"): record.get("base_model_name", record.get("base_model", "")),
        t("finetune.col_corpus"): record.get("corpus", {}).get("name", ""),
        t("finetune.col_steps"): record.get("steps"),
        t("finetune.col_ppl"): f"{before:,.2f} → {after:,.2f}" if before and after else "",
        t("finetune.col_size"): round(output.n_bytes / 2**20, 1),
        t("finetune.col_saved"): str(record.get("saved", "")).replace("T", " ").rstrip("Z"),
    }


def show_outputs() -> None:
    """A table of saved models, with download (zip) and delete for the one picked."""
    st.subheader(t("finetune.outputs_heading"))
    if "ft_deleted" in st.session_state:
        st.success(t("finetune.deleted", name=st.session_state.pop("ft_deleted")))
    outputs = list_outputs()
    if not outputs:
        st.info(t("finetune.outputs_empty"))
        return
    st.dataframe(pd.DataFrame([_row(o) for o in outputs]), hide_index=True, width="stretch")
    by_name = {o.name: o for o in outputs}
    name = st.selectbox(t("finetune.output_pick"), list(by_name), key="ft_output_pick")
    picked = by_name[name]
    columns = st.columns([2, 2, 1, 2])
    columns[0].download_button(
        t("finetune.download_model"), lambda: zip_output(name), f"{name}.zip", "application/zip",
        key=f"ft_zip_{name}", on_click="ignore",
    )  # fmt: skip
    if picked.has_adapter:
        columns[1].download_button(
            t("finetune.download_adapter"), lambda: zip_output(name, adapter_only=True),
            f"{name}-adapter.zip", "application/zip", key=f"ft_zip_adapter_{name}", on_click="ignore",
        )  # fmt: skip
    confirm = columns[3].checkbox(t("finetune.delete_confirm", name=name), key=f"ft_confirm_{name}")
    if columns[2].button(t("finetune.delete"), key=f"ft_delete_{name}", disabled=not confirm):
        try:
            delete_output(name)
            st.session_state["ft_deleted"] = name
            st.rerun()  # the table and the sidebar picker list it no more
        except LLMCoreError as error:
            st.error(str(error))
