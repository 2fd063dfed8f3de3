"""Tokenization and grouping with the real default model's tokenizer (SmolLM2, byte-level BPE)."""

from __future__ import annotations

import pytest

from llm_core.text.tokens import LEVELS, Tokenization, tokenize

pytestmark = pytest.mark.integration


def assert_partition(result: Tokenization) -> None:
    for level in LEVELS:
        flat = [index for group in result.groups(level) for index in group.tokens]
        assert flat == list(range(result.n_tokens)), level


def test_chinese_splits_into_byte_fragments_and_groups_back(default_model):
    result = tokenize(default_model.tokenizer, "我爱吃苹果")
    assert result.n_tokens == 11
    assert sum("\ufffd" in token.text for token in result.tokens) == 10  # only 果 is whole
    assert [g.text for g in result.characters] == ["我", "爱", "吃", "苹", "果"]
    assert [g.text for g in result.words] == ["我", "爱", "吃", "苹果"]
    assert [len(g.tokens) for g in result.characters] == [2, 3, 2, 3, 1]
    assert result.labels("token")[:2] == ["我[E6 88]", "我[91]"]
    assert result.tokens[0].data == "我".encode()[:2]
    assert_partition(result)


def test_english_groups_into_words(default_model):
    result = tokenize(default_model.tokenizer, "The cat sat on the mat")
    assert len(result.words) == 6
    assert [g.text for g in result.words] == ["The", " cat", " sat", " on", " the", " mat"]
    assert [token.piece for token in result.tokens][1] == "Ġcat"


def test_mixed_text_rebuilds_from_token_bytes(default_model):
    text = "我爱AI🙂 and 苹果! 今天天气真好。\n  def f(x): return x**2"
    result = tokenize(default_model.tokenizer, text)
    assert result.ids == default_model.tokenizer.encode(text, add_special_tokens=False)
    assert b"".join(token.data for token in result.tokens) == text.encode("utf-8")
    assert "".join(g.text for g in result.characters) == text
    assert "".join(g.text for g in result.words) == text
    words = [g.text.strip() for g in result.words]
    assert words[:7] == ["我", "爱", "AI", "🙂", "and", "苹果", "!"]
    assert "今天天气" in words and "🙂" in words
    assert_partition(result)


def test_chat_template_special_tokens(default_model):
    tokenizer = default_model.tokenizer
    messages = [{"role": "user", "content": "你好"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    result = tokenize(tokenizer, text)
    specials = [token.piece for token in result.tokens if token.special]
    assert "<|im_start|>" in specials and "<|im_end|>" in specials
    assert all(token.end > token.start for token in result.tokens)  # typed, so they have text
    assert b"".join(token.data for token in result.tokens) == text.encode("utf-8")
    assert_partition(result)
