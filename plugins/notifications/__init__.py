"""Notification templates, channels, delivery queue and in-app inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import (
    BlueprintSpec,
    DomainEvent,
    ModelSpec,
    NotificationChannel,
    OutboxHandler,
    Permission,
    PluginInfo,
    Schedule,
    hookimpl,
    register_tasks,
)
from vetrai.core.permissions import ROLES

if TYPE_CHECKING:
    from taskiq import AsyncBroker

    from vetrai.core.platform import Platform
    from vetrai.plugins.notifications.settings import NotificationsSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="notifications",
        version=__version__,
        description="Notification templates, channels, delivery queue and in-app inbox.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[NotificationsSettings]:
    from vetrai.plugins.notifications.settings import NotificationsSettings

    return NotificationsSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("notifications", "vetrai.plugins.notifications")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.notifications import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/notifications", tags=["notifications"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission(
            "notifications:read",
            "Read your notifications, stream them, read your preferences (admins: templates)",
            roles=ROLES,
        ),
        Permission(
            "notifications:write",
            "Mark notifications read and set your preferences; org admins also send notifications and manage templates",
            roles=ROLES,
        ),
    ]


@hookimpl
def vetrai_notification_channels() -> list[NotificationChannel]:
    from vetrai.plugins.notifications import channels

    return list(channels.BUILTIN_CHANNELS)


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.plugins.notifications import tasks

    register_tasks(broker, tasks.TASKS)


@hookimpl
def vetrai_outbox_handlers(settings: NotificationsSettings | None) -> list[OutboxHandler]:
    from vetrai.plugins.notifications import delivery, listeners

    return [*delivery.outbox_handlers(settings), *listeners.outbox_handlers()]


@hookimpl
def vetrai_schedules(platform: Platform) -> list[Schedule]:
    from vetrai.plugins.notifications import tasks

    return tasks.schedules(platform)


@hookimpl
async def vetrai_startup(platform: Platform, app: object) -> None:
    from vetrai.plugins.notifications import service

    rt = platform.fill(service.RUNTIME, service.build_runtime(platform))
    await service.seed_default_templates()
    if app is not None and platform.redis is not None:
        platform.spawn(rt.hub.listen())


@hookimpl
async def vetrai_event(event: DomainEvent) -> None:
    from vetrai.core.platform import current_platform
    from vetrai.plugins.notifications import listeners, service

    try:
        platform = current_platform()
    except RuntimeError:
        return
    if platform.find(service.RUNTIME) is not None:
        await listeners.handle_event(event)


@hookimpl
async def vetrai_purge_organization(organization_id: Any) -> None:
    from vetrai.plugins.notifications import retention

    await retention.purge_organization(organization_id)


@hookimpl
async def vetrai_purge_expired(organization_id: Any, before: Any) -> int:
    from vetrai.plugins.notifications import retention

    return await retention.purge_expired(organization_id, before)
