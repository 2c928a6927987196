"""Executing jobs: atomic claim, lease + heartbeat, LangGraph checkpoints, cancel, retries, reaper.

Every process that runs tasks (``vetrai serve`` with the in-memory broker, ``vetrai worker``
with Redis) builds one ``Runtime`` lazily on its first job. The job row is the source of
truth: ``claim`` is one conditional UPDATE, so a duplicate delivery (taskiq-redis streams
redeliver long tasks) does nothing, and every later write is conditional on still holding
the lease. Cancellation reaches the run through Redis pub/sub (or directly in the same
process), with the heartbeat polling the cancel flag as a fallback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.expressions import F, Q

from vetrai.core.models import Organization
from vetrai.core.outbound import (
    PrivateAddressError,
    ensure_public_host,
    guarded_client,
    hmac_sha256_hex,
)
from vetrai.core.pubsub import subscribe_forever
from vetrai.core.tenancy import limits_of
from vetrai.engine.models import FINISHED, Job, JobEvent
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.spec import WorkflowSpec, enforce_strict_msgpack, get_workflow

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")
RUN_TASK = "workers.run_job"
REAP_TASK = "workers.reap"
WEBHOOK_TASK = "workers.deliver_webhook"
CANCEL_POLL_SECONDS = 0.5
ADVISORY_LOCK = 0x766574726169  # "vetrai": serializes checkpointer setup across processes


def utcnow() -> datetime:
    return datetime.now(UTC)


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def error_of(exc: BaseException) -> dict[str, str]:
    """Type and message only: stack traces stay in the logs."""
    return {"type": type(exc).__name__, "message": str(exc)[:2000] or type(exc).__name__}


class NotRetryable(Exception):
    """A failure another attempt cannot fix (unknown workflow, output not matching its model)."""


async def add_event(job_id: uuid.UUID, type_: str, data: Any = None, node: str | None = None) -> JobEvent:
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        data = {"value": data}
    return await JobEvent.create(job_id=job_id, type=type_, node=node, data=jsonable(data))


async def send_run(platform: Platform, job_id: uuid.UUID | str) -> None:
    task = platform.broker.find_task(RUN_TASK)
    if task is None:  # pragma: no cover - registered by vetrai_tasks
        raise RuntimeError(f"task {RUN_TASK} is not registered")
    await task.kiq(str(job_id))


async def publish_cancel(platform: Platform, job_id: uuid.UUID) -> None:
    """Tell the process holding the run (this one or another) to cancel it now."""
    runtime: Runtime | None = platform.state.get("workers")
    if runtime is not None:
        runtime.cancel_local(str(job_id), "cancel")
    if platform.redis is not None:
        await platform.redis.publish(cancel_channel(platform), str(job_id))


def cancel_channel(platform: Platform) -> str:
    return f"{platform.settings.redis_prefix}workers:cancel"


@dataclass
class Run:
    job_id: str
    task: asyncio.Task[Any] | None = None
    reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Runtime:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.plugin_settings("workers", WorkersSettings)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.checkpointer: Any = None
        self._close_checkpointer: Any = None
        self._graphs: dict[str, Any] = {}
        self.runs: dict[str, Run] = {}
        self._ready = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closing = False

    # --- resources --------------------------------------------------------------------------

    async def ensure_ready(self) -> None:
        if self.checkpointer is not None:
            return
        async with self._ready:
            if self.checkpointer is not None:
                return
            enforce_strict_msgpack()
            await self._open_checkpointer()
            if self.platform.redis is not None:
                self._spawn(self._listen_cancels())
            self._spawn(self._poll_cancels())

    async def _open_checkpointer(self) -> None:
        url = self.platform.settings.resolved_database_url
        if url.startswith("sqlite"):
            import aiosqlite
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            path = url.removeprefix("sqlite://").split("?", 1)[0]
            target = ":memory:" if ":memory:" in path else f"{path}.checkpoints"
            # Autocommit: the saver's INSERT and COMMIT are two awaits, and a run cancelled between
            # them (a cancel, a lost lease, a drain) left an open write transaction that locked
            # every other connection to the file out ("database is locked").
            conn = await aiosqlite.connect(target, isolation_level=None)
            await conn.execute("PRAGMA journal_mode=WAL")
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            self.checkpointer, self._close_checkpointer = saver, conn.close
            return
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(2, self.settings.checkpoint_pool_size),
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await pool.open(wait=True)
        saver = AsyncPostgresSaver(pool)
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK,))
            try:
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK,))
        self.checkpointer, self._close_checkpointer = saver, pool.close

    def graph_for(self, spec: WorkflowSpec) -> Any:
        graph = self._graphs.get(spec.name)
        if graph is None:
            graph = spec.build().compile(checkpointer=self.checkpointer)
            self._graphs[spec.name] = graph
        return graph

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; running ones stop at once, release their lease and are re-queued
        (their checkpoints stay, so the next attempt continues where they were)."""
        self.closing = True
        runs = list(self.runs.values())
        for run in runs:
            self.cancel_local(run.job_id, "drain")
        if runs:
            await asyncio.wait([asyncio.create_task(run.done.wait()) for run in runs], timeout=timeout)

    async def close(self, drain_timeout: float = 10.0) -> None:
        """Drain, then release the checkpointer and background tasks."""
        await self.drain(drain_timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._close_checkpointer is not None:
            await self._close_checkpointer()
            self.checkpointer = self._close_checkpointer = None

    async def _listen_cancels(self) -> None:
        redis = self.platform.redis
        assert redis is not None
        await subscribe_forever(
            redis,
            cancel_channel(self.platform),
            lambda data: self.cancel_local(data.decode(), "cancel"),
            name="cancel listener",
        )

    async def _poll_cancels(self) -> None:
        """One query per process and half second while runs are held: cancels requested on
        another process without Redis (or whose pub/sub message was lost) arrive within a second."""
        while True:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            if not self.runs:
                continue
            try:
                flagged = await Job.filter(id__in=list(self.runs), cancel_requested=True, status="running").values_list(
                    "id", flat=True
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cancel poll failed")
                continue
            for job_id in flagged:
                self.cancel_local(str(job_id), "cancel")

    def cancel_local(self, job_id: str, reason: str) -> bool:
        run = self.runs.get(job_id)
        if run is None:
            return False
        run.reason = run.reason or reason
        if run.task is not None and not run.task.done():
            run.task.cancel()
        return True

    # --- the run ------------------------------------------------------------------------------

    async def run_job(self, job_id: str) -> str | None:
        """Claim and run one job; returns the status it left the job in, or None if not claimed."""
        if self.closing:
            return None
        try:
            key = uuid.UUID(str(job_id))
        except ValueError:
            return None
        await self.ensure_ready()
        run = Run(str(key))
        if str(key) in self.runs:
            return None
        self.runs[str(key)] = run
        try:
            job = await self.claim(key)
            if job is None:
                return None
            return await self._run(job, run)
        finally:
            self.runs.pop(str(key), None)
            run.done.set()

    async def claim(self, key: uuid.UUID) -> Job | None:
        now = utcnow()
        claimable = (Q(status="queued") & (Q(run_after__isnull=True) | Q(run_after__lte=now))) | Q(
            status="running", lease_expires_at__lt=now
        )
        claimed = await Job.filter(Q(id=key) & claimable).update(
            status="running",
            lease_owner=self.worker_id,
            lease_expires_at=now + timedelta(seconds=self.settings.lease_seconds),
            attempts=F("attempts") + 1,
            claimed_at=now,
            updated_at=now,
        )
        if not claimed:
            return None
        job = await Job.get(id=key)
        organization = await Organization.get_or_none(id=job.organization_id)
        limit = limits_of(organization)["max_concurrent_jobs"] if organization else 0
        ahead = await (
            Job.filter(organization_id=job.organization_id, status="running")
            .order_by("claimed_at", "id")
            .limit(max(limit, 0))
            .values_list("id", flat=True)
        )
        if job.id not in ahead:
            # Over the organization's concurrency limit: back to the queue; a finishing run
            # of the same organization (or the reaper) sends it again.
            await Job.filter(id=key, lease_owner=self.worker_id, status="running").update(
                status="queued", lease_owner=None, lease_expires_at=None, attempts=F("attempts") - 1, queued_at=now
            )
            return None
        return job

    async def _run(self, job: Job, run: Run) -> str:
        if job.cancel_requested:
            await self._finish(job, "cancelled")
            return "cancelled"
        first = job.started_at is None
        if first:
            job.started_at = utcnow()
            await Job.filter(id=job.id).update(started_at=job.started_at)
        await add_event(job.id, "status", {"status": "running", "attempt": job.attempts})
        if first:
            await self._emit(job, "engine.job_started", "running")
        spec = get_workflow(job.workflow)
        heartbeat = asyncio.create_task(self._heartbeat(job, run))
        run.task = asyncio.create_task(self._execute(spec, job, run))
        if run.reason:
            run.task.cancel()
        try:
            try:
                await asyncio.wait({run.task})
            except asyncio.CancelledError:
                # The taskiq task itself is cancelled (worker shutdown): drain this run.
                run.reason = run.reason or "drain"
                run.task.cancel()
                await asyncio.wait({run.task})
                await self._settle(job, run)
                raise
        finally:
            heartbeat.cancel()
        return await self._settle(job, run)

    async def _execute(self, spec: WorkflowSpec | None, job: Job, run: Run) -> tuple[str, Any]:
        if spec is None:
            raise NotRetryable(f"workflow {job.workflow!r} is not installed on this worker")
        from langgraph.types import Command

        graph = self.graph_for(spec)
        config: dict[str, Any] = {
            "configurable": {"thread_id": str(job.id), "attempt": job.attempts},
            "recursion_limit": job.recursion_limit,
        }
        payload: Any
        if job.has_resume:
            payload = Command(resume=job.resume_value)
            await Job.filter(id=job.id).update(has_resume=False, resume_value=None)
        elif await self.checkpointer.aget_tuple(config) is not None:
            payload = None  # resume from the last checkpoint: finished nodes are not run again
        else:
            payload = spec.to_state(job.input)
        current: str | None = None
        async with asyncio.timeout(job.timeout_seconds):
            async for mode, chunk in graph.astream(payload, config, stream_mode=["updates", "custom", "tasks"]):
                if mode == "tasks":
                    if "input" in chunk:  # a node starts: it is the job's current node
                        current = chunk.get("name")
                        await Job.filter(id=job.id).update(current_node=current)
                elif mode == "updates":
                    for node, update in chunk.items():
                        if node == "__interrupt__":
                            await add_event(
                                job.id, "interrupt", {"values": [getattr(item, "value", item) for item in update]}
                            )
                            continue
                        await add_event(
                            job.id, "node", update if isinstance(update, dict) else {"value": update}, node=node
                        )
                else:
                    await add_event(job.id, "progress", chunk, node=current)
            state = await graph.aget_state(config)
        interrupts = list(getattr(state, "interrupts", ()) or ())
        if interrupts:
            return "interrupted", [jsonable(item.value) for item in interrupts]
        try:
            output = spec.output_model.model_validate(spec.to_output(dict(state.values))).model_dump(mode="json")
        except Exception as exc:
            raise NotRetryable(f"the output does not match {spec.output_model.__name__}: {exc}") from exc
        return "succeeded", output

    async def _heartbeat(self, job: Job, run: Run) -> None:
        interval = max(0.05, self.settings.heartbeat_seconds)
        while True:
            await asyncio.sleep(interval)
            try:
                renewed = await Job.filter(id=job.id, lease_owner=self.worker_id, status="running").update(
                    lease_expires_at=utcnow() + timedelta(seconds=self.settings.lease_seconds)
                )
                if not renewed:
                    self.cancel_local(str(job.id), "lease_lost")
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat of job %s failed", job.id)

    async def _settle(self, job: Job, run: Run) -> str:
        task = run.task
        assert task is not None
        if task.cancelled():
            reason = run.reason or "drain"
            if reason == "cancel":
                await self._finish(job, "cancelled")
                return "cancelled"
            if reason == "lease_lost":
                return "lost"
            await self._release(job)
            return "queued"
        exc = task.exception()
        if exc is None:
            status, value = task.result()
            if status == "interrupted":
                await self._interrupted(job, value)
                return "interrupted"
            await self._finish(job, "succeeded", output=value)
            return "succeeded"
        if isinstance(exc, TimeoutError):
            await self._finish(
                job,
                "timed_out",
                error={"type": "TimeoutError", "message": f"the run took longer than {job.timeout_seconds:g} s"},
            )
            return "timed_out"
        if not isinstance(exc, NotRetryable):
            log.warning("job %s attempt %s failed: %r", job.id, job.attempts, exc, exc_info=exc)
        if not isinstance(exc, NotRetryable) and job.attempts < job.max_attempts:
            await self._retry_later(job, error_of(exc))
            return "queued"
        await self._finish(job, "failed", error=error_of(exc))
        return "failed"

    # --- state transitions --------------------------------------------------------------------

    def _mine(self, job: Job) -> Any:
        return Job.filter(id=job.id, lease_owner=self.worker_id, status="running")

    async def _finish(self, job: Job, status: str, output: Any = None, error: dict[str, str] | None = None) -> bool:
        now = utcnow()
        updated = await self._mine(job).update(
            status=status,
            output=output,
            error=error,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
            interrupt=None,
            updated_at=now,
        )
        if not updated:
            return False
        if output is not None:
            await add_event(job.id, "output", output)
        await add_event(job.id, "status", {"status": status, **({"error": error} if error else {})})
        await self._emit(job, "engine.job_finished", status, error)
        if job.webhook_url:
            self._spawn(self._send_webhook(job.id))
        await self._kick_next(job)
        return True

    async def _interrupted(self, job: Job, values: list[Any]) -> None:
        updated = await self._mine(job).update(
            status="interrupted", interrupt=values, lease_owner=None, lease_expires_at=None, updated_at=utcnow()
        )
        if updated:
            await add_event(job.id, "status", {"status": "interrupted", "interrupts": values})
            await self._kick_next(job)

    async def _release(self, job: Job) -> None:
        now = utcnow()
        updated = await self._mine(job).update(
            status="queued",
            lease_owner=None,
            lease_expires_at=None,
            attempts=F("attempts") - 1,
            queued_at=now,
            updated_at=now,
        )
        if updated:
            await add_event(job.id, "status", {"status": "queued", "reason": "worker shutdown"})
            if not self.platform.runs_tasks or self.platform.redis is not None:
                try:
                    await send_run(self.platform, job.id)
                except Exception:
                    log.warning("could not re-send drained job %s; the reaper will", job.id)

    async def _retry_later(self, job: Job, error: dict[str, str]) -> None:
        delay = job.retry_backoff_seconds * 2 ** max(0, job.attempts - 1)
        now = utcnow()
        updated = await self._mine(job).update(
            status="queued",
            error=error,
            lease_owner=None,
            lease_expires_at=None,
            run_after=now + timedelta(seconds=delay),
            queued_at=now,
            updated_at=now,
        )
        if updated:
            await add_event(job.id, "retry", {"attempt": job.attempts, "error": error, "delay_seconds": delay})
            self._spawn(self._send_later(job.id, delay))

    async def _send_later(self, job_id: uuid.UUID, delay: float) -> None:
        await asyncio.sleep(delay)
        await send_run(self.platform, job_id)

    async def _kick_next(self, job: Job) -> None:
        """A slot of the organization is free: send its oldest job that was sent back to the queue
        (over the concurrency limit, or drained); fresh jobs have their own message in flight."""
        now = utcnow()
        waiting = await (
            Job.filter(organization_id=job.organization_id, status="queued", claimed_at__isnull=False)
            .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
            .order_by("created_at")
            .limit(1)
            .values_list("id", flat=True)
        )
        if waiting:
            waiting = waiting[0]
            try:
                await send_run(self.platform, waiting)
            except Exception:
                log.warning("could not send queued job %s; the reaper will", waiting)

    async def _emit(self, job: Job, name: str, status: str, error: dict[str, str] | None = None) -> None:
        data: dict[str, Any] = {
            "job_id": str(job.id),
            "template": job.template_name,
            "status": status,
            "user_id": str(job.user_id) if job.user_id else None,
        }
        if error:
            data["error"] = error
        await self.platform.events.emit(name, data, organization_id=job.organization_id, actor_id=job.user_id)

    async def _send_webhook(self, job_id: uuid.UUID) -> None:
        task = self.platform.broker.find_task(WEBHOOK_TASK)
        if task is not None:
            await task.kiq(str(job_id), 1)


# --- tasks (module functions so tests and the CLI can call them directly) ------------------------


def runtime_of(platform: Platform) -> Runtime:
    runtime = platform.state.get("workers")
    if runtime is None:
        runtime = platform.state["workers"] = Runtime(platform)
    return runtime


async def reap(platform: Platform) -> dict[str, int]:
    """Re-send running jobs whose lease expired and queued jobs nobody picked up."""
    settings = platform.plugin_settings("workers", WorkersSettings)
    now = utcnow()
    expired = await Job.filter(status="running", lease_expires_at__lt=now).limit(200).values_list("id", flat=True)
    stale = await (
        Job.filter(status="queued", queued_at__lt=now - timedelta(seconds=settings.stale_queued_seconds))
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
        .order_by("queued_at")
        .limit(200)
        .values_list("id", flat=True)
    )
    if stale:
        await Job.filter(id__in=stale, status="queued").update(queued_at=now)
    for job_id in [*expired, *stale]:
        await send_run(platform, job_id)
    return {"expired": len(expired), "stale": len(stale)}


def webhook_secret(platform: Platform) -> str:
    return hmac.new(
        platform.settings.resolved_secret_key.encode(), b"vetrai-workers-webhook", hashlib.sha256
    ).hexdigest()


async def deliver_webhook(platform: Platform, job_id: str, attempt: int = 1) -> bool:
    """POST the finished job, signed ``X-VetrAI-Signature: t=<unix>,v1=<hex HMAC-SHA256>``."""
    import httpx

    from vetrai.engine.service import serialize_job

    settings = platform.plugin_settings("workers", WorkersSettings)
    job = await Job.get_or_none(id=job_id)
    if job is None or not job.webhook_url or job.status not in FINISHED:
        return False
    body = json.dumps({"event": "engine.job_finished", "job": serialize_job(job)}, default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "VetrAI-Webhooks",
        "X-VetrAI-Event": "engine.job_finished",
        "X-VetrAI-Delivery": f"{job.id}:{attempt}",
        "X-VetrAI-Signature": f"t={timestamp},v1={hmac_sha256_hex(webhook_secret(platform), timestamp, body)}",
    }
    if not settings.webhook_allow_private:
        try:
            await ensure_public_host(job.webhook_url)
        except PrivateAddressError as exc:
            log.warning("webhook of job %s refused: %s (VETRAI_WORKERS_WEBHOOK_ALLOW_PRIVATE)", job.id, exc)
            return False
        except OSError as exc:
            log.warning("webhook of job %s: cannot resolve its host: %s", job.id, exc)
            return False
    try:
        # Checks the address it connects to: a host re-resolving to a private one is refused.
        async with guarded_client(timeout=10, allow_private=settings.webhook_allow_private) as client:
            response = await client.post(job.webhook_url, content=body, headers=headers)
        if response.status_code < 300:
            return True
        problem = f"HTTP {response.status_code}"
    except (httpx.HTTPError, PrivateAddressError, OSError) as exc:
        problem = repr(exc)
    log.warning("webhook of job %s attempt %s failed: %s", job.id, attempt, problem)
    if attempt < settings.webhook_max_attempts:
        await asyncio.sleep(min(300.0, 2 ** (attempt - 1)))
        task = platform.broker.find_task(WEBHOOK_TASK)
        if task is not None:
            await task.kiq(job_id, attempt + 1)
    return False
