"""Training text: read and check a corpus (splitting and packing: ``llm_core.text.packing``).

    corpus = load_corpus("assets/corpora/tang300.txt")        # or read_corpus(bytes, name)

A corpus is a tuple of *documents*: for ``.txt`` and ``.md`` the blank-line separated
passages (a poem, a paragraph, a speech); for ``.jsonl`` one record's text field; for
``.csv`` one row's text column. Line endings are normalised to ``\\n`` and exact
duplicate documents are dropped (they would be seen twice, or leak from training into
validation). Every bad upload raises ``InputError`` with a message saying what to do.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_core.errors import InputError

# Uploads larger than this are refused before they are decoded (a few MB of text is
# hours of CPU training already). Override with LLM_EXPLORER_MAX_CORPUS_BYTES.
MAX_CORPUS_BYTES = int(os.environ.get("LLM_EXPLORER_MAX_CORPUS_BYTES", str(5 * 2**20)))
SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".csv")
# Text fields tried, in order, when a .jsonl or .csv upload does not name one.
LIKELY_TEXT_FIELDS = ("text", "content", "poem", "body", "document", "sentence")
# Share of control characters (other than tab/newline) above which bytes are "binary".
MAX_CONTROL_SHARE = 0.01
MAX_VALIDATION_FRACTION = 0.5
# The bundled samples sit beside the package in a checkout; an installed copy (e.g. the
# Docker image, where llm_core lives in site-packages) names them in LLM_EXPLORER_CORPORA.
CORPORA_DIR = Path(
    os.environ.get("LLM_EXPLORER_CORPORA")
    or Path(__file__).resolve().parents[2] / "assets" / "corpora"
).resolve()

_BLANK_LINES = re.compile(r"\n[ \t]*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Corpus:
    """Checked documents ready to train on, and where they came from.

    ``source``: provenance as a person reads it (file name and format, or the sample's
    README line). ``text_field``: the JSONL field or CSV column read (None for text).
    """

    name: str
    documents: tuple[str, ...]
    source: str
    n_duplicates_dropped: int = 0
    text_field: str | None = None

    @property
    def n_documents(self) -> int:
        return len(self.documents)

    @property
    def n_characters(self) -> int:
        return sum(len(document) for document in self.documents)

    def describe(self) -> dict[str, Any]:
        """Plain facts for provenance.json and the CLI (no documents)."""
        return {
            "name": self.name,
            "source": self.source,
            "text_field": self.text_field,
            "n_documents": self.n_documents,
            "n_characters": self.n_characters,
            "n_duplicates_dropped": self.n_duplicates_dropped,
        }


# ---------------------------------------------------------------------------- reading


def _suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"'{filename}' is not a supported corpus file: use {', '.join(SUPPORTED_SUFFIXES)} "
            "(plain text, Markdown, JSON Lines or CSV)."
        )
    return suffix


def _check_size(n_bytes: int, filename: str) -> None:
    if n_bytes > MAX_CORPUS_BYTES:
        raise InputError(
            f"'{filename}' is {n_bytes / 2**20:.1f} MB; corpora are limited to "
            f"{MAX_CORPUS_BYTES / 2**20:.1f} MB (MAX_CORPUS_BYTES, set by "
            "LLM_EXPLORER_MAX_CORPUS_BYTES). Use a sample of it: a few hundred documents "
            "are enough to see fine-tuning work."
        )


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 text with ``\\n`` line endings, or ``InputError`` (empty, binary, not UTF-8)."""
    _check_size(len(data), filename)
    if not data.strip():
        raise InputError(f"'{filename}' is empty: upload a file with some text in it.")
    if b"\x00" in data[:8192]:
        raise InputError(
            f"'{filename}' looks like a binary file (it holds NUL bytes), not text. "
            "Upload plain text: .txt, .md, .jsonl or .csv saved as UTF-8."
        )
    try:
        text = data.decode("utf-8-sig")  # a leading byte-order mark is dropped
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"'{filename}' is not UTF-8 text (invalid byte 0x{data[error.start]:02X} on line "
            f"{line}). Save it as UTF-8 (in most editors: Save As -> Encoding: UTF-8)."
        ) from error
    if len(_CONTROL.findall(text)) > MAX_CONTROL_SHARE * len(text):
        raise InputError(
            f"'{filename}' is full of control characters: it looks like a binary file "
            "renamed to a text extension. Upload plain UTF-8 text."
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _passages(text: str) -> list[str]:
    """Blank-line separated passages, each with trailing spaces removed from its lines."""
    passages = []
    for block in _BLANK_LINES.split(text):
        lines = [line.rstrip() for line in block.strip("\n").split("\n")]
        passage = "\n".join(lines).strip()
        if passage:
            passages.append(passage)
    return passages


def _choose_field(fields: Sequence[str], text_field: str | None, filename: str) -> str:
    if text_field is not None:
        if text_field not in fields:
            raise InputError(
                f"'{filename}' has no field '{text_field}'. Its fields are: "
                f"{', '.join(fields) or 'none'}. Choose one of them."
            )
        return text_field
    for likely in LIKELY_TEXT_FIELDS:
        if likely in fields:
            return likely
    if len(fields) == 1:
        return fields[0]
    raise InputError(
        f"Which field of '{filename}' holds the text? It has: {', '.join(fields)}. "
        "Choose the text field (--text-field in the CLI)."
    )


def _jsonl_records(text: str, filename: str) -> list[Any]:
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise InputError(
                f"Line {number} of '{filename}' is not valid JSON ({error.msg}). A .jsonl "
                'file holds one JSON object per line, e.g. {"text": "..."}.'
            ) from error
    return records


def _jsonl_fields(records: list[Any]) -> list[str]:
    fields: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            fields.update(dict.fromkeys(k for k, v in record.items() if isinstance(v, str)))
    return list(fields)


def _csv_rows(text: str, filename: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
    except csv.Error as error:
        raise InputError(f"'{filename}' is not valid CSV ({error}).") from error
    columns = [c for c in (reader.fieldnames or []) if c is not None and c.strip()]
    if not columns:
        raise InputError(f"'{filename}' has no header row: the first line must name the columns.")
    return columns, rows


def text_fields(data: bytes, filename: str) -> list[str]:
    """The fields (JSONL) or columns (CSV) a text could be read from; [] for .txt/.md."""
    suffix = _suffix(filename)
    if suffix in (".txt", ".md"):
        return []
    text = decode_text(data, filename)
    if suffix == ".csv":
        return _csv_rows(text, filename)[0]
    return _jsonl_fields(_jsonl_records(text, filename))


def guess_text_field(data: bytes, filename: str) -> str | None:
    """The field a person most likely means: a usual name (``LIKELY_TEXT_FIELDS``), else
    the one holding the most characters; None for .txt/.md."""
    fields = text_fields(data, filename)
    if not fields:
        return None
    for likely in LIKELY_TEXT_FIELDS:
        if likely in fields:
            return likely
    text = decode_text(data, filename)
    if _suffix(filename) == ".csv":
        rows: list[Any] = _csv_rows(text, filename)[1]
    else:
        rows = [r for r in _jsonl_records(text, filename) if isinstance(r, dict)]
    sizes = {f: sum(len(r.get(f) or "") for r in rows if isinstance(r.get(f), str)) for f in fields}
    return max(fields, key=sizes.__getitem__)


def _documents(text: str, suffix: str, filename: str, text_field: str | None):
    """(raw documents, the field read) for one decoded file."""
    if suffix in (".txt", ".md"):
        return _passages(text), None
    if suffix == ".csv":
        columns, rows = _csv_rows(text, filename)
        field = _choose_field(columns, text_field, filename)
        return [row.get(field) or "" for row in rows], field
    records = _jsonl_records(text, filename)
    if all(isinstance(record, str) for record in records):  # a file of bare JSON strings
        return records, None
    field = _choose_field(_jsonl_fields(records), text_field, filename)
    documents = []
    for record in records:
        value = record.get(field) if isinstance(record, dict) else None
        documents.append(value if isinstance(value, str) else "")
    return documents, field


def read_corpus(data: bytes, filename: str, text_field: str | None = None) -> Corpus:
    """Check and read an uploaded corpus file (see the module docstring for the format).

    Raises ``InputError`` when the file is too large, empty, binary, not UTF-8, of an
    unsupported type, malformed, or names no usable text field.
    """
    suffix = _suffix(filename)
    text = decode_text(data, filename)
    raw, field = _documents(text, suffix, filename, text_field)
    documents = [d.replace("\r\n", "\n").replace("\r", "\n").strip() for d in raw]
    documents = [d for d in documents if d]
    if not documents:
        where = f" in the field '{field}'" if field else ""
        raise InputError(f"'{filename}' holds no text{where}: every document is empty.")
    unique = list(dict.fromkeys(documents))  # keeps the first of each, in order
    fmt = {".txt": "plain text", ".md": "Markdown", ".jsonl": "JSON Lines", ".csv": "CSV"}[suffix]
    source = f"{filename} ({fmt}" + (f", field '{field}'" if field else "") + ")"
    return Corpus(
        name=Path(filename).stem,
        documents=tuple(unique),
        source=source,
        n_duplicates_dropped=len(documents) - len(unique),
        text_field=field,
    )


def load_corpus(path: str | Path, text_field: str | None = None) -> Corpus:
    """Read a corpus file, checking its size before reading it. A bundled sample's name
    (see ``sample_corpora``) is accepted for ``path`` too."""
    samples = sample_corpora()
    path = samples.get(str(path), Path(path).expanduser())
    if not path.is_file():
        raise InputError(
            f"No corpus file at '{path}'. Give a .txt, .md, .jsonl or .csv file, or a "
            f"bundled sample: {', '.join(samples) or 'none installed'}."
        )
    _check_size(path.stat().st_size, path.name)
    corpus = read_corpus(path.read_bytes(), path.name, text_field)
    if path.parent == CORPORA_DIR:
        corpus = Corpus(
            corpus.name,
            corpus.documents,
            f"bundled sample {path.name} (see assets/corpora/README.md)",
            corpus.n_duplicates_dropped,
            corpus.text_field,
        )
    return corpus


def sample_corpora() -> dict[str, Path]:
    """Bundled sample corpora by name (file stem), e.g. ``{"tang300": Path(...)}``."""
    if not CORPORA_DIR.is_dir():
        return {}
    return {
        path.stem: path
        for path in sorted(CORPORA_DIR.iterdir())
        if path.suffix in SUPPORTED_SUFFIXES and path.name != "README.md"
    }
