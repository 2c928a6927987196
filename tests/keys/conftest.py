"""Keys fixtures. ``make_api_key`` is meant to be copied by other plugins' tests:

key = await make_api_key(actor, scopes=["support:read"])
await client.get("/api/v1/...", headers={"Authorization": f"Bearer {key}"})
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Only core, auth and keys: the keys suite does not depend on other plugins' progress."""
    return settings_factory(plugins=["auth", "keys"])


@pytest.fixture
def make_api_key(app: Any) -> Callable[..., Any]:
    """``await make_api_key(actor, scopes=[...], **fields)`` -> the key string (through the API)."""
    client = app.test_client()

    async def factory(actor: Any, scopes: list[str] | None = None, name: str = "test key", **fields: Any) -> str:
        body = {"name": name, "scopes": list(scopes or []), **fields}
        response = await client.post("/api/v1/keys", json=body, headers=actor.headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        return (await response.get_json())["key"]

    return factory


def key_headers(key: str, header: str = "bearer") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}


@pytest.fixture
async def custom_app(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """``await custom_app({"cache_ttl_seconds": 0}, **settings)``: a started app with VETRAI_KEYS_* set."""
    from vetrai.core.app import create_app

    stack = contextlib.AsyncExitStack()

    async def factory(keys_env: dict[str, Any] | None = None, **overrides: Any) -> Any:
        for name, value in (keys_env or {}).items():
            monkeypatch.setenv(f"VETRAI_KEYS_{name.upper()}", str(value))
        application = create_app(settings_factory(**{"plugins": ["auth", "keys"], **overrides}))
        return await stack.enter_async_context(application.test_app())

    yield factory
    await stack.aclose()


if os.environ.get("VETRAI_TEST_BACKEND", "sqlite") != "postgres":
    # Two server processes need the shared Postgres and Redis: SQLite with the in-memory
    # broker is one process by design, so this module only runs in the postgres backend run.
    collect_ignore = ["test_keys_servers.py"]
