"""Housekeeping: expired credentials are deleted so the token tables do not grow forever.

A loop started with ``platform.spawn`` (cancelled before the database closes) rather than a
schedule: the deletes are idempotent, so every process may run them, and the first run waits
a full period instead of racing start-up and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from vetrai.core.platform import Platform
from vetrai.plugins.auth.models import AccessToken, OneTimeToken, RefreshToken, RevokedJti, Session
from vetrai.plugins.auth.service import now

log = logging.getLogger("vetrai.auth")
PURGE_EVERY_SECONDS = 3600.0
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


async def purge_periodically(seconds: float = PURGE_EVERY_SECONDS) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await purge_expired()
        except Exception:
            log.exception("purging expired auth records failed")


def start_housekeeping(platform: Platform) -> None:
    platform.spawn(purge_periodically())
