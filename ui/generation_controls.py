"""The Generation page's inputs: the prompt, its examples, chat/raw mode and every
strategy setting, turned into ``GenerationSettings`` (checked later by the engine).

Widget values are kept under ``gen_kept`` and set back before the widgets are drawn:
Streamlit forgets a widget's value while another page shows, and a radio or select box
remembers its choice by its label, which changes with the language.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from llm_core.generation.sampling import (
    MAX_BEAMS,
    MAX_RETURN_SEQUENCES,
    MAX_STOP_STRINGS,
    GenerationSettings,
)
from ui.i18n import current_language, labels, t

# New tokens the page offers (the engine allows more; the page keeps attention for each).
PAGE_MAX_NEW_TOKENS = 256
TOP_ALTERNATIVES = 10  # candidates recorded per step, shown in the bar chart
MAX_PAGE_SEED = 2**31 - 1
MAX_TOP_K = 1000
STRATEGIES = ("greedy", "sample", "beam")
MODES = ("raw", "chat")
EXAMPLES = (
    "今天天气真好",
    "Once upon a time, there was a little robot who",
    "The capital of France is",
    "我最喜欢的水果是",
)
DEFAULT_PROMPTS = {"en": EXAMPLES[1], "zh": EXAMPLES[0]}
PROMPT_KEY, TOUCHED_KEY, KEPT_KEY = "gen_prompt", "gen_prompt_touched", "gen_kept"
# Strategies offered side by side; None: the settings chosen on the page.
COMPARE_PRESETS: dict[str, dict | None] = {
    "greedy": {},
    "temperature_0.7": {"do_sample": True, "temperature": 0.7},
    "temperature_1.2": {"do_sample": True, "temperature": 1.2},
    "top_k_40": {"do_sample": True, "top_k": 40},
    "top_p_0.9": {"do_sample": True, "top_p": 0.9},
    "beam_4": {"num_beams": 4},
    "current": None,  # the settings chosen above
}
DEFAULTS: dict[str, Any] = {
    "gen_mode": "raw",
    "gen_system": "",
    "gen_strategy": "greedy",
    "gen_temperature": 1.0,
    "gen_top_k": 50,
    "gen_top_p": 0.9,
    "gen_seed": 0,
    "gen_beams": 4,
    "gen_n_sequences": 1,
    "gen_max_new": 32,
    "gen_penalty": 1.0,
    "gen_stops": "",
    "gen_attention": True,
    "gen_cmp_a": "greedy",
    "gen_cmp_b": "temperature_1.2",
}
ALLOWED = {
    "gen_mode": MODES,
    "gen_strategy": STRATEGIES,
    "gen_cmp_a": tuple(COMPARE_PRESETS),
    "gen_cmp_b": tuple(COMPARE_PRESETS),
}


def restore_controls() -> None:
    """Set every control's value before it is drawn (see module doc)."""
    kept = st.session_state.setdefault(KEPT_KEY, {})
    for key, default in DEFAULTS.items():
        value = st.session_state[key] if key in st.session_state else kept.get(key, default)
        st.session_state[key] = value if value in ALLOWED.get(key, (value,)) else default
    touched = st.session_state.get(TOUCHED_KEY, False)
    prompt = st.session_state.get(PROMPT_KEY, kept.get(PROMPT_KEY))
    if prompt is None or not touched:  # an untouched default follows the language
        prompt = DEFAULT_PROMPTS[current_language()]
    st.session_state[PROMPT_KEY] = prompt


def keep_controls() -> None:
    st.session_state[KEPT_KEY] = {
        key: st.session_state[key] for key in (*DEFAULTS, PROMPT_KEY) if key in st.session_state
    }


def _use_example(text: str) -> None:
    st.session_state[PROMPT_KEY] = text
    st.session_state[TOUCHED_KEY] = True


def _touched() -> None:
    st.session_state[TOUCHED_KEY] = True


def render_prompt() -> tuple[str, bool, str]:
    """The prompt area, example buttons and mode; returns (prompt, chat, system)."""
    st.text_area(t("gen.prompt"), key=PROMPT_KEY, height=90, on_change=_touched)
    columns = st.columns([1] + [2] * len(EXAMPLES))
    columns[0].caption(t("gen.examples"))
    for number, (column, example) in enumerate(zip(columns[1:], EXAMPLES, strict=True)):
        column.button(example, key=f"gen_example_{number}", on_click=_use_example, args=(example,))
    left, right = st.columns([1, 2])
    mode = left.radio(
        t("gen.mode"),
        MODES,
        key="gen_mode",
        horizontal=True,
        format_func=labels("gen.mode", MODES).__getitem__,
        help=t("gen.mode_help"),
    )
    system = right.text_input(
        t("gen.system"), key="gen_system", disabled=mode != "chat", help=t("gen.system_help")
    )
    return st.session_state[PROMPT_KEY], mode == "chat", system


def parse_stop_strings(text: str) -> tuple[str, ...]:
    """Comma-separated stop strings; ``\\n`` stands for a line break."""
    items = (item.strip().replace("\\n", "\n") for item in text.split(","))
    return tuple(item for item in items if item)


def render_settings() -> GenerationSettings:
    """Every strategy control; options that do not apply to the chosen strategy are shown
    disabled (so a student sees they exist). Returns unvalidated settings."""
    strategy = st.radio(
        t("gen.strategy"),
        STRATEGIES,
        key="gen_strategy",
        horizontal=True,
        format_func=labels("gen.strategy", STRATEGIES).__getitem__,
        help=t("gen.strategy_help"),
    )
    sample, beam = strategy == "sample", strategy == "beam"
    a, b, c, d = st.columns(4)
    temperature = a.slider(
        t("gen.temperature"),
        0.05,
        2.0,
        step=0.05,
        key="gen_temperature",
        disabled=not sample,
        help=t("gen.temperature_help"),
    )
    top_k = b.number_input(
        t("gen.top_k"),
        0,
        MAX_TOP_K,
        step=1,
        key="gen_top_k",
        disabled=not sample,
        help=t("gen.top_k_help"),
    )
    top_p = c.slider(
        t("gen.top_p"),
        0.05,
        1.0,
        step=0.05,
        key="gen_top_p",
        disabled=not sample,
        help=t("gen.top_p_help"),
    )
    seed = d.number_input(
        t("gen.seed"),
        0,
        MAX_PAGE_SEED,
        step=1,
        key="gen_seed",
        disabled=not sample,
        help=t("gen.seed_help"),
    )
    a, b, c, d = st.columns(4)
    max_new = a.slider(t("gen.max_new"), 1, PAGE_MAX_NEW_TOKENS, key="gen_max_new")
    penalty = b.slider(
        t("gen.penalty"), 1.0, 2.0, step=0.05, key="gen_penalty", help=t("gen.penalty_help")
    )
    beams = c.slider(t("gen.beams"), 2, MAX_BEAMS, key="gen_beams", disabled=not beam)
    n_sequences = d.number_input(
        t("gen.n_sequences"),
        1,
        MAX_RETURN_SEQUENCES,
        step=1,
        key="gen_n_sequences",
        disabled=strategy == "greedy",
        help=t("gen.n_sequences_help"),
    )
    left, right = st.columns([3, 1])
    stops = left.text_input(
        t("gen.stops"), key="gen_stops", help=t("gen.stops_help", n=MAX_STOP_STRINGS)
    )
    attention = right.toggle(
        t("gen.attention"), key="gen_attention", disabled=beam, help=t("gen.attention_help")
    )
    return GenerationSettings(
        do_sample=sample,
        temperature=float(temperature) if sample else 1.0,
        top_k=int(top_k) if sample else 0,
        top_p=float(top_p) if sample else 1.0,
        repetition_penalty=float(penalty),
        num_beams=int(beams) if beam else 1,
        max_new_tokens=int(max_new),
        seed=int(seed),
        stop_strings=parse_stop_strings(stops),
        num_return_sequences=int(n_sequences) if strategy != "greedy" else 1,
        n_alternatives=TOP_ALTERNATIVES,
        capture_attention=bool(attention) and not beam,
    )
