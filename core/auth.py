"""The request side of authentication: who is calling, and may they do this.

The login endpoints live in the auth plugin; here the core runs the ``vetrai_authenticate``
chain once per request, checks the principal's organization is active, and offers the
decorators every route uses. Token formats are the plugins' business: each impl returns
None for credentials it does not recognise and raises a 401 problem for ones it rejects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast

from quart import g, request

from vetrai.core.errors import ProblemError, forbidden, unauthorized
from vetrai.core.hooks import Principal as Principal
from vetrai.core.platform import current_platform

log = logging.getLogger("vetrai.auth")
P = ParamSpec("P")
R = TypeVar("R")


REVALIDATE_SECONDS = 2.0
"""How long one credential's ``still_valid`` answer is reused in this process."""
_CHECKS_KEY = "credential_checks"
_MAX_CHECKS = 10_000
Revalidator = Callable[[Principal], Awaitable[bool]]
"""What an authenticating plugin puts in ``Principal.extra["revalidate"]``: is the credential still good?"""


async def still_valid(principal: Principal) -> bool:
    """Whether ``principal``'s credential would still be accepted now.

    Long-lived responses (Server-Sent Events streams) authenticate once, at connect; they
    call this every few seconds and end when it turns false: the user deactivated, the
    organization deactivated, the token logged out or its session revoked, the API key
    revoked. The core checks the organization; the plugin that authenticated the principal
    checks the rest through the ``extra["revalidate"]`` callable it put there. Answers are
    cached per credential for ``REVALIDATE_SECONDS`` (a refusal for good), and a check that
    fails with an error counts as a refusal.
    """
    platform = current_platform()
    checks: dict[tuple[str, str], tuple[float, bool]] = platform.state.setdefault(_CHECKS_KEY, {})
    key = (principal.kind, principal.credential_id or str(principal.user_id))
    now = time.monotonic()
    cached = checks.get(key)
    if cached is not None and (not cached[1] or now - cached[0] < REVALIDATE_SECONDS):
        return cached[1]
    try:
        valid = principal.organization_id is None or await platform.organization_is_active(principal.organization_id)
        revalidate: Revalidator | None = principal.extra.get("revalidate")
        if valid and revalidate is not None:
            valid = await revalidate(principal)
    except Exception:
        log.warning("could not re-check a credential; treating it as no longer valid", exc_info=True)
        return False
    if len(checks) >= _MAX_CHECKS:
        checks.clear()
    checks[key] = (now, valid)
    return valid


def bearer_token() -> str | None:
    """The credential of the current request: ``Authorization: Bearer`` or ``X-API-Key``."""
    headers = request.headers
    # ``getlist``: werkzeug's ``get`` raises and catches an exception for a missing header.
    authorization = headers.getlist("Authorization")
    scheme, _, value = (authorization[0] if authorization else "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_keys = headers.getlist("X-API-Key")
    api_key = api_keys[0].strip() if api_keys else ""
    return api_key or None


async def authenticate_request() -> Principal | None:
    """Run the authenticate chain once per request; the result is cached on ``g``."""
    if "vetrai_principal" in g:
        return cast(Principal | None, g.vetrai_principal)
    platform = current_platform()
    principal: Principal | None = None
    presented = bearer_token() is not None
    if presented:
        principal = await platform.plugins.afirst_result("vetrai_authenticate", request=request)
        if principal is None:
            raise unauthorized("invalid or unrecognised credentials")
        # An authenticator that already knows the organization is active (the keys plugin
        # caches it with its verified keys) sets extra["organization_checked"] to skip a query.
        if (
            principal.organization_id is not None
            and not principal.extra.get("organization_checked")
            and not await platform.organization_is_active(principal.organization_id)
        ):
            raise unauthorized("the organization is deactivated")
    g.vetrai_principal = principal
    return principal


async def current_principal() -> Principal:
    """The authenticated principal, or a 401 problem."""
    principal = await authenticate_request()
    if principal is None:
        raise unauthorized()
    return principal


def require_auth(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Route decorator: a valid credential is required (401 otherwise)."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        await current_principal()
        return await func(*args, **kwargs)

    return wrapper


def require_role(*roles: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Route decorator: the caller's role is one of ``roles`` (super_admin always passes)."""

    def decorator(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = await current_principal()
            if not principal.has_role(*roles):
                raise forbidden(f"requires one of the roles: {', '.join(roles)}")
            return await func(*args, **kwargs)

        return wrapper

    return decorator


def require_scope(*scopes: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Route decorator: the caller holds every scope in ``scopes`` (403 otherwise)."""

    def decorator(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = await current_principal()
            missing = [scope for scope in scopes if not principal.can(scope)]
            if missing:
                raise ProblemError(403, f"missing scope: {', '.join(missing)}", kind="insufficient-scope")
            return await func(*args, **kwargs)

        return wrapper

    return decorator


def warn_untrusted_forwarding() -> None:
    """Once per process in production: X-Forwarded-For arrives but ``VETRAI_TRUSTED_PROXIES=0``.

    Behind a proxy that is not trusted every caller has the proxy's address, so one guesser's
    failed logins lock the login of everyone (the IP lockout) and every per-address limit is
    shared by all users.
    """
    platform = current_platform()
    settings = platform.settings
    if settings.env != "production" or settings.trusted_proxies or platform.state.get("forwarding_warned"):
        return
    if "X-Forwarded-For" in request.headers:
        platform.state["forwarding_warned"] = True
        log.warning(
            "requests arrive with X-Forwarded-For but VETRAI_TRUSTED_PROXIES=0: every client looks like the "
            "proxy, so one attacker's failed logins lock out everyone; set VETRAI_TRUSTED_PROXIES to the number "
            "of proxies in front of the server (docs/operations.md)"
        )


def client_ip() -> str | None:
    """The caller's IP, trusting ``VETRAI_TRUSTED_PROXIES`` hops of X-Forwarded-For."""
    hops = current_platform().settings.trusted_proxies
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if hops and forwarded:
        return forwarded[-min(hops, len(forwarded))]
    return request.remote_addr
