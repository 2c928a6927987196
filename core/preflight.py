"""Start-up checks: every problem of a deployment at once, each named by its environment variable.

``vetrai check`` runs them; ``vetrai serve`` and ``vetrai worker`` run them before starting, so a
misconfigured deployment stops once with the whole list instead of failing on the first missing
secret deep inside a worker process (and again on the next start, for the next one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from vetrai.core.config import Settings, env_name, mask_url, secret_marker

CONNECT_TIMEOUT = 5.0
URL_SCHEMES = {
    "database_url": {"sqlite", "postgres", "postgresql", "asyncpg", "psycopg"},
    "broker_url": {"memory", "redis", "rediss"},
    "redis_url": {"redis", "rediss"},
    "storage_url": {"file", "s3"},
    "public_url": {"http", "https"},
}
LOCAL_SCHEMES = {"sqlite", "file", "memory"}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: ``variable`` is the environment variable (or what to run) it is about."""

    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


def _validation_problems(model: type[BaseSettings], error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        field = next(
            (key for key in model.model_fields if key == name or env_name(model, key).lower() == name.lower()), None
        )
        variable = env_name(model, field) if field else name.upper()
        problems.append(Problem(variable, f"{item['msg']} (got {item.get('input')!r})"))
    return problems


def _invalid_fields(model: type[BaseSettings], problems: Iterable[Problem]) -> dict[str, Any]:
    bad = {problem.variable for problem in problems}
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
        if env_name(model, name) in bad
    }


def load_settings(model: type[BaseSettings] = Settings) -> tuple[Any, list[Problem]]:
    """The settings, and what is wrong with them; invalid values are replaced by their defaults,
    so the rest can still be checked."""
    try:
        return model(), []
    except ValidationError as exc:
        problems = _validation_problems(model, exc)
        return model(**_invalid_fields(model, problems)), problems


def plugin_settings_models(settings: Settings) -> list[tuple[str, type[BaseSettings]]]:
    """The settings class of every enabled plugin (without instantiating any)."""
    from vetrai.core.plugins import _discover

    models = []
    for name, plugin in _discover(settings):
        hook = getattr(plugin, "vetrai_settings", None)
        model = hook() if hook is not None else None
        if model is not None:
            models.append((name, model))
    return models


def _url_problems(model: type[BaseSettings], instance: BaseSettings) -> list[Problem]:
    problems = []
    for name in model.model_fields:
        value = getattr(instance, name)
        if not name.endswith("_url") or not isinstance(value, str) or not value:
            continue
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            problems.append(Problem(env_name(model, name), f"not a URL ({exc}): {mask_url(value)}"))
            continue
        allowed = URL_SCHEMES.get(name, {"http", "https"})
        if parts.scheme not in allowed:
            expected = ", ".join(f"{scheme}://" for scheme in sorted(allowed))
            problems.append(Problem(env_name(model, name), f"expected {expected}, got {mask_url(value)!r}"))
        elif parts.scheme not in LOCAL_SCHEMES and not (parts.hostname or parts.scheme == "s3" and parts.netloc):
            problems.append(Problem(env_name(model, name), f"has no host: {mask_url(value)!r}"))
    return problems


def _secret_problems(model: type[BaseSettings], instance: BaseSettings) -> list[Problem]:
    problems = []
    for name, field in model.model_fields.items():
        marker = secret_marker(field)
        if marker is not None and marker.production and not getattr(instance, name):
            problems.append(
                Problem(env_name(model, name), "required with VETRAI_ENV=production (`vetrai secrets generate`)")
            )
    return problems


def _secret_value_problems(model: type[BaseSettings], instance: BaseSettings) -> list[Problem]:
    problems = []
    for name, field in model.model_fields.items():
        marker = secret_marker(field)
        value = getattr(instance, name)
        if marker is not None and marker.check is not None and value:
            wrong = marker.check(value)
            if wrong:
                problems.append(Problem(env_name(model, name), wrong))
    return problems


def settings_problems() -> tuple[Settings, dict[str, BaseSettings], list[Problem]]:
    """Core and every enabled plugin's settings: values that do not parse, malformed URLs, and
    (in production) missing secrets. Returns the usable settings too."""
    settings, problems = load_settings(Settings)
    instances: dict[str, BaseSettings] = {"core": settings}
    for name, model in plugin_settings_models(settings):
        instance, found = load_settings(model)
        instances[name] = instance
        problems += found
    for instance in instances.values():
        problems += _url_problems(type(instance), instance)
        problems += _secret_value_problems(type(instance), instance)
        if settings.env == "production":
            problems += _secret_problems(type(instance), instance)
    return settings, instances, _unique(problems)


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


async def _within(awaitable: Any, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, CONNECT_TIMEOUT)
    except TimeoutError:
        raise OSError(f"no answer from {what} within {CONNECT_TIMEOUT:g} s") from None


async def _ping_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
    try:
        await _within(client.ping(), "Redis")
    finally:
        await client.aclose()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def database_problems(settings: Settings, models: dict[str, Any], *, will_migrate: bool) -> list[Problem]:
    """The database answers and (unless it is about to be migrated) its schema is current."""
    from vetrai.core.db import close_db, init_db, pending_migrations, tortoise_config

    url = settings.resolved_database_url
    try:
        await _within(init_db(tortoise_config(url, models)), "the database")
        from tortoise import connections

        await _within(connections.get("default").execute_query("SELECT 1"), "the database")
    except Exception as exc:
        await close_db()
        return [Problem("VETRAI_DATABASE_URL", f"cannot connect to {mask_url(url)}: {_reason(exc)}")]
    try:
        pending = [] if will_migrate else await pending_migrations(tortoise_config(url, models))
    finally:
        await close_db()
    if pending:
        return [
            Problem(
                "VETRAI_DATABASE_URL",
                f"{len(pending)} migration(s) not applied ({', '.join(pending)}): run `vetrai migrate`",
            )
        ]
    return []


async def unmigrated_models(models: dict[str, Any]) -> list[str]:
    """``app.migration`` names ``vetrai makemigrations`` would write: models ahead of migrations."""
    from vetrai.core.db import close_db, detect_changes, init_db, tortoise_config

    config = tortoise_config("sqlite://:memory:", models)
    await init_db(config)
    try:
        return [f"{writer.app_label}.{writer.name}" for writer in await detect_changes(config)]
    finally:
        await close_db()


async def service_problems(settings: Settings, models: dict[str, Any], *, will_migrate: bool) -> list[Problem]:
    """Database, Redis and broker reachable, migrations applied."""
    problems = await database_problems(settings, models, will_migrate=will_migrate)
    urls = {"VETRAI_REDIS_URL": settings.redis_url}
    if settings.broker_url.startswith(("redis://", "rediss://")):
        urls["VETRAI_BROKER_URL"] = settings.broker_url
    for variable, url in urls.items():
        if not url:
            continue
        try:
            await _ping_redis(url)
        except Exception as exc:
            problems.append(Problem(variable, f"cannot connect to {mask_url(url)}: {_reason(exc)}"))
    return problems


@dataclass
class Report:
    """What ``check``/``serve``/``worker`` print: problems stop start-up, warnings do not."""

    problems: list[Problem]
    warnings: list[Problem]


async def run_checks(*, will_migrate: bool = False) -> Report:
    """Every check, in the order an operator fixes things: settings, then the services."""
    from vetrai.core.errors import PluginError
    from vetrai.core.plugins import load_plugins

    settings, _instances, problems = settings_problems()
    warnings: list[Problem] = []
    try:
        loaded = load_plugins(settings)
    except (PluginError, ValidationError) as exc:
        return Report(problems or [Problem("VETRAI_PLUGINS", str(exc))], warnings)
    if any(problem.variable == "VETRAI_DATABASE_URL" for problem in problems):
        return Report(problems, warnings)
    problems += await service_problems(settings, loaded.models, will_migrate=will_migrate)
    try:
        ahead = await unmigrated_models(loaded.models)
    except Exception as exc:
        ahead = [f"(cannot compare models and migrations: {_reason(exc)})"]
    if ahead:
        drift = Problem(
            "vetrai makemigrations",
            f"models changed without a migration ({', '.join(ahead)}): the tables will not match the code",
        )
        (problems if settings.env == "production" else warnings).append(drift)
    return Report(problems, warnings)
