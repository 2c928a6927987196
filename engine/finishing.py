"""What follows the end of a run, wherever it ended (the run loop, the reaper, a cancel from the
API): the thread's status, the final events, the domain event, the webhook, checkpoint clean-up
and waking the next queued run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from vetrai.engine import checkpoints
from vetrai.engine.clock import utcnow
from vetrai.engine.models import Job, Thread
from vetrai.engine.scheduling import kick_next
from vetrai.engine.streams import add_event

if TYPE_CHECKING:
    from vetrai.core.platform import Platform


class ThreadRuntime(Protocol):
    """What finishing needs of the process's ``Runtime`` (typed structurally: the runtime
    imports this module, so this module does not import it)."""

    checkpointer: Any

    async def _update_thread(self, job: Job, status: str) -> None: ...


log = logging.getLogger("vetrai.engine")


async def emit(platform: Platform, job: Job, name: str, status: str, error: dict[str, str] | None = None) -> None:
    data: dict[str, Any] = {
        "job_id": str(job.id),
        "template": job.template_name,
        "status": status,
        "user_id": str(job.user_id) if job.user_id else None,
    }
    if error:
        data["error"] = error
    if name == "engine.job_finished":
        data["usage"] = job.usage
    await platform.events.emit(name, data, organization_id=job.organization_id, actor_id=job.user_id)  # type: ignore[attr-defined]


async def after_finish(
    platform: Platform,
    job: Job,
    status: str,
    *,
    output: Any = None,
    error: dict[str, str] | None = None,
    runtime: ThreadRuntime | None = None,
) -> None:
    """What follows a final status: its events, the domain event, the webhook, the thread's
    status, checkpoint pruning and waking the next queued run."""
    from vetrai.engine.webhooks import send_webhook

    stateless = (job.options or {}).get("on_completion") == "delete" and job.thread_id is not None
    if stateless:
        await Thread.filter(id=job.thread_id).delete()
    elif runtime is not None:
        await runtime._update_thread(job, "error" if status in ("failed", "timed_out") else "idle")
    elif job.thread_id is not None and job.thread_id != job.id:
        busy = await Job.filter(thread_id=job.thread_id, status__in=("queued", "running")).exists()
        await Thread.filter(id=job.thread_id).update(status="busy" if busy else "idle", updated_at=utcnow())
    if output is not None:
        await add_event(platform, job.id, "output", output)
    await add_event(platform, job.id, "status", {"status": status, **({"error": error} if error else {})})
    await emit(platform, job, "engine.job_finished", status, error)
    if job.webhook_url:
        await send_webhook(platform, job.id)
    if runtime is not None:
        try:
            if stateless:
                await runtime.checkpointer.adelete_thread(str(job.thread_id))
            elif job.thread_id is None or job.thread_id == job.id:
                await checkpoints.prune_thread(runtime.checkpointer, str(job.id))
        except Exception:
            log.warning("cleaning up the checkpoints of run %s failed", job.id, exc_info=True)
    await kick_next(platform, job)
