"""Subscribing, invoices, payments and cancelling against a real localstripe, end to end.

localstripe delivers its signed webhooks to the test app served over real HTTP, so the whole
loop (subscribe -> invoice -> payment -> webhook -> organization plan) runs as in production.
"""

from __future__ import annotations

from vetrai.core.models import Organization
from vetrai.plugins.billing.models import BillingCustomer, BillingWebhookEvent
from vetrai.plugins.billing.settings import DEFAULT_PLANS

from .conftest import wait_until

PRO_LIMITS = next(plan for plan in DEFAULT_PLANS if plan.name == "pro").limits
FREE_LIMITS = next(plan for plan in DEFAULT_PLANS if plan.name == "free").limits


async def test_plans_are_listed_with_price_stripe_id_and_limits(client, make_user):
    user = await make_user("user")
    response = await client.get("/api/v1/billing/plans", headers=user.headers)
    assert response.status_code == 200
    plans = {plan["name"]: plan for plan in (await response.get_json())["items"]}
    assert set(plans) == {"free", "pro", "enterprise"}
    assert plans["pro"]["amount"] == 4900 and plans["pro"]["stripe_price_id"] == "vetrai_pro_monthly"
    assert plans["pro"]["limits"] == PRO_LIMITS
    assert plans["free"]["stripe_price_id"] is None
    assert plans["enterprise"]["metered"] == ["api_requests", "job_runs", "llm_tokens"]
    assert (await client.get("/api/v1/billing/plans")).status_code == 401


async def test_subscribe_invoice_payment_cancel_loop(client, make_user, recorder, localstripe_webhooks):
    admin = await make_user("org_admin")
    created = await client.post(
        "/api/v1/billing/subscriptions", json={"plan": "pro", "payment_method": "pm_card_visa"}, headers=admin.headers
    )
    assert created.status_code == 201, await created.get_data(as_text=True)
    subscription = await created.get_json()
    assert subscription["plan"] == "pro" and subscription["status"] == "active"
    assert subscription["stripe_subscription_id"].startswith("sub_")
    assert subscription["current_period_end"] > subscription["current_period_start"]
    customer = await BillingCustomer.get(organization_id=admin.organization.id)
    assert customer.stripe_customer_id == subscription["stripe_customer_id"]

    organization = await Organization.get(id=admin.organization.id)
    assert organization.plan == "pro" and organization.limits == PRO_LIMITS
    assert [event.data for event in recorder.of("billing.subscription_changed")] == [
        {"plan": "pro", "status": "active"}
    ]

    # localstripe's webhooks arrive: the invoice and the payment appear.
    async def paid_invoice():
        items = (await (await client.get("/api/v1/billing/invoices", headers=admin.headers)).get_json())["items"]
        return items if items and items[0]["status"] == "paid" else None

    invoices = await wait_until(paid_invoice)
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["amount_due"] == 4900 and invoice["amount_paid"] == 4900 and invoice["currency"] == "usd"
    assert invoice["stripe_subscription_id"] == subscription["stripe_subscription_id"]
    assert invoice["lines"][0]["amount"] == 4900 and invoice["period_start"] is not None
    one = await client.get(f"/api/v1/billing/invoices/{invoice['id']}", headers=admin.headers)
    assert (await one.get_json())["id"] == invoice["id"]

    async def succeeded_payment():
        items = (await (await client.get("/api/v1/billing/payments", headers=admin.headers)).get_json())["items"]
        return items if items and items[0]["status"] == "succeeded" else None

    payments = await wait_until(succeeded_payment)
    assert payments[0]["amount"] == 4900 and payments[0]["failure_reason"] is None
    payment = await client.get(f"/api/v1/billing/payments/{payments[0]['id']}", headers=admin.headers)
    assert payment.status_code == 200
    await wait_until(
        lambda: BillingWebhookEvent.filter(type="customer.subscription.created", outcome="applied").exists()
    )

    # One subscription at a time.
    again = await client.post("/api/v1/billing/subscriptions", json={"plan": "enterprise"}, headers=admin.headers)
    assert again.status_code == 409

    # Cancel at the end of the period: the plan stays until then.
    path = f"/api/v1/billing/subscriptions/{subscription['id']}"
    later = await client.post(f"{path}/cancel", headers=admin.headers)
    assert later.status_code == 200
    assert (await later.get_json())["cancel_at_period_end"] is True
    assert (await later.get_json())["status"] == "active"
    assert (await Organization.get(id=admin.organization.id)).plan == "pro"

    # Cancel now: back to the free plan and its limits, confirmed by the deleted webhook.
    now = await client.post(f"{path}/cancel", json={"at_period_end": False}, headers=admin.headers)
    assert now.status_code == 200
    assert (await now.get_json())["status"] == "canceled"
    organization = await Organization.get(id=admin.organization.id)
    assert organization.plan == "free" and organization.limits == FREE_LIMITS
    assert recorder.of("billing.subscription_changed")[-1].data == {"plan": "pro", "status": "canceled"}
    await wait_until(
        lambda: BillingWebhookEvent.filter(type="customer.subscription.deleted", outcome="applied").exists()
    )
    assert (await (await client.get(path, headers=admin.headers)).get_json())["status"] == "canceled"
    assert (await client.post(f"{path}/cancel", headers=admin.headers)).status_code == 409

    listed = await (await client.get("/api/v1/billing/subscriptions", headers=admin.headers)).get_json()
    assert [item["id"] for item in listed["items"]] == [subscription["id"]]

    # A new subscription after the old one ended reuses the customer.
    renewed = await client.post("/api/v1/billing/subscriptions", json={"plan": "enterprise"}, headers=admin.headers)
    assert renewed.status_code == 201, await renewed.get_data(as_text=True)
    assert (await renewed.get_json())["stripe_customer_id"] == customer.stripe_customer_id
    assert (await Organization.get(id=admin.organization.id)).plan == "enterprise"


async def test_declined_card_is_402_and_nothing_is_kept(client, make_user, recorder):
    admin = await make_user("billing_admin")
    declined = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan": "pro", "payment_method": "pm_card_visa_chargeDeclined"},
        headers=admin.headers,
    )
    assert declined.status_code == 402
    problem = await declined.get_json()
    assert declined.content_type == "application/problem+json"
    assert problem["type"].endswith("card-declined") and "declined" in problem["detail"]
    listed = await (await client.get("/api/v1/billing/subscriptions", headers=admin.headers)).get_json()
    assert listed["items"] == []
    assert (await Organization.get(id=admin.organization.id)).plan == "free"
    assert recorder.of("billing.subscription_changed") == []

    retried = await client.post(
        "/api/v1/billing/subscriptions", json={"plan": "pro", "payment_method": "pm_card_visa"}, headers=admin.headers
    )
    assert retried.status_code == 201


async def test_subscription_input_is_validated(client, make_user):
    admin = await make_user("org_admin")
    for body in ({"plan": "platinum"}, {"plan": "free"}, {}, {"plan": "pro", "extra": 1}):
        response = await client.post("/api/v1/billing/subscriptions", json=body, headers=admin.headers)
        assert response.status_code == 422, body
    unknown_card = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan": "pro", "payment_method": "pm_does_not_exist"},
        headers=admin.headers,
    )
    assert unknown_card.status_code == 422
    assert (await unknown_card.get_json())["type"].endswith("stripe-invalid-request")
    bad_cancel = await client.post("/api/v1/billing/subscriptions/not-a-uuid/cancel", headers=admin.headers)
    assert bad_cancel.status_code == 404


async def test_stripe_unreachable_is_503_not_500(client, make_user, platform):
    from vetrai.plugins.billing import stripe_api
    from vetrai.plugins.billing.settings import BillingSettings

    from .conftest import free_port

    rt = platform.state["billing"]
    broken = BillingSettings(stripe_api_key="sk_test_x", stripe_api_base=f"http://127.0.0.1:{free_port()}")
    saved = rt.stripe, rt.http_client
    rt.stripe, rt.http_client = stripe_api.build_client(broken)
    try:
        admin = await make_user("org_admin")
        response = await client.post("/api/v1/billing/subscriptions", json={"plan": "pro"}, headers=admin.headers)
        assert response.status_code == 503
        problem = await response.get_json()
        assert problem["type"].endswith("stripe-unavailable") and response.headers["Retry-After"] == "5"
    finally:
        await stripe_api.close_client(rt.http_client)
        rt.stripe, rt.http_client = saved


async def test_concurrent_subscribes_make_one_subscription(client, make_user):
    import asyncio

    admin = await make_user("org_admin")
    body = {"plan": "pro", "payment_method": "pm_card_visa"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/billing/subscriptions", json=body, headers=admin.headers) for _ in range(2))
    )
    assert sorted(response.status_code for response in responses) == [201, 409]
    listed = await (await client.get("/api/v1/billing/subscriptions", headers=admin.headers)).get_json()
    assert len(listed["items"]) == 1
