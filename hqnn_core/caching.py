"""A bounded, thread-safe cache for what backends build once per circuit (translations, compiled plans).

Neutral :class:`~hqnn_core.circuit.Circuit` objects are immutable and hashable, so an adapter
translates each one once and keeps the result: a layer reuses one circuit for every batch, so
the hit rate is near 100%, and the bound only matters for odd workloads (many distinct circuits).
Every adapter uses :class:`TranslationCache` for this rather than its own dict or ``lru_cache``.
The build of a missing entry runs under the cache's (re-entrant) lock, so two threads asking for
the same circuit build it once, and a build may itself use the same cache.

This module imports only the standard library: every layer, adapters and plugins included, may use it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TranslationCache(Generic[K, V]):
    """Least-recently-used mapping of at most ``maxsize`` entries, filled by :meth:`get`.

    Example:
        >>> cache: TranslationCache[str, int] = TranslationCache(maxsize=2)
        >>> cache.get("a", lambda: 1), cache.get("a", lambda: 2), len(cache)
        (1, 1, 1)
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"a translation cache holds at least one entry, got maxsize={maxsize}")
        self.maxsize = maxsize
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        """The entry for ``key``, built by ``build()`` on first use; the least recently used entry is dropped when full."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            value = build()
            self._entries[key] = value
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return value

    def values(self) -> list[V]:
        """A snapshot of the entries, least recently used first."""
        with self._lock:
            return list(self._entries.values())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


__all__ = ["TranslationCache"]
