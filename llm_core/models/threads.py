"""How many CPU threads a forward pass gets: one for a small pass, all for a big one.

A pass over a few token rows (a decode step of a few sequences, a short text's trace)
mostly reads the weights, and a second thread barely speeds it up while doubling the CPU
it burns: on this project's 2-core machine (SmolLM2, median of interleaved runs), a
decode step of 1 / 4 / 8 / 16 rows took 91 / 103 / 136 / 160 ms on one thread against
86 / 86 / 98 / 117 ms on two, for 91 / 103 / 136 / 160 against 170 / 173 / 195 / 233 ms
of CPU; a 32-token trace 165 ms against 123 (243 ms of CPU), a 256-token one 786 against
455. On a server shared by a class the CPU is what runs out, and the model's worker is
one thread: a small pass on one thread leaves the other core to the sessions' pages.
Passes over more than ``ONE_THREAD_UP_TO`` token rows keep every thread, but for the
decode batch's steps in a server of many sessions, which take one thread however many
rows they have (``one_thread``): there even a 30-row step gains only ~1.4x from the
second core (SmolLM2 alone: 142 ms on one thread, 84 ms and 168 ms of CPU on two).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

ONE_THREAD_UP_TO = 16  # token rows (sequences x new tokens) of a pass run on one thread


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the enclosed work on one intra-op thread (the calling thread's setting comes
    back after), however many token rows it has: a server's decode steps
    (``llm_core.serving.worker.steps_on_one_thread``)."""
    with threads_for(0):
        yield


@contextlib.contextmanager
def threads_for(token_rows: int) -> Iterator[None]:
    """Run the enclosed pass on one intra-op thread if it has at most
    ``ONE_THREAD_UP_TO`` token rows; the calling thread's setting is restored after."""
    import torch

    before = torch.get_num_threads()
    if token_rows > ONE_THREAD_UP_TO or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def name_this_thread(name: str) -> None:
    """Give the calling thread ``name`` as the operating system shows it (Linux: 15 bytes,
    in /proc/<pid>/task/<tid>/comm), so its CPU can be told apart from the pages'; the
    intra-op threads it starts later inherit it. Nothing happens elsewhere."""
    from llm_core.models.memory import c_library

    library = c_library()
    if library is not None and hasattr(library, "prctl"):  # Linux
        library.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
