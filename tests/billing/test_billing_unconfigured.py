"""Without a Stripe API key the server still starts; calls that need Stripe answer 503."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vetrai.core.config import Settings

from .conftest import billing_env, make_event


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Settings:
    billing_env(monkeypatch, None)  # a webhook secret, no API key
    return settings_factory(plugins=["auth", "billing"])


async def test_billing_without_stripe_key_is_503_but_the_rest_works(client, make_user, send_webhook):
    admin = await make_user("org_admin")
    assert (await client.get("/api/v1/billing/plans", headers=admin.headers)).status_code == 200
    assert (await client.get("/api/v1/billing/subscriptions", headers=admin.headers)).status_code == 200
    assert (await client.get("/api/v1/billing/usage", headers=admin.headers)).status_code == 200
    for path, body in (
        ("/api/v1/billing/subscriptions", {"plan": "pro"}),
        ("/api/v1/billing/checkout", {"plan": "pro"}),
        ("/api/v1/billing/portal", None),
    ):
        response = await (
            client.post(path, json=body, headers=admin.headers) if body else client.post(path, headers=admin.headers)
        )
        assert response.status_code == 503, path
        problem = await response.get_json()
        assert (
            problem["type"].endswith("billing-not-configured") and "VETRAI_BILLING_STRIPE_API_KEY" in problem["detail"]
        )
    # Webhooks only need the signing secret.
    event = make_event("invoice.paid", {"id": "in_x", "object": "invoice", "customer": "cus_unknown"})
    assert (await send_webhook(event)).status_code == 200


async def test_the_legacy_variable_names_are_read(monkeypatch):
    from vetrai.plugins.billing.settings import BillingSettings

    monkeypatch.setenv("VETRAI_STRIPE_API_KEY", "sk_test_legacy")
    monkeypatch.delenv("VETRAI_BILLING_STRIPE_API_KEY", raising=False)
    monkeypatch.setenv(
        "VETRAI_BILLING_PLANS",
        '[{"name": "solo", "amount": 900, "stripe_price_id": "price_123", "limits": {"max_users": 1}}]',
    )
    configured = BillingSettings()
    assert configured.stripe_api_key == "sk_test_legacy"
    assert [plan.name for plan in configured.all_plans] == ["solo"]
    monkeypatch.setenv("VETRAI_BILLING_PLANS", '[{"name": "solo", "limits": {"max_widgets": 1}}]')
    with pytest.raises(ValueError, match="unknown limits"):
        BillingSettings()
