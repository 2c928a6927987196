"""The ``vetrai`` command line; plugins add commands through the ``vetrai_cli`` hook."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from vetrai.core.config import Settings
from vetrai.core.errors import ConfigurationError, PluginError

T = TypeVar("T")


def run_async(function: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(function())  # type: ignore[arg-type]


async def with_database(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(platform)`` with the database initialised (no migration check)."""
    from vetrai.core.db import close_db, init_db
    from vetrai.core.platform import Platform

    platform = Platform.build(settings)
    await init_db(platform.db_config)
    try:
        return await work(platform)
    finally:
        await close_db()


@click.group()
@click.version_option(package_name="vetrai")
def cli() -> None:
    """VetrAI Platform: multi-tenant AI workflow server."""


@cli.command()
@click.option("--host", default=None, help="Bind address (default VETRAI_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default VETRAI_PORT, 8000).")
@click.option("--workers", type=int, default=None, help="Server processes (default VETRAI_WORKERS, 1).")
@click.option("--migrate/--no-migrate", default=None, help="Apply migrations before serving.")
def serve(host: str | None, port: int | None, workers: int | None, migrate: bool | None) -> None:
    """Serve the API with hypercorn."""
    from hypercorn.config import Config
    from hypercorn.run import run

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    if migrate if migrate is not None else settings.should_auto_migrate:
        _migrate(settings)
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.application_path = "vetrai.entrypoints.asgi:app"
    config.workers = 0 if workers <= 1 else workers
    config.accesslog = None
    config.graceful_timeout = 10
    click.echo(f"VetrAI serving on http://{host}:{port} (docs: http://{host}:{port}/docs)", err=True)
    sys.exit(run(config))


@cli.command()
@click.option("--concurrency", type=int, default=None, help="Tasks run at once per process.")
@click.option("--processes", type=int, default=1, show_default=True, help="Worker processes.")
def worker(concurrency: int | None, processes: int) -> None:
    """Run a taskiq worker for a Redis broker (VETRAI_BROKER_URL=redis://...)."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    settings = Settings()
    if settings.broker_url.startswith("memory://"):
        raise click.ClickException(
            "the in-memory broker runs tasks inside `vetrai serve`; set VETRAI_BROKER_URL=redis://..."
        )
    args = WorkerArgs(
        broker="vetrai.entrypoints.worker:broker",
        modules=[],
        workers=processes,
        max_async_tasks=concurrency or settings.worker_concurrency,
        configure_logging=False,
        shutdown_timeout=30,
    )
    sys.exit(run_worker(args) or 0)


def _migrate(settings: Settings) -> list[str]:
    from vetrai.core.db import apply_migrations

    applied = run_async(lambda: with_database(settings, lambda platform: apply_migrations(platform.db_config)))
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""), err=True)
    return applied


@cli.command()
def migrate() -> None:
    """Apply every enabled plugin's pending migrations."""
    _migrate(Settings())


@cli.command()
@click.argument("apps", nargs=-1)
@click.option("--check", is_flag=True, help="Exit 1 if models changed without a migration.")
def makemigrations(apps: tuple[str, ...], check: bool) -> None:
    """Write migrations for changed models (all apps, or the named ones)."""
    from vetrai.core.db import detect_changes

    async def work(platform: Any) -> list[str]:
        writers = await detect_changes(platform.db_config, list(apps) or None)
        if check:
            return [f"{writer.app_label}.{writer.name}" for writer in writers]
        return [str(writer.write()) for writer in writers]

    results = run_async(lambda: with_database(Settings(database_url="sqlite://:memory:"), work))
    if check and results:
        click.echo("models changed without a migration: " + ", ".join(results), err=True)
        sys.exit(1)
    click.echo("\n".join(results) if results else "no changes detected")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """List the enabled plugins, their versions and hooks."""
    from vetrai.core.plugins import describe, load_plugins

    described = describe(load_plugins(Settings()))
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for plugin in described:
        click.echo(f"{plugin['name']} {plugin['version']}: {', '.join(plugin['hooks'])}")


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table the README embeds.")
def show_settings(markdown: bool) -> None:
    """List every setting (core and enabled plugins) with its default."""
    from vetrai.core.config import describe_settings
    from vetrai.core.plugins import load_plugins

    loaded = load_plugins(Settings())
    models = [Settings, *(type(value) for value in loaded.settings.values())]
    if markdown:
        click.echo("| variable | default | meaning |\n|---|---|---|")
    for model in models:
        for env, default, description in describe_settings(model):
            if markdown:
                click.echo(f"| `{env}` | {f'`{default}`' if default else ''} | {description} |")
            else:
                click.echo(f"{env}={default}" + (f"  # {description}" if description else ""))


@cli.command()
def routes() -> None:
    """List every route with its methods."""
    from vetrai.core.app import create_app

    app = create_app()
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        click.echo(f"{methods:20} {rule.rule}  ({rule.endpoint})")


def main() -> None:
    """Entry point: plugins may add commands, so they are loaded before click parses."""
    from vetrai.core.plugins import load_plugins

    try:
        loaded = load_plugins(Settings())
        loaded.call_each("vetrai_cli", group=cli)
        cli(standalone_mode=True)
    except (PluginError, ConfigurationError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
