"""The execution guarantees: one claim per job, checkpoints, the reaper, drain, webhooks."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from datetime import timedelta
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict

from tests.engine.conftest import outbox_message, registered_workflow, two_step_spec
from vetrai.core import outbox
from vetrai.core.models import OutboxMessage
from vetrai.core.outbound import hmac_sha256_hex
from vetrai.engine import checkpoints, finishing, service
from vetrai.engine.finishing import FINISHED_KIND, KICK_KIND, WEBHOOK_KIND
from vetrai.engine.models import Job, JobEvent
from vetrai.engine.reaper import reap
from vetrai.engine.runtime import Runtime, utcnow
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.webhooks import webhook_secret

CALLS: Counter[str] = Counter()


class TwoStepInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = "ok"


class TwoStepOutput(BaseModel):
    a: int
    b: int


class TwoStepState(TypedDict, total=False):
    mode: str
    a: int
    b: int


async def _first(state: TwoStepState) -> dict[str, Any]:
    CALLS["first"] += 1
    return {"a": 1}


async def _second(state: TwoStepState, config: RunnableConfig) -> dict[str, Any]:
    CALLS["second"] += 1
    attempt = config["configurable"]["attempt"]
    if CALLS["second"] == 1 and state["mode"] == "hang":
        await asyncio.sleep(3600)
    if attempt == 1 and state["mode"] == "fail":
        raise RuntimeError("second failed once")
    if CALLS["second"] <= 2 and state["mode"] == "fail_twice":
        raise RuntimeError("second failed on both attempts of the first budget")
    return {"b": 2}


@pytest.fixture
async def two_step(app):
    spec = two_step_spec(
        "test_two_step",
        TwoStepState,
        _first,
        _second,
        input_model=TwoStepInput,
        output_model=TwoStepOutput,
        timeout_seconds=30,
        to_output=lambda state: {"a": state["a"], "b": state["b"]},
    )
    CALLS.clear()
    async with registered_workflow(spec):
        yield spec


async def queued_job(actor, mode: str) -> Job:
    """A queued job row that no broker message points at (the test delivers it)."""
    template = await service.WorkflowTemplate.get(package_key="test_two_step")
    return await Job.create(
        organization_id=actor.organization.id,
        template_id=template.id,
        template_name="test_two_step",
        workflow="test_two_step",
        user_id=actor.user.id,
        input={"mode": mode},
        max_attempts=2,
        timeout_seconds=30,
        retry_backoff_seconds=0.01,
        queued_at=utcnow(),
    )


async def test_retry_resumes_from_the_checkpoint(make_user, jobs, two_step):
    actor = await make_user()
    job = await jobs.create(actor, "test_two_step", {"mode": "fail"})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["attempts"] == 2 and done["output"] == {"a": 1, "b": 2}
    assert CALLS == {"first": 1, "second": 2}, "the node that finished was run again"


async def test_a_manual_retry_continues_from_the_checkpoint(make_user, jobs, two_step):
    actor = await make_user()
    job = await jobs.create(actor, "test_two_step", {"mode": "fail_twice"})
    failed = await jobs.wait(actor, job["id"], "failed")
    assert failed["attempts"] == 2 and CALLS == {"first": 1, "second": 2}
    retried = await jobs.action(actor, job["id"], "retry")
    assert retried["attempts"] == 0 and retried["max_attempts"] == 2 and retried["error"] is None
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["attempts"] == 1 and done["output"] == {"a": 1, "b": 2}
    assert CALLS == {"first": 1, "second": 3}, "the retry ran the node that had finished again"


async def test_duplicate_delivery_runs_once(platform, make_user, two_step):
    actor = await make_user()
    job = await queued_job(actor, "ok")
    first, second = Runtime(platform), Runtime(platform)
    try:
        results = await asyncio.gather(
            first.run_job(str(job.id)), second.run_job(str(job.id)), first.run_job(str(job.id))
        )
    finally:
        await first.close()
        await second.close()
    assert sorted(results, key=str) == [None, None, "succeeded"]
    assert CALLS == {"first": 1, "second": 1}
    await job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 1
    running = await JobEvent.filter(job_id=job.id, type="status").values_list("data", flat=True)
    assert [item["status"] for item in running].count("running") == 1


async def test_dead_worker_job_is_reaped_and_resumed(platform, make_user, jobs, two_step):
    actor = await make_user()
    job = await queued_job(actor, "hang")
    dead = Runtime(platform)
    run = asyncio.create_task(dead.run_job(str(job.id)))
    for _ in range(200):
        await job.refresh_from_db()
        if CALLS["second"] and job.current_node == "second":
            break
        await asyncio.sleep(0.02)
    assert job.status == "running" and job.current_node == "second"
    # The worker "dies": its run stops without a word to the database, its lease runs out.
    dead.cancel_local(str(job.id), "lease_lost")
    await run
    await dead.close()
    if platform.settings.is_sqlite:
        # The killed run must not leave the checkpoint file locked for the next worker.
        checkpoints = sqlite3.connect(
            platform.settings.resolved_database_url.removeprefix("sqlite://") + ".checkpoints", timeout=0
        )
        checkpoints.execute("BEGIN IMMEDIATE")
        checkpoints.execute("ROLLBACK")
        checkpoints.close()
    await Job.filter(id=job.id).update(lease_expires_at=utcnow() - timedelta(seconds=1))
    assert (await reap(platform))["expired"] == 1
    done = await jobs.wait(actor, str(job.id), "succeeded")
    assert done["attempts"] == 2 and done["output"] == {"a": 1, "b": 2}
    assert CALLS == {"first": 1, "second": 2}


async def test_drain_releases_running_jobs(platform, make_user, jobs, two_step):
    actor = await make_user()
    job = await queued_job(actor, "hang")
    draining = Runtime(platform)
    run = asyncio.create_task(draining.run_job(str(job.id)))
    for _ in range(200):
        if CALLS["second"]:
            break
        await asyncio.sleep(0.02)
    await draining.close()
    assert await run == "queued"
    await job.refresh_from_db()
    if job.status == "queued":
        assert job.attempts == 0 and job.lease_owner is None
        await Job.filter(id=job.id).update(queued_at=utcnow() - timedelta(seconds=60))
        await reap(platform)
    done = await jobs.wait(actor, str(job.id), "succeeded")
    assert CALLS["first"] == 1 and done["output"] == {"a": 1, "b": 2}
    reasons = [
        item.get("reason")
        for item in await JobEvent.filter(job_id=job.id, type="status").values_list("data", flat=True)
    ]
    assert "worker shutdown" in reasons


class Receiver:
    """A real HTTP server on loopback recording each request (headers, body); it answers 500
    to the first ``fail_first`` requests, 204 afterwards."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if line)
        headers = {name.lower(): value for name, value in headers.items()}
        body = await reader.readexactly(int(headers["content-length"]))
        self.received.append((headers, body))
        status = "500 Busy" if len(self.received) <= self.fail_first else "204 No Content"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def wait(self, count: int, within: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries arrived"
            await asyncio.sleep(0.02)
        return self.received


async def test_webhooks_to_private_addresses_are_refused_by_default(platform, make_user, jobs):
    receiver = Receiver()
    settings = platform.plugin_settings("workers", WorkersSettings)
    settings.webhook_allow_private = False
    try:
        async with receiver as url:
            actor = await make_user()
            job = await jobs.create(actor, "echo", {"x": 1}, webhook_url=url)
            await jobs.wait(actor, job["id"], "succeeded")
            message = await outbox_message(WEBHOOK_KIND, f"{job['id']}:succeeded:1", "failed")
    finally:
        settings.webhook_allow_private = True
    assert message.attempts == 1 and message.last_error.startswith("refused")
    assert receiver.received == []


async def test_signed_webhook_is_retried_under_one_delivery_key(platform, make_user, jobs):
    receiver = Receiver(fail_first=1)
    async with receiver as url:
        actor = await make_user()
        job = await jobs.create(actor, "echo", {"x": 1}, webhook_url=url)
        await jobs.wait(actor, job["id"], "succeeded")
        received = await receiver.wait(2)
        await outbox_message(WEBHOOK_KIND, f"{job['id']}:succeeded:1", "delivered")
    assert len(received) == 2
    headers, body = received[1]
    timestamp, digest = (part.split("=", 1)[1] for part in headers["x-vetrai-signature"].split(","))
    assert digest == hmac_sha256_hex(webhook_secret(platform), timestamp, body)
    payload = json.loads(body)
    assert (
        payload["event"] == "engine.job_finished"
        and payload["status"] == "succeeded"
        and payload["job"]["id"] == job["id"]
        and payload["job"]["output"] == {"x": 1}
    )
    keys = {headers["x-vetrai-delivery"] for headers, _ in received}
    assert keys == {f"{job['id']}:succeeded:1"} and payload["delivery"] == f"{job['id']}:succeeded:1"
    assert headers["x-vetrai-event"] == "engine.job_finished"


async def test_a_webhook_task_queued_before_the_outbox_is_delivered_once(platform, make_user, jobs):
    """An upgrade from a version that handed webhooks to a taskiq task: the messages it left in
    the broker become outbox messages under the run's delivery key."""
    from vetrai.engine import tasks
    from vetrai.engine.dispatch import LEGACY_WEBHOOK_TASK

    assert platform.broker.find_task(LEGACY_WEBHOOK_TASK) is not None
    receiver = Receiver()
    async with receiver as url:
        actor = await make_user()
        job = await jobs.create(actor, "echo", {"x": 1})
        await jobs.wait(actor, job["id"], "succeeded")
        await Job.filter(id=job["id"]).update(webhook_url=url)  # finished by the older version
        assert await tasks.deliver_webhook(job["id"], attempt=2)
        await outbox_message(WEBHOOK_KIND, f"{job['id']}:succeeded:1", "delivered")
        assert await tasks.deliver_webhook(job["id"])  # the same message twice: one delivery
        ((headers, body),) = await receiver.wait(1)
        await asyncio.sleep(0.2)
        assert len(receiver.received) == 1
    assert headers["x-vetrai-delivery"] == f"{job['id']}:succeeded:1" and json.loads(body)["status"] == "succeeded"
    running = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 60}, webhook_url=url)
    assert not await tasks.deliver_webhook(running["id"])  # not finished: nothing is due yet
    assert not await tasks.deliver_webhook("00000000-0000-0000-0000-000000000000")
    await jobs.action(actor, running["id"], "cancel")


async def test_webhooks_of_an_interrupted_then_cancelled_run(make_user, jobs):
    receiver = Receiver()
    async with receiver as url:
        actor = await make_user()
        job = await jobs.create(actor, "approval", {"request": "ship?"}, webhook_url=url)
        await jobs.wait(actor, job["id"], "interrupted")
        ((headers, body),) = await receiver.wait(1)
        assert headers["x-vetrai-event"] == "engine.job_interrupted"
        assert headers["x-vetrai-delivery"] == f"{job['id']}:interrupted:1"
        waiting = json.loads(body)
        assert waiting["status"] == "interrupted" and waiting["job"]["interrupt"][0]["request"] == "ship?"
        assert (await jobs.action(actor, job["id"], "cancel"))["status"] == "cancelled"
        received = await receiver.wait(2)
    headers, body = received[1]
    assert headers["x-vetrai-event"] == "engine.job_finished"
    assert headers["x-vetrai-delivery"] == f"{job['id']}:cancelled:1"
    assert json.loads(body)["status"] == "cancelled" and json.loads(body)["job"]["status"] == "cancelled"


async def unsent_echo(organization_id: Any, payload: dict[str, Any], **fields: Any) -> Job:
    """A queued echo run written straight to the database: no worker has been sent it."""
    await service.ensure_package_templates()  # synced on first need
    template = await service.WorkflowTemplate.get(package_key="echo")
    return await Job.create(
        organization_id=organization_id,
        template_id=template.id,
        template_name="echo",
        workflow="echo",
        input=payload,
        timeout_seconds=30,
        **fields,
    )


@pytest.mark.backend("sqlite")  # with Redis the schedules run in `vetrai worker` (test_engine_processes)
async def test_the_server_reaps_lost_jobs_on_schedule(settings_factory, monkeypatch):
    from vetrai.core.app import create_app
    from vetrai.core.organizations.service import create_organization

    monkeypatch.setenv("VETRAI_WORKERS_REAPER_SECONDS", "0.2")
    application = create_app(settings_factory(plugins=["auth", "workers"]))
    async with application.test_app():
        organization = await create_organization("Reaped")
        job = await unsent_echo(
            organization.id, {"lost": True}, max_attempts=1, queued_at=utcnow() - timedelta(seconds=60)
        )
        for _ in range(250):
            await job.refresh_from_db()
            if job.status == "succeeded":
                break
            await asyncio.sleep(0.02)
        assert job.status == "succeeded" and job.output == {"lost": True}


@pytest.mark.backend("sqlite")  # the in-process broker, drained after the plugins' shutdown, is the embedded one
async def test_a_run_kicked_just_before_shutdown_starts_nothing_after_it(settings_factory):
    import threading

    from vetrai.core.app import create_app
    from vetrai.core.organizations.service import create_organization
    from vetrai.engine.dispatch import send_run
    from vetrai.engine.process import RUNTIME

    def sqlite_threads() -> set[threading.Thread]:
        return {thread for thread in threading.enumerate() if "_connection_worker_thread" in thread.name}

    before = sqlite_threads()
    settings = settings_factory(plugins=["auth", "workers"])
    application = create_app(settings)
    async with application.test_app():
        platform = application.extensions["vetrai"]
        job = await unsent_echo((await create_organization("Closing")).id, {})

        async def kick_once_the_run_loop_is_closed() -> None:
            while platform.find(RUNTIME) is not None:
                await asyncio.sleep(0)
            await send_run(platform, job.id)  # the in-process broker runs it while draining

        kick = asyncio.create_task(kick_once_the_run_loop_is_closed())
    await kick
    # The late task found a closed run loop: it opened no checkpointer that nobody would close
    # (its thread kept the process from exiting) and left the run queued for the next start.
    assert sqlite_threads() <= before
    application = create_app(settings)
    async with application.test_app():
        row = await Job.get(id=job.id)
        assert row.status == "queued" and row.attempts == 0


async def test_checkpoints_are_read_with_strict_msgpack(make_user, jobs):
    from langgraph._internal import _serde
    from langgraph.checkpoint.serde import _msgpack

    actor = await make_user()
    job = await jobs.create(actor, "echo", {})
    await jobs.wait(actor, job["id"], "succeeded")
    assert _msgpack.STRICT_MSGPACK_ENABLED and _serde.STRICT_MSGPACK_ENABLED


async def test_cancel_flag_set_elsewhere_is_seen_within_a_second(make_user, jobs):
    """Another server process without Redis (or a lost pub/sub message) only sets the flag."""
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 600})
    await jobs.wait(actor, job["id"], "running")
    await Job.filter(id=job["id"]).update(cancel_requested=True)
    assert (await jobs.wait(actor, job["id"], "cancelled", within=5))["finished_at"]  # of a 60 s run


async def _running(actor, **values: Any) -> Job:
    template = await service.WorkflowTemplate.get(package_key="test_two_step")
    return await Job.create(
        organization_id=actor.organization.id,
        template_id=template.id,
        template_name="test_two_step",
        workflow="test_two_step",
        user_id=actor.user.id,
        status="running",
        fence=1,
        attempts=1,
        **values,
    )


async def test_a_final_status_and_what_follows_it_commit_together(
    platform, make_user, two_step, recorded_events, monkeypatch
):
    receiver = Receiver()
    async with receiver as url:
        actor = await make_user()
        job = await _running(actor, webhook_url=url)
        real_enqueue = outbox.enqueue

        async def enqueue_then_crash(kind: str, *args: Any, **kwargs: Any) -> Any:
            if kind == KICK_KIND:
                raise RuntimeError("the process died here")
            return await real_enqueue(kind, *args, **kwargs)

        def change() -> Any:
            return Job.filter(id=job.id, fence=1, status="running").update(status="succeeded", output={"a": 1})

        monkeypatch.setattr(outbox, "enqueue", enqueue_then_crash)
        with pytest.raises(RuntimeError, match="died"):
            await finishing.finish(platform, job, "succeeded", change, output={"a": 1})
        # Nothing half-written: no status, no event, no webhook or domain event pending.
        await job.refresh_from_db()
        assert job.status == "running" and job.output is None
        assert await JobEvent.filter(job_id=job.id).count() == 0
        assert await OutboxMessage.filter(key=f"{job.id}:succeeded:1").count() == 0

        monkeypatch.setattr(outbox, "enqueue", real_enqueue)
        assert await finishing.finish(platform, job, "succeeded", change, output={"a": 1}) is True
        assert not await finishing.finish(platform, job, "succeeded", change), "a second finish changes nothing"
        await job.refresh_from_db()
        assert job.status == "succeeded"
        events = await JobEvent.filter(job_id=job.id).order_by("id").values_list("type", "data")
        assert events == [("output", {"a": 1}), ("status", {"status": "succeeded"})]
        key = f"{job.id}:succeeded:1"
        for kind in (WEBHOOK_KIND, FINISHED_KIND, KICK_KIND):
            await outbox_message(kind, key, "delivered")
        [(headers, _body)] = await receiver.wait(1)
    assert headers["x-vetrai-delivery"] == key
    finished = [event for event in recorded_events if event.name == "engine.job_finished"]
    assert [event.data["job_id"] for event in finished] == [str(job.id)]


async def test_a_process_killed_after_the_commit_leaves_the_rest_to_the_sweep(
    platform, make_user, jobs, recorded_events, monkeypatch
):
    """No delivery task is sent after the commit (as if the process died right then): the
    outbox's sweep still delivers the webhook, the domain event and the wake-up, once each."""
    kicked: list[Any] = []

    async def lost(*message_ids: Any) -> None:
        kicked.extend(message_ids)

    monkeypatch.setattr(outbox, "kick_delivery", lost)
    receiver = Receiver()
    async with receiver as url:
        actor = await make_user()
        job = await jobs.create(actor, "echo", {"x": 1}, webhook_url=url)
        await jobs.wait(actor, job["id"], "succeeded")
        key = f"{job['id']}:succeeded:1"
        stored = await OutboxMessage.filter(key=key).values_list("id", flat=True)
        assert set(stored) <= set(kicked) and len(stored) == 3
        deadline = time.monotonic() + 15
        while await OutboxMessage.filter(key=key, status="delivered").count() < 3:
            assert time.monotonic() < deadline, "the sweep did not deliver"
            await outbox.sweep(platform)
            await asyncio.sleep(0.1)
        await receiver.wait(1)
    assert [headers["x-vetrai-delivery"] for headers, _ in receiver.received] == [key]
    finished = [event.data["job_id"] for event in recorded_events if event.name == "engine.job_finished"]
    assert finished == [job["id"]]


async def test_the_domain_event_of_a_run_counts_once_when_its_deliverer_died_before_settling(
    platform, make_user, two_step, recorded_events, monkeypatch
):
    """The worker delivering ``workers.finished`` dies after the listeners' writes committed
    but before the outbox settled the message: delivered again, it emits nothing a second time."""

    async def lost(*message_ids: Any) -> None:
        return None

    monkeypatch.setattr(outbox, "kick_delivery", lost)
    actor = await make_user()
    job = await _running(actor)

    def change() -> Any:
        return Job.filter(id=job.id, fence=1, status="running").update(status="succeeded")

    assert await finishing.finish(platform, job, "succeeded", change)
    stored = await OutboxMessage.get(kind=FINISHED_KIND, key=f"{job.id}:succeeded:1")
    handler = platform.plugins.outbox_handlers[FINISHED_KIND]
    claimed = await outbox.claim(stored.id, handler)
    assert claimed is not None
    await handler.handler(claimed)  # ...and the worker is killed here: no settle
    await OutboxMessage.filter(id=stored.id).update(lease_until=utcnow() - timedelta(seconds=1))
    assert await outbox.deliver_once(platform, stored.id) == ("done", None)
    assert (await OutboxMessage.get(id=stored.id)).status == "delivered"
    finished = [event.data["job_id"] for event in recorded_events if event.name == "engine.job_finished"]
    assert finished == [str(job.id)]


async def test_processes_setting_up_checkpoints_at_the_same_moment_all_finish(empty_database_url):
    """A server's first run and a starting worker create the checkpoint tables at the same
    moment (three savers here, each on its own pool as in its own process). On PostgreSQL the
    setup builds indexes CONCURRENTLY, which waits for every older snapshot: a setup waiting
    its turn inside a statement would hold one and both would wait forever."""
    opened = await asyncio.wait_for(
        asyncio.gather(
            *(checkpoints.open_checkpointer(empty_database_url, 2) for _ in range(3)), return_exceptions=True
        ),
        timeout=60,
    )
    savers = [result for result in opened if not isinstance(result, BaseException)]
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    for saver, close in savers:
        assert await saver.aget_tuple(config) is None  # the tables exist and answer
        await close()
    assert len(savers) == 3, opened
