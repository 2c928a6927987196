"""Password reset and e-mail verification: random one-time tokens, stored hashed, single use.

The auth plugin sends no e-mail: it emits ``auth.password_reset_requested`` and
``auth.verification_requested`` with a ready link, and the notifications plugin (if enabled)
delivers them. A reset request answers the same whether or not the address exists.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlencode

from vetrai.core.audit import record_audit
from vetrai.core.errors import ProblemError, conflict
from vetrai.core.platform import current_platform
from vetrai.core.security import random_token, sha256_hex
from vetrai.plugins.auth.lockout import subject_key
from vetrai.plugins.auth.models import OneTimeToken, User
from vetrai.plugins.auth.passwords import hash_password
from vetrai.plugins.auth.service import (
    announce_password_changed,
    check_password_policy,
    end_lockout,
    normalize_email,
    now,
    revoke_user_sessions,
    runtime,
)

log = logging.getLogger("vetrai.auth")
RESET = "reset"
VERIFY = "verify"
RESET_REQUESTS_PER_WINDOW = 5


def _invalid_token() -> ProblemError:
    return ProblemError(400, "the token is invalid, used or expired", kind="invalid-token")


def _link(path: str, token: str) -> str:
    return f"{current_platform().settings.resolved_public_url}{path}?{urlencode({'token': token})}"


async def _issue(user: User, purpose: str, ttl_seconds: int) -> str:
    """A fresh token; earlier unused tokens of the same purpose stop working."""
    await OneTimeToken.filter(user_id=user.id, purpose=purpose, used_at=None).update(used_at=now())
    token = random_token()
    await OneTimeToken.create(
        user=user, purpose=purpose, token_hash=sha256_hex(token), expires_at=now() + timedelta(seconds=ttl_seconds)
    )
    return token


async def _find(token: str, purpose: str) -> tuple[OneTimeToken, User]:
    row = await OneTimeToken.get_or_none(token_hash=sha256_hex(token), purpose=purpose)
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise _invalid_token()
    user = await User.get_or_none(id=row.user_id, is_active=True)
    if user is None:
        raise _invalid_token()
    return row, user


async def _consume(row: OneTimeToken) -> None:
    """Mark used with a conditional update, so two concurrent uses cannot both succeed."""
    if not await OneTimeToken.filter(id=row.id, used_at=None).update(used_at=now()):
        raise _invalid_token()


def request_password_reset_later(email: str) -> None:
    """Handle a reset request after the 202 answer, for known and unknown addresses alike.

    The lookup, the token and the event take time only for a known address; doing all of
    it in the background makes both answers take the same time, so the response time no
    longer tells whether an address has an account.
    """
    rt = runtime()
    task = asyncio.create_task(_request_safely(email))
    rt.background.add(task)
    task.add_done_callback(rt.background.discard)


async def _request_safely(email: str) -> None:
    try:
        await request_password_reset(email)
    except Exception:
        log.exception("handling a password reset request failed")


async def request_password_reset(email: str) -> None:
    """Emit the reset event for an active account; unknown addresses do nothing, silently."""
    email = normalize_email(email)
    rt = runtime()
    user = await User.get_or_none(email=email, is_active=True)
    if user is None:
        log.info("password reset requested for an unknown or inactive address")
        return
    requests = await rt.limiter.hit(subject_key("reset", email), rt.settings.lockout_window_seconds)
    if requests > RESET_REQUESTS_PER_WINDOW:
        log.warning("password reset requests throttled for user %s", user.id)
        return
    token = await _issue(user, RESET, rt.settings.reset_token_ttl_seconds)
    await record_audit(
        "auth.password_reset_requested", organization_id=user.organization_id, target_type="user", target_id=user.id
    )
    await current_platform().events.emit(
        "auth.password_reset_requested",
        {"user_id": str(user.id), "email": user.email, "token": token, "reset_url": _link("/reset-password", token)},
        organization_id=user.organization_id,
        actor_id=user.id,
    )


async def confirm_password_reset(token: str, new_password: str) -> None:
    """Set the new password, verify the address (the link proved it) and end every session."""
    row, user = await _find(token, RESET)
    check_password_policy(new_password, user.email)
    await _consume(row)
    user.password_hash = await hash_password(new_password)
    user.email_verified = True
    await user.save(update_fields=["password_hash", "email_verified", "updated_at"])
    await end_lockout(user.email)  # the reset proved the mailbox: no guesser may keep its owner out
    revoked = await revoke_user_sessions(user.id, "password_reset")
    await record_audit(
        "auth.password_reset",
        organization_id=user.organization_id,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        data={"sessions_revoked": revoked},
    )
    await announce_password_changed(user)


async def send_verification(user: User) -> None:
    """Emit ``auth.verification_requested``; 409 when the address is already verified."""
    if user.email_verified:
        raise conflict("the email address is already verified")
    token = await _issue(user, VERIFY, runtime().settings.verify_token_ttl_seconds)
    await current_platform().events.emit(
        "auth.verification_requested",
        {"user_id": str(user.id), "email": user.email, "token": token, "verify_url": _link("/verify-email", token)},
        organization_id=user.organization_id,
        actor_id=user.id,
    )


async def verify_email(token: str) -> User:
    row, user = await _find(token, VERIFY)
    await _consume(row)
    user.email_verified = True
    await user.save(update_fields=["email_verified", "updated_at"])
    await record_audit(
        "auth.email_verified",
        organization_id=user.organization_id,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
    )
    return user
