"""Progress lines on stderr, so JSON on stdout stays clean."""

from __future__ import annotations

import sys
from collections.abc import Callable


def print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def progress_printer() -> Callable[[float, str], None]:
    """A ``(fraction, message)`` callback that prints one line per stage, not per chunk."""
    last: list[str] = [""]

    def report(fraction: float, message: str) -> None:
        if message != last[0] or fraction >= 1.0:
            last[0] = message
            print_progress(fraction, message)

    return report
