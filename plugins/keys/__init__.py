"""API keys: scoped keys, rate limits and usage analytics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, Principal, hookimpl
from vetrai.core.permissions import ROLES

if TYPE_CHECKING:
    from quart import Request

    from vetrai.core.platform import Platform
    from vetrai.plugins.keys.settings import KeysSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="keys",
        version=__version__,
        description="API keys: scoped keys, rate limits and usage analytics.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[KeysSettings]:
    from vetrai.plugins.keys.settings import KeysSettings

    return KeysSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("keys", "vetrai.plugins.keys")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.keys import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/keys", tags=["keys"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission(
            "keys:read",
            "List and read API keys and their usage (admins: the organization's, others: their own)",
            roles=ROLES,
        ),
        Permission("keys:write", "Create, change, rotate and revoke API keys", roles=ROLES),
    ]


@hookimpl
async def vetrai_startup(platform: Platform, app: object) -> None:
    from vetrai.plugins.keys import service, usage

    rt = platform.fill(service.RUNTIME, service.build_runtime(platform))
    rt.scopes = service.available_scopes(platform)
    if app is None:
        return
    if platform.redis is not None:
        platform.spawn(rt.cache.listen())
    # Per process, not a schedule: each process flushes the usage it counted in memory.
    platform.spawn(usage.flush_loop(platform, rt.usage, rt.settings.usage_flush_seconds))


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    from vetrai.plugins.keys import service

    rt = platform.find(service.RUNTIME)
    if rt is not None:
        await rt.usage.flush(platform)
        platform.release(service.RUNTIME)


@hookimpl
async def vetrai_authenticate(request: Request) -> Principal | None:
    from vetrai.plugins.keys import routes

    return await routes.authenticate()


@hookimpl
async def vetrai_purge_organization(organization_id: Any) -> None:
    from vetrai.plugins.keys import retention

    await retention.purge_organization(organization_id)
