"""Background work: reporting metered usage to Stripe (scheduled by ``vetrai_schedules``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vetrai.core.hooks import HookPlatform, Schedule
from vetrai.core.platform import current_platform
from vetrai.plugins.billing import service
from vetrai.plugins.billing.settings import BillingSettings

REPORT_USAGE = "billing.report_usage"


async def report_usage() -> int:
    """Send unreported usage of metered plans to Stripe; returns how many meter events were sent."""
    return await service.report_usage(current_platform())


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {REPORT_USAGE: report_usage}


def schedules(platform: HookPlatform) -> list[Schedule]:
    return [Schedule(REPORT_USAGE, platform.plugin_settings("billing", BillingSettings).usage_report_seconds)]
