"""Browser sessions of the console: an auth-plugin session whose tokens live in an HttpOnly cookie.

Signing in calls the auth plugin's ``login`` (same lockouts, audit and deactivation checks as
``POST /api/v1/login``) for an opaque access token and a refresh token; both travel in one
HttpOnly, SameSite=Lax cookie (Secure in production) scoped to ``/console``. Every request
re-checks the access token with the auth plugin, so a revoked session or a deactivated user
stops working at once; an expired access token is rotated with the refresh token. Logout
revokes the session server-side. The CSRF token is an HMAC of the auth session id (of a
random pre-session cookie on the sign-in form), so it needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from quart import Request, Response

from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError
from vetrai.core.platform import current_platform
from vetrai.core.security import random_token
from vetrai.plugins.auth import service as auth_service

SESSION_COOKIE = "vetrai_console"
PRE_SESSION_COOKIE = "vetrai_console_pre"
COOKIE_PATH = "/console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ROTATE_AHEAD_SECONDS = 30


@dataclass
class ConsoleSession:
    """The signed-in browser: its principal, the access token the console calls the API with."""

    principal: Principal
    access_token: str
    refresh_token: str
    rotated: bool = False

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(f"session:{self.principal.extra.get('session_id')}")

    @property
    def cookie_value(self) -> str:
        return f"{self.access_token}.{self.refresh_token}"


def csrf_token_for(binding: str) -> str:
    secret = current_platform().settings.resolved_secret_key.encode()
    return hmac.new(secret, f"vetrai-console-csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def pre_session_binding(request: Request) -> str | None:
    value = request.cookies.get(PRE_SESSION_COOKIE)
    return f"pre:{value}" if value else None


def new_pre_session() -> str:
    return random_token(24)


def csrf_valid(expected: str | None, presented: str | None) -> bool:
    return bool(expected and presented) and hmac.compare_digest(expected, presented)  # type: ignore[arg-type]


def pre_session_csrf_valid(request: Request, presented: str | None) -> bool:
    """A signed-out form (sign in, sign up) carries the token bound to the pre-session cookie."""
    binding = pre_session_binding(request)
    return csrf_valid(csrf_token_for(binding) if binding else None, presented)


async def sign_in(email: str, password: str, *, user_agent: str | None, ip: str | None) -> ConsoleSession:
    """The auth plugin's login, in-process; raises its 401/429 problems unchanged."""
    _user, tokens = await auth_service.login(email, password, "opaque", user_agent=user_agent, ip=ip)
    principal = await auth_service.authenticate_token(tokens["access_token"])
    assert principal is not None
    return ConsoleSession(principal, tokens["access_token"], tokens["refresh_token"], rotated=True)


async def load_session(cookie: str | None, *, ip: str | None) -> ConsoleSession | None:
    """The session of this cookie, its access token rotated if it expired; None when it is over."""
    if not cookie or "." not in cookie:
        return None
    access, _, refresh = cookie.partition(".")
    try:
        principal = await auth_service.authenticate_token(access)
        if principal is not None and not _expiring(principal):
            return ConsoleSession(principal, access, refresh)
    except ProblemError as exc:
        if exc.status != 401:
            raise
    return await _rotate(refresh, ip)


def _expiring(principal: Principal) -> bool:
    """Rotate ahead of time, so the token does not lapse in the middle of a page's API calls."""
    ttl = auth_service.runtime().settings.access_token_ttl_seconds
    left = float(principal.extra.get("expires_at") or 0) - time.time()
    return left < min(ROTATE_AHEAD_SECONDS, ttl / 2)


async def renew(session: ConsoleSession, *, ip: str | None) -> ConsoleSession | None:
    """A new access token for a session whose token the API just refused as expired."""
    return await _rotate(session.refresh_token, ip)


async def _rotate(refresh: str, ip: str | None) -> ConsoleSession | None:
    try:
        pair = await auth_service.refresh(refresh, ip=ip)
        principal = await auth_service.authenticate_token(pair["access_token"])
    except ProblemError as exc:
        if exc.status != 401:
            raise
        return None
    if principal is None:
        return None
    return ConsoleSession(principal, pair["access_token"], pair["refresh_token"], rotated=True)


async def sign_out(session: ConsoleSession) -> None:
    """Revoke the auth session: the cookie's tokens stop working everywhere."""
    await auth_service.logout(session.principal, session.refresh_token)


def _secure() -> bool:
    settings = current_platform().settings
    return settings.env == "production" or settings.resolved_public_url.startswith("https://")


def set_session_cookie(response: Response, session: ConsoleSession) -> None:
    lifetime = auth_service.runtime().settings.refresh_idle_ttl_seconds
    response.set_cookie(
        SESSION_COOKIE,
        session.cookie_value,
        max_age=lifetime,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(),
        samesite="Lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, secure=_secure(), samesite="Lax")


def set_pre_session_cookie(response: Response, value: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE, value, max_age=3600, path=COOKIE_PATH, httponly=True, secure=_secure(), samesite="Lax"
    )
