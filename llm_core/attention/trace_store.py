"""A cache of traces (and what is read from them) shared by every session, bounded by
memory rather than by a count.

A trace's size grows with its text: SmolLM2 keeps 30 x T x 576 float32 (7 MB at 107
tokens, 147 MB at 2,048), so a count-bounded cache either holds few short texts or
overflows with long ones. ``TraceStore(max_bytes)`` keeps values (anything with an
``nbytes``) until their total would pass ``max_bytes``, then evicts the least recently
used. With the default ``TRACE_STORE_BYTES`` (768 MB) that is about 100 traces of 107
tokens, or 4 traces of 2,048 tokens with their summaries. A value larger than the whole
budget is returned but not kept.

``get(key, compute)`` computes a missing value once: sessions asking for the same key
at the same moment (a class pressing the same button) wait for the first one's result
instead of each running the model.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

Value = TypeVar("Value")
TRACE_STORE_BYTES = int(os.environ.get("LLM_EXPLORER_TRACE_CACHE_MB", "768")) * 1024**2


class TraceStore:
    """Least-recently-used values under a total of ``max_bytes`` (see the module doc)."""

    def __init__(self, max_bytes: int = TRACE_STORE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held now (the sum of the kept values' ``nbytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def peek(self, key: Hashable) -> Any | None:
        """The kept value for ``key`` (now the most recently used), or None; never computes."""
        with self._lock:
            return self._lookup(key)

    def get(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The value for ``key``: kept, or ``compute()``d once and kept. Exceptions from
        ``compute`` propagate and nothing is kept."""
        with self._lock:
            value = self._lookup(key)
            if value is not None:
                return value
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another caller may have finished while this one waited
                value = self._lookup(key)
            if value is not None:
                return value
            try:
                value = compute()
                with self._lock:
                    self._insert(key, value)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _lookup(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def _insert(self, key: Hashable, value: Any) -> None:
        size = int(value.nbytes)
        if size > self.max_bytes:
            return  # bigger than the whole budget: evicting everything would not help
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        while self._entries and self._bytes + size > self.max_bytes:
            _key, (_value, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
        self._entries[key] = (value, size)
        self._bytes += size
