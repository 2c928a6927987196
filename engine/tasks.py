"""The engine's taskiq tasks; the work is in the run loop, the reaper and webhooks so tests and
the CLI can call it directly."""

from __future__ import annotations

from taskiq import AsyncBroker

from vetrai.core.platform import current_platform
from vetrai.engine.dispatch import REAP_TASK, RUN_TASK, WEBHOOK_TASK
from vetrai.engine.reaper import reap
from vetrai.engine.runtime import runtime_of
from vetrai.engine.webhooks import deliver_webhook


async def run_job(job_id: str) -> str | None:
    """Claim and run one job (a duplicate delivery does nothing)."""
    return await runtime_of(current_platform()).run_job(job_id)


async def reap_jobs() -> dict[str, int]:
    """Re-send jobs whose lease expired (dead worker) and queued jobs the broker lost."""
    return await reap(current_platform())


async def send_webhook(job_id: str, attempt: int = 1) -> bool:
    """POST a finished job to its webhook_url, signed; retried with backoff."""
    return await deliver_webhook(current_platform(), job_id, attempt)


def register(broker: AsyncBroker) -> None:
    broker.register_task(run_job, task_name=RUN_TASK)
    broker.register_task(reap_jobs, task_name=REAP_TASK)
    broker.register_task(send_webhook, task_name=WEBHOOK_TASK)
