"""Per-organization themes, assets and public pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN, ROLES

if TYPE_CHECKING:
    from vetrai.plugins.themes.settings import ThemesSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="themes",
        version=__version__,
        description="Per-organization themes, assets and public pages.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[ThemesSettings]:
    from vetrai.plugins.themes.settings import ThemesSettings

    return ThemesSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("themes", "vetrai.plugins.themes")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.themes import routes

    return [
        BlueprintSpec(routes.blueprint, "/api/v1/themes", tags=["themes"]),
        BlueprintSpec(routes.public_blueprint, "/p", tags=["themes"], public=True),
    ]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("themes:read", "Read the organization's theme and its public pages (drafts included)", roles=ROLES),
        Permission("themes:write", "Change the theme, logo, favicon and public pages", roles=(ORG_ADMIN,)),
    ]


@hookimpl
async def vetrai_storage_used(platform: Any, organization_id: Any) -> int:
    from vetrai.plugins.themes import service

    return await service.asset_bytes(organization_id)


@hookimpl
async def vetrai_purge_organization(platform: Any, organization_id: Any) -> None:
    from vetrai.plugins.themes import retention

    await retention.purge_organization(platform, organization_id)
