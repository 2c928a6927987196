"""Users, credentials and sessions, with no HTTP in it (routes and tests call this)."""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import (
    ConfigurationError,
    ProblemError,
    conflict,
    forbidden,
    not_found,
    rate_limited,
    unauthorized,
    unprocessable,
)
from vetrai.core.models import Organization
from vetrai.core.organizations.service import create_organization
from vetrai.core.permissions import ORG_ADMIN
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.core.security import random_token, sha256_hex
from vetrai.plugins.auth.jwt import JwtSigner
from vetrai.plugins.auth.lockout import Limiter, build_limiter, delay_for, subject_key
from vetrai.plugins.auth.models import AccessToken, RefreshToken, RevokedJti, Session, User
from vetrai.plugins.auth.passwords import hash_password, password_problems, verify_password
from vetrai.plugins.auth.settings import AuthSettings
from vetrai.plugins.auth.token_cache import TokenCache, VerifiedToken, invalidate

TokenFormat = Literal["jwt", "opaque"]


@dataclass
class AuthRuntime:
    settings: AuthSettings
    signer: JwtSigner
    limiter: Limiter
    grace_secret: bytes
    tokens: TokenCache
    background: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)
    """Password-reset requests being handled after their 202 answer."""


RUNTIME: Slot[AuthRuntime] = Slot("auth")


def build_runtime(platform: Platform) -> AuthRuntime:
    settings = platform.plugin_settings("auth", AuthSettings)
    if platform.settings.env == "production" and not settings.jwt_private_keys:
        raise ConfigurationError(
            "VETRAI_ENV=production requires VETRAI_AUTH_JWT_PRIVATE_KEYS (see `vetrai generate-jwks`)"
        )
    issuer = settings.issuer or platform.settings.resolved_public_url
    signer = JwtSigner.from_settings(settings.jwt_private_keys, platform.settings.data_dir, issuer, settings.audience)
    limiter = build_limiter(platform.redis, platform.settings.redis_prefix, platform.settings.rate_limit_fail_open)
    tokens = TokenCache(
        "auth-tokens",
        settings.token_cache_ttl_seconds,
        settings.token_cache_max_entries,
        platform.redis,
        platform.settings.redis_prefix,
    )
    return AuthRuntime(settings, signer, limiter, platform.settings.resolved_secret_key.encode(), tokens)


def runtime() -> AuthRuntime:
    return current_platform().get(RUNTIME)


def now() -> datetime:
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_policy(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise unprocessable(
            [{"loc": ["body", "password"], "msg": problem, "type": "password_policy"} for problem in problems],
            problems[0],
        )


async def create_user(
    organization: Organization | uuid.UUID,
    email: str,
    password: str,
    *,
    role: str = "user",
    first_name: str = "",
    last_name: str = "",
    email_verified: bool = False,
) -> User:
    """Create a user with a policy-checked, argon2id-hashed password; 409 on a taken email."""
    email = normalize_email(email)
    check_password_policy(password, email)
    organization_id = organization.id if isinstance(organization, Organization) else organization
    password_hash = await hash_password(password)
    try:
        return await User.create(
            organization_id=organization_id,
            email=email,
            password_hash=password_hash,
            role=role,
            first_name=first_name,
            last_name=last_name,
            email_verified=email_verified,
        )
    except IntegrityError:
        raise conflict("a user with this email already exists") from None


async def register(email: str, password: str, first_name: str, last_name: str, organization_name: str | None) -> User:
    """Self-service sign-up: a new organization with the new user as its org_admin."""
    email = normalize_email(email)
    check_password_policy(password, email)
    if await User.filter(email=email).exists():
        raise conflict("a user with this email already exists")
    async with in_transaction():
        organization = await create_organization(organization_name or f"{email.split('@')[0]}'s organization")
        user = await create_user(
            organization, email, password, role=ORG_ADMIN, first_name=first_name, last_name=last_name
        )
    await record_audit(
        "auth.user_registered", organization_id=organization.id, actor_id=user.id, target_type="user", target_id=user.id
    )
    await current_platform().events.emit(
        "auth.user_registered",
        {"user_id": str(user.id), "email": user.email},
        organization_id=organization.id,
        actor_id=user.id,
    )
    return user


async def issue_tokens(
    user: User, token_format: TokenFormat = "jwt", *, user_agent: str | None = None, ip: str | None = None
) -> dict[str, Any]:
    """A new session (refresh family) and its first access/refresh pair."""
    settings = runtime().settings
    session = await Session.create(
        user=user,
        user_agent=(user_agent or "")[:300] or None,
        ip=ip,
        token_format=token_format,
        last_used_at=now(),
        expires_at=now() + timedelta(seconds=settings.refresh_absolute_ttl_seconds),
    )
    return await token_pair(user, session, token_format)


async def token_pair(user: User, session: Session, token_format: TokenFormat) -> dict[str, Any]:
    settings = runtime().settings
    refresh = random_token()
    await RefreshToken.create(
        session=session,
        token_hash=sha256_hex(refresh),
        expires_at=min(session.expires_at, now() + timedelta(seconds=settings.refresh_idle_ttl_seconds)),
    )
    access = await access_token(user, session, token_format)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }


async def access_token(user: User, session: Session | None, token_format: TokenFormat) -> str:
    rt = runtime()
    ttl = rt.settings.access_token_ttl_seconds
    if token_format == "opaque":
        token = random_token()
        await AccessToken.create(
            user=user, session=session, token_hash=sha256_hex(token), expires_at=now() + timedelta(seconds=ttl)
        )
        return token
    token, _claims = rt.signer.issue(user.id, user.organization_id, user.role, ttl, session.id if session else None)
    return token


async def _rate_limit(key: str, limit: int, detail: str) -> None:
    """Count one event for ``key`` and refuse it past ``limit`` per lockout window (0 = off)."""
    rt = runtime()
    if limit <= 0:
        return
    window = rt.settings.lockout_window_seconds
    if await rt.limiter.hit(key, window) > limit:
        raise rate_limited(window, detail)


async def check_registration_rate(ip: str | None) -> None:
    if ip:
        await _rate_limit(
            subject_key("register-ip", ip), runtime().settings.register_rate_limit_per_ip, "too many registrations"
        )


async def login(
    email: str,
    password: str,
    token_format: TokenFormat = "jwt",
    *,
    user_agent: str | None = None,
    ip: str | None = None,
) -> tuple[User, dict[str, Any]]:
    """Check credentials (constant work for unknown emails), enforce lockouts, start a session."""
    rt = runtime()
    email = normalize_email(email)
    account_key = await pair_key(email, ip)
    ip_key = subject_key("ip", ip) if ip else None
    retry_after = await rt.limiter.locked_for(account_key)
    if ip_key:
        retry_after = max(retry_after, await rt.limiter.locked_for(ip_key))
    if retry_after:
        raise rate_limited(retry_after, "too many failed login attempts; try again later")
    user = await User.get_or_none(email=email)
    valid, new_hash = await verify_password(password, user.password_hash if user else None)
    if user is None or not valid:
        await _login_failed(email, user, account_key, ip_key, ip)
        raise unauthorized("invalid email or password")
    if not user.is_active:
        raise unauthorized("this account is deactivated")
    if not await Organization.filter(id=user.organization_id, is_active=True).exists():
        raise unauthorized("the organization is deactivated")
    await rt.limiter.reset(account_key)
    if ip_key:
        await _rate_limit(f"login-{ip_key}", rt.settings.login_rate_limit_per_ip, "too many logins from this address")
    user.last_login_at = now()
    fields = ["last_login_at", "updated_at"]
    if new_hash:
        user.password_hash = new_hash
        fields.append("password_hash")
    await user.save(update_fields=fields)
    tokens = await issue_tokens(user, token_format, user_agent=user_agent, ip=ip)
    await record_audit(
        "auth.login_succeeded",
        organization_id=user.organization_id,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        data={"token_format": token_format, "rehashed": bool(new_hash)},
    )
    return user, tokens


async def pair_key(email: str, ip: str | None) -> str:
    """The lockout key of one account from one client address, in the account's current generation."""
    generation = await runtime().limiter.generation(subject_key("account-generation", email))
    return subject_key("pair", f"{generation}|{email}|{ip or '-'}")


async def end_lockout(email: str) -> None:
    """Forget every failure of the account from every address (after a completed password reset)."""
    await runtime().limiter.bump(subject_key("account-generation", normalize_email(email)))


async def _login_failed(email: str, user: User | None, account_key: str, ip_key: str | None, ip: str | None) -> None:
    """Audit the failure; past the threshold the (account, address) pair waits, doubling each time."""
    rt = runtime()
    settings = rt.settings
    organization_id = user.organization_id if user else None
    await record_audit(
        "auth.login_failed",
        organization_id=organization_id,
        target_type="user",
        target_id=user.id if user else None,
        data={"email": email},
    )
    failures = await rt.limiter.hit(account_key, settings.lockout_window_seconds)
    delay = delay_for(
        failures, settings.lockout_account_failures, settings.lockout_delay_seconds, settings.lockout_seconds
    )
    if delay:
        await rt.limiter.lock(account_key, delay)
        await record_audit(
            "auth.lockout",
            organization_id=organization_id,
            target_type="user",
            target_id=user.id if user else None,
            data={"scope": "account_and_ip", "email": email, "ip": ip, "failures": failures, "seconds": delay},
        )
    if ip_key:
        ip_failures = await rt.limiter.hit(ip_key, settings.lockout_window_seconds)
        if ip_failures >= settings.lockout_ip_failures:
            await rt.limiter.lock(ip_key, settings.lockout_seconds)
            await record_audit(
                "auth.lockout",
                data={"scope": "ip", "ip": ip, "failures": ip_failures, "seconds": settings.lockout_seconds},
            )


async def active_user(user_id: uuid.UUID) -> User:
    """The user if it and its organization are active; otherwise a 401."""
    user = await User.get_or_none(id=user_id)
    if user is None or not user.is_active:
        raise unauthorized("this account is deactivated")
    if not await Organization.filter(id=user.organization_id, is_active=True).exists():
        raise unauthorized("the organization is deactivated")
    return user


def _grace_key(refresh_token: str) -> bytes:
    return hmac.new(runtime().grace_secret, b"vetrai-refresh-grace:" + refresh_token.encode(), hashlib.sha256).digest()


def seal_pair(refresh_token: str, pair: dict[str, Any]) -> str:
    """Encrypt the successor pair under a key only the presenter of ``refresh_token`` can derive."""
    nonce = os.urandom(12)
    sealed = AESGCM(_grace_key(refresh_token)).encrypt(nonce, json.dumps(pair).encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_pair(refresh_token: str, sealed: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return json.loads(AESGCM(_grace_key(refresh_token)).decrypt(raw[:12], raw[12:], None))
    except (InvalidTag, ValueError):
        return None


async def refresh(token: str, *, ip: str | None = None) -> dict[str, Any]:
    """Rotate a refresh token: single use, reuse revokes the family, retries get the same pair."""
    row = await RefreshToken.get_or_none(token_hash=sha256_hex(token)).select_related("session")
    if row is None:
        raise unauthorized("invalid refresh token")
    session = row.session
    if session.revoked_at is not None:
        raise unauthorized("this session has been revoked")
    if row.used_at is not None:
        return await _retry_or_reuse(row, session, token)
    current = now()
    if row.expires_at <= current or session.expires_at <= current:
        raise unauthorized("the refresh token has expired")
    user = await active_user(session.user_id)
    pair = await token_pair(user, session, session.token_format)  # type: ignore[arg-type]
    successor_hash = sha256_hex(pair["refresh_token"])
    claimed = await RefreshToken.filter(id=row.id, used_at=None).update(
        used_at=current, replaced_by_hash=successor_hash, rotated_pair=seal_pair(token, pair)
    )
    if not claimed:
        await RefreshToken.filter(token_hash=successor_hash).delete()
        await AccessToken.filter(token_hash=sha256_hex(pair["access_token"])).delete()
        return await _retry_or_reuse(await RefreshToken.get(id=row.id), session, token)
    await Session.filter(id=session.id).update(last_used_at=current, ip=ip or session.ip)
    return pair


async def _retry_or_reuse(row: RefreshToken, session: Session, token: str) -> dict[str, Any]:
    """A rotated token again: the same successor pair within the grace window, else a theft."""
    grace = runtime().settings.refresh_reuse_grace_seconds
    if row.used_at is not None and row.rotated_pair and (now() - row.used_at).total_seconds() <= grace:
        successor = await RefreshToken.get_or_none(token_hash=row.replaced_by_hash or "")
        pair = unseal_pair(token, row.rotated_pair)
        if successor is not None and successor.used_at is None and pair is not None:
            await active_user(session.user_id)
            return pair
    await revoke_session(session, "reuse_detected")
    user = await User.get_or_none(id=session.user_id)
    await record_audit(
        "auth.token_reuse_detected",
        organization_id=user.organization_id if user else None,
        actor_id=session.user_id,
        target_type="session",
        target_id=session.id,
        data={"rotated_at": row.used_at.isoformat() if row.used_at else None},
    )
    raise unauthorized("refresh token reuse detected; the session has been revoked")


async def revoke_session(session: Session, reason: str) -> None:
    """End a family: its refresh tokens stop working, opaque tokens vanish, JWTs fail the sid check."""
    await Session.filter(id=session.id, revoked_at=None).update(revoked_at=now(), revoked_reason=reason)
    await AccessToken.filter(session_id=session.id).delete()
    await invalidate("session", session.id)


async def revoke_user_sessions(user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None) -> int:
    """Revoke every session of a user except ``keep``; returns how many were revoked."""
    query = Session.filter(user_id=user_id, revoked_at=None)
    if keep is not None:
        query = query.exclude(id=keep)
    ids = await query.values_list("id", flat=True)
    if ids:
        await Session.filter(id__in=ids).update(revoked_at=now(), revoked_reason=reason)
    stale = AccessToken.filter(user_id=user_id)
    if keep is not None:
        stale = stale.exclude(session_id=keep)
    await stale.delete()
    # Over-invalidating the kept session is harmless: its next request verifies again.
    await invalidate("user", user_id)
    return len(ids)


async def deny_jti(jti: str, expires_at: int) -> None:
    """Deny a JWT id until the token would have expired anyway."""
    until = datetime.fromtimestamp(expires_at, UTC)
    if until <= now():
        return
    try:
        await RevokedJti.create(jti=jti, expires_at=until)
    except IntegrityError:
        pass
    await invalidate("token", jti)


async def logout(principal: Principal, refresh_token: str | None) -> None:
    """The access token in use dies now and the session (and ``refresh_token``'s family) ends."""
    extra = principal.extra
    if extra.get("token_kind") == "jwt" and principal.credential_id:
        await deny_jti(principal.credential_id, int(extra.get("expires_at") or 0))
    elif extra.get("token_kind") == "opaque" and principal.credential_id:
        await AccessToken.filter(id=principal.credential_id).delete()
        await invalidate("token", principal.credential_id)
    session_ids = {extra["session_id"]} if extra.get("session_id") else set()
    if refresh_token:
        row = await RefreshToken.get_or_none(token_hash=sha256_hex(refresh_token)).select_related("session")
        if row is not None and row.session.user_id == principal.user_id:
            session_ids.add(row.session.id)
    for session in await Session.filter(id__in=list(session_ids), user_id=principal.user_id):
        await revoke_session(session, "logout")
    await record_audit("auth.logout", principal=principal, target_type="user", target_id=principal.user_id)


async def authenticate_token(token: str) -> Principal | None:
    """A Principal for a JWT or opaque access token; None for credentials that are not ours.

    A verified token is served from the runtime's token cache (see ``token_cache``); its
    expiry is checked on every request, everything else is invalidated when it changes.
    """
    if token.startswith("vk_"):
        return None
    rt = runtime()
    digest = sha256_hex(token)
    verified = rt.tokens.get(digest) or await rt.tokens.load(
        digest, lambda: _verify_token(token), lambda entry: entry.tags(digest)
    )
    if verified is None:  # _verify_token raises rather than returning None
        raise unauthorized("invalid or expired access token")
    if verified.expires_at <= time.time():
        rt.tokens.forget(digest)
        raise unauthorized("invalid or expired access token")
    extra: dict[str, Any] = {
        "token_kind": verified.token_kind,
        "session_id": verified.session_id,
        "expires_at": verified.expires_at,
        # The rows are fresh (or invalidated on change): the core skips its organization
        # query and principal_user() reuses the user instead of loading it again.
        "organization_checked": True,
        "user": verified.user,
        "revalidate": token_still_valid,
    }
    user = verified.user
    return Principal(
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,
        scopes=verified.scopes,
        kind="user",
        credential_id=verified.credential_id,
        extra=extra,
    )


async def _verify_token(token: str) -> VerifiedToken:
    """Check the signature or the stored hash, revocation, the user and the organization."""
    if token.count(".") == 2:
        try:
            claims = runtime().signer.decode(token)
        except ValueError:
            raise unauthorized("invalid or expired access token") from None
        if await RevokedJti.filter(jti=claims.jti).exists():
            raise unauthorized("this access token has been revoked")
        if (
            claims.session_id is not None
            and not await Session.filter(id=claims.session_id, user_id=claims.subject, revoked_at=None).exists()
        ):
            raise unauthorized("this session has been revoked")
        user = await User.get_or_none(id=claims.subject)
        credential, kind, session_id, expires_at = claims.jti, "jwt", claims.session_id, claims.expires_at
    else:
        row = await AccessToken.get_or_none(token_hash=sha256_hex(token)).select_related("user")
        if row is None or row.expires_at <= now():
            raise unauthorized("invalid or expired access token")
        user = row.user
        credential, kind, session_id, expires_at = (
            str(row.id),
            "opaque",
            row.session_id,
            int(row.expires_at.timestamp()),
        )
    if user is None or not user.is_active:
        raise unauthorized("this account is deactivated")
    if not await Organization.filter(id=user.organization_id, is_active=True).exists():
        raise unauthorized("the organization is deactivated")
    scopes = current_platform().plugins.permissions.scopes_for_role(user.role)
    return VerifiedToken(user, scopes, credential, kind, session_id, expires_at)


async def token_still_valid(principal: Principal) -> bool:
    """For ``vetrai.core.auth.still_valid``: the token not logged out, its session live, the user active."""
    extra = principal.extra
    if extra.get("token_kind") == "jwt" and await RevokedJti.filter(jti=principal.credential_id).exists():
        return False
    if extra.get("token_kind") == "opaque" and not await AccessToken.filter(id=principal.credential_id).exists():
        return False
    session_id = extra.get("session_id")
    if session_id is not None and not await Session.filter(id=session_id, revoked_at=None).exists():
        return False
    return await User.filter(id=principal.user_id, is_active=True).exists()


async def principal_user(principal: Principal) -> User:
    """The caller's own user row: a private copy of the one authentication loaded, if any.

    A copy, because the loaded row is shared by every request with the same cached token and
    callers may change and save what they get.
    """
    user = principal.extra.get("user")
    return copy.copy(user) if isinstance(user, User) else await active_user(principal.user_id)  # type: ignore[arg-type]


async def principal_user_readonly(principal: Principal) -> User:
    """The caller's own user row to read (``GET /me``): the one authentication loaded, shared
    with other requests of the same token, so never to be changed; no copy per request."""
    user = principal.extra.get("user")
    return user if isinstance(user, User) else await active_user(principal.user_id)  # type: ignore[arg-type]


def require_user_session(principal: Principal) -> None:
    """Account security endpoints are for people with a session, not for API keys."""
    if principal.kind != "user":
        raise forbidden("this endpoint needs a user's access token, not an API key")


async def update_profile(principal: Principal, changes: dict[str, Any]) -> User:
    user = await principal_user(principal)
    for field, value in changes.items():
        setattr(user, field, value)
    await user.save()
    return user


async def change_password(principal: Principal, current_password: str, new_password: str) -> None:
    """Verify the current password, store the new one, and end every other session."""
    rt = runtime()
    user = await principal_user(principal)
    # Its own counter: wrong current passwords typed in a session never lock the login.
    account_key = subject_key("password-change", str(user.id))
    retry_after = await rt.limiter.locked_for(account_key)
    if retry_after:
        raise rate_limited(retry_after, "too many failed password attempts; try again later")
    valid, _ = await verify_password(current_password, user.password_hash)
    if not valid:
        await record_audit("auth.password_change_failed", principal=principal, target_type="user", target_id=user.id)
        if (
            await rt.limiter.hit(account_key, rt.settings.lockout_window_seconds)
            >= rt.settings.lockout_account_failures
        ):
            await rt.limiter.lock(account_key, rt.settings.lockout_seconds)
            await record_audit(
                "auth.lockout",
                principal=principal,
                target_type="user",
                target_id=user.id,
                data={"scope": "account", "email": user.email},
            )
        raise ProblemError(400, "the current password is wrong", kind="wrong-password")
    check_password_policy(new_password, user.email)
    user.password_hash = await hash_password(new_password)
    await user.save(update_fields=["password_hash", "updated_at"])
    revoked = await revoke_user_sessions(user.id, "password_changed", keep=principal.extra.get("session_id"))
    await record_audit(
        "auth.password_changed",
        principal=principal,
        target_type="user",
        target_id=user.id,
        data={"sessions_revoked": revoked},
    )
    await announce_password_changed(user)


def active_sessions(principal: Principal) -> Any:
    return Session.filter(user_id=principal.user_id, revoked_at=None, expires_at__gt=now())


async def end_session(principal: Principal, session_id: uuid.UUID | str) -> None:
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        raise not_found("session") from None
    session = await Session.get_or_none(id=key, user_id=principal.user_id, revoked_at=None)
    if session is None:
        raise not_found("session")
    await revoke_session(session, "ended_by_user")
    await record_audit("auth.session_revoked", principal=principal, target_type="session", target_id=session.id)


async def announce_password_changed(user: User) -> None:
    """``auth.password_changed``, after a change or a reset alike: listeners (the notifications
    plugin mails the owner) care that the password changed, not how."""
    await current_platform().events.emit(
        "auth.password_changed",
        {"user_id": str(user.id), "email": user.email},
        organization_id=user.organization_id,
        actor_id=user.id,
    )
