"""Stripe-hosted flows: Checkout sessions to subscribe and the billing portal."""

from __future__ import annotations

from typing import Any

from vetrai.core.auth import Principal
from vetrai.core.errors import conflict
from vetrai.core.platform import current_platform
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.customers import ensure_customer
from vetrai.plugins.billing.models import BillingSubscription
from vetrai.plugins.billing.plans import _price_item, plan_named
from vetrai.plugins.billing.runtime import organization_id_of, runtime, stripe_client
from vetrai.plugins.billing.subscriptions import OPEN_STATUSES


def _public_url(path: str) -> str:
    return current_platform().settings.resolved_public_url.rstrip("/") + path


async def checkout_session(
    principal: Principal, plan_name: str, success_url: str | None, cancel_url: str | None
) -> dict[str, Any]:
    rt = runtime()
    plan = plan_named(rt, plan_name)
    client = stripe_client(rt)
    organization_id = organization_id_of(principal)
    if await BillingSubscription.filter(organization_id=organization_id, status__in=OPEN_STATUSES).exists():
        raise conflict("the organization already has a subscription; use the billing portal to change it")
    customer = await ensure_customer(rt, principal)
    item = _price_item(plan)
    session = await stripe_api.call(
        client.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer.stripe_customer_id,
                "client_reference_id": str(organization_id),
                "line_items": [item],  # type: ignore[list-item]
                "success_url": success_url or rt.settings.checkout_success_url or _public_url("/billing/success"),
                "cancel_url": cancel_url or rt.settings.checkout_cancel_url or _public_url("/billing/cancel"),
                "subscription_data": {"metadata": {"organization_id": str(organization_id), "plan": plan.name}},
            }
        )
    )
    return {"id": session.id, "url": session.url}


async def portal_session(principal: Principal, return_url: str | None) -> dict[str, Any]:
    rt = runtime()
    client = stripe_client(rt)
    customer = await ensure_customer(rt, principal)
    session = await stripe_api.call(
        client.v1.billing_portal.sessions.create_async(
            {
                "customer": customer.stripe_customer_id,
                "return_url": return_url or rt.settings.portal_return_url or _public_url("/billing"),
            }
        )
    )
    return {"id": session.id, "url": session.url}
