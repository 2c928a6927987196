"""Erasing an organization's billing records (the ``vetrai_purge_organization`` hook).

Only VetrAI's copy goes: the customer, its subscriptions and invoices stay in Stripe, which
keeps them for its own legal retention; cancel the subscription before deleting the
organization if it should not renew.
"""

from __future__ import annotations

import uuid

from vetrai.plugins.billing.models import (
    BillingCustomer,
    BillingInvoice,
    BillingPayment,
    BillingSubscription,
    BillingUsage,
    BillingWebhookEvent,
)


async def purge_organization(organization_id: uuid.UUID) -> None:
    for model in (BillingUsage, BillingPayment, BillingInvoice, BillingSubscription, BillingWebhookEvent):
        await model.filter(organization_id=organization_id).delete()
    await BillingCustomer.filter(organization_id=organization_id).delete()
