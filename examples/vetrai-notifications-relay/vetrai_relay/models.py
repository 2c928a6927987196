from __future__ import annotations

from tortoise import fields

from vetrai.core.models import BaseModel, TenantMixin


class RelayDelivery(BaseModel, TenantMixin):
    """One domain event on its way to the notification service (one row per event, retried in place)."""

    event_id = fields.UUIDField(unique=True)
    event_name = fields.CharField(max_length=100)
    status = fields.CharField(max_length=10, default="queued", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)
    response_status = fields.IntField(null=True)
    error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    payload = fields.JSONField(null=True)

    class Meta:
        table = "relay_delivery"
