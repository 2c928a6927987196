"""Users, login, JWT and opaque tokens, refresh rotation, password flows and audit."""

from __future__ import annotations

import click
from quart import Request

from vetrai import __version__
from vetrai.core.auth import Principal, bearer_token
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN
from vetrai.core.platform import Platform
from vetrai.plugins.auth import cli, routes, service, tasks
from vetrai.plugins.auth.settings import AuthSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="auth", version=__version__, description="Users, tokens, RBAC, password flows and audit")


@hookimpl
def vetrai_settings() -> type[AuthSettings]:
    return AuthSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec(
        app_label="auth", modules=["vetrai.plugins.auth.models"], migrations="vetrai.plugins.auth.migrations"
    )


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
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
    cli.register_commands(group)


@hookimpl
async def vetrai_startup(platform: Platform, app: object) -> None:
    rt = service.build_runtime(platform)
    platform.state["auth"] = rt
    tasks.start_housekeeping(platform)
    if app is not None and platform.redis is not None:
        platform.spawn(rt.tokens.listen())


@hookimpl
async def vetrai_authenticate(request: Request) -> Principal | None:
    token = bearer_token()
    return await service.authenticate_token(token) if token else None
