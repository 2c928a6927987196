"""The greetings plugin's taskiq tasks, registered by ``vetrai_tasks``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vetrai_hello import service

COUNT_GREETINGS = "hello.count_greetings"


async def count_greetings(organization_id: str | None = None) -> int:
    """How many greetings an organization (or every organization) has."""
    return await service.count_greetings(organization_id)


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {COUNT_GREETINGS: count_greetings}
