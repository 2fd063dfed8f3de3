"""Generated tokens as coloured chips (colour = probability), as HTML.

Pure Python (no streamlit), like ``ui.token_chips``: a notebook can show the same chips.
Every piece of token text goes through ``html.escape``.

Byte-level tokenizers split a Chinese character into byte fragments, and a fragment
decoded alone is "\ufffd". ``PieceDecoder`` decodes incrementally instead: each token gets
the text it *completes*; a fragment that completes nothing gets "" and its chip shows,
greyed, the character it is part of.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_core.generation.sampling import TokenProb

# The engine's own reading of a vocabulary piece as bytes (byte-level BPE, byte fallback).
from llm_core.text.tokens import _byte_level_bytes, _fallback_bytes
from ui.token_chips import WHITESPACE_MARKS

# Pastel stops from unlikely (red) through even (yellow) to certain (green), dark text on
# all of them so the chips read in light and dark themes alike.
COLOUR_STOPS = ((0.0, (248, 180, 180)), (0.5, (253, 230, 138)), (1.0, (167, 227, 161)))
LEGEND_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
MAX_GENERATED_CHIPS = 2_000  # a page stays responsive; the engine caps new tokens lower anyway

CHIP_CSS = """
.gnc{display:flex;flex-wrap:wrap;gap:3px 2px;align-items:baseline;line-height:1.6;
  font-size:1.15rem;padding:2px 0}
.gnc-chip{white-space:pre;border-radius:4px;padding:0 2px;color:#111;
  border:1px solid transparent}
.gnc-prompt{color:#555;background:#f0f0f0}
.gnc-frag{color:#777;border:1px dashed #888}
.gnc-picked{border:2px dotted #6a3d9a}
.gnc-selected{border:2px solid #111;font-weight:600}
.gnc-special{border:1px solid #d62728;font-size:0.85rem}
.gnc-ws{color:#999}
.gnc-br{flex-basis:100%;height:0}
.gnc-legend{display:flex;gap:4px;align-items:center;font-size:0.8rem;color:#555}
.gnc-legend span.sw{padding:0 6px;border-radius:3px;color:#111}
"""


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


def readable_candidates(tokenizer: Any, candidates: Sequence[TokenProb]) -> tuple[TokenProb, ...]:
    """The candidates with byte fragments labelled by their bytes (``readable_token``)."""
    return tuple(
        dataclasses.replace(c, token=readable_token(tokenizer, c.token_id, c.token))
        for c in candidates
    )


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


def probability_colour(prob: float) -> str:
    """Background colour of a chip for probability ``prob`` (clamped to [0, 1])."""
    p = min(max(float(prob), 0.0), 1.0)
    for (low, a), (high, b) in zip(COLOUR_STOPS, COLOUR_STOPS[1:], strict=False):
        if p <= high:
            f = (p - low) / (high - low)
            return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{x:02x}" for x in COLOUR_STOPS[-1][1])


@dataclass(frozen=True)
class Chip:
    """One token to draw: its text, the probability that colours it, its hover title."""

    text: str
    prob: float | None  # None: not coloured (prompt text)
    title: str = ""
    fragment: bool = False
    special: bool = False
    picked: bool = False  # chosen by the user in step-through mode
    selected: bool = False


def make_chips(
    pieces: Sequence[str],
    probs: Sequence[float | None] | None = None,
    titles: Sequence[str] | None = None,
    picked: Sequence[bool] | None = None,
) -> list[Chip]:
    """One chip per token from its piece (see ``PieceDecoder``): byte fragments flagged
    and labelled by their character; ``probs`` None leaves them uncoloured."""
    labels = fragment_labels(pieces)
    return [
        Chip(
            labels[i],
            None if probs is None else probs[i],
            titles[i] if titles is not None else "",
            fragment=not pieces[i],
            picked=bool(picked is not None and picked[i]),
        )
        for i in range(len(pieces))
    ]


def surprisal_chips(
    pieces: Sequence[str],
    nll: Sequence[float],
    first_tip: str,
    tip: str,
    start_token: bool = False,
) -> list[Chip]:
    """Chips of a scored text: token i >= 1 coloured by p = exp(-nll[i - 1]); the first
    has no prediction (uncoloured; marked special when it is a start token). ``tip`` is
    a template with {nll} and {prob}."""
    probs = [None, *(math.exp(-float(x)) for x in nll)]
    tips = [
        first_tip,
        *(tip.format(nll=f"{x:.2f}", prob=f"{p:.1%}") for x, p in zip(nll, probs[1:], strict=True)),
    ]
    chips = make_chips(pieces, probs, tips)
    chips[0] = dataclasses.replace(chips[0], special=start_token)
    return chips


def _text_html(text: str) -> str:
    parts = []
    for char in text:
        if char in ("\n", "\t", "\r"):
            parts.append(f'<span class="gnc-ws">{WHITESPACE_MARKS[char]}</span>')
        else:
            parts.append(html.escape(char))
    return "".join(parts)


def chips_html(chips: Sequence[Chip], max_chips: int = MAX_GENERATED_CHIPS) -> str:
    """HTML of the chips in order; a newline in a chip's text also breaks the line."""
    parts = [f"<style>{CHIP_CSS}</style>", '<div class="gnc">']
    for chip in chips[:max_chips]:
        classes = ["gnc-chip"]
        classes += [name for flag, name in _FLAGS if getattr(chip, flag)]
        if chip.prob is None:
            classes.append("gnc-prompt")
        style = (
            f' style="background:{probability_colour(chip.prob)}"' if chip.prob is not None else ""
        )
        title = f' title="{html.escape(chip.title, quote=True)}"' if chip.title else ""
        parts.append(
            f'<span class="{" ".join(classes)}"{style}{title}>{_text_html(chip.text)}</span>'
        )
        if "\n" in chip.text:
            parts.append('<span class="gnc-br"></span>')
    parts.append("</div>")
    return "".join(parts)


_FLAGS = (
    ("fragment", "gnc-frag"),
    ("special", "gnc-special"),
    ("picked", "gnc-picked"),
    ("selected", "gnc-selected"),
)


def legend_html(label: str) -> str:
    """A small colour key: ``label`` then swatches for 0%, 25%, ... 100%."""
    swatches = "".join(
        f'<span class="sw" style="background:{probability_colour(p)}">{p:.0%}</span>'
        for p in LEGEND_STEPS
    )
    return f'<style>{CHIP_CSS}</style><div class="gnc-legend">{html.escape(label)} {swatches}</div>'


def weight_chips_html(labels: Sequence[str], weights: Sequence[float]) -> str:
    """The context as text, each token shaded blue by an attention weight (scaled so the
    largest weight is the darkest); the hover title gives the exact weight."""
    top = max(max(weights, default=0.0), 1e-9)
    parts = [f"<style>{CHIP_CSS}</style>", '<div class="gnc">']
    for index, (label, weight) in enumerate(zip(labels, weights, strict=True)):
        alpha = float(weight) / top
        style = f"background:rgba(49,130,189,{alpha:.3f});color:{'#fff' if alpha > 0.6 else '#111'}"
        title = html.escape(f"#{index} · {float(weight):.3f}", quote=True)
        parts.append(
            f'<span class="gnc-chip gnc-weight" style="{style}" title="{title}">'
            f"{_text_html(label)}</span>"
        )
        if "\n" in label:
            parts.append('<span class="gnc-br"></span>')
    parts.append("</div>")
    return "".join(parts)
