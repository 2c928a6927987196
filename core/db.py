"""Tortoise set-up and the per-plugin migrations (Tortoise 1.x built-in migration engine).

One Tortoise app per plugin, each with its own migrations package, so a plugin installed from
PyPI ships its schema with it. Apps are migrated in plugin dependency order, and the core app
first, because a plugin's foreign keys point at core tables.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor

from vetrai.core.errors import PluginError
from vetrai.core.hooks import ModelSpec

log = logging.getLogger("vetrai.db")


def tortoise_config(database_url: str, models: Mapping[str, ModelSpec]) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": _connection_config(database_url)},
        "apps": {
            label: {
                "models": list(spec.modules),
                "default_connection": "default",
                **({"migrations": spec.migrations} if spec.migrations else {}),
            }
            for label, spec in models.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_config(database_url: str) -> dict[str, Any]:
    """Tortoise's reading of the URL, with asyncpg's pool told not to reset on release.

    asyncpg's default reset runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    every time a connection goes back to the pool: a round trip per query outside a
    transaction, over a quarter of the statements of a workflow run. Nothing here leaves
    session state behind through Tortoise (no advisory locks, cursors, LISTEN or SET; the
    checkpointer's advisory lock lives on its own psycopg connection), and asyncpg still rolls
    back a connection released inside a transaction before calling this reset.
    """
    config: dict[str, Any] = expand_db_url(database_url)
    if config["engine"] == "tortoise.backends.asyncpg":
        config["credentials"]["reset"] = _keep_session
    return config


async def _keep_session(connection: object) -> None:
    return None


async def init_db(config: dict[str, Any]) -> None:
    """Initialise Tortoise with the global fallback so hypercorn's request tasks see it."""
    await Tortoise.init(config=config, _enable_global_fallback=True)
    check_comments()


def check_comments() -> None:
    """Refuse model docstrings and field descriptions with a semicolon.

    Tortoise writes them into the schema as SQL comments, and its SQLite migrations split
    statements on ";", so one in a comment breaks ``migrate`` with a baffling syntax error.
    """
    for label, models in Tortoise.apps.items():
        for model in models.values():
            texts = [("docstring", model._meta.table_description or "")]
            texts += [(name, field.description or "") for name, field in model._meta.fields_map.items()]
            for where, text in texts:
                if ";" in text:
                    raise PluginError(
                        label, f"{model.__name__} {where} contains ';', which breaks SQLite migrations: {text!r}"
                    )


async def close_db() -> None:
    """Close every connection; with SQLite also wait for aiosqlite's connection threads.

    aiosqlite ends a connection's thread just after ``close()`` returns; waiting for it means
    a stopped platform leaves no thread behind (tests and the conformance kit check that).
    """
    threads = [
        thread
        for client in connections.all()
        if isinstance(thread := getattr(getattr(client, "_connection", None), "_thread", None), threading.Thread)
    ]
    await Tortoise.close_connections()
    for thread in threads:
        await asyncio.to_thread(thread.join, 5)


def _executor(config: dict[str, Any]) -> MigrationExecutor:
    return MigrationExecutor(connections.get("default"), config["apps"])


async def pending_migrations(config: dict[str, Any]) -> list[str]:
    """``app.name`` of every migration not applied yet (empty when the schema is current)."""
    steps = await _executor(config).plan()
    return [f"{step.migration.app_label}.{step.migration.name}" for step in steps if not step.backward]


async def apply_migrations(config: dict[str, Any]) -> list[str]:
    """Apply every pending migration; returns what was applied."""
    pending = await pending_migrations(config)
    if pending:
        await _executor(config).migrate()
        log.info("applied migrations", extra={"migrations": pending})
    return pending


async def detect_changes(config: dict[str, Any], app_labels: list[str] | None = None) -> list[Any]:
    """Migration writers for models that changed since their app's last migration."""
    # The detector sees every app, because a plugin's migrations depend on core's and auth's;
    # only the writers of the asked-for apps are returned.
    apps = {label: app for label, app in config["apps"].items() if app.get("migrations")}
    writers = await MigrationAutodetector(Tortoise.apps, apps).changes()
    return [writer for writer in writers if not app_labels or writer.app_label in app_labels]
