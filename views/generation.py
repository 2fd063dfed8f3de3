"""Generation lab: how the next token is chosen, step by step.

Prompt -> strategy -> streamed coloured tokens; then any step's candidates before and after
the filters, where that token was looking, a step-through mode where the user may pick
the next token, and two strategies side by side."""

import streamlit as st

from llm_core.errors import LLMCoreError
from llm_core.text.pieces import decoded_text
from ui.compare_strategies import render_compare
from ui.generation_controls import keep_controls, render_prompt, render_settings, restore_controls
from ui.generation_runs import RUN_KEY, make_request, recover_interrupted, stream_runs, streamer
from ui.i18n import t
from ui.model_loader import page_model
from ui.step_detail import render_run
from ui.step_through import render_walk

PERPLEXITY_PAGE = "views/perplexity.py"
PERPLEXITY_TEXT_KEY = "ppl_text"  # the Perplexity page's text box

st.title(t("gen.title"))
st.caption(t("gen.intro"))
loaded, spec = page_model()
recover_interrupted()
restore_controls()
prompt, chat, system = render_prompt()
with st.expander(t("gen.settings"), expanded=True):
    settings = render_settings()
keep_controls()

generate_tab, walk_tab, compare_tab = st.tabs(
    [t("gen.tab_generate"), t("gen.tab_walk"), t("gen.tab_compare")]
)
with generate_tab:
    buttons = st.columns([1, 1, 4])
    go = buttons[0].button(t("gen.generate"), key="gen_go", type="primary")
    buttons[1].button(t("gen.stop"), key="gen_stop", help=t("gen.stop_help"))
    output = st.empty()
    if go:
        try:
            request = make_request(loaded, spec, prompt, chat, system, settings)
        except LLMCoreError as error:
            st.error(str(error))
        else:
            st.session_state.pop(RUN_KEY, None)
            draw, on_wait = streamer(output, request)
            (st.session_state[RUN_KEY],) = stream_runs(loaded, [request], [draw], [on_wait])
            st.session_state["gen_step"], st.session_state["gen_sequence"] = 0, 0
    run = st.session_state.get(RUN_KEY)
    if run is not None and run.request.spec != spec:
        run = None  # made by another model: its steps do not fit this one
    if run is None:
        output.info(t("gen.press_generate"))
    else:
        render_run(run, output, loaded.description.n_layers)
        if run.sequences and st.button(t("gen.to_perplexity"), key="gen_to_perplexity"):
            ids = [*run.request.prompt_ids, *run.sequences[0].token_ids]
            text = decoded_text(loaded, ids, skip_special=not run.request.chat)
            st.session_state[PERPLEXITY_TEXT_KEY] = text
            st.switch_page(PERPLEXITY_PAGE)
with walk_tab:
    render_walk(loaded, spec, prompt, chat, system, settings)
with compare_tab:
    render_compare(loaded, spec, prompt, chat, system, settings)
