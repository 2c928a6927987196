"""Organizations: role rules, tenant isolation (404 across tenants) and deactivation."""

from __future__ import annotations

import uuid

from vetrai.core.errors import ProblemError
from vetrai.core.tenancy import ensure_quota


async def test_super_admin_creates_lists_and_reads(client, make_user):
    root = await make_user("super_admin")
    created = await client.post(
        "/api/v1/organizations", json={"name": "Acme Corp", "limits": {"max_users": 3}}, headers=root.headers
    )
    assert created.status_code == 201
    body = await created.get_json()
    assert body["slug"] == "acme-corp"
    assert body["limits"]["max_users"] == 3
    assert body["limits"]["max_api_keys"] == 5
    duplicate = await client.post(
        "/api/v1/organizations", json={"name": "Other", "slug": "acme-corp"}, headers=root.headers
    )
    assert duplicate.status_code == 409
    listed = await (await client.get("/api/v1/organizations", headers=root.headers)).get_json()
    assert body["id"] in {item["id"] for item in listed["items"]}
    fetched = await client.get(f"/api/v1/organizations/{body['id']}", headers=root.headers)
    assert (await fetched.get_json())["name"] == "Acme Corp"


async def test_derived_slugs_stay_unique(client, make_user):
    root = await make_user("super_admin")
    first = await (await client.post("/api/v1/organizations", json={"name": "Same"}, headers=root.headers)).get_json()
    second = await (await client.post("/api/v1/organizations", json={"name": "Same"}, headers=root.headers)).get_json()
    assert first["slug"] == "same"
    assert second["slug"].startswith("same-") and second["slug"] != first["slug"]


async def test_members_see_only_their_own_organization(client, make_user):
    admin = await make_user("org_admin")
    stranger = await make_user("org_admin")
    listed = await (await client.get("/api/v1/organizations", headers=admin.headers)).get_json()
    assert [item["id"] for item in listed["items"]] == [admin.organization_id]
    other = await client.get(f"/api/v1/organizations/{stranger.organization_id}", headers=admin.headers)
    assert other.status_code == 404
    update_other = await client.put(
        f"/api/v1/organizations/{stranger.organization_id}", json={"name": "Hijacked"}, headers=admin.headers
    )
    assert update_other.status_code == 404
    missing = await client.get(f"/api/v1/organizations/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404


async def test_org_admin_updates_name_but_not_plan_or_limits(client, make_user):
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    renamed = await client.put(url, json={"name": "Renamed", "settings": {"locale": "de"}}, headers=admin.headers)
    assert renamed.status_code == 200
    body = await renamed.get_json()
    assert body["name"] == "Renamed" and body["settings"] == {"locale": "de"}
    for change in ({"plan": "enterprise"}, {"limits": {"max_users": 1000}}, {"is_active": False}):
        refused = await client.put(url, json=change, headers=admin.headers)
        assert refused.status_code == 403, change
    unchanged = await (await client.get(url, headers=admin.headers)).get_json()
    assert unchanged["plan"] == "free"


async def test_plain_member_reads_but_cannot_update(client, make_user):
    admin = await make_user("org_admin")
    member = await make_user("user", organization=admin.organization)
    url = f"/api/v1/organizations/{admin.organization_id}"
    assert (await client.get(url, headers=member.headers)).status_code == 200
    assert (await client.put(url, json={"name": "Mine now"}, headers=member.headers)).status_code == 403


async def test_partial_update_keeps_fields_not_sent(client, make_user):
    root = await make_user("super_admin")
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    await client.put(url, json={"plan": "pro", "limits": {"max_users": 50}}, headers=root.headers)
    body = await (await client.put(url, json={"limits": {"max_api_keys": 9}}, headers=root.headers)).get_json()
    assert body["plan"] == "pro"
    assert body["limits"]["max_users"] == 50 and body["limits"]["max_api_keys"] == 9


async def test_only_super_admin_creates_and_an_org_admin_deletes_only_by_confirming(client, make_user):
    admin = await make_user("org_admin")
    assert (await client.post("/api/v1/organizations", json={"name": "X"}, headers=admin.headers)).status_code == 403
    deleted = await client.delete(f"/api/v1/organizations/{admin.organization_id}", headers=admin.headers)
    assert deleted.status_code == 403


async def test_deleting_erases_and_locks_members_out_at_once(client, make_user):
    root = await make_user("super_admin")
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200
    assert (await client.delete(url, headers=root.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401
    assert (await client.get(url, headers=root.headers)).status_code == 404
    everything = await (
        await client.get("/api/v1/organizations?include_inactive=true", headers=root.headers)
    ).get_json()
    assert admin.organization_id not in {item["id"] for item in everything["items"]}


async def test_deactivating_keeps_the_data_and_locks_members_out(client, make_user):
    root = await make_user("super_admin")
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    assert (await client.put(url, json={"is_active": False}, headers=root.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401
    listed = await (await client.get("/api/v1/organizations", headers=root.headers)).get_json()
    assert admin.organization_id not in {item["id"] for item in listed["items"]}
    still_visible = await client.get(url, headers=root.headers)
    assert (await still_visible.get_json())["is_active"] is False


async def test_list_paginates_with_cursor(client, make_user, make_org):
    root = await make_user("super_admin")
    for index in range(4):
        await make_org(f"Paged {index}")
    first = await (await client.get("/api/v1/organizations?limit=2", headers=root.headers)).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await (
        await client.get(f"/api/v1/organizations?limit=2&cursor={first['next_cursor']}", headers=root.headers)
    ).get_json()
    assert not {item["id"] for item in first["items"]} & {item["id"] for item in second["items"]}
    assert (await client.get("/api/v1/organizations?limit=500", headers=root.headers)).status_code == 422
    assert (await client.get("/api/v1/organizations?cursor=%%%", headers=root.headers)).status_code == 400


async def test_ensure_quota_raises_quota_exceeded(app, make_org):
    organization = await make_org(limits={"max_api_keys": 2})
    await ensure_quota(organization, "max_api_keys", 1)
    try:
        await ensure_quota(organization, "max_api_keys", 2)
    except ProblemError as problem:
        assert problem.status == 403
        assert problem.body()["type"].endswith("quota-exceeded")
        assert problem.body()["maximum"] == 2
    else:
        raise AssertionError("quota was not enforced")


async def test_null_in_an_update_changes_nothing(client, make_user):
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    response = await client.put(url, json={"name": None, "settings": None}, headers=admin.headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert (await response.get_json())["name"] == admin.organization.name
