"""Relay: forwards domain events to your own notification service (hook implementations only).

A replacement for the built-in ``notifications`` plugin: run with
``VETRAI_DISABLE_PLUGINS=notifications`` and the events it turned into emails and inbox items
go, signed, to ``VETRAI_RELAY_URL`` instead. See README.md.
"""

from __future__ import annotations

from typing import Any

from vetrai.core.hooks import BlueprintSpec, ModelSpec, OutboxHandler, Permission, PluginInfo, Schedule, hookimpl
from vetrai.core.permissions import ORG_ADMIN

__version__ = "0.1.0"


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="relay",
        version=__version__,
        description="Domain events to your own notification service (replaces notifications)",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type:
    from vetrai_relay.settings import RelaySettings

    return RelaySettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("relay", "vetrai_relay")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai_relay import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/relay", tags=["relay"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("relay:read", "See which events were relayed to the notification service", roles=(ORG_ADMIN,)),
        Permission("relay:write", "Retry a failed relay delivery", roles=(ORG_ADMIN,)),
    ]


@hookimpl
def vetrai_tasks(broker: Any) -> None:
    from vetrai_relay import service

    broker.register_task(service.deliver, task_name="relay.deliver")
    broker.register_task(service.requeue, task_name="relay.requeue")


@hookimpl
def vetrai_outbox_handlers(settings: Any) -> list[OutboxHandler]:
    from vetrai_relay import service

    return service.outbox_handlers(settings)


@hookimpl
def vetrai_schedules(platform: Any) -> list[Schedule]:
    from vetrai_relay.settings import RelaySettings

    return [Schedule("relay.requeue", platform.plugin_settings("relay", RelaySettings).requeue_seconds)]


@hookimpl
async def vetrai_startup(platform: Any) -> None:
    from vetrai_relay import service

    service.check_settings(platform)


@hookimpl
async def vetrai_event(event: Any) -> None:
    from vetrai_relay import service

    await service.record(event)
