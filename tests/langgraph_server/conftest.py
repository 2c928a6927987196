"""The LangGraph API served for real: the test app (its lifespan already running) behind a
hypercorn socket on 127.0.0.1, driven by langgraph-sdk's own client and RemoteGraph.

The graphs are tests/langgraph/project's langgraph.json (no VetrAI import), loaded through
VETRAI_LANGGRAPH_CONFIG. On Postgres a taskiq receiver in this process consumes the Redis
stream, so runs travel through Redis and are claimed from the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.serving import serving
from vetrai.core.config import Settings

POSTGRES = os.environ.get("VETRAI_TEST_BACKEND", "sqlite") == "postgres"
PROJECT = Path(__file__).parent / "project" / "langgraph.json"
FAST_ENV = {
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "0.5",
    "VETRAI_WORKERS_LEASE_SECONDS": "3",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "1",
    "VETRAI_WORKERS_KEEPALIVE_SECONDS": "0.5",
}


@pytest.fixture(autouse=True)
def langgraph_project(monkeypatch: pytest.MonkeyPatch) -> Any:
    from vetrai.engine.spec import workflows

    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VETRAI_LANGGRAPH_CONFIG", str(PROJECT))
    workflows.cache_clear()
    yield
    monkeypatch.delenv("VETRAI_LANGGRAPH_CONFIG")
    workflows.cache_clear()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth", "keys", "workers"])


@pytest.fixture
def vetrai_worker() -> bool:
    """On Postgres a taskiq Receiver runs the suite's ``app``'s jobs in this process."""
    return True


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    """The base URL of the LangGraph API on a real socket (hypercorn, this event loop)."""
    async with serving(app.app, lifespan=False) as base:
        yield f"{base}/api/v1/langgraph"


@pytest.fixture
def make_key(app: Any) -> Callable[..., Any]:
    """An API key (``vk_...``) of a new user of ``organization`` (a new one by default)."""

    async def factory(actor: Any, scopes: tuple[str, ...] = ("workers:read", "workers:write")) -> str:
        from vetrai.core.auth import Principal
        from vetrai.plugins.keys.service import create_key

        principal = Principal(
            user_id=actor.user.id,
            organization_id=actor.organization.id,
            role=actor.user.role,
            scopes=frozenset(scopes),
        )
        async with app.app.app_context():
            _, secret = await create_key(principal, f"key-{uuid.uuid4().hex[:6]}", list(scopes))
        return secret

    return factory


@pytest.fixture
async def sdk(
    server: str, make_user: Callable[..., Any], make_key: Callable[..., Any]
) -> AsyncIterator[Callable[..., Any]]:
    """``client, actor = await sdk()``: a langgraph-sdk client with a new organization's API key."""
    from langgraph_sdk import get_client

    clients: list[Any] = []

    async def factory(organization: Any = None, role: str = "org_admin") -> tuple[Any, Any]:
        actor = await make_user(role=role, organization=organization)
        key = await make_key(actor)
        clients.append(get_client(url=server, api_key=key))
        return clients[-1], actor

    yield factory
    for client in clients:
        await client.aclose()
