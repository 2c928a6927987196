"""Console fixtures: an app with core, auth, keys, workers, themes and console, and a browser-like client.

On Postgres the broker is a Redis stream, so (as in tests/engine) a taskiq receiver runs in
this process and jobs really travel through Redis.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings

POSTGRES = os.environ.get("VETRAI_TEST_BACKEND", "sqlite") == "postgres"
PLUGINS = ["auth", "keys", "workers", "themes", "console"]
FAST_ENGINE = {
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "0.5",
    "VETRAI_WORKERS_LEASE_SECONDS": "2",
    "VETRAI_WORKERS_EVENT_POLL_SECONDS": "0.05",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "1",
    "VETRAI_KEYS_USAGE_FLUSH_SECONDS": "0.2",
}
PASSWORD = "a long passphrase"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_ENGINE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=PLUGINS)


@pytest.fixture
def vetrai_worker() -> bool:
    """On Postgres the app's jobs run on a worker in this process, as under ``vetrai worker``."""
    return True


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """A cookie-keeping client that uses the console like a browser: GET a page, post its forms."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()
        self.last_html = ""

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        self.last_html = await response.get_data(as_text=True)
        return response

    async def post(self, path: str, form: dict[str, Any] | None = None, *, csrf: str | None = None) -> Any:
        data = dict(form or {})
        if csrf is not None:
            data["csrf_token"] = csrf
        response = await self.client.post(path, form=data)
        self.last_html = await response.get_data(as_text=True)
        return response

    async def submit(self, page: str, action: str, form: dict[str, Any] | None = None) -> Any:
        """Open ``page`` and post ``form`` to ``action`` with that page's CSRF token."""
        opened = await self.get(page)
        assert opened.status_code == 200, (page, opened.status_code, self.last_html[:300])
        return await self.post(action, form, csrf=csrf_of(self.last_html))

    async def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        await self.get("/console/login")
        return await self.post(
            "/console/login",
            {"email": email, "password": password, "next": "/console/runs"},
            csrf=csrf_of(self.last_html),
        )

    def cookie(self, name: str = "vetrai_console") -> str | None:
        for cookie in self.client.cookie_jar:
            if cookie.name == name:
                return cookie.value
        return None


@pytest.fixture
def browser_client(app: Any) -> Callable[[], Browser]:
    return lambda: Browser(app)


@pytest.fixture
def register(client: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await register("Acme")``: a new organization and its org_admin, through the API."""

    async def factory(organization: str = "Acme", email: str | None = None) -> dict[str, Any]:
        email = email or f"admin-{os.urandom(4).hex()}@example.com"
        response = await client.post(
            "/api/v1/register", json={"email": email, "password": PASSWORD, "organization_name": organization}
        )
        assert response.status_code == 201, await response.get_data(as_text=True)
        body = await response.get_json()
        return {
            "email": email,
            "user": body["user"],
            "headers": {"Authorization": f"Bearer {body['access_token']}"},
        }

    return factory


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
