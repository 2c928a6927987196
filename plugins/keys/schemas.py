from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KeysRateLimit(BaseModel):
    """At most ``requests`` requests per ``window_seconds`` (smoothly refilled, GCRA)."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1, le=1_000_000)
    window_seconds: int = Field(ge=1, le=86_400)


class KeysKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(max_length=200, description="Scopes from GET /api/v1/keys/scopes that you hold yourself.")
    expires_at: datetime | None = Field(None, description="Any future time; naive times are UTC.")
    rate_limit: KeysRateLimit | None = Field(
        None, description="Default: the organization's plan, else the server default."
    )


class KeysKeyUpdate(BaseModel):
    """Partial update: fields not sent stay; ``expires_at``/``rate_limit`` null clears them."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    scopes: list[str] | None = Field(None, max_length=200)
    expires_at: datetime | None = None
    rate_limit: KeysRateLimit | None = None
    is_active: bool | None = None


class KeysRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int | None = Field(
        None, ge=0, description="How long the old key keeps working; default 3600, 0 = revoke now."
    )


class KeysKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    rate_limit: KeysRateLimit | None
    is_active: bool
    status: Literal["active", "inactive", "expired", "revoked"]
    last_used_at: datetime | None
    organization_id: uuid.UUID
    created_by: uuid.UUID
    rotated_from: uuid.UUID | None
    replaced_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, row: Any) -> Any:
        """A stored key: its links are shown by id under the names of the relations."""
        if isinstance(row, dict):
            return row
        return {
            **{name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)},
            "scopes": list(row.scopes or []),
            "created_by": row.created_by_id,
            "rotated_from": row.rotated_from_id,
            "replaced_by": row.replaced_by_id,
        }


class KeysKeyCreated(KeysKeyOut):
    key: str = Field(description="The secret; shown only in this response.")


class KeysKeyPage(BaseModel):
    items: list[KeysKeyOut]
    next_cursor: str | None = None


class KeysKeyListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class KeysUsageQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(None, alias="from", description="First UTC day (default 29 days before `to`).")
    to: date | None = Field(None, description="Last UTC day, inclusive (default today).")


class KeysUsageDay(BaseModel):
    date: date
    requests: int
    errors: int


class KeysUsageEndpoint(BaseModel):
    method: str
    route: str
    requests: int
    errors: int


class KeysUsageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    key_id: uuid.UUID
    from_: date = Field(alias="from")
    to: date
    total_requests: int
    last_used_at: datetime | None
    daily: list[KeysUsageDay]
    by_endpoint: list[KeysUsageEndpoint]


class KeysScopeOut(BaseModel):
    scope: str
    description: str


class KeysScopeList(BaseModel):
    items: list[KeysScopeOut]
