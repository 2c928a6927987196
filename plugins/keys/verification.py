"""Cheap key verification: an in-process cache of verified keys with cross-process invalidation.

A verified key is kept for ``cache_ttl_seconds``. Every change that must take effect at once
(update, revoke, rotate, the creator's role or activity) drops the entry in this process and,
with Redis, is published on ``<prefix>keys:invalidate`` so every other server process drops it
too within milliseconds. While the subscription is down nothing is cached, so a lost message
can never keep a revoked key alive. A generation counter stops a lookup that raced with an
invalidation from caching the stale row it read.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from vetrai.core.models import Organization
from vetrai.core.pubsub import subscribe_forever
from vetrai.core.tenancy import limits_of
from vetrai.plugins.keys.models import ApiKey
from vetrai.plugins.keys.settings import KeysSettings

log = logging.getLogger("vetrai.keys")
PLAN_RATE_LIMIT = "api_key_requests_per_minute"


@dataclass(frozen=True)
class VerifiedKey:
    """What authenticating needs to know about a key and its creator, as of ``loaded_at``."""

    key_id: uuid.UUID
    organization_id: uuid.UUID
    creator_id: uuid.UUID
    creator_role: str
    creator_usable: bool
    organization_active: bool
    scopes: frozenset[str]
    is_active: bool
    revoked: bool
    expires_at: datetime | None
    rate_requests: int
    rate_window_seconds: int
    loaded_at: float

    def usable(self, now: datetime) -> bool:
        if not self.is_active or self.revoked or not self.creator_usable or not self.organization_active:
            return False
        return self.expires_at is None or self.expires_at > now


def plan_rate_ceiling(organization: Organization, settings: KeysSettings) -> tuple[int, int]:
    """The organization's plan rate (per minute), else the server default: the default and the ceiling."""
    per_minute = limits_of(organization).get(PLAN_RATE_LIMIT)
    if isinstance(per_minute, int) and per_minute > 0:
        return per_minute, 60
    return settings.default_rate_limit_requests, settings.default_rate_limit_window_seconds


def rate_limit_for(key: ApiKey, organization: Organization, settings: KeysSettings) -> tuple[int, int]:
    """The key's own limit, else its organization's plan default, else the server default.

    A key's own limit above the ceiling (stored before the ceiling existed, or the plan got
    smaller since) is cut down to the ceiling.
    """
    ceiling = plan_rate_ceiling(organization, settings)
    if key.rate_limit_requests and key.rate_limit_window_seconds:
        requests, window = key.rate_limit_requests, key.rate_limit_window_seconds
        if requests > ceiling[0] or requests * ceiling[1] > ceiling[0] * window:
            return ceiling
        return requests, window
    return ceiling


class KeyCache:
    def __init__(self, settings: KeysSettings, redis: Redis | None, prefix: str) -> None:
        self.settings = settings
        self.redis = redis
        self.channel = f"{prefix}keys:invalidate"
        self.entries: dict[str, VerifiedKey] = {}
        self.generation = 0
        self.listening = redis is None

    async def lookup(self, key_hash: str) -> VerifiedKey | None:
        entry = self.entries.get(key_hash)
        if (
            entry is not None
            and self.listening
            and time.monotonic() - entry.loaded_at < self.settings.cache_ttl_seconds
        ):
            return entry
        generation = self.generation
        row = await ApiKey.get_or_none(key_hash=key_hash).select_related("created_by", "organization")
        if row is None:
            self.entries.pop(key_hash, None)
            return None
        creator = row.created_by
        requests, window = rate_limit_for(row, row.organization, self.settings)
        entry = VerifiedKey(
            key_id=row.id,
            organization_id=row.organization_id,
            creator_id=creator.id,
            creator_role=creator.role,
            creator_usable=bool(creator.is_active and creator.organization_id == row.organization_id),
            organization_active=row.organization.is_active,
            scopes=frozenset(row.scopes or ()),
            is_active=row.is_active,
            revoked=row.revoked_at is not None,
            expires_at=row.expires_at,
            rate_requests=requests,
            rate_window_seconds=window,
            loaded_at=time.monotonic(),
        )
        if self.listening and generation == self.generation and self.settings.cache_ttl_seconds > 0:
            if len(self.entries) >= self.settings.cache_max_entries:
                self.entries.clear()
            self.entries[key_hash] = entry
        return entry

    def drop(self, kind: str, value: str) -> None:
        """Forget cached keys matching ``kind`` (key, user, organization or all) in this process."""
        self.generation += 1
        if kind == "all":
            self.entries.clear()
            return
        attribute = {"key": "key_id", "user": "creator_id", "organization": "organization_id"}.get(kind)
        if attribute is None:
            return
        stale = [name for name, entry in self.entries.items() if str(getattr(entry, attribute)) == value]
        for name in stale:
            self.entries.pop(name, None)

    async def invalidate(self, kind: str, value: object) -> None:
        """Drop here at once, and tell every other process through Redis."""
        self.drop(kind, str(value))
        if self.redis is not None:
            try:
                await self.redis.publish(self.channel, f"{kind}:{value}")
            except Exception:
                log.exception("could not publish a key invalidation; other processes rely on the cache TTL")

    async def listen(self) -> None:
        """Apply other processes' invalidations; cache nothing while not subscribed."""
        assert self.redis is not None
        await subscribe_forever(
            self.redis,
            self.channel,
            self._on_message,
            on_subscribed=self._subscribed,
            on_lost=self._lost,
            name="key invalidation subscription",
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
