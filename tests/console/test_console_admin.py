"""The super admin's organizations page: list, deactivate/reactivate, plan and limits; a 404 for anyone else."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import PASSWORD


async def super_admin(app: Any) -> Any:
    from tests.auth.conftest import create_member

    return await create_member(app, "super_admin", password=PASSWORD)


async def organization(client: Any, headers: dict[str, str], organization_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/organizations/{organization_id}", headers=headers)
    return await response.get_json()


async def test_super_admin_deactivates_reactivates_and_changes_the_plan(app, browser_client, register, client):
    root = await super_admin(app)
    tenant = await register("Tenant Co")
    tenant_org = tenant["user"]["organization_id"]
    browser = browser_client()
    await browser.sign_in(root.email)

    await browser.get("/console/admin")
    assert 'href="/console/admin"' in browser.last_html and "Tenant Co" in browser.last_html
    assert f'data-organization-id="{tenant_org}"' in browser.last_html

    off = await browser.submit("/console/admin", f"/console/admin/organizations/{tenant_org}", {"is_active": "false"})
    assert off.status_code == 303 and off.headers["Location"].endswith("?done=organization-updated")
    assert (await organization(client, root.headers, tenant_org))["is_active"] is False
    await browser.get("/console/admin")
    assert "Tenant Co" in browser.last_html and "Reactivate Tenant Co" in browser.last_html
    tenant_browser = browser_client()
    refused = await tenant_browser.sign_in(tenant["email"])
    assert refused.status_code != 303 or "/console/login" in refused.headers.get("Location", "")

    on = await browser.submit("/console/admin", f"/console/admin/organizations/{tenant_org}", {"is_active": "true"})
    assert on.status_code == 303
    assert (await organization(client, root.headers, tenant_org))["is_active"] is True

    plan = await browser.submit(
        "/console/admin",
        f"/console/admin/organizations/{tenant_org}",
        {"plan": "pro", "max_users": "25", "max_monthly_jobs": "", "max_api_keys": "7"},
    )
    assert plan.status_code == 303
    changed = await organization(client, root.headers, tenant_org)
    assert changed["plan"] == "pro" and changed["limits"]["max_users"] == 25 and changed["limits"]["max_api_keys"] == 7

    bad = await browser.submit(
        "/console/admin", f"/console/admin/organizations/{tenant_org}", {"plan": "pro", "max_users": "-3"}
    )
    assert bad.status_code == 422 and 'id="admin-error"' in browser.last_html
    assert (await organization(client, root.headers, tenant_org))["limits"]["max_users"] == 25


async def test_the_page_is_a_404_for_an_organization_admin(browser_client, register, client):
    admin = await register()
    other = await register("Other")
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/runs")
    assert 'href="/console/admin"' not in browser.last_html
    assert (await browser.get("/console/admin")).status_code == 404
    refused = await browser.submit(
        "/console/runs",
        f"/console/admin/organizations/{other['user']['organization_id']}",
        {"is_active": "false"},
    )
    assert refused.status_code == 404
    other_org = await organization(client, other["headers"], other["user"]["organization_id"])
    assert other_org["is_active"] is True


async def test_admin_actions_need_the_csrf_token(app, browser_client, register, client):
    root = await super_admin(app)
    tenant = await register("Tenant Co")
    browser = browser_client()
    await browser.sign_in(root.email)
    refused = await browser.post(
        f"/console/admin/organizations/{tenant['user']['organization_id']}", {"is_active": "false"}, csrf="forged"
    )
    assert refused.status_code == 403
    assert (await organization(client, root.headers, tenant["user"]["organization_id"]))["is_active"] is True
