"""The engine's taskiq tasks; the work is in the run loop and the reaper so tests and the CLI
can call it directly (webhooks are outbox messages: ``finishing.outbox_handlers``)."""

from __future__ import annotations

from taskiq import AsyncBroker

from vetrai.core.platform import current_platform
from vetrai.engine.dispatch import LEGACY_WEBHOOK_TASK, REAP_TASK, RUN_TASK
from vetrai.engine.finishing import adopt_queued_webhook
from vetrai.engine.reaper import reap
from vetrai.engine.runtime import runtime_of


async def run_job(job_id: str) -> str | None:
    """Claim and run one job (a duplicate delivery does nothing)."""
    return await runtime_of(current_platform()).run_job(job_id)


async def reap_jobs() -> dict[str, int]:
    """Re-send jobs whose lease expired (dead worker) and queued jobs the broker lost."""
    return await reap(current_platform())


async def deliver_webhook(job_id: str, attempt: int = 1) -> bool:
    """The webhook task of versions before the outbox: its messages still queued at an upgrade
    become outbox messages (``attempt`` is ignored: the outbox counts its own)."""
    return await adopt_queued_webhook(job_id)


def register(broker: AsyncBroker) -> None:
    broker.register_task(run_job, task_name=RUN_TASK)
    broker.register_task(reap_jobs, task_name=REAP_TASK)
    broker.register_task(deliver_webhook, task_name=LEGACY_WEBHOOK_TASK)
