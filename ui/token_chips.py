"""Coloured token chips as HTML, and the per-token table, from a ``Tokenization``.

Pure Python (no streamlit), so a notebook can show the same chips with IPython's HTML.
Every piece of text that came from a user or a vocabulary goes through ``html.escape``:
token text can be "<script>" and must show as text, never run.

A chip is one group of the chosen level (a token, a character, a word): its text on
top, and beneath it one small box per token (the token id, plus the bytes in hex for a
byte fragment), so a character that took three byte tokens shows once with three boxes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, NamedTuple

import regex

from llm_core.text.tokens import Token, Tokenization, split_words

# A browser stays responsive with a few thousand chips; the table still lists every token.
MAX_CHIPS = 2_000
# Pastel backgrounds with dark text: readable in light and dark themes alike.
PALETTE = (
    "#FDE2A7",
    "#C6DBEF",
    "#C7E9C0",
    "#F9C9D6",
    "#DADAEB",
    "#FDD0A2",
    "#B8E3E0",
    "#E5D8BD",
)
WHITESPACE_MARKS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
_WHITESPACE = regex.compile("[ \n\t\r]")

CHIP_CSS = """
.tkc{display:flex;flex-wrap:wrap;gap:6px 4px;align-items:flex-start;line-height:1.25;
  font-size:1.2rem;padding:2px 0}
.tkc-chip{display:inline-flex;flex-direction:column;align-items:center;gap:2px;
  border:1px solid #b8b8b8;border-radius:6px;padding:2px 3px;background:#fff;color:#111}
.tkc-text{white-space:pre;padding:0 2px;min-height:1.2em}
.tkc-partial{color:#888}
.tkc-ws{color:#999}
.tkc-toks{display:flex;gap:2px}
.tkc-tok{display:flex;flex-direction:column;align-items:center;border-radius:4px;
  padding:0 4px;color:#222;font:0.68rem/1.25 ui-monospace,SFMono-Regular,Menlo,monospace}
.tkc-tok small{font-size:0.62rem;color:#555}
.tkc-frag{outline:1px dashed #666;outline-offset:-1px}
.tkc-special{border:2px solid #d62728}
.tkc-br{flex-basis:100%;height:0}
"""


class Chips(NamedTuple):
    html: str
    shown: int  # chips in ``html``
    total: int  # chips at this level; ``total - shown`` were left out


def is_fragment(token: Token) -> bool:
    """A token that decodes alone to the replacement character: part of a character's bytes."""
    return not token.special and bool(token.data) and "\ufffd" in token.text


def visible(text: str) -> str:
    """Whitespace made visible (␣ ↵ ⇥), for plain-text places such as the table."""
    return _WHITESPACE.sub(lambda m: WHITESPACE_MARKS[m.group()], text)


def chips_html(
    tokenization: Tokenization,
    level: str,
    max_chips: int = MAX_CHIPS,
    tips: Mapping[str, str] | None = None,
) -> Chips:
    """HTML of the first ``max_chips`` chips at ``level``, with how many there are in all.

    ``tips`` translates the words used in hover titles: "special", "fragment".
    """
    tips = {"special": "special token", "fragment": "byte fragment", **(tips or {})}
    groups = tokenization.groups(level)  # raises InputError for an unknown level
    parts = [f"<style>{CHIP_CSS}</style>", '<div class="tkc">']
    for group in groups[:max_chips]:
        members = [tokenization.tokens[i] for i in group.tokens]
        special = len(members) == 1 and members[0].special
        partial = level == "token" and is_fragment(members[0])
        if partial:  # a fragment shows the character it is part of, greyed
            label = tokenization.text[group.start : group.end]
        else:
            label = group.text or "".join(m.piece for m in members)
        text_class = "tkc-text tkc-partial" if partial else "tkc-text"
        boxes = "".join(_token_box(token, tips) for token in members)
        parts.append(
            f'<span class="tkc-chip{" tkc-special" if special else ""}">'
            f'<span class="{text_class}">{_visible_html(label)}</span>'
            f'<span class="tkc-toks">{boxes}</span></span>'
        )
        if "\n" in label:  # keep the text's line breaks
            parts.append('<span class="tkc-br"></span>')
    parts.append("</div>")
    return Chips("".join(parts), min(len(groups), max_chips), len(groups))


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


def count_characters(text: str) -> int:
    """Characters as a reader counts them (grapheme clusters: "👍🏽" is one)."""
    return len(regex.findall(r"\X", text))


def count_words(text: str) -> int:
    """Words as ``llm_core.text.tokens.split_words`` cuts them (jieba for Chinese)."""
    return len(split_words(text))


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


# ---------------------------------------------------------------------------- internals


def _span_text(tokenization: Tokenization, members: list[Token]) -> str:
    return tokenization.text[min(m.start for m in members) : max(m.end for m in members)]


def _visible_html(text: str) -> str:
    # Escaping first is safe: html.escape never produces a space or a newline.
    return _WHITESPACE.sub(
        lambda m: f'<span class="tkc-ws">{WHITESPACE_MARKS[m.group()]}</span>', html.escape(text)
    )


def _token_box(token: Token, tips: Mapping[str, str]) -> str:
    fragment = is_fragment(token)
    title = [f"#{token.index}", f"id {token.id}", repr(token.piece)]
    if token.data:
        title.append(token.data.hex(" ").upper())
    if fragment:
        title.append(tips["fragment"])
    if token.special:
        title.append(tips["special"])
    hex_line = f"<small>{token.data.hex(' ').upper()}</small>" if fragment else ""
    colour = PALETTE[token.index % len(PALETTE)]
    return (
        f'<span class="tkc-tok{" tkc-frag" if fragment else ""}" style="background:{colour}" '
        f'title="{html.escape(" · ".join(title), quote=True)}">{token.id}{hex_line}</span>'
    )
