"""Side effects of nodes that run again: the stable idempotency key a node gives the service it
calls, and LangGraph's checkpoint durability chosen per workflow, template or job."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel

from tests.engine.conftest import registered_workflow, two_step_spec
from vetrai.engine import runtime
from vetrai.engine.nodes import idempotency_key

CHARGES: list[tuple[str, int]] = []


class Order(TypedDict, total=False):
    charged: str
    mailed: str


class Nothing(BaseModel):
    pass


async def _charge(state: Order, config: RunnableConfig) -> dict[str, Any]:
    key = idempotency_key(config)
    CHARGES.append((key, config["configurable"]["attempt"]))
    if config["configurable"]["attempt"] == 1:
        raise RuntimeError("the payment service timed out after taking the charge")
    return {"charged": key}


async def _mail(state: Order, config: RunnableConfig) -> dict[str, Any]:
    return {"mailed": idempotency_key(config)}


@pytest.fixture
async def order(app):
    spec = two_step_spec(
        "test_order",
        Order,
        _charge,
        _mail,
        input_model=Nothing,
        output_model=Nothing,
        durability="exit",
        to_output=lambda state: {},
    )
    CHARGES.clear()
    async with registered_workflow(spec):
        yield spec


async def test_a_node_run_again_gets_the_same_key_and_other_nodes_and_runs_another(order, make_user, jobs):
    actor = await make_user()
    first = await jobs.create(actor, "test_order", durability="sync")
    await jobs.wait(actor, first["id"], "succeeded")
    second = await jobs.create(actor, "test_order", durability="sync")
    await jobs.wait(actor, second["id"], "succeeded")
    keys = [key for key, _ in CHARGES]
    assert [attempt for _, attempt in CHARGES] == [1, 2, 1, 2]
    assert keys[0] == keys[1] and keys[2] == keys[3]  # the retried attempt repeats the key
    assert keys[0] != keys[2]  # another run, another key
    assert keys[0].startswith(f"{first['id']}:first:")
    with pytest.raises(LookupError):
        idempotency_key({"configurable": {}})


async def test_durability_from_the_job_then_the_template_then_the_workflow(order, client, make_user, jobs, monkeypatch):
    seen: list[Any] = []
    original = runtime.graph_stream

    def spy(graph: Any, payload: Any, config: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs.get("durability"))
        return original(graph, payload, config, kwargs)

    monkeypatch.setattr(runtime, "graph_stream", spy)
    actor = await make_user(role="org_admin")
    job = await jobs.create(actor, "test_order", durability="sync")
    await jobs.wait(actor, job["id"], "succeeded")
    assert seen == ["sync", "sync"]  # both attempts
    created = await client.post(
        "/api/v1/workers/templates",
        json={"name": "orders-async", "workflow": "test_order", "defaults": {"durability": "async"}},
        headers=actor.headers,
    )
    assert created.status_code == 201, await created.get_json()
    seen.clear()
    job = await jobs.create(actor, "orders-async")
    await jobs.wait(actor, job["id"], "succeeded")
    assert seen == ["async", "async"]
    seen.clear()
    job = await jobs.create(actor, "test_order")
    await jobs.wait(actor, job["id"], "succeeded")
    assert seen == ["exit", "exit"]  # the workflow's own
    refused = await jobs.create(actor, "test_order", expect=422, durability="sometimes")
    assert "durability" in str(refused)
