from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class BillingPlanOut(BaseModel):
    name: str
    display_name: str
    amount: int = Field(description="Price per interval in the currency's smallest unit (cents).")
    currency: str
    interval: str
    stripe_price_id: str | None = Field(
        description="Stripe Price (or legacy Plan) id; null for a plan sold without Stripe (free)."
    )
    limits: dict[str, int] = Field(description="Organization limits the plan grants (max_users, max_api_keys, ...).")
    metered: list[str] = Field(description="Usage metrics reported to Stripe for this plan.")


class BillingPlanList(BaseModel):
    items: list[BillingPlanOut]


class BillingSubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=50, description="A plan name from GET /api/v1/billing/plans.")
    payment_method: str | None = Field(
        None,
        min_length=3,
        max_length=255,
        description="A Stripe PaymentMethod id (pm_...) to attach and charge; default the customer's.",
    )


class BillingSubscriptionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_period_end: bool = Field(True, description="true: keep the plan until the period ends; false: end it now.")


class BillingSubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    plan: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    stripe_subscription_id: str
    stripe_customer_id: str
    stripe_price_id: str | None
    created_at: datetime
    updated_at: datetime


class BillingSubscriptionPage(BaseModel):
    items: list[BillingSubscriptionOut]
    next_cursor: str | None = None


class BillingListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class BillingInvoiceLine(BaseModel):
    description: str | None
    amount: int
    currency: str
    quantity: int | None
    period_start: datetime | None
    period_end: datetime | None


class BillingInvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    number: str | None
    status: str
    amount_due: int
    amount_paid: int
    currency: str
    hosted_invoice_url: str | None
    period_start: datetime | None
    period_end: datetime | None
    lines: Annotated[list[BillingInvoiceLine], BeforeValidator(lambda lines: lines or [])]
    stripe_invoice_id: str
    stripe_subscription_id: str | None
    created_at: datetime
    updated_at: datetime


class BillingInvoicePage(BaseModel):
    items: list[BillingInvoiceOut]
    next_cursor: str | None = None


class BillingPaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    amount: int
    amount_refunded: int
    currency: str
    status: str
    failure_reason: str | None
    stripe_payment_intent_id: str
    stripe_invoice_id: str | None
    stripe_charge_id: str | None
    created_at: datetime
    updated_at: datetime


class BillingPaymentPage(BaseModel):
    items: list[BillingPaymentOut]
    next_cursor: str | None = None


class BillingUsageQuery(BaseModel):
    period: str | None = Field(
        None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="UTC month YYYY-MM; default the current one."
    )
    organization_id: uuid.UUID | None = Field(None, description="super_admin only: another organization's usage.")


class BillingUsageItem(BaseModel):
    metric: str = Field(
        description="job_runs (finished workflow runs), api_requests (API-key requests) or llm_tokens (model tokens "
        "of finished runs)."
    )
    quantity: int
    reported_quantity: int = Field(description="How much of it has been reported to Stripe.")
    metered: bool = Field(description="Whether the current plan bills this metric by usage.")


class BillingUsageOut(BaseModel):
    organization_id: uuid.UUID
    period: str
    period_start: datetime
    period_end: datetime
    items: list[BillingUsageItem]


class BillingCheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=50)
    success_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    cancel_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")


class BillingPortalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    return_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")


class BillingSessionOut(BaseModel):
    id: str
    url: str = Field(description="Send the user's browser here.")


class BillingStripeEventData(BaseModel):
    object: dict[str, Any] = Field(description="The Stripe object the event is about (subscription, invoice, ...).")


class BillingStripeEvent(BaseModel):
    """A Stripe event as Stripe sends it; the raw body must carry a valid ``Stripe-Signature``."""

    id: str = Field(description="evt_...; each id is applied once")
    type: str = Field(description="e.g. customer.subscription.updated, invoice.payment_failed")
    created: int = Field(description="Unix time the event happened; older events never overwrite newer state")
    data: BillingStripeEventData


class BillingWebhookOut(BaseModel):
    received: bool
    duplicate: bool
    outcome: str = Field(
        description="applied, stale (older than the stored state), recorded, unknown_type, unknown_customer, ignored"
    )
