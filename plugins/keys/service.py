"""API keys: issuing, verifying, changing, rotating, revoking and reporting usage; no HTTP here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.signals import post_delete, post_save
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, field_error, rate_limited, unauthorized, unprocessable
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.core.security import sha256_hex
from vetrai.core.tenancy import ensure_quota, get_scoped, scoped
from vetrai.plugins.auth.models import User
from vetrai.plugins.keys import tokens
from vetrai.plugins.keys.models import ApiKey, ApiKeyUsage
from vetrai.plugins.keys.ratelimit import Decision, RateLimiter, build_rate_limiter
from vetrai.plugins.keys.settings import KeysSettings
from vetrai.plugins.keys.usage import UsageCounter
from vetrai.plugins.keys.verification import KeyCache, plan_rate_ceiling

INVALID_KEY = "invalid, expired or revoked API key"
USER_FIELDS_THAT_MATTER = frozenset({"role", "is_active", "organization_id", "organization"})


@dataclass
class KeysRuntime:
    settings: KeysSettings
    cache: KeyCache
    limiter: RateLimiter
    usage: UsageCounter
    scopes: list[dict[str, str]] | None = None
    role_scopes: dict[str, frozenset[str]] = field(default_factory=dict)
    """Scopes per role; permissions are fixed once the plugins are loaded."""


@dataclass(frozen=True)
class KeyRequest:
    """What the response hook needs about a key-authenticated request (kept on ``g``)."""

    key_id: uuid.UUID
    organization_id: uuid.UUID
    decision: Decision


RUNTIME: Slot[KeysRuntime] = Slot("keys")


def build_runtime(platform: Platform) -> KeysRuntime:
    settings = platform.plugin_settings("keys", KeysSettings)
    prefix = platform.settings.redis_prefix
    return KeysRuntime(
        settings=settings,
        cache=KeyCache(settings, platform.redis, prefix),
        limiter=build_rate_limiter(platform.redis, prefix, platform.settings.rate_limit_fail_open),
        usage=UsageCounter(),
    )


def runtime(platform: Platform | None = None) -> KeysRuntime:
    return (platform or current_platform()).get(RUNTIME)


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def authenticate(token: str) -> tuple[Principal, KeyRequest] | None:
    """A Principal for a ``vk_`` key (None for other tokens); 401 for bad keys, 429 past the limit.

    The checksum is checked before any lookup; the lookup is by SHA-256 (an index probe that
    reveals nothing about other keys) and every rejection gives the same answer.
    """
    if not token.startswith(tokens.PREFIX):
        return None
    if not tokens.well_formed(token):
        raise unauthorized(INVALID_KEY)
    platform = current_platform()
    rt = runtime(platform)
    entry = await rt.cache.lookup(sha256_hex(token))
    if entry is None or not entry.usable(now()):
        raise unauthorized(INVALID_KEY)
    role_scopes = rt.role_scopes.get(entry.creator_role)
    if role_scopes is None:
        role_scopes = rt.role_scopes[entry.creator_role] = platform.plugins.permissions.scopes_for_role(
            entry.creator_role
        )
    allowed_scopes = entry.scopes & role_scopes
    decision = await rt.limiter.hit(str(entry.key_id), entry.rate_requests, entry.rate_window_seconds)
    key_request = KeyRequest(entry.key_id, entry.organization_id, decision)
    principal = Principal(
        user_id=entry.creator_id,
        organization_id=entry.organization_id,
        role=entry.creator_role,
        scopes=allowed_scopes,
        kind="api_key",
        credential_id=str(entry.key_id),
        extra={"key_scopes": sorted(entry.scopes), "organization_checked": True, "revalidate": key_still_valid},
    )
    return principal, key_request


async def key_still_valid(principal: Principal) -> bool:
    """For ``vetrai.core.auth.still_valid``: the key not revoked, deactivated or expired, its creator active."""
    key = await ApiKey.get_or_none(id=principal.credential_id).select_related("created_by")
    if key is None or not key.is_active or key.revoked_at is not None:
        return False
    if key.expires_at is not None and as_utc(key.expires_at) <= now():
        return False
    creator = key.created_by
    return bool(creator.is_active and creator.organization_id == key.organization_id and creator.role == principal.role)


def over_limit(decision: Decision) -> ProblemError:
    return rate_limited(
        decision.retry_after, f"rate limit of {decision.limit} requests per {decision.window_seconds} s exceeded"
    )


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
        "RateLimit-Policy": f"{decision.limit};w={decision.window_seconds}",
    }


def available_scopes(platform: Platform | None = None) -> list[dict[str, str]]:
    """Scopes are fixed once plugins are loaded, so the runtime keeps this list."""
    platform = platform or current_platform()
    rt = platform.find(RUNTIME)
    if rt is not None and rt.scopes:
        return rt.scopes
    permissions = platform.plugins.permissions.permissions
    return [{"scope": name, "description": permissions[name].description} for name in sorted(permissions)]


def _check_scopes(principal: Principal, scopes: list[str]) -> list[str]:
    """Known scopes the caller holds itself (a key can never be given more than its maker has)."""
    unique = sorted(set(scopes))
    unknown = current_platform().plugins.permissions.known(unique)
    if unknown:
        raise unprocessable(
            [{"loc": ["body", "scopes"], "msg": f"unknown scope {name!r}", "type": "value_error"} for name in unknown],
            f"unknown scopes: {', '.join(unknown)}",
        )
    missing = [name for name in unique if not principal.can(name)]
    if missing:
        raise ProblemError(
            403, f"you cannot grant scopes you do not hold: {', '.join(missing)}", kind="insufficient-scope"
        )
    return unique


def _check_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    expires_at = as_utc(expires_at)
    if expires_at <= now():
        raise field_error("expires_at", "must be in the future")
    return expires_at


def visible_keys(principal: Principal) -> QuerySet[ApiKey]:
    """The organization's live keys for admins; only the caller's own keys for everyone else."""
    queryset = scoped(ApiKey, principal, revoked_at=None)
    if not principal.is_admin:
        queryset = queryset.filter(created_by_id=principal.user_id)
    return queryset


async def get_key(principal: Principal, key_id: uuid.UUID | str) -> ApiKey:
    filters: dict[str, Any] = {"revoked_at": None}
    if not principal.is_admin:
        filters["created_by_id"] = principal.user_id
    key = await get_scoped(ApiKey, principal, key_id, **filters)
    return key


def _check_rate_limit(organization: Organization, limit: dict[str, int] | None) -> None:
    """A key may be slower than its plan allows, never faster (422 above the ceiling).

    The ceiling is the plan's ``api_key_requests_per_minute`` or else the server default; a
    limit passes when neither its rate nor its burst (``requests`` at once) is above it.
    """
    if not limit:
        return
    ceiling_requests, ceiling_window = plan_rate_ceiling(organization, runtime().settings)
    requests, window = limit["requests"], limit["window_seconds"]
    if requests > ceiling_requests or requests * ceiling_window > ceiling_requests * window:
        raise unprocessable(
            [
                {
                    "loc": ["body", "rate_limit"],
                    "msg": f"above the plan's ceiling of {ceiling_requests} requests per {ceiling_window} s",
                    "type": "value_error",
                }
            ],
            f"the rate limit may not exceed {ceiling_requests} requests per {ceiling_window} s",
        )


async def live_key_count(organization_id: uuid.UUID) -> int:
    return await ApiKey.filter(
        Q(expires_at=None) | Q(expires_at__gt=now()), organization_id=organization_id, revoked_at=None
    ).count()


async def create_key(
    principal: Principal,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_limit: dict[str, int] | None = None,
) -> tuple[ApiKey, str]:
    """Issue a key for the caller in the caller's organization; the secret is returned once."""
    if principal.user_id is None or principal.organization_id is None:
        raise ProblemError(403, "only a user of an organization can create API keys")
    granted = _check_scopes(principal, scopes)
    expires_at = _check_expiry(expires_at)
    secret = tokens.generate_key()
    async with in_transaction():
        organization = await Organization.filter(id=principal.organization_id).select_for_update().get()
        _check_rate_limit(organization, rate_limit)
        await ensure_quota(organization, "max_api_keys", await live_key_count(organization.id))
        key = await ApiKey.create(
            organization_id=organization.id,
            created_by_id=principal.user_id,
            name=name,
            prefix=tokens.display_prefix(secret),
            key_hash=sha256_hex(secret),
            scopes=granted,
            expires_at=expires_at,
            rate_limit_requests=rate_limit["requests"] if rate_limit else None,
            rate_limit_window_seconds=rate_limit["window_seconds"] if rate_limit else None,
        )
    await record_audit(
        "keys.key_created",
        principal=principal,
        target_type="api_key",
        target_id=key.id,
        data={
            "name": name,
            "prefix": key.prefix,
            "scopes": granted,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, secret


async def update_key(principal: Principal, key_id: uuid.UUID | str, changes: dict[str, Any]) -> ApiKey:
    """Partial update; only the fields in ``changes`` are touched. Takes effect at once everywhere."""
    key = await get_key(principal, key_id)
    if key.replaced_by_id is not None and "expires_at" in changes:
        raise conflict("this key has been rotated: its grace period cannot be changed (revoke it to end it now)")
    if "scopes" in changes and changes["scopes"] is not None:
        key.scopes = _check_scopes(principal, changes["scopes"])
    if "name" in changes and changes["name"] is not None:
        key.name = changes["name"]
    if "expires_at" in changes:
        key.expires_at = _check_expiry(changes["expires_at"])
    if "rate_limit" in changes:
        limit = changes["rate_limit"]
        _check_rate_limit(await Organization.get(id=key.organization_id), limit)
        key.rate_limit_requests = limit["requests"] if limit else None
        key.rate_limit_window_seconds = limit["window_seconds"] if limit else None
    if "is_active" in changes and changes["is_active"] is not None:
        key.is_active = changes["is_active"]
    await key.save()
    await runtime().cache.invalidate("key", key.id)
    await record_audit(
        "keys.key_updated",
        principal=principal,
        organization_id=key.organization_id,
        target_type="api_key",
        target_id=key.id,
        data={"fields": sorted(changes)},
    )
    return key


async def revoke_key(principal: Principal, key_id: uuid.UUID | str) -> None:
    """Revoke for good: every server process refuses the key from the next request on."""
    key = await get_key(principal, key_id)
    await ApiKey.filter(id=key.id).update(revoked_at=now(), is_active=False)
    await runtime().cache.invalidate("key", key.id)
    await record_audit(
        "keys.key_revoked",
        principal=principal,
        organization_id=key.organization_id,
        target_type="api_key",
        target_id=key.id,
        data={"name": key.name, "prefix": key.prefix},
    )


async def rotate_key(principal: Principal, key_id: uuid.UUID | str, grace_seconds: int | None) -> tuple[ApiKey, str]:
    """A new secret with the same settings; the old one keeps working for ``grace_seconds`` only."""
    rt = runtime()
    grace = rt.settings.rotation_grace_seconds if grace_seconds is None else grace_seconds
    if grace > rt.settings.max_rotation_grace_seconds:
        raise field_error("grace_seconds", f"at most {rt.settings.max_rotation_grace_seconds}")
    key = await get_key(principal, key_id)
    current = now()
    if key.replaced_by_id is not None:
        raise conflict("this key has already been rotated; rotate its replacement")
    if key.expires_at is not None and key.expires_at <= current:
        raise conflict("this key has expired")
    if principal.kind == "api_key":
        _check_scopes(principal, list(key.scopes))
    secret = tokens.generate_key()
    grace_end = current + timedelta(seconds=grace)
    async with in_transaction():
        new_key = await ApiKey.create(
            organization_id=key.organization_id,
            created_by_id=key.created_by_id,
            name=key.name,
            prefix=tokens.display_prefix(secret),
            key_hash=sha256_hex(secret),
            scopes=list(key.scopes),
            expires_at=key.expires_at,
            rate_limit_requests=key.rate_limit_requests,
            rate_limit_window_seconds=key.rate_limit_window_seconds,
            is_active=key.is_active,
            rotated_from_id=key.id,
        )
        old_changes: dict[str, Any] = {"replaced_by_id": new_key.id}
        if grace == 0:
            old_changes.update(revoked_at=current, is_active=False)
        elif key.expires_at is None or key.expires_at > grace_end:
            old_changes["expires_at"] = grace_end
        claimed = await ApiKey.filter(id=key.id, replaced_by_id=None).update(**old_changes)
        if not claimed:
            raise conflict("this key has already been rotated; rotate its replacement")
    await rt.cache.invalidate("key", key.id)
    await record_audit(
        "keys.key_rotated",
        principal=principal,
        organization_id=key.organization_id,
        target_type="api_key",
        target_id=key.id,
        data={"new_key_id": str(new_key.id), "grace_seconds": grace, "old_key_valid_until": grace_end.isoformat()},
    )
    return new_key, secret


async def key_usage(
    principal: Principal, key_id: uuid.UUID | str, start: date | None, end: date | None
) -> dict[str, Any]:
    """Daily totals and per-route counts between ``start`` and ``end`` (inclusive, UTC days)."""
    key = await get_key(principal, key_id)
    end = end or now().date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise field_error("from", "must not be after 'to'", where="query")
    if (end - start).days > 366:
        raise field_error("from", "the range is at most 367 days", where="query")
    rows = await ApiKeyUsage.filter(api_key_id=key.id, day__gte=start, day__lte=end).values(
        "day", "method", "route", "status", "requests"
    )
    daily: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    endpoints: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    total = 0
    for row in rows:
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
        count = row["requests"]
        error = count if row["status"] >= 400 else 0
        total += count
        daily[day][0] += count
        daily[day][1] += error
        endpoints[(row["method"], row["route"])][0] += count
        endpoints[(row["method"], row["route"])][1] += error
    return {
        "key_id": key.id,
        "from": start,
        "to": end,
        "total_requests": total,
        "last_used_at": key.last_used_at,
        "daily": [{"date": day, "requests": value[0], "errors": value[1]} for day, value in sorted(daily.items())],
        "by_endpoint": [
            {"method": method, "route": route, "requests": value[0], "errors": value[1]}
            for (method, route), value in sorted(endpoints.items(), key=lambda item: (-item[1][0], item[0]))
        ],
    }


async def _invalidate(kind: str, value: uuid.UUID) -> None:
    try:
        platform = current_platform()
    except RuntimeError:
        return
    rt = platform.find(RUNTIME)
    if rt is not None:
        await rt.cache.invalidate(kind, value)


@post_save(User)
async def _user_saved(sender: type[User], instance: User, created: bool, using_db: Any, update_fields: Any) -> None:
    """A demoted, deactivated or moved creator's keys lose that power on their next request."""
    if created or (update_fields and USER_FIELDS_THAT_MATTER.isdisjoint(update_fields)):
        return
    await _invalidate("user", instance.id)


@post_delete(User)
async def _user_deleted(sender: type[User], instance: User, using_db: Any) -> None:
    await _invalidate("user", instance.id)


@post_save(Organization)
async def _organization_saved(
    sender: type[Organization], instance: Organization, created: bool, using_db: Any, update_fields: Any
) -> None:
    """A deactivated organization (or a changed plan rate limit) applies to its cached keys at once."""
    if not created:
        await _invalidate("organization", instance.id)


@post_delete(Organization)
async def _organization_deleted(sender: type[Organization], instance: Organization, using_db: Any) -> None:
    await _invalidate("organization", instance.id)
