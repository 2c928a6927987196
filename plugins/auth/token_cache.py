"""Verified access tokens kept in process, so an authenticated request costs no query.

Verifying a token takes an ES256 signature check and four queries (revoked jti, session,
user, organization). A verified token is cached for ``VETRAI_AUTH_TOKEN_CACHE_TTL_SECONDS``
by its SHA-256 in ``vetrai.core.cache``'s invalidated cache, tagged with its user,
organization, session and credential. Everything that must end a token at once drops those
entries in every process: saving or deleting a user or an organization (model signals, so
every plugin's change counts), revoking sessions, logout, the denial of a JWT id and the
revocation of an opaque token (``invalidate``). Expiry is checked on every request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tortoise.signals import post_delete, post_save

from vetrai.core.cache import InvalidatedCache
from vetrai.core.models import Organization
from vetrai.core.platform import current_platform
from vetrai.plugins.auth.models import User


@dataclass(frozen=True)
class VerifiedToken:
    """What a request needs from a verified access token and its user, as of caching time."""

    user: User
    scopes: frozenset[str]
    credential_id: str
    token_kind: str
    session_id: uuid.UUID | None
    expires_at: int

    def tags(self, digest: str) -> dict[str, object]:
        return {
            "digest": digest,
            "user": self.user.id,
            "organization": self.user.organization_id,
            "session": self.session_id,
            "token": self.credential_id,
        }


class TokenCache(InvalidatedCache[VerifiedToken]):
    """Verified tokens by SHA-256; invalidation kinds: digest, user, organization, session, token, all."""


async def invalidate(kind: str, value: object) -> None:
    """Drop cached tokens tagged ``kind=value`` in every process (no-op before the auth plugin starts)."""
    try:
        platform = current_platform()
    except RuntimeError:
        return
    runtime = platform.state.get("auth")
    cache = getattr(runtime, "tokens", None)
    if cache is not None:
        await cache.invalidate(kind, value)


@post_save(User)
async def _user_saved(sender: type[User], instance: User, created: bool, using_db: Any, update_fields: Any) -> None:
    """A deactivated, demoted, moved or renamed user is seen by their next request."""
    if not created:
        await invalidate("user", instance.id)


@post_delete(User)
async def _user_deleted(sender: type[User], instance: User, using_db: Any) -> None:
    await invalidate("user", instance.id)


@post_save(Organization)
async def _organization_saved(
    sender: type[Organization], instance: Organization, created: bool, using_db: Any, update_fields: Any
) -> None:
    """A deactivated organization's tokens stop working on their next request."""
    if not created:
        await invalidate("organization", instance.id)


@post_delete(Organization)
async def _organization_deleted(sender: type[Organization], instance: Organization, using_db: Any) -> None:
    await invalidate("organization", instance.id)
