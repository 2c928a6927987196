from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_serializer


class AuthUserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: str
    organization_id: uuid.UUID
    first_name: str
    last_name: str
    email_verified: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AuthRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    organization_name: str | None = Field(None, min_length=1, max_length=200)


class AuthLogin(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    token_format: Literal["jwt", "opaque"] = "jwt"


class AuthTokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class AuthRegistered(AuthTokenPair):
    user: AuthUserOut


Role = Literal["super_admin", "org_admin", "user", "support_agent", "billing_admin"]


class AuthRefresh(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class AuthLogout(BaseModel):
    refresh_token: str | None = Field(None, max_length=512)


class AuthProfileUpdate(BaseModel):
    """Profile fields only: role, email and organization are not yours to change here."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)


class AuthChangePassword(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class AuthUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "user"
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    email_verified: bool = False
    organization_id: uuid.UUID | None = Field(None, description="super_admin only; default your own organization.")


class AuthUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    role: Role | None = None
    is_active: bool | None = None
    email_verified: bool | None = None
    organization_id: uuid.UUID | None = Field(None, description="super_admin only: move the user.")


class AuthUserListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    organization_id: uuid.UUID | None = None
    role: Role | None = None
    is_active: bool | None = None
    email: str | None = Field(None, max_length=320)


class AuthUserPage(BaseModel):
    items: list[AuthUserOut]
    next_cursor: str | None = None


class AuthPasswordResetRequest(BaseModel):
    email: EmailStr


class AuthPasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Field(min_length=1, max_length=1024)


class AuthVerifyEmail(BaseModel):
    token: str = Field(min_length=1, max_length=512)


class AuthAccepted(BaseModel):
    detail: str


class AuthSessionOut(BaseModel):
    id: uuid.UUID
    user_agent: str | None
    ip: str | None
    token_format: str
    last_used_at: datetime
    expires_at: datetime
    current: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, session: Any, current_session_id: uuid.UUID | None) -> AuthSessionOut:
        """A stored session; ``current`` marks the one the request came with."""
        return cls.model_validate(
            {
                **{name: getattr(session, name) for name in cls.model_fields if name != "current"},
                "current": session.id == current_session_id,
            }
        )


class AuthSessionQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class AuthSessionPage(BaseModel):
    items: list[AuthSessionOut]
    next_cursor: str | None = None


class AuthAuditLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    organization_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    actor_kind: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    data: Annotated[dict[str, Any], BeforeValidator(lambda data: data or {})]


class AuthAuditQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    organization_id: uuid.UUID | None = None
    action: str | None = Field(None, max_length=100)
    actor_id: uuid.UUID | None = None
    target_id: str | None = Field(None, max_length=100)


class AuthAuditPage(BaseModel):
    items: list[AuthAuditLogOut]
    next_cursor: str | None = None


class AuthTokenRequest(BaseModel):
    """RFC 7009 / RFC 7662 request; sent form-encoded (as the RFCs say) or as JSON."""

    token: str = Field(min_length=1, max_length=4096)
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class AuthRevokeResult(BaseModel):
    pass


class AuthIntrospection(BaseModel):
    """RFC 7662 response; absent members are omitted, so an invalid token is ``{"active": false}``."""

    active: bool
    token_type: str | None = None
    client_id: str | None = None
    username: str | None = None
    scope: str | None = None
    sub: str | None = None
    org: str | None = None
    role: str | None = None
    iss: str | None = None
    aud: str | None = None
    exp: int | None = None
    iat: int | None = None
    jti: str | None = None
    sid: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}


class AuthJwks(BaseModel):
    keys: list[dict[str, Any]]


class AuthOpenIdConfiguration(BaseModel):
    issuer: str
    jwks_uri: str
    token_endpoint: str
    userinfo_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    registration_endpoint: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    access_token_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    claims_supported: list[str]
