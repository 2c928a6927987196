from __future__ import annotations

from pydantic import Field

from vetrai.core.config import PluginSettings


class HelloSettings(PluginSettings, plugin="hello"):
    """``VETRAI_HELLO_*``: what the greetings plugin says."""

    welcome_message: str = Field(
        "Welcome, {email}!", description="Greeting created for every newly registered user ({email} is replaced)."
    )
    ping_message: str = Field("hello", description="What the public GET /api/v1/hello/ping answers.")
