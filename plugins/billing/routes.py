from __future__ import annotations

from quart import Blueprint, request
from quart_schema import document_request, validate_querystring, validate_request, validate_response

from vetrai.core.auth import current_principal, require_auth, require_role, require_scope
from vetrai.core.openapi import public
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import BILLING_ADMIN, ORG_ADMIN
from vetrai.core.requests import optional_body
from vetrai.core.tenancy import get_scoped, scoped
from vetrai.plugins.billing import service
from vetrai.plugins.billing.models import BillingInvoice, BillingPayment, BillingSubscription
from vetrai.plugins.billing.schemas import (
    BillingCheckoutCreate,
    BillingInvoiceOut,
    BillingInvoicePage,
    BillingListQuery,
    BillingPaymentOut,
    BillingPaymentPage,
    BillingPlanList,
    BillingPortalCreate,
    BillingSessionOut,
    BillingStripeEvent,
    BillingSubscriptionCancel,
    BillingSubscriptionCreate,
    BillingSubscriptionOut,
    BillingSubscriptionPage,
    BillingUsageOut,
    BillingUsageQuery,
    BillingWebhookOut,
)

blueprint = Blueprint("billing", __name__)
MANAGERS = (ORG_ADMIN, BILLING_ADMIN)


def _page(query: BillingListQuery) -> PageQuery:
    return PageQuery(limit=query.limit, cursor=query.cursor)


@blueprint.get("/plans")
@require_auth
@validate_response(BillingPlanList)
async def list_plans() -> dict:
    """The plans this deployment sells, with price, Stripe price id and the limits each grants."""
    return {"items": service.list_plans()}


@blueprint.post("/subscriptions")
@require_role(*MANAGERS)
@require_scope("billing:write")
@validate_request(BillingSubscriptionCreate)
@validate_response(BillingSubscriptionOut, 201)
async def create_subscription(data: BillingSubscriptionCreate) -> tuple[BillingSubscriptionOut, int]:
    """Subscribe the organization to a plan (creates its Stripe customer when missing); 402 when the card
    is declined."""
    row = await service.create_subscription(await current_principal(), data.plan, data.payment_method)
    return BillingSubscriptionOut.model_validate(row), 201


@blueprint.get("/subscriptions")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_querystring(BillingListQuery)
@validate_response(BillingSubscriptionPage)
async def list_subscriptions(query_args: BillingListQuery) -> dict:
    """The organization's subscriptions, current and past, newest first."""
    return await paginate(
        scoped(BillingSubscription, await current_principal()), _page(query_args), BillingSubscriptionOut
    )


@blueprint.get("/subscriptions/<subscription_id>")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_response(BillingSubscriptionOut)
async def get_subscription(subscription_id: str) -> BillingSubscriptionOut:
    """One subscription of the organization."""
    return BillingSubscriptionOut.model_validate(
        await service.get_subscription(await current_principal(), subscription_id)
    )


@blueprint.post("/subscriptions/<subscription_id>/cancel")
@require_role(*MANAGERS)
@require_scope("billing:write")
@document_request(BillingSubscriptionCancel)
@validate_response(BillingSubscriptionOut)
async def cancel_subscription(subscription_id: str) -> BillingSubscriptionOut:
    """Cancel at the end of the period (default) or now (``at_period_end: false``); body optional."""
    data = await optional_body(BillingSubscriptionCancel)
    row = await service.cancel_subscription(await current_principal(), subscription_id, data.at_period_end)
    return BillingSubscriptionOut.model_validate(row)


@blueprint.get("/invoices")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_querystring(BillingListQuery)
@validate_response(BillingInvoicePage)
async def list_invoices(query_args: BillingListQuery) -> dict:
    """The organization's invoices, newest first."""
    return await paginate(scoped(BillingInvoice, await current_principal()), _page(query_args), BillingInvoiceOut)


@blueprint.get("/invoices/<invoice_id>")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_response(BillingInvoiceOut)
async def get_invoice(invoice_id: str) -> BillingInvoiceOut:
    """One invoice with its lines."""
    return BillingInvoiceOut.model_validate(await get_scoped(BillingInvoice, await current_principal(), invoice_id))


@blueprint.get("/payments")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_querystring(BillingListQuery)
@validate_response(BillingPaymentPage)
async def list_payments(query_args: BillingListQuery) -> dict:
    """The organization's payments (amount, status, failure reason, refunds), newest first."""
    return await paginate(scoped(BillingPayment, await current_principal()), _page(query_args), BillingPaymentOut)


@blueprint.get("/payments/<payment_id>")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_response(BillingPaymentOut)
async def get_payment(payment_id: str) -> BillingPaymentOut:
    """One payment."""
    return BillingPaymentOut.model_validate(await get_scoped(BillingPayment, await current_principal(), payment_id))


@blueprint.get("/usage")
@require_role(*MANAGERS)
@require_scope("billing:read")
@validate_querystring(BillingUsageQuery)
@validate_response(BillingUsageOut)
async def get_usage(query_args: BillingUsageQuery) -> dict:
    """Metered usage of a period (job runs, API-key requests) and how much was reported to Stripe."""
    return await service.usage_of(await current_principal(), query_args.period, query_args.organization_id)


@blueprint.post("/checkout")
@require_role(*MANAGERS)
@require_scope("billing:write")
@validate_request(BillingCheckoutCreate)
@validate_response(BillingSessionOut, 201)
async def create_checkout(data: BillingCheckoutCreate) -> tuple[dict, int]:
    """A Stripe Checkout session for subscribing to a plan; redirect the browser to ``url``."""
    session = await service.checkout_session(await current_principal(), data.plan, data.success_url, data.cancel_url)
    return session, 201


@blueprint.post("/portal")
@require_role(*MANAGERS)
@require_scope("billing:write")
@document_request(BillingPortalCreate)
@validate_response(BillingSessionOut, 201)
async def create_portal() -> tuple[dict, int]:
    """A Stripe billing portal session (cards, invoices, plan changes); body optional."""
    body = await optional_body(BillingPortalCreate)
    return await service.portal_session(await current_principal(), body.return_url), 201


@blueprint.post("/webhooks/stripe")
@public
@document_request(BillingStripeEvent)
@validate_response(BillingWebhookOut)
async def stripe_webhook() -> dict:
    """Stripe's webhook endpoint: the ``Stripe-Signature`` of the raw body is verified (400 otherwise)."""
    rt = service.runtime()
    payload = await request.get_data()
    event = service.verify_webhook(rt, payload, request.headers.get("Stripe-Signature"))
    return await service.process_event(event)
