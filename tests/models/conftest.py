"""Models fixtures: core, auth, workers, billing and models, and a real fake OpenAI server.

On Postgres the jobs travel through the Redis stream and a taskiq receiver in this process
(as in tests/engine); on SQLite the in-memory broker runs them inside the app.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from engine.conftest import FAST_ENV, JobClient

from vetrai.core.config import Settings

from .fake_openai import FakeOpenAI, RunningServer

POSTGRES = os.environ.get("VETRAI_TEST_BACKEND", "sqlite") == "postgres"
PLUGINS = ["auth", "workers", "billing", "models"]
API_KEY = "sk-test-PLAINTEXT-4c1f9e2b7a5d3e8f"


@pytest.fixture(autouse=True)
def models_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VETRAI_MODELS_ALLOW_PRIVATE_BASE_URLS", "true")  # the fake server listens on loopback
    monkeypatch.setenv("VETRAI_MODELS_MAX_RETRIES", "2")
    monkeypatch.setenv("VETRAI_MODELS_TIMEOUT_SECONDS", "10")


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=PLUGINS)


@pytest.fixture
def vetrai_worker() -> bool:
    """On Postgres the app's jobs run on a worker in this process, as under ``vetrai worker``."""
    return True


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with RunningServer(FakeOpenAI()) as server:
        yield server


@pytest.fixture
def jobs(client: Any) -> JobClient:
    return JobClient(client)


@pytest.fixture
def add_provider(client: Any, fake_openai: FakeOpenAI) -> Callable[..., Any]:
    """``await add_provider(admin, **fields)``: a provider on the fake server, the created JSON."""

    async def factory(actor: Any, expect: int = 201, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "fake",
            "kind": "openai",
            "base_url": fake_openai.base_url,
            "api_key": API_KEY,
            "models": ["fake-small", "fake-large", "fail-401", "fail-429", "flaky-429", "fail-500", "slow"],
            "default_model": "fake-small",
            **fields,
        }
        response = await client.post("/api/v1/models/providers", json=body, headers=actor.headers)
        data = await response.get_json()
        assert response.status_code == expect, data
        return data

    return factory


async def wait_for(predicate: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll an async predicate until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
