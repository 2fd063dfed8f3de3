"""Home: what the app teaches, and a card for the selected model."""

import pandas as pd
import streamlit as st

from llm_core.models.description import COMPONENTS
from llm_core.plots.model import (
    ARCHITECTURE_LABELS,
    architecture_dot,
    format_count,
    parameter_breakdown_chart,
)
from ui.i18n import t, template
from ui.model_loader import page_model

st.title(t("home.title"))
st.write(t("home.intro"))

st.subheader(t("home.learn_heading"))
for key in ("tokens", "attention", "generation", "training", "compression", "interpret"):
    st.markdown(f"- {t('home.learn_' + key)}")

loaded, _ = page_model()
d = loaded.description

st.subheader(f"{t('home.model_heading')}: {d.name}")
st.caption(d.source)
columns = st.columns(6)
columns[0].metric(t("home.metric_layers"), d.n_layers)
columns[1].metric(
    t("home.metric_heads"),
    f"{d.n_heads} / {d.n_kv_heads}",
    help=t("home.metric_heads_help", n_heads=d.n_heads, n_kv_heads=d.n_kv_heads),
)
columns[2].metric(t("home.metric_d_model"), d.d_model)
columns[3].metric(t("home.metric_vocab"), f"{d.vocab_size:,}")
columns[4].metric(t("home.metric_context"), f"{d.context_length:,}")
columns[5].metric(t("home.metric_params"), format_count(d.n_params))

left, right = st.columns([2, 3])
with left:
    st.markdown(f"**{t('home.architecture_heading')}**")
    # Templates, not finished strings: the engine fills in the model's own figures.
    arch_labels = {key: template(f"home.arch.{key}") for key in ARCHITECTURE_LABELS}
    st.graphviz_chart(architecture_dot(d, arch_labels))
    st.caption(
        t(
            "home.architecture_caption",
            n_layers=d.n_layers,
            n_heads=d.n_heads,
            vocab_size=f"{d.vocab_size:,}",
        )
    )
with right:
    st.markdown(f"**{t('home.params_heading')}**")
    labels = {c: t(f"home.component.{c}") for c in COMPONENTS}
    st.altair_chart(parameter_breakdown_chart(d, labels, t("home.axis_params")), width="stretch")
    if d.tied_embeddings:
        st.caption(t("home.params_tied"))
    st.caption(t("home.memory", gb=d.n_params * 4 / 1e9))

with st.expander(t("home.details")):
    fields = {
        k: v for k, v in d.to_dict().items() if k not in ("params_by_component", "provenance")
    }
    fields.update({f"params.{k}": v for k, v in d.params_by_component.items()})
    fields.update({f"provenance.{k}": v for k, v in d.provenance.items()})
    st.dataframe(
        pd.DataFrame(
            {t("home.field"): list(fields), t("home.value"): [str(v) for v in fields.values()]}
        ),
        hide_index=True,
        width="stretch",
    )
