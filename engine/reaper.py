"""The reaper: runs whose worker died (lease expired) and queued runs the broker lost.

A lost lease counts as an attempt: a run past its ``max_attempts`` ends ``failed`` with reason
``worker_lost``; the others get a ``requeued`` event and are sent again, and the next attempt
resumes from their checkpoint. Due crons are started here too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from tortoise.expressions import Q

from vetrai.engine.clock import db_now
from vetrai.engine.dispatch import send_run
from vetrai.engine.finishing import finish
from vetrai.engine.models import Job
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.streams import add_event

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")


async def reap(platform: Platform) -> dict[str, int]:
    """Re-send running runs whose lease expired and queued runs nobody picked up; fail the
    runs whose lost leases used up their attempts."""
    settings = platform.plugin_settings("workers", WorkersSettings)
    now = await db_now()
    expired = await Job.filter(status="running", lease_expires_at__lt=now).limit(200)
    poisoned = [job for job in expired if job.attempts >= job.max_attempts]
    lost = [job for job in expired if job.attempts < job.max_attempts]
    for job in poisoned:
        error = {"type": "WorkerLost", "message": f"the worker running it was lost {job.attempts} times"}
        if await finish(platform, job, "failed", partial(_fail_lost, job, error, now), error=error):
            log.warning("run %s failed: its worker was lost on each of %s attempts", job.id, job.attempts)
    for job in lost:
        log.warning("run %s: lease of %s expired; re-queued (attempt %s)", job.id, job.lease_owner, job.attempts)
        await add_event(platform, job.id, "requeued", {"reason": "lease_expired", "worker": job.lease_owner})
    stale = await (
        Job.filter(status="queued", queued_at__lt=now - timedelta(seconds=settings.stale_queued_seconds))
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
        .order_by("queued_at")
        .limit(200)
        .values_list("id", flat=True)
    )
    if stale:
        await Job.filter(id__in=stale, status="queued").update(queued_at=now)
    for job_id in [*(str(job.id) for job in lost), *map(str, stale)]:
        await send_run(platform, job_id)
    crons = await _start_due_crons(platform)
    ttl = await _sweep_expired(platform)
    return {"expired": len(lost), "stale": len(stale), "poisoned": len(poisoned), "crons": crons, "ttl": ttl}


async def _sweep_expired(platform: Platform) -> int:
    from vetrai.engine.langgraph.service import sweep_expired

    return await sweep_expired(platform)


async def _fail_lost(job: Job, error: dict[str, str], now: datetime) -> int:
    """The poisoned run's final status, if no other attempt took it meanwhile."""
    updated: int = await Job.filter(id=job.id, fence=job.fence, status="running").update(
        status="failed",
        reason="worker_lost",
        error=error,
        finished_at=now,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=now,
    )
    return updated


async def _start_due_crons(platform: Platform) -> int:
    from vetrai.engine.langgraph.crons import start_due_crons

    return await start_due_crons(platform)
