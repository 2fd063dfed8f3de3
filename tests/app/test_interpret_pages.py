"""AppTest of the three pages past attention on the real default model: what they show
is the engine's result, in both languages, bad input gets a message, and the ways in
(a Generation step, a saved result) carry their prompt and model."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from apptest_pages import assert_clean, open_page

from llm_core.generation.perplexity import start_token_of
from llm_core.interpret.attribution import attribute
from llm_core.interpret.prompts import prepare_prompt

pytestmark = pytest.mark.app

ATTRIBUTION, PATCHING, COMPARE = "views/attribution.py", "views/patching.py", "views/compare.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def cells(figure: dict) -> np.ndarray:
    """A heatmap's coloured cells as an array (plotly sends big arrays base64-encoded)."""
    (trace,) = [trace for trace in figure["data"] if trace.get("name") == "values"]
    z = trace["z"]
    if isinstance(z, dict):
        shape = [int(n) for n in z["shape"].split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_attribution_of_the_classic_sentence_shows_complete_word_scores(lang, default_model):
    at = open_page(ATTRIBUTION, lang, attr_method="occlusion")
    assert_clean(at)
    assert not at.error
    prompt = prepare_prompt(default_model, "我爱吃苹果", start_token_of(default_model))
    expected = attribute(default_model, prompt, method="occlusion")
    chips = " ".join(h.proto.body for h in at.get("html") if "tc-chip" in h.proto.body)
    for word in ("我", "爱", "吃", "苹果"):
        assert f">{word}<" in chips
    assert repr(expected.target.text) in at.markdown[0].value or any(
        repr(expected.target.text) in m.value for m in at.markdown
    )
    shown = metrics(at)
    label = "Rank correlation" if lang == "en" else "秩相关"
    assert label in shown
    at.radio(key="attr_source").set_value("head").run()
    assert_clean(at)
    at.selectbox(key="attr_method").set_value("integrated-gradients").run()
    assert_clean(at)
    shown = metrics(at)
    gap = shown["Gap" if lang == "en" else "偏差"]
    assert float(gap.rstrip("%")) <= 2.0
    assert at.success  # the completeness check holds, and says so


def test_a_link_from_generation_sets_the_prompt_and_the_token(default_model):
    from apptest_pages import APP
    from streamlit.testing.v1 import AppTest

    token = default_model.tokenizer(" Paris", add_special_tokens=False)["input_ids"][0]
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["prompt"] = "The capital of France is"
    at.query_params["target"] = str(token)
    at.switch_page(ATTRIBUTION)
    at.session_state["attr_method"] = "gradient-x-input"
    at.run()
    assert_clean(at)
    assert at.text_area(key="attr_text").value == "The capital of France is"
    assert at.radio(key="attr_target_mode").value == "link"
    assert any("' Paris'" in m.value for m in at.markdown)


def test_attribution_reports_bad_input():
    at = open_page(ATTRIBUTION, attr_text="", attr_method="occlusion")
    assert_clean(at)
    assert at.error and "empty" in at.error[0].value.lower()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_patching_shows_three_maps_with_france_restoring_paris(lang):
    at = open_page(PATCHING, lang)
    assert_clean(at)
    assert not at.error
    (residual,) = figures(at)
    z = cells(residual)
    assert z.shape == (30, 5)
    assert z[0, 3] > 0.8 and z[-1, -1] == pytest.approx(1.0, abs=1e-3)
    at.radio(key="patch_component").set_value("mlp").run()
    assert_clean(at)
    (mlp,) = figures(at)
    assert cells(mlp)[0, 3] > 0.8  # layer 0's MLP output at " France" carries the word
    shown = metrics(at)
    assert shown["Target" if lang == "en" else "目标"] == "' Paris'"


def test_patching_refuses_prompts_over_its_cap():
    at = open_page(
        PATCHING, patch_clean="word " * 40 + "France", patch_corrupt="word " * 40 + "Italy"
    )
    assert_clean(at)
    assert "at most 16" in at.error[0].value


def test_patching_explains_a_length_mismatch_with_both_tokenizations():
    at = open_page(PATCHING, patch_corrupt="The capital city of Italy is")
    assert_clean(at)
    message = at.error[0].value
    assert "same length" in message and "Clean:" in message and "Corrupted:" in message


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_of_the_model_with_itself_shows_no_difference(lang):
    at = open_page(COMPARE, lang, vs_text="我爱吃苹果")
    assert_clean(at)
    assert not at.error
    shown = metrics(at)
    assert shown["Top-1 agreement" if lang == "en" else "Top-1 一致率"] == "100%"
    assert float(shown["Mean KL(A ‖ B)" if lang == "en" else "平均 KL(A ‖ B)"]) == 0.0
    (heatmap,) = figures(at)
    values = cells(heatmap)
    assert values.size and np.all(np.nan_to_num(values) == 0.0)
    codes = [c.value for c in at.code]
    assert codes[0] == codes[1]


def test_compare_reports_an_unknown_model():
    at = open_page(COMPARE, vs_other="__custom__", vs_custom="no/such-model-here")
    assert_clean(at)
    assert at.error


def test_why_this_token_from_a_generation_step_opens_its_attribution():
    at = open_page("views/generation.py", "en")
    at.slider(key="gen_max_new").set_value(3)
    at.button(key="gen_go").click().run()
    run = at.session_state["gen_run"]
    at.session_state["attr_method"] = "gradient-x-input"
    at.button(key="gen_why").click().run()
    assert_clean(at)
    assert at.text_area(key="attr_text").value == run.request.prompt  # step 1: the prompt alone
    assert at.radio(key="attr_target_mode").value == "link"
    first = run.sequences[0].steps[0].token_id
    assert at.session_state["attr_target_id"] == first


def test_compare_with_the_base_model_opens_model_b(tiny):
    from apptest_pages import TINY

    from ui.result_actions import COMPARE_HANDOFF_KEY

    at = open_page(COMPARE, **{COMPARE_HANDOFF_KEY: TINY, "vs_text": "The cat"})
    assert_clean(at)
    assert at.selectbox(key="vs_other").value == TINY
    assert not at.error
    # The tiny model has its own tokenizer: compared word by word, and the page says so.
    assert any("word by word" in caption.value for caption in at.caption)
    assert any("per word" in info.value for info in at.info)
