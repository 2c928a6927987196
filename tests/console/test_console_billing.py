"""Billing in the console: the plans list for everyone, Stripe actions for managers only.

No Stripe is configured here (the billing tests run localstripe, which has no Checkout or
portal): the page must list the plans and turn the API's 503 into a readable page.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.console.conftest import PASSWORD, PLUGINS
from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=[*PLUGINS, "billing"])


async def test_plans_are_listed_and_checkout_without_stripe_is_explained(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    response = await browser.get("/console/billing")
    assert response.status_code == 200
    plans = (await (await client.get("/api/v1/billing/plans", headers=admin["headers"])).get_json())["items"]
    for plan in plans:
        assert f'data-plan="{plan["name"]}"' in browser.last_html
    assert 'data-plan="free"><td><strong>' in browser.last_html.replace("\n", "").replace("  ", "")
    assert "current</span>" in browser.last_html
    paid = next(plan for plan in plans if plan["stripe_price_id"])
    checkout = await browser.submit("/console/billing", "/console/billing/checkout", {"plan": paid["name"]})
    assert checkout.status_code == 503 and "<h1>" in browser.last_html


async def test_a_plain_user_sees_plans_but_no_stripe_actions(browser_client, register, client):
    admin = await register()
    created = await client.post(
        "/api/v1/users",
        json={"email": "reader@example.com", "password": PASSWORD, "role": "user", "email_verified": True},
        headers=admin["headers"],
    )
    assert created.status_code == 201
    browser = browser_client()
    await browser.sign_in("reader@example.com")
    response = await browser.get("/console/billing")
    assert response.status_code == 200
    assert 'data-plan="free"' in browser.last_html
    assert "/console/billing/checkout" not in browser.last_html and "Invoices" not in browser.last_html
