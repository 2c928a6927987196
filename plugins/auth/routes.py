from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import DataSource, document_request, validate_querystring, validate_request, validate_response

from vetrai.core.auth import client_ip, current_principal, require_scope
from vetrai.core.models import AuditLog
from vetrai.core.openapi import public
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.requests import optional_body
from vetrai.core.tenancy import scoped
from vetrai.plugins.auth import oauth, recovery, service, users
from vetrai.plugins.auth.schemas import (
    AuthAccepted,
    AuthAuditLogOut,
    AuthAuditPage,
    AuthAuditQuery,
    AuthChangePassword,
    AuthIntrospection,
    AuthJwks,
    AuthLogin,
    AuthLogout,
    AuthOpenIdConfiguration,
    AuthPasswordResetConfirm,
    AuthPasswordResetRequest,
    AuthProfileUpdate,
    AuthRefresh,
    AuthRegister,
    AuthRegistered,
    AuthRevokeResult,
    AuthSessionOut,
    AuthSessionPage,
    AuthSessionQuery,
    AuthTokenPair,
    AuthTokenRequest,
    AuthUserCreate,
    AuthUserListQuery,
    AuthUserOut,
    AuthUserPage,
    AuthUserUpdate,
    AuthVerifyEmail,
)

blueprint = Blueprint("auth", __name__)
well_known = Blueprint("auth_well_known", __name__)


def _user_agent() -> str | None:
    return request.headers.get("User-Agent")


@blueprint.post("/register")
@public
@validate_request(AuthRegister)
@validate_response(AuthRegistered, 201)
async def register(data: AuthRegister) -> tuple[dict, int]:
    """Sign up: creates a new organization with you as its org_admin (no role or organization choice)."""
    await service.check_registration_rate(client_ip())
    user = await service.register(data.email, data.password, data.first_name, data.last_name, data.organization_name)
    await recovery.send_verification(user)
    tokens = await service.issue_tokens(user, user_agent=_user_agent(), ip=client_ip())
    return {"user": AuthUserOut.model_validate(user), **tokens}, 201


@blueprint.post("/login")
@public
@document_request(AuthLogin)
@validate_response(AuthTokenPair)
async def login() -> dict:
    """Log in with email and password (JSON, or the OAuth2 password form with ``username``)."""
    data = await optional_body(AuthLogin, form_aliases={"username": "email"})
    _user, tokens = await service.login(
        data.email, data.password, data.token_format, user_agent=_user_agent(), ip=client_ip()
    )
    return tokens


@blueprint.post("/refresh")
@public
@validate_request(AuthRefresh)
@validate_response(AuthTokenPair)
async def refresh(data: AuthRefresh) -> dict:
    """Rotate a refresh token into a new pair; a reused token revokes its whole session."""
    return await service.refresh(data.refresh_token, ip=client_ip())


@blueprint.post("/logout")
@document_request(AuthLogout)
async def logout() -> tuple[str, int]:
    """End this session: the access token stops working at once and the refresh family is revoked."""
    principal = await current_principal()
    service.require_user_session(principal)
    data = await optional_body(AuthLogout)
    await service.logout(principal, data.refresh_token)
    return "", 204


@blueprint.get("/me")
@validate_response(AuthUserOut)
async def me() -> AuthUserOut:
    """Your own profile."""
    principal = await current_principal()
    return AuthUserOut.model_validate(await service.principal_user_readonly(principal))


@blueprint.put("/me")
@validate_request(AuthProfileUpdate)
@validate_response(AuthUserOut)
async def update_me(data: AuthProfileUpdate) -> AuthUserOut:
    """Change your profile (first and last name); fields not sent stay as they are."""
    principal = await current_principal()
    service.require_user_session(principal)
    user = await service.update_profile(principal, data.model_dump(exclude_unset=True, exclude_none=True))
    return AuthUserOut.model_validate(user)


@blueprint.post("/change-password")
@validate_request(AuthChangePassword)
async def change_password(data: AuthChangePassword) -> tuple[str, int]:
    """Change your password (400 if the current one is wrong); your other sessions are revoked."""
    principal = await current_principal()
    service.require_user_session(principal)
    await service.change_password(principal, data.current_password, data.new_password)
    return "", 204


@blueprint.get("/me/sessions")
@validate_querystring(AuthSessionQuery)
@validate_response(AuthSessionPage)
async def list_sessions(query_args: AuthSessionQuery) -> dict:
    """Your active sessions (one per login), newest first; ``current`` marks this one."""
    principal = await current_principal()
    service.require_user_session(principal)
    current = principal.extra.get("session_id")
    return await paginate(
        service.active_sessions(principal),
        PageQuery(limit=query_args.limit, cursor=query_args.cursor),
        lambda session: AuthSessionOut.of(session, current),
    )


@blueprint.delete("/me/sessions/<session_id>")
async def delete_session(session_id: str) -> tuple[str, int]:
    """Revoke one of your sessions (its tokens stop working at once)."""
    principal = await current_principal()
    service.require_user_session(principal)
    await service.end_session(principal, session_id)
    return "", 204


@blueprint.get("/users")
@require_scope("auth:read")
@validate_querystring(AuthUserListQuery)
@validate_response(AuthUserPage)
async def list_users(query_args: AuthUserListQuery) -> dict:
    """Users of your organization (super_admin: all, or ``?organization_id=``), newest first."""
    principal = await current_principal()
    queryset = users.list_users(
        principal,
        organization_id=query_args.organization_id,
        role=query_args.role,
        is_active=query_args.is_active,
        email=query_args.email,
    )
    return await paginate(queryset, PageQuery(limit=query_args.limit, cursor=query_args.cursor), AuthUserOut)


@blueprint.post("/users")
@require_scope("auth:write")
@validate_request(AuthUserCreate)
@validate_response(AuthUserOut, 201)
async def create_user(data: AuthUserCreate) -> tuple[AuthUserOut, int]:
    """Add a user to your organization with a role you may grant (counts against max_users)."""
    principal = await current_principal()
    user = await users.add_user(principal, data.model_dump())
    return AuthUserOut.model_validate(user), 201


@blueprint.get("/users/<user_id>")
@require_scope("auth:read")
@validate_response(AuthUserOut)
async def get_user(user_id: str) -> AuthUserOut:
    """One user of your organization (another organization's is a 404)."""
    principal = await current_principal()
    return AuthUserOut.model_validate(await users.get_user(principal, user_id))


@blueprint.put("/users/<user_id>")
@require_scope("auth:write")
@validate_request(AuthUserUpdate)
@validate_response(AuthUserOut)
async def update_user(user_id: str, data: AuthUserUpdate) -> AuthUserOut:
    """Change a user's profile, role or active flag (409 for the last org_admin)."""
    principal = await current_principal()
    changes = {field: value for field, value in data.model_dump(exclude_unset=True).items() if value is not None}
    user = await users.update_user(principal, user_id, changes)
    return AuthUserOut.model_validate(user)


@blueprint.delete("/users/<user_id>")
@require_scope("auth:write")
async def delete_user(user_id: str) -> tuple[str, int]:
    """Delete a user (409 for the last org_admin of an organization)."""
    principal = await current_principal()
    await users.delete_user(principal, user_id)
    return "", 204


@blueprint.post("/password-reset")
@public
@validate_request(AuthPasswordResetRequest)
@validate_response(AuthAccepted, 202)
async def password_reset(data: AuthPasswordResetRequest) -> tuple[dict, int]:
    """Request a reset link by email; the answer is the same whether the account exists or not."""
    recovery.request_password_reset_later(data.email)
    return {"detail": "if the address belongs to an account, a reset link has been sent"}, 202


@blueprint.post("/password-reset/confirm")
@public
@validate_request(AuthPasswordResetConfirm)
async def password_reset_confirm(data: AuthPasswordResetConfirm) -> tuple[str, int]:
    """Set a new password with a reset token (single use); every session is revoked."""
    await recovery.confirm_password_reset(data.token, data.new_password)
    return "", 204


@blueprint.post("/verify-email")
@public
@validate_request(AuthVerifyEmail)
async def verify_email(data: AuthVerifyEmail) -> tuple[str, int]:
    """Confirm an email address with the token from the verification link."""
    await recovery.verify_email(data.token)
    return "", 204


@blueprint.post("/verify-email/resend")
@validate_response(AuthAccepted, 202)
async def resend_verification() -> tuple[dict, int]:
    """Send a new verification link to your address (409 if already verified)."""
    principal = await current_principal()
    service.require_user_session(principal)
    await recovery.send_verification(await service.principal_user(principal))
    return {"detail": "a verification link has been sent"}, 202


@blueprint.get("/audit-logs")
@require_scope("auth:audit")
@validate_querystring(AuthAuditQuery)
@validate_response(AuthAuditPage)
async def audit_logs(query_args: AuthAuditQuery) -> dict:
    """The audit trail of your organization (super_admin: all, or ``?organization_id=``), newest first."""
    principal = await current_principal()
    filters: dict[str, Any] = {}
    for name in ("organization_id", "action", "actor_id", "target_id"):
        value = getattr(query_args, name)
        if value is not None:
            filters[name] = value
    return await paginate(
        scoped(AuditLog, principal, **filters),
        PageQuery(limit=query_args.limit, cursor=query_args.cursor),
        AuthAuditLogOut,
    )


@blueprint.post("/revoke")
@public
@document_request(AuthTokenRequest, source=DataSource.FORM)
@validate_response(AuthRevokeResult)
async def revoke() -> dict:
    """RFC 7009 token revocation: 200 whether the token was valid or not; a malformed request is 400."""
    data = await optional_body(AuthTokenRequest)
    await oauth.revoke(data.token, data.token_type_hint)
    return {}


@blueprint.post("/introspect")
@document_request(AuthTokenRequest, source=DataSource.FORM)
@validate_response(AuthIntrospection)
async def introspect() -> dict:
    """RFC 7662 introspection for an authenticated caller: ``{"active": false}`` for an invalid token."""
    principal = await current_principal()
    data = await optional_body(AuthTokenRequest)
    return await oauth.introspect(principal, data.token, data.token_type_hint)


@well_known.get("/.well-known/jwks.json")
@public
@validate_response(AuthJwks)
async def jwks() -> tuple[dict, int, dict[str, str]]:
    """The public keys that verify our access tokens (old keys stay listed during rotation)."""
    return service.runtime().signer.public_jwks(), 200, {"Cache-Control": "public, max-age=300"}


@well_known.get("/.well-known/openid-configuration")
@public
@validate_response(AuthOpenIdConfiguration)
async def openid_configuration() -> tuple[dict, int, dict[str, str]]:
    """Discovery document: issuer, JWKS, token endpoints and supported algorithms."""
    return oauth.openid_configuration(), 200, {"Cache-Control": "public, max-age=300"}
