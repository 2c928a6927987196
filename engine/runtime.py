"""The run loop: claim a run, execute its graph with checkpoints, stream its events, settle it.

Every process that runs tasks (``vetrai serve`` with the in-memory broker, ``vetrai worker``
with Redis) builds one ``Runtime`` lazily on its first run. The run row is the source of truth:
``claims.claim`` is one conditional UPDATE that raises the fencing token, so a duplicate delivery
does nothing and every later write of the attempt is conditional on the token. An attempt whose
heartbeat can no longer renew its lease stops. Cancellation reaches the run through Redis pub/sub
(or directly in the same process), with a poll of the cancel flag as a fallback.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic_core import to_json

from vetrai.core import tracing
from vetrai.core.platform import PluginNotStarted
from vetrai.core.pubsub import subscribe_forever
from vetrai.engine import checkpoints
from vetrai.engine.claims import held, renew, unclaim
from vetrai.engine.clock import db_now, jsonable, utcnow
from vetrai.engine.dispatch import cancel_channel, send_run
from vetrai.engine.finishing import emit, finish, settle
from vetrai.engine.langgraph.events import graph_stream
from vetrai.engine.models import Job, Thread
from vetrai.engine.process import RUNTIME
from vetrai.engine.scheduling import claim_next
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.spec import WorkflowSpec, enforce_strict_msgpack, get_workflow
from vetrai.engine.streams import EventLimitExceeded, LeaseLost, add_event

if TYPE_CHECKING:
    from vetrai.core.platform import Platform
    from vetrai.engine.usage import UsageRecorder

__all__ = ["RUNTIME", "Runtime", "runtime_of", "utcnow"]

log = logging.getLogger("vetrai.engine")
CANCEL_POLL_SECONDS = 0.5
# What a first run imports (LangGraph's graph builder, LangChain's callbacks): about a second of
# CPU, longer on a loaded machine.
RUN_MODULES = ("langgraph.graph", "vetrai.engine.usage")
# LangGraph stream modes the run loop always asks for (the jobs API's events and the run's
# current node); a LangGraph run adds the modes its client asked for.
BASE_MODES = ("updates", "custom", "tasks", "messages")
LANGGRAPH_MODES = {
    *("values", "updates", "custom", "messages", "messages-tuple", "debug", "tasks", "checkpoints"),
    "events",  # astream_events v2, see engine/langgraph/events.py
}


def error_of(exc: BaseException) -> dict[str, str]:
    """Type and message only: stack traces stay in the logs."""
    return {"type": type(exc).__name__, "message": str(exc)[:2000] or type(exc).__name__}


class NotRetryable(Exception):
    """A failure another attempt cannot fix (unknown workflow, output not matching its model)."""


@dataclass
class Run:
    job_id: str
    task: asyncio.Task[Any] | None = None
    reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    again: bool = False
    """A message for the job came while this process still held it (a retry or resume sent
    right after the run ended): it is sent again once the run lets go, not dropped."""
    renewed_at: float = field(default_factory=time.monotonic)
    """When its lease was last granted (the claim) or renewed, on this process's clock."""


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
        if self.closing:
            raise PluginNotStarted("the run loop of this process has stopped")
        async with self._ready:
            if self.checkpointer is not None:
                return
            enforce_strict_msgpack()
            self.checkpointer, self._close_checkpointer = await checkpoints.open_checkpointer(
                self.platform.settings.resolved_database_url, self.settings.checkpoint_pool_size
            )
            if self.platform.redis is not None:
                self._spawn(self._listen_cancels())
            self._spawn(self._poll_cancels())
            if self.platform.runs_tasks:
                log.info(
                    "run loop %s ready: lease %gs, heartbeat %gs, cancels via %s",
                    self.worker_id,
                    self.settings.lease_seconds,
                    self.settings.heartbeat_seconds,
                    "Redis pub/sub" if self.platform.redis is not None else "this process",
                )

    async def warm_up(self) -> None:
        """Import what runs need in a thread: imported on the event loop by the first run they
        would hold it (and the run's heartbeat) long enough for a short lease to expire."""
        for name in RUN_MODULES:
            await asyncio.to_thread(importlib.import_module, name)

    def graph_for(self, spec: WorkflowSpec) -> Any:
        graph = self._graphs.get(spec.name)
        if graph is None:
            graph = spec.build().compile(checkpointer=self.checkpointer)
            self._graphs[spec.name] = graph
        return graph

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = self.platform.detach(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking runs; running ones stop at once, release their lease and are re-queued
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

        def on_message(data: bytes) -> None:
            job_id, _, reason = data.decode().partition(":")
            self.cancel_local(job_id, reason or "cancel")

        await subscribe_forever(redis, cancel_channel(self.platform), on_message, name="cancel listener")

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
        """A message woke this worker: claim the fairest waiting run (``scheduling``; the run
        the message names only if it is that one) and run it; returns the status it left the
        run in, or None if none was claimed."""
        if self.closing:
            return None
        try:
            uuid.UUID(str(job_id))
        except ValueError:
            return None
        await self.ensure_ready()
        job = await self.claim()
        if job is None:
            holding = self.runs.get(str(job_id))
            if holding is not None:  # its run was still held here: wake a worker once it lets go
                holding.again = True
            return None
        if self.closing:  # drained while claiming
            await self._release(job)
            return "queued"
        run = self.runs[str(job.id)] = Run(str(job.id))
        try:
            attributes = {
                "vetrai.run.id": str(job.id),
                "vetrai.run.attempt": job.attempts,
                "vetrai.workflow": job.workflow,
                "vetrai.organization.id": str(job.organization_id),  # type: ignore[attr-defined]
            }
            # One span per attempt, in the trace of the request that created the run.
            with tracing.start_span(
                f"run {job.workflow}", attributes, parent_carrier=job.trace_context, kind=SpanKind.CONSUMER
            ) as span:
                status = await self._run(job, run)
                span.set_attribute("vetrai.run.status", status)
                if status in ("failed", "timed_out"):
                    span.set_status(Status(StatusCode.ERROR, status))
                return status
        finally:
            if self.runs.get(run.job_id) is run:
                del self.runs[run.job_id]
            run.done.set()
            if run.again and not self.closing:
                self._spawn(send_run(self.platform, run.job_id))

    async def claim(self) -> Job | None:
        # A run this process still holds is claimable only once its lease has expired: skip
        # those that may have (no renewal for half a lease), not every run held here.
        horizon = time.monotonic() - self.settings.lease_seconds / 2
        skip = [job_id for job_id, run in self.runs.items() if run.renewed_at < horizon]
        job = await claim_next(self.worker_id, self.settings.lease_seconds, skip=skip)
        if job is None or job.thread_id is None or job.thread_id == job.id:
            return job
        busy = await Job.filter(thread_id=job.thread_id, status="running").exclude(id=job.id).exists()
        if busy:  # an earlier run of the thread still runs (enqueue): it wakes this one when done
            await unclaim(job, utcnow())
            return None
        return job

    async def _run(self, job: Job, run: Run) -> str:
        if job.cancel_requested:
            await self._finish(job, "cancelled")
            return "cancelled"
        first = job.started_at == job.claimed_at  # this claim started the run (``claims.take``)
        await self._event(job, "status", {"status": "running", "attempt": job.attempts})
        if job.thread_id is not None:
            await Thread.filter(id=job.thread_id).update(status="busy", updated_at=utcnow())
        if first:
            await self._emit(job, "engine.job_started", "running")
        entry = get_workflow(job.workflow)
        heartbeat = asyncio.create_task(self._heartbeat(job, run))
        from vetrai.engine.usage import UsageRecorder  # LangChain's callbacks load with the first run

        usage = UsageRecorder()
        run.task = asyncio.create_task(self._execute(entry, job, run, usage))
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
                await self._settle(job, run, usage)
                raise
        finally:
            heartbeat.cancel()
        return await self._settle(job, run, usage)

    async def _event(self, job: Job, type_: str, data: Any = None, node: str | None = None) -> None:
        await add_event(
            self.platform, job.id, type_, data, node, fence=job.fence, max_events=self.settings.max_events_per_run
        )

    def _config(self, entry: WorkflowSpec, job: Job, usage: UsageRecorder) -> dict[str, Any]:
        options = job.options or {}
        config: dict[str, Any] = dict(options.get("config") or {})
        configurable = {
            **(config.get("configurable") or {}),
            "thread_id": str(job.thread_id or job.id),
            "run_id": str(job.id),
            "attempt": job.attempts + int(options.get("earlier_attempts") or 0),  # never repeats (retry_job)
            "organization_id": str(job.organization_id),  # type: ignore[attr-defined]
            "user_id": str(job.user_id) if job.user_id else None,
            "assistant_id": str(job.assistant_id) if job.assistant_id else None,
            "graph_id": entry.name,
        }
        if options.get("checkpoint_id") and job.attempts == 1:
            configurable["checkpoint_id"] = options["checkpoint_id"]
        config["configurable"] = configurable
        config["recursion_limit"] = int(config.get("recursion_limit") or job.recursion_limit)
        config["metadata"] = {**(config.get("metadata") or {}), **(job.metadata or {}), "run_id": str(job.id)}
        config["callbacks"] = [usage]
        return config

    async def _payload(self, entry: WorkflowSpec, job: Job, graph: Any, config: dict[str, Any]) -> Any:
        from langgraph.types import Command

        options = job.options or {}
        if job.has_resume:
            return Command(resume=job.resume_value)
        latest = await self.checkpointer.aget_tuple(
            {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
        )
        own_thread = job.thread_id is None or job.thread_id == job.id
        mine = own_thread or (latest is not None and (latest.metadata or {}).get("run_id") == str(job.id))
        if latest is not None and mine:  # an earlier attempt (or a retry) of this run: go on from it
            config["configurable"].pop("checkpoint_id", None)
            return None  # resume from the last checkpoint: finished nodes are not run again
        command = options.get("command")
        if command:
            return Command(
                resume=command.get("resume"),
                update=command.get("update"),
                goto=command.get("goto") or (),
            )
        if job.api == "langgraph":
            return job.input if options.get("has_input", True) else None
        return entry.to_state(job.input)

    async def _execute(self, entry: WorkflowSpec | None, job: Job, run: Run, usage: UsageRecorder) -> tuple[str, Any]:
        if entry is None:
            raise NotRetryable(f"workflow {job.workflow!r} is not installed on this worker")
        graph = self.graph_for(entry)
        config = self._config(entry, job, usage)
        payload = await self._payload(entry, job, graph, config)
        requested = [mode for mode in (job.stream_mode or []) if mode in LANGGRAPH_MODES]
        modes = sorted({*BASE_MODES, *("messages" if m == "messages-tuple" else m for m in requested)})
        options = job.options or {}
        kwargs: dict[str, Any] = {"stream_mode": modes}
        for name in ("interrupt_before", "interrupt_after"):
            if options.get(name):
                kwargs[name] = options[name]
        if options.get("context") is not None:
            kwargs["context"] = options["context"]
        durability = options.get("durability") or entry.durability
        if durability:
            kwargs["durability"] = durability
        if options.get("stream_subgraphs"):
            kwargs["subgraphs"] = True
        writer = StreamWriter(self, job, requested)
        with NodeSpans() as nodes:
            return await self._stream(entry, job, graph, payload, config, kwargs, writer, nodes)

    async def _stream(
        self,
        entry: WorkflowSpec,
        job: Job,
        graph: Any,
        payload: Any,
        config: dict[str, Any],
        kwargs: dict[str, Any],
        writer: StreamWriter,
        nodes: NodeSpans,
    ) -> tuple[str, Any]:
        current: str | None = None
        async with asyncio.timeout(job.timeout_seconds):
            async for item in graph_stream(graph, payload, config, kwargs):
                namespace: tuple[str, ...] = ()
                if kwargs.get("subgraphs"):
                    namespace, mode, chunk = item
                else:
                    mode, chunk = item
                if job.has_resume:  # LangGraph has the resume value in its checkpoint now
                    await held(job).update(has_resume=False, resume_value=None)
                    job.has_resume = False
                await writer.write(mode, chunk, namespace)
                if mode == "tasks":
                    nodes.track(chunk, namespace)
                if namespace:
                    continue
                if mode == "tasks":
                    if "input" in chunk:  # a node starts: it is the job's current node
                        current = chunk.get("name")
                        if not await held(job).update(current_node=current):
                            raise LeaseLost(str(job.id))
                elif mode == "updates":
                    for node, update in chunk.items():
                        if node == "__interrupt__":
                            await self._event(
                                job, "interrupt", {"values": [getattr(item, "value", item) for item in update]}
                            )
                            continue
                        await self._event(job, "node", update if isinstance(update, dict) else {"value": update}, node)
                elif mode == "custom":
                    await self._event(job, "progress", chunk, node=current)
                elif mode == "messages":
                    await self._token(job, chunk)
            state = await graph.aget_state({"configurable": {"thread_id": config["configurable"]["thread_id"]}})
        interrupts = list(getattr(state, "interrupts", ()) or ())
        values = jsonable(dict(state.values) if isinstance(state.values, dict) else {"value": state.values})
        job.thread_values = values
        job.thread_interrupts = {
            task.id: [
                {"value": jsonable(item.value), "id": item.id, "response_schema": None} for item in task.interrupts
            ]
            for task in state.tasks
            if task.interrupts
        }
        if interrupts:
            return "interrupted", [jsonable(item.value) for item in interrupts]
        if job.api == "langgraph" or entry.plain:
            output = values
        else:
            spec = entry
            try:
                output = spec.output_model.model_validate(spec.to_output(dict(state.values))).model_dump(mode="json")
            except Exception as exc:
                raise NotRetryable(f"the output does not match {spec.output_model.__name__}: {exc}") from exc
        if len(jsonable_bytes(output)) > self.settings.max_output_bytes:
            raise NotRetryable(f"the output is larger than {self.settings.max_output_bytes} bytes")
        return "succeeded", output

    async def _token(self, job: Job, chunk: Any) -> None:
        """A chat model's streamed text as a ``token`` event of the jobs API."""
        message, metadata = chunk
        text = getattr(message, "content", "")
        if not isinstance(text, str) or not text:
            return
        model = (metadata or {}).get("ls_model_name") or (getattr(message, "response_metadata", None) or {}).get(
            "model_name"
        )
        node = (metadata or {}).get("langgraph_node")
        await self._event(job, "token", {"text": text, "node": node, "model": model}, node=node)

    async def _heartbeat(self, job: Job, run: Run) -> None:
        """Renew the lease; stop the attempt when it is lost, or when renewing has failed for
        longer than the lease (another worker may have claimed the run by now)."""
        interval = max(0.05, self.settings.heartbeat_seconds)
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                if not await renew(job, self.settings.lease_seconds):
                    log.warning("run %s lost its lease (fence %s): stopping this attempt", job.id, job.fence)
                    self.cancel_local(str(job.id), "lease_lost")
                    return
                renewed_at = run.renewed_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat of run %s failed", job.id)
                if time.monotonic() - renewed_at > self.settings.lease_seconds:
                    log.warning("run %s could not renew its lease in time: stopping this attempt", job.id)
                    self.cancel_local(str(job.id), "lease_lost")
                    return

    async def _settle(self, job: Job, run: Run, usage: UsageRecorder) -> str:
        task = run.task
        assert task is not None
        job.usage = usage.summary() or job.usage
        if task.cancelled():
            reason = run.reason or "drain"
            if reason in ("cancel", "interrupt"):
                await self._finish(job, "cancelled")
                return "cancelled"
            if reason == "rollback":
                await self._finish(job, "cancelled")
                await Job.filter(id=job.id).delete()
                return "cancelled"
            if reason == "lease_lost":
                return "lost"
            await self._release(job)
            return "queued"
        exc = task.exception()
        if isinstance(exc, LeaseLost):
            log.warning("run %s attempt %s stopped: its lease was lost", job.id, job.attempts)
            return "lost"
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
        retryable = not isinstance(exc, NotRetryable | EventLimitExceeded)
        if retryable:
            log.warning("job %s attempt %s failed: %r", job.id, job.attempts, exc, exc_info=exc)
        if retryable and job.attempts < job.max_attempts:
            await self._retry_later(job, error_of(exc))
            return "queued"
        await self._finish(job, "failed", error=error_of(exc))
        return "failed"

    # --- state transitions --------------------------------------------------------------------

    async def _finish(self, job: Job, status: str, output: Any = None, error: dict[str, str] | None = None) -> bool:
        """The final status, with its events and outbox messages in the same transaction."""
        now = utcnow()

        def change() -> Any:
            return held(job).update(
                status=status,
                output=output,
                error=error,
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
                interrupt=None,
                usage=job.usage,
                updated_at=now,
            )

        return await finish(self.platform, job, status, change, output=output, error=error, runtime=self)

    async def _interrupted(self, job: Job, values: list[Any]) -> None:
        """Waiting for a person: the status, the thread's (before the event that wakes waiting
        clients), the webhook and waking the next run, in one transaction."""

        def change() -> Any:
            return held(job).update(
                status="interrupted",
                interrupt=values,
                lease_owner=None,
                lease_expires_at=None,
                usage=job.usage,
                updated_at=utcnow(),
            )

        async def thread() -> None:
            await self._update_thread(job, "interrupted")

        await settle(
            self.platform,
            job,
            "interrupted",
            change,
            events=[("status", {"status": "interrupted", "interrupts": values})],
            thread=thread,
        )

    async def _update_thread(self, job: Job, status: str) -> None:
        if job.thread_id is None or job.thread_id == job.id:
            return
        values = getattr(job, "thread_values", None)
        changes: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if values is not None:
            changes["values"] = values
        changes["interrupts"] = getattr(job, "thread_interrupts", None) or {}
        await Thread.filter(id=job.thread_id).update(**changes)

    async def _release(self, job: Job) -> None:
        updated = await held(job).update(
            status="queued",
            lease_owner=None,
            lease_expires_at=None,
            attempts=job.attempts - 1,
            queued_at=utcnow(),
            updated_at=utcnow(),
        )
        if updated:
            await add_event(self.platform, job.id, "status", {"status": "queued", "reason": "worker shutdown"})
            await add_event(self.platform, job.id, "requeued", {"reason": "drained"})
            log.info("run %s released by %s (drain) and re-queued", job.id, self.worker_id)
            if not self.platform.runs_tasks or self.platform.redis is not None:
                try:
                    await send_run(self.platform, job.id)
                except Exception:
                    log.warning("could not re-send drained job %s; the reaper will", job.id)

    async def _retry_later(self, job: Job, error: dict[str, str]) -> None:
        delay = job.retry_backoff_seconds * 2 ** max(0, job.attempts - 1)
        now = await db_now()
        updated = await held(job).update(
            status="queued",
            lease_owner=None,
            lease_expires_at=None,
            run_after=now + timedelta(seconds=delay),
            queued_at=now,
            updated_at=now,
        )
        if updated:
            await add_event(
                self.platform, job.id, "retry", {"attempt": job.attempts, "error": error, "delay_seconds": delay}
            )
            self._spawn(self._send_later(job.id, delay))

    async def _send_later(self, job_id: uuid.UUID, delay: float) -> None:
        await asyncio.sleep(delay)
        await send_run(self.platform, job_id)

    async def _emit(self, job: Job, name: str, status: str, error: dict[str, str] | None = None) -> None:
        await emit(self.platform, job, name, status, error)


def jsonable_bytes(value: Any) -> bytes:
    return to_json(value, fallback=str)


class NodeSpans:
    """A span per node execution, children of the attempt's span, from LangGraph's ``tasks``
    stream (a task starts with its ``input`` and ends with its ``result`` or ``error``). Nodes
    still open when the attempt stops (cancelled, interrupted, timed out) end with it."""

    def __init__(self) -> None:
        self.open: dict[tuple[tuple[str, ...], str], Span] = {}

    def track(self, chunk: Any, namespace: tuple[str, ...]) -> None:
        if not isinstance(chunk, dict) or "id" not in chunk:
            return
        key = (namespace, str(chunk["id"]))
        if "input" in chunk:
            attributes = {"vetrai.node": str(chunk.get("name")), "vetrai.task.id": key[1]}
            if namespace:
                attributes["vetrai.namespace"] = "|".join(namespace)
            self.open[key] = tracing.tracer().start_span(f"node {chunk.get('name')}", attributes=attributes)
            return
        span = self.open.pop(key, None)
        if span is None:
            return
        if chunk.get("error"):
            span.set_status(Status(StatusCode.ERROR, str(chunk["error"])[:200]))
        if chunk.get("interrupts"):
            span.set_attribute("vetrai.node.interrupted", True)
        span.end()

    def __enter__(self) -> NodeSpans:
        return self

    def __exit__(self, *exc: object) -> None:
        for span in self.open.values():
            span.set_attribute("vetrai.node.unfinished", True)
            span.end()
        self.open.clear()


class StreamWriter:
    """Records the LangGraph stream modes a client asked for as ``stream`` events: ``data`` is
    ``{"event": <SSE event name>, "data": <payload>}``, exactly what the SSE stream sends."""

    def __init__(self, runtime: Runtime, job: Job, requested: list[str]) -> None:
        self.runtime = runtime
        self.job = job
        self.requested = set(requested)
        self.messages: dict[str, Any] = {}

    async def write(self, mode: str, chunk: Any, namespace: tuple[str, ...]) -> None:
        if not self.requested:
            return
        suffix = "|" + "|".join(namespace) if namespace else ""
        if mode == "messages":
            message, metadata = chunk
            if "messages-tuple" in self.requested:
                await self._send("messages" + suffix, [message, metadata])
            if "messages" in self.requested:
                await self._partial(message, metadata, suffix)
            return
        if mode not in self.requested:
            return
        if mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
            chunk = {**chunk, "__interrupt__": [_interrupt_json(item) for item in chunk["__interrupt__"]]}
        await self._send(mode + suffix, chunk)

    async def _partial(self, message: Any, metadata: Any, suffix: str) -> None:
        key = getattr(message, "id", None) or "message"
        if key not in self.messages:
            self.messages[key] = message
            await self._send("messages/metadata" + suffix, {key: {"metadata": metadata}})
        else:
            try:
                self.messages[key] = self.messages[key] + message
            except TypeError:
                self.messages[key] = message
        from langchain_core.messages import message_chunk_to_message

        await self._send("messages/partial" + suffix, [message_chunk_to_message(self.messages[key])])

    async def _send(self, event: str, data: Any) -> None:
        await self.runtime._event(self.job, "stream", {"event": event, "data": data})


def _interrupt_json(item: Any) -> Any:
    if hasattr(item, "value"):
        return {"value": jsonable(item.value), "id": getattr(item, "id", None)}
    return jsonable(item)


def runtime_of(platform: Platform) -> Runtime:
    """The process's run loop, built on first use (the server and each worker have one)."""
    found = platform.find(RUNTIME)
    if isinstance(found, Runtime):
        return found
    runtime = Runtime(platform)
    if platform.stopping:
        # A task that outlived the shutdown (the in-process broker drains after it): it gets a
        # closed run loop, which claims nothing and opens no checkpointer nobody would close.
        runtime.closing = True
        return runtime
    platform.fill(RUNTIME, runtime)
    return runtime
