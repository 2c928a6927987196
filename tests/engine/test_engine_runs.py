"""The run loop's guarantees: fencing, poison runs, atomic idempotency and quota, resume values
kept until consumed, token events and usage, deactivated organizations, bounded runs."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel, ConfigDict

from vetrai.core.models import Organization
from vetrai.engine import service, storage
from vetrai.engine.claims import claim
from vetrai.engine.clock import utcnow
from vetrai.engine.models import Job, JobEvent
from vetrai.engine.reaper import reap
from vetrai.engine.runtime import Runtime
from vetrai.engine.spec import WorkflowSpec, workflows

SEEN: dict[str, Any] = {}


class ChatInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str


class ChatOutput(BaseModel):
    answer: str


class MeteredFakeChatModel(GenericFakeChatModel):
    """Streams like GenericFakeChatModel, then a last chunk with usage, as providers do."""

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
        usage = {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=usage, response_metadata={"model_name": "fake-chat"})
        )


async def _respond(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    SEEN["configurable"] = dict(config["configurable"])
    model = MeteredFakeChatModel(messages=itertools.cycle([AIMessage(content="one two three")]))
    return {"messages": [await model.ainvoke(state["messages"])]}


def _build_chat() -> StateGraph:
    graph = StateGraph(MessagesState)
    graph.add_node("respond", _respond)
    graph.add_edge(START, "respond")
    graph.add_edge("respond", END)
    return graph


@pytest.fixture
async def chat(app):
    spec = WorkflowSpec(
        name="test_chat",
        version="2.0.0",
        description="test",
        input_model=ChatInput,
        output_model=ChatOutput,
        build=_build_chat,
        max_attempts=1,
        to_state=lambda values: {"messages": [{"role": "user", "content": values["question"]}]},
        to_output=lambda state: {"answer": state["messages"][-1].content},
    )
    workflows()[spec.name] = spec
    SEEN.clear()
    await service.sync_package_templates()
    yield spec
    workflows().pop(spec.name, None)


async def test_token_events_usage_and_configurable(client, make_user, jobs, chat, recorded_events):
    actor = await make_user()
    job = await jobs.create(actor, "test_chat", {"question": "count"})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["output"] == {"answer": "one two three"} and done["graph_version"] == "2.0.0"
    assert done["usage"] == {
        "input_tokens": 4,
        "output_tokens": 3,
        "total_tokens": 7,
        "by_model": {"fake-chat": {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}},
    }
    tokens = [event for event in await jobs.events(actor, job["id"]) if event["type"] == "token"]
    assert "".join(event["data"]["text"] for event in tokens) == "one two three" and len(tokens) > 1
    assert {event["data"]["node"] for event in tokens} == {"respond"}
    response = await client.get(f"/api/v1/workers/jobs/{job['id']}/events", headers=actor.headers)
    assert "event: token" in await response.get_data(as_text=True)
    configurable = SEEN["configurable"]
    assert configurable["organization_id"] == actor.organization_id and configurable["run_id"] == job["id"]
    assert configurable["thread_id"] == job["id"] and configurable["user_id"] == actor.id
    assert configurable["graph_id"] == "test_chat" and "assistant_id" in configurable
    for _ in range(100):
        finished = [event.data for event in recorded_events if event.name == "engine.job_finished"]
        if finished:
            break
        await asyncio.sleep(0.02)
    assert finished[0]["usage"]["total_tokens"] == 7


async def _running_row(actor, template: str, **values: Any) -> Job:
    await service.ensure_package_templates()  # synced on first need
    row = await service.WorkflowTemplate.get(package_key=template)
    return await Job.create(
        organization_id=actor.organization.id,
        template_id=row.id,
        template_name=template,
        workflow=template,
        user_id=actor.user.id,
        input={"seconds": 60, "steps": 60},
        queued_at=utcnow(),
        **values,
    )


async def test_poison_run_fails_as_worker_lost(platform, make_user, jobs):
    actor = await make_user()
    expired = utcnow() - timedelta(seconds=5)
    lost = await _running_row(
        actor, "sleep", status="running", attempts=2, max_attempts=2, lease_owner="gone", lease_expires_at=expired
    )
    again = await _running_row(
        actor, "sleep", status="running", attempts=1, max_attempts=3, lease_owner="gone", lease_expires_at=expired
    )
    result = await reap(platform)
    assert result["poisoned"] == 1 and result["expired"] == 1
    await lost.refresh_from_db()
    assert lost.status == "failed" and lost.reason == "worker_lost" and lost.error["type"] == "WorkerLost"
    # A lost lease counts as an attempt: a claim never takes a run past its attempts.
    assert await claim(lost.id, "another", 30) is None
    requeued = await JobEvent.filter(job_id=again.id, type="requeued").values_list("data", flat=True)
    assert requeued and requeued[0]["reason"] == "lease_expired"
    await service.cancel_job(platform, await _principal(actor), str(again.id))


async def _principal(actor):
    from vetrai.core.auth import Principal

    return Principal(
        user_id=actor.user.id, organization_id=actor.organization.id, role=actor.user.role, scopes=frozenset()
    )


async def test_a_fenced_out_attempt_stops_and_writes_nothing(platform, make_user):
    actor = await make_user()
    job = await _running_row(actor, "sleep", max_attempts=3)
    first = Runtime(platform)
    # Its heartbeat is frozen: only its fenced writes can tell it that it lost the run (a renewal
    # between the expiry below and the second claim would otherwise win the race).
    first.settings = first.settings.model_copy(update={"heartbeat_seconds": 3600})
    run = asyncio.create_task(first.run_job(str(job.id)))
    for _ in range(300):
        if await JobEvent.filter(job_id=job.id, type="progress").exists():
            break
        await asyncio.sleep(0.02)
    # Its lease is taken over (a frozen heartbeat, a slow network): the next claim raises the fence.
    await Job.filter(id=job.id).update(lease_expires_at=utcnow() - timedelta(seconds=1))
    for _ in range(100):  # SKIP LOCKED passes over the row while the first attempt writes an event
        second = await claim(job.id, "second-worker", 60)
        if second is not None:
            break
        await asyncio.sleep(0.01)
    assert second is not None and second.fence == 2
    assert await asyncio.wait_for(run, 10) == "lost"
    await first.close()
    await job.refresh_from_db()
    assert job.status == "running" and job.lease_owner == "second-worker" and job.fence == 2
    count = await JobEvent.filter(job_id=job.id).count()
    await asyncio.sleep(0.3)
    assert await JobEvent.filter(job_id=job.id).count() == count
    await Job.filter(id=job.id).update(status="cancelled")


async def test_simultaneous_idempotent_creates_make_one_job(make_user, jobs):
    actor = await make_user()
    created = await asyncio.gather(
        *(jobs.create(actor, "echo", {"n": n}, idempotency_key="same-key") for n in range(6))
    )
    assert len({job["id"] for job in created}) == 1
    assert await Job.filter(organization_id=actor.organization.id).count() == 1


async def test_monthly_quota_is_atomic(make_user, make_org, jobs):
    organization = await make_org(limits={"max_monthly_jobs": 3})
    actor = await make_user(organization=organization)
    responses = await asyncio.gather(
        *(
            jobs.client.post(
                "/api/v1/workers/jobs", json={"template": "echo", "input": {"n": n}}, headers=actor.headers
            )
            for n in range(7)
        )
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [202, 202, 202, 403, 403, 403, 403]
    assert await Job.filter(organization_id=organization.id).count() == 3


async def test_a_deactivated_organizations_queued_runs_do_not_start(platform, make_user):
    actor = await make_user()
    job = await _running_row(actor, "echo")
    await Organization.filter(id=actor.organization.id).update(is_active=False)
    runtime = Runtime(platform)
    try:
        assert await runtime.run_job(str(job.id)) is None
    finally:
        await runtime.close()
    await job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 0


async def test_a_run_over_its_event_bound_fails(make_user, jobs, monkeypatch, platform):
    monkeypatch.setattr(platform.state["workers"].settings, "max_events_per_run", 5)
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 0.05, "steps": 20})
    done = await jobs.wait(actor, job["id"], "failed")
    assert done["error"]["type"] == "EventLimitExceeded"
    assert done["attempts"] == 1  # not retried: another attempt would write as much


async def test_resume_value_is_kept_until_the_graph_consumed_it(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "approval", {"request": "a laptop"})
    await jobs.wait(actor, job["id"], "interrupted")
    resumed = await jobs.action(actor, job["id"], "resume", {"value": {"approved": True}})
    assert resumed["status"] in ("queued", "running", "succeeded")
    done = await jobs.wait(actor, job["id"], "succeeded")
    row = await Job.get(id=done["id"])
    assert row.has_resume is False and row.resume_value is None


async def test_delete_a_job_and_count_its_storage(client, platform, make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 0.01, "steps": 3})
    await jobs.wait(actor, job["id"], "succeeded")
    used = await storage.storage_used(platform, actor.organization.id)
    assert used > 0  # its events and its checkpoint
    running = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 60})
    await jobs.wait(actor, running["id"], "running")
    refused = await client.delete(f"/api/v1/workers/jobs/{running['id']}", headers=actor.headers)
    assert refused.status_code == 409
    await jobs.action(actor, running["id"], "cancel")
    await jobs.wait(actor, running["id"], "cancelled")
    for job_id in (job["id"], running["id"]):
        response = await client.delete(f"/api/v1/workers/jobs/{job_id}", headers=actor.headers)
        assert response.status_code == 204
        assert (await client.get(f"/api/v1/workers/jobs/{job_id}", headers=actor.headers)).status_code == 404
    assert await storage.storage_used(platform, actor.organization.id) == 0
    other = await make_user()
    mine = await jobs.create(actor, "echo", {})
    await jobs.wait(actor, mine["id"], "succeeded")
    assert (await client.delete(f"/api/v1/workers/jobs/{mine['id']}", headers=other.headers)).status_code == 404


async def test_checkpoints_are_pruned_to_the_latest_after_a_job_ends(platform, make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 0.01, "steps": 4})
    await jobs.wait(actor, job["id"], "succeeded")
    saver = platform.state["workers"].checkpointer
    config = {"configurable": {"thread_id": job["id"]}}
    for _ in range(200):  # pruning follows the final status
        kept = [item async for item in saver.alist(config)]
        if len(kept) == 1:
            break
        await asyncio.sleep(0.02)
    assert len(kept) == 1 and kept[0].checkpoint["channel_values"].get("done") == 4
