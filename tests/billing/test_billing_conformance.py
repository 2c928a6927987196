"""The conformance kit (``vetrai.core.conformance``) run against the billing plugin."""

from __future__ import annotations

import uuid

import pytest

from vetrai.core.conformance import Kit, KitUser, PluginConformance, Resource
from vetrai.plugins.billing.models import BillingInvoice, BillingPayment, BillingSubscription


async def _subscription(kit: Kit, owner: KitUser) -> str:
    row = await BillingSubscription.create(
        organization_id=owner.organization_id,
        stripe_subscription_id=f"sub_kit_{uuid.uuid4().hex}",
        stripe_customer_id="cus_kit",
        plan="pro",
        status="active",
    )
    return str(row.id)


async def _invoice(kit: Kit, owner: KitUser) -> str:
    row = await BillingInvoice.create(
        organization_id=owner.organization_id, stripe_invoice_id=f"in_kit_{uuid.uuid4().hex}", status="paid", lines=[]
    )
    return str(row.id)


async def _payment(kit: Kit, owner: KitUser) -> str:
    row = await BillingPayment.create(
        organization_id=owner.organization_id, stripe_payment_intent_id=f"pi_kit_{uuid.uuid4().hex}", status="succeeded"
    )
    return str(row.id)


class TestConformanceBilling(PluginConformance):
    plugin = "billing"
    slow_callback_seconds = 0.3  # the shared CI host's GC pauses reach 0.14 s; a blocking call would be far slower
    skip = {
        "api_key_scopes:GET /api/v1/billing/plans": (
            "the plan catalogue is not organization data: any authenticated caller may read it"
        ),
    }
    resource_list = (
        Resource(
            "/api/v1/billing/subscriptions/<subscription_id>",
            _subscription,
            list="/api/v1/billing/subscriptions",
            body={"at_period_end": True},
        ),
        Resource("/api/v1/billing/invoices/<invoice_id>", _invoice, list="/api/v1/billing/invoices"),
        Resource("/api/v1/billing/payments/<payment_id>", _payment, list="/api/v1/billing/payments"),
    )

    @pytest.fixture
    def vetrai_plugins(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """Configured like a deployment that receives webhooks (no Stripe API key: no Stripe calls)."""
        monkeypatch.setenv("VETRAI_BILLING_STRIPE_WEBHOOK_SECRET", "whsec_conformance")
        monkeypatch.delenv("VETRAI_BILLING_STRIPE_API_KEY", raising=False)
        monkeypatch.delenv("VETRAI_STRIPE_API_KEY", raising=False)
        return self.enabled_plugins()
