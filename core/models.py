"""Base mixins every plugin's models build on, and the core app's own tables.

IDs are random UUIDs (unguessable); every table name is prefixed by its app label because
``user`` is reserved in PostgreSQL and two plugins may both want a ``template`` table.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tortoise import fields
from tortoise.fields.base import Field
from tortoise.indexes import Index
from tortoise.models import Model, ModelMeta


class _OwnFieldsMeta(ModelMeta):
    """Give every model its own copy of the fields it inherits from an abstract base.

    Tortoise 1.1 reuses the abstract base's field objects, so ``TenantMixin.organization``
    was one object whose ``.model`` pointed at the subclass defined last; once a model that
    is not initialised (a disabled plugin's) was imported, every other tenant model's
    ``select_related("organization")`` failed with ``KeyError: 'organization_id'``.
    """

    @classmethod
    def _search_for_field_attributes(cls, base: type, attrs: dict[str, Any]) -> None:
        super()._search_for_field_attributes(base, attrs)
        for key, value in attrs.items():
            if isinstance(value, Field):
                attrs[key] = copy.deepcopy(value)


class BaseModel(Model, metaclass=_OwnFieldsMeta):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


def tenant_list_index(table: str) -> Index:
    """The index every tenant list walks: ``vetrai.core.pagination`` filters by organization
    and pages newest first by (created_at, id), so first and deep pages are index range scans.
    Put it in the ``Meta.indexes`` of each tenant table that has a list endpoint."""
    return Index(fields=("organization_id", "created_at", "id"), name=f"{table}_org_created_id")


class TenantMixin(Model, metaclass=_OwnFieldsMeta):
    """Owned by one organization; query it through ``vetrai.core.tenancy.scoped`` only.

    Tables with a list endpoint add ``indexes = (tenant_list_index("<table>"),)`` to their Meta.
    """

    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, db_index=True
    )

    class Meta:
        abstract = True


class Organization(BaseModel):
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=100, unique=True)
    plan = fields.CharField(max_length=50, default="free")
    limits: dict[str, int] = fields.JSONField(default=dict)
    settings: dict[str, Any] = fields.JSONField(default=dict)
    is_active = fields.BooleanField(default=True)
    is_platform = fields.BooleanField(
        default=False, description="The platform operator's own organization, set only by `vetrai createsuperuser`"
    )

    class Meta:
        table = "core_organization"


class AuditLog(Model):
    """Append-only record of security-relevant actions, written through ``core.audit``."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    organization_id = fields.UUIDField(null=True, db_index=True)
    actor_id = fields.UUIDField(null=True)
    actor_kind = fields.CharField(max_length=20, default="system")
    action = fields.CharField(max_length=100, db_index=True)
    target_type = fields.CharField(max_length=50, null=True)
    target_id = fields.CharField(max_length=100, null=True)
    ip = fields.CharField(max_length=64, null=True)
    user_agent = fields.CharField(max_length=300, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "core_audit_log"
        indexes = (tenant_list_index("core_audit_log"),)


class OutboxMessage(Model):
    """An action to run after a state change committed (the transactional outbox, ``core.outbox``)."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    kind = fields.CharField(max_length=100, description="Handler name, such as notifications.deliver")
    key = fields.CharField(max_length=200, description="Idempotency key, unique per kind")
    organization_id = fields.UUIDField(null=True, db_index=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    status = fields.CharField(max_length=10, default="pending", description="pending, claimed, delivered or failed")
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=5)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=100, null=True, description="Token of the current claim")
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_outbox"
        unique_together = (("kind", "key"),)
        indexes = (("status", "next_attempt_at"),)
