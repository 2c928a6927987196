"""Model providers and secrets per organization, chat models for graphs, token usage and quotas."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN, ROLES

if TYPE_CHECKING:
    import click

    from vetrai.core.platform import Platform
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
    from vetrai.plugins.models.settings import ModelsSettings

    return ModelsSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("models", "vetrai.plugins.models")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.models import routes

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
    from vetrai.plugins.models import service

    platform.fill(service.RUNTIME, service.build_runtime(platform))


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    from vetrai.plugins.models import service

    platform.release(service.RUNTIME)


@hookimpl
def vetrai_cli(group: click.Group) -> None:
    from vetrai.plugins.models import cli

    cli.register_commands(group)
