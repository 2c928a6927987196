"""Webhooks built in the test and signed with the endpoint secret exactly as Stripe signs them.

Subscription ids here are unknown to localstripe, so the handler cannot re-read them from
Stripe and must rely on the payloads: that is where ordering by the events' times matters.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from vetrai.core.models import AuditLog, Organization
from vetrai.plugins.billing.models import (
    BillingCustomer,
    BillingInvoice,
    BillingPayment,
    BillingSubscription,
    BillingWebhookEvent,
)
from vetrai.plugins.billing.settings import DEFAULT_PLANS

from .conftest import WEBHOOK_SECRET, make_event, sign

LIMITS = {plan.name: plan.limits for plan in DEFAULT_PLANS}


@pytest.fixture
async def customer(make_org):
    organization = await make_org()
    return await BillingCustomer.create(
        organization=organization, stripe_customer_id=f"cus_test_{uuid.uuid4().hex[:10]}"
    )


def subscription_object(customer, sub_id: str, status: str = "active", price: str = "vetrai_pro_monthly", **extra):
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer.stripe_customer_id,
        "status": status,
        "cancel_at_period_end": False,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_x",
                    "price": {"id": price},
                    "current_period_start": now,
                    "current_period_end": now + 30 * 86400,
                }
            ],
        },
        "metadata": {},
        **extra,
    }


def invoice_object(customer, invoice_id: str, status: str, **extra):
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer.stripe_customer_id,
        "status": status,
        "number": "VT-0001",
        "amount_due": 4900,
        "amount_paid": 4900 if status == "paid" else 0,
        "currency": "usd",
        "hosted_invoice_url": "https://invoice.stripe.com/i/test",
        "period_start": 1_790_000_000,
        "period_end": 1_792_592_000,
        "lines": {
            "data": [
                {
                    "description": "Pro",
                    "amount": 4900,
                    "currency": "usd",
                    "quantity": 1,
                    "period": {"start": 1_790_000_000, "end": 1_792_592_000},
                }
            ]
        },
        **extra,
    }


async def test_bad_signature_stale_timestamp_and_missing_header_are_400(send_webhook, customer):
    event = make_event("customer.subscription.created", subscription_object(customer, "sub_test_sig"))
    body = json.dumps(event).encode()
    wrong_secret = await send_webhook(body, signature=sign(body, secret="whsec_someone_else"))
    assert wrong_secret.status_code == 400
    assert (await wrong_secret.get_json())["type"].endswith("invalid-webhook")
    tampered = await send_webhook(body.replace(b"active", b"paused"), signature=sign(body))
    assert tampered.status_code == 400
    stale = await send_webhook(body, signature=sign(body, timestamp=int(time.time()) - 301))
    assert stale.status_code == 400
    assert (await send_webhook(body, signature="t=abc,v1=zzz")).status_code == 400
    assert (await send_webhook(body, signature="garbage")).status_code == 400
    missing = await send_webhook(body, headers={"Stripe-Signature": ""})
    assert missing.status_code == 400
    assert await BillingWebhookEvent.all().count() == 0
    assert not await BillingSubscription.exists()
    fresh_enough = await send_webhook(body, signature=sign(body, timestamp=int(time.time()) - 200))
    assert fresh_enough.status_code == 200


async def test_malformed_json_and_non_events_are_400(send_webhook):
    for body in (b"{not json", b"[1, 2]", json.dumps({"id": "evt_1", "type": "x"}).encode()):
        response = await send_webhook(body, signature=sign(body))
        assert response.status_code == 400, body
        assert response.content_type == "application/problem+json"


async def test_unknown_type_and_unknown_customer_are_200_and_recorded(send_webhook):
    unknown_type = make_event(
        "radar.early_fraud_warning.created", {"id": "issfr_1", "object": "radar.early_fraud_warning"}
    )
    response = await send_webhook(unknown_type)
    assert response.status_code == 200
    assert (await response.get_json())["outcome"] == "unknown_type"
    stranger = make_event(
        "invoice.paid", {"id": "in_stranger", "object": "invoice", "customer": "cus_nobody", "status": "paid"}
    )
    response = await send_webhook(stranger)
    assert response.status_code == 200
    assert (await response.get_json())["outcome"] == "unknown_customer"
    outcomes = {row.id: row.outcome for row in await BillingWebhookEvent.all()}
    assert outcomes == {unknown_type["id"]: "unknown_type", stranger["id"]: "unknown_customer"}
    assert not await BillingInvoice.exists()


async def test_duplicate_event_is_a_no_op(send_webhook, customer, recorder):
    event = make_event("invoice.payment_failed", invoice_object(customer, "in_test_dup", "open"))
    first = await send_webhook(event)
    assert (await first.get_json()) == {"received": True, "duplicate": False, "outcome": "applied"}
    second = await send_webhook(event)
    assert second.status_code == 200
    assert (await second.get_json()) == {"received": True, "duplicate": True, "outcome": "applied"}
    assert await BillingWebhookEvent.filter(id=event["id"]).count() == 1
    assert await BillingInvoice.filter(stripe_invoice_id="in_test_dup").count() == 1
    failed = recorder.of("billing.payment_failed")
    invoice = await BillingInvoice.get(stripe_invoice_id="in_test_dup")
    assert [e.data for e in failed] == [{"invoice_id": str(invoice.id), "amount_due": 4900, "currency": "usd"}]
    assert failed[0].organization_id == customer.organization_id
    assert await AuditLog.filter(action="billing.payment_failed").count() == 1


async def test_subscription_events_drive_the_organization_in_order(send_webhook, customer, recorder, client, make_user):
    now = int(time.time())
    sub_id = f"sub_test_{uuid.uuid4().hex[:10]}"
    created = make_event(
        "customer.subscription.created",
        subscription_object(customer, sub_id, "active", "vetrai_enterprise_monthly"),
        created=now - 50,
    )
    assert (await (await send_webhook(created)).get_json())["outcome"] == "applied"
    organization = await Organization.get(id=customer.organization_id)
    assert organization.plan == "enterprise" and organization.limits == LIMITS["enterprise"]

    past_due = make_event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id, "past_due", "vetrai_enterprise_monthly"),
        created=now - 10,
    )
    assert (await (await send_webhook(past_due)).get_json())["outcome"] == "applied"
    assert (await Organization.get(id=customer.organization_id)).plan == "enterprise"  # grace while Stripe retries

    # An older event (a downgrade to pro that happened before past_due) arrives late: ignored.
    older = make_event(
        "customer.subscription.updated",
        subscription_object(customer, sub_id, "active", "vetrai_pro_monthly"),
        created=now - 30,
    )
    assert (await (await send_webhook(older)).get_json())["outcome"] == "stale"
    row = await BillingSubscription.get(stripe_subscription_id=sub_id)
    assert (row.status, row.plan) == ("past_due", "enterprise")
    assert (await Organization.get(id=customer.organization_id)).limits == LIMITS["enterprise"]

    deleted = make_event(
        "customer.subscription.deleted",
        subscription_object(customer, sub_id, "canceled", "vetrai_enterprise_monthly", ended_at=now),
        created=now,
    )
    assert (await (await send_webhook(deleted)).get_json())["outcome"] == "applied"
    organization = await Organization.get(id=customer.organization_id)
    assert organization.plan == "free" and organization.limits == LIMITS["free"]
    changes = [event.data for event in recorder.of("billing.subscription_changed")]
    assert changes == [
        {"plan": "enterprise", "status": "active"},
        {"plan": "enterprise", "status": "past_due"},
        {"plan": "enterprise", "status": "canceled"},
    ]
    audit = await AuditLog.filter(
        action="billing.organization_plan_changed", organization_id=customer.organization_id
    ).order_by("created_at")
    assert [(entry.data["from"], entry.data["to"]) for entry in audit] == [
        ("free", "enterprise"),
        ("enterprise", "free"),
    ]

    admin = await make_user("org_admin", organization=organization)
    listed = await (await client.get("/api/v1/billing/subscriptions", headers=admin.headers)).get_json()
    assert [(item["stripe_subscription_id"], item["status"]) for item in listed["items"]] == [(sub_id, "canceled")]


async def test_invoice_and_payment_states_only_move_forward(send_webhook, customer):
    now = int(time.time())
    paid = make_event("invoice.paid", invoice_object(customer, "in_test_order", "paid"), created=now)
    assert (await (await send_webhook(paid)).get_json())["outcome"] == "applied"
    late_created = make_event("invoice.created", invoice_object(customer, "in_test_order", "draft"), created=now - 5)
    assert (await (await send_webhook(late_created)).get_json())["outcome"] == "stale"
    same_second_open = make_event("invoice.finalized", invoice_object(customer, "in_test_order", "open"), created=now)
    assert (await (await send_webhook(same_second_open)).get_json())["outcome"] == "stale"
    invoice = await BillingInvoice.get(stripe_invoice_id="in_test_order")
    assert (invoice.status, invoice.amount_paid, invoice.number) == ("paid", 4900, "VT-0001")
    assert invoice.lines[0]["amount"] == 4900

    intent = {
        "id": "pi_test_order",
        "object": "payment_intent",
        "customer": customer.stripe_customer_id,
        "amount": 4900,
        "currency": "usd",
    }
    failed = make_event(
        "payment_intent.payment_failed",
        {
            **intent,
            "status": "requires_payment_method",
            "last_payment_error": {"message": "Your card has insufficient funds."},
        },
        created=now - 20,
    )
    assert (await (await send_webhook(failed)).get_json())["outcome"] == "applied"
    payment = await BillingPayment.get(stripe_payment_intent_id="pi_test_order")
    assert (payment.status, payment.failure_reason) == ("failed", "Your card has insufficient funds.")
    succeeded = make_event(
        "payment_intent.succeeded",
        {**intent, "status": "succeeded", "latest_charge": "ch_test_order"},
        created=now - 10,
    )
    assert (await (await send_webhook(succeeded)).get_json())["outcome"] == "applied"
    late_failure = make_event(
        "payment_intent.payment_failed",
        {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "late"}},
        created=now - 15,
    )
    assert (await (await send_webhook(late_failure)).get_json())["outcome"] == "stale"
    refunded = make_event(
        "charge.refunded",
        {
            "id": "ch_test_order",
            "object": "charge",
            "customer": customer.stripe_customer_id,
            "payment_intent": "pi_test_order",
            "amount": 4900,
            "amount_refunded": 4900,
            "currency": "usd",
        },
        created=now,
    )
    assert (await (await send_webhook(refunded)).get_json())["outcome"] == "applied"
    payment = await BillingPayment.get(stripe_payment_intent_id="pi_test_order")
    assert (payment.status, payment.amount_refunded, payment.failure_reason) == ("refunded", 4900, None)


async def test_webhook_needs_no_credentials_but_a_secret(send_webhook, client, customer):
    event = make_event(
        "payment_intent.succeeded",
        {
            "id": "pi_public",
            "object": "payment_intent",
            "customer": customer.stripe_customer_id,
            "amount": 100,
            "currency": "usd",
            "status": "succeeded",
        },
    )
    response = await send_webhook(event, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200  # public: credentials are neither needed nor checked
    ok = await send_webhook(make_event("payment_intent.succeeded", {**event["data"]["object"], "id": "pi_public_2"}))
    assert ok.status_code == 200
    assert WEBHOOK_SECRET not in (await ok.get_data(as_text=True))
