"""Tokenization and grouping on tiny tokenizers: byte-level BPE (the tiny models') and
sentencepiece-style ones built here. Asserts invariants: groups partition the tokens,
token bytes rebuild the text, no character or word is split between groups."""

from __future__ import annotations

import json

import pytest
import regex
from tiny_models import TRAINING_TEXT, build_tokenizer

from llm_core.errors import InputError
from llm_core.text.tokens import (
    LEVELS,
    MAX_TOKENIZE_CHARS,
    Tokenization,
    prepare_word_splitter,
    split_words,
    tokenize,
)

TRICKY_TEXTS = [
    "我爱吃苹果",
    "The cat sat on the mat",
    "我爱AI🙂 and 苹果!",
    "今天天气真好，我们去公园散步吧。",
    " ",
    "\n",
    "a",
    "我",
    "🙂",
    "🙂🙂🙂",
    "  leading and trailing  ",
    "line one\nline two\r\n\tindented\n\n",
    "Hello, world!!! ... ?!",
    "don't stop; 3.14 + x_1 = 2",
    "👨‍👩‍👧 family, 🇨🇳 flag, 👍🏽 ok",
    "e\u0301 café naïve",
    "数字123和English混合，还有emoji😀！",
    "日本語のテキスト、한국어 텍스트, Ελληνικά, مرحبا",
    "zero\u200bwidth\u00a0nbsp",
    "<|im_start|>user\n你好<|im_end|>",
]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def sentencepiece_tokenizers() -> dict:
    """A Llama-2-style BPE with byte fallback and a Unigram with NFKC, both Metaspace."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    bpe.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<unk>", "<s>", *byte_tokens])
    bpe.train_from_iterator(TRAINING_TEXT[1:3] * 4, trainer=trainer)

    unigram = Tokenizer(models.Unigram())
    unigram.normalizer = normalizers.NFKC()
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=["<unk>"], unk_token="<unk>")
    unigram.train_from_iterator(TRAINING_TEXT * 4, trainer=trainer)
    return {
        "bpe-byte-fallback": PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>"),
        "unigram": PreTrainedTokenizerFast(tokenizer_object=unigram, unk_token="<unk>"),
    }


@pytest.fixture(scope="module")
def sp_tokenizers() -> dict:
    return sentencepiece_tokenizers()


def assert_partition(result: Tokenization) -> None:
    """Every level: each token in exactly one group, groups ascending and contiguous."""
    for level in LEVELS:
        groups = result.groups(level)
        flat = [index for group in groups for index in group.tokens]
        assert flat == list(range(result.n_tokens)), level
        assert all(group.tokens for group in groups), level
        starts = [group.start for group in groups]
        assert starts == sorted(starts), level
        assert len(result.labels(level)) == len(groups), level


def grapheme_bounds(text: str) -> set[int]:
    return {m.start() for m in regex.finditer(r"\X", text)} | {len(text)}


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_byte_level_invariants(tokenizer, text):
    result = tokenize(tokenizer, text)
    assert_partition(result)
    assert result.ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    # Byte-level BPE loses nothing: the tokens' bytes are exactly the text's UTF-8.
    assert b"".join(token.data for token in result.tokens) == text.encode("utf-8")
    for level in ("character", "word"):
        groups = result.groups(level)
        assert "".join(group.text for group in groups) == text, level
        bounds = grapheme_bounds(text)
        assert all(g.start in bounds and g.end in bounds for g in groups), level
    # No word is split between word groups.
    word_groups = [(g.start, g.end) for g in result.words]
    for start, end in split_words(text):
        assert any(s <= start and end <= e for s, e in word_groups), text[start:end]
    for token in result.tokens:
        assert 0 <= token.start <= token.end <= len(text)


def test_straddling_token_merges_characters(tokenizer):
    # The tiny vocabulary has a token for 我 plus the first byte of 爱: 我 and 爱 merge.
    result = tokenize(tokenizer, "我爱AI🙂 and 苹果!")
    first = result.tokens[0]
    assert (first.start, first.end) == (0, 2) and first.text.startswith("我")
    assert result.characters[0].text == "我爱"
    assert result.characters[0].tokens == (0, 1)
    assert [g.text for g in result.words][-3:] == [" ", "苹果", "!"]
    assert "".join(result.labels("word")).count("␣") == 2  # the lone spaces made visible


def test_fragments_of_one_character_group_together(tokenizer):
    result = tokenize(tokenizer, "🙂")
    assert result.n_tokens > 1  # four bytes, not one token in the tiny vocabulary
    assert [g.text for g in result.characters] == ["🙂"]
    assert [g.text for g in result.words] == ["🙂"]
    assert all("\ufffd" in token.text for token in result.tokens)
    assert result.labels("token")[0].startswith("🙂[F0")  # fragment: character + hex bytes


def test_whitespace_goes_with_the_word_that_carries_it(tokenizer):
    result = tokenize(tokenizer, "The cat sat on the mat")
    assert [g.text for g in result.words] == ["The", " cat", " sat", " on", " the", " mat"]
    assert [token.piece for token in result.tokens][:2] == ["The", "Ġcat"]
    assert result.tokens[1].data == b" cat"


def test_newlines_and_spaces_each_get_a_group(tokenizer):
    result = tokenize(tokenizer, "  hi\n\nthere  ")
    texts = [g.text for g in result.words]
    assert texts[0] == " " and texts[-1] == " " and "\n" in texts
    assert "↵" in result.labels("word") and "␣" in result.labels("token")
    assert all("\n" not in label for level in LEVELS for label in result.labels(level))


def test_special_tokens_in_text_are_flagged_and_keep_their_span(tokenizer):
    text = "<|im_start|>user\nhi<|im_end|>"
    result = tokenize(tokenizer, text)
    first, last = result.tokens[0], result.tokens[-1]
    assert first.special and first.piece == "<|im_start|>" and (first.start, first.end) == (0, 12)
    assert last.special and last.end == len(text)
    assert not any(token.special for token in result.tokens[1:-1])
    assert result.words[0].text == "<|im_start|>" and result.words[0].tokens == (0,)


def test_added_special_token_without_text_is_its_own_group():
    from tokenizers import processors

    tokenizer = build_tokenizer()
    bos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)]
    )
    result = tokenize(tokenizer, "我爱吃苹果", add_special_tokens=True)
    assert result.ids[0] == bos
    bos_token = result.tokens[0]
    assert bos_token.special and bos_token.start == bos_token.end == 0 and bos_token.data == b""
    for level in LEVELS:
        assert result.groups(level)[0].tokens == (0,)
        assert result.groups(level)[0].text == "<|endoftext|>"
    assert_partition(result)
    assert b"".join(token.data for token in result.tokens) == "我爱吃苹果".encode()
    assert not tokenize(tokenizer, "我爱吃苹果").tokens[0].special  # off by default


def test_to_json_has_exactly_the_documented_keys(tokenizer):
    result = tokenize(tokenizer, "我爱AI🙂 and 苹果!")
    payload = result.to_json()
    assert set(payload) == {"tokens", "characters", "words"}
    assert all(
        set(t) == {"id", "piece", "text", "start", "end", "special"} for t in payload["tokens"]
    )
    for level in ("characters", "words"):
        assert all(set(g) == {"text", "tokens"} for g in payload[level])
        assert [i for g in payload[level] for i in g["tokens"]] == list(range(result.n_tokens))
    assert json.loads(json.dumps(payload)) == payload  # plain JSON types only


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("x" * (MAX_TOKENIZE_CHARS + 1), f"{MAX_TOKENIZE_CHARS:,}"),
        (None, "string"),
        (b"bytes", "string"),
        (42, "string"),
        ("bad \ud800 surrogate", "surrogate"),
    ],
)
def test_bad_text_raises_input_error(tokenizer, text, message):
    with pytest.raises(InputError, match=message):
        tokenize(tokenizer, text)


def test_limit_is_inclusive(tokenizer):
    result = tokenize(tokenizer, "ab " * (MAX_TOKENIZE_CHARS // 3))
    assert result.n_tokens > 0
    assert_partition(result)


def test_unknown_level_raises_input_error(tokenizer):
    with pytest.raises(InputError, match="token, character, word"):
        tokenize(tokenizer, "hi").groups("sentence")


def test_token_level_is_one_group_per_token(tokenizer):
    result = tokenize(tokenizer, "我爱AI")
    assert [g.tokens for g in result.groups("token")] == [(i,) for i in range(result.n_tokens)]


def test_split_words_chinese_uses_jieba():
    assert split_words("我爱吃苹果") == [(0, 1), (1, 2), (2, 3), (3, 5)]


def test_split_words_mixed_scripts():
    text = "我爱AI🙂 and 苹果! don't 👨‍👩‍👧👍🏽"
    words = [text[s:e] for s, e in split_words(text)]
    assert words == ["我", "爱", "AI", "🙂", "and", "苹果", "!", "don't", "👨‍👩‍👧", "👍🏽"]
    assert split_words(" \n\t ") == []


@pytest.mark.parametrize("name", ["bpe-byte-fallback", "unigram"])
@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_sentencepiece_style_tokenizers_partition(sp_tokenizers, name, text):
    result = tokenize(sp_tokenizers[name], text)
    assert_partition(result)
    assert all(0 <= t.start <= t.end <= len(text) for t in result.tokens)


def test_byte_fallback_tokens_carry_their_byte(sp_tokenizers):
    result = tokenize(sp_tokenizers["bpe-byte-fallback"], "我爱吃苹果")
    assert [t.piece for t in result.tokens][1:4] == ["<0xE6>", "<0x88>", "<0x91>"]
    assert b"".join(t.data for t in result.tokens) == " 我爱吃苹果".encode()  # "▁" is a space
    assert [g.text for g in result.characters] == list("我爱吃苹果")
    assert [g.text for g in result.words] == ["我", "爱", "吃", "苹果"]


class SlowTokenizer:
    """Stands in for a pure-Python tokenizer, which cannot return offsets."""

    def __init__(self, fast) -> None:
        self.fast = fast

    def __call__(self, text, return_offsets_mapping=False, **kwargs):
        if return_offsets_mapping:
            raise NotImplementedError("return_offset_mapping is not available")
        return self.fast(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.fast, name)


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_tokenizer_without_offsets_still_groups(tokenizer, text):
    result = tokenize(SlowTokenizer(tokenizer), text)
    assert_partition(result)
    assert b"".join(token.data for token in result.tokens) == text.encode("utf-8")


def test_loaded_tiny_model_tokenizer(tiny_llama):
    text = "我爱AI🙂 and 苹果!"
    result = tokenize(tiny_llama.tokenizer, text)
    assert result.ids == tiny_llama.tokenizer.encode(text, add_special_tokens=False)
    assert_partition(result)


def test_byte_table_is_gpt2s():
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    from llm_core.text.tokens import _byte_level_bytes

    assert all(_byte_level_bytes(char) == bytes([b]) for b, char in bytes_to_unicode().items())
    assert _byte_level_bytes("▁cat") is None  # a sentencepiece piece is not byte-level


def test_prepare_word_splitter_loads_jieba_once_and_keeps_its_cuts():
    import jieba

    prepare_word_splitter()
    assert jieba.dt.initialized
    prepare_word_splitter()  # a second call costs nothing and changes nothing
    text = "我爱吃苹果"
    assert [text[a:b] for a, b in split_words(text)] == ["我", "爱", "吃", "苹果"]
