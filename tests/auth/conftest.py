"""Auth tests run on the core and auth plugins only; ``custom_app`` builds an app with
``VETRAI_AUTH_*`` overrides (e.g. low lockout thresholds) set in the environment."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import Kit, KitUser

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth"], public_url="https://app.example.com")


@pytest.fixture
async def custom_app(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """``await custom_app({"lockout_account_failures": 3}, trusted_proxies=1)``: a started app."""
    from vetrai.core.app import create_app

    stack = contextlib.AsyncExitStack()

    async def factory(
        auth_env: dict[str, Any] | None = None, extra_plugins: tuple[object, ...] = (), **overrides: Any
    ) -> Any:
        for name, value in (auth_env or {}).items():
            monkeypatch.setenv(f"VETRAI_AUTH_{name.upper()}", str(value))
        values = {"plugins": ["auth"], "public_url": "https://app.example.com", **overrides}
        application = create_app(settings_factory(**values), extra_plugins=extra_plugins)
        return await stack.enter_async_context(application.test_app())

    yield factory
    await stack.aclose()


async def create_member(
    test_app: Any,
    role: str = "user",
    organization: Any = None,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    token_format: str = "jwt",
    **org_kwargs: Any,
) -> KitUser:
    """A user with a session, in ``organization`` or a new one, for any started app (the kit's user)."""
    kit = Kit(test_app)
    organization = organization or await kit.org(**org_kwargs)
    return await kit.user(role, organization, email=email, password=password, token_format=token_format)


@pytest.fixture
def member(app: Any) -> Callable[..., Any]:
    async def factory(role: str = "user", organization: Any = None, **kwargs: Any) -> KitUser:
        return await create_member(app, role, organization, **kwargs)

    return factory


async def login(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return await client.post("/api/v1/login", json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def audit_actions(test_app: Any, **filters: Any) -> list[str]:
    from vetrai.core.models import AuditLog

    async with test_app.app.app_context():
        return [entry.action for entry in await AuditLog.filter(**filters).order_by("created_at")]


async def settle(client: Any) -> None:
    """Wait for the password-reset requests still being handled after their 202 answer."""
    import asyncio

    background = client.app.extensions["vetrai"].state["auth"].background
    while background:
        await asyncio.gather(*list(background))


async def request_reset(client: Any, email: str) -> Any:
    """POST /password-reset and wait until the request was handled in the background."""
    response = await client.post("/api/v1/password-reset", json={"email": email})
    await settle(client)
    return response
