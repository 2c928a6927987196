"""The core's own hooks: it is registered like any plugin, but cannot be disabled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, OutboxHandler, Permission, PluginInfo, Schedule, hookimpl
from vetrai.core.permissions import CORE_PERMISSIONS

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from taskiq import AsyncBroker

    from vetrai.core.metrics import Metrics
    from vetrai.core.platform import Platform


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="core", version=__version__, description="Tenancy, health, metrics and the plugin host")


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("core", "vetrai.core")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.core.organizations.routes import blueprint as organizations_blueprint
    from vetrai.core.system import blueprint as system_blueprint

    return [
        BlueprintSpec(system_blueprint, "", tags=["system"], public=True),
        BlueprintSpec(organizations_blueprint, "/api/v1/organizations", tags=["organizations"]),
    ]


@hookimpl
def vetrai_permissions() -> tuple[Permission, ...]:
    return CORE_PERMISSIONS


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.core import outbox
    from vetrai.core.organizations import purge

    broker.register_task(outbox.deliver, task_name=outbox.DELIVER_TASK)
    broker.register_task(outbox.sweep_task, task_name=outbox.SWEEP_TASK)
    broker.register_task(purge.purge_expired_task, task_name=purge.EXPIRE_TASK)


@hookimpl
def vetrai_schedules() -> list[Schedule]:
    from vetrai.core import outbox
    from vetrai.core.organizations import purge

    return [Schedule(outbox.SWEEP_TASK, outbox.SWEEP_SECONDS), Schedule(purge.EXPIRE_TASK, purge.EXPIRE_SECONDS)]


@hookimpl
def vetrai_outbox_handlers() -> list[OutboxHandler]:
    from vetrai.core.organizations import purge

    return purge.outbox_handlers()


@hookimpl
async def vetrai_purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    from vetrai.core.organizations import purge

    await purge.purge_core(platform, organization_id)


@hookimpl
async def vetrai_purge_expired(organization_id: uuid.UUID, before: datetime) -> int:
    from vetrai.core.organizations import purge

    return await purge.expire_core(organization_id, before)


@hookimpl
def vetrai_metrics(metrics: Metrics) -> None:
    from vetrai.core import outbox

    async def refresh() -> None:
        await outbox.refresh_metrics(metrics)

    metrics.on_scrape(refresh)
