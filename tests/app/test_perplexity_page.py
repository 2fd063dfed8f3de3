"""AppTest of the Perplexity and logit lens page on the real default model: the numbers
shown are the engine's (checked against exp(mean NLL) of a direct forward pass), the
lens view slices a cached result, bad input, the page in Chinese, and the way in from
the Generation page."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from apptest_pages import ROOT, TIMEOUT_S, assert_clean, open_page
from streamlit.testing.v1 import AppTest

from llm_core.generation import logit_lens as lens_module
from llm_core.generation.perplexity import MAX_PERPLEXITY_CHARS, SEED_TEXT, perplexity

pytestmark = pytest.mark.app

PAGE = "views/perplexity.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def figure(at, key: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-" + key)]
    return json.loads(chart.proto.spec)


def surprisal_bars(at):
    """The rows the surprisal chart (altair) draws: position, token, nll, p."""
    import pyarrow as pa

    (chart,) = [c for c in at.get("vega_lite_chart") if '"nll"' in c.proto.spec]
    return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()


def direct_perplexity(loaded, ids: list[int]) -> float:
    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
    nll = -logits.log_softmax(-1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
    return math.exp(float(nll.mean()))


def test_default_text_with_and_without_a_start_token(default_model):
    at = open_page(PAGE, "en")
    assert_clean(at)
    assert at.text_area(key="ppl_text").value == SEED_TEXT
    tokenizer = default_model.tokenizer
    assert at.radio(key="ppl_start").value == "<|endoftext|>"
    ids = [tokenizer.convert_tokens_to_ids("<|endoftext|>"), *tokenizer(SEED_TEXT)["input_ids"]]
    shown = metrics(at)
    assert shown["Perplexity"] == f"{direct_perplexity(default_model, ids):,.2f}"
    assert shown["Predicted tokens"] == str(len(ids) - 1)
    assert 1 < float(shown["Perplexity"].replace(",", "")) < 100  # a real model, a plain sentence
    bars = surprisal_bars(at)
    assert list(bars["position"]) == list(range(1, len(ids)))
    np.testing.assert_allclose(bars["nll"], perplexity(default_model, ids).nll, rtol=1e-5)
    assert list(bars["token"]) == ["The", "␣cat", "␣sat", "␣on", "␣the", "␣mat"]
    at.radio(key="ppl_start").set_value("").run()
    assert_clean(at)
    plain = perplexity(default_model, SEED_TEXT)
    assert metrics(at)["Perplexity"] == f"{plain.perplexity:,.2f}"
    ids = tokenizer(SEED_TEXT)["input_ids"]
    assert plain.perplexity == pytest.approx(direct_perplexity(default_model, ids), rel=1e-5)


def test_lens_view_slices_the_cached_result(default_model, monkeypatch):
    at = open_page(PAGE, "en")
    heatmap = figure(at, "ppl_lens")["data"][0]
    assert len(heatmap["y"]) == default_model.description.n_layers + 1
    assert len(heatmap["x"]) == 5  # ranks shown by default
    calls = []
    original = lens_module.lens_distributions
    monkeypatch.setattr(
        lens_module, "lens_distributions", lambda *a: calls.append(1) or original(*a)
    )
    at.slider(key="ppl_ranks").set_value(2).run()
    assert_clean(at)
    assert calls == [] and len(figure(at, "ppl_lens")["data"][0]["x"]) == 2
    at.select_slider(key="ppl_position").set_value(3).run()  # "<|endoftext|>The cat sat"
    assert_clean(at)
    assert len(calls) == 1
    top = figure(at, "ppl_lens")["data"][0]["text"][-1][0]  # last layer, rank 1
    start = default_model.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    ids = [start, *default_model.tokenizer(SEED_TEXT)["input_ids"]]
    with torch.inference_mode():
        probs = default_model.model(input_ids=torch.tensor([ids[:4]])).logits[0, -1].softmax(-1)
    best = int(probs.argmax())
    assert top.endswith(f"<br>{float(probs[best]):.2f}")
    assert default_model.tokenizer.decode([best]).strip() in top


def test_bad_text_shows_an_error():
    at = open_page(PAGE, "en")
    at.text_area(key="ppl_text").input("").run()
    assert_clean(at)
    assert any("empty" in e.value for e in at.error)
    at.text_area(key="ppl_text").input("x" * (MAX_PERPLEXITY_CHARS + 1)).run()
    assert_clean(at)
    assert any(f"{MAX_PERPLEXITY_CHARS}" in e.value for e in at.error)
    at.button(key="ppl_example_2").click().run()
    assert_clean(at)
    assert at.text_area(key="ppl_text").value == "我爱吃苹果" and not at.error


def test_chinese_page():
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "zh"
    at.session_state["ppl_text"] = "我爱吃苹果"
    at.run()
    assert_clean(at)
    assert at.title[0].value == "困惑度与 logit lens"
    assert {"困惑度", "被预测的词元数"} <= set(metrics(at))
    chips = [h.proto.body for h in at.get("html") if 'class="tc"' in h.proto.body][0]
    for char in "我爱吃苹果":
        assert char in chips
    assert np.isfinite(float(metrics(at)["困惑度"].replace(",", "")))


def test_generated_text_opens_here():
    at = open_page("views/generation.py", "en")
    at.slider(key="gen_max_new").set_value(3)
    at.button(key="gen_go").click().run()
    run = at.session_state["gen_run"]
    at.button(key="gen_to_perplexity").click().run()
    assert_clean(at)
    assert at.title[0].value == "Perplexity and the logit lens"
    assert at.text_area(key="ppl_text").value == run.request.prompt + run.sequences[0].text
