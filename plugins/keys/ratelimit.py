"""Per-key rate limits with GCRA (a smooth token bucket), in Redis or in process memory.

GCRA keeps one timestamp per key (the theoretical arrival time), so Redis holds one small
string per active key and one Lua script call decides atomically, using Redis' clock so
several server processes agree. Without Redis there is one process and a dict is enough.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vetrai.core.ratelimits import limiter_unavailable

EPSILON = 1e-6

GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local interval = window / limit
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = math.max(tonumber(stored), now)
end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
local remaining = math.floor((window - (new_tat - now)) / interval + 0.000001)
return {1, remaining, math.ceil(new_tat - now), 0}
"""


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against a limit; times in whole seconds (rounded up)."""

    allowed: bool
    limit: int
    window_seconds: int
    remaining: int
    reset_seconds: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> Decision: ...


def _seconds(value: float) -> int:
    return max(0, math.ceil(value - EPSILON))


class MemoryRateLimiter:
    def __init__(self, max_entries: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self._max_entries = max_entries

    async def hit(self, key: str, limit: int, window_seconds: int) -> Decision:
        now = time.monotonic()
        interval = window_seconds / limit
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        allow_at = new_tat - window_seconds
        if now < allow_at:
            return Decision(False, limit, window_seconds, 0, _seconds(tat - now), max(1, _seconds(allow_at - now)))
        if len(self._tat) >= self._max_entries:
            self._tat = {name: value for name, value in self._tat.items() if value > now}
        self._tat[key] = new_tat
        remaining = math.floor((window_seconds - (new_tat - now)) / interval + EPSILON)
        return Decision(True, limit, window_seconds, remaining, _seconds(new_tat - now), 0)


class RedisRateLimiter:
    """GCRA in Redis; while Redis is down, ``fail_open`` decides (see vetrai.core.ratelimits)."""

    def __init__(self, redis: Redis, prefix: str, fail_open: bool = True) -> None:
        self._prefix = f"{prefix}keys:rate:"
        self._script = redis.register_script(GCRA_SCRIPT)
        self._fail_open = fail_open

    async def hit(self, key: str, limit: int, window_seconds: int) -> Decision:
        try:
            allowed, remaining, reset_ms, retry_ms = await self._script(
                keys=[f"{self._prefix}{key}:{limit}:{window_seconds}"], args=[limit, window_seconds]
            )
        except RedisError as error:
            limiter_unavailable("API key rate limit", error, fail_open=self._fail_open)
            return Decision(True, limit, window_seconds, limit, window_seconds, 0)
        return Decision(
            bool(allowed),
            limit,
            window_seconds,
            int(remaining),
            _seconds(int(reset_ms) / 1000),
            max(1, _seconds(int(retry_ms) / 1000)) if not allowed else 0,
        )


def build_rate_limiter(redis: Redis | None, prefix: str, fail_open: bool = True) -> RateLimiter:
    return RedisRateLimiter(redis, prefix, fail_open) if redis is not None else MemoryRateLimiter()
