from __future__ import annotations

from tortoise import fields

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class Ticket(BaseModel, TenantMixin):
    """A support ticket of an organization, opened by its requester, with SLA times in UTC"""

    subject = fields.CharField(max_length=200)
    description = fields.TextField()
    priority = fields.CharField(max_length=10, db_index=True)
    category = fields.CharField(max_length=100, null=True)
    status = fields.CharField(max_length=20, default="open", db_index=True)
    requester: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, null=True, on_delete=fields.SET_NULL, db_index=True
    )
    first_response_due_at = fields.DatetimeField(null=True)
    resolution_due_at = fields.DatetimeField(null=True)
    first_responded_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    first_response_breached = fields.BooleanField(default=False)
    resolution_breached = fields.BooleanField(default=False)
    sla_paused_at = fields.DatetimeField(
        null=True, description="Set while the ticket is pending (the SLA clock is stopped)"
    )
    sla_paused_seconds = fields.IntField(default=0, description="Total seconds the SLA clock was stopped")

    class Meta:
        table = "support_ticket"
        indexes = (tenant_list_index("support_ticket"),)


class TicketComment(BaseModel, TenantMixin):
    """A reply on a ticket, internal notes are visible to agents and admins only"""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "support.Ticket", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    body = fields.TextField()
    internal = fields.BooleanField(default=False)

    class Meta:
        table = "support_comment"
        indexes = (tenant_list_index("support_comment"),)


class TicketAttachment(BaseModel, TenantMixin):
    """A file on a ticket, stored under a server-generated key, the name is for display only"""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "support.Ticket", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    uploaded_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=500)

    class Meta:
        table = "support_attachment"
        indexes = (tenant_list_index("support_attachment"),)


class SlaPolicy(BaseModel, TenantMixin):
    """SLA targets of an organization per priority (minutes) and optional business hours"""

    targets = fields.JSONField(default=dict)
    business_hours = fields.JSONField(null=True)

    class Meta:
        table = "support_sla_policy"
        unique_together = (("organization",),)
