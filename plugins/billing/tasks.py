"""Background work: reporting metered usage to Stripe (scheduled by ``vetrai_schedules``)."""

from __future__ import annotations

from taskiq import AsyncBroker

from vetrai.core.platform import current_platform
from vetrai.plugins.billing import service

REPORT_USAGE = "billing.report_usage"


async def report_usage() -> int:
    """Send unreported usage of metered plans to Stripe; returns how many meter events were sent."""
    return await service.report_usage(current_platform())


def register(broker: AsyncBroker) -> None:
    broker.register_task(report_usage, task_name=REPORT_USAGE)
