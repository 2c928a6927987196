"""Handing runs to workers through taskiq, and cancels to the process that holds a run."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from vetrai.engine.process import RUNTIME

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

RUN_TASK = "workers.run_job"
REAP_TASK = "workers.reap"
LEGACY_WEBHOOK_TASK = "workers.deliver_webhook"
"""Webhooks are outbox messages now; the task stays for messages queued before an upgrade."""


async def send_run(platform: Platform, job_id: uuid.UUID | str) -> None:
    task = platform.broker.find_task(RUN_TASK)
    if task is None:  # pragma: no cover - registered by vetrai_tasks
        raise RuntimeError(f"task {RUN_TASK} is not registered")
    await task.kiq(str(job_id))


def cancel_channel(platform: Platform) -> str:
    return f"{platform.settings.redis_prefix}workers:cancel"


async def publish_cancel(platform: Platform, job_id: uuid.UUID, reason: str = "cancel") -> None:
    """Tell the process holding the run (this one or another) to stop it now.

    ``reason`` is ``cancel`` (the run ends cancelled) or ``rollback`` (the run is deleted)."""
    runtime = platform.find(RUNTIME)
    if runtime is not None:
        runtime.cancel_local(str(job_id), reason)
    if platform.redis is not None:
        await platform.redis.publish(cancel_channel(platform), f"{job_id}:{reason}")
