"""Stripe subscriptions, invoices, payments, verified webhooks and usage metering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetrai import __version__
from vetrai.core.hooks import (
    BlueprintSpec,
    DomainEvent,
    ModelSpec,
    Permission,
    PluginInfo,
    Schedule,
    hookimpl,
    register_tasks,
)
from vetrai.core.permissions import BILLING_ADMIN, ORG_ADMIN

if TYPE_CHECKING:
    from taskiq import AsyncBroker

    from vetrai.core.platform import Platform
    from vetrai.plugins.billing.settings import BillingSettings


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="billing",
        version=__version__,
        description="Stripe subscriptions, invoices, payments, verified webhooks and usage metering.",
        requires=("auth",),
    )


@hookimpl
def vetrai_settings() -> type[BillingSettings]:
    from vetrai.plugins.billing.settings import BillingSettings

    return BillingSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("billing", "vetrai.plugins.billing")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai.plugins.billing import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/billing", tags=["billing"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission(
            "billing:read",
            "See the organization's plan, subscriptions, invoices, payments and usage",
            roles=(ORG_ADMIN, BILLING_ADMIN),
        ),
        Permission(
            "billing:write",
            "Subscribe, cancel, and open Stripe Checkout or the billing portal",
            roles=(ORG_ADMIN, BILLING_ADMIN),
        ),
    ]


@hookimpl
def vetrai_tasks(broker: AsyncBroker) -> None:
    from vetrai.plugins.billing import tasks

    register_tasks(broker, tasks.TASKS)


@hookimpl
def vetrai_schedules(platform: Platform) -> list[Schedule]:
    from vetrai.plugins.billing import tasks

    return tasks.schedules(platform)


@hookimpl
async def vetrai_startup(platform: Platform) -> None:
    from vetrai.plugins.billing import service

    platform.fill(service.RUNTIME, service.build_runtime(platform))


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    from vetrai.plugins.billing import service, stripe_api

    rt = platform.release(service.RUNTIME)
    if rt is not None:
        await stripe_api.close_client(rt.http_client)


@hookimpl
async def vetrai_event(event: DomainEvent) -> None:
    from vetrai.plugins.billing import service

    await service.on_event(event.name, event.data, event.organization_id)


@hookimpl
async def vetrai_purge_organization(organization_id: Any) -> None:
    from vetrai.plugins.billing import retention

    await retention.purge_organization(organization_id)
