"""Shared fixtures: every API test runs on the backend chosen by VETRAI_TEST_BACKEND.

``sqlite`` (default): a SQLite file per test, copied from one database migrated once per run,
and the in-memory broker.
``postgres``: one fresh database per test run on 127.0.0.1 (dropped at the end), tables
truncated between tests, and a Redis broker with a per-test key prefix, so several runs can
share one Postgres and one Redis without seeing each other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import backend

BACKEND = backend.backend_name()
IN_CI = backend.in_ci()


@pytest.fixture(scope="session")
def pg_database() -> Any:
    """A database of this test run's own, created on first use and dropped at the end."""
    if BACKEND != "postgres":
        yield None
        return
    name = backend.new_database_name("vetrai_test")
    try:
        asyncio.run(backend.pg_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(backend.redis_ping())
    except OSError as exc:
        if IN_CI:
            raise RuntimeError(f"CI=true needs PostgreSQL and Redis on 127.0.0.1: {exc}") from exc
        pytest.skip(f"PostgreSQL/Redis not reachable on 127.0.0.1 ({exc}); start them to run this backend")
    yield name
    asyncio.run(backend.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def settings_factory(tmp_path: Path, pg_database: str | None) -> Callable[..., Settings]:
    """``settings_factory(**overrides)``: Settings on this test's isolated database (a copy of
    the migrated template on SQLite, the run's truncated database on Postgres)."""
    if pg_database is not None:
        await backend.pg_truncate(pg_database)
        template = None
    else:
        template = await backend.sqlite_template()
    return lambda **overrides: Settings(**backend.settings_values(tmp_path, pg_database, template, **overrides))


@pytest.fixture
async def empty_database_url(tmp_path: Path, pg_database: str | None) -> AsyncIterator[str]:
    """A database with no tables at all, for tests that migrate from zero."""
    if pg_database is None:
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = f"{pg_database}_empty"
    await backend.pg_admin(f'CREATE DATABASE "{name}"')
    yield backend.pg_url(name)
    await backend.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    """The full app (every installed plugin) with its lifespan running."""
    from vetrai.core.app import create_app

    application = create_app(settings)
    async with application.test_app() as test_app:
        yield test_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def platform(app: Any) -> Any:
    return app.app.extensions["vetrai"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"vetrai test backend: {BACKEND}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backend(name): runs only on that test backend, deselected on the other")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test about one backend's machinery (in-server schedules, Redis workers) is deselected
    on the other backend rather than skipped: there it has nothing to test."""
    other = [item for item in items if (marker := item.get_closest_marker("backend")) and BACKEND not in marker.args]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item not in other]


class Actor:
    """A user of a test organization with a ready Authorization header."""

    def __init__(self, user: Any, token: str, organization: Any) -> None:
        self.user = user
        self.token = token
        self.organization = organization
        self.headers = {"Authorization": f"Bearer {token}"}

    @property
    def id(self) -> str:
        return str(self.user.id)

    @property
    def organization_id(self) -> str:
        return str(self.organization.id)


@pytest.fixture
def make_org(app: Any) -> Callable[..., Any]:
    from vetrai.core.organizations.service import create_organization

    async def factory(name: str | None = None, **kwargs: Any) -> Any:
        return await create_organization(name or f"Org {uuid.uuid4().hex[:6]}", **kwargs)

    return factory


@pytest.fixture
def make_user(app: Any, make_org: Callable[..., Any]) -> Callable[..., Any]:
    """``await make_user(role="org_admin", organization=org)``: a real user and access token."""
    from vetrai.plugins.auth import service

    async def factory(
        role: str = "user",
        organization: Any = None,
        email: str | None = None,
        password: str = "correct horse battery",
        token_format: str = "jwt",
    ) -> Actor:
        organization = organization or await make_org()
        async with app.app.app_context():
            user = await service.create_user(
                organization,
                email or f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                password,
                role=role,
                email_verified=True,
            )
            tokens = await service.issue_tokens(user, token_format)  # type: ignore[arg-type]
        return Actor(user, tokens["access_token"], organization)

    return factory
