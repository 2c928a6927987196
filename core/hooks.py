"""The hook contract between the core and every plugin, and the types they exchange.

Plugins declare; the core acts. Every hook returns plain typed values (the dataclasses below)
that the core validates in one place (``vetrai.core.plugins``), so a conflict or a broken
return value is reported once, naming the plugin. pluggy is synchronous: a hook documented as
async is implemented with ``async def`` and the core awaits every result.

This module is the bottom layer: it imports nothing of vetrai, so every other module (and
every plugin) can depend on it without a circle. The running platform is described here by a
Protocol that ``vetrai.core.platform.Platform`` satisfies.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import pluggy

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    import click
    from pydantic_settings import BaseSettings
    from quart import Blueprint, Quart, Request
    from taskiq import AsyncBroker

PROJECT = "vetrai"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

SUPER_ADMIN = "super_admin"
ORG_ADMIN = "org_admin"
USER = "user"
SUPPORT_AGENT = "support_agent"
BILLING_ADMIN = "billing_admin"
ROLES: tuple[str, ...] = (SUPER_ADMIN, ORG_ADMIN, USER, SUPPORT_AGENT, BILLING_ADMIN)
ADMIN_ROLES = frozenset({SUPER_ADMIN, ORG_ADMIN})

_S = TypeVar("_S")


class HookPlatform(Protocol):
    """What lifecycle and schedule hooks receive: the running ``vetrai.core.platform.Platform``."""

    @property
    def runs_tasks(self) -> bool: ...

    def plugin_settings(self, name: str, expected: type[_S]) -> _S: ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user, or an API key acting for its creator."""

    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    role: str
    scopes: frozenset[str]
    kind: Literal["user", "api_key", "system"] = "user"
    credential_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_super_admin(self) -> bool:
        return self.role == SUPER_ADMIN

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.role == SUPER_ADMIN or self.role in roles

    def can(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened in a plugin, for ``vetrai_event`` listeners (``<plugin>.<what>``)."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    organization_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class PluginInfo:
    """Who a plugin is; ``requires`` names plugins that must be enabled alongside it."""

    name: str
    version: str
    description: str = ""
    requires: Sequence[str] = ()


@dataclass(frozen=True)
class ModelSpec:
    """One Tortoise app: its label (the plugin name), model modules and migrations package."""

    app_label: str
    modules: Sequence[str]
    migrations: str | None = None

    @classmethod
    def of(cls, app_label: str, package: str) -> ModelSpec:
        """The usual layout: models in ``<package>.models``, migrations in ``<package>.migrations``."""
        return cls(app_label=app_label, modules=[f"{package}.models"], migrations=f"{package}.migrations")


@dataclass(frozen=True)
class BlueprintSpec:
    """A Quart blueprint mounted at ``url_prefix``; ``public`` routes need no credentials."""

    blueprint: Blueprint
    url_prefix: str = ""
    tags: Sequence[str] = ()
    public: bool = False


@dataclass(frozen=True)
class Permission:
    """A scope such as ``support:write`` and the roles that hold it by default."""

    name: str
    description: str
    roles: Sequence[str] = ()


@dataclass(frozen=True)
class Schedule:
    """A periodic task: ``task_name`` is a registered taskiq task, run every ``seconds``."""

    task_name: str
    seconds: float


def register_tasks(broker: AsyncBroker, tasks: Mapping[str, Any]) -> None:
    """What a ``vetrai_tasks`` implementation does with its ``tasks.TASKS`` (task name -> function):
    the names are the plugin's own (``<plugin>.<what>``), so schedules and callers can name them."""
    for name, task in tasks.items():
        broker.register_task(task, task_name=name)


@dataclass(frozen=True)
class NotificationChannel:
    """A delivery channel; ``send`` raises ``TemporaryDeliveryError`` to ask for a retry."""

    name: str
    send: Callable[..., Awaitable[None]]
    description: str = ""


class TemporaryDeliveryError(Exception):
    """A failure worth retrying (4xx SMTP, 5xx, timeouts), from a channel or an outbox handler.

    ``retry_after`` (seconds) overrides the handler's backoff for the next attempt.
    """

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class DeliveryError(Exception):
    """A permanent failure: no retry; the message is recorded (a refused address, a 4xx answer)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base_seconds * 2^(attempt-1)``, capped, with ±10% jitter."""

    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempts: int) -> float:
        delay: float = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return delay * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class OutboxHandler:
    """Runs the outbox messages of one ``kind`` (``<plugin>.<action>``) after their transaction committed.

    ``handler(message)`` is async and must be idempotent on ``message.key``: delivery is at
    least once. It raises ``TemporaryDeliveryError`` (or any unexpected exception) to retry
    with ``backoff`` up to ``max_attempts``, ``DeliveryError`` to fail at once.
    """

    kind: str
    handler: Callable[[Any], Awaitable[None]]
    max_attempts: int = 5
    backoff: Backoff = Backoff()
    lease_seconds: float = 300.0
    erase_payload: bool = False
    """Empty the payload once the message is delivered or failed (it may carry credentials)."""


@dataclass(frozen=True)
class WorkflowNode:
    """A node type for declarative workflows: a name and an async ``state -> update`` callable."""

    name: str
    run: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    description: str = ""


@dataclass(frozen=True)
class ConsolePage:
    """An entry of the web console's navigation (``/console``), shown to ``roles`` (empty: everyone).

    ``url`` links to a page the plugin serves itself; ``render`` (async, ``principal -> HTML``)
    is a page the console serves at ``/console/x/<name>`` inside its layout, behind its session.
    Exactly one of the two is set.
    """

    name: str
    title: str
    url: str | None = None
    render: Callable[[Principal], Awaitable[str]] | None = None
    roles: Sequence[str] = ()
    order: int = 100


class VetraiSpecs:
    """The hook specifications. Each has one docstring; docs/plugins.md documents each one."""

    @hookspec
    def vetrai_plugin_info(self) -> PluginInfo:  # type: ignore[empty-body]
        """Name, version, description and required plugins; every plugin must implement it."""

    @hookspec
    def vetrai_settings(self) -> type[BaseSettings] | None:
        """The pydantic-settings class (env prefix ``VETRAI_<PLUGIN>_``) this plugin reads."""

    @hookspec
    def vetrai_models(self) -> ModelSpec | None:
        """The Tortoise app (label, model modules, migrations package) this plugin owns."""

    @hookspec
    def vetrai_blueprints(self) -> Sequence[BlueprintSpec]:  # type: ignore[empty-body]
        """Blueprints to mount; prefixes must not collide with another plugin's."""

    @hookspec
    def vetrai_permissions(self) -> Sequence[Permission]:  # type: ignore[empty-body]
        """Scopes this plugin defines and the roles that hold each of them."""

    @hookspec(firstresult=True)
    def vetrai_authenticate(self, request: Request) -> Awaitable[Principal | None]:  # type: ignore[empty-body]
        """Async, first result: turn the request's credentials into a Principal, or None if not yours."""

    @hookspec
    def vetrai_tasks(self, broker: AsyncBroker) -> None:
        """Register taskiq tasks on the shared broker (called once per process)."""

    @hookspec
    def vetrai_schedules(self, platform: HookPlatform) -> Sequence[Schedule]:  # type: ignore[empty-body]
        """Periodic tasks run by the scheduler of every worker-running process; periods from settings."""

    @hookspec
    def vetrai_startup(self, platform: HookPlatform, app: Quart | None) -> Awaitable[None]:  # type: ignore[empty-body]
        """Async: acquire resources after the database is up; ``app`` is None in a worker."""

    @hookspec
    def vetrai_shutdown(self, platform: HookPlatform, app: Quart | None) -> Awaitable[None]:  # type: ignore[empty-body]
        """Async: release what startup acquired; called in reverse dependency order."""

    @hookspec
    def vetrai_event(self, event: DomainEvent) -> Awaitable[None] | None:
        """React to a domain event; errors are logged and never reach the emitter."""

    @hookspec
    def vetrai_notification_channels(self) -> Sequence[NotificationChannel]:  # type: ignore[empty-body]
        """Delivery channels (email, in_app, webhook, ...) the notifications plugin may use."""

    @hookspec
    def vetrai_workflow_nodes(self) -> Sequence[WorkflowNode]:  # type: ignore[empty-body]
        """Named nodes graphs use through ``vetrai.engine.nodes.node(name)``, without importing the plugin."""

    @hookspec
    def vetrai_cli(self, group: click.Group) -> None:
        """Add subcommands to the ``vetrai`` command line."""

    @hookspec
    def vetrai_outbox_handlers(self, settings: BaseSettings | None) -> Sequence[OutboxHandler]:  # type: ignore[empty-body]
        """Handlers of outbox message kinds; ``settings`` is this plugin's own settings object."""

    @hookspec
    def vetrai_purge_organization(self, platform: HookPlatform, organization_id: uuid.UUID) -> Awaitable[None]:  # type: ignore[empty-body]
        """Async: erase every row and stored file of one organization that this plugin owns."""

    @hookspec
    def vetrai_purge_expired(  # type: ignore[empty-body]
        self, platform: HookPlatform, organization_id: uuid.UUID, before: datetime
    ) -> Awaitable[int]:
        """Async: delete this plugin's finished data of one organization older than ``before``."""

    @hookspec
    def vetrai_storage_used(self, platform: HookPlatform, organization_id: uuid.UUID) -> Awaitable[int]:  # type: ignore[empty-body]
        """Async: bytes this plugin stores for one organization (files, checkpoints, events), which
        count toward its plan's ``max_storage_bytes``."""

    @hookspec
    def vetrai_metrics(self, metrics: Any) -> None:
        """Register Prometheus metrics and scrape-time collectors on the platform's registry."""

    @hookspec
    def vetrai_console_pages(self) -> Sequence[ConsolePage]:  # type: ignore[empty-body]
        """Pages and navigation entries this plugin adds to the web console (``/console``)."""
