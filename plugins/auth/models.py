from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class User(BaseModel, TenantMixin):
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=30, default="user", db_index=True)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email_verified = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_user"
        indexes = (tenant_list_index("auth_user"),)


class Session(BaseModel):
    """A refresh-token family: one login on one device, listed at /me/sessions."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_agent = fields.CharField(max_length=300, null=True)
    ip = fields.CharField(max_length=64, null=True)
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=50, null=True)
    token_format = fields.CharField(max_length=10, default="jwt")

    class Meta:
        table = "auth_session"


class RefreshToken(BaseModel):
    """One link of a family, stored as SHA-256, single use, rotated on every refresh."""

    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "auth.Session", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    replaced_by_hash = fields.CharField(max_length=64, null=True)
    rotated_pair = fields.TextField(
        null=True, description="The successor pair, encrypted with a key derived from this token, for grace retries"
    )

    class Meta:
        table = "auth_refresh_token"


class AccessToken(BaseModel):
    """An opaque access token (token_format=opaque), stored as SHA-256."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="access_tokens", on_delete=fields.CASCADE
    )
    session: fields.ForeignKeyNullableRelation[Session] = fields.ForeignKeyField(
        "auth.Session", related_name="access_tokens", null=True, on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "auth_access_token"


class RevokedJti(Model):
    """JWT ids denied until they expire (logout, session revocation)."""

    jti = fields.CharField(max_length=64, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "auth_revoked_jti"


class OneTimeToken(BaseModel):
    """Password-reset and email-verification tokens: hashed, single use, expiring."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="one_time_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_one_time_token"
