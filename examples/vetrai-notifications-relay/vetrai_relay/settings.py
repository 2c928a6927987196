from __future__ import annotations

from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from vetrai.core.config import PluginSettings

DEFAULT_EVENTS = ["auth.", "support.", "engine.job_finished", "billing.payment_failed"]


class RelaySettings(PluginSettings, plugin="relay"):
    """``VETRAI_RELAY_*``: where events go and how hard to try."""

    url: AnyHttpUrl | None = Field(
        None, description="Your notification service's endpoint; events are recorded but not sent while unset."
    )
    secret: SecretStr | None = Field(
        None, description="Shared secret of the X-VetrAI-Signature HMAC; required when the URL is set."
    )
    events: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        description="Comma-separated event names to relay; a name ending in '.' is a prefix. Default: what the "
        "built-in notifications act on.",
    )
    max_attempts: int = Field(8, ge=1, description="Attempts before a delivery is marked failed.")
    retry_base_seconds: float = Field(2.0, gt=0, description="First retry delay; doubles each attempt.")
    retry_max_seconds: float = Field(600.0, gt=0, description="Longest delay between two attempts.")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one POST.")
    requeue_seconds: float = Field(
        60.0, gt=0, description="How often deliveries whose task message was lost are queued again."
    )
    allow_private: bool = Field(
        False, description="Allow a URL resolving to a private or loopback address (a service on your own network)."
    )

    @field_validator("events", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    def relays(self, event_name: str) -> bool:
        return any(event_name.startswith(name) if name.endswith(".") else event_name == name for name in self.events)
