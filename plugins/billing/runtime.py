"""The billing runtime (settings, Stripe client, per-organization locks) and who a billing call is for."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError
from vetrai.core.imports import lazy_module
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.settings import BillingSettings

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it


@dataclass
class BillingRuntime:
    settings: BillingSettings
    stripe: stripe.StripeClient | None
    http_client: stripe.HTTPXClient | None
    locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)

    def lock(self, organization_id: uuid.UUID) -> asyncio.Lock:
        return self.locks.setdefault(organization_id, asyncio.Lock())


RUNTIME: Slot[BillingRuntime] = Slot("billing")


def build_runtime(platform: Platform) -> BillingRuntime:
    settings = platform.plugin_settings("billing", BillingSettings)
    client, http_client = stripe_api.build_client(settings)
    return BillingRuntime(settings=settings, stripe=client, http_client=http_client)


def runtime(platform: Platform | None = None) -> BillingRuntime:
    return (platform or current_platform()).get(RUNTIME)


def stripe_client(rt: BillingRuntime | None = None) -> stripe.StripeClient:
    client = (rt or runtime()).stripe
    if client is None:
        raise stripe_api.not_configured()
    return client


def organization_id_of(principal: Principal) -> uuid.UUID:
    if principal.organization_id is None:
        raise ProblemError(403, "billing belongs to an organization; this caller has none")
    return principal.organization_id
