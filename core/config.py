"""Platform settings: ``VETRAI_*`` environment variables, a ``.env`` file, then defaults.

The embedded defaults need no configuration at all (SQLite, in-memory broker, filesystem
storage under ``VETRAI_DATA_DIR``). Secrets that are not set are generated once and kept in
the data dir, so a restart keeps sessions valid and no secret is ever hard-coded; with
``VETRAI_ENV=production`` a missing secret is a start-up error instead.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vetrai.core.errors import ConfigurationError
from vetrai.core.security import load_or_create_secret


@dataclass(frozen=True)
class Secret:
    """Marks a secret setting (``Annotated[str | None, Secret(...)]``).

    ``vetrai settings`` masks it; with ``production=True`` ``vetrai check`` and start-up refuse
    ``VETRAI_ENV=production`` without it, and ``vetrai secrets generate`` writes a fresh value
    made by ``generate`` (default: 32 random bytes, URL-safe). ``check`` returns what is wrong
    with a configured value (None when it is usable), so ``vetrai check`` reports it by name.
    """

    production: bool = False
    generate: Callable[[], str] | None = None
    check: Callable[[str], str | None] | None = None


def _split_names(value: object) -> list[str] | None:
    if value is None or isinstance(value, list):
        return value
    names = [part.strip() for part in str(value).split(",")]
    return [name for name in names if name]


class Settings(BaseSettings):
    """Every core setting; plugins add their own through the ``vetrai_settings`` hook."""

    model_config = SettingsConfigDict(env_prefix="VETRAI_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = Field(
        "development", description="production refuses to start without configured secrets."
    )
    data_dir: Path = Field(
        Path(".vetrai"),
        description="Embedded database, storage, outbox and generated secrets; a relative path is looked up from the "
        "working directory upwards.",
    )
    host: str = Field("127.0.0.1", description="Address `vetrai serve` binds to.")
    port: int = Field(8000, description="Port `vetrai serve` listens on.")
    workers: int = Field(1, description="Server processes started by `vetrai serve`.")
    public_url: str | None = Field(
        None, description="Base URL users reach the server at (links in emails); default http://HOST:PORT."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] | None = Field(
        None,
        description="text (one coloured line per event) or json (one object per line); default json in production.",
    )
    database_url: str | None = Field(
        None, description="sqlite://path or postgres://user:pass@host:5432/db; default SQLite in the data dir."
    )
    broker_url: str = Field("memory://", description="memory:// (tasks run in the server) or redis://host:6379/0.")
    broker_queue: str = Field("vetrai", description="Redis stream name of the task queue.")
    worker_concurrency: int = Field(200, description="Tasks one process runs at once.")
    redis_url: str | None = Field(
        None, description="Redis for rate limits, pub/sub and caches; default the broker URL when it is redis://."
    )
    redis_prefix: str = Field("vetrai:", description="Prefix of every Redis key and channel.")
    storage_url: str | None = Field(
        None, description="file:///path or s3://bucket?endpoint_url=...&create_bucket=true; default the data dir."
    )
    secret_key: Annotated[str | None, Secret(production=True)] = Field(
        None, description="Server secret; generated into the data dir when unset (not in production)."
    )
    plugins: Annotated[list[str] | None, NoDecode] = Field(
        None, description="Comma-separated allow-list of plugins; unset = every installed plugin."
    )
    disable_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated block-list of plugins."
    )
    auto_migrate: bool | None = Field(
        None, description="Migrate on start; default true for the embedded SQLite database."
    )
    max_request_bytes: int = Field(16 * 1024 * 1024, description="Largest request body accepted (413 above).")
    trusted_proxies: int = Field(0, description="How many X-Forwarded-For hops to trust for the client IP.")
    metrics_token: Annotated[str | None, Secret(generate=lambda: secrets.token_urlsafe(32))] = Field(
        None,
        description="Bearer token a Prometheus scraper must send to GET /metrics (bearer_token in the scrape config).",
    )
    metrics_public: bool = Field(
        False, description="Serve GET /metrics without a token (only behind a network that keeps it private)."
    )
    otel_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint (http://collector:4318/v1/traces); unset = no tracing.",
    )
    otel_service_name: str = Field("vetrai", description="service.name of the exported traces.")
    rate_limit_fail_open: bool = Field(
        True,
        description="When Redis is unreachable, rate limits and login lockouts let requests through (logged) instead "
        "of answering 503.",
    )

    _split_plugins = field_validator("plugins", "disable_plugins", mode="before")(_split_names)
    _find_data_dir = field_validator("data_dir", mode="after")(lambda value: find_data_dir(value))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'vetrai.sqlite3').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_redis_url(self) -> str | None:
        if self.redis_url:
            return self.redis_url
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'storage').resolve().as_posix()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    def secret(self, name: str, configured: str | None, nbytes: int = 32) -> str:
        """A configured secret, or one generated once into the data dir outside production."""
        if configured:
            return configured
        if self.env == "production":
            raise ConfigurationError(
                f"VETRAI_ENV=production requires VETRAI_{name.upper()} (`vetrai secrets generate` prints every secret)"
            )
        return load_or_create_secret(self.data_dir, name, nbytes)

    @property
    def resolved_secret_key(self) -> str:
        return self.secret("secret_key", self.secret_key)


class PluginSettings(BaseSettings):
    """Base of every plugin's settings: ``class HelloSettings(PluginSettings, plugin="hello")``.

    The plugin name gives the environment prefix (``VETRAI_HELLO_``, dashes become
    underscores), and every field must carry ``Field(description=...)``: ``vetrai settings``
    and the README's table are generated from them, so an undescribed setting is a class
    that cannot be defined.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    plugin: ClassVar[str] = ""

    def __init_subclass__(cls, *, plugin: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if plugin is not None:
            cls.plugin = plugin

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.plugin:
            raise TypeError(f"{cls.__name__} must name its plugin: class {cls.__name__}(PluginSettings, plugin=...)")
        cls.model_config["env_prefix"] = f"VETRAI_{cls.plugin.upper().replace('-', '_')}_"
        undescribed = [name for name, field in cls.model_fields.items() if not (field.description or "").strip()]
        if undescribed:
            raise TypeError(f"{cls.__name__}: describe every setting with Field(description=...): {undescribed}")


def describe_settings(model: type[BaseSettings]) -> list[tuple[str, str, str]]:
    """(environment variable, default, description) of every field, for docs and ``vetrai settings``."""
    prefix = str(model.model_config.get("env_prefix", ""))
    rows = []
    for name, field in model.model_fields.items():
        value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        default = ",".join(value) if isinstance(value, list) else "" if value is None else str(value)
        rows.append((f"{prefix}{name}".upper(), default, field.description or ""))
    return rows


def find_data_dir(path: Path, start: Path | None = None) -> Path:
    """An absolute data dir: a relative one is looked up from ``start`` (the working directory)
    upwards, like git finds ``.git``, so ``vetrai`` run from a subfolder of the project uses the
    server's data (``make run`` creates ``./.vetrai`` at the project root); if no folder up the
    tree has it, it is created under ``start``."""
    if path.is_absolute():
        return path
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / path).is_dir():
            return folder / path
    return start / path


def env_name(model: type[BaseSettings], name: str) -> str:
    """The environment variable a field is read from (its first alias, else prefix + name)."""
    field = model.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0].upper()
    if isinstance(alias, str):
        return alias.upper()
    return f"{model.model_config.get('env_prefix', '')}{name}".upper()


def secret_marker(field: FieldInfo) -> Secret | None:
    return next((item for item in field.metadata if isinstance(item, Secret)), None)


_SECRET_NAME = re.compile(r"(secret|password|private|api_key|token$)")


def is_secret(name: str, field: FieldInfo) -> bool:
    """Marked ``Secret``, or named like one (passwords, API keys, signing secrets)."""
    return secret_marker(field) is not None or bool(_SECRET_NAME.search(name))


def mask_url(value: str) -> str:
    """A URL with its password replaced by ``***`` (database and Redis URLs carry credentials)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.password is None:
        return value
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _display(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def effective_settings(instance: BaseSettings) -> list[dict[str, Any]]:
    """Every field's variable, effective value (secrets masked, URL passwords hidden), default
    and description: what ``vetrai settings`` shows."""
    model = type(instance)
    rows = []
    for name, field in model.model_fields.items():
        value = getattr(instance, name)
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        shown = _display(value)
        if shown and is_secret(name, field):
            shown = "********"
        elif name.endswith("_url") and shown:
            shown = mask_url(shown)
        rows.append(
            {
                "variable": env_name(model, name),
                "value": shown,
                "default": _display(default),
                "secret": is_secret(name, field),
                "description": field.description or "",
            }
        )
    return rows
