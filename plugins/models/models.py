from __future__ import annotations

from typing import ClassVar

from tortoise import fields
from tortoise.models import Model

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class Provider(BaseModel, TenantMixin):
    """A model provider endpoint of an organization, its API key and headers sealed (never plaintext)"""

    KIND: ClassVar[str] = "provider"  # in audit actions and errors

    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=20)
    base_url = fields.CharField(max_length=500, null=True)
    api_key_sealed = fields.TextField()
    api_key_last4 = fields.CharField(max_length=4, default="")
    models = fields.JSONField(default=list)
    default_model = fields.CharField(max_length=200)
    headers_sealed = fields.TextField(null=True)
    headers_masked = fields.JSONField(default=dict)
    is_default = fields.BooleanField(default=False)

    class Meta:
        table = "models_provider"
        unique_together = (("organization", "name"),)
        indexes = (tenant_list_index("models_provider"),)


class Secret(BaseModel, TenantMixin):
    """A named secret of an organization for tools and graphs, sealed like provider keys"""

    KIND: ClassVar[str] = "secret"  # in audit actions and errors

    name = fields.CharField(max_length=100)
    description = fields.CharField(max_length=500, default="")
    value_sealed = fields.TextField()
    value_last4 = fields.CharField(max_length=4, default="")

    class Meta:
        table = "models_secret"
        unique_together = (("organization", "name"),)
        indexes = (tenant_list_index("models_secret"),)


class Usage(Model):
    """Tokens and cost of an organization per day and model, added to as each model call ends"""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    day = fields.DateField(db_index=True)
    model = fields.CharField(max_length=200)
    calls = fields.IntField(default=0)
    input_tokens = fields.BigIntField(default=0)
    output_tokens = fields.BigIntField(default=0)
    cost = fields.FloatField(default=0.0)

    class Meta:
        table = "models_usage"
        unique_together = (("organization", "day", "model"),)
