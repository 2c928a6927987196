"""Engine fixtures: only core, auth and workers are enabled.

On SQLite the in-memory broker runs jobs inside the app. On Postgres the broker is a Redis
stream: ``vetrai_worker`` (True unless a test is marked ``no_worker``) runs taskiq's
``Receiver`` on the app's broker, so every job really travels through Redis and is claimed
from the database end to end.
``tests/engine/test_engine_processes.py`` additionally runs real ``vetrai worker`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import EventLog

POSTGRES = os.environ.get("VETRAI_TEST_BACKEND", "sqlite") == "postgres"
FAST_ENV = {
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "0.5",
    "VETRAI_WORKERS_LEASE_SECONDS": "2",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "1",
    "VETRAI_WORKERS_KEEPALIVE_SECONDS": "0.1",
    "VETRAI_WORKERS_WEBHOOK_ALLOW_PRIVATE": "true",  # the tests' webhook receivers listen on loopback
}


@pytest.fixture(autouse=True)
def fast_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth", "workers"])


@pytest.fixture
def vetrai_worker(request: pytest.FixtureRequest) -> bool:
    """On Postgres a taskiq Receiver consumes the app's Redis stream in this process (the suite's
    ``app``); mark a test ``no_worker`` to leave jobs to other processes."""
    return request.node.get_closest_marker("no_worker") is None


@pytest.fixture
def recorded_events(vetrai_events: EventLog) -> EventLog:
    """Every domain event of the test: the kit's event log."""
    return vetrai_events


def two_step_graph(state: type[Any], first: Callable[..., Any], second: Callable[..., Any]) -> Any:
    """START -> first -> second -> END: the smallest graph with a checkpoint between two nodes."""
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(state)
    graph.add_node("first", first)
    graph.add_node("second", second)
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph


def two_step_spec(
    name: str, state: type[Any], first: Callable[..., Any], second: Callable[..., Any], **fields: Any
) -> Any:
    """A test workflow over ``two_step_graph`` with two attempts and a near-immediate retry."""
    from vetrai.engine.spec import WorkflowSpec

    return WorkflowSpec(
        name=name,
        version="1",
        description="test",
        build=lambda: two_step_graph(state, first, second),
        max_attempts=2,
        retry_backoff_seconds=0.01,
        **fields,
    )


@contextlib.asynccontextmanager
async def registered_workflow(spec: Any) -> AsyncIterator[Any]:
    """``spec`` as a package workflow (its template synced) for the duration of a test."""
    from vetrai.engine import service
    from vetrai.engine.spec import workflows

    workflows()[spec.name] = spec
    try:
        await service.sync_package_templates()
        yield spec
    finally:
        workflows().pop(spec.name, None)


@pytest.fixture
def jobs(client: Any) -> Any:
    return JobClient(client)


class JobClient:
    """Small helpers over the jobs API."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def create(
        self, actor: Any, template: str, input: dict[str, Any] | None = None, expect: int = 202, **extra: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/workers/jobs", json={"template": template, "input": input or {}, **extra}, headers=actor.headers
        )
        body = await response.get_json()
        assert response.status_code == expect, body
        return body

    async def get(self, actor: Any, job_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/workers/jobs/{job_id}", headers=actor.headers)
        assert response.status_code == 200, await response.get_data(as_text=True)
        return await response.get_json()

    async def wait(self, actor: Any, job_id: str, *statuses: str, within: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            job = await self.get(actor, job_id)
            if job["status"] in statuses:
                return job
            assert time.monotonic() < deadline, f"job stayed {job['status']}, wanted {statuses}: {job}"
            await asyncio.sleep(0.03)

    async def events(self, actor: Any, job_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/workers/jobs/{job_id}/events?format=json", headers=actor.headers)
        assert response.status_code == 200
        return (await response.get_json())["items"]

    async def action(self, actor: Any, job_id: str, action: str, body: Any = None, expect: int = 202) -> dict[str, Any]:
        kwargs = {"json": body} if body is not None else {}
        response = await self.client.post(f"/api/v1/workers/jobs/{job_id}/{action}", headers=actor.headers, **kwargs)
        data = await response.get_json()
        assert response.status_code == expect, data
        return data


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_worker: do not run an in-process taskiq receiver (postgres backend)")


if not POSTGRES:
    # Worker processes need the shared Postgres and Redis: with SQLite and the in-memory
    # broker the server runs every job itself, so these modules only run in the postgres run.
    collect_ignore = ["test_engine_processes.py", "test_scheduling_worker.py"]


async def outbox_message(kind: str, key: str, *statuses: str, within: float = 10.0) -> Any:
    """The outbox message once it reaches one of ``statuses`` (delivered, failed)."""
    from vetrai.core.models import OutboxMessage

    deadline = time.monotonic() + within
    while True:
        message = await OutboxMessage.get_or_none(kind=kind, key=key)
        if message is not None and message.status in statuses:
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox message {kind} {key} is {message and message.status}, not {statuses}")
        await asyncio.sleep(0.02)
