from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field

from vetrai.core.config import PluginSettings, Secret


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


class AuthSettings(PluginSettings, plugin="auth"):
    """``VETRAI_AUTH_*``: token lifetimes, JWT keys and brute-force limits."""

    access_token_ttl_seconds: int = Field(900, description="Lifetime of an access token (JWT or opaque).")
    refresh_idle_ttl_seconds: int = Field(
        14 * 24 * 3600, description="A refresh token unused this long expires (each refresh renews it)."
    )
    refresh_absolute_ttl_seconds: int = Field(
        30 * 24 * 3600, description="Longest life of a login session, however often it is refreshed."
    )
    refresh_reuse_grace_seconds: float = Field(
        10.0,
        description="A rotated refresh token presented again within this time (a client retry) is not treated as "
        "theft.",
    )
    issuer: str | None = Field(None, description="JWT iss; default VETRAI_PUBLIC_URL.")
    audience: str = Field("vetrai", description="JWT aud of issued access tokens, checked on every request.")
    jwt_private_keys: Annotated[str | None, Secret(production=True, generate=_new_jwks, check=_check_jwks)] = Field(
        None, description="JSON JWKS of EC P-256 private keys; the first signs. Default: generated into the data dir."
    )
    reset_token_ttl_seconds: int = Field(3600, description="Lifetime of a password-reset token.")
    verify_token_ttl_seconds: int = Field(48 * 3600, description="Lifetime of an email-verification token.")
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
    purge_seconds: float = Field(
        3600.0, gt=0, description="How often expired tokens and sessions ended over 30 days ago are deleted."
    )
    token_cache_ttl_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a verified access token stays cached in process (invalidated at once on change; 0 = "
        "off).",
    )
    token_cache_max_entries: int = Field(
        10_000, ge=1, description="Verified access tokens kept in the in-process cache."
    )
