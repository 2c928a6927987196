"""Engine fixtures: only core, auth and workers are enabled.

On SQLite the in-memory broker runs jobs inside the app. On Postgres the broker is a Redis
stream: the ``worker`` fixture (autouse) runs taskiq's ``Receiver`` on the app's broker, so
every job really travels through Redis and is claimed from the database end to end.
``tests/engine/test_engine_processes.py`` additionally runs real ``vetrai worker`` processes.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import in_process_worker
from vetrai.core.hooks import PluginInfo, hookimpl

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
async def app(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The app with its lifespan running; on Postgres with a taskiq Receiver consuming its
    Redis stream in this process (mark a test ``no_worker`` to leave jobs to other processes)."""
    from quart.testing.app import TestApp

    from vetrai.core.app import create_app

    application = create_app(settings, extra_plugins=[EventRecorder()])
    # Generous start/stop timeouts: the first start migrates a fresh database on a shared, busy machine.
    async with TestApp(application, startup_timeout=60, shutdown_timeout=60) as test_app:
        if POSTGRES and not request.node.get_closest_marker("no_worker"):
            async with in_process_worker(test_app.app.extensions["vetrai"]):
                yield test_app
        else:
            yield test_app


class EventRecorder:
    """A plugin that records every domain event (``recorded_events`` fixture)."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="engine-test-recorder", version="0")

    @hookimpl
    def vetrai_event(self, event: Any) -> None:
        self.events.append(event)


@pytest.fixture
def recorded_events(platform: Any) -> list[Any]:
    recorder = platform.plugin_manager.get_plugin("engine-test-recorder")
    return recorder.events


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
