"""The test database and broker of the kit: SQLite per test, or one Postgres database per run.

``VETRAI_TEST_BACKEND=sqlite`` (default): a SQLite file in the test's tmp_path and the
in-memory broker. ``VETRAI_TEST_BACKEND=postgres``: a database of this run's own
(``vetrai_kit_<pid>_<random>`` on ``VETRAI_TEST_PG_URL``, created on first use, dropped at the
end), its tables truncated before each test, and a Redis stream broker on
``VETRAI_TEST_REDIS_URL`` with a per-test queue and key prefix, so several runs can share one
Postgres and one Redis. Unreachable servers skip the postgres run, except with ``CI=true``,
where they are an error.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vetrai.core.config import Settings

DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def backend_name() -> str:
    return os.environ.get("VETRAI_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"


def pg_admin_url() -> str:
    return os.environ.get("VETRAI_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)


def redis_url() -> str:
    return os.environ.get("VETRAI_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pg_url(database: str) -> str:
    """The URL of ``database`` on the admin URL's server."""
    return pg_admin_url().rsplit("/", 1)[0] + "/" + database


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(pg_admin_url()))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def pg_truncate(database: str) -> None:
    """Empty every table except the migration history (the schema stays migrated).

    Only the tables that hold rows are truncated: a test writes to a few of the forty, and
    truncating one costs PostgreSQL a new file per table and index (a fifth of a second for all)."""
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(pg_url(database)))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
        )
        if not tables:
            return
        probes = " UNION ALL ".join(
            f'SELECT {index} WHERE EXISTS (SELECT 1 FROM "{row["tablename"]}")' for index, row in enumerate(tables)
        )
        filled = [tables[row[0]]["tablename"] for row in await connection.fetch(probes)]
        if filled:
            names = ", ".join(f'"{name}"' for name in filled)
            await connection.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await connection.close()


async def redis_ping() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url())
    try:
        await client.ping()
    finally:
        await client.aclose()


def new_database_name(prefix: str = "vetrai_kit") -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


_sqlite_template: Path | None = None


async def sqlite_template() -> Path:
    """A SQLite database migrated once per test process with every installed plugin.

    Migrating from zero costs about a second and a half per app; a copy of this file costs a few
    milliseconds, and an app whose plugins are a subset finds nothing pending in it.
    """
    global _sqlite_template
    if _sqlite_template is None:
        import tempfile

        from vetrai.core.app import create_app
        from vetrai.core.config import Settings

        folder = Path(tempfile.mkdtemp(prefix="vetrai-template-"))
        application = create_app(Settings(**settings_values(folder, None)))
        try:
            async with application.test_app():
                pass
        finally:
            await release_database()
        _sqlite_template = folder / "db.sqlite3"
    return _sqlite_template


def settings_values(
    tmp_path: Path, pg_database: str | None, template: Path | None = None, **overrides: Any
) -> dict[str, Any]:
    """Keyword arguments of ``Settings`` for one isolated test app on the selected backend;
    on SQLite the database starts as a copy of ``template`` when one is given."""
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path / "data",
        "storage_url": f"file://{tmp_path / 'storage'}",
        "log_level": "WARNING",
        "auto_migrate": True,
        "redis_prefix": f"vt{uuid.uuid4().hex[:10]}:",
    }
    if pg_database is not None:
        values["database_url"] = pg_url(pg_database)
        values["broker_url"] = redis_url()
        values["broker_queue"] = f"vetrai-test-{uuid.uuid4().hex[:10]}"
    else:
        database = tmp_path / "db.sqlite3"
        values["database_url"] = f"sqlite://{database}"
        if template is not None and "database_url" not in overrides and not database.exists():
            shutil.copyfile(template, database)
    values.update(overrides)
    return values


async def release_database() -> None:
    """Close Tortoise even after a failed start or migration, so the next test can init again.

    A failure half-way through leaves Tortoise's global fallback context set, and every later
    ``Tortoise.init(_enable_global_fallback=True)`` then fails: one broken test would fail all.
    """
    from tortoise import Tortoise, context

    try:
        if Tortoise._inited or getattr(context, "_global_context", None) is not None:
            await Tortoise.close_connections()
    except Exception:
        pass
    finally:
        if getattr(context, "_global_context", None) is not None:
            context._global_context = None


def free_port() -> int:
    """A loopback TCP port nothing listens on right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subprocess_env(settings: Settings, keep: str = "", **values: str) -> dict[str, str]:
    """The environment of a ``vetrai`` process (server, worker, CLI) a test starts on the test
    app's isolated database, storage, broker and Redis prefix: the parent's ``VETRAI_*`` variables
    are dropped (except those starting with ``keep``, when given) so nothing of the developer's own
    set-up leaks in; ``values`` (``VETRAI_PLUGINS="auth,keys"``, ...) are added last."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("VETRAI_") or (keep and name.startswith(keep))
    }
    env.update(
        VETRAI_ENV="test",
        VETRAI_DATA_DIR=str(settings.data_dir),
        VETRAI_STORAGE_URL=str(settings.storage_url),
        VETRAI_DATABASE_URL=settings.resolved_database_url,
        VETRAI_BROKER_URL=settings.broker_url,
        VETRAI_BROKER_QUEUE=settings.broker_queue,
        VETRAI_REDIS_URL=settings.resolved_redis_url or "",
        VETRAI_REDIS_PREFIX=settings.redis_prefix,
        VETRAI_AUTO_MIGRATE="false",
        VETRAI_LOG_LEVEL="WARNING",
    )
    env.update(values)
    return env
