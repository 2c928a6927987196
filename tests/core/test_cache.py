"""The invalidated credential cache: tags, generations, TTL 0 and invalidations through Redis."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
from redis.asyncio import Redis

from vetrai.core.cache import InvalidatedCache

REDIS_URL = os.environ.get("VETRAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_tagged_entries_drop_together_and_a_racing_lookup_caches_nothing() -> None:
    cache: InvalidatedCache[str] = InvalidatedCache("test", 60, 100, None, "p:")
    cache.put("a", "A", {"user": "u1", "organization": "o1"}, cache.generation)
    cache.put("b", "B", {"user": "u2", "organization": "o1"}, cache.generation)
    cache.put("c", "C", {"user": "u3", "organization": "o2"}, cache.generation)
    cache.drop("user", "u1")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")
    cache.drop("organization", "o1")
    assert (cache.get("b"), cache.get("c")) == (None, "C")
    stale_generation = cache.generation
    cache.drop("user", "nobody")
    cache.put("d", "D", {}, stale_generation)
    assert cache.get("d") is None
    cache.drop("all", "")
    assert cache.entries == {}


def test_ttl_zero_caches_nothing_and_the_size_is_bounded() -> None:
    off: InvalidatedCache[str] = InvalidatedCache("test", 0, 100, None, "p:")
    off.put("a", "A", {}, off.generation)
    assert off.get("a") is None
    small: InvalidatedCache[int] = InvalidatedCache("test", 60, 3, None, "p:")
    for index in range(10):
        small.put(str(index), index, {}, small.generation)
    assert len(small.entries) <= 3 and small.get("9") == 9


@pytest.mark.backend("postgres")
async def test_an_invalidation_published_by_one_process_reaches_another() -> None:
    """Two caches on the same Redis channel stand for two server processes."""
    prefix = f"vt{uuid.uuid4().hex[:10]}:"
    first_redis, second_redis = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    first: InvalidatedCache[str] = InvalidatedCache("test", 60, 100, first_redis, prefix)
    second: InvalidatedCache[str] = InvalidatedCache("test", 60, 100, second_redis, prefix)
    assert not second.listening
    second.put("token", "T", {"session": "s1"}, second.generation)
    assert second.get("token") is None  # deaf: nothing is cached
    listener = asyncio.create_task(second.listen())
    try:
        deadline = time.monotonic() + 10
        while not second.listening:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        second.put("token", "T", {"session": "s1"}, second.generation)
        assert second.get("token") == "T"
        await first.invalidate("session", "s1")
        while second.get("token") is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await first_redis.aclose()
        await second_redis.aclose()
    assert not second.listening
