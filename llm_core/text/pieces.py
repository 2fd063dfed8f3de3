"""The text each token of a sequence adds, as a person reads it.

Byte-level tokenizers split a Chinese character into byte fragments, and a fragment
decoded alone is "\ufffd". ``PieceDecoder`` decodes incrementally instead: each token gets
the text it *completes*; a fragment that completes nothing gets "" and is labelled by
``fragment_labels`` with the character it is part of. ``readable_token`` names a lone
fragment by its bytes ("\ufffd[E4 BD]") where a token is shown out of context (a list of
candidates, a logit-lens cell).

The functions taking a ``LoadedModel`` hold its lock: fast tokenizers are not safe to call
from several threads at once, and pages call them from their sessions' threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_core.models.loading import LoadedModel

# The engine's own reading of a vocabulary piece as bytes (byte-level BPE, byte fallback).
from llm_core.text.tokens import _byte_level_bytes, _fallback_bytes


class PieceDecoder:
    """Decodes ids one at a time into the text each completes.

    It decodes a short window, from the last token that ended on a character boundary to
    the newest one, and emits what the window's text gained: completed characters at
    once, while trailing replacement characters (the bytes of a character still
    incomplete) wait for the tokens that complete them. The window's first token is
    decoded along, so its text (even bytes that are junk alone) is subtracted the same way
    each time, and it keeps the leading space a lone-token decode drops (SentencePiece).
    n tokens cost O(n) short decodes. ``prefix_ids`` (e.g. the prompt) seed the window.
    """

    def __init__(self, tokenizer: Any, prefix_ids: Sequence[int] = ()) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.emitted = 0  # characters of the window's decoded text already emitted
        if prefix_ids:
            self._restart(int(prefix_ids[-1]))

    def _restart(self, token_id: int) -> None:
        self.ids = [token_id]
        self.emitted = len(self.tokenizer.decode(self.ids))

    def push(self, token_id: int) -> str:
        """The text ``token_id`` completes ("" while a character is still partial)."""
        self.ids.append(int(token_id))
        text = self.tokenizer.decode(self.ids)
        stable = text.rstrip("\ufffd")
        piece = stable[self.emitted :]
        self.emitted = max(self.emitted, len(stable))
        if stable == text:  # a character boundary: the window restarts at this token
            self._restart(int(token_id))
        return piece


def token_pieces(tokenizer: Any, ids: Sequence[int], prefix_ids: Sequence[int] = ()) -> list[str]:
    """The text each of ``ids`` completes ("" for a byte fragment completing nothing)."""
    decoder = PieceDecoder(tokenizer, prefix_ids)
    return [decoder.push(token_id) for token_id in ids]


def fragment_labels(pieces: Sequence[str]) -> list[str]:
    """Display text per token: its piece, or for a fragment the character it ends up in."""
    labels, pending = list(pieces), []
    for index, piece in enumerate(pieces):
        if piece:
            for waiting in pending:
                labels[waiting] = piece[:1]
            pending = []
        else:
            pending.append(index)
    for waiting in pending:  # still partial at the end (generation stopped mid-character)
        labels[waiting] = "\ufffd"
    return labels


def readable_token(tokenizer: Any, token_id: int, text: str) -> str:
    """``text`` (a token decoded alone), or for a byte fragment, which decodes to
    "\ufffd", the bytes it stands for: "\ufffd[E4 BD]"."""
    if "\ufffd" not in text:
        return text
    piece = tokenizer.convert_ids_to_tokens(int(token_id))
    data = _byte_level_bytes(piece)
    if data is None:
        data = _fallback_bytes(piece, text)
    return f"\ufffd[{data.hex(' ').upper()}]"


class VocabularyText:
    """``decode([id])`` of a tokenizer, remembered per id: a decoding loop decodes the
    same few thousand ids (each step's candidates) again and again. Anything else is
    passed to the tokenizer. Not locked: its owner holds the model's lock."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._texts: dict[int, str] = {}

    def decode(self, ids: Sequence[int], **options: Any) -> str:
        if len(ids) != 1 or options:
            return self.tokenizer.decode(list(ids), **options)
        token_id = int(ids[0])
        text = self._texts.get(token_id)
        if text is None:
            text = self._texts[token_id] = self.tokenizer.decode([token_id])
        return text

    def convert_ids_to_tokens(self, token_id: int) -> str:
        return self.tokenizer.convert_ids_to_tokens(token_id)


# ---------------------------------------------------------------------------- for pages


def labelled_pieces(
    loaded: LoadedModel, ids: Sequence[int], prefix_ids: Sequence[int] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(pieces, labels) of ``ids`` after ``prefix_ids``: what each token completes ("" for
    a fragment) and what its chip shows (``fragment_labels``)."""
    with loaded.text_tokenizer() as tokenizer:
        pieces = token_pieces(tokenizer, ids, prefix_ids)
    return tuple(pieces), tuple(fragment_labels(pieces))


def readable_tokens(loaded: LoadedModel, ids: Sequence[int]) -> tuple[str, ...]:
    """Each id decoded alone, byte fragments named by their bytes (``readable_token``)."""
    with loaded.text_tokenizer() as tokenizer:
        return tuple(readable_token(tokenizer, i, tokenizer.decode([int(i)])) for i in ids)


def decoded_text(loaded: LoadedModel, ids: Sequence[int], skip_special: bool = True) -> str:
    """``ids`` decoded as one text (special tokens left out unless ``skip_special`` is off)."""
    with loaded.text_tokenizer() as tokenizer:
        return tokenizer.decode(list(ids), skip_special_tokens=skip_special)
