"""Stripe subscriptions, invoices, payments, verified webhooks and usage metering."""

from __future__ import annotations

from taskiq import AsyncBroker

from vetrai import __version__
from vetrai.core.events import DomainEvent
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, Schedule, hookimpl
from vetrai.core.permissions import BILLING_ADMIN, ORG_ADMIN
from vetrai.core.platform import Platform
from vetrai.plugins.billing import routes, service, stripe_api, tasks
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
    return BillingSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec(
        app_label="billing", modules=["vetrai.plugins.billing.models"], migrations="vetrai.plugins.billing.migrations"
    )


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
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
    tasks.register(broker)


@hookimpl
def vetrai_schedules() -> list[Schedule]:
    return [Schedule(tasks.REPORT_USAGE, BillingSettings().usage_report_seconds)]


@hookimpl
async def vetrai_startup(platform: Platform) -> None:
    platform.fill(service.RUNTIME, service.build_runtime(platform))


@hookimpl
async def vetrai_shutdown(platform: Platform) -> None:
    rt = platform.release(service.RUNTIME)
    if rt is not None:
        await stripe_api.close_client(rt.http_client)


@hookimpl
async def vetrai_event(event: DomainEvent) -> None:
    await service.on_event(event.name, event.data, event.organization_id)
