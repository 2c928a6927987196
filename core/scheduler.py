"""Periodic tasks from ``vetrai_schedules``, run by every process that executes tasks.

With Redis, each tick is claimed with ``SET NX EX`` so many workers enqueue a schedule once
per period; without Redis there is one process and nothing to coordinate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from taskiq import AsyncBroker

from vetrai.core.hooks import Schedule

log = logging.getLogger("vetrai.scheduler")


async def _tick(broker: AsyncBroker, redis: Redis | None, prefix: str, schedule: Schedule) -> None:
    if redis is not None:
        claimed = await redis.set(
            f"{prefix}schedule:{schedule.task_name}",
            "1",
            nx=True,
            px=max(1, int(schedule.seconds * 1000) - 50),
        )
        if not claimed:
            return
    task = broker.find_task(schedule.task_name)
    if task is None:
        log.error("schedule names unknown task %s", schedule.task_name)
        return
    await task.kiq()


async def _loop(broker: AsyncBroker, redis: Redis | None, prefix: str, schedule: Schedule) -> None:
    # The first tick comes one period after start (not at once: a process that starts and
    # stops quickly must not leave a task running against a database it is closing).
    while True:
        await asyncio.sleep(schedule.seconds)
        try:
            await _tick(broker, redis, prefix, schedule)
        except Exception:
            log.exception("schedule %s failed", schedule.task_name)


async def run_schedules(schedules: Sequence[Schedule], broker: AsyncBroker, redis: Redis | None, prefix: str) -> None:
    """Tick every schedule until cancelled; ``redis`` (when set) claims each tick once across processes."""
    await asyncio.gather(*(_loop(broker, redis, prefix, schedule) for schedule in schedules))
