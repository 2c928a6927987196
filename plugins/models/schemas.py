from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
HEADER_NAME = r"^[A-Za-z0-9-]{1,100}$"


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _headers(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    import re

    for name, header in value.items():
        if not re.match(HEADER_NAME, name) or any(ch in header for ch in "\r\n"):
            raise ValueError(f"invalid header {name!r}")
    return value


class ModelsProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    kind: Literal["openai"] = Field("openai", description="openai: any OpenAI-compatible endpoint.")
    base_url: str | None = Field(
        None, max_length=500, description="e.g. https://api.openai.com/v1 or http://vllm:8000/v1; default OpenAI."
    )
    api_key: str = Field(min_length=1, max_length=2000, description="Stored encrypted; responses show its last 4.")
    models: list[str] = Field(default_factory=list, max_length=200)
    default_model: str = Field(min_length=1, max_length=200)
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="Extra request headers (stored encrypted, shown masked)."
    )
    is_default: bool | None = Field(
        None, description="Make it the organization's default provider (the first provider always is)."
    )

    _url = field_validator("base_url")(_http_url)
    _hdrs = field_validator("headers")(_headers)


class ModelsProviderUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    base_url: str | None = Field(None, max_length=500)
    api_key: str | None = Field(None, min_length=1, max_length=2000)
    models: list[str] | None = Field(None, max_length=200)
    default_model: str | None = Field(None, min_length=1, max_length=200)
    headers: dict[str, str] | None = Field(None, max_length=50)
    is_default: bool | None = None

    _url = field_validator("base_url")(_http_url)
    _hdrs = field_validator("headers")(_headers)


class ModelsProviderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    base_url: str | None
    api_key_last4: str = Field(description="The last 4 characters of the key (empty for keys under 12).")
    models: list[str]
    default_model: str
    headers: dict[str, str] = Field(
        validation_alias=AliasChoices("headers", "headers_masked"), description="Header names with masked values."
    )
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ModelsProviderPage(BaseModel):
    items: list[ModelsProviderOut]
    next_cursor: str | None = None


class ModelsProviderTestRequest(BaseModel):
    """Optional body of a provider test; empty tests the default model."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None, min_length=1, max_length=200, description="The model to call; default the provider's."
    )


class ModelsProviderTest(BaseModel):
    ok: bool
    model: str
    latency_ms: int | None
    error: str | None = Field(description="What failed, naming the provider (never its key).")


class ModelsSecretCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    value: str = Field(min_length=1, max_length=20_000, description="Stored encrypted; responses show its last 4.")
    description: str = Field("", max_length=500)


class ModelsSecretUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    value: str | None = Field(None, min_length=1, max_length=20_000)
    description: str | None = Field(None, max_length=500)


class ModelsSecretOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    value_last4: str
    created_at: datetime
    updated_at: datetime


class ModelsSecretPage(BaseModel):
    items: list[ModelsSecretOut]
    next_cursor: str | None = None


class ModelsUsageQuery(BaseModel):
    from_: str | None = Field(None, alias="from", description="First day, YYYY-MM-DD (default: the 1st of this month).")
    to: str | None = Field(None, description="Last day, YYYY-MM-DD, inclusive (default: today).")
    organization_id: uuid.UUID | None = Field(None, description="super_admin only: one organization.")

    model_config = ConfigDict(populate_by_name=True)


class ModelsUsageItem(BaseModel):
    day: date
    model: str
    input_tokens: int
    output_tokens: int
    cost: float


class ModelsUsageTotals(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float


class ModelsUsageOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    items: list[ModelsUsageItem]
    totals: ModelsUsageTotals

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
