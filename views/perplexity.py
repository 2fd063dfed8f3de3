"""Perplexity and the logit lens: how surprised the model is by each token of a text, and
what it would predict if it stopped after each layer."""

import pandas as pd
import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.generation.perplexity import SEED_TEXT
from llm_core.plots.generation import logit_lens_figure, surprisal_chart
from ui.i18n import t, template
from ui.model_loader import page_model
from ui.perplexity_cache import LENS_K, lens_at, scored, start_token_choices, text_ids
from ui.token_chips import chips_html, legend_html, surprisal_chips

EXAMPLES = (SEED_TEXT, "The mat sat on the cat", "我爱吃苹果", "苹果爱吃我")
KEYS = {"ppl_text": SEED_TEXT, "ppl_start": None, "ppl_ranks": 5}
CHART = {"width": "stretch", "config": {"displaylogo": False}}
FORMULA = r"\mathcal{L} = -\frac{1}{N}\sum_{i=1}^{N} \log p(x_i \mid x_{<i}), \qquad"
FORMULA += r" \mathrm{PPL} = e^{\mathcal{L}}"


def restore(choices: list[str]) -> None:
    """Widget values survive a visit to another page and a language switch."""
    kept = st.session_state.setdefault("ppl_kept", {})
    for key, default in KEYS.items():
        st.session_state[key] = st.session_state.get(key, kept.get(key, default))
    if st.session_state["ppl_start"] not in choices:
        st.session_state["ppl_start"] = choices[0] if choices else ""
    st.session_state["ppl_ranks"] = min(max(int(st.session_state["ppl_ranks"]), 1), LENS_K)


def use_example(text: str) -> None:
    st.session_state["ppl_text"] = text


st.title(t("ppl.title"))
st.caption(t("ppl.intro"))
loaded, spec = page_model()
choices = start_token_choices(spec)
restore(choices)
text = st.text_area(t("ppl.text"), key="ppl_text", height=80)
columns = st.columns([1] + [2] * len(EXAMPLES))
columns[0].caption(t("ppl.examples"))
for number, (column, example) in enumerate(zip(columns[1:], EXAMPLES, strict=True)):
    column.button(example, key=f"ppl_example_{number}", on_click=use_example, args=(example,))
start = ""
if choices:
    start = st.radio(
        t("ppl.start"),
        choices,
        key="ppl_start",
        horizontal=True,
        format_func={token: token or t("ppl.start_none") for token in choices}.__getitem__,
        help=t("ppl.start_help"),
    )
st.session_state["ppl_kept"] = {key: st.session_state[key] for key in KEYS}
try:
    ids = text_ids(spec, text, start)
    result, pieces, labels = scored(spec, ids)
except LLMCoreError as error:
    st.error(str(error))
    st.stop()

st.latex(FORMULA)
metrics = st.columns(3)
metrics[0].metric(
    t("ppl.m_perplexity"), f"{result.perplexity:,.2f}", help=t("ppl.m_perplexity_help")
)
metrics[1].metric(t("ppl.m_nll"), f"{result.mean_nll:.3f}")
metrics[2].metric(t("ppl.m_predicted"), len(result.nll))
tips = (t("ppl.first_tip"), template("ppl.chip_tip"))
st.html(chips_html(surprisal_chips(pieces, result.nll, *tips, start_token=bool(start))))
st.html(legend_html(t("ppl.legend")))
chart = surprisal_chart(
    labels,
    result.nll,
    token_title=t("ppl.token_axis"),
    value_name=t("ppl.surprisal_axis"),
    prob_name=t("ppl.probability"),
)
st.altair_chart(chart, width="stretch", key="ppl_surprisal")

st.subheader(t("ppl.lens_heading"))
st.caption(t("ppl.lens_intro"))
positions = list(range(len(ids)))
if st.session_state.get("ppl_lens_ids") != ids or "ppl_position" not in st.session_state:
    st.session_state["ppl_position"] = positions[-1]  # a new text: read its last token
st.session_state["ppl_lens_ids"] = ids
# Set even when unchanged, so the slider shows it after its options (the tokens) changed.
st.session_state["ppl_position"] = min(st.session_state["ppl_position"], positions[-1])
left, right = st.columns([3, 1])
position = positions[0]
if len(positions) > 1:
    position = left.select_slider(
        t("ppl.position"),
        positions,
        key="ppl_position",
        format_func=lambda i: f"{i}: {labels[i]!r}",
    )
ranks = right.slider(t("ppl.ranks"), 1, LENS_K, key="ppl_ranks")
try:
    lens, readable = lens_at(spec, ids, position)
except LLMCoreError as error:
    st.error(str(error))
    st.stop()
layer_names = [t("ppl.embeddings")] + [str(i) for i in range(1, lens.n_layers + 1)]
st.caption(t("ppl.lens_reading", position=position, token=repr(labels[position])))
figure = logit_lens_figure(
    [row[:ranks] for row in readable],
    lens.top_probs[:, :ranks],
    layer_title=t("ppl.layer_axis"),
    rank_title=t("ppl.rank_axis"),
    value_name=t("ppl.probability"),
    layer_names=layer_names,
)
st.plotly_chart(figure, key="ppl_lens", **CHART)
st.markdown(f"**{t('ppl.final_heading', token=repr(readable[-1][0]))}**")
trace = pd.DataFrame({"layer": range(lens.n_layers + 1), "p": lens.final_token_probs})
st.line_chart(
    trace, x="layer", y="p", x_label=t("ppl.layer_axis"), y_label=t("ppl.probability"), height=220
)
