"""Model providers and secrets per organization, chat models for graphs, token usage and quotas."""

from __future__ import annotations

import click

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN, ROLES
from vetrai.core.platform import Platform
from vetrai.plugins.models import cli, routes, service
from vetrai.plugins.models.settings import ModelsSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="models",
        version=__version__,
        description="Model providers and secrets per organization (encrypted), chat models for graphs, "
        "token usage and quotas.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[ModelsSettings]:
    return ModelsSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("models", "vetrai.plugins.models")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    return [
        BlueprintSpec(routes.blueprint, "/api/v1/models", tags=["models"]),
        BlueprintSpec(routes.secrets_blueprint, "/api/v1/secrets", tags=["models"]),
    ]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("models:read", "See the organization's model providers, secret names and token usage", roles=ROLES),
        Permission("models:write", "Add, change, test and remove model providers and secrets", roles=(ORG_ADMIN,)),
    ]


@hookimpl
async def vetrai_startup(platform: Platform) -> None:
    platform.state["models"] = service.build_runtime(platform)


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    platform.state.pop("models", None)


@hookimpl
def vetrai_cli(group: click.Group) -> None:
    cli.register_commands(group)
