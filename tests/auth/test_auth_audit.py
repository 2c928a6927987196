"""The audit log: scoped to the organization, filterable, paginated."""

from __future__ import annotations

from .conftest import login


async def test_org_admin_sees_its_organizations_entries_only(client, member):
    admin = await member("org_admin")
    outsider = await member("org_admin")
    assert (await login(client, admin.email, "wrong password!")).status_code == 401
    assert (await login(client, admin.email)).status_code == 200
    assert (await login(client, outsider.email)).status_code == 200
    response = await client.get("/api/v1/audit-logs", headers=admin.headers)
    assert response.status_code == 200
    items = (await response.get_json())["items"]
    actions = [item["action"] for item in items]
    assert actions[:2] == ["auth.login_succeeded", "auth.login_failed"]
    assert {item["organization_id"] for item in items} == {str(admin.organization.id)}
    failed = next(item for item in items if item["action"] == "auth.login_failed")
    assert failed["target_id"] == admin.id and failed["data"]["email"] == admin.email and failed["ip"]
    foreign = await client.get(f"/api/v1/audit-logs?organization_id={outsider.organization.id}", headers=admin.headers)
    assert (await foreign.get_json())["items"] == []


async def test_super_admin_sees_all_and_filters(client, member):
    root = await member("super_admin")
    admin = await member("org_admin")
    await login(client, admin.email)
    await login(client, "ghost@example.com", "wrong password!")
    everything = [
        item["action"]
        for item in (await (await client.get("/api/v1/audit-logs", headers=root.headers)).get_json())["items"]
    ]
    assert "auth.login_failed" in everything and "auth.login_succeeded" in everything
    scoped = await client.get(
        f"/api/v1/audit-logs?organization_id={admin.organization.id}&action=auth.login_succeeded", headers=root.headers
    )
    items = (await scoped.get_json())["items"]
    assert len(items) == 1 and items[0]["actor_id"] == admin.id
    by_actor = await client.get(f"/api/v1/audit-logs?actor_id={admin.id}", headers=root.headers)
    assert [item["action"] for item in (await by_actor.get_json())["items"]] == ["auth.login_succeeded"]
    page = await (await client.get("/api/v1/audit-logs?limit=1", headers=root.headers)).get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    nxt = await (
        await client.get(f"/api/v1/audit-logs?limit=1&cursor={page['next_cursor']}", headers=root.headers)
    ).get_json()
    assert nxt["items"][0]["id"] != page["items"][0]["id"]
    assert (await client.get("/api/v1/audit-logs?cursor=%%%", headers=root.headers)).status_code == 400


async def test_other_roles_cannot_read_the_audit_log(client, member):
    for role in ("user", "support_agent", "billing_admin"):
        actor = await member(role)
        assert (await client.get("/api/v1/audit-logs", headers=actor.headers)).status_code == 403
    assert (await client.get("/api/v1/audit-logs")).status_code == 401
