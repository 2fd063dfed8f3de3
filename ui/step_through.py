"""Step-through on the Generation page: one token per click, the model's choice or the
one the user picks, with the distributions it was chosen from.

Each context's distributions come from the model's worker once (a shared call, cached per
model, context and settings); the engine decides the model's choice and each token's rank
(``StepDistribution``), the page only records the walk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

from llm_core.errors import InputError, LLMCoreError
from llm_core.generation.generate import StepDistribution, next_token_distribution
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import LoadedModel
from llm_core.serving.tickets import Ticket
from llm_core.serving.worker import worker_for
from llm_core.text.pieces import labelled_pieces
from ui.generation_runs import make_request
from ui.i18n import t
from ui.model_loader import _load_cached
from ui.serving import shared_call
from ui.step_detail import CHART, top_k_chart
from ui.token_chips import chips_html, legend_html, probability_chips

WALK_KEY = "gen_walk"
MAX_WALK_TOKENS = 256
CACHE_TTL_S = 3600
MAX_CACHED_DISTRIBUTIONS = 32  # two [d_vocab] float32 arrays each: ~0.4 MB for SmolLM2


@dataclass(frozen=True)
class WalkStep:
    """One token added in step-through mode, with its probabilities in the distribution
    it was chosen from (before and after the filters) and whether the user picked it."""

    token_id: int
    prob: float
    prob_after: float
    rank: int
    picked: bool


@st.cache_resource(max_entries=MAX_CACHED_DISTRIBUTIONS, ttl=CACHE_TTL_S, show_spinner=False)
def _distribution_ticket(spec: str, ids: tuple[int, ...], settings: GenerationSettings) -> Ticket:
    loaded = _load_cached(spec)
    return worker_for(loaded).submit_call(next_token_distribution, list(ids), settings)


def distribution(spec: str, ids: tuple[int, ...], settings: GenerationSettings) -> StepDistribution:
    """The next-token distributions after ``ids`` (shared by sessions; arrays read-only)."""
    return shared_call(_distribution_ticket, spec, ids, settings)


def walk_settings(settings: GenerationSettings) -> GenerationSettings:
    """One step at a time: beam search has no single next-token choice, so it walks
    greedily; one sequence, no attention."""
    return dataclasses.replace(
        settings, max_new_tokens=1, num_beams=1, num_return_sequences=1, capture_attention=False
    )


def _walk_add(spec: str, ids: tuple, settings: GenerationSettings, token: int | None) -> None:
    """A button's callback: add the model's choice (``token`` None) or the picked token."""
    walk = st.session_state[WALK_KEY]
    if ids != (*walk["request"].prompt_ids, *(s.token_id for s in walk["steps"])):
        return  # a second click before the page redrew: its context is already gone
    dist = _distribution_ticket(spec, ids, settings).result()  # shown already: cached
    picked = token is not None
    token = token if picked else dist.model_choice(settings, len(walk["steps"]))
    before, after = dist.prob_of(token)
    walk["steps"].append(WalkStep(token, before, after, dist.rank_of(token), picked))
    prompt = walk["request"].prompt_ids
    walk["pieces"] = labelled_pieces(_load_cached(spec), [*ids[len(prompt) :], token], prompt)[0]


def _walk_undo() -> None:
    walk = st.session_state[WALK_KEY]
    if walk["steps"]:
        walk["steps"].pop()
        walk["pieces"] = walk["pieces"][:-1]


def render_walk(
    loaded: LoadedModel, spec: str, prompt: str, chat: bool, system: str, settings
) -> None:
    st.caption(t("gen.walk_intro"))
    beam = settings.strategy == "beam"
    settings = walk_settings(settings)
    if st.button(t("gen.walk_start"), key="gen_walk_start", type="primary"):
        try:
            request = make_request(loaded, spec, prompt, chat, system, settings)
            st.session_state[WALK_KEY] = {"request": request, "steps": [], "pieces": ()}
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
        dist = distribution(spec, ids, settings)
    except LLMCoreError as error:
        st.error(str(error))
        dist = None
    titles = [t("gen.walk_tip", prob=f"{s.prob:.1%}", rank=s.rank) for s in steps]
    n = len(request.prompt_pieces)
    chips = probability_chips(
        [*request.prompt_pieces, *walk["pieces"]],
        [None] * n + [s.prob for s in steps],
        [""] * n + titles,
        [False] * n + [s.picked for s in steps],
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
        render_pick(dist, args, len(steps))


def render_pick(dist: StepDistribution, args: tuple, n_steps: int) -> None:
    kept = {c.token_id for c in dist.top_after}
    before_ids = {c.token_id for c in dist.top_before}
    candidates = [*dist.top_before, *(c for c in dist.top_after if c.token_id not in before_ids)]
    names = {
        c.token_id: f"{c.shown!r} · {dist.prob_of(c.token_id)[0]:.1%}"
        + ("" if c.token_id in kept else f" ({t('gen.filtered')})")
        for c in candidates
    }
    left, right = st.columns([3, 2])
    with left:
        chart = top_k_chart(dist.top_before, dist.top_after, -1)
        st.plotly_chart(chart, key="gen_walk_chart", **CHART)
    with right:
        st.metric(t("gen.m_entropy"), f"{dist.entropy:.2f}", help=t("gen.m_entropy_help"))
        pick = st.radio(
            t("gen.walk_pick"), list(names), key=f"gen_walk_pick_{n_steps}", format_func=names.get
        )
        st.button(t("gen.walk_use"), key="gen_walk_use", on_click=_walk_add, args=(*args, pick))
