"""A finished generation on the Generation page: its chips, the chosen step's candidates
before and after the filters, and where the model was looking when it chose that token.
Everything is drawn from the recorded steps: choosing a step, a layer or a head runs no
model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from llm_core.generation.sampling import GenerationSettings, GenerationStep, TokenProb
from llm_core.plots.generation import context_attention_figure, top_k_figure
from ui.generation_runs import ShownRun, run_chips
from ui.i18n import t
from ui.token_chips import chips_html, legend_html, weight_chips

ATTRIBUTION_PAGE = "views/attribution.py"
# (prompt up to the step, the step's token id): what the Attribution page opens with.
ATTRIBUTION_HANDOFF_KEY = "attr_handoff"
CHART = {"width": "stretch", "config": {"displaylogo": False}}


def clamp(key: str, options: range, default: int) -> None:
    value = st.session_state.get(key, default)
    st.session_state[key] = value if value in options else default


def summary(run: ShownRun, number: int) -> str:
    """One line: how many tokens, why it ended, their mean probability."""
    shown = run.sequences[number]
    reason = t("gen.stopped") if run.stopped else t(f"gen.finish.{shown.finish_reason}")
    mean = float(np.mean([s.prob for s in shown.steps])) if shown.steps else float("nan")
    return t("gen.summary", n_tokens=len(shown.steps), reason=reason, mean=f"{mean:.1%}")


def top_k_chart(top_before: tuple[TokenProb, ...], top_after: tuple[TokenProb, ...], chosen: int):
    return top_k_figure(
        top_before,
        top_after,
        chosen,
        title=t("gen.topk_title"),
        before_name=t("gen.before"),
        after_name=t("gen.after"),
        prob_title=t("gen.probability"),
        chosen_name=t("gen.chosen"),
    )


def render_run(run: ShownRun, output, n_layers: int) -> None:
    """Chips of the run (in ``output``), the chosen step's candidates and its attention."""
    n = len(run.sequences)
    if not n:
        output.empty()
        st.info(t("gen.stopped_empty"))
        return
    clamp("gen_sequence", range(n), 0)
    number = 0
    if n > 1:
        number = st.radio(
            t("gen.sequence"),
            range(n),
            key="gen_sequence",
            horizontal=True,
            format_func={i: t("gen.sequence_label", number=i + 1) for i in range(n)}.__getitem__,
        )
    shown = run.sequences[number]
    clamp("gen_step", range(len(shown.steps)), 0)
    index = st.session_state["gen_step"]
    output.html(run_chips(run, number, index, t("gen.chip_tip")))
    st.html(legend_html(t("gen.legend")))
    st.caption(summary(run, number))
    with st.expander(t("gen.plain_text")):
        st.code(shown.text or " ", language=None, wrap_lines=True)
    if len(shown.steps) > 1:
        index = st.select_slider(
            t("gen.step"),
            range(len(shown.steps)),
            key="gen_step",
            format_func=lambda i: f"{i + 1}: {shown.labels[i]!r}",
        )
    render_step(run.request.settings, shown.steps[index], shown.labels[index])
    # A chat prompt's template is not text the Attribution page reads: no button there.
    if not run.request.chat and st.button(t("gen.why_link"), key="gen_why", icon=":material/help:"):
        before = run.request.prompt + "".join(shown.pieces[:index])
        st.session_state[ATTRIBUTION_HANDOFF_KEY] = (before, shown.steps[index].token_id)
        st.switch_page(ATTRIBUTION_PAGE)
    render_attention(run, number, index, n_layers)


def render_step(settings: GenerationSettings, step: GenerationStep, label: str) -> None:
    """Metrics and the before/after bar chart of one step."""
    columns = st.columns(5)
    columns[0].metric(t("gen.m_token"), repr(label))
    columns[1].metric(t("gen.m_prob"), f"{step.prob:.2%}", help=t("gen.m_prob_help"))
    columns[2].metric(t("gen.m_prob_after"), f"{step.prob_after:.2%}", help=t("gen.m_after_help"))
    columns[3].metric(t("gen.m_rank"), step.rank)
    sampled = settings.strategy == "sample"
    columns[4].metric(
        t("gen.m_entropy"),
        f"{step.entropy:.2f}",
        delta=f"{step.entropy_after - step.entropy:+.2f}" if sampled else None,
        delta_color="off",
        help=t("gen.m_entropy_help"),
    )
    chart = top_k_chart(step.top_before, step.top_after, step.token_id)
    st.plotly_chart(chart, key="gen_topk", **CHART)
    if not sampled:
        st.caption(t("gen.no_filters"))


def render_attention(run: ShownRun, number: int, index: int, n_layers: int) -> None:
    st.subheader(t("gen.looking_heading"))
    step = run.sequences[number].steps[index]
    if step.attention is None:
        st.info(t("gen.no_attention"))
        return
    n_heads = step.attention.shape[1]  # [layer, head, key_pos]
    clamp("gen_att_layer", range(n_layers), n_layers // 2)
    clamp("gen_att_head", range(n_heads), 0)
    left, right = st.columns([3, 1])
    layer = left.select_slider(t("gen.layer"), range(n_layers), key="gen_att_layer")
    head = right.selectbox(t("gen.head"), range(n_heads), key="gen_att_head")
    labels = run.context_labels(number, index)
    weights = step.attention[layer]  # [head, key_pos]
    st.caption(t("gen.looking_caption", step=index + 1, n_keys=len(labels)))
    figure = context_attention_figure(
        labels,
        weights[head],
        weights.mean(0),
        head_name=t("gen.head_name", layer=layer, head=head),
        mean_name=t("gen.mean_heads"),
        key_title=t("gen.context_axis"),
        value_name=t("gen.attention_weight"),
    )
    st.plotly_chart(figure, key="gen_attention_chart", **CHART)
    st.html(chips_html(weight_chips(labels, weights[head].tolist())))
