from __future__ import annotations

from pydantic import Field

from vetrai.core.config import PluginSettings


class KeysSettings(PluginSettings, plugin="keys"):
    """``VETRAI_KEYS_*``: default rate limit, verification cache and usage flushing."""

    default_rate_limit_requests: int = Field(
        600,
        ge=1,
        description="Requests a key may make per window when neither the key nor its organization's plan sets a limit.",
    )
    default_rate_limit_window_seconds: int = Field(60, ge=1, description="Window of the default rate limit.")
    cache_ttl_seconds: float = Field(
        5.0, ge=0, description="How long a verified key stays cached in process (invalidated at once on change)."
    )
    cache_max_entries: int = Field(10_000, ge=1, description="Verified keys kept in the in-process cache.")
    usage_flush_seconds: float = Field(
        5.0, gt=0, le=10, description="How often counted usage is written to the database."
    )
    rotation_grace_seconds: int = Field(
        3600, ge=0, description="Default time an old key keeps working after a rotation."
    )
    max_rotation_grace_seconds: int = Field(
        30 * 24 * 3600, ge=0, description="Longest grace period a rotation may ask for."
    )
