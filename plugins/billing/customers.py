"""Stripe customers: one per organization, created on first need, with its default payment method."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.imports import lazy_module
from vetrai.core.models import Organization
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.models import BillingCustomer
from vetrai.plugins.billing.runtime import BillingRuntime, organization_id_of, stripe_client

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it


async def _user_email(principal: Principal) -> str | None:
    if principal.user_id is None:
        return None
    from vetrai.plugins.auth.models import User

    user = await User.get_or_none(id=principal.user_id)
    return getattr(user, "email", None)


async def ensure_customer(rt: BillingRuntime, principal: Principal) -> BillingCustomer:
    """The organization's Stripe customer, created (once, idempotently) when missing."""
    organization_id = organization_id_of(principal)
    row = await BillingCustomer.get_or_none(organization_id=organization_id)
    if row is not None:
        return row
    client = stripe_client(rt)
    organization = await Organization.get(id=organization_id)
    email = await _user_email(principal)
    params: dict[str, Any] = {"name": organization.name, "metadata": {"organization_id": str(organization_id)}}
    if email:
        params["email"] = email
    customer = await stripe_api.call(
        client.v1.customers.create_async(params, options={"idempotency_key": f"vetrai-customer-{organization_id}"})  # type: ignore[arg-type]
    )
    try:
        row = await BillingCustomer.create(organization_id=organization_id, stripe_customer_id=customer.id, email=email)
    except IntegrityError:
        row = await BillingCustomer.get(organization_id=organization_id)
    await record_audit(
        "billing.customer_created",
        principal=principal,
        target_type="customer",
        target_id=row.id,
        data={"stripe_customer_id": row.stripe_customer_id},
    )
    return row


async def _set_payment_method(client: stripe.StripeClient, customer_id: str, payment_method: str) -> str:
    """Attach the payment method and make it the customer's default for invoices.

    (Both Stripe and localstripe accept this; localstripe refuses ``default_payment_method``
    on the subscription itself.)
    """
    attached = await stripe_api.call(client.v1.payment_methods.attach_async(payment_method, {"customer": customer_id}))
    await stripe_api.call(
        client.v1.customers.update_async(customer_id, {"invoice_settings": {"default_payment_method": attached.id}})
    )
    return attached.id
