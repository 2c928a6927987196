"""Cheap key verification: an in-process cache of verified keys with cross-process invalidation.

A verified key is kept for ``cache_ttl_seconds`` in ``vetrai.core.cache``'s invalidated cache:
every change that must take effect at once (update, revoke, rotate, the creator's role or
activity, the organization) drops it in every process (``<prefix>keys:invalidate``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from vetrai.core.cache import InvalidatedCache
from vetrai.core.models import Organization
from vetrai.core.tenancy import limits_of
from vetrai.plugins.keys.models import ApiKey
from vetrai.plugins.keys.settings import KeysSettings

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


class KeyCache(InvalidatedCache[VerifiedKey]):
    def __init__(self, settings: KeysSettings, redis: Redis | None, prefix: str) -> None:
        super().__init__("keys", settings.cache_ttl_seconds, settings.cache_max_entries, redis, prefix)
        self.settings = settings

    async def lookup(self, key_hash: str) -> VerifiedKey | None:
        return await self.load(key_hash, lambda: self._verify(key_hash), _tags)

    async def _verify(self, key_hash: str) -> VerifiedKey | None:
        row = await ApiKey.get_or_none(key_hash=key_hash).select_related("created_by", "organization")
        if row is None:
            return None
        creator = row.created_by
        requests, window = rate_limit_for(row, row.organization, self.settings)
        return VerifiedKey(
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


def _tags(entry: VerifiedKey) -> dict[str, object]:
    return {"key": entry.key_id, "user": entry.creator_id, "organization": entry.organization_id}
