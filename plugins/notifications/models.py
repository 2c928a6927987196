from __future__ import annotations

from tortoise import fields

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index

SECURITY = "security"
"""The category of password resets and verification mails: never opted out of, body never shown."""


class NotificationTemplate(BaseModel):
    """A Jinja2 template of one channel, of an organization or (organization NULL) a global default"""

    organization: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, null=True, db_index=True
    )
    owner_key = fields.CharField(
        max_length=40, description="The organization id, or global (uniqueness with NULL organizations)"
    )
    name = fields.CharField(max_length=100)
    channel = fields.CharField(max_length=50)
    locale = fields.CharField(max_length=20, default="en")
    subject = fields.TextField(null=True)
    body = fields.TextField()
    html = fields.TextField(null=True, description="HTML body of an email (autoescaped), default the text body as HTML")

    class Meta:
        table = "notifications_template"
        unique_together = (("owner_key", "name", "channel", "locale"),)

    @property
    def is_default(self) -> bool:
        """A global default shipped for a system event: no organization owns it."""
        return self.organization_id is None  # type: ignore[attr-defined]


class Notification(BaseModel, TenantMixin):
    """One message to one recipient on one channel, and the state of its delivery."""

    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, on_delete=fields.CASCADE, null=True, db_index=True
    )
    to = fields.CharField(max_length=1000, null=True, description="Address, number or URL when not (only) a user")
    channel = fields.CharField(max_length=50, db_index=True)
    category = fields.CharField(max_length=50, default="general")
    event = fields.CharField(max_length=100, null=True, description="The domain event that caused it, if any")
    template_id = fields.UUIDField(null=True)
    template_name = fields.CharField(max_length=100, null=True)
    locale = fields.CharField(max_length=20, default="en")
    subject = fields.TextField(null=True)
    body = fields.TextField(null=True)
    html = fields.TextField(null=True)
    data = fields.JSONField(default=dict)
    rendered = fields.BooleanField(default=False)
    status = fields.CharField(max_length=20, default="queued", db_index=True)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    idempotency_key = fields.CharField(max_length=200, null=True)
    created_by_id = fields.UUIDField(null=True)
    external = fields.BooleanField(
        default=False, description="Sent by an admin to an address outside the organization (counts against the plan)"
    )
    next_attempt_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications_notification"
        indexes = (tenant_list_index("notifications_notification"),)
        unique_together = (("organization", "idempotency_key"),)


class NotificationPreference(BaseModel, TenantMixin):
    """The opt-outs of a user, a list of category and channel pairs (* matches any)"""

    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, on_delete=fields.CASCADE, unique=True
    )
    opt_outs = fields.JSONField(default=list)

    class Meta:
        table = "notifications_preference"
        indexes = (tenant_list_index("notifications_preference"),)
