"""Token chips, the one renderer: tokens of the Tokenizer page, generated tokens coloured
by probability, surprisal, attention weights over a context, and signed scores
(attribution: positive and negative in two hues).

Pure Python (no streamlit), so a notebook shows the same chips with IPython's HTML:

    from IPython.display import HTML
    HTML(chips_html(score_chips(["我", "爱", "吃", "苹果"], [0.8, -0.3, 0.1, 0.0])))

A ``Chip`` is one unit of text with an optional background colour and hover title, and
optional ``boxes`` beneath it (the Tokenizer page: one box per token, with its id and, for
a byte fragment, its bytes). ``chips_html`` draws any list of chips; the ``*_chips``
functions build them for each use. Everything that came from a user or a vocabulary goes
through ``html.escape``: token text can be "<script>" and must show as text, never run.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from llm_core.text.pieces import fragment_labels
from llm_core.text.summary import WHITESPACE_MARKS, is_fragment
from llm_core.text.tokens import Token, Tokenization

MAX_CHIPS = 2_000  # a browser stays responsive with a few thousand chips
# Pastel token backgrounds with dark text: readable in light and dark themes alike.
PALETTE = ("#FDE2A7", "#C6DBEF", "#C7E9C0", "#F9C9D6", "#DADAEB", "#FDD0A2", "#B8E3E0", "#E5D8BD")
# Probability: pastel stops from unlikely (red) through even (yellow) to certain (green).
PROBABILITY_STOPS = ((0.0, (248, 180, 180)), (0.5, (253, 230, 138)), (1.0, (167, 227, 161)))
LEGEND_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
WEIGHT_RGB = (49, 130, 189)  # attention weight: one blue, its opacity the weight
POSITIVE_RGB, NEGATIVE_RGB = (214, 39, 40), (33, 102, 172)  # signed scores: red / blue
DARK_TEXT_ALPHA = 0.6  # above this opacity, white text reads better than dark

CHIP_CSS = """
.tc{display:flex;flex-wrap:wrap;gap:3px 2px;align-items:baseline;line-height:1.6;
  font-size:1.15rem;padding:2px 0}
.tc.tc-boxed{gap:6px 4px;align-items:flex-start;line-height:1.25;font-size:1.2rem}
.tc-chip{white-space:pre;border-radius:4px;padding:0 2px;color:#111;
  border:1px solid transparent;text-decoration:none}
.tc-boxed .tc-chip{display:inline-flex;flex-direction:column;align-items:center;gap:2px;
  border:1px solid #b8b8b8;border-radius:6px;padding:2px 3px;background:#fff}
.tc-text{white-space:pre;padding:0 2px;min-height:1.2em}
.tc-prompt{color:#555;background:#f0f0f0}
.tc-frag{color:#777;border:1px dashed #888}
.tc-partial{color:#888}
.tc-picked{border:2px dotted #6a3d9a}
.tc-selected{border:2px solid #111;font-weight:600}
.tc-special{border:1px solid #d62728;font-size:0.85rem}
.tc-boxed .tc-special{border:2px solid #d62728}
.tc-dark{color:#fff}
.tc-ws{color:#999}
.tc-br{flex-basis:100%;height:0}
.tc-boxes{display:flex;gap:2px}
.tc-box{display:flex;flex-direction:column;align-items:center;border-radius:4px;
  padding:0 4px;color:#222;font:0.68rem/1.25 ui-monospace,SFMono-Regular,Menlo,monospace}
.tc-box small{font-size:0.62rem;color:#555}
.tc-box.tc-frag{outline:1px dashed #666;outline-offset:-1px;border:none}
.tc-legend{display:flex;gap:4px;align-items:center;font-size:0.8rem;color:#555}
.tc-legend span.sw{padding:0 6px;border-radius:3px;color:#111}
"""


@dataclass(frozen=True)
class Box:
    """A small box beneath a chip's text: one token (its id; a fragment's bytes)."""

    text: str
    colour: str
    title: str = ""
    small: str = ""  # a second line in small print
    fragment: bool = False


@dataclass(frozen=True)
class Chip:
    """One unit of text to draw. ``colour``: a CSS background, or None (plain); ``href``:
    makes the chip a link (e.g. to explain that token on another page)."""

    text: str
    colour: str | None = None
    title: str = ""
    prompt: bool = False  # context the model was given, not something it chose
    fragment: bool = False  # a byte fragment, shown as the character it is part of
    partial: bool = False  # the same, on the Tokenizer page (greyed text)
    special: bool = False
    picked: bool = False  # chosen by the user in step-through mode
    selected: bool = False
    weight: bool = False  # shaded by an attention weight
    dark: bool = False  # a dark background: white text
    boxes: tuple[Box, ...] = ()
    href: str = ""


_FLAGS = ("prompt", "fragment", "partial", "special", "picked", "selected", "weight", "dark")


def chips_html(chips: Sequence[Chip], max_chips: int = MAX_CHIPS) -> str:
    """HTML of the first ``max_chips`` chips in order; a newline in a chip's text also
    breaks the line."""
    boxed = any(chip.boxes for chip in chips)
    parts = [f"<style>{CHIP_CSS}</style>", f'<div class="tc{" tc-boxed" if boxed else ""}">']
    for chip in chips[:max_chips]:
        classes = " ".join(["tc-chip", *(f"tc-{flag}" for flag in _FLAGS if getattr(chip, flag))])
        style = f' style="background:{chip.colour}"' if chip.colour else ""
        title = f' title="{_attribute(chip.title)}"' if chip.title else ""
        text = _text_html(chip.text, spaces=bool(chip.boxes))
        if chip.boxes:
            text_class = "tc-text tc-partial" if chip.partial else "tc-text"
            boxes = "".join(_box_html(box) for box in chip.boxes)
            text = f'<span class="{text_class}">{text}</span><span class="tc-boxes">{boxes}</span>'
        if chip.href:
            link = f' href="{_attribute(chip.href)}" target="_self"'
            parts.append(f'<a class="{classes}"{style}{title}{link}>{text}</a>')
        else:
            parts.append(f'<span class="{classes}"{style}{title}>{text}</span>')
        if "\n" in chip.text:
            parts.append('<span class="tc-br"></span>')
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------------------- colours


def probability_colour(prob: float) -> str:
    """Background for probability ``prob`` (clamped to [0, 1]): red -> yellow -> green."""
    p = min(max(float(prob), 0.0), 1.0)
    for (low, a), (high, b) in zip(PROBABILITY_STOPS, PROBABILITY_STOPS[1:], strict=False):
        if p <= high:
            f = (p - low) / (high - low)
            return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{x:02x}" for x in PROBABILITY_STOPS[-1][1])


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{min(max(alpha, 0.0), 1.0):.3f})"


def signed_colour(score: float, scale: float) -> str:
    """Red for a positive score, blue for a negative one, opacity ``|score| / scale``."""
    alpha = abs(float(score)) / scale if scale > 0 else 0.0
    return _rgba(POSITIVE_RGB if score >= 0 else NEGATIVE_RGB, alpha)


# ---------------------------------------------------------------------------- builders


def probability_chips(
    pieces: Sequence[str],
    probs: Sequence[float | None] | None = None,
    titles: Sequence[str] | None = None,
    picked: Sequence[bool] | None = None,
    selected: int | None = None,
    hrefs: Sequence[str] | None = None,
) -> list[Chip]:
    """One chip per token from its piece (the text it completes; "" for a byte fragment,
    then labelled by its character): coloured by ``probs`` (None: a grey prompt chip)."""
    labels = fragment_labels(pieces)
    chips = []
    for i, piece in enumerate(pieces):
        prob = None if probs is None else probs[i]
        chips.append(
            Chip(
                labels[i],
                None if prob is None else probability_colour(prob),
                titles[i] if titles is not None else "",
                prompt=prob is None,
                fragment=not piece,
                picked=bool(picked is not None and picked[i]),
                selected=i == selected,
                href=hrefs[i] if hrefs is not None else "",
            )
        )
    return chips


def surprisal_chips(
    pieces: Sequence[str],
    nll: Sequence[float],
    first_tip: str,
    tip: str,
    start_token: bool = False,
) -> list[Chip]:
    """Chips of a scored text: token i >= 1 coloured by p = exp(-nll[i - 1]); the first
    has no prediction (grey; marked special when it is a start token). ``tip`` is a
    template with {nll} and {prob}."""
    probs = [None, *(math.exp(-float(x)) for x in nll)]
    tips = [
        first_tip,
        *(tip.format(nll=f"{x:.2f}", prob=f"{p:.1%}") for x, p in zip(nll, probs[1:], strict=True)),
    ]
    chips = probability_chips(pieces, probs, tips)
    chips[0] = dataclasses.replace(chips[0], special=start_token)
    return chips


def weight_chips(labels: Sequence[str], weights: Sequence[float]) -> list[Chip]:
    """The context as text, each token shaded blue by an attention weight (the largest
    weight darkest); the hover title gives the exact weight."""
    top = max(max(weights, default=0.0), 1e-9)
    return [
        Chip(
            label,
            _rgba(WEIGHT_RGB, float(weight) / top),
            f"#{index} · {float(weight):.3f}",
            weight=True,
            dark=float(weight) / top > DARK_TEXT_ALPHA,
        )
        for index, (label, weight) in enumerate(zip(labels, weights, strict=True))
    ]


def score_chips(
    labels: Sequence[str],
    scores: Sequence[float],
    titles: Sequence[str] | None = None,
    scale: float | None = None,
) -> list[Chip]:
    """Words or tokens coloured by a signed score (e.g. an attribution): red for positive,
    blue for negative, opacity ``|score| / scale`` (``scale``: the largest ``|score|`` by
    default, so one figure's chips share a scale). Titles default to the score."""
    values = [float(x) for x in scores]
    if len(values) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(values)} scores")
    scale = scale if scale is not None else max((abs(x) for x in values), default=0.0)
    return [
        Chip(
            label,
            signed_colour(value, scale),
            titles[i] if titles is not None else f"{value:+.3f}",
            dark=scale > 0 and abs(value) / scale > DARK_TEXT_ALPHA,
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    ]


def legend_html(label: str, kind: str = "probability", scale: float = 1.0) -> str:
    """A small colour key: ``label``, then swatches for 0%, 25% ... 100% ("probability")
    or for -scale ... +scale ("signed")."""
    if kind == "signed":
        swatches = "".join(
            f'<span class="sw" style="background:{signed_colour(x * scale, scale)}">'
            f"{x * scale:+.2g}</span>"
            for x in (-1.0, -0.5, 0.0, 0.5, 1.0)
        )
    else:
        swatches = "".join(
            f'<span class="sw" style="background:{probability_colour(p)}">{p:.0%}</span>'
            for p in LEGEND_STEPS
        )
    return f'<style>{CHIP_CSS}</style><div class="tc-legend">{html.escape(label)} {swatches}</div>'


# ---------------------------------------------------------------------------- tokenizer page


class TokenizationChips(NamedTuple):
    html: str
    shown: int  # chips in ``html``
    total: int  # chips at this level; ``total - shown`` were left out


def tokenization_html(
    tokenization: Tokenization,
    level: str,
    max_chips: int = MAX_CHIPS,
    tips: Mapping[str, str] | None = None,
) -> TokenizationChips:
    """The chips of ``tokenization`` at ``level`` (token, character, word): each group's
    text with one box per token beneath it, so a character that took three byte tokens
    shows once with three boxes. ``tips`` translates "special" and "fragment"."""
    tips = {"special": "special token", "fragment": "byte fragment", **(tips or {})}
    groups = tokenization.groups(level)  # raises InputError for an unknown level
    chips = []
    for group in groups[:max_chips]:
        members = [tokenization.tokens[i] for i in group.tokens]
        partial = level == "token" and is_fragment(members[0])
        if partial:  # a fragment shows the character it is part of, greyed
            label = tokenization.text[group.start : group.end]
        else:
            label = group.text or "".join(m.piece for m in members)
        chips.append(
            Chip(
                label,
                partial=partial,
                special=len(members) == 1 and members[0].special,
                boxes=tuple(_token_box(token, tips) for token in members),
            )
        )
    return TokenizationChips(chips_html(chips, max_chips), len(chips), len(groups))


def _token_box(token: Token, tips: Mapping[str, str]) -> Box:
    fragment = is_fragment(token)
    title = [f"#{token.index}", f"id {token.id}", repr(token.piece)]
    if token.data:
        title.append(token.data.hex(" ").upper())
    if fragment:
        title.append(tips["fragment"])
    if token.special:
        title.append(tips["special"])
    return Box(
        str(token.id),
        PALETTE[token.index % len(PALETTE)],
        " · ".join(title),
        small=token.data.hex(" ").upper() if fragment else "",
        fragment=fragment,
    )


# ---------------------------------------------------------------------------- internals


def _attribute(text: str) -> str:
    return html.escape(text, quote=True)


def _text_html(text: str, spaces: bool) -> str:
    """Escaped text with line breaks and tabs (and with ``spaces``, spaces) made visible."""
    return "".join(
        f'<span class="tc-ws">{WHITESPACE_MARKS[char]}</span>'
        if char in WHITESPACE_MARKS and (spaces or char != " ")
        else html.escape(char)
        for char in text
    )


def _box_html(box: Box) -> str:
    small = f"<small>{html.escape(box.small)}</small>" if box.small else ""
    classes = "tc-box tc-frag" if box.fragment else "tc-box"
    return (
        f'<span class="{classes}" style="background:{box.colour}" '
        f'title="{_attribute(box.title)}">{html.escape(box.text)}{small}</span>'
    )
