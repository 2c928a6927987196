from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class BillingCustomer(BaseModel, TenantMixin):
    """The Stripe customer of an organization (one per organization)"""

    stripe_customer_id = fields.CharField(max_length=255, unique=True)
    email = fields.CharField(max_length=320, null=True)

    class Meta:
        table = "billing_customer"
        unique_together = (("organization",),)


class BillingSubscription(BaseModel, TenantMixin):
    """A Stripe subscription of an organization, kept in step by verified webhooks"""

    stripe_subscription_id = fields.CharField(max_length=255, unique=True)
    stripe_customer_id = fields.CharField(max_length=255, db_index=True)
    stripe_price_id = fields.CharField(max_length=255, null=True)
    plan = fields.CharField(max_length=50)
    status = fields.CharField(max_length=30, db_index=True)
    current_period_start = fields.DatetimeField(null=True)
    current_period_end = fields.DatetimeField(null=True)
    cancel_at_period_end = fields.BooleanField(default=False)
    canceled_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    stripe_version = fields.BigIntField(default=0, description="Stripe time (epoch s) of the newest state applied")

    class Meta:
        table = "billing_subscription"
        indexes = (tenant_list_index("billing_subscription"),)


class BillingInvoice(BaseModel, TenantMixin):
    """A Stripe invoice of an organization"""

    stripe_invoice_id = fields.CharField(max_length=255, unique=True)
    stripe_subscription_id = fields.CharField(max_length=255, null=True)
    stripe_payment_intent_id = fields.CharField(max_length=255, null=True)
    number = fields.CharField(max_length=100, null=True)
    status = fields.CharField(max_length=30)
    amount_due = fields.BigIntField(default=0)
    amount_paid = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="usd")
    hosted_invoice_url = fields.CharField(max_length=1000, null=True)
    period_start = fields.DatetimeField(null=True)
    period_end = fields.DatetimeField(null=True)
    lines = fields.JSONField(default=list)
    stripe_version = fields.BigIntField(default=0)

    class Meta:
        table = "billing_invoice"
        indexes = (tenant_list_index("billing_invoice"),)


class BillingPayment(BaseModel, TenantMixin):
    """A payment (Stripe PaymentIntent) of an organization"""

    stripe_payment_intent_id = fields.CharField(max_length=255, unique=True)
    stripe_invoice_id = fields.CharField(max_length=255, null=True)
    stripe_charge_id = fields.CharField(max_length=255, null=True, db_index=True)
    amount = fields.BigIntField(default=0)
    amount_refunded = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="usd")
    status = fields.CharField(max_length=30)
    failure_reason = fields.CharField(max_length=500, null=True)
    stripe_version = fields.BigIntField(default=0)

    class Meta:
        table = "billing_payment"
        indexes = (tenant_list_index("billing_payment"),)


class BillingWebhookEvent(Model):
    """Every verified Stripe event, once: the primary key makes a redelivery a no-op"""

    id = fields.CharField(max_length=255, primary_key=True)
    type = fields.CharField(max_length=100, db_index=True)
    stripe_created = fields.BigIntField()
    organization_id = fields.UUIDField(null=True, db_index=True)
    outcome = fields.CharField(max_length=30, description="applied, stale, unknown_type, unknown_customer, ignored")
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billing_webhook_event"


class BillingUsage(Model):
    """Metered usage of an organization per billing period and metric, and how much reached Stripe"""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    period = fields.CharField(max_length=7, description="UTC month YYYY-MM")
    metric = fields.CharField(max_length=30)
    quantity = fields.BigIntField(default=0)
    reported_quantity = fields.BigIntField(default=0)
    reporting_quantity = fields.BigIntField(
        null=True, description="Total being reported (same idempotency key on retry)"
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "billing_usage"
        unique_together = (("organization", "period", "metric"),)
