"""Counters and temporary locks against password guessing, in Redis or in process memory.

With Redis every server process shares the counts, so a guesser cannot spread attempts over
replicas; without it (one embedded process) a dictionary is enough. Counts use fixed windows:
the first failure starts a window of ``window`` seconds.

Failed logins are counted per (account, client address) pair and per address, never per
account alone: a lock on the account alone would let anyone keep a victim out forever by
repeating bad logins. Past the threshold each further failure of a pair waits twice as long
as the one before (``delay_for``). Every pair key of an account includes the account's
generation, which a completed password reset bumps: proof of the mailbox ends every delay.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vetrai.core.ratelimits import limiter_unavailable
from vetrai.core.security import sha256_hex

GENERATION_TTL_SECONDS = 90 * 24 * 3600
"""Longer than any lockout window, so an old generation's counters are gone before it is forgotten."""


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

    async def generation(self, key: str) -> int:
        """A counter that only ``bump`` changes (0 until then)."""
        ...

    async def bump(self, key: str) -> None: ...


def delay_for(failures: int, threshold: int, first_delay: int, longest: int) -> int:
    """Seconds a pair waits after its ``failures``-th failure: 0 below ``threshold``, then doubling."""
    if threshold <= 0 or failures < threshold:
        return 0
    return min(longest, first_delay * 2 ** min(failures - threshold, 30))


class MemoryLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, float] = {}
        self._generations: dict[str, int] = {}

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

    async def generation(self, key: str) -> int:
        return self._generations.get(key, 0)

    async def bump(self, key: str) -> None:
        self._generations[key] = self._generations.get(key, 0) + 1


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

    async def generation(self, key: str) -> int:
        try:
            value = await self._redis.get(f"{self._prefix}generation:{key}")
        except RedisError as error:
            limiter_unavailable("account lockout", error, fail_open=self._fail_open)
            return 0
        return int(value or 0)

    async def bump(self, key: str) -> None:
        name = f"{self._prefix}generation:{key}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, GENERATION_TTL_SECONDS)
                await pipe.execute()
        except RedisError as error:
            limiter_unavailable("account lockout", error, fail_open=self._fail_open)


def build_limiter(redis: Redis | None, prefix: str, fail_open: bool = True) -> Limiter:
    return RedisLimiter(redis, prefix, fail_open) if redis is not None else MemoryLimiter()
