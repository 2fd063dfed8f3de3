"""Tokenize text and group its tokens into characters and words.

``tokenize(tokenizer, text)`` returns a ``Tokenization``: one ``Token`` per id (piece,
decoded text, the raw bytes it stands for, character span) and two groupings of the
token indices, ``characters`` and ``words``. Each grouping is a partition: every token
is in exactly one group, groups follow the text, and each group's indices are ascending
and contiguous, so per-token arrays (attention rows, probabilities) can be summed per
group and attention rows still sum to 1.

Byte-level BPE (GPT-2, SmolLM2, Qwen) splits a Chinese character into byte fragments,
and one token may end inside the next character; the characters such a token touches
are merged into one group rather than splitting the token between groups.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import regex  # a dependency of transformers; gives grapheme clusters (\X) and \p{Han}

from llm_core.errors import InputError

if TYPE_CHECKING:
    from llm_core.models.loading import LoadedModel

MAX_TOKENIZE_CHARS = 20_000
LEVELS = ("token", "character", "word")

# Han runs go to jieba. Elsewhere a word is a run of letters/digits (apostrophes inside:
# "don't"); every other grapheme (a punctuation mark, an emoji with its skin tone or ZWJ
# sequence) is a word of its own. Whitespace belongs to no word.
WORD_PATTERN = regex.compile(
    r"(?P<han>\p{Han}+)|(?P<space>\s+)"
    r"|(?:(?!\p{Han})\w)+(?:['’](?:(?!\p{Han})\w)+)*|\X"
)
BYTE_FALLBACK_PIECE = regex.compile(r"<0x([0-9A-Fa-f]{2})>")  # sentencepiece byte tokens
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()
VISIBLE_WHITESPACE = str.maketrans({"\n": "↵", "\t": "⇥", "\r": "␍"})


@dataclass(frozen=True)
class Token:
    """One token. ``start``/``end``: the characters [start, end) of the text it touches
    (a byte fragment touches its whole character); equal for a special token added
    outside the text (BOS). ``data``: the UTF-8 bytes it stands for (b"" for those)."""

    index: int
    id: int
    piece: str  # as in the vocabulary: "Ġcat", "æĪ", "▁cat", "<0xE6>"
    text: str  # decoded alone: " cat", or "\ufffd" for a byte fragment
    start: int
    end: int
    special: bool
    data: bytes


@dataclass(frozen=True)
class TokenGroup:
    """Consecutive tokens shown as one unit; ``text`` is text[start:end] (a spanless
    special token's group shows its piece)."""

    text: str
    tokens: tuple[int, ...]  # token indices, ascending and contiguous
    start: int
    end: int


@dataclass(frozen=True)
class Tokenization:
    """A text, its tokens, and its tokens partitioned into characters and into words."""

    text: str
    tokens: tuple[Token, ...]
    characters: tuple[TokenGroup, ...]
    words: tuple[TokenGroup, ...]

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def ids(self) -> list[int]:
        return [token.id for token in self.tokens]

    def groups(self, level: str) -> tuple[TokenGroup, ...]:
        """The partition at ``level`` (one of ``LEVELS``); "token" gives one group per token."""
        if level == "token":
            return tuple(
                TokenGroup(t.text or t.piece, (t.index,), t.start, t.end) for t in self.tokens
            )
        if level == "character":
            return self.characters
        if level == "word":
            return self.words
        raise InputError(f"Unknown level '{level}': use one of {', '.join(LEVELS)}.")

    def labels(self, level: str) -> list[str]:
        """Short readable labels, one per group: whitespace made visible, and byte
        fragments shown as the characters they touch with their bytes in hex."""
        if level != "token":
            return [_visible(group.text) for group in self.groups(level)]
        return [_token_label(token, self.text) for token in self.tokens]

    def to_json(self) -> dict[str, Any]:
        fields = ("id", "piece", "text", "start", "end", "special")
        return {
            "tokens": [{name: getattr(t, name) for name in fields} for t in self.tokens],
            "characters": [{"text": g.text, "tokens": list(g.tokens)} for g in self.characters],
            "words": [{"text": g.text, "tokens": list(g.tokens)} for g in self.words],
        }


def tokenizer_lock(tokenizer: Any) -> threading.RLock:
    """The lock of one tokenizer object. Fast tokenizers are not safe to call from several
    threads at once, and one tokenizer serves every session of a server."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(tokenizer)
        if lock is None:
            lock = _LOCKS[tokenizer] = threading.RLock()
        return lock


def tokenize(tokenizer: Any, text: str, add_special_tokens: bool = False) -> Tokenization:
    """Tokenize ``text`` with a Hugging Face tokenizer and group the tokens (holding the
    tokenizer's lock).

    Raises ``InputError`` for a non-string, empty or over-long (``MAX_TOKENIZE_CHARS``) text.
    """
    _check_text(text)
    with tokenizer_lock(tokenizer):
        return _tokenize(tokenizer, text, add_special_tokens)


def _tokenize(tokenizer: Any, text: str, add_special_tokens: bool) -> Tokenization:
    ids, offsets = _encode(tokenizer, text, add_special_tokens)
    pieces = tokenizer.convert_ids_to_tokens(ids)
    texts = tokenizer.batch_decode(
        [[i] for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
    )
    if offsets is None:  # a slow (pure Python) tokenizer gives no offsets
        offsets = _offsets_by_search(text, texts)
    # all_special_ids misses special tokens declared only in tokenizer.json, so ask the
    # added-token table. A special token the tokenizer added (BOS) covers no text;
    # one typed in the text ("<|im_start|>") does.
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    special = [i in added and bool(added[i].special) for i in ids]
    spanless = [s and start == end for s, (start, end) in zip(special, offsets, strict=True)]

    data = [
        b"" if none else (piece.encode("utf-8") if i in added else _byte_level_bytes(piece))
        for i, piece, none in zip(ids, pieces, spanless, strict=True)
    ]
    byte_level = all(chunk is not None for chunk in data)
    if byte_level and b"".join(data) == text.encode("utf-8"):
        # Exact: byte spans are the truth. offset_mapping can point the wrong way for
        # fragments of a character, so it is not used here.
        spans = _spans_from_bytes(text, data)
    else:
        if byte_level:  # a normalizer changed the text: keep the bytes if they decode right
            plain = [i for i, s in zip(ids, special, strict=True) if not s]
            joined = b"".join(d for d, s in zip(data, special, strict=True) if not s)
            decoded = tokenizer.decode(plain, clean_up_tokenization_spaces=False)
            byte_level = decoded == joined.decode("utf-8", "replace")
        if not byte_level:
            data = [
                b"" if none else _fallback_bytes(piece, decoded_alone)
                for piece, decoded_alone, none in zip(pieces, texts, spanless, strict=True)
            ]
        spans = _spans_from_offsets(offsets, spanless)

    tokens = tuple(
        Token(k, ids[k], pieces[k], texts[k], spans[k][0], spans[k][1], special[k], data[k])
        for k in range(len(ids))
    )
    characters = [m.span() for m in regex.finditer(r"\X", text)]
    return Tokenization(
        text=text,
        tokens=tokens,
        characters=_group(text, tokens, characters),
        words=_group(text, tokens, _merge_spans(characters, split_words(text))),
    )


def tokenize_with(loaded: LoadedModel, text: str, add_special_tokens: bool = False) -> Tokenization:
    """``tokenize`` with a loaded model's tokenizer (its ``text_tokenizer``: fast
    tokenizers are not safe to call from several threads, sessions, at once)."""
    with loaded.text_tokenizer() as tokenizer:
        return tokenize(tokenizer, text, add_special_tokens)


def check_ids_in_vocabulary(ids: Sequence[Any], vocab_size: int, source: str = "text") -> list[int]:
    """``ids`` as ints, or ``InputError``: each must be a whole number in the vocabulary.
    ``source`` names what they came from in the message ("text", "prompt")."""
    if any(isinstance(t, bool) or not isinstance(t, (int, np.integer)) for t in ids):
        raise InputError("Token ids must be whole numbers (as returned by the tokenizer).")
    bad = [int(t) for t in ids if not 0 <= t < vocab_size]
    if bad:
        raise InputError(
            f"Token ids {bad[:5]} are not in this model's vocabulary (0-{vocab_size - 1}). "
            f"Tokenize the {source} with the same model's tokenizer."
        )
    return [int(t) for t in ids]


def prepare_word_splitter() -> None:
    """Load jieba's dictionary now (~0.8 s, holding the GIL), not inside the first
    request that holds Chinese text: on a shared server that request would stall every
    session's script for as long."""
    _jieba().initialize()


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the words of ``text``, in order; whitespace is in none.

    Han runs are cut by jieba ("我爱吃苹果" -> 我 / 爱 / 吃 / 苹果); other scripts split at
    whitespace and punctuation; each punctuation mark and each emoji is a word.
    """
    spans: list[tuple[int, int]] = []
    for match in WORD_PATTERN.finditer(text):
        if match.group("space"):
            continue
        if not match.group("han"):
            spans.append(match.span())
            continue
        start = match.start()
        for word in _jieba().cut(match.group(), HMM=True):
            spans.append((start, start + len(word)))
            start += len(word)
    return [span for span in spans if span[1] > span[0]]


# ---------------------------------------------------------------------------- internals


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise InputError(f"The text to tokenize must be a string, not {type(text).__name__}.")
    if not text:
        raise InputError("The text is empty: type or paste some text to tokenize.")
    if len(text) > MAX_TOKENIZE_CHARS:
        raise InputError(
            f"The text has {len(text):,} characters; the limit is {MAX_TOKENIZE_CHARS:,}. "
            "Shorten it or split it into parts."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(
            f"The text holds a character that is not valid Unicode at position {error.start} "
            "(a lone surrogate); remove it and try again."
        ) from error


def _encode(
    tokenizer: Any, text: str, add_special_tokens: bool
) -> tuple[list[int], list[tuple[int, int]] | None]:
    try:
        encoding = tokenizer(
            text, add_special_tokens=add_special_tokens, return_offsets_mapping=True
        )
    except NotImplementedError:  # slow tokenizers refuse return_offsets_mapping
        return list(tokenizer.encode(text, add_special_tokens=add_special_tokens)), None
    offsets = [(int(s), int(e)) for s, e in encoding["offset_mapping"]]
    return list(encoding["input_ids"]), offsets


@lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte -> printable character table, inverted (as in bytes_to_unicode)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    shifted = [b for b in range(256) if b not in printable]  # space, controls: past 255
    table = {chr(b): b for b in printable}
    table.update({chr(256 + n): b for n, b in enumerate(shifted)})
    return table


def _byte_level_bytes(piece: str) -> bytes | None:
    """The bytes a byte-level BPE piece stands for; None if ``piece`` is not one."""
    table = _byte_of_char()
    if not all(char in table for char in piece):
        return None
    return bytes(table[char] for char in piece)


def _fallback_bytes(piece: str, decoded: str) -> bytes:
    """Bytes of a piece from a non-byte-level tokenizer (sentencepiece, WordPiece)."""
    byte = BYTE_FALLBACK_PIECE.fullmatch(piece)
    if byte:
        return bytes([int(byte.group(1), 16)])
    if "▁" in piece:  # sentencepiece's space marker; decoding alone may strip it
        return piece.replace("▁", " ").encode("utf-8")
    return decoded.encode("utf-8")


def _spans_from_bytes(text: str, data: list[bytes]) -> list[tuple[int, int]]:
    """Character spans of tokens whose bytes concatenate to exactly text's UTF-8."""
    char_at = [i for i, char in enumerate(text) for _ in char.encode("utf-8")]  # byte -> char
    char_at.append(len(text))
    spans, cursor = [], 0
    for chunk in data:
        start = char_at[cursor]
        cursor += len(chunk)
        spans.append((start, char_at[cursor - 1] + 1 if chunk else start))
    return spans


def _spans_from_offsets(
    offsets: list[tuple[int, int]], spanless: list[bool]
) -> list[tuple[int, int]]:
    """The tokenizer's offsets, with text-less tokens pinned where they occur in order."""
    spans, reach = [], 0
    for (start, end), none in zip(offsets, spanless, strict=True):
        if none or end <= start:
            start = end = reach
        spans.append((start, end))
        reach = max(reach, end)
    return spans


def _offsets_by_search(text: str, decoded: list[str]) -> list[tuple[int, int]]:
    """Approximate offsets: find each token's decoded text after the previous one."""
    offsets, cursor = [], 0
    for piece_text in decoded:
        needle = piece_text.strip()
        found = text.find(needle, cursor) if needle and "\ufffd" not in needle else -1
        if found < 0:
            offsets.append((cursor, cursor))
            continue
        offsets.append((found, found + len(needle)))
        cursor = found + len(needle)
    return offsets


def _group(
    text: str, tokens: tuple[Token, ...], units: list[tuple[int, int]]
) -> tuple[TokenGroup, ...]:
    """Partition tokens: a token joins the open group when it touches a unit the group
    touches (a character, a word), so neither a token nor a unit is ever split."""
    unit_of = list(range(len(text)))  # a character outside every unit is its own unit
    for start, end in units:
        unit_of[start:end] = [start] * (end - start)
    groups: list[TokenGroup] = []
    members: list[Token] = []
    reach = -1  # the last unit the open group touches
    for token in tokens:
        if token.end <= token.start:  # no text of its own
            if members and not token.special:
                members.append(token)
                continue
            if members:
                groups.append(_make_group(text, members))
                members = []
            groups.append(
                TokenGroup(token.text or token.piece, (token.index,), token.start, token.end)
            )
            continue
        first, last = unit_of[token.start], unit_of[token.end - 1]
        if members and first <= reach:
            members.append(token)
            reach = max(reach, last)
        else:
            if members:
                groups.append(_make_group(text, members))
            members, reach = [token], last
    if members:
        groups.append(_make_group(text, members))
    return tuple(groups)


def _merge_spans(*layers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The finest spans that split none of the given ones (overlapping spans are joined),
    so a word group never cuts a character such as "\\r\\n" or an emoji sequence."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(span for layer in layers for span in layer):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _make_group(text: str, members: list[Token]) -> TokenGroup:
    start = min(token.start for token in members)
    end = max(token.end for token in members)
    return TokenGroup(text[start:end], tuple(t.index for t in members), start, end)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # otherwise it prints "Building prefix dict..." to stderr
    return jieba


def _visible(label: str) -> str:
    if not label.strip():
        label = label.replace(" ", "␣")
    return label.translate(VISIBLE_WHITESPACE)


def _token_label(token: Token, text: str) -> str:
    if "\ufffd" in token.text and token.data and token.end > token.start:
        return f"{_visible(text[token.start : token.end])}[{token.data.hex(' ').upper()}]"
    return _visible(token.text or token.piece)
