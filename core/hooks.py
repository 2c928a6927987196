"""The hook contract between the core and every plugin.

Plugins declare; the core acts. Every hook returns plain typed values (the dataclasses below)
that the core validates in one place (``vetrai.core.plugins``), so a conflict or a broken
return value is reported once, naming the plugin. pluggy is synchronous: a hook documented as
async is implemented with ``async def`` and the core awaits every result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from pydantic_settings import BaseSettings
    from quart import Blueprint, Quart, Request
    from taskiq import AsyncBroker

    from vetrai.core.auth import Principal
    from vetrai.core.events import DomainEvent
    from vetrai.core.platform import Platform

PROJECT = "vetrai"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


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


@dataclass(frozen=True)
class NotificationChannel:
    """A delivery channel; ``send`` raises ``TemporaryDeliveryError`` to ask for a retry."""

    name: str
    send: Callable[..., Awaitable[None]]
    description: str = ""


class TemporaryDeliveryError(Exception):
    """Raised by a ``NotificationChannel.send`` for a failure worth retrying (4xx SMTP, 5xx, timeouts)."""


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

    @hookspec
    def vetrai_authenticate(self, request: Request) -> Awaitable[Principal | None]:  # type: ignore[empty-body]
        """Async: turn the request's credentials into a Principal, or None if not yours."""

    @hookspec
    def vetrai_tasks(self, broker: AsyncBroker) -> None:
        """Register taskiq tasks on the shared broker (called once per process)."""

    @hookspec
    def vetrai_schedules(self) -> Sequence[Schedule]:  # type: ignore[empty-body]
        """Periodic tasks run by the scheduler of every worker-running process."""

    @hookspec
    def vetrai_startup(self, platform: Platform, app: Quart | None) -> Awaitable[None]:  # type: ignore[empty-body]
        """Async: acquire resources after the database is up; ``app`` is None in a worker."""

    @hookspec
    def vetrai_shutdown(self, platform: Platform, app: Quart | None) -> Awaitable[None]:  # type: ignore[empty-body]
        """Async: release what startup acquired; called in reverse dependency order."""

    @hookspec
    def vetrai_event(self, event: DomainEvent) -> Awaitable[None] | None:
        """React to a domain event; errors are logged and never reach the emitter."""

    @hookspec
    def vetrai_notification_channels(self) -> Sequence[NotificationChannel]:  # type: ignore[empty-body]
        """Delivery channels (email, in_app, webhook, ...) the notifications plugin may use."""

    @hookspec
    def vetrai_workflow_nodes(self) -> Sequence[WorkflowNode]:  # type: ignore[empty-body]
        """Node types usable by declarative workflow definitions."""

    @hookspec
    def vetrai_cli(self, group: click.Group) -> None:
        """Add subcommands to the ``vetrai`` command line."""

    @hookspec
    def vetrai_console_pages(self) -> Sequence[ConsolePage]:  # type: ignore[empty-body]
        """Pages and navigation entries this plugin adds to the web console (``/console``)."""
