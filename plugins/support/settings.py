from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from vetrai.core.config import PluginSettings

DEFAULT_ALLOWED_CONTENT_TYPES = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "application/zip",
    "application/gzip",
]


class SupportSettings(PluginSettings, plugin="support"):
    """``VETRAI_SUPPORT_*``: attachment limits and types, downloads and the SLA checker."""

    max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1,
        description="Largest attachment accepted (413 above); also bounded by VETRAI_MAX_REQUEST_BYTES.",
    )
    allowed_content_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_CONTENT_TYPES),
        description="Comma-separated content types (sniffed from the bytes) an attachment may have; 415 otherwise.",
    )
    presigned_downloads: bool = Field(
        True, description="On S3 storage, answer downloads with a redirect to a short-lived presigned URL."
    )
    presigned_url_ttl_seconds: int = Field(60, ge=1, le=3600, description="Lifetime of a presigned download URL.")
    sla_check_seconds: float = Field(60.0, gt=0, description="How often the periodic task marks SLA breaches.")

    @field_validator("allowed_content_types", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value
