from __future__ import annotations

from tortoise import fields

from vetrai.core.models import BaseModel, TenantMixin


class Greeting(BaseModel, TenantMixin):
    """A message shown to an organization (author is None for the automatic welcome greetings)."""

    message = fields.CharField(max_length=500)
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "auth.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "hello_greeting"
