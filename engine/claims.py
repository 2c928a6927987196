"""Claims and leases: which attempt holds a run.

A claim is one conditional UPDATE that raises the run's fencing token (``fence``); every later
write of that attempt is conditional on the token, so an attempt whose lease expired and whose
run was claimed again can no longer change it. Lease times are the database's clock. A lost
lease counts as an attempt: a run that kills its worker every time ends ``failed`` with reason
``worker_lost`` instead of being claimed forever.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from vetrai.core.models import Organization
from vetrai.core.tenancy import limits_of
from vetrai.engine.clock import db_now
from vetrai.engine.models import Job

log = logging.getLogger("vetrai.engine")


def held(job: Job) -> Any:
    """The run, only while this attempt (its fencing token) still holds it."""
    return Job.filter(id=job.id, fence=job.fence, status="running")


def claimable(now: datetime) -> Q:
    queued = Q(status="queued") & (Q(run_after__isnull=True) | Q(run_after__lte=now))
    lost = Q(status="running", lease_expires_at__lt=now, attempts__lt=F("max_attempts"))
    return queued | lost


async def claim(key: uuid.UUID, worker_id: str, lease_seconds: float) -> Job | None:
    """Take this run for one attempt, or None (someone else has it, it is finished, over its
    organization's concurrency limit, or its organization is deactivated)."""
    now = await db_now()
    candidates = Job.filter(Q(id=key) & claimable(now)).select_for_update(skip_locked=True)
    return await take(candidates.first, worker_id, lease_seconds, now)


async def take(
    first: Callable[[], Awaitable[Job | None]],
    worker_id: str,
    lease_seconds: float,
    now: datetime,
    organization: Organization | None = None,
) -> Job | None:
    """Claim the run ``first`` reads (claimable at ``now``, its row locked with SKIP LOCKED on
    PostgreSQL, so simultaneous workers take different runs instead of queueing on one); the
    UPDATE stays conditional, and the locked row read with it is the run as claimed. Then the
    organization checks (``organization`` when the caller just read it): deactivated, or over
    its concurrency limit (two workers raced), and the run goes back to the queue."""
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    async with in_transaction():
        job = await first()
        if job is None:
            return None
        changes: dict[str, Any] = {"started_at": now} if job.started_at is None else {}
        claimed = await Job.filter(Q(id=job.id) & claimable(now)).update(
            status="running",
            lease_owner=worker_id,
            lease_expires_at=lease_expires_at,
            attempts=F("attempts") + 1,
            fence=F("fence") + 1,
            claimed_at=now,
            updated_at=now,
            **changes,
        )
    if not claimed:
        return None
    job.started_at = job.started_at or now  # the first claim starts the run: ``started_at == claimed_at``
    job.status, job.lease_owner, job.lease_expires_at = "running", worker_id, lease_expires_at
    job.attempts, job.fence, job.claimed_at, job.updated_at = job.attempts + 1, job.fence + 1, now, now
    if organization is None:
        organization = await Organization.get_or_none(id=job.organization_id)  # type: ignore[attr-defined]
    if organization is None or not organization.is_active:
        await unclaim(job, now)
        log.info("run %s not started: its organization is deactivated", job.id)
        return None
    # The runs of the organization claimed before this one, in (claimed_at, id) order: this
    # run may start only among the first ``max_concurrent_jobs`` of them.
    earlier = Q(claimed_at__lt=now) | Q(claimed_at=now, id__lt=job.id)
    ahead = await Job.filter(
        Q(organization_id=job.organization_id, status="running") & earlier  # type: ignore[attr-defined]
    ).count()
    if ahead >= limits_of(organization)["max_concurrent_jobs"]:
        # Over the organization's concurrency limit: back to the queue; a finishing run
        # wakes a worker again (or the reaper does).
        await unclaim(job, now)
        return None
    log.info("run %s claimed by %s (attempt %s, fence %s)", job.id, worker_id, job.attempts, job.fence)
    return job


async def unclaim(job: Job, now: datetime) -> None:
    """Back to the queue before the run started: the claim counts as no attempt, and a first
    claim's ``started_at`` is undone."""
    changes: dict[str, Any] = {"started_at": None} if job.started_at == job.claimed_at else {}
    await held(job).update(
        status="queued", lease_owner=None, lease_expires_at=None, attempts=F("attempts") - 1, queued_at=now, **changes
    )


async def renew(job: Job, lease_seconds: float) -> bool:
    now = await db_now()
    return bool(await held(job).update(lease_expires_at=now + timedelta(seconds=lease_seconds)))
