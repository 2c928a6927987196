"""Users, login, JWT and opaque tokens, refresh rotation, password flows and audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import (
    BlueprintSpec,
    ModelSpec,
    Permission,
    PluginInfo,
    Principal,
    Schedule,
    hookimpl,
    register_tasks,
)
from vetrai.core.permissions import ORG_ADMIN

if TYPE_CHECKING:
    import click
    from quart import Quart, Request
    from taskiq import AsyncBroker

    from vetrai.core.platform import Platform
    from vetrai.plugins.auth.settings import AuthSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="auth", version=__version__, description="Users, tokens, RBAC, password flows and audit")


@hookimpl
def vetrai_settings() -> type[AuthSettings]:
    from vetrai.plugins.auth.settings import AuthSettings

    return AuthSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("auth", "vetrai.plugins.auth")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.auth import routes

    return [
        BlueprintSpec(routes.blueprint, "/api/v1", tags=["auth"]),
        BlueprintSpec(routes.well_known, "", tags=["auth"], public=True),
    ]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("auth:read", "List and read the users of your organization", roles=(ORG_ADMIN,)),
        Permission("auth:write", "Create, change and delete the users of your organization", roles=(ORG_ADMIN,)),
        Permission("auth:audit", "Read the audit log of your organization", roles=(ORG_ADMIN,)),
    ]


@hookimpl
def vetrai_cli(group: click.Group) -> None:
    from vetrai.plugins.auth import cli

    cli.register_commands(group)


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.plugins.auth import tasks

    register_tasks(broker, tasks.TASKS)


@hookimpl
def vetrai_schedules(platform: Platform) -> list[Schedule]:
    from vetrai.plugins.auth import tasks

    return tasks.schedules(platform)


@hookimpl
async def vetrai_startup(platform: Platform, app: Quart | None) -> None:
    from vetrai.plugins.auth import service

    rt = platform.fill(service.RUNTIME, service.build_runtime(platform))
    if app is not None and platform.redis is not None:
        platform.spawn(rt.tokens.listen())


@hookimpl(trylast=True)
async def vetrai_authenticate(request: Request) -> Principal | None:
    """Last: any token without another plugin's prefix is taken for an opaque token (401 if unknown)."""
    from vetrai.core.auth import bearer_token
    from vetrai.plugins.auth import service

    token = bearer_token()
    return await service.authenticate_token(token) if token else None


@hookimpl
async def vetrai_purge_organization(organization_id: Any) -> None:
    from vetrai.plugins.auth import retention

    await retention.purge_organization(organization_id)
