"""The plugin conformance kit (a pytest plugin, loaded through the ``pytest11`` entry point).

Importing it must stay cheap: nothing is built until a fixture asks for it.

Fixtures (docs/conformance.md has the whole story):

- ``vetrai_plugins``: the allow-list of plugins of the test app (default: every installed one);
  ``vetrai_settings_overrides``: extra ``Settings`` values; ``vetrai_extra_plugins``: plugin objects.
- ``vetrai_worker``: True runs a taskiq worker beside the app on the Redis broker.
- ``vetrai_settings``, ``vetrai_app`` (started, lifespan running, on an isolated database),
  ``vetrai_platform``, ``vetrai_kit``.
- ``client``, ``make_org``, ``make_user(role=...)`` (an authenticated client),
  ``api_key(scopes=...)``; the same under ``vetrai_client``, ``vetrai_make_org``, ... so a
  project whose conftest has its own ``client`` can still reach the kit's.
- ``vetrai_events`` (every domain event), ``vetrai_smtp`` (a real SMTP server),
  ``vetrai_outbox`` (the .eml outbox of the app's data dir), ``vetrai_empty_database_url``.

A conftest fixture of the same name overrides any of these.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from vetrai.core.conformance import backend
from vetrai.core.conformance.apps import running_app
from vetrai.core.conformance.backend import free_port, subprocess_env
from vetrai.core.conformance.checks import CHECKS, PluginConformance
from vetrai.core.conformance.kit import EventLog, Kit, KitApiKey, KitUser, Route, forged_credentials
from vetrai.core.conformance.mail import Outbox, SmtpServer, body_text
from vetrai.core.conformance.resource import Resource
from vetrai.core.conformance.worker import in_process_worker

if TYPE_CHECKING:
    from vetrai.core.config import Settings

__all__ = [
    "CHECKS",
    "EventLog",
    "Kit",
    "KitApiKey",
    "KitUser",
    "Outbox",
    "PluginConformance",
    "Resource",
    "Route",
    "SmtpServer",
    "body_text",
    "forged_credentials",
    "free_port",
    "in_process_worker",
    "running_app",
    "subprocess_env",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the checks a plugin's ``skip`` mapping names: they do not apply to it, which is
    not the same as a test that could not run, so they never show up as skipped."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        cls = getattr(item, "cls", None)
        name = getattr(item, "originalname", item.name)
        applies = not (
            isinstance(cls, type) and issubclass(cls, PluginConformance) and name.removeprefix("test_") in cls.skip
        )
        (kept if applies else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def vetrai_backend() -> str:
    """``sqlite`` or ``postgres`` (``VETRAI_TEST_BACKEND``)."""
    name = backend.backend_name()
    if name not in {"sqlite", "postgres"}:
        raise pytest.UsageError(f"VETRAI_TEST_BACKEND must be sqlite or postgres, not {name!r}")
    return name


@pytest.fixture(scope="session")
def vetrai_pg_database(vetrai_backend: str) -> Iterator[str | None]:
    """The kit's Postgres database of this run (None on SQLite), dropped at the end."""
    if vetrai_backend != "postgres":
        yield None
        return
    name = backend.new_database_name()
    try:
        asyncio.run(backend.pg_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(backend.redis_ping())
    except OSError as exc:
        if backend.in_ci():
            raise RuntimeError(f"CI=true needs PostgreSQL and Redis for VETRAI_TEST_BACKEND=postgres: {exc}") from exc
        pytest.skip(f"PostgreSQL/Redis not reachable ({exc}); start them to run the postgres backend")
    yield name
    asyncio.run(backend.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def vetrai_plugins() -> list[str] | None:
    """The plugins the test app enables (``VETRAI_PLUGINS``); None = every installed plugin."""
    return None


@pytest.fixture
def vetrai_settings_overrides() -> dict[str, Any]:
    """Extra ``Settings`` values of the test app."""
    return {}


@pytest.fixture
def vetrai_extra_plugins() -> tuple[object, ...]:
    """Plugin objects registered beside the entry points (``create_app(extra_plugins=...)``)."""
    return ()


@pytest_asyncio.fixture
async def vetrai_settings_factory(tmp_path: Path, vetrai_pg_database: str | None) -> Callable[..., Settings]:
    """``vetrai_settings_factory(**overrides)``: Settings on this test's isolated database."""
    from vetrai.core.config import Settings

    if vetrai_pg_database is not None:
        await backend.pg_truncate(vetrai_pg_database)
        template = None
    else:
        template = await backend.sqlite_template()
    return lambda **overrides: Settings(**backend.settings_values(tmp_path, vetrai_pg_database, template, **overrides))


@pytest.fixture
def vetrai_settings(
    vetrai_settings_factory: Callable[..., Settings],
    vetrai_plugins: list[str] | None,
    vetrai_settings_overrides: dict[str, Any],
) -> Settings:
    return vetrai_settings_factory(**{"plugins": vetrai_plugins, **vetrai_settings_overrides})


@pytest_asyncio.fixture
async def vetrai_empty_database_url(tmp_path: Path, vetrai_pg_database: str | None) -> AsyncIterator[str]:
    """A database with no tables at all, for migrating from zero (dropped afterwards on Postgres)."""
    if vetrai_pg_database is None:
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = backend.new_database_name("vetrai_kit_empty")
    await backend.pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield backend.pg_url(name)
    finally:
        await backend.pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def vetrai_worker() -> bool:
    """True: on the Redis broker (Postgres backend) a worker runs beside ``vetrai_app``, so tasks
    run as under ``vetrai worker``; on ``memory://`` the app always runs its own tasks."""
    return False


@pytest_asyncio.fixture
async def vetrai_app(
    vetrai_settings: Settings, vetrai_extra_plugins: tuple[object, ...], vetrai_worker: bool
) -> AsyncIterator[Any]:
    """The test app (Quart's ``TestApp``) with its lifespan running; ``.app`` is the Quart app."""
    async with running_app(vetrai_settings, vetrai_extra_plugins, worker=vetrai_worker) as test_app:
        yield test_app


@pytest.fixture
def vetrai_platform(vetrai_app: Any) -> Any:
    return vetrai_app.app.extensions["vetrai"]


@pytest.fixture
def vetrai_kit(vetrai_app: Any) -> Kit:
    return Kit(vetrai_app)


@pytest.fixture
def vetrai_client(vetrai_kit: Kit) -> Any:
    """A Quart test client of ``vetrai_app`` (no credentials)."""
    return vetrai_kit.client


@pytest.fixture
def client(vetrai_client: Any) -> Any:
    return vetrai_client


@pytest.fixture
def vetrai_make_org(vetrai_kit: Kit) -> Callable[..., Any]:
    """``await make_org("Acme", plan="pro")``: a new organization."""
    return vetrai_kit.org


@pytest.fixture
def make_org(vetrai_make_org: Callable[..., Any]) -> Callable[..., Any]:
    return vetrai_make_org


@pytest.fixture
def vetrai_make_user(vetrai_kit: Kit) -> Callable[..., Any]:
    """``await make_user(role="org_admin", organization=org)``: a logged-in KitUser (needs auth)."""
    return vetrai_kit.user


@pytest.fixture
def make_user(vetrai_make_user: Callable[..., Any]) -> Callable[..., Any]:
    return vetrai_make_user


@pytest.fixture
def vetrai_api_key(vetrai_kit: Kit) -> Callable[..., Any]:
    """``await api_key(scopes=["hello:read"], user=alice)``: a KitApiKey (needs keys)."""
    return vetrai_kit.api_key


@pytest.fixture
def api_key(vetrai_api_key: Callable[..., Any]) -> Callable[..., Any]:
    return vetrai_api_key


@pytest.fixture
def vetrai_events(vetrai_platform: Any) -> Iterator[EventLog]:
    """Every domain event the app emits while the test runs (a listener plugin of its own)."""
    log = EventLog()
    name = f"vetrai-kit-events-{id(log)}"
    manager = vetrai_platform.plugin_manager
    manager.register(log, name=name)
    yield log
    manager.unregister(name=name)


@pytest.fixture
def vetrai_smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port; ``.env`` has the settings to reach it."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def vetrai_outbox(vetrai_settings: Settings) -> Outbox:
    """The .eml files written to ``<data dir>/outbox`` when no SMTP host is configured."""
    return Outbox(Path(vetrai_settings.data_dir) / "outbox")
