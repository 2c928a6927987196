"""Usage metering fed by domain events, reported to Stripe for metered plans; hosted flows.

localstripe has no billing meter events, Checkout or billing portal: ``stripe_stub`` (see
conftest) answers those three endpoints over real HTTP and records the requests, which is what
these tests inspect; everything else reaches localstripe.
"""

from __future__ import annotations

from vetrai.plugins.billing import service, tasks
from vetrai.plugins.billing.models import BillingUsage

METER_PATH = "/v1/billing/meter_events"


async def usage(client, actor) -> dict[str, dict]:
    response = await client.get("/api/v1/billing/usage", headers=actor.headers)
    assert response.status_code == 200
    return {item["metric"]: item for item in (await response.get_json())["items"]}


async def test_job_runs_and_api_key_requests_are_counted_per_period(client, app, platform, make_user, make_api_key):
    admin = await make_user("org_admin")
    other = await make_user("org_admin")
    for _ in range(2):
        await platform.events.emit(
            "engine.job_finished",
            {"job_id": "j", "template": "t", "status": "succeeded", "user_id": admin.id},
            organization_id=admin.organization.id,
        )
    await platform.events.emit(
        "engine.job_started", {"job_id": "j"}, organization_id=admin.organization.id
    )  # not a second count
    key = await make_api_key(admin, scopes=["billing:read"])
    for _ in range(3):
        assert (
            await client.get("/api/v1/billing/plans", headers={"Authorization": f"Bearer {key}"})
        ).status_code == 200
    flushed = await platform.state["keys"].usage.flush(platform)  # emits keys.usage_flushed
    assert sum(item["requests"] for item in flushed) == 3

    counted = await usage(client, admin)
    assert counted["job_runs"]["quantity"] == 2
    assert counted["api_requests"]["quantity"] == 3
    assert counted["job_runs"]["metered"] is False  # free plan: counted, not billed
    assert (await usage(client, other))["job_runs"]["quantity"] == 0

    body = await (await client.get("/api/v1/billing/usage", headers=admin.headers)).get_json()
    assert body["period"] == service.period_of() and body["period_start"] < body["period_end"]
    previous = await (await client.get("/api/v1/billing/usage?period=2020-01", headers=admin.headers)).get_json()
    assert all(item["quantity"] == 0 for item in previous["items"])


async def test_metered_usage_is_reported_once_with_idempotency_keys(client, app, platform, make_user, stripe_stub):
    admin = await make_user("org_admin")
    flat = await make_user("org_admin")
    for actor, plan in ((admin, "enterprise"), (flat, "pro")):
        created = await client.post(
            "/api/v1/billing/subscriptions",
            json={"plan": plan, "payment_method": "pm_card_visa"},
            headers=actor.headers,
        )
        assert created.status_code == 201, await created.get_data(as_text=True)
    customer_id = (await created.get_json())["stripe_customer_id"]
    await service.add_usage(admin.organization.id, "job_runs", 4)
    await service.add_usage(admin.organization.id, "api_requests", 10)
    await service.add_usage(flat.organization.id, "job_runs", 7)

    async with app.app.app_context():
        assert await tasks.report_usage() == 2
    sent = stripe_stub.named(METER_PATH)
    assert len(sent) == 2
    by_event = {entry["form"]["event_name"]: entry for entry in sent}
    assert set(by_event) == {"vetrai_job_runs", "vetrai_api_requests"}
    assert by_event["vetrai_job_runs"]["form"]["payload[value]"] == "4"
    assert by_event["vetrai_api_requests"]["form"]["payload[value]"] == "10"
    assert by_event["vetrai_job_runs"]["form"]["payload[stripe_customer_id]"] != customer_id  # the enterprise org's own
    for entry in sent:
        assert entry["headers"]["Idempotency-Key"] == entry["form"]["identifier"]
    counted = await usage(client, admin)
    assert counted["job_runs"]["reported_quantity"] == 4 and counted["job_runs"]["metered"] is True

    assert await service.report_usage(platform) == 0  # nothing new: nothing sent
    await service.add_usage(admin.organization.id, "job_runs", 3)
    assert await service.report_usage(platform) == 1
    latest = stripe_stub.named(METER_PATH)[-1]
    assert latest["form"]["payload[value]"] == "3"
    assert latest["form"]["identifier"] not in {entry["form"]["identifier"] for entry in sent}
    flat_row = await BillingUsage.get(organization_id=flat.organization.id, metric="job_runs")
    assert flat_row.reported_quantity == 0  # pro is not metered

    # A run that died after claiming a total resends exactly that delta under the same key.
    row = await BillingUsage.get(organization_id=admin.organization.id, metric="api_requests")
    await BillingUsage.filter(id=row.id).update(reporting_quantity=12, quantity=15)
    assert await service.report_usage(platform) == 1  # the claimed 2 first...
    assert await service.report_usage(platform) == 1  # ...then the 3 counted after it
    resent, after = stripe_stub.named(METER_PATH)[-2:]
    assert resent["form"]["identifier"].endswith("-10-12") and resent["form"]["payload[value]"] == "2"
    assert after["form"]["identifier"].endswith("-12-15") and after["form"]["payload[value]"] == "3"


async def test_checkout_and_portal_sessions(client, make_user, stripe_stub):
    admin = await make_user("billing_admin")
    checkout = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": "pro", "success_url": "https://app.example.com/ok"},
        headers=admin.headers,
    )
    assert checkout.status_code == 201, await checkout.get_data(as_text=True)
    assert (await checkout.get_json())["url"].startswith("https://checkout.stripe.com/")
    form = stripe_stub.named("/v1/checkout/sessions")[-1]["form"]
    assert form["mode"] == "subscription" and form["line_items[0][plan]"] == "vetrai_pro_monthly"
    assert form["client_reference_id"] == admin.organization_id and form["success_url"] == "https://app.example.com/ok"
    assert form["customer"].startswith("cus_")

    portal = await client.post("/api/v1/billing/portal", headers=admin.headers)
    assert portal.status_code == 201
    assert (await portal.get_json())["url"].startswith("https://billing.stripe.com/")
    assert stripe_stub.named("/v1/billing_portal/sessions")[-1]["form"]["customer"] == form["customer"]
    assert (
        await client.post("/api/v1/billing/portal", json={"return_url": "ftp://x"}, headers=admin.headers)
    ).status_code == 422
    assert (
        await client.post("/api/v1/billing/checkout", json={"plan": "free"}, headers=admin.headers)
    ).status_code == 422

    subscribed = await client.post(
        "/api/v1/billing/subscriptions", json={"plan": "pro", "payment_method": "pm_card_visa"}, headers=admin.headers
    )
    assert subscribed.status_code == 201
    assert (
        await client.post("/api/v1/billing/checkout", json={"plan": "enterprise"}, headers=admin.headers)
    ).status_code == 409
