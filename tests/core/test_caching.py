"""``hqnn_core.caching.TranslationCache``: the one bounded, thread-safe cache of per-circuit translations."""

from __future__ import annotations

import threading
import time

import pytest

from hqnn_core.caching import TranslationCache


def _counting(builds: list[str]):
    def build(key: str):
        def make() -> str:
            builds.append(key)
            return key.upper()
        return make
    return build


def test_each_key_is_built_once_and_then_served_from_the_cache():
    builds: list[str] = []
    build = _counting(builds)
    cache: TranslationCache[str, str] = TranslationCache(maxsize=4)
    assert [cache.get(k, build(k)) for k in ["a", "b", "a", "a", "b"]] == ["A", "B", "A", "A", "B"]
    assert builds == ["a", "b"] and len(cache) == 2 and "a" in cache and "c" not in cache


def test_the_least_recently_used_entry_is_dropped_when_full():
    builds: list[str] = []
    build = _counting(builds)
    cache: TranslationCache[str, str] = TranslationCache(maxsize=2)
    for k in ["a", "b", "a", "c"]:  # 'a' was used after 'b', so 'b' goes when 'c' arrives
        cache.get(k, build(k))
    assert len(cache) == 2 and "a" in cache and "c" in cache and "b" not in cache
    assert cache.values() == ["A", "C"]
    cache.get("b", build("b"))
    assert builds == ["a", "b", "c", "b"] and "a" not in cache
    cache.clear()
    assert len(cache) == 0


def test_a_failed_build_caches_nothing():
    cache: TranslationCache[str, int] = TranslationCache(maxsize=2)
    with pytest.raises(ZeroDivisionError):
        cache.get("x", lambda: 1 // 0)
    assert "x" not in cache and cache.get("x", lambda: 7) == 7


def test_a_build_may_use_the_same_cache():
    cache: TranslationCache[str, str] = TranslationCache(maxsize=4)
    assert cache.get("outer", lambda: cache.get("inner", lambda: "i") + "o") == "io"
    assert len(cache) == 2


def test_concurrent_requests_for_one_key_build_it_once():
    builds: list[int] = []

    def slow() -> int:
        builds.append(1)
        time.sleep(0.05)  # a second thread arrives while the first builds
        return 42

    cache: TranslationCache[str, int] = TranslationCache(maxsize=2)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 8 and len(builds) == 1


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError, match="at least one entry"):
        TranslationCache(maxsize=0)
