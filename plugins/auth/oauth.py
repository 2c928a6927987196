"""Standard endpoints for other services: discovery, JWKS, revocation (RFC 7009), introspection (RFC 7662)."""

from __future__ import annotations

from typing import Any

from vetrai.core.auth import Principal
from vetrai.core.models import Organization
from vetrai.core.platform import current_platform
from vetrai.core.security import sha256_hex
from vetrai.plugins.auth.jwt import ALGORITHM
from vetrai.plugins.auth.models import AccessToken, RefreshToken, RevokedJti, Session, User
from vetrai.plugins.auth.service import deny_jti, now, revoke_session, runtime
from vetrai.plugins.auth.token_cache import invalidate

INACTIVE: dict[str, Any] = {"active": False}


def openid_configuration() -> dict[str, Any]:
    base = current_platform().settings.resolved_public_url
    rt = runtime()
    return {
        "issuer": rt.signer.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/api/v1/login",
        "userinfo_endpoint": f"{base}/api/v1/me",
        "revocation_endpoint": f"{base}/api/v1/revoke",
        "introspection_endpoint": f"{base}/api/v1/introspect",
        "registration_endpoint": f"{base}/api/v1/register",
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "access_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": sorted(current_platform().plugins.permissions.permissions),
        "claims_supported": ["iss", "aud", "exp", "iat", "jti", "sub", "org", "role", "sid"],
    }


async def revoke(token: str, hint: str | None) -> None:
    """Revoke whatever ``token`` is (refresh: its family; access: the token); unknown is fine."""
    if not token:
        return
    if hint != "access_token" and await _revoke_refresh(token):
        return
    if token.count(".") == 2:
        try:
            claims = runtime().signer.decode(token)
        except ValueError:
            return
        await deny_jti(claims.jti, claims.expires_at)
        return
    if await AccessToken.filter(token_hash=sha256_hex(token)).delete():
        await invalidate("digest", sha256_hex(token))
        return
    if hint == "access_token":
        await _revoke_refresh(token)


async def _revoke_refresh(token: str) -> bool:
    row = await RefreshToken.get_or_none(token_hash=sha256_hex(token)).select_related("session")
    if row is None:
        return False
    await revoke_session(row.session, "revoked")
    return True


async def introspect(principal: Principal, token: str, hint: str | None) -> dict[str, Any]:
    """RFC 7662 metadata of an active token of the caller's organization, else ``active: false``."""
    if not token:
        return INACTIVE
    described = None
    if hint == "refresh_token":
        described = await _refresh_claims(token) or await _access_claims(token)
    else:
        described = await _access_claims(token) or await _refresh_claims(token)
    if described is None:
        return INACTIVE
    user = await User.get_or_none(id=described["sub"], is_active=True)
    if user is None or not await Organization.filter(id=user.organization_id, is_active=True).exists():
        return INACTIVE
    if not principal.is_super_admin and user.organization_id != principal.organization_id:
        return INACTIVE
    scopes = current_platform().plugins.permissions.scopes_for_role(user.role)
    rt = runtime()
    return {
        "active": True,
        "client_id": rt.settings.audience,
        "username": user.email,
        "scope": " ".join(sorted(scopes)),
        "sub": str(user.id),
        "org": str(user.organization_id),
        "role": user.role,
        "iss": rt.signer.issuer,
        "aud": rt.signer.audience,
        **{key: value for key, value in described.items() if key != "sub"},
    }


async def _session_alive(session_id: Any) -> bool:
    return session_id is None or await Session.filter(id=session_id, revoked_at=None).exists()


async def _access_claims(token: str) -> dict[str, Any] | None:
    if token.count(".") == 2:
        try:
            claims = runtime().signer.decode(token)
        except ValueError:
            return None
        if await RevokedJti.filter(jti=claims.jti).exists() or not await _session_alive(claims.session_id):
            return None
        return {
            "token_type": "access_token",
            "sub": claims.subject,
            "exp": claims.expires_at,
            "iat": claims.issued_at or None,
            "jti": claims.jti,
            "sid": str(claims.session_id) if claims.session_id else None,
        }
    row = await AccessToken.get_or_none(token_hash=sha256_hex(token))
    if row is None or row.expires_at <= now() or not await _session_alive(row.session_id):
        return None
    return {
        "token_type": "access_token",
        "sub": row.user_id,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
        "sid": str(row.session_id) if row.session_id else None,
    }


async def _refresh_claims(token: str) -> dict[str, Any] | None:
    row = await RefreshToken.get_or_none(token_hash=sha256_hex(token)).select_related("session")
    if row is None or row.used_at is not None or row.expires_at <= now():
        return None
    session = row.session
    if session.revoked_at is not None or session.expires_at <= now():
        return None
    return {
        "token_type": "refresh_token",
        "sub": session.user_id,
        "exp": int(min(row.expires_at, session.expires_at).timestamp()),
        "iat": int(row.created_at.timestamp()),
        "sid": str(session.id),
    }
