"""The Generation page's result views: a finished run with its step detail and attention,
step-through mode, and two settings side by side. Each draws from recorded steps or
cached distributions; only the Generate/Compare buttons and a new step-through token run
the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from llm_core.errors import InputError, LLMCoreError
from llm_core.generation.generate import StepDistribution
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import LoadedModel
from llm_core.plots.generation import context_attention_figure, top_k_figure
from ui.generation_chips import (
    chips_html,
    legend_html,
    make_chips,
    readable_candidates,
    token_pieces,
)
from ui.generation_chips import weight_chips_html as weights_html
from ui.generation_controls import COMPARE_PRESETS
from ui.generation_state import (
    COMPARE_KEY,
    COMPARE_LIVE_KEY,
    WALK_KEY,
    ShownRun,
    StreamingChips,
    cached_distribution,
    make_request,
    model_choice,
    run_chips,
    stream_run,
    walk_settings,
    walk_step,
)
from ui.i18n import labels, t

CHART = {"width": "stretch", "config": {"displaylogo": False}}
MAX_WALK_TOKENS = 256


def tips() -> dict[str, str]:
    return {"step": t("gen.chip_tip")}


def streamer(loaded: LoadedModel, placeholder, request):
    """(draw, on_wait) callbacks that redraw ``placeholder`` while generating."""
    chips = StreamingChips(loaded.tokenizer, request.prompt_ids)

    def draw(step) -> None:
        placeholder.html(chips.add(step))

    def on_wait(step: int) -> None:
        total = request.settings.max_new_tokens
        placeholder.caption(t("gen.beam_progress", step=step, total=total))

    return draw, on_wait


def clamp(key: str, options: range, default: int) -> None:
    value = st.session_state.get(key, default)
    st.session_state[key] = value if value in options else default


def summary(run: ShownRun, number: int) -> str:
    """One line: how many tokens, why it ended, their mean probability."""
    shown = run.sequences[number]
    reason = t("gen.stopped") if run.stopped else t(f"gen.finish.{shown.finish_reason}")
    mean = float(np.mean([s.prob for s in shown.steps])) if shown.steps else float("nan")
    return t("gen.summary", n_tokens=len(shown.steps), reason=reason, mean=f"{mean:.1%}")


# ---------------------------------------------------------------------------- one run


def render_run(run: ShownRun, output, loaded: LoadedModel) -> None:
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
    output.html(run_chips(run, number, index, tips()))
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
    render_step(loaded.tokenizer, run.request.settings, shown.steps[index], shown.labels[index])
    render_attention(run, number, index, loaded.description.n_layers)


def render_step(tokenizer, settings: GenerationSettings, step, label: str) -> None:
    """Metrics and the before/after bar chart of one step."""
    columns = st.columns(5)
    columns[0].metric(t("gen.m_token"), repr(label))
    columns[1].metric(t("gen.m_prob"), f"{step.prob:.2%}", help=t("gen.m_prob_help"))
    columns[2].metric(t("gen.m_prob_after"), f"{step.prob_after:.2%}", help=t("gen.m_after_help"))
    columns[3].metric(t("gen.m_rank"), step.rank)
    columns[4].metric(
        t("gen.m_entropy"),
        f"{step.entropy:.2f}",
        delta=None
        if settings.strategy != "sample"
        else f"{step.entropy_after - step.entropy:+.2f}",
        delta_color="off",
        help=t("gen.m_entropy_help"),
    )
    st.plotly_chart(
        top_k_chart(tokenizer, step.top_before, step.top_after, step.token_id),
        key="gen_topk",
        **CHART,
    )
    if settings.strategy != "sample":
        st.caption(t("gen.no_filters"))


def top_k_chart(tokenizer, top_before, top_after, chosen: int):
    return top_k_figure(
        readable_candidates(tokenizer, top_before),
        readable_candidates(tokenizer, top_after),
        chosen,
        title=t("gen.topk_title"),
        before_name=t("gen.before"),
        after_name=t("gen.after"),
        prob_title=t("gen.probability"),
        chosen_name=t("gen.chosen"),
    )


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
    st.html(weights_html(labels, weights[head].tolist()))


# ---------------------------------------------------------------------------- step-through


def _walk_add(spec: str, ids: tuple, settings: GenerationSettings, token: int | None) -> None:
    """A button's callback: add the model's choice (``token`` None) or the picked token."""
    walk = st.session_state[WALK_KEY]
    if ids != (*walk["request"].prompt_ids, *(s.token_id for s in walk["steps"])):
        return  # a second click before the page redrew: its context is already gone
    dist = cached_distribution(spec, ids, settings)
    picked = token is not None
    token = token if picked else model_choice(dist, settings, len(walk["steps"]))
    walk["steps"].append(walk_step(dist, token, picked))


def _walk_undo() -> None:
    steps = st.session_state[WALK_KEY]["steps"]
    if steps:
        steps.pop()


def render_walk(
    loaded: LoadedModel, spec: str, prompt: str, chat: bool, system: str, settings
) -> None:
    st.caption(t("gen.walk_intro"))
    beam = settings.strategy == "beam"
    settings = walk_settings(settings)
    if st.button(t("gen.walk_start"), key="gen_walk_start", type="primary"):
        try:
            request = make_request(loaded, spec, prompt, chat, system, settings)
            st.session_state[WALK_KEY] = {"request": request, "steps": []}
        except LLMCoreError as error:
            st.error(str(error))
    walk = st.session_state.get(WALK_KEY)
    if walk is None or walk["request"].spec != spec:
        return
    request, steps = walk["request"], walk["steps"]
    ids = (*request.prompt_ids, *(s.token_id for s in steps))
    try:
        if len(steps) >= MAX_WALK_TOKENS:
            raise InputError(t("gen.walk_limit", limit=MAX_WALK_TOKENS))
        dist = cached_distribution(spec, ids, settings)
    except LLMCoreError as error:
        st.error(str(error))
        dist = None
    prompt_ids = list(request.prompt_ids)
    walked = token_pieces(loaded.tokenizer, [s.token_id for s in steps], prompt_ids[-1:])
    chips = make_chips(token_pieces(loaded.tokenizer, prompt_ids)) + make_chips(
        walked,
        [s.prob for s in steps],
        [t("gen.walk_tip", prob=f"{s.prob:.1%}", rank=s.rank) for s in steps],
        [s.picked for s in steps],
    )
    st.html(chips_html(chips))
    st.html(legend_html(t("gen.legend")))
    if beam:
        st.caption(t("gen.walk_beam"))
    buttons = st.columns(3)
    args = (spec, ids, settings)
    buttons[0].button(
        t("gen.walk_next"),
        key="gen_walk_next",
        on_click=_walk_add,
        args=(*args, None),
        disabled=dist is None,
    )
    buttons[1].button(
        t("gen.walk_undo"), key="gen_walk_undo", on_click=_walk_undo, disabled=not steps
    )
    buttons[2].caption(t("gen.walk_count", n=len(steps)))
    if dist is not None:
        render_pick(loaded.tokenizer, dist, args, len(steps))


def render_pick(tokenizer, dist: StepDistribution, args: tuple, n_steps: int) -> None:
    kept = {c.token_id for c in dist.top_after}
    candidates = list(readable_candidates(tokenizer, dist.top_before)) + [
        c for c in dist.top_after if c.token_id not in {b.token_id for b in dist.top_before}
    ]
    names = {
        c.token_id: f"{c.token!r} · {dist.prob_of(c.token_id)[0]:.1%}"
        + ("" if c.token_id in kept else f" ({t('gen.filtered')})")
        for c in candidates
    }
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            top_k_chart(tokenizer, dist.top_before, dist.top_after, -1),
            key="gen_walk_chart",
            **CHART,
        )
    with right:
        st.metric(t("gen.m_entropy"), f"{dist.entropy:.2f}", help=t("gen.m_entropy_help"))
        pick = st.radio(
            t("gen.walk_pick"), list(names), key=f"gen_walk_pick_{n_steps}", format_func=names.get
        )
        st.button(t("gen.walk_use"), key="gen_walk_use", on_click=_walk_add, args=(*args, pick))


# ---------------------------------------------------------------------------- comparison


def preset_settings(name: str, base: GenerationSettings) -> GenerationSettings:
    """The strategy of preset ``name`` with the length, seed, penalty and stops of ``base``."""
    options = COMPARE_PRESETS[name]
    if options is None:
        return dataclasses.replace(base, capture_attention=False)
    plain = {"do_sample": False, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "num_beams": 1}
    return dataclasses.replace(
        base, **{**plain, **options}, num_return_sequences=1, capture_attention=False
    )


def render_compare(
    loaded: LoadedModel, spec: str, prompt: str, chat: bool, system: str, settings
) -> None:
    st.caption(t("gen.compare_intro"))
    names = [
        column.selectbox(
            t("gen.compare_side", side=side),
            list(COMPARE_PRESETS),
            key=f"gen_cmp_{side.lower()}",
            format_func=labels("gen.preset", tuple(COMPARE_PRESETS)).__getitem__,
        )
        for column, side in zip(st.columns(2), ("A", "B"), strict=True)
    ]
    buttons = st.columns([1, 1, 4])
    go = buttons[0].button(t("gen.compare_run"), key="gen_compare_run", type="primary")
    buttons[1].button(t("gen.stop"), key="gen_compare_stop")
    panes = [(column.empty(), column.empty(), column.empty()) for column in st.columns(2)]
    if go:
        st.session_state.pop(COMPARE_KEY, None)
        try:
            requests = [
                make_request(loaded, spec, prompt, chat, system, preset_settings(name, settings))
                for name in names
            ]
        except LLMCoreError as error:
            st.error(str(error))
            return
        runs = []
        for (heading, output, _caption), name, request in zip(panes, names, requests, strict=True):
            heading.markdown(f"**{t(f'gen.preset.{name}')}**")
            draw, on_wait = streamer(loaded, output, request)
            runs.append(stream_run(loaded, request, draw, on_wait, live_key=COMPARE_LIVE_KEY))
        st.session_state[COMPARE_KEY] = tuple(zip(names, runs, strict=True))
    shown = st.session_state.get(COMPARE_KEY, ())
    if any(run.request.spec != spec or not run.sequences for _, run in shown):
        return  # made by another model (or stopped before a token): nothing to show
    for (heading, output, caption), (name, run) in zip(panes, shown, strict=False):
        heading.markdown(f"**{t(f'gen.preset.{name}')}**")
        output.html(run_chips(run, 0, None, tips()))
        caption.caption(summary(run, 0))
    if shown:
        st.html(legend_html(t("gen.legend")))
