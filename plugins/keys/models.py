from __future__ import annotations

from datetime import UTC, datetime

from tortoise import fields
from tortoise.models import Model

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class ApiKey(BaseModel, TenantMixin):
    """An API key of an organization, stored as the SHA-256 of the secret only (never the secret)"""

    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16, description="The first characters of the key, to recognise it in lists")
    key_hash = fields.CharField(max_length=64, unique=True)
    scopes = fields.JSONField(default=list)
    created_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    expires_at = fields.DatetimeField(null=True)
    rate_limit_requests = fields.IntField(null=True)
    rate_limit_window_seconds = fields.IntField(null=True)
    is_active = fields.BooleanField(default=True)
    revoked_at = fields.DatetimeField(null=True, db_index=True)
    last_used_at = fields.DatetimeField(null=True)
    rotated_from_id = fields.UUIDField(null=True)
    replaced_by_id = fields.UUIDField(null=True)

    class Meta:
        table = "keys_api_key"
        indexes = (tenant_list_index("keys_api_key"),)

    @property
    def status(self) -> str:
        """What the key does now: revoked and expired win over the switch an admin can flip."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active" if self.is_active else "inactive"

    @property
    def rate_limit(self) -> dict[str, int] | None:
        """The key's own limit, when both of its halves are set."""
        if self.rate_limit_requests and self.rate_limit_window_seconds:
            return {"requests": self.rate_limit_requests, "window_seconds": self.rate_limit_window_seconds}
        return None


class ApiKeyUsage(Model):
    """Requests of one key per day, route and status, added to in batches by the usage flusher"""

    id = fields.BigIntField(primary_key=True)
    api_key: fields.ForeignKeyRelation[ApiKey] = fields.ForeignKeyField(
        "keys.ApiKey", related_name=False, on_delete=fields.CASCADE
    )
    organization: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    day = fields.DateField()
    method = fields.CharField(max_length=10)
    route = fields.CharField(max_length=200)
    status = fields.SmallIntField()
    requests = fields.IntField(default=0)

    class Meta:
        table = "keys_api_key_usage"
        unique_together = (("api_key", "day", "method", "route", "status"),)
