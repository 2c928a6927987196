"""Support tickets, comments, attachments, assignment and SLA."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, Schedule, hookimpl, register_tasks
from vetrai.core.permissions import ROLES

if TYPE_CHECKING:
    from taskiq import AsyncBroker

    from vetrai.core.platform import Platform
    from vetrai.plugins.support.settings import SupportSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="support",
        version=__version__,
        description="Support tickets, comments, attachments, assignment and SLA.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[SupportSettings]:
    from vetrai.plugins.support.settings import SupportSettings

    return SupportSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("support", "vetrai.plugins.support")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.support import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/support", tags=["support"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission(
            "support:read",
            "Read tickets, comments, attachments and SLA policies (agents and admins: the organization's, others: "
            "their own)",
            roles=ROLES,
        ),
        Permission(
            "support:write",
            "Open and update tickets, comment, upload attachments; admins set SLA policies",
            roles=ROLES,
        ),
    ]


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.plugins.support import tasks

    register_tasks(broker, tasks.TASKS)


@hookimpl
def vetrai_schedules(platform: Platform) -> list[Schedule]:
    from vetrai.plugins.support import tasks

    return tasks.schedules(platform)


@hookimpl
async def vetrai_storage_used(platform: Any, organization_id: Any) -> int:
    from vetrai.plugins.support import attachments

    return await attachments.attachment_bytes(organization_id)


@hookimpl
async def vetrai_purge_organization(platform: Any, organization_id: Any) -> None:
    from vetrai.plugins.support import retention

    await retention.purge_organization(platform, organization_id)
