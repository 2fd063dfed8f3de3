"""Giving freed memory back to the operating system.

glibc's malloc keeps what Python and torch free inside its heap, and raises its mmap
threshold to the largest block freed, so the tensors of a batch of generations (growing
KV caches, [rows, vocabulary] logits, one step after another) leave holes it keeps: on
SmolLM2, rounds of 30 concurrent 32-token generations took the process from 0.93 GB to
1.30, 1.46, 1.75 and 2.23 GB. ``malloc_trim(0)`` after each round returns the free
pages (0.95, 0.99, 1.02, 1.06 GB; ~10-30 ms), and trimming every 4 decode steps kept the
peak of the fourth round at 1.46 GB against 1.61. The model's worker calls ``trim_heap``
every ``TRIM_EVERY_STEPS`` decode steps and when it runs out of work.

glibc also raises its mmap threshold (up to 32 MB) to the largest block freed, so the
[rows, vocabulary] tensors of a 30-row step (~6 MB each, several per step) come from the
heap and leave holes between the small arrays a step keeps. ``fix_mmap_threshold``
pins the threshold at ``MMAP_THRESHOLD_BYTES``: blocks of 4 MB or more are mapped and
unmapped whole. Three rounds of 30 concurrent generations (the worker alone) peaked
~40 MB lower (1,232-1,241 MB against 1,274-1,278), no slower; a 2,048-token trace took
1-8% longer and peaked ~50 MB lower. (At 1 MB, generations ran twice as slow: page
faults on every MLP-sized block.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def c_library() -> ctypes.CDLL | None:
    """The C library (glibc's calls are looked up on it), or None where none loads."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def trim_heap() -> bool:
    """Return the C heap's free pages to the system; False where there is no glibc."""
    library = c_library()
    if library is None or not hasattr(library, "malloc_trim"):  # macOS, musl: no trim
        return False
    library.malloc_trim(0)
    return True


MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@functools.cache
def fix_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold at ``MMAP_THRESHOLD_BYTES`` for this process (see the
    module doc), once; False where there is no glibc."""
    library = c_library()
    if library is None or not hasattr(library, "mallopt"):
        return False
    return bool(library.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
