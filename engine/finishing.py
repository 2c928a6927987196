"""What follows the end of a run, wherever it ended (the run loop, the reaper, a cancel from the
API), and when it stops to wait for a person (``interrupted``).

The status write and what must follow it are one transaction (``settle``): the run's status, its
thread's status, its final events and the outbox messages of what acts on it — the webhook
(``workers.webhook``), the domain event that billing and notifications hear
(``workers.finished``) and waking the next queued run (``workers.kick_next``). A process killed
right after the commit loses none of them: the outbox delivers each at least once, keyed
``<run id>:<status>:<fence>`` so a repeated delivery is recognisable. The events are published to
open streams after the commit, so a client never sees a status the database does not have yet.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from vetrai.core import outbox
from vetrai.core.hooks import Backoff, OutboxHandler, TemporaryDeliveryError
from vetrai.core.platform import current_platform
from vetrai.engine import checkpoints
from vetrai.engine.clock import utcnow
from vetrai.engine.models import FINISHED, Job, JobEvent, Thread
from vetrai.engine.scheduling import kick_next
from vetrai.engine.storage import forget_storage
from vetrai.engine.streams import add_event, publish_event

if TYPE_CHECKING:
    from vetrai.core.models import OutboxMessage
    from vetrai.core.platform import Platform
    from vetrai.engine.settings import WorkersSettings

WEBHOOK_KIND = "workers.webhook"
FINISHED_KIND = "workers.finished"
KICK_KIND = "workers.kick_next"
JOB_FINISHED = "engine.job_finished"
JOB_INTERRUPTED = "engine.job_interrupted"


class ThreadRuntime(Protocol):
    """What finishing needs of the process's ``Runtime`` (typed structurally: the runtime
    imports this module, so this module does not import it)."""

    checkpointer: Any

    async def _update_thread(self, job: Job, status: str) -> None: ...


log = logging.getLogger("vetrai.engine")


def event_data(job: Job, status: str, error: dict[str, str] | None = None, name: str = JOB_FINISHED) -> dict[str, Any]:
    """The documented payload of ``engine.job_*`` domain events."""
    data: dict[str, Any] = {
        "job_id": str(job.id),
        "template": job.template_name,
        "status": status,
        "user_id": str(job.user_id) if job.user_id else None,
    }
    if error:
        data["error"] = error
    if name == JOB_FINISHED:
        data["usage"] = job.usage
    return data


async def emit(platform: Platform, job: Job, name: str, status: str, error: dict[str, str] | None = None) -> None:
    await platform.events.emit(
        name,
        event_data(job, status, error, name),
        organization_id=job.organization_id,  # type: ignore[attr-defined]
        actor_id=job.user_id,
    )


def delivery_key(job: Job, status: str) -> str:
    """One status change of one run: a run is finished or interrupted at most once per claim
    (its fencing token), and a cancel from the API ends it at a token no finish used."""
    return f"{job.id}:{status}:{job.fence}"


def webhook_event(status: str) -> str:
    return JOB_INTERRUPTED if status == "interrupted" else JOB_FINISHED


async def _enqueue_webhook(job: Job, status: str, key: str) -> None:
    await outbox.enqueue(
        WEBHOOK_KIND,
        {"job_id": str(job.id), "event": webhook_event(status), "status": status},
        key=key,
        organization_id=job.organization_id,  # type: ignore[attr-defined]
    )


async def adopt_queued_webhook(job_id: str) -> bool:
    """A webhook hand-off that a version before the outbox left queued in the broker (an
    upgrade with runs just finished): it becomes the outbox message of the run's status, under
    the same delivery key, so it is delivered once and not lost. False when nothing is due."""
    job = await Job.get_or_none(id=job_id)
    if job is None or not job.webhook_url or (job.status not in FINISHED and job.status != "interrupted"):
        return False
    await _enqueue_webhook(job, job.status, delivery_key(job, job.status))
    return True


async def enqueue_after(job: Job, status: str, error: dict[str, str] | None = None) -> None:
    """The outbox messages of a status change; call it inside the change's transaction."""
    key = delivery_key(job, status)
    organization_id = job.organization_id  # type: ignore[attr-defined]
    if job.webhook_url:
        await _enqueue_webhook(job, status, key)
    if status in FINISHED:
        await outbox.enqueue(
            FINISHED_KIND,
            {
                "name": JOB_FINISHED,
                "data": event_data(job, status, error),
                "organization_id": str(organization_id),
                "actor_id": str(job.user_id) if job.user_id else None,
            },
            key=key,
            organization_id=organization_id,
        )
    await outbox.enqueue(
        KICK_KIND,
        {
            "job_id": str(job.id),
            "thread_id": str(job.thread_id) if job.thread_id else None,
            "organization_id": str(organization_id),
        },
        key=key,
        organization_id=organization_id,
    )


async def settle(
    platform: Platform,
    job: Job,
    status: str,
    change: Callable[[], Awaitable[int]],
    *,
    output: Any = None,
    error: dict[str, str] | None = None,
    events: list[tuple[str, dict[str, Any]]] | None = None,
    thread: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Write a run's final (or ``interrupted``) status with everything that must follow it, in
    one transaction; False (and nothing written) when ``change`` updated no row (the run had
    moved on: another attempt holds it, or it was cancelled meanwhile)."""
    stored: list[JobEvent] = []
    async with outbox.transaction():
        if not await change():
            return False
        if thread is not None:
            await thread()
        if output is not None:
            stored.append(await add_event(platform, job.id, "output", output, publish=False))
        for type_, data in events if events is not None else [_status_event(status, error)]:
            stored.append(await add_event(platform, job.id, type_, data, publish=False))
        await enqueue_after(job, status, error)
    forget_storage(platform, job.organization_id)  # type: ignore[attr-defined]
    for event in stored:
        await publish_event(platform, event)
    return True


def _status_event(status: str, error: dict[str, str] | None) -> tuple[str, dict[str, Any]]:
    return "status", {"status": status, **({"error": error} if error else {})}


async def finish(
    platform: Platform,
    job: Job,
    status: str,
    change: Callable[[], Awaitable[int]],
    *,
    output: Any = None,
    error: dict[str, str] | None = None,
    runtime: ThreadRuntime | None = None,
) -> bool:
    """A final status: ``settle`` it with the thread's status, then clean up checkpoints."""
    stateless = (job.options or {}).get("on_completion") == "delete" and job.thread_id is not None

    async def thread() -> None:
        if stateless:
            await Thread.filter(id=job.thread_id).delete()
        elif runtime is not None:
            await runtime._update_thread(job, "error" if status in ("failed", "timed_out") else "idle")
        elif job.thread_id is not None and job.thread_id != job.id:
            busy = await Job.filter(thread_id=job.thread_id, status__in=("queued", "running")).exists()
            await Thread.filter(id=job.thread_id).update(status="busy" if busy else "idle", updated_at=utcnow())

    if not await settle(platform, job, status, change, output=output, error=error, thread=thread):
        return False
    if runtime is not None:
        try:
            if stateless:
                await runtime.checkpointer.adelete_thread(str(job.thread_id))
            elif job.thread_id is None or job.thread_id == job.id:
                await checkpoints.prune_thread(runtime.checkpointer, str(job.id))
        except Exception:
            log.warning("cleaning up the checkpoints of run %s failed", job.id, exc_info=True)
    return True


async def _kick(message: OutboxMessage) -> None:
    """Outbox handler of ``workers.kick_next``: the run may be deleted by now (a rollback), so
    the payload carries what ``kick_next`` reads of it."""
    payload = message.payload
    job = Job(
        id=uuid.UUID(payload["job_id"]),
        thread_id=uuid.UUID(payload["thread_id"]) if payload.get("thread_id") else None,
        organization_id=uuid.UUID(payload["organization_id"]),
    )
    await kick_next(current_platform(), job)


async def _finished(message: OutboxMessage) -> None:
    """Outbox handler of ``workers.finished``: the domain event, once. Its listeners' database
    writes (billing's run count, notifications' outbox messages) commit in one transaction with
    a mark on this message, so a worker killed after that commit but before the outbox settled
    the message does not count the run twice when the message is delivered again."""
    from vetrai.core.models import OutboxMessage

    payload = message.payload
    if payload.get("emitted"):
        return
    async with outbox.transaction():
        marked = await OutboxMessage.filter(id=message.id, claimed_by=message.claimed_by).update(
            payload={**payload, "emitted": True}
        )
        if not marked:
            raise TemporaryDeliveryError("another deliverer took the message over")
        await current_platform().events.emit(
            payload["name"],
            payload["data"],
            organization_id=uuid.UUID(payload["organization_id"]),
            actor_id=uuid.UUID(payload["actor_id"]) if payload.get("actor_id") else None,
        )


async def _webhook(message: OutboxMessage) -> None:
    from vetrai.engine.webhooks import deliver_webhook

    payload = message.payload
    await deliver_webhook(current_platform(), payload["job_id"], payload["event"], payload["status"], message.key)


def outbox_handlers(settings: WorkersSettings | None) -> list[OutboxHandler]:
    from vetrai.engine.settings import WorkersSettings

    settings = settings or WorkersSettings()
    return [
        OutboxHandler(
            WEBHOOK_KIND,
            _webhook,
            max_attempts=settings.webhook_max_attempts,
            backoff=Backoff(base_seconds=1.0, max_seconds=300.0),
            lease_seconds=60.0,
        ),
        OutboxHandler(FINISHED_KIND, _finished, max_attempts=10, lease_seconds=60.0),
        OutboxHandler(KICK_KIND, _kick, max_attempts=10, backoff=Backoff(base_seconds=1.0), lease_seconds=60.0),
    ]
