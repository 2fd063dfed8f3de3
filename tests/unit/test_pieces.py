"""What each token adds to the text: pieces rebuild the text, byte fragments wait for the
character they complete and are labelled by it (or by their bytes out of context), and a
generation's steps carry the same pieces."""

from __future__ import annotations

import dataclasses

import pytest

from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import load_model
from llm_core.text.pieces import (
    PieceDecoder,
    VocabularyText,
    fragment_labels,
    labelled_pieces,
    readable_token,
    readable_tokens,
    token_pieces,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = "我爱吃苹果。The cat"


@pytest.fixture(scope="module")
def llama(tiny_model_dirs):
    return load_model(str(tiny_model_dirs["llama"]))


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
    assert labelled_pieces(llama, ids) == (tuple(pieces), tuple(fragment_labels(pieces)))


def test_steps_carry_the_pieces_of_the_generated_text(llama):
    ids = build_prompt_ids(llama.tokenizer, PROMPT)
    settings = GenerationSettings(max_new_tokens=20, stop_at_eos=False, do_sample=True)
    result = generate(llama, ids, settings)
    pieces = [step.piece for step in result.steps]
    assert pieces == token_pieces(llama.tokenizer, result.token_ids, ids[-1:])
    assert "".join(pieces) == llama.tokenizer.decode(list(result.token_ids)).rstrip("\ufffd")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.steps[0].prob = 1.0


def test_byte_fragments_are_labelled_by_their_bytes(llama):
    tokenizer = llama.tokenizer
    ids = tokenizer("龘")["input_ids"]  # three single-byte tokens
    labels = [readable_token(tokenizer, i, tokenizer.decode([i])) for i in ids]
    assert labels == [f"\ufffd[{byte:02X}]" for byte in "龘".encode()]
    assert readable_token(tokenizer, 5, "cat") == "cat"
    assert readable_tokens(llama, ids) == tuple(labels)


def test_candidates_carry_their_readable_label(llama):
    ids = build_prompt_ids(llama.tokenizer, PROMPT)
    step = generate(llama, ids, GenerationSettings(max_new_tokens=1, n_alternatives=50)).steps[0]
    for candidate in step.top_before:
        expected = readable_token(llama.tokenizer, candidate.token_id, candidate.token)
        assert candidate.shown == expected
        assert candidate.label == ("" if expected == candidate.token else expected)
        assert set(candidate.to_json()) == {"token_id", "token", "prob"}  # the CLI shape


def test_vocabulary_text_decodes_as_the_tokenizer(llama):
    texts = VocabularyText(llama.tokenizer)
    for token_id in range(50):
        assert texts.decode([token_id]) == llama.tokenizer.decode([token_id])
    ids = llama.tokenizer(PROMPT)["input_ids"]
    assert texts.decode(ids, skip_special_tokens=True) == llama.tokenizer.decode(
        ids, skip_special_tokens=True
    )
