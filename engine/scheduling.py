"""Which run a free slot takes: fair across organizations, by priority within one.

A taskiq message is a wake-up, not an assignment: the worker that receives it (or a finishing
run's wake-up) claims the best claimable run of all, whichever run the message names. The
organizations with claimable runs that are active and under their ``max_concurrent_jobs`` are
ranked by their running runs (fewest first), then by when one of their runs was last claimed
(longest ago first), so a new organization's first run starts at the next free slot however
long another organization's backlog. Within the chosen organization the run with the highest
``priority`` goes first, then the oldest. A run waits while another run of its thread runs, and
a delayed run (``run_after``) until it is due. The claim itself is ``claims.take``: a locked
(SKIP LOCKED on PostgreSQL) conditional UPDATE with the fencing token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from vetrai.core.models import Organization
from vetrai.core.prepared import PreparedSelect
from vetrai.core.tenancy import limits_of
from vetrai.engine.claims import claimable, take
from vetrai.engine.clock import db_now, utcnow
from vetrai.engine.dispatch import send_run
from vetrai.engine.models import Job

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")
NEVER = datetime.min.replace(tzinfo=UTC)
# Organizations ranked per choice: the choice tries them in order until one claim succeeds.
RANKED = 50
_JOBS = Job._meta.db_table
_RUNNING = RawSQL(
    f"(SELECT COUNT(*) FROM {_JOBS} r"
    f" WHERE r.organization_id = {Organization._meta.db_table}.id AND r.status = 'running')"
)
_SERVED = RawSQL(
    f"(SELECT MAX(s.claimed_at) FROM {_JOBS} s WHERE s.organization_id = {Organization._meta.db_table}.id)"
)


def startable(now: datetime) -> Q:
    """Claimable runs a worker may start now: a queued run only while no other run of its
    thread runs (it is woken when that one ends); a run whose lease was lost at any time."""
    busy_threads = Subquery(Job.filter(status="running", thread_id__isnull=False).values("thread_id"))
    free = Q(thread_id__isnull=True) | ~Q(thread_id__in=busy_threads)
    return claimable(now) & (Q(status="running") | free)


def _moment(value: Any) -> datetime:
    """``MAX(claimed_at)`` as a datetime (SQLite returns the stored text)."""
    if value is None:
        return NEVER
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _waiting_organizations(now: datetime, skip: Collection[str] = ()) -> QuerySet[Organization]:
    waiting = Job.filter(startable(now))
    if skip:
        waiting = waiting.exclude(id__in=list(skip))
    return Organization.filter(id__in=Subquery(waiting.distinct().values("organization_id")), is_active=True).annotate(
        running=_RUNNING, served=_SERVED
    )


def best_of(organization_id: uuid.UUID, now: datetime, skip: Collection[str] = ()) -> QuerySet[Job]:
    """The organization's startable runs, the one to take first first."""
    query = Job.filter(Q(organization_id=organization_id) & startable(now))
    if skip:
        query = query.exclude(id__in=list(skip))
    return query.order_by("-priority", "created_at", "id")


# Every claim runs the first two (without runs to skip, the usual case), every finished run the
# third: their SQL is built once.
_SAMPLE_NOW = datetime(2000, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
_WAITING = PreparedSelect(_waiting_organizations, now=_SAMPLE_NOW)
_FIRST = PreparedSelect(
    lambda organization_id, now: best_of(organization_id, now).select_for_update(skip_locked=True).limit(1),
    organization_id=uuid.UUID(int=1),
    now=_SAMPLE_NOW,
)

_OTHER_STARTABLE = PreparedSelect(
    lambda job_id, now: Job.filter(startable(now)).exclude(id=job_id).only("id").limit(1),
    job_id=uuid.UUID(int=2),
    now=_SAMPLE_NOW,
)


async def ranked_organizations(now: datetime, skip: Collection[str] = ()) -> list[Organization]:
    """Organizations with a startable run, active and under their concurrency limit, fairest
    first (one query: the waiting organizations are a subquery)."""
    rows = await (_WAITING.fetch(Organization, now=now) if not skip else _waiting_organizations(now, skip))
    open_ = [row for row in rows if int(row.running) < limits_of(row)["max_concurrent_jobs"]]  # type: ignore[attr-defined]
    open_.sort(key=lambda row: (int(row.running), _moment(row.served), str(row.id)))  # type: ignore[attr-defined]
    return open_[:RANKED]


async def _first_of(organization_id: uuid.UUID, now: datetime, skip: Collection[str]) -> Job | None:
    """The organization's run to take, its row locked (SKIP LOCKED on PostgreSQL)."""
    if skip:
        return await best_of(organization_id, now, skip).select_for_update(skip_locked=True).first()
    rows = await _FIRST.fetch(Job, organization_id=organization_id, now=now)
    return rows[0] if rows else None


async def claim_next(worker_id: str, lease_seconds: float, skip: Collection[str] = ()) -> Job | None:
    """Claim the fairest startable run for one attempt, or None when there is none to take.

    ``skip``: runs this process still holds (an attempt whose lease it lost)."""
    now = await db_now()
    for organization in await ranked_organizations(now, skip):
        job = await take(partial(_first_of, organization.id, now, skip), worker_id, lease_seconds, now, organization)
        if job is not None:
            return job
    return None


async def kick_next(platform: Platform, job: Job) -> None:
    """A slot is free (the run ended or waits for input): wake a worker if a run is waiting.
    The wake-up names the next run of the same thread or else any startable run; the worker
    claims the fairest choice either way."""
    now = utcnow()
    waiting = None
    if job.thread_id is not None and job.thread_id != job.id:
        waiting = await (
            Job.filter(startable(now), thread_id=job.thread_id, status="queued")
            .exclude(id=job.id)
            .order_by("created_at")
            .first()
        )
    if waiting is None:
        others = await _OTHER_STARTABLE.fetch(Job, job_id=job.id, now=now)
        waiting = others[0] if others else None
    if waiting is None:
        return
    try:
        await send_run(platform, waiting.id)
    except Exception:
        log.warning("could not wake a worker for run %s; the reaper will", waiting.id)
