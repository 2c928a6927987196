"""The one in-process cache of verified credentials, with cross-process invalidation.

Authenticating a request must not cost database round trips, so verified credentials (API
keys, access tokens) are kept in process for a few seconds. Every change that must take
effect at once (revocation, logout, a role or activity change) drops the matching entries
here and, with Redis, is published on ``<prefix><name>:invalidate`` so every other process
drops them too within milliseconds. While the subscription is down nothing is cached, so a
lost message can never keep a revoked credential alive. A generation counter stops a lookup
that raced with an invalidation from caching the stale rows it read. Concurrent misses for one
key share a single load, so an expired entry under load costs one verification, not one per
request in flight.

Entries carry tags (``user``, ``organization``, ``session``, ...): an invalidation names a
tag and a value and drops every entry carrying it; ``all`` drops everything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis

from vetrai.core.pubsub import subscribe_forever

log = logging.getLogger("vetrai.cache")
V = TypeVar("V")


@dataclass(frozen=True)
class CacheEntry(Generic[V]):
    value: V
    tags: Mapping[str, str]
    loaded_at: float


class InvalidatedCache(Generic[V]):
    """A bounded, tagged TTL cache whose invalidations reach every process through Redis."""

    def __init__(self, name: str, ttl_seconds: float, max_entries: int, redis: Redis | None, prefix: str) -> None:
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.redis = redis
        self.channel = f"{prefix}{name}:invalidate"
        self.entries: dict[str, CacheEntry[V]] = {}
        self.generation = 0
        self.listening = redis is None
        self._loading: dict[str, asyncio.Future[V | None]] = {}

    def get(self, key: str) -> V | None:
        """The cached value while it is fresh and invalidations are being heard; else None."""
        entry = self.entries.get(key)
        if entry is None or not self.listening:
            return None
        if time.monotonic() - entry.loaded_at >= self.ttl_seconds:
            self.entries.pop(key, None)
            return None
        return entry.value

    async def load(
        self,
        key: str,
        loader: Callable[[], Awaitable[V | None]],
        tags: Callable[[V], Mapping[str, object]],
    ) -> V | None:
        """The cached value, else ``loader()``'s (cached with ``tags(value)`` unless None).

        Callers that miss while another call loads the same key wait for that load; if it
        was cancelled they load again themselves. The loader's exceptions reach them all.
        """
        while True:
            value = self.get(key)
            if value is not None:
                return value
            pending = self._loading.get(key)
            if pending is None:
                break
            await asyncio.wait({pending})
            if not pending.cancelled():
                return pending.result()
        generation = self.generation
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await loader()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        future.set_result(value)
        if value is not None:
            self.put(key, value, tags(value), generation)
        return value

    def put(self, key: str, value: V, tags: Mapping[str, object], generation: int) -> None:
        """Cache ``value`` unless an invalidation happened since ``generation`` was read."""
        if not self.listening or generation != self.generation or self.ttl_seconds <= 0:
            return
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = CacheEntry(
            value, {kind: str(tag) for kind, tag in tags.items() if tag is not None}, time.monotonic()
        )

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)

    def drop(self, kind: str, value: str) -> None:
        """Forget the entries tagged ``kind=value`` (or all of them) in this process."""
        self.generation += 1
        if kind == "all":
            self.entries.clear()
            return
        stale = [key for key, entry in self.entries.items() if entry.tags.get(kind) == value]
        for key in stale:
            self.entries.pop(key, None)

    async def invalidate(self, kind: str, value: object) -> None:
        """Drop here at once, and tell every other process through Redis."""
        self.drop(kind, str(value))
        if self.redis is not None:
            try:
                await self.redis.publish(self.channel, f"{kind}:{value}")
            except Exception:
                log.exception("could not publish a %s invalidation; other processes rely on the cache TTL", self.name)

    async def listen(self) -> None:
        """Apply other processes' invalidations; cache nothing while not subscribed."""
        assert self.redis is not None
        await subscribe_forever(
            self.redis,
            self.channel,
            self._on_message,
            on_subscribed=self._subscribed,
            on_lost=self._lost,
            name=f"{self.name} invalidation subscription",
        )

    def _on_message(self, data: bytes) -> None:
        kind, _, value = data.decode().partition(":")
        self.drop(kind, value)

    def _subscribed(self) -> None:
        self.drop("all", "")
        self.listening = True

    def _lost(self) -> None:
        self.listening = False
        self.drop("all", "")
