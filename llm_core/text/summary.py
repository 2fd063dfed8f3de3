"""What a tokenization holds, in figures a person reads: characters and words counted as
a reader counts them, a table of every token, and the first character that byte-level
BPE split into fragments (to explain them)."""

from __future__ import annotations

from typing import Any

import regex

from llm_core.text.tokens import Token, Tokenization, split_words

WHITESPACE_MARKS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
_WHITESPACE = regex.compile("[ \n\t\r]")


def visible(text: str) -> str:
    """Whitespace made visible (␣ ↵ ⇥ ␍), for plain-text places such as a table."""
    return _WHITESPACE.sub(lambda m: WHITESPACE_MARKS[m.group()], text)


def is_fragment(token: Token) -> bool:
    """A token that decodes alone to the replacement character: part of a character's bytes."""
    return not token.special and bool(token.data) and "\ufffd" in token.text


def count_characters(text: str) -> int:
    """Characters as a reader counts them (grapheme clusters: "👍🏽" is one)."""
    return len(regex.findall(r"\X", text))


def count_words(text: str) -> int:
    """Words as ``llm_core.text.tokens.split_words`` cuts them (jieba for Chinese)."""
    return len(split_words(text))


def token_table(tokenization: Tokenization) -> dict[str, list[Any]]:
    """One row per token: index, id, piece, text, bytes (hex), characters, special."""
    tokens, text = tokenization.tokens, tokenization.text
    return {
        "index": [t.index for t in tokens],
        "id": [t.id for t in tokens],
        "piece": [t.piece for t in tokens],
        "text": [visible(t.text) for t in tokens],
        "bytes": [t.data.hex(" ").upper() for t in tokens],
        "characters": [visible(text[t.start : t.end]) for t in tokens],
        "special": [t.special for t in tokens],
    }


def fragment_example(tokenization: Tokenization) -> dict[str, Any] | None:
    """Figures for explaining byte fragments, from the first character they split;
    None when no token is a byte fragment."""
    tokens = tokenization.tokens
    n_fragments = sum(is_fragment(token) for token in tokens)
    if not n_fragments:
        return None
    candidates = [
        [tokens[i] for i in group.tokens]
        for group in tokenization.characters
        if len(group.tokens) > 1 and any(is_fragment(tokens[i]) for i in group.tokens)
    ]
    if not candidates:
        return None
    # Prefer one character on its own ("爱") over a group a token stretched over two.
    members = min(candidates, key=lambda m: count_characters(_span_text(tokenization, m)))
    data = b"".join(token.data for token in members)
    return {
        "n_fragments": n_fragments,
        "n_tokens": len(tokens),
        "char": _span_text(tokenization, members),
        "n_bytes": len(data),
        "hex": data.hex(" ").upper(),
        "n_parts": len(members),
    }


def _span_text(tokenization: Tokenization, members: list[Token]) -> str:
    return tokenization.text[min(m.start for m in members) : max(m.end for m in members)]
