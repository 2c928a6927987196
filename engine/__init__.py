"""The workflow engine: LangGraph runs distributed by taskiq (the /api/v1/workers API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, OutboxHandler, Permission, PluginInfo, Schedule, hookimpl
from vetrai.core.permissions import ROLES

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    import click
    from quart import Quart
    from taskiq import AsyncBroker

    from vetrai.core.platform import Platform
    from vetrai.engine.settings import WorkersSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="workers",
        version=__version__,
        description="The workflow engine: LangGraph runs distributed by taskiq (the /api/v1/workers API).",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[WorkersSettings]:
    from vetrai.engine.settings import WorkersSettings

    return WorkersSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec(app_label="workers", modules=["vetrai.engine.models"], migrations="vetrai.engine.migrations")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.engine import routes
    from vetrai.engine.langgraph import routes as langgraph_routes

    return [
        BlueprintSpec(routes.blueprint, "/api/v1/workers", tags=["workers"]),
        BlueprintSpec(langgraph_routes.blueprint, "/api/v1/langgraph", tags=["langgraph"]),
    ]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("workers:read", "List and read workflow templates, jobs and job events", roles=ROLES),
        Permission(
            "workers:write", "Run, cancel, resume and retry jobs; org_admins also manage templates", roles=ROLES
        ),
    ]


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.engine import tasks

    tasks.register(broker)


@hookimpl
def vetrai_outbox_handlers(settings: WorkersSettings | None) -> list[OutboxHandler]:
    from vetrai.engine.finishing import outbox_handlers

    return outbox_handlers(settings)


@hookimpl
def vetrai_schedules(platform: Platform) -> list[Schedule]:
    from vetrai.engine.dispatch import REAP_TASK
    from vetrai.engine.settings import WorkersSettings

    return [Schedule(REAP_TASK, platform.plugin_settings("workers", WorkersSettings).reaper_seconds)]


@hookimpl
async def vetrai_startup(platform: Platform, app: Quart | None) -> None:
    from vetrai.engine import service
    from vetrai.engine.runtime import runtime_of

    platform.fill(service.PACKAGE_TEMPLATES, service.PackageTemplates())
    runtime = runtime_of(platform)
    if platform.runs_tasks:
        await runtime.ensure_ready()  # checkpointer and cancel listener before the first job
        if app is None:  # a worker: its first run starts at full speed
            await runtime.warm_up()
        else:  # a server answers at once and warms up meanwhile
            platform.spawn(runtime.warm_up())


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    from vetrai.engine.process import RUNTIME
    from vetrai.engine.streams import HUB

    runtime = platform.release(RUNTIME)
    if runtime is not None:
        await runtime.close()
    hub = platform.release(HUB)
    if hub is not None:
        await hub.close()


@hookimpl
def vetrai_cli(group: click.Group) -> Any:
    from vetrai.engine import cli
    from vetrai.engine.langgraph import cli as langgraph_cli

    cli.register(group)
    langgraph_cli.register(group)


@hookimpl
async def vetrai_storage_used(platform: Platform, organization_id: uuid.UUID) -> int:
    from vetrai.engine import storage

    return await storage.storage_used(platform, organization_id)


@hookimpl
async def vetrai_purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    from vetrai.engine import retention

    await retention.purge_organization(platform, organization_id)


@hookimpl
async def vetrai_purge_expired(platform: Platform, organization_id: uuid.UUID, before: datetime) -> int:
    from vetrai.engine import retention

    return await retention.purge_expired(platform, organization_id, before)
