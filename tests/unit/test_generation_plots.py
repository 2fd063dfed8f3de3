"""Figures of generation, surprisal and the logit lens: built from real engine results on
tiny models, they must carry exactly the engine's numbers, escape token text, and reject
mismatched shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.logit_lens import logit_lens
from llm_core.generation.perplexity import SEED_TEXT, perplexity
from llm_core.generation.sampling import GenerationSettings, TokenProb
from llm_core.models.loading import load_model
from llm_core.plots.generation import (
    context_attention_figure,
    logit_lens_figure,
    surprisal_chart,
    top_k_figure,
)

PROMPT = "我爱吃苹果。The cat"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def llama(tiny_model_dirs):
    return load_model(str(tiny_model_dirs["llama"]))


def values(trace) -> np.ndarray:
    return np.asarray(trace, dtype=float)


def test_top_k_figure_shows_both_distributions(llama):
    ids = build_prompt_ids(llama.tokenizer, PROMPT)
    settings = GenerationSettings(
        do_sample=True, top_k=3, temperature=0.7, seed=1, max_new_tokens=2, n_alternatives=8
    )
    step = generate(llama, ids, settings).steps[0]
    figure = top_k_figure(step.top_before, step.top_after, step.token_id, chosen_name="chosen")
    before, after = figure.data
    assert list(figure.layout.yaxis.tickvals) == list(range(8))
    np.testing.assert_allclose(values(before.x), [c.prob for c in step.top_before])
    kept = {c.token_id: c.prob for c in step.top_after}
    expected_after = [kept.get(c.token_id, 0.0) for c in step.top_before]
    np.testing.assert_allclose(values(after.x), expected_after)
    assert sum(v > 0 for v in after.x) == 3  # top-k 3: the other five bars are 0
    marked = [label for label in figure.layout.yaxis.ticktext if "◀ chosen" in label]
    assert len(marked) == 1 and f"({step.token_id})" in marked[0]


def test_top_k_figure_escapes_token_text():
    before = (TokenProb(1, "<b>x</b>", 0.6), TokenProb(2, " a\n", 0.4))
    figure = top_k_figure(before, before[:1], 1)
    labels = list(figure.layout.yaxis.ticktext)
    assert labels[0].startswith("&lt;b&gt;x&lt;/b&gt;") and labels[1].startswith("␣a↵")
    assert "<b>" not in "".join(labels)


def test_surprisal_chart_plots_the_nll_with_a_hover_rule(llama):
    result = perplexity(llama, SEED_TEXT)
    spec = surprisal_chart(result.tokens, result.nll, token_title="词元").to_dict()
    (rows,) = spec["datasets"].values()
    np.testing.assert_allclose([row["nll"] for row in rows], result.nll, rtol=1e-6)
    np.testing.assert_allclose([row["p"] for row in rows], np.exp(-result.nll), rtol=1e-6)
    assert [row["position"] for row in rows] == list(range(1, len(result.tokens)))
    assert [row["token"] for row in rows] == ["␣cat", "␣sat", "␣on", "␣the", "␣mat"]
    bars, rule = spec["layer"]
    assert bars["mark"]["type"] == "bar" and rule["mark"]["type"] == "rule"
    assert rule["transform"] == [{"filter": {"param": spec["params"][0]["name"], "empty": False}}]
    labels = bars["encoding"]["x"]["axis"]["labelExpr"]
    assert json.dumps(["␣cat", "␣sat", "␣on", "␣the", "␣mat"]) in labels  # ticks by position
    assert bars["encoding"]["x"]["title"] == "词元"
    assert "Noto Sans CJK SC" in spec["config"]["font"]
    with pytest.raises(ValueError, match="surprisals"):
        surprisal_chart(result.tokens, result.nll[:-1])


def test_logit_lens_figure_cells_are_the_lens(llama):
    lens = logit_lens(llama, SEED_TEXT, k=4)
    names = ["emb"] + [str(i) for i in range(1, lens.n_layers + 1)]
    figure = logit_lens_figure(lens.top_tokens, lens.top_probs, layer_names=names)
    heatmap = figure.data[0]
    np.testing.assert_allclose(values(heatmap.z), lens.top_probs, rtol=1e-6)
    assert heatmap.z.shape == (lens.n_layers + 1, 4)  # [layer, rank]
    top_cell = heatmap.text[-1][0]
    assert top_cell.endswith(f"<br>{lens.top_probs[-1, 0]:.2f}")
    assert list(figure.layout.yaxis.ticktext) == names
    with pytest.raises(ValueError, match="shape"):
        logit_lens_figure(lens.top_tokens[:-1], lens.top_probs)


def test_context_attention_figure(llama):
    ids = build_prompt_ids(llama.tokenizer, PROMPT)
    settings = GenerationSettings(max_new_tokens=3, capture_attention=True)
    step = generate(llama, ids, settings).steps[2]
    weights = step.attention[1]  # [head, key_pos]
    labels = [f"t{i}" for i in range(weights.shape[-1])]
    figure = context_attention_figure(labels, weights[3], weights.mean(0))
    head, mean = figure.data
    np.testing.assert_allclose(values(head.y), weights[3], rtol=1e-6)
    np.testing.assert_allclose(values(mean.y).sum(), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        context_attention_figure(labels[:-1], weights[3], weights.mean(0))
