"""AppTest of the Generation page on the real default model: what it shows is what the
engine generates (greedy, sampling, beams), views never rerun the model, a stopped run
keeps its tokens, step-through continues from a picked token, comparison, bad input,
and the page in Chinese."""

from __future__ import annotations

import pytest
from apptest_pages import ROOT, TIMEOUT_S, assert_clean, open_page
from streamlit.testing.v1 import AppTest

from llm_core.generation.generate import (
    MAX_PROMPT_CHARS,
    build_prompt_ids,
    generate,
    next_token_distribution,
)
from llm_core.generation.sampling import GenerationSettings
from llm_core.serving.batch import DecodeBatch
from llm_core.serving.worker import ModelWorker
from ui.compare_strategies import COMPARE_KEY
from ui.generation_controls import DEFAULT_PROMPTS, EXAMPLES
from ui.generation_runs import LIVE_KEY, RUN_KEY, LiveRun, make_request
from ui.step_through import WALK_KEY

pytestmark = pytest.mark.app

PAGE = "views/generation.py"
N_NEW = 6


def chips(at) -> list[str]:
    """The chip blocks shown, without their style sheet."""
    bodies = [h.proto.body for h in at.get("html") if 'class="tc"' in h.proto.body]
    return [body.split("</style>", 1)[-1] for body in bodies]


def count_model_work(monkeypatch) -> list[str]:
    """Every forward pass of a generation and every call the model's worker runs, listed."""
    work: list[str] = []
    forward, call = DecodeBatch._forward, ModelWorker._call
    monkeypatch.setattr(
        DecodeBatch, "_forward", lambda self, *a: work.append("forward") or forward(self, *a)
    )
    monkeypatch.setattr(
        ModelWorker, "_call", lambda self, *a: work.append("call") or call(self, *a)
    )
    return work


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def generated(at, key: str = RUN_KEY) -> list[int]:
    return list(at.session_state[key].sequences[0].token_ids)


def open_generation(**widgets) -> AppTest:
    at = open_page(PAGE, "en")
    assert_clean(at)
    at.slider(key="gen_max_new").set_value(N_NEW)
    for key, value in widgets.items():
        at.session_state[key] = value
    return at


def expected_tokens(loaded, prompt: str, **options) -> list[int]:
    ids = build_prompt_ids(loaded.tokenizer, prompt)
    settings = GenerationSettings(max_new_tokens=N_NEW, n_alternatives=10, **options)
    return list(generate(loaded, ids, settings).token_ids)


def test_greedy_shows_what_the_engine_generates(default_model, monkeypatch):
    at = open_generation()
    assert any("Press Generate" in info.value for info in at.info)
    at.button(key="gen_go").click().run()
    assert_clean(at)
    expected = expected_tokens(default_model, DEFAULT_PROMPTS["en"])
    assert generated(at) == expected
    run = at.session_state[RUN_KEY]
    step = run.sequences[0].steps[0]
    shown = metrics(at)
    assert shown["Probability"] == f"{step.prob:.2%}" and shown["Rank"] == "1"
    assert shown["After filters"] == shown["Probability"]  # greedy: no filters
    body = chips(at)[0]
    assert body.count("tc-chip tc-prompt") == len(run.request.prompt_ids)
    assert body.count('class="tc-chip tc-selected') == 1
    assert "little robot" not in body  # prompt chips are tokens, not the raw text
    assert any(f"{N_NEW} tokens" in caption.value for caption in at.caption)
    # Changing the step, layer and head redraws from the recorded steps: no model work.
    work = count_model_work(monkeypatch)
    at.select_slider(key="gen_step").set_value(3).run()
    at.select_slider(key="gen_att_layer").set_value(29).run()
    at.selectbox(key="gen_att_head").set_value(8).run()
    at.run()  # a rerun that changes nothing
    assert_clean(at)
    assert work == []
    step = run.sequences[0].steps[3]
    assert metrics(at)["Probability"] == f"{step.prob:.2%}"
    attention = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-gen_attention_chart")]
    assert len(attention) == 1
    assert "layer 29, head 8" in attention[0].proto.spec


def test_sampling_with_filters_and_several_sequences(default_model):
    options = {"gen_strategy": "sample", "gen_temperature": 1.2, "gen_top_k": 5, "gen_seed": 7}
    at = open_generation(**options, gen_top_p=1.0, gen_n_sequences=2)
    at.run()
    at.button(key="gen_go").click().run()
    assert_clean(at)
    ids = build_prompt_ids(default_model.tokenizer, DEFAULT_PROMPTS["en"])
    settings = GenerationSettings(
        do_sample=True, temperature=1.2, top_k=5, seed=7, max_new_tokens=N_NEW,
        num_return_sequences=2,
    )  # fmt: skip
    expected = generate(default_model, ids, settings)
    run = at.session_state[RUN_KEY]
    assert [s.token_ids for s in run.sequences] == [list(s.token_ids) for s in expected.sequences]
    for step in run.sequences[1].steps:  # top-k 5: at most 5 kept, the chosen among them
        assert len(step.top_after) <= 5 and step.token_id in {c.token_id for c in step.top_after}
    assert at.radio(key="gen_sequence").options == ["#1", "#2"]
    at.radio(key="gen_sequence").set_value(1).run()
    assert_clean(at)
    assert metrics(at)["After filters"] == f"{run.sequences[1].steps[0].prob_after:.2%}"


def test_beam_search_returns_the_best_beams(default_model):
    at = open_generation(gen_strategy="beam", gen_beams=3, gen_n_sequences=2)
    at.run()
    at.button(key="gen_go").click().run()
    assert_clean(at)
    ids = build_prompt_ids(default_model.tokenizer, DEFAULT_PROMPTS["en"])
    settings = GenerationSettings(num_beams=3, num_return_sequences=2, max_new_tokens=N_NEW)
    expected = generate(default_model, ids, settings)
    run = at.session_state[RUN_KEY]
    assert [s.token_ids for s in run.sequences] == [list(s.token_ids) for s in expected.sequences]
    assert any("No attention was recorded" in info.value for info in at.info)


def test_a_stopped_run_keeps_its_tokens(default_model):
    at = open_generation()
    ids = build_prompt_ids(default_model.tokenizer, DEFAULT_PROMPTS["en"])
    settings = GenerationSettings(max_new_tokens=N_NEW, capture_attention=True)
    steps = generate(default_model, ids, settings).steps
    request = make_request(default_model, "default", DEFAULT_PROMPTS["en"], False, "", settings)
    assert request.prompt_ids == tuple(ids)
    # What a Stop click leaves behind: the run was interrupted after three steps.
    at.session_state[LIVE_KEY] = LiveRun(request, list(steps[:3]))
    at.run()
    assert_clean(at)
    assert LIVE_KEY not in at.session_state
    assert generated(at) == [s.token_id for s in steps[:3]]
    assert any("3 tokens · stopped" in caption.value for caption in at.caption)


def test_step_through_continues_from_a_picked_token(default_model):
    at = open_generation()
    at.button(key="gen_walk_start").click().run()
    at.button(key="gen_walk_next").click().run()
    at.button(key="gen_walk_next").click().run()
    assert_clean(at)
    ids = build_prompt_ids(default_model.tokenizer, DEFAULT_PROMPTS["en"])
    first_two = expected_tokens(default_model, DEFAULT_PROMPTS["en"])[:2]
    walk = at.session_state[WALK_KEY]
    assert [s.token_id for s in walk["steps"]] == first_two  # greedy: the model's choices
    pick = at.radio(key="gen_walk_pick_2")
    assert len(pick.options) == 10
    dist = next_token_distribution(default_model, ids + first_two)
    third = dist.top_before[2].token_id  # not the model's choice: its third candidate
    pick.set_value(third).run()
    at.button(key="gen_walk_use").click().run()
    assert_clean(at)
    steps = at.session_state[WALK_KEY]["steps"]
    assert [s.token_id for s in steps] == [*first_two, third]
    assert steps[2].picked and steps[2].rank == 3
    assert steps[2].prob == pytest.approx(dist.top_before[2].prob, abs=1e-6)
    at.button(key="gen_walk_next").click().run()
    assert_clean(at)
    after_pick = next_token_distribution(default_model, ids + first_two + [third])
    assert at.session_state[WALK_KEY]["steps"][3].token_id == after_pick.top_before[0].token_id
    assert 'class="tc-chip tc-picked' in chips(at)[-1]
    at.button(key="gen_walk_undo").click().run()
    assert len(at.session_state[WALK_KEY]["steps"]) == 3


def test_compare_greedy_with_beams(default_model):
    at = open_generation(gen_cmp_a="greedy", gen_cmp_b="beam_4")
    at.run()
    at.button(key="gen_compare_run").click().run()
    assert_clean(at)
    (name_a, run_a), (name_b, run_b) = at.session_state[COMPARE_KEY]
    assert (name_a, name_b) == ("greedy", "beam_4")
    prompt = DEFAULT_PROMPTS["en"]
    assert list(run_a.sequences[0].token_ids) == expected_tokens(default_model, prompt)
    assert list(run_b.sequences[0].token_ids) == expected_tokens(default_model, prompt, num_beams=4)
    assert any("beam search, 4 beams" in m.value for m in at.markdown)


def test_examples_and_chat_mode(default_model):
    at = open_generation()
    at.button(key="gen_example_0").click().run()
    assert at.text_area(key="gen_prompt").value == EXAMPLES[0] == "今天天气真好"
    at.radio(key="gen_mode").set_value("chat").run()
    at.text_input(key="gen_system").input("Answer in one sentence.")
    at.button(key="gen_go").click().run()
    assert_clean(at)
    run = at.session_state[RUN_KEY]
    ids = build_prompt_ids(
        default_model.tokenizer, "今天天气真好", chat=True, system="Answer in one sentence."
    )
    assert list(run.request.prompt_ids) == ids
    assert "im_start" in chips(at)[0]  # the chat template's tokens are shown


@pytest.mark.parametrize(
    "widgets, message",
    [
        ({"gen_prompt": "   "}, "empty"),
        ({"gen_prompt": "好" * (MAX_PROMPT_CHARS + 1)}, f"{MAX_PROMPT_CHARS}"),
        ({"gen_strategy": "beam", "gen_beams": 2, "gen_n_sequences": 3}, "num_beams"),
        ({"gen_stops": ",".join("abcdefghij")}, "stop strings"),
    ],
)
def test_bad_input_shows_an_error_and_the_page_keeps_working(widgets, message):
    at = open_generation(**widgets, gen_prompt_touched=True)
    at.run()
    at.button(key="gen_go").click().run()
    assert_clean(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert RUN_KEY not in at.session_state
    at.text_area(key="gen_prompt").input("Hello").run()
    at.session_state["gen_strategy"], at.session_state["gen_stops"] = "greedy", ""
    at.button(key="gen_go").click().run()
    assert_clean(at)
    assert not at.error and len(generated(at)) >= 1


def test_chinese_page_generates():
    # The page alone (no app.py sidebar): under AppTest, a rerun of app.py in Chinese
    # trips over the sidebar's model picker (see tests/app/apptest_pages.py).
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "zh"
    at.session_state["gen_max_new"] = N_NEW
    at.run()
    assert_clean(at)
    assert at.title[0].value == "文本生成：下一个词元是怎么选出来的"
    assert at.text_area(key="gen_prompt").value == "今天天气真好"
    assert at.radio(key="gen_strategy").options == ["贪心", "采样", "束搜索"]
    at.button(key="gen_go").click().run()
    assert_clean(at)
    assert {"所选词元", "概率", "排名"} <= set(metrics(at))
    body = chips(at)[0]
    for char in "今天天气真好":
        assert char in body
    at.button(key="gen_walk_start").click().run()
    at.button(key="gen_walk_next").click().run()
    assert_clean(at)
    assert any("已添加 1 个词元" in c.value for c in at.caption)
