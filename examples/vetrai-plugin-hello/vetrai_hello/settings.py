from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HelloSettings(BaseSettings):
    """``VETRAI_HELLO_*``: what the greetings plugin says."""

    model_config = SettingsConfigDict(env_prefix="VETRAI_HELLO_", env_file=".env", extra="ignore")

    welcome_message: str = Field(
        "Welcome, {email}!", description="Greeting created for every newly registered user ({email} is replaced)."
    )
    ping_message: str = Field("hello", description="What the public GET /api/v1/hello/ping answers.")
