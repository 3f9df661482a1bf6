"""Remembering what was computed from a file for as long as the file is unchanged.

Hashing a backbone's weights, fingerprinting thousands of images: the result
depends only on the file's bytes, and reading them again costs seconds or
minutes. A ``StatMemo`` keys results by ``stat_key`` (path, size, modification
time in ns): when all three are unchanged the bytes are taken as unchanged, and a
changed file gets a new key, so a stale result is never returned.

It is bounded (the least recently stored entries go first), so a session over
millions of files keeps a fixed amount of memory, and thread-safe, since worker
threads and the UI thread ask at once. A computation runs outside the lock: two
threads asking for the same new key may both compute it (the results are equal),
but no thread ever waits on another's long read.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

Value = TypeVar("Value")

StatKey = tuple[str, int, int]


def stat_key(path: str | os.PathLike[str]) -> StatKey:
    """(path, size, mtime in ns) of ``path``, following links; raises ``OSError``."""
    info = os.stat(path)
    return os.fspath(path), info.st_size, info.st_mtime_ns


class StatMemo(Generic[Value]):
    """A bounded, thread-safe map from a stat key (or a tuple of them) to a result."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a memo needs room for at least one entry, got {limit}")
        self._limit = limit
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable | None) -> Value | None:
        """The remembered result for ``key`` (None when absent, or for a None key)."""
        if key is None:
            return None
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, value: Value) -> None:
        self.put_many([(key, value)])

    def put_many(self, pairs: Iterable[tuple[Hashable, Value]]) -> None:
        """Remember several results under one lock; the oldest entries beyond the limit go."""
        with self._lock:
            for key, value in pairs:
                self._entries[key] = value
                self._entries.move_to_end(key)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The remembered result, or ``compute()``'s, which is then remembered."""
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        value = compute()
        self.put(key, value)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
