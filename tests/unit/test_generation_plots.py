"""Figures of generation, surprisal and the logit lens, and the coloured chips: built from
real engine results on tiny models, they must carry exactly the engine's numbers, escape
token text, and reject mismatched shapes."""

from __future__ import annotations

import dataclasses

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
    surprisal_figure,
    top_k_figure,
)
from ui.generation_chips import (
    Chip,
    PieceDecoder,
    chips_html,
    fragment_labels,
    make_chips,
    probability_colour,
    readable_candidates,
    readable_token,
    surprisal_chips,
    token_pieces,
    weight_chips_html,
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


def test_surprisal_figure_plots_the_nll(llama):
    result = perplexity(llama, SEED_TEXT)
    figure = surprisal_figure(result.tokens, result.nll)
    np.testing.assert_allclose(values(figure.data[0].y), result.nll, rtol=1e-6)
    assert list(figure.data[0].x) == list(range(1, len(result.tokens)))
    assert list(figure.layout.xaxis.ticktext) == ["␣cat", "␣sat", "␣on", "␣the", "␣mat"]
    with pytest.raises(ValueError, match="surprisals"):
        surprisal_figure(result.tokens, result.nll[:-1])


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


# ---------------------------------------------------------------------------- chips


def test_pieces_rebuild_the_text_and_merge_byte_fragments(llama):
    tokenizer = llama.tokenizer
    text = "龘我爱吃苹果。The cat sat"
    ids = tokenizer(text)["input_ids"]
    pieces = token_pieces(tokenizer, ids)
    assert "".join(pieces) == tokenizer.decode(ids) == text
    # 龘 takes three single-byte tokens: two complete nothing, the third completes it
    assert pieces[:3] == ["", "", "龘"]
    # 我爱吃苹果 tokens straddle characters: each shows the characters it completes
    assert pieces[3:8] == ["我", "爱", "吃", "苹", "果"]
    assert fragment_labels(pieces)[:3] == ["龘", "龘", "龘"]
    assert fragment_labels(["", "a", ""]) == ["a", "a", "\ufffd"]  # still partial at the end
    decoder = PieceDecoder(tokenizer, ids[:3])  # a prefix seeds the window only
    assert "".join(decoder.push(i) for i in ids[3:]) == tokenizer.decode(ids[3:])


def test_generated_pieces_equal_the_generated_text(llama):
    ids = build_prompt_ids(llama.tokenizer, PROMPT)
    result = generate(
        llama, ids, GenerationSettings(max_new_tokens=20, stop_at_eos=False, do_sample=True)
    )
    pieces = token_pieces(llama.tokenizer, result.token_ids, ids[-1:])
    assert "".join(pieces) == llama.tokenizer.decode(list(result.token_ids)).rstrip("\ufffd")


def test_chips_escape_and_colour():
    chips = [
        Chip("<script>alert(1)</script>", 0.9, 'say "hi"'),
        Chip("a\nb", None),
        Chip("x", 0.0, selected=True, picked=True),
    ]
    html = chips_html(chips)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'title="say &quot;hi&quot;"' in html
    assert "gnc-prompt" in html and "gnc-selected gnc-chip" not in html
    assert html.count('class="gnc-chip') == 3 and "gnc-br" in html
    assert probability_colour(0.0) == "#f8b4b4" and probability_colour(1.0) == "#a7e3a1"
    assert probability_colour(-3) == probability_colour(0.0)
    assert probability_colour(0.5) == "#fde68a"
    weights = weight_chips_html(["<i>", "b"], [0.25, 0.75])
    assert "&lt;i&gt;" in weights and "rgba(49,130,189,1.000)" in weights


def test_steps_are_frozen_for_the_page(llama):
    step = generate(llama, [5, 6, 7], GenerationSettings(max_new_tokens=1)).steps[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.prob = 1.0


def test_byte_fragments_are_labelled_by_their_bytes(llama):
    tokenizer = llama.tokenizer
    ids = tokenizer("龘")["input_ids"]  # three single-byte tokens
    labels = [readable_token(tokenizer, i, tokenizer.decode([i])) for i in ids]
    assert labels == [f"\ufffd[{byte:02X}]" for byte in "龘".encode()]
    assert readable_token(tokenizer, 5, "cat") == "cat"
    candidates = (TokenProb(ids[0], "\ufffd", 0.5), TokenProb(ids[1], "\ufffd", 0.5))
    assert [c.token for c in readable_candidates(tokenizer, candidates)] == labels[:2]


def test_surprisal_chips_colour_by_exp_minus_nll(llama):
    result = perplexity(llama, SEED_TEXT)
    pieces = token_pieces(llama.tokenizer, result.token_ids)
    chips = surprisal_chips(pieces, result.nll, "first", "{nll}|{prob}", start_token=True)
    assert [chip.text for chip in chips] == ["The", " cat", " sat", " on", " the", " mat"]
    assert chips[0].prob is None and chips[0].special and chips[0].title == "first"
    for chip, nll in zip(chips[1:], result.nll, strict=True):
        assert chip.prob == pytest.approx(np.exp(-nll), rel=1e-6)
        assert chip.title == f"{nll:.2f}|{np.exp(-nll):.1%}"
    fragments = make_chips(["", "龘", "x"], [0.1, 0.2, 0.3])
    assert [(c.text, c.fragment) for c in fragments] == [("龘", True), ("龘", False), ("x", False)]
