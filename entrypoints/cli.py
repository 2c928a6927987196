"""The ``vetrai`` command line; plugins add commands through the ``vetrai_cli`` hook."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from vetrai.core.config import Settings
from vetrai.core.errors import ConfigurationError, PluginError
from vetrai.core.preflight import Report
from vetrai.entrypoints.scaffold import startplugin, startworkflow

T = TypeVar("T")
WORKER_MAX_RESTARTS = 20
"""Worker processes restarted (after a crash) before ``vetrai worker`` gives up and exits 1."""


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


def _report(report: Report, what: str) -> None:
    """Print warnings loudly, and every problem once; exit 1 if there is any."""
    for warning in report.warnings:
        click.secho(f"WARNING {warning}", fg="yellow", bold=True, err=True)
    if report.problems:
        click.secho(f"{what}: {len(report.problems)} problem(s) to fix", fg="red", bold=True, err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)


def _preflight(what: str, *, will_migrate: bool = False) -> None:
    from vetrai.core.preflight import run_checks

    _report(run_async(lambda: run_checks(will_migrate=will_migrate)), what)


def _announce_when_ready(url: str, probe: str) -> None:
    """One ready line with the URLs, once the server answers (whatever its process count)."""
    import threading
    import urllib.request

    def wait() -> None:
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        click.secho(f"VetrAI ready: {url}  (API docs {url}/docs, ReDoc {url}/redoc)", fg="green", err=True)

    threading.Thread(target=wait, name="vetrai-ready", daemon=True).start()


@cli.command()
@click.option("--host", default=None, help="Bind address (default VETRAI_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default VETRAI_PORT, 8000).")
@click.option("--workers", type=int, default=None, help="Server processes (default VETRAI_WORKERS, 1).")
@click.option("--migrate/--no-migrate", default=None, help="Apply migrations before serving.")
def serve(host: str | None, port: int | None, workers: int | None, migrate: bool | None) -> None:
    """Serve the API with hypercorn (after the checks of `vetrai check`)."""
    from hypercorn.config import Config
    from hypercorn.run import run

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    will_migrate = migrate if migrate is not None else settings.should_auto_migrate
    _preflight("vetrai serve cannot start", will_migrate=will_migrate)
    _data_dir_note(settings)
    if will_migrate:
        _migrate(settings)
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.application_path = "vetrai.entrypoints.asgi:app"
    config.workers = 0 if workers <= 1 else workers
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # our handler and format, not a second one
    config.graceful_timeout = 10
    local = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    _announce_when_ready(f"http://{local}:{port}", f"http://{local}:{port}/health")
    try:
        sys.exit(run(config))
    except Exception as exc:  # a plugin's startup failed inside hypercorn: one line, not two tracebacks
        cause = exc.__cause__ or exc.__context__ or exc
        click.secho(f"vetrai serve stopped: {cause}", fg="red", err=True)
        sys.exit(1)


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
    _preflight("vetrai worker cannot start", will_migrate=settings.should_auto_migrate)
    args = WorkerArgs(
        broker="vetrai.entrypoints.worker:broker",
        modules=[],
        workers=processes,
        max_async_tasks=concurrency or settings.worker_concurrency,
        configure_logging=False,
        shutdown_timeout=30,
        max_fails=WORKER_MAX_RESTARTS,
    )
    sys.exit(run_worker(args) or 0)


@cli.command()
def check() -> None:
    """Check every setting of every enabled plugin, the database, Redis and migrations; exit 1 on any problem."""
    settings = Settings()
    _data_dir_note(settings)
    _preflight("vetrai check", will_migrate=settings.should_auto_migrate)
    click.secho(f"ready to serve ({settings.env}): no problems found", fg="green", err=True)


@cli.group()
def secrets() -> None:
    """Secrets for a production deployment."""


@secrets.command("generate")
def generate_secrets() -> None:
    """Print a production .env: VETRAI_ENV=production and a fresh value of every required secret
    (and of the optional ones the platform can make, such as the metrics scrape token)."""
    import secrets as random
    from datetime import UTC, datetime

    from vetrai.core.config import env_name, secret_marker
    from vetrai.core.preflight import plugin_settings_models

    settings = Settings()
    lines = [
        f"# VetrAI production settings, generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `vetrai secrets generate`.",
        "# Keep this file private (chmod 600). Add the database, broker and storage URLs, then run `vetrai check`.",
        "VETRAI_ENV=production",
    ]
    for _plugin, model in [("core", Settings), *plugin_settings_models(settings)]:
        for name, field in model.model_fields.items():
            marker = secret_marker(field)
            if marker is None or not (marker.production or marker.generate):
                continue
            value = marker.generate() if marker.generate else random.token_urlsafe(32)
            lines.append(f"{env_name(model, name)}='{value}'")
    click.echo("\n".join(lines))


def _data_dir_note(settings: Settings) -> None:
    if settings.is_sqlite or not settings.storage_url:
        click.echo(f"data dir: {settings.data_dir}", err=True)


def _migrate(settings: Settings) -> list[str]:
    from vetrai.core.db import apply_migrations

    applied = run_async(lambda: with_database(settings, lambda platform: apply_migrations(platform.db_config)))
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""), err=True)
    return applied


@cli.command()
def migrate() -> None:
    """Apply every enabled plugin's pending migrations."""
    settings = Settings()
    _data_dir_note(settings)
    _migrate(settings)


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
@click.option("--markdown", is_flag=True, help="Print the defaults as the table the README embeds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: variable, value, default, secret, description.")
def show_settings(markdown: bool, as_json: bool) -> None:
    """Every setting (core and enabled plugins) with its effective value; secrets masked."""
    from vetrai.core.config import describe_settings, effective_settings
    from vetrai.core.plugins import load_plugins

    settings = Settings()
    loaded = load_plugins(settings)
    instances = [settings, *loaded.settings.values()]
    if markdown:
        click.echo("| variable | default | meaning |\n|---|---|---|")
        for instance in instances:
            for env, default, description in describe_settings(type(instance)):
                click.echo(f"| `{env}` | {f'`{default}`' if default else ''} | {description} |")
        return
    rows = [row for instance in instances for row in effective_settings(instance)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        changed = "" if row["value"] == row["default"] or row["secret"] else f"  (default {row['default'] or 'unset'})"
        note = f"  # {row['description']}" if row["description"] else ""
        click.echo(f"{row['variable']}={row['value']}{changed}{note}")


@cli.command()
def routes() -> None:
    """List every route with its methods."""
    from vetrai.core.app import create_app

    app = create_app()
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        click.echo(f"{methods:20} {rule.rule}  ({rule.endpoint})")


cli.add_command(startplugin)
cli.add_command(startworkflow)


def main() -> None:
    """Entry point: plugins may add commands, so they are loaded before click parses."""
    from pydantic import ValidationError

    from vetrai.core.plugins import load_plugins

    try:
        loaded = load_plugins(Settings(), app=False)
        loaded.call_each("vetrai_cli", group=cli)
        cli(standalone_mode=True)
    except ValidationError:
        from vetrai.core.preflight import settings_problems

        problems = settings_problems()[2]
        click.secho(f"vetrai: {len(problems)} setting(s) to fix", fg="red", bold=True, err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    except (PluginError, ConfigurationError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
