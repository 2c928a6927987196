"""Erasing an organization's engine data, and expiring its old finished runs.

Rows cascade or are deleted here; LangGraph checkpoints live outside the ORM (in the
checkpointer's own tables, SQLite or PostgreSQL), so every thread whose rows go also loses its
checkpoints through the checkpointer, or they would outlive the data they belong to.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from vetrai.core.platform import Platform
from vetrai.engine.models import (
    FINISHED,
    Assistant,
    Cron,
    Job,
    RunQuota,
    StoreItem,
    Thread,
    WorkflowTemplate,
)
from vetrai.engine.runtime import runtime_of


async def _delete_checkpoints(platform: Platform, thread_ids: set[str]) -> None:
    if not thread_ids:
        return
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    for thread_id in sorted(thread_ids):
        await runtime.checkpointer.adelete_thread(thread_id)


async def purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    """Every run, event, thread (with its checkpoints), assistant, cron, store item, template
    and usage counter of the organization."""
    threads = {
        str(key) for key in await Job.filter(organization_id=organization_id).values_list("thread_id", flat=True) if key
    }
    threads |= {str(key) for key in await Thread.filter(organization_id=organization_id).values_list("id", flat=True)}
    await Job.filter(organization_id=organization_id).delete()
    for model in (Cron, Thread, Assistant, StoreItem):
        await model.filter(organization_id=organization_id).delete()
    await WorkflowTemplate.filter(organization_id=organization_id).delete()
    await RunQuota.filter(organization_id=organization_id).delete()
    await _delete_checkpoints(platform, threads)


async def purge_expired(platform: Platform, organization_id: uuid.UUID, before: datetime) -> int:
    """Finished runs that ended before ``before``, with their events; a run's checkpoints go
    when no run and no thread row is left on its thread. Queued, running and interrupted runs
    are never expired: they still have work (or a person) to wait for."""
    expired = Job.filter(organization_id=organization_id, status__in=sorted(FINISHED), finished_at__lt=before)
    rows = await expired.values_list("id", "thread_id")
    if not rows:
        return 0
    await Job.filter(id__in=[key for key, _thread in rows]).delete()
    candidates = {thread for _key, thread in rows if thread}
    kept = set(await Job.filter(thread_id__in=sorted(candidates)).values_list("thread_id", flat=True))
    kept |= set(await Thread.filter(id__in=sorted(candidates)).values_list("id", flat=True))
    await _delete_checkpoints(platform, {str(thread) for thread in candidates - kept})
    return len(rows)
