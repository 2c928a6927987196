"""Run events: written once to the database, published once to whoever is streaming them.

``add_event`` inserts the event (the durable history, replayed after ``Last-Event-ID``) and
publishes it on the process's ``EventHub``: through Redis pub/sub when Redis is configured (every
API process hears every worker), in-process otherwise (the in-memory broker runs jobs in the
server). An open stream subscribes first, reads the database once for catch-up, then only waits
on its queue. Every keep-alive period the hub looks at the database once for all the streams
of the process that ask for it (``subscribe(..., ticks=seconds)``: the last stored event of each
of their runs, and whether the run still exists) and hands each a keep-alive item; a stream
reads its run's events again only when an event it was not sent is stored (a lost pub/sub
message), so idle streams cost no queries of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn

from tortoise import timezone
from tortoise.expressions import F
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from vetrai.core.platform import Slot
from vetrai.core.pubsub import subscribe_forever
from vetrai.engine.clock import jsonable
from vetrai.engine.models import Job, JobEvent

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")
TICK = "keep-alive"
# Runs per query of a keep-alive check.
TICK_BATCH = 500
# Streams woken at once by a keep-alive check.
TICK_SLICE = 50


class LeaseLost(Exception):
    """The attempt no longer holds the run (another claim raised the fencing token): stop writing."""


class EventLimitExceeded(Exception):
    """The run wrote more events than ``VETRAI_WORKERS_MAX_EVENTS_PER_RUN`` allows."""


def serialize_event(event: JobEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "node": event.node, "data": event.data, "time": event.created_at}


class EventHub:
    """Fan-out of published run events to this process's open streams, keyed by run id."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._ticked: dict[asyncio.Queue[dict[str, Any]], str] = {}
        self._ticker: asyncio.Task[None] | None = None

    @property
    def channel(self) -> str:
        return f"{self.platform.settings.redis_prefix}workers:events"

    async def publish(self, run_id: str, event: dict[str, Any]) -> None:
        if self.platform.redis is not None:
            message = json.dumps({"run_id": run_id, "event": event}, default=str)
            try:
                await self.platform.redis.publish(self.channel, message)
                return
            except Exception:
                log.warning("publishing an event of run %s failed; local streams only", run_id, exc_info=True)
        self._deliver(run_id, event)

    def _deliver(self, run_id: str, event: dict[str, Any]) -> None:
        for queue in self._queues.get(run_id, ()):
            queue.put_nowait(event)

    def _on_message(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        self._deliver(str(message.get("run_id")), message.get("event") or {})

    @contextlib.asynccontextmanager
    async def subscribe(
        self, run_id: str | uuid.UUID, *, ticks: float | None = None
    ) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """The run's published events as they come. With ``ticks`` the queue also gets a
        ``{"type": TICK, "latest": <last stored event id or None>, "exists": bool}`` item about
        every ``ticks`` seconds (``latest`` ignores ``stream`` events)."""
        if self.platform.redis is not None and (self._listener is None or self._listener.done()):
            self._listener = self.platform.spawn(
                subscribe_forever(self.platform.redis, self.channel, self._on_message, name="run event listener")
            )
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        key = str(run_id)
        self._queues.setdefault(key, set()).add(queue)
        if ticks is not None:
            self._ticked[queue] = key
            if self._ticker is None or self._ticker.done():
                self._ticker = self.platform.spawn(self._tick(ticks))
        try:
            yield queue
        finally:
            self._ticked.pop(queue, None)
            queues = self._queues.get(key)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    self._queues.pop(key, None)

    async def _tick(self, seconds: float) -> None:
        """One look at the database per period for every ticked stream of this process."""
        while True:
            await asyncio.sleep(seconds)
            ticked = dict(self._ticked)
            if not ticked:
                continue
            keys = sorted(set(ticked.values()))
            latest: dict[str, int] = {}
            exists: set[str] | None = set()
            try:
                for start in range(0, len(keys), TICK_BATCH):
                    batch = keys[start : start + TICK_BATCH]
                    rows = await (
                        JobEvent.filter(job_id__in=batch)
                        .exclude(type="stream")
                        .group_by("job_id")
                        .annotate(latest=Max("id"))
                        .values_list("job_id", "latest")
                    )
                    latest.update({str(job_id): int(last) for job_id, last in rows})
                    exists.update(str(job_id) for job_id in await Job.filter(id__in=batch).values_list("id", flat=True))  # type: ignore[union-attr]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("the keep-alive check of %s open streams failed", len(keys), exc_info=True)
                exists = None
            # Handed out over half the period in slices, so a thousand streams do not all wake
            # (and write their keep-alive) in the same instant.
            items = list(ticked.items())
            slices = -(-len(items) // TICK_SLICE)
            for start in range(0, len(items), TICK_SLICE):
                for queue, key in items[start : start + TICK_SLICE]:
                    item = {"type": TICK, "latest": latest.get(key), "exists": exists is None or key in exists}
                    queue.put_nowait(item)
                if slices > 1:
                    await asyncio.sleep(seconds / 2 / slices)

    async def close(self) -> None:
        for task in (self._listener, self._ticker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._listener = self._ticker = None


HUB: Slot[EventHub] = Slot("workers_hub")


def hub_of(platform: Platform) -> EventHub:
    return platform.find(HUB) or platform.fill(HUB, EventHub(platform))


async def add_event(
    platform: Platform,
    job_id: uuid.UUID | str,
    type_: str,
    data: Any = None,
    node: str | None = None,
    *,
    fence: int | None = None,
    max_events: int | None = None,
    publish: bool = True,
) -> JobEvent:
    """Store and publish one event. With ``fence`` (a running attempt's write) it is stored only
    while that attempt still holds the run and the run is under ``max_events``. Inside a larger
    transaction pass ``publish=False`` and ``publish_event`` it after the commit: a stream must
    not show what may still roll back."""
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        data = {"value": data}
    data = jsonable(data)
    encoded = json.dumps(data)
    db = JobEvent._meta.db
    if db.capabilities.dialect == "postgres":
        event = await _insert_counted(db, job_id, type_, node, data, encoded, fence, max_events)
    else:
        event = await _count_and_insert(job_id, type_, node, data, len(encoded), fence, max_events)
    if publish:
        await publish_event(platform, event)
    return event


async def _insert_counted(
    db: Any,
    job_id: uuid.UUID | str,
    type_: str,
    node: str | None,
    data: dict[str, Any],
    encoded: str,
    fence: int | None,
    max_events: int | None,
) -> JobEvent:
    """PostgreSQL: the run's counters and the event in one statement (a data-modifying CTE), so
    an event costs one round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT)."""
    values: list[Any] = [job_id, len(encoded), type_, node, encoded, timezone.now()]
    condition = ""
    if fence is not None:
        values.append(fence)
        condition = f" AND fence = ${len(values)} AND status = 'running'"
        if max_events is not None:
            values.append(max_events)
            condition += f" AND event_count < ${len(values)}"
    rows = await db.execute_query_dict(
        "WITH counted AS (UPDATE workers_job SET event_count = event_count + 1, event_bytes = event_bytes + $2"
        f" WHERE id = $1{condition} RETURNING id)"
        " INSERT INTO workers_job_event (job_id, type, node, data, created_at)"
        " SELECT id, $3, $4, $5, $6 FROM counted RETURNING id",
        values,
    )
    if not rows:
        await _refused(job_id, fence, max_events)
    event = JobEvent(id=rows[0]["id"], job_id=job_id, type=type_, node=node, data=data, created_at=values[5])
    event._saved_in_db = True
    return event


async def _count_and_insert(
    job_id: uuid.UUID | str,
    type_: str,
    node: str | None,
    data: dict[str, Any],
    size: int,
    fence: int | None,
    max_events: int | None,
) -> JobEvent:
    counters = {"event_count": F("event_count") + 1, "event_bytes": F("event_bytes") + size}
    async with in_transaction():
        query = Job.filter(id=job_id)
        if fence is not None:
            query = query.filter(fence=fence, status="running")
            if max_events is not None:
                query = query.filter(event_count__lt=max_events)
        if not await query.update(**counters):
            await _refused(job_id, fence, max_events)
        return await JobEvent.create(job_id=job_id, type=type_, node=node, data=data)


async def _refused(job_id: uuid.UUID | str, fence: int | None, max_events: int | None) -> NoReturn:
    """Why the counters were not updated: the attempt lost the run, or the run is at its limit."""
    if fence is not None and await Job.filter(id=job_id, fence=fence, status="running").exists():
        raise EventLimitExceeded(f"the run wrote more than {max_events} events")
    raise LeaseLost(str(job_id))


async def publish_event(platform: Platform, event: JobEvent) -> None:
    await hub_of(platform).publish(str(event.job_id), jsonable(serialize_event(event)))  # type: ignore[attr-defined]


def serialize_job(job: Job) -> dict[str, Any]:
    duration = None
    if job.started_at and job.finished_at:
        duration = int((job.finished_at - job.started_at).total_seconds() * 1000)
    return {
        "id": job.id,
        "organization_id": job.organization_id,  # type: ignore[attr-defined]
        "template_id": job.template_id,  # type: ignore[attr-defined]
        "template": job.template_name,
        "workflow": job.workflow,
        "user_id": job.user_id,
        "status": job.status,
        "input": job.input,
        "output": job.output,
        "error": job.error,
        "interrupt": job.interrupt,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "timeout_seconds": job.timeout_seconds,
        "current_node": job.current_node,
        "cancel_requested": job.cancel_requested,
        "idempotency_key": job.idempotency_key,
        "webhook_url": job.webhook_url,
        "thread_id": job.thread_id,
        "assistant_id": job.assistant_id,
        "graph_version": job.graph_version,
        "priority": job.priority,
        "usage": job.usage,
        "reason": job.reason,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "duration_ms": duration,
    }
