"""The periodic SLA check, registered as the taskiq task ``support.check_sla``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vetrai.core.hooks import HookPlatform, Schedule
from vetrai.plugins.support import service
from vetrai.plugins.support.settings import SupportSettings

CHECK_SLA = "support.check_sla"


async def check_sla() -> int:
    """Mark tickets whose SLA clock passed a due time; returns how many breaches were recorded."""
    return await service.check_sla_breaches()


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {CHECK_SLA: check_sla}


def schedules(platform: HookPlatform) -> list[Schedule]:
    return [Schedule(CHECK_SLA, platform.plugin_settings("support", SupportSettings).sla_check_seconds)]
