"""Periodic tasks from ``vetrai_schedules``, run by every process that executes tasks.

With Redis, each tick is claimed with ``SET NX EX`` so many workers enqueue a schedule once
per period; without Redis there is one process and nothing to coordinate.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from vetrai.core.hooks import Schedule

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.scheduler")


async def _tick(platform: Platform, schedule: Schedule) -> None:
    if platform.redis is not None:
        claimed = await platform.redis.set(
            f"{platform.settings.redis_prefix}schedule:{schedule.task_name}",
            "1",
            nx=True,
            px=max(1, int(schedule.seconds * 1000) - 50),
        )
        if not claimed:
            return
    task = platform.broker.find_task(schedule.task_name)
    if task is None:
        log.error("schedule names unknown task %s", schedule.task_name)
        return
    await task.kiq()


async def _loop(platform: Platform, schedule: Schedule) -> None:
    # The first tick comes one period after start (not at once: a process that starts and
    # stops quickly must not leave a task running against a database it is closing).
    while True:
        await asyncio.sleep(schedule.seconds)
        try:
            await _tick(platform, schedule)
        except Exception:
            log.exception("schedule %s failed", schedule.task_name)


async def run_schedules(platform: Platform) -> None:
    await asyncio.gather(*(_loop(platform, schedule) for _plugin, schedule in platform.plugins.schedules))
