"""Corpus: reading and checking uploads, samples, the split, packing into blocks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llm_core.errors import InputError
from llm_core.text import corpus as corpus_module
from llm_core.text.corpus import (
    Corpus,
    guess_text_field,
    load_corpus,
    read_corpus,
    sample_corpora,
    text_fields,
)
from llm_core.text.packing import count_tokens, pack_blocks, pack_corpus, split_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer():
    from tiny_models import build_tokenizer

    return build_tokenizer()


def _corpus(n: int) -> Corpus:
    return Corpus("c", tuple(f"document number {i}." for i in range(n)), "test")


# ---------------------------------------------------------------------------- formats


def test_text_documents_are_blank_line_passages_with_normalised_line_endings():
    data = "床前明月光，\r\n疑是地上霜。\r\n\r\n\r\n举头望明月，  \r低头思故乡。\n\n  \n".encode()
    corpus = read_corpus(data, "poems.txt")
    assert corpus.documents == ("床前明月光，\n疑是地上霜。", "举头望明月，\n低头思故乡。")
    assert corpus.n_characters == sum(len(d) for d in corpus.documents)
    assert corpus.name == "poems" and "plain text" in corpus.source


def test_exact_duplicate_documents_are_dropped_and_counted():
    data = b"The cat sat.\n\nThe dog sat.\n\nThe cat sat.\n\nThe cat sat.\n"
    corpus = read_corpus(data, "cats.md")
    assert corpus.documents == ("The cat sat.", "The dog sat.")
    assert corpus.n_duplicates_dropped == 2


def test_a_byte_order_mark_is_dropped():
    assert read_corpus("\ufeffhello\n\nworld".encode(), "a.txt").documents == ("hello", "world")


def test_jsonl_reads_the_text_field_or_the_one_named():
    lines = [{"title": "静夜思", "text": "床前明月光"}, {"title": "春晓", "text": "春眠不觉晓"}]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    assert read_corpus(data, "p.jsonl").documents == ("床前明月光", "春眠不觉晓")
    titles = read_corpus(data, "p.jsonl", text_field="title")
    assert titles.documents == ("静夜思", "春晓") and titles.text_field == "title"
    assert "field 'title'" in titles.source
    assert text_fields(data, "p.jsonl") == ["title", "text"]


def test_jsonl_asks_which_field_when_it_cannot_tell():
    data = b'{"question": "a?", "answer": "b"}\n{"question": "c?", "answer": "d"}\n'
    with pytest.raises(InputError, match="Which field.*question, answer"):
        read_corpus(data, "qa.jsonl")
    with pytest.raises(InputError, match="no field 'text'.*question, answer"):
        read_corpus(data, "qa.jsonl", text_field="text")


def test_the_likely_text_field_is_guessed():
    assert guess_text_field(b'{"id": "1", "text": "a"}\n', "a.jsonl") == "text"
    assert guess_text_field(b'{"id": "1", "verse": "a long line"}\n', "a.jsonl") == "verse"
    assert guess_text_field(b"n,line\n1,the cat sat\n", "a.csv") == "line"
    assert guess_text_field(b"hello", "a.txt") is None


def test_jsonl_bad_line_is_named():
    with pytest.raises(InputError, match="Line 2 of 'bad.jsonl' is not valid JSON"):
        read_corpus(b'{"text": "ok"}\n{"text": broken}\n', "bad.jsonl")


def test_jsonl_of_bare_strings_is_accepted():
    assert read_corpus(b'"one"\n"two"\n', "s.jsonl").documents == ("one", "two")


def test_csv_reads_a_column():
    data = 'id,poem\n1,"床前明月光，\n疑是地上霜。"\n2,春眠不觉晓\n'.encode()
    corpus = read_corpus(data, "p.csv", text_field="poem")
    assert corpus.documents == ("床前明月光，\n疑是地上霜。", "春眠不觉晓")
    assert text_fields(data, "p.csv") == ["id", "poem"]
    assert read_corpus(data, "p.csv").text_field == "poem"  # a likely name is found alone
    with pytest.raises(InputError, match="Which field.*id, verse"):
        read_corpus(b"id,verse\n1,a\n", "v.csv")


def test_text_files_have_no_fields():
    assert text_fields(b"hello", "a.txt") == []


# ---------------------------------------------------------------------------- bad uploads


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "empty.txt", "is empty"),
        (b"  \n\n \t\n", "blank.txt", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "binary file"),
        ("caf\u00e9 au lait".encode("latin-1"), "latin1.txt", "not UTF-8 text .*line 1"),
        (b"\x01\x02\x03\x04\x05 mostly control", "ctrl.txt", "control characters"),
        (b"some text", "poems.pdf", "not a supported corpus file"),
        (b'{"text": ""}\n{"text": "  "}\n', "blank.jsonl", "holds no text in the field 'text'"),
        (b"poem\n", "header-only.csv", "holds no text"),
    ],
)
def test_each_bad_upload_gets_its_message(data, filename, message):
    with pytest.raises(InputError, match=message):
        read_corpus(data, filename)


def test_size_cap_is_named_and_configurable(monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_CORPUS_BYTES", 100)
    with pytest.raises(InputError, match="MAX_CORPUS_BYTES"):
        read_corpus(b"x" * 101, "big.txt")
    assert read_corpus(b"x" * 100, "fits.txt").n_characters == 100


def test_load_checks_the_size_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 100)
    monkeypatch.setattr(corpus_module, "MAX_CORPUS_BYTES", 10)

    def never(self):
        raise AssertionError("read a file over the size limit")

    monkeypatch.setattr(Path, "read_bytes", never)
    with pytest.raises(InputError, match="limited to"):
        load_corpus(path)


def test_load_names_missing_files_and_the_samples(tmp_path):
    with pytest.raises(InputError, match="No corpus file.*tang300"):
        load_corpus(tmp_path / "missing.txt")


# ---------------------------------------------------------------------------- samples


def test_bundled_samples_load_and_have_provenance():
    samples = sample_corpora()
    assert "tang300" in samples and "shakespeare_romeo_juliet" in samples
    readme = (ROOT / "assets" / "corpora" / "README.md").read_text(encoding="utf-8")
    for name, path in samples.items():
        assert path.name in readme, f"{path.name} has no provenance in assets/corpora/README.md"
        corpus = load_corpus(name)
        assert corpus.n_documents > 100 and "bundled sample" in corpus.source
    tang = load_corpus("tang300")
    assert tang.documents[0].startswith("《感遇・其一》\n作者：张九龄")
    assert "ROMEO:" in "\n".join(load_corpus("shakespeare_romeo_juliet").documents)


# ---------------------------------------------------------------------------- split and pack


def test_split_is_by_document_disjoint_complete_and_seeded():
    corpus = _corpus(50)
    train, validation = split_corpus(corpus, 0.2, seed=3)
    assert len(validation) == 10 and len(train) == 40
    assert not set(train) & set(validation)
    assert sorted(train + validation) == sorted(corpus.documents)
    assert split_corpus(corpus, 0.2, seed=3) == (train, validation)
    assert split_corpus(corpus, 0.2, seed=4) != (train, validation)


def test_split_keeps_a_document_on_each_side():
    train, validation = split_corpus(_corpus(3), 0.01)
    assert len(validation) == 1 and len(train) == 2
    with pytest.raises(InputError, match="single document"):
        split_corpus(_corpus(1))
    with pytest.raises(InputError, match="validation fraction"):
        split_corpus(_corpus(10), 0.9)


def test_pack_blocks_joins_documents_with_eos_and_cuts_full_blocks(tokenizer):
    documents = ["The cat sat on the mat.", "我爱吃苹果。", "Hello world!"]
    blocks = pack_blocks(tokenizer, documents, 8)
    stream = []
    for document in documents:
        stream += tokenizer(document, add_special_tokens=False)["input_ids"] + [
            tokenizer.eos_token_id
        ]
    assert blocks.dtype == np.int64 and blocks.shape == (len(stream) // 8, 8)
    assert blocks.reshape(-1).tolist() == stream[: blocks.size]
    assert count_tokens(tokenizer, documents) == len(stream)
    with pytest.raises(InputError, match="block length"):
        pack_blocks(tokenizer, documents, 1)


def test_pack_corpus_says_when_the_corpus_is_too_short(tokenizer):
    short = read_corpus(b"The cat sat.\n\nThe dog sat.\n\nA bird.", "short.txt")
    with pytest.raises(InputError, match="too short: its training part .* one block of 512"):
        pack_corpus(tokenizer, short, 512)
    many = _corpus(40)
    with pytest.raises(InputError, match="validation part .* larger validation fraction"):
        pack_corpus(tokenizer, many, 64, validation_fraction=0.05)
    packed = pack_corpus(tokenizer, many, 8, validation_fraction=0.25)
    assert packed.block_length == 8 and len(packed.train) > len(packed.validation) > 0
    assert packed.n_train_documents == 30 and packed.n_validation_documents == 10
