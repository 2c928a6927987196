from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from vetrai.core.config import Secret


def _new_jwks() -> str:
    from vetrai.plugins.auth.jwt import new_private_jwk

    return json.dumps({"keys": [new_private_jwk()]})


def _check_jwks(value: str) -> str | None:
    from joserfc.jwk import ECKey

    try:
        keys = [ECKey.import_key(item) for item in json.loads(value)["keys"]]
    except (ValueError, KeyError, TypeError) as exc:
        return f"not a JWKS of EC private keys ({type(exc).__name__}: {exc}); `vetrai generate-jwks` makes one"
    if not keys or not all(key.is_private for key in keys):
        return "needs at least one EC P-256 private key; `vetrai generate-jwks` makes one"
    return None


class AuthSettings(BaseSettings):
    """``VETRAI_AUTH_*``: token lifetimes, JWT keys and brute-force limits."""

    model_config = SettingsConfigDict(env_prefix="VETRAI_AUTH_", env_file=".env", extra="ignore")

    access_token_ttl_seconds: int = 900
    refresh_idle_ttl_seconds: int = 14 * 24 * 3600
    refresh_absolute_ttl_seconds: int = 30 * 24 * 3600
    refresh_reuse_grace_seconds: float = 10.0
    issuer: str | None = Field(None, description="JWT iss; default VETRAI_PUBLIC_URL.")
    audience: str = "vetrai"
    jwt_private_keys: Annotated[str | None, Secret(production=True, generate=_new_jwks, check=_check_jwks)] = Field(
        None, description="JSON JWKS of EC P-256 private keys; the first signs. Default: generated into the data dir."
    )
    reset_token_ttl_seconds: int = 3600
    verify_token_ttl_seconds: int = 48 * 3600
    lockout_account_failures: int = Field(
        10,
        description="Failed logins of one account from one client address before each further failure must wait "
        "(30 s, then doubling); never a lock of the account alone, and a password reset ends it.",
    )
    lockout_ip_failures: int = Field(
        100, description="Failed logins from one client address (any account) before that address is locked out."
    )
    lockout_window_seconds: int = Field(900, description="Window in which failed logins are counted.")
    lockout_delay_seconds: int = Field(30, ge=1, description="First wait after lockout_account_failures; doubles.")
    lockout_seconds: int = Field(900, description="Longest wait of an account from one address, and an IP lockout.")
    login_rate_limit_per_ip: int = Field(0, description="Successful logins per IP per window; 0 = unlimited.")
    register_rate_limit_per_ip: int = Field(0, description="Registrations per IP per window; 0 = unlimited.")
