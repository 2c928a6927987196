"""Counters and temporary locks against password guessing, in Redis or in process memory.

With Redis every server process shares the counts, so a guesser cannot spread attempts over
replicas; without it (one embedded process) a dictionary is enough. Counts use fixed windows:
the first failure starts a window of ``window`` seconds.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vetrai.core.ratelimits import limiter_unavailable
from vetrai.core.security import sha256_hex


def subject_key(kind: str, value: str) -> str:
    """A key that does not store e-mail addresses or IPs in clear (they are hashed)."""
    return f"{kind}:{sha256_hex(value)[:32]}"


class Limiter(Protocol):
    async def hit(self, key: str, window: int) -> int: ...

    async def reset(self, key: str) -> None: ...

    async def lock(self, key: str, seconds: int) -> None: ...

    async def locked_for(self, key: str) -> int:
        """Seconds until ``key`` is unlocked; 0 when it is not locked."""
        ...


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, float] = {}

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        count, ends = self._counts.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window
        count += 1
        self._counts[key] = (count, ends)
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return count

    async def reset(self, key: str) -> None:
        self._counts.pop(key, None)

    async def lock(self, key: str, seconds: int) -> None:
        self._locks[key] = time.monotonic() + seconds

    async def locked_for(self, key: str) -> int:
        until = self._locks.get(key)
        if until is None:
            return 0
        remaining = until - time.monotonic()
        if remaining <= 0:
            self._locks.pop(key, None)
            return 0
        return max(1, math.ceil(remaining))


class RedisLimiter:
    """Counters in Redis; while Redis is down, ``fail_open`` decides (see vetrai.core.ratelimits)."""

    def __init__(self, redis: Redis, prefix: str, fail_open: bool = True) -> None:
        self._redis = redis
        self._prefix = f"{prefix}auth:"
        self._fail_open = fail_open

    async def hit(self, key: str, window: int) -> int:
        name = f"{self._prefix}count:{key}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=window, nx=True)
                pipe.incr(name)
                _created, count = await pipe.execute()
        except RedisError as error:
            limiter_unavailable("login rate limit", error, fail_open=self._fail_open)
            return 0
        return int(count)

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(f"{self._prefix}count:{key}")
        except RedisError as error:
            limiter_unavailable("login rate limit", error, fail_open=self._fail_open)

    async def lock(self, key: str, seconds: int) -> None:
        try:
            await self._redis.set(f"{self._prefix}lock:{key}", 1, ex=seconds)
        except RedisError as error:
            limiter_unavailable("account lockout", error, fail_open=self._fail_open)

    async def locked_for(self, key: str) -> int:
        try:
            remaining = await self._redis.pttl(f"{self._prefix}lock:{key}")
        except RedisError as error:
            limiter_unavailable("account lockout", error, fail_open=self._fail_open)
            return 0
        if remaining is None or remaining <= 0:
            return 0
        return max(1, math.ceil(remaining / 1000))


def build_limiter(redis: Redis | None, prefix: str, fail_open: bool = True) -> Limiter:
    return RedisLimiter(redis, prefix, fail_open) if redis is not None else MemoryLimiter()
