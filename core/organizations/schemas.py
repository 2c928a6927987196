from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
MAX_SETTINGS_BYTES = 64 * 1024
"""Largest organization ``settings`` object, as compact JSON: every member reads it back."""


def _bounded_settings(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, separators=(",", ":"), default=str)) > MAX_SETTINGS_BYTES:
        raise ValueError(f"settings are limited to {MAX_SETTINGS_BYTES} bytes of JSON")
    return value


class OrganizationLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_users: int | None = Field(None, ge=0)
    max_api_keys: int | None = Field(None, ge=0)
    max_concurrent_jobs: int | None = Field(None, ge=0)
    max_monthly_jobs: int | None = Field(None, ge=0)
    max_storage_bytes: int | None = Field(None, ge=0)
    max_monthly_external_messages: int | None = Field(
        None, ge=0, description="Email/SMS per month to addresses that are not members of the organization."
    )
    retention_days: int | None = Field(
        None, ge=0, description="Days finished data (notifications, ended runs) is kept; 0 keeps it forever."
    )


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(None, pattern=SLUG_PATTERN)
    plan: str = Field("free", min_length=1, max_length=50)
    limits: OrganizationLimits | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict, description=f"Free-form JSON, at most {MAX_SETTINGS_BYTES} bytes."
    )

    _settings_size = field_validator("settings")(_bounded_settings)


class OrganizationUpdate(BaseModel):
    """Partial update; plan, limits and is_active are for super_admin only."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = Field(
        None, description=f"Replaces the settings; at most {MAX_SETTINGS_BYTES} bytes."
    )
    plan: str | None = Field(None, min_length=1, max_length=50)
    limits: OrganizationLimits | None = None
    is_active: bool | None = None

    _settings_size = field_validator("settings")(_bounded_settings)


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


class OrganizationUsageOut(BaseModel):
    storage_bytes: int = Field(
        description="Bytes the organization stores (files, run checkpoints, events, inputs and outputs), "
        "counted toward max_storage_bytes."
    )
    storage_bytes_by_plugin: dict[str, int] = Field(description="The same bytes by the plugin that stores them.")
    max_storage_bytes: int = Field(description="The plan's limit; past it uploads and new runs are refused.")


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
