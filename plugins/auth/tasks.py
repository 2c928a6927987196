"""Housekeeping: expired credentials are deleted so the token tables do not grow forever.

A schedule like every other periodic task (the first run one period after start; with Redis
one process runs each tick); the deletes are idempotent, so a repeated tick is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from vetrai.core.hooks import HookPlatform, Schedule
from vetrai.plugins.auth.models import AccessToken, OneTimeToken, RefreshToken, RevokedJti, Session
from vetrai.plugins.auth.service import now
from vetrai.plugins.auth.settings import AuthSettings

log = logging.getLogger("vetrai.auth")
PURGE_EXPIRED = "auth.purge_expired"
KEEP_ENDED_SESSIONS = timedelta(days=30)


async def purge_expired() -> dict[str, int]:
    """Delete expired deny-list entries, tokens and sessions ended more than 30 days ago."""
    current = now()
    counts = {
        "revoked_jtis": await RevokedJti.filter(expires_at__lte=current).delete(),
        "access_tokens": await AccessToken.filter(expires_at__lte=current).delete(),
        "refresh_tokens": await RefreshToken.filter(expires_at__lte=current - timedelta(days=1)).delete(),
        "one_time_tokens": await OneTimeToken.filter(expires_at__lte=current - timedelta(days=1)).delete(),
        "sessions": await Session.filter(expires_at__lte=current - KEEP_ENDED_SESSIONS).delete()
        + await Session.filter(revoked_at__lte=current - KEEP_ENDED_SESSIONS).delete(),
    }
    log.info("purged expired auth records", extra=counts)
    return counts


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {PURGE_EXPIRED: purge_expired}


def schedules(platform: HookPlatform) -> list[Schedule]:
    return [Schedule(PURGE_EXPIRED, platform.plugin_settings("auth", AuthSettings).purge_seconds)]
