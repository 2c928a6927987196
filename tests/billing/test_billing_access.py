"""Who may see and change billing, and tenant isolation (another organization's objects are 404)."""

from __future__ import annotations

import uuid

import pytest

from vetrai.plugins.billing.models import BillingInvoice, BillingPayment, BillingSubscription

LIST_PATHS = (
    "/api/v1/billing/subscriptions",
    "/api/v1/billing/invoices",
    "/api/v1/billing/payments",
    "/api/v1/billing/usage",
)


@pytest.fixture
async def other_org_objects(make_org):
    """A subscription, an invoice and a payment of another organization."""
    organization = await make_org()
    suffix = uuid.uuid4().hex[:8]
    subscription = await BillingSubscription.create(
        organization=organization,
        stripe_subscription_id=f"sub_other_{suffix}",
        stripe_customer_id="cus_other",
        plan="pro",
        status="active",
    )
    invoice = await BillingInvoice.create(
        organization=organization, stripe_invoice_id=f"in_other_{suffix}", status="paid", lines=[]
    )
    payment = await BillingPayment.create(
        organization=organization, stripe_payment_intent_id=f"pi_other_{suffix}", status="succeeded"
    )
    return organization, subscription, invoice, payment


async def test_without_credentials_is_401(client):
    for path in (*LIST_PATHS, "/api/v1/billing/plans"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert "WWW-Authenticate" in response.headers
    assert (await client.post("/api/v1/billing/subscriptions", json={"plan": "pro"})).status_code == 401
    assert (await client.post("/api/v1/billing/portal")).status_code == 401


@pytest.mark.parametrize("role", ["user", "support_agent"])
async def test_other_roles_are_403(client, make_user, role):
    member = await make_user(role)
    for path in LIST_PATHS:
        assert (await client.get(path, headers=member.headers)).status_code == 403, path
    response = await client.post("/api/v1/billing/subscriptions", json={"plan": "pro"}, headers=member.headers)
    assert response.status_code == 403
    assert (
        await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=member.headers)
    ).status_code == 403


@pytest.mark.parametrize("role", ["org_admin", "billing_admin"])
async def test_managers_read_billing(client, make_user, role):
    manager = await make_user(role)
    for path in LIST_PATHS:
        response = await client.get(path, headers=manager.headers)
        assert response.status_code == 200, path


async def test_another_organizations_objects_are_404_and_not_listed(client, make_user, other_org_objects):
    _organization, subscription, invoice, payment = other_org_objects
    admin = await make_user("org_admin")
    for path in (
        f"/api/v1/billing/subscriptions/{subscription.id}",
        f"/api/v1/billing/invoices/{invoice.id}",
        f"/api/v1/billing/payments/{payment.id}",
        f"/api/v1/billing/invoices/{uuid.uuid4()}",
    ):
        response = await client.get(path, headers=admin.headers)
        assert response.status_code == 404, path
    cancel = await client.post(f"/api/v1/billing/subscriptions/{subscription.id}/cancel", headers=admin.headers)
    assert cancel.status_code == 404
    for path in LIST_PATHS[:3]:
        assert (await (await client.get(path, headers=admin.headers)).get_json())["items"] == []
    # The other organization's own admin sees them; a super_admin sees every organization's.
    owner = await make_user("billing_admin", organization=_organization)
    assert (await client.get(f"/api/v1/billing/invoices/{invoice.id}", headers=owner.headers)).status_code == 200
    root = await make_user("super_admin")
    listed = await (await client.get("/api/v1/billing/subscriptions", headers=root.headers)).get_json()
    assert str(subscription.id) in {item["id"] for item in listed["items"]}


async def test_api_keys_need_the_billing_scopes(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    reader = await make_api_key(admin, scopes=["billing:read"])
    other = await make_api_key(admin, scopes=["keys:read"])
    assert (
        await client.get("/api/v1/billing/invoices", headers={"Authorization": f"Bearer {reader}"})
    ).status_code == 200
    denied = await client.post(
        "/api/v1/billing/subscriptions", json={"plan": "pro"}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert denied.status_code == 403
    assert (
        await client.get("/api/v1/billing/invoices", headers={"Authorization": f"Bearer {other}"})
    ).status_code == 403
    scopes = await (await client.get("/api/v1/keys/scopes", headers=admin.headers)).get_json()
    assert {"billing:read", "billing:write"} <= {item["scope"] for item in scopes["items"]}


async def test_list_queries_are_validated(client, make_user):
    admin = await make_user("org_admin")
    assert (await client.get("/api/v1/billing/invoices?limit=0", headers=admin.headers)).status_code == 422
    assert (await client.get("/api/v1/billing/usage?period=2026-13", headers=admin.headers)).status_code == 422
