"""Two strategies side by side on the Generation page: the same prompt, two settings,
generated together (both join the model's batch) and streamed into two columns."""

from __future__ import annotations

import dataclasses

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import LoadedModel
from ui.generation_controls import COMPARE_PRESETS
from ui.generation_runs import make_request, run_chips, stream_runs, streamer
from ui.i18n import labels, t
from ui.step_detail import summary
from ui.token_chips import legend_html

COMPARE_KEY = "gen_compare"
COMPARE_LIVE_KEY = "gen_compare_live"


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
    st.session_state.pop(COMPARE_LIVE_KEY, None)  # interrupted: Compare runs it again
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
        for (heading, _output, _caption), name in zip(panes, names, strict=True):
            heading.markdown(f"**{t(f'gen.preset.{name}')}**")
        callbacks = [streamer(output, r) for (_, output, _), r in zip(panes, requests, strict=True)]
        runs = stream_runs(
            loaded,
            requests,
            [draw for draw, _ in callbacks],
            [wait for _, wait in callbacks],
            live_key=COMPARE_LIVE_KEY,
        )
        st.session_state[COMPARE_KEY] = tuple(zip(names, runs, strict=True))
    shown = st.session_state.get(COMPARE_KEY, ())
    if any(run.request.spec != spec or not run.sequences for _, run in shown):
        return  # made by another model (or stopped before a token): nothing to show
    for (heading, output, caption), (name, run) in zip(panes, shown, strict=False):
        heading.markdown(f"**{t(f'gen.preset.{name}')}**")
        output.html(run_chips(run, 0, None, t("gen.chip_tip")))
        caption.caption(summary(run, 0))
    if shown:
        st.html(legend_html(t("gen.legend")))
