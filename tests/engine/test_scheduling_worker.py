"""Fairness end to end: every message through the Redis stream to a worker with one slot.

PostgreSQL + Redis only (collected in the postgres run): with SQLite the in-memory broker runs
every message in the server at once, so there is no slot to be fair about; the choice itself is
tested on both backends in test_scheduling.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from vetrai.engine import service
from vetrai.engine.spec import WorkflowSpec, workflows

GATE = asyncio.Event()


class GateInput(BaseModel):
    model_config = ConfigDict(extra="allow")


class GateState(TypedDict, total=False):
    hold: bool


async def _wait(state: GateState) -> dict[str, Any]:
    if state.get("hold"):
        await GATE.wait()
    return {}


def _build() -> StateGraph:
    graph = StateGraph(GateState)
    graph.add_node("wait", _wait)
    graph.add_edge(START, "wait")
    graph.add_edge("wait", END)
    return graph


@pytest.fixture
async def gate(app):
    spec = WorkflowSpec(
        name="test_gate",
        version="1",
        description="holds its slot until the test opens the gate",
        input_model=GateInput,
        output_model=GateInput,
        build=_build,
        timeout_seconds=60,
    )
    workflows()[spec.name] = spec
    GATE.clear()
    await service.sync_package_templates()
    yield spec
    workflows().pop(spec.name, None)


@contextlib.asynccontextmanager
async def one_slot_worker(platform: Any) -> AsyncIterator[None]:
    """A taskiq consumer of the app's Redis stream that runs one message at a time."""
    from redis.asyncio import Redis
    from taskiq import AckableMessage
    from taskiq.receiver import Receiver

    broker = platform.broker
    receiver = Receiver(broker, max_async_tasks=1, propagate_exceptions=False, run_startup=False)
    stop = asyncio.Event()

    async def consume() -> None:
        async with Redis(connection_pool=broker.connection_pool) as redis:
            while not stop.is_set():
                fetched: Any = await redis.xreadgroup(
                    broker.consumer_group_name, broker.consumer_name, {broker.queue_name: ">"}, block=50, count=1
                )
                for stream, messages in fetched or []:
                    for message_id, fields in messages:
                        ack = broker._ack_generator(id=message_id, queue_name=stream)
                        await receiver.callback(AckableMessage(data=fields[b"data"], ack=ack))

    consumer = asyncio.create_task(consume())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait([consumer], timeout=10)
        consumer.cancel()


@pytest.mark.no_worker
async def test_one_slot_serves_a_new_organization_before_anothers_backlog(platform, make_org, make_user, jobs, gate):
    busy = await make_user(organization=await make_org(limits={"max_concurrent_jobs": 100}))
    newcomer = await make_user()
    holder = await jobs.create(busy, "test_gate", {"hold": True})
    backlog = [await jobs.create(busy, "test_gate", {"n": n}) for n in range(8)]
    async with one_slot_worker(platform):
        await jobs.wait(busy, holder["id"], "running")
        # The slot is taken and eight of the busy organization's messages are ahead in the stream.
        late = await jobs.create(newcomer, "test_gate", {"n": 0})
        GATE.set()
        done = await jobs.wait(newcomer, late["id"], "succeeded", within=60)
        for job in backlog:
            await jobs.wait(busy, job["id"], "succeeded", within=60)
        finished = [await jobs.get(busy, job["id"]) for job in backlog]
    newcomer_done = datetime.fromisoformat(done["finished_at"])
    assert all(datetime.fromisoformat(job["started_at"]) >= newcomer_done for job in finished), (
        "a run of the backlog started before the newcomer's run"
    )
