"""The limits a plan sets on an organization, and their defaults without a plan.

Data only: billing's settings validate plans against these names at start-up, before the
platform (and the tenancy helpers that enforce the limits) is imported.
"""

from __future__ import annotations

LIMIT_NAMES = (
    "max_users",
    "max_api_keys",
    "max_concurrent_jobs",
    "max_monthly_jobs",
    "max_storage_bytes",
    "max_monthly_external_messages",
    "retention_days",
    "max_monthly_tokens",
)
DEFAULT_LIMITS: dict[str, int] = {
    "max_users": 5,
    "max_api_keys": 5,
    "max_concurrent_jobs": 2,
    "max_monthly_jobs": 1000,
    "max_storage_bytes": 1024**3,
    # Email/SMS an admin sends to addresses outside the organization: none without a paid plan,
    # so a self-registered organization cannot use the platform as an open mail relay.
    "max_monthly_external_messages": 0,
    "retention_days": 365,  # finished data older than this is deleted; 0 keeps it forever
    "max_monthly_tokens": 1_000_000,
}
