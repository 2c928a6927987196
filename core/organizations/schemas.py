from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"


class OrganizationLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_users: int | None = Field(None, ge=0)
    max_api_keys: int | None = Field(None, ge=0)
    max_concurrent_jobs: int | None = Field(None, ge=0)
    max_monthly_jobs: int | None = Field(None, ge=0)
    max_storage_bytes: int | None = Field(None, ge=0)
    retention_days: int | None = Field(
        None, ge=0, description="Days finished data (notifications, ended runs) is kept; 0 keeps it forever."
    )


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(None, pattern=SLUG_PATTERN)
    plan: str = Field("free", min_length=1, max_length=50)
    limits: OrganizationLimits | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class OrganizationUpdate(BaseModel):
    """Partial update; plan, limits and is_active are for super_admin only."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = None
    plan: str | None = Field(None, min_length=1, max_length=50)
    limits: OrganizationLimits | None = None
    is_active: bool | None = None


class OrganizationOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    plan: str
    limits: dict[str, int]
    settings: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class OrganizationPage(BaseModel):
    items: list[OrganizationOut]
    next_cursor: str | None = None


class OrganizationListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    include_inactive: bool = False


class OrganizationDeleteQuery(BaseModel):
    confirm: str | None = Field(
        None, description="The organization's slug; required when an org_admin deletes their own organization."
    )
