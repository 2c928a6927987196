"""Support tickets, comments, attachments, assignment and SLA."""

from __future__ import annotations

from taskiq import AsyncBroker

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, Schedule, hookimpl
from vetrai.core.permissions import ROLES
from vetrai.plugins.support import routes, tasks
from vetrai.plugins.support.settings import SupportSettings

CHECK_SLA_TASK = "support.check_sla"


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
    return SupportSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec(
        app_label="support", modules=["vetrai.plugins.support.models"], migrations="vetrai.plugins.support.migrations"
    )


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    return [BlueprintSpec(routes.blueprint, "/api/v1/support", tags=["support"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission(
            "support:read",
            "Read tickets, comments, attachments and SLA policies (agents and admins: the organization's, others: their own)",
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
    broker.register_task(tasks.check_sla, task_name=CHECK_SLA_TASK)


@hookimpl
def vetrai_schedules() -> list[Schedule]:
    return [Schedule(CHECK_SLA_TASK, SupportSettings().sla_check_seconds)]
