from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from vetrai.core.config import PluginSettings, Secret


def _env(name: str) -> AliasChoices:
    """``VETRAI_NOTIFICATIONS_<NAME>``, also read as the shorter ``VETRAI_<NAME>`` (SMTP settings)."""
    return AliasChoices(f"VETRAI_NOTIFICATIONS_{name.upper()}", f"VETRAI_{name.upper()}")


class NotificationsSettings(PluginSettings, plugin="notifications"):
    """``VETRAI_NOTIFICATIONS_*``: SMTP, outbox, retries, webhook signing and SMS/push providers."""

    model_config = SettingsConfigDict(populate_by_name=True)

    smtp_host: str | None = Field(
        None,
        validation_alias=_env("smtp_host"),
        description="SMTP server for email (also read as VETRAI_SMTP_HOST); unset = .eml files in the outbox folder.",
    )
    smtp_port: int = Field(587, validation_alias=_env("smtp_port"), description="SMTP port (465 = implicit TLS).")
    smtp_username: str | None = Field(
        None, validation_alias=_env("smtp_username"), description="SMTP login, if the server needs one."
    )
    smtp_password: str | None = Field(None, validation_alias=_env("smtp_password"), description="SMTP password.")
    smtp_starttls: bool | None = Field(
        None,
        validation_alias=_env("smtp_starttls"),
        description="true = require STARTTLS, false = never; unset = when the server offers it.",
    )
    smtp_from: str = Field(
        "VetrAI <no-reply@localhost>", validation_alias=_env("smtp_from"), description="From header of every email."
    )
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one SMTP conversation.")
    outbox_dir: Path | None = Field(
        None, description="Folder of .eml files when no SMTP host is set; default <data dir>/outbox."
    )
    max_attempts: int = Field(5, ge=1, le=50, description="Delivery attempts before a notification is failed.")
    retry_base_seconds: float = Field(
        2.0, ge=0, description="First retry delay; doubled after every temporary failure."
    )
    retry_max_seconds: float = Field(300.0, ge=0, description="Longest delay between two attempts.")
    lease_seconds: float = Field(
        300.0, gt=0, description="How long a worker may hold a delivery before another may take it over."
    )
    webhook_secret: Annotated[str | None, Secret(production=True)] = Field(
        None,
        description="HMAC-SHA256 key of X-VetrAI-Signature on webhook, SMS and push calls; generated into the data "
        "dir when unset.",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook, SMS or push provider call.")
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook notifications to loopback/private addresses (off: no requests into your own "
        "network).",
    )
    sms_webhook_url: str | None = Field(
        None, description="SMS provider endpoint receiving signed JSON {to, body}; unset = the sms channel fails."
    )
    push_webhook_url: str | None = Field(
        None,
        description="Push provider endpoint receiving signed JSON {to, user_id, title, body, data}; unset = the push "
        "channel fails.",
    )
    stream_keepalive_seconds: float = Field(15.0, gt=0, description="Comment line sent on idle notification streams.")
    requeue_seconds: float = Field(
        60.0, gt=0, description="How often deliveries whose task message was lost are sent to the queue again."
    )
