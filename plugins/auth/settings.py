from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    """``VETRAI_AUTH_*``: token lifetimes, JWT keys and brute-force limits."""

    model_config = SettingsConfigDict(env_prefix="VETRAI_AUTH_", env_file=".env", extra="ignore")

    access_token_ttl_seconds: int = 900
    refresh_idle_ttl_seconds: int = 14 * 24 * 3600
    refresh_absolute_ttl_seconds: int = 30 * 24 * 3600
    refresh_reuse_grace_seconds: float = 10.0
    issuer: str | None = Field(None, description="JWT iss; default VETRAI_PUBLIC_URL.")
    audience: str = "vetrai"
    jwt_private_keys: str | None = Field(
        None, description="JSON JWKS of EC P-256 private keys; the first signs. Default: generated into the data dir."
    )
    reset_token_ttl_seconds: int = 3600
    verify_token_ttl_seconds: int = 48 * 3600
    lockout_account_failures: int = 10
    lockout_ip_failures: int = 100
    lockout_window_seconds: int = Field(900, description="Window in which failed logins are counted.")
    lockout_seconds: int = Field(900, description="How long an account or IP stays locked out.")
    login_rate_limit_per_ip: int = Field(0, description="Successful logins per IP per window; 0 = unlimited.")
    register_rate_limit_per_ip: int = Field(0, description="Registrations per IP per window; 0 = unlimited.")
    token_cache_ttl_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a verified access token stays cached in process (invalidated at once on change; 0 = off).",
    )
    token_cache_max_entries: int = Field(
        10_000, ge=1, description="Verified access tokens kept in the in-process cache."
    )
