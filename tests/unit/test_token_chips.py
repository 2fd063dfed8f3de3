"""The one chip renderer: every kind of chip escapes its text, carries the engine's
numbers in its colour and title, and draws signed scores in two hues."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from tiny_models import build_tokenizer

from llm_core.generation.perplexity import SEED_TEXT, perplexity
from llm_core.models.loading import load_model
from llm_core.text.pieces import token_pieces
from llm_core.text.tokens import tokenize
from ui.token_chips import (
    NEGATIVE_RGB,
    POSITIVE_RGB,
    Chip,
    chips_html,
    legend_html,
    probability_chips,
    probability_colour,
    score_chips,
    signed_colour,
    surprisal_chips,
    tokenization_html,
    weight_chips,
)


def body(html: str) -> str:
    """The chips without the style sheet (whose class names would match anything)."""
    return html.split("</style>", 1)[1]


def test_chips_escape_their_text_and_titles():
    chips = [
        Chip("<script>alert(1)</script>", probability_colour(0.9), 'say "hi"'),
        Chip("a\nb", prompt=True),
        Chip("x", probability_colour(0.0), selected=True, picked=True, href='/x?a="1"'),
    ]
    html = body(chips_html(chips))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'title="say &quot;hi&quot;"' in html and 'href="/x?a=&quot;1&quot;"' in html
    assert html.count('class="tc-chip') == 3 and "tc-br" in html and "↵" in html
    assert 'class="tc-chip tc-picked tc-selected"' in html


def test_probability_colours_run_red_yellow_green():
    assert probability_colour(0.0) == "#f8b4b4" and probability_colour(1.0) == "#a7e3a1"
    assert probability_colour(-3) == probability_colour(0.0)
    assert probability_colour(0.5) == "#fde68a"
    chips = probability_chips(["", "龘", "x"], [0.1, 0.2, None])
    assert [(c.text, c.fragment, c.prompt) for c in chips] == [
        ("龘", True, False),
        ("龘", False, False),
        ("x", False, True),
    ]
    assert chips[0].colour == probability_colour(0.1) and chips[2].colour is None


def test_surprisal_chips_colour_by_exp_minus_nll(tiny_model_dirs):
    loaded = load_model(str(tiny_model_dirs["llama"]))
    result = perplexity(loaded, SEED_TEXT)
    pieces = token_pieces(loaded.tokenizer, result.token_ids)
    chips = surprisal_chips(pieces, result.nll, "first", "{nll}|{prob}", start_token=True)
    assert [chip.text for chip in chips] == ["The", " cat", " sat", " on", " the", " mat"]
    assert chips[0].colour is None and chips[0].special and chips[0].title == "first"
    for chip, nll in zip(chips[1:], result.nll, strict=True):
        assert chip.colour == probability_colour(math.exp(-nll))
        assert chip.title == f"{nll:.2f}|{np.exp(-nll):.1%}"


def test_weight_chips_shade_by_the_largest_weight():
    html = body(chips_html(weight_chips(["<i>", "b"], [0.25, 0.75])))
    assert "&lt;i&gt;" in html and "rgba(49,130,189,1.000)" in html
    assert "rgba(49,130,189,0.333)" in html and 'title="#1 · 0.750"' in html
    assert html.count("tc-weight") == 2 and html.count("tc-dark") == 1


def test_signed_scores_use_two_hues_and_one_scale():
    chips = score_chips(["我", "爱", "吃", "苹果"], [0.8, -0.4, 0.0, -0.8])
    red, blue = "rgba({},{},{},".format(*POSITIVE_RGB), "rgba({},{},{},".format(*NEGATIVE_RGB)
    assert chips[0].colour == red + "1.000)" and chips[3].colour == blue + "1.000)"
    assert chips[1].colour == blue + "0.500)" and chips[2].colour.endswith("0.000)")
    assert [c.title for c in chips] == ["+0.800", "-0.400", "+0.000", "-0.800"]
    assert [c.dark for c in chips] == [True, False, False, True]
    fixed = score_chips(["a"], [0.1], scale=0.2, titles=["a: 0.1"])
    assert fixed[0].colour == signed_colour(0.1, 0.2) == red + "0.500)"
    assert score_chips(["a"], [0.0])[0].colour.endswith("0.000)")  # all zero: no division
    with pytest.raises(ValueError, match="labels"):
        score_chips(["a", "b"], [1.0])
    legend = legend_html("attribution", kind="signed", scale=0.8)
    assert "-0.8" in legend and "+0.8" in legend and blue in legend and red in legend


def test_tokenization_chips_box_each_token_beneath_its_group():
    tokenization = tokenize(build_tokenizer(), "我爱吃苹果 <b>")
    words = body(tokenization_html(tokenization, "word").html)
    assert words.count('class="tc-chip') == len(tokenization.groups("word"))
    assert len(re.findall('class="tc-box[" ]', words)) == tokenization.n_tokens
    assert "&lt;" in words and "&gt;" in words and "<b>" not in words
    tokens = tokenization_html(tokenization, "token", max_chips=3)
    assert (tokens.shown, tokens.total) == (3, tokenization.n_tokens)
    assert len(re.findall('class="tc-chip', tokens.html)) == 3
