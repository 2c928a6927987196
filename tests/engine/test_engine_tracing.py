"""OpenTelemetry: each attempt of a run is a span in the trace of the request that created it
(carried by the run row across server and worker: on Postgres the run travels through Redis to
the worker), and each node a span inside its attempt. In-memory exporter."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from tests.engine.conftest import registered_workflow, two_step_spec
from vetrai.engine.runtime import NodeSpans

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


class Steps(TypedDict, total=False):
    a: int
    b: int


class Nothing(BaseModel):
    pass


async def _first(state: Steps) -> dict[str, Any]:
    return {"a": 1}


async def _second(state: Steps, config: RunnableConfig) -> dict[str, Any]:
    if config["configurable"]["attempt"] == 1:
        raise RuntimeError("second fails once")
    return {"b": 2}


@pytest.fixture
async def two_steps(app):
    spec = two_step_spec(
        "test_traced", Steps, _first, _second, input_model=Nothing, output_model=Nothing, to_output=lambda state: {}
    )
    async with registered_workflow(spec):
        yield spec


async def finished_spans(exporter, predicate, count: int, within: float = 10.0) -> list:
    deadline = time.monotonic() + within
    while True:
        spans = [span for span in exporter.get_finished_spans() if predicate(span)]
        if len(spans) >= count:
            return spans
        assert time.monotonic() < deadline, f"{len(spans)} of {count} spans: {exporter.get_finished_spans()}"
        await asyncio.sleep(0.02)


async def create(client, actor, template: str, input: dict) -> dict:
    response = await client.post(
        "/api/v1/workers/jobs",
        json={"template": template, "input": input},
        headers={**actor.headers, "traceparent": TRACEPARENT},
    )
    assert response.status_code == 202
    return await response.get_json()


async def test_a_run_and_its_nodes_join_the_trace_of_the_request_that_created_it(
    client,
    make_user,
    jobs,
    exporter,
):
    actor = await make_user()
    job = await create(client, actor, "echo", {"hello": "trace"})
    await jobs.wait(actor, job["id"], "succeeded")
    [run] = await finished_spans(exporter, lambda span: span.name == "run echo", 1)
    [request] = [span for span in exporter.get_finished_spans() if span.name == "POST /api/v1/workers/jobs"]
    assert format(request.context.trace_id, "032x") == CALLER_TRACE
    assert run.kind is SpanKind.CONSUMER and run.context.trace_id == request.context.trace_id
    assert run.parent.span_id == request.context.span_id
    assert run.attributes["vetrai.run.id"] == job["id"] and run.attributes["vetrai.run.attempt"] == 1
    assert run.attributes["vetrai.run.status"] == "succeeded" and run.status.is_ok
    nodes = [span for span in exporter.get_finished_spans() if span.name.startswith("node ")]
    assert [span.name for span in nodes] == ["node echo"]
    assert nodes[0].parent.span_id == run.context.span_id and nodes[0].attributes["vetrai.node"] == "echo"


async def test_every_attempt_is_a_span_and_a_failing_node_is_an_error(client, make_user, jobs, exporter, two_steps):
    actor = await make_user()
    job = await create(client, actor, "test_traced", {})
    await jobs.wait(actor, job["id"], "succeeded")
    runs = await finished_spans(exporter, lambda span: span.name == "run test_traced", 2)
    assert sorted(span.attributes["vetrai.run.attempt"] for span in runs) == [1, 2]
    assert {format(span.context.trace_id, "032x") for span in runs} == {CALLER_TRACE}
    by_attempt = {span.attributes["vetrai.run.attempt"]: span for span in runs}
    assert by_attempt[1].attributes["vetrai.run.status"] == "queued"  # sent back for its retry
    assert by_attempt[2].attributes["vetrai.run.status"] == "succeeded"
    nodes = [
        (span.name, span.parent.span_id, span.status.is_ok)
        for span in exporter.get_finished_spans()
        if span.name.startswith("node ")
    ]
    first, second = by_attempt[1].context.span_id, by_attempt[2].context.span_id
    # The second attempt resumes from the checkpoint: "first" is not run again.
    assert nodes == [
        ("node first", first, True),
        ("node second", first, False),
        ("node second", second, True),
    ]


def test_nodes_still_open_when_an_attempt_stops_end_with_it(exporter):
    with NodeSpans() as nodes:
        nodes.track({"id": "t1", "name": "wait", "input": {}, "triggers": []}, ())
        nodes.track({"id": "t2", "name": "done", "input": {}, "triggers": []}, ("sub:1",))
        nodes.track({"id": "t2", "name": "done", "result": {}, "error": None, "interrupts": []}, ("sub:1",))
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["node wait"].attributes["vetrai.node.unfinished"] is True
    assert spans["node done"].attributes["vetrai.namespace"] == "sub:1" and spans["node done"].status.is_ok
