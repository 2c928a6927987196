"""Managing users: tenant isolation, role rules, quotas and the last org_admin."""

from __future__ import annotations

import uuid

from .conftest import PASSWORD, audit_actions, login


def _new(role: str = "user", **extra) -> dict:
    return {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "role": role, **extra}


async def test_org_admin_lists_only_its_organization(client, member):
    admin = await member("org_admin")
    colleague = await member("user", admin.organization)
    outsider = await member()
    response = await client.get("/api/v1/users", headers=admin.headers)
    assert response.status_code == 200
    ids = {user["id"] for user in (await response.get_json())["items"]}
    assert ids == {admin.id, colleague.id}
    foreign = await client.get(f"/api/v1/users?organization_id={outsider.organization.id}", headers=admin.headers)
    assert (await foreign.get_json())["items"] == []
    filtered = await client.get("/api/v1/users?role=user", headers=admin.headers)
    assert [user["id"] for user in (await filtered.get_json())["items"]] == [colleague.id]
    page = await (await client.get("/api/v1/users?limit=1", headers=admin.headers)).get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await (
        await client.get(f"/api/v1/users?limit=1&cursor={page['next_cursor']}", headers=admin.headers)
    ).get_json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == ids


async def test_super_admin_lists_everyone_and_filters_by_organization(client, member):
    root = await member("super_admin")
    outsider = await member()
    everyone = {
        user["id"] for user in (await (await client.get("/api/v1/users", headers=root.headers)).get_json())["items"]
    }
    assert {root.id, outsider.id} <= everyone
    one = await client.get(f"/api/v1/users?organization_id={outsider.organization.id}", headers=root.headers)
    assert [user["id"] for user in (await one.get_json())["items"]] == [outsider.id]


async def test_plain_users_cannot_manage_users(client, member):
    actor = await member("user")
    colleague = await member("user", actor.organization)
    assert (await client.get("/api/v1/users", headers=actor.headers)).status_code == 403
    assert (await client.get(f"/api/v1/users/{colleague.id}", headers=actor.headers)).status_code == 403
    assert (await client.post("/api/v1/users", json=_new(), headers=actor.headers)).status_code == 403
    assert (
        await client.put(f"/api/v1/users/{actor.id}", json={"role": "org_admin"}, headers=actor.headers)
    ).status_code == 403
    assert (await client.delete(f"/api/v1/users/{colleague.id}", headers=actor.headers)).status_code == 403
    for role in ("support_agent", "billing_admin"):
        other = await member(role, actor.organization)
        assert (await client.post("/api/v1/users", json=_new("org_admin"), headers=other.headers)).status_code == 403


async def test_org_admin_creates_users_with_grantable_roles(app, client, member):
    admin = await member("org_admin")
    response = await client.post("/api/v1/users", json=_new("support_agent", first_name="Sam"), headers=admin.headers)
    assert response.status_code == 201
    body = await response.get_json()
    assert body["role"] == "support_agent" and body["organization_id"] == str(admin.organization.id)
    assert (await login(client, body["email"])).status_code == 200
    assert (await client.post("/api/v1/users", json=_new("super_admin"), headers=admin.headers)).status_code == 403
    assert (await client.post("/api/v1/users", json=_new("emperor"), headers=admin.headers)).status_code == 422
    assert (
        await client.post("/api/v1/users", json={**_new(), "email": body["email"]}, headers=admin.headers)
    ).status_code == 409
    assert (
        await client.post("/api/v1/users", json={**_new(), "password": "short"}, headers=admin.headers)
    ).status_code == 422
    assert "auth.user_created" in await audit_actions(app)


async def test_org_admin_cannot_add_users_to_another_organization(client, member):
    admin = await member("org_admin")
    outsider = await member()
    response = await client.post(
        "/api/v1/users", json=_new(organization_id=str(outsider.organization.id)), headers=admin.headers
    )
    assert response.status_code == 404
    own = await client.post(
        "/api/v1/users", json=_new(organization_id=str(admin.organization.id)), headers=admin.headers
    )
    assert own.status_code == 201


async def test_super_admin_creates_users_anywhere_including_super_admins(client, member):
    root = await member("super_admin")
    outsider = await member()
    response = await client.post(
        "/api/v1/users", json=_new("org_admin", organization_id=str(outsider.organization.id)), headers=root.headers
    )
    assert response.status_code == 201
    assert (await response.get_json())["organization_id"] == str(outsider.organization.id)
    assert (await client.post("/api/v1/users", json=_new("super_admin"), headers=root.headers)).status_code == 201
    missing = await client.post("/api/v1/users", json=_new(organization_id=str(uuid.uuid4())), headers=root.headers)
    assert missing.status_code == 404


async def test_max_users_quota(client, member, make_org):
    organization = await make_org(limits={"max_users": 2})
    admin = await member("org_admin", organization)
    assert (await client.post("/api/v1/users", json=_new(), headers=admin.headers)).status_code == 201
    response = await client.post("/api/v1/users", json=_new(), headers=admin.headers)
    assert response.status_code == 403
    assert (await response.get_json())["type"].endswith("quota-exceeded")


async def test_cross_organization_access_is_404(client, member):
    admin = await member("org_admin")
    outsider = await member("org_admin")
    assert (await client.get(f"/api/v1/users/{outsider.id}", headers=admin.headers)).status_code == 404
    assert (
        await client.put(f"/api/v1/users/{outsider.id}", json={"first_name": "x"}, headers=admin.headers)
    ).status_code == 404
    assert (await client.delete(f"/api/v1/users/{outsider.id}", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin.headers)).status_code == 404
    assert (await client.get("/api/v1/users/not-a-uuid", headers=admin.headers)).status_code == 404
    own = await client.get(f"/api/v1/users/{admin.id}", headers=admin.headers)
    assert own.status_code == 200 and (await own.get_json())["email"] == admin.email


async def test_update_roles_and_privilege_escalation(app, client, member):
    admin = await member("org_admin")
    actor = await member("user", admin.organization)
    promoted = await client.put(
        f"/api/v1/users/{actor.id}", json={"role": "billing_admin", "last_name": "Lovelace"}, headers=admin.headers
    )
    assert promoted.status_code == 200
    body = await promoted.get_json()
    assert body["role"] == "billing_admin" and body["last_name"] == "Lovelace"
    assert (
        await client.put(f"/api/v1/users/{actor.id}", json={"role": "super_admin"}, headers=admin.headers)
    ).status_code == 403
    assert (
        await client.put(f"/api/v1/users/{admin.id}", json={"role": "super_admin"}, headers=admin.headers)
    ).status_code == 403
    other_org = await member()
    moved = await client.put(
        f"/api/v1/users/{actor.id}", json={"organization_id": str(other_org.organization.id)}, headers=admin.headers
    )
    assert moved.status_code == 403
    assert (
        await client.put(f"/api/v1/users/{actor.id}", json={"password_hash": "x"}, headers=admin.headers)
    ).status_code == 422
    assert "auth.role_changed" in await audit_actions(app)


async def test_org_admin_cannot_touch_a_super_admin(client, member):
    admin = await member("org_admin")
    root = await member("super_admin", admin.organization)
    assert (
        await client.put(f"/api/v1/users/{root.id}", json={"role": "user"}, headers=admin.headers)
    ).status_code == 403
    assert (
        await client.put(f"/api/v1/users/{root.id}", json={"is_active": False}, headers=admin.headers)
    ).status_code == 403
    assert (await client.delete(f"/api/v1/users/{root.id}", headers=admin.headers)).status_code == 403


async def test_last_org_admin_cannot_be_demoted_deactivated_or_deleted(client, member):
    admin = await member("org_admin")
    root = await member("super_admin")
    for actor in (admin, root):
        assert (
            await client.put(f"/api/v1/users/{admin.id}", json={"role": "user"}, headers=actor.headers)
        ).status_code == 409
        assert (
            await client.put(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=actor.headers)
        ).status_code == 409
        assert (await client.delete(f"/api/v1/users/{admin.id}", headers=actor.headers)).status_code == 409
    second = await member("org_admin", admin.organization)
    assert (
        await client.put(f"/api/v1/users/{admin.id}", json={"role": "user"}, headers=admin.headers)
    ).status_code == 200
    assert (await client.delete(f"/api/v1/users/{second.id}", headers=root.headers)).status_code == 409


async def test_super_admin_moves_a_user_between_organizations(client, member):
    root = await member("super_admin")
    actor = await member()
    target = await member("org_admin")
    response = await client.put(
        f"/api/v1/users/{actor.id}", json={"organization_id": str(target.organization.id)}, headers=root.headers
    )
    assert response.status_code == 200
    assert (await response.get_json())["organization_id"] == str(target.organization.id)
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401


async def test_deactivating_a_user_rejects_its_tokens_at_once(client, member):
    admin = await member("org_admin")
    actor = await member("user", admin.organization, token_format="opaque")
    response = await client.put(f"/api/v1/users/{actor.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200 and (await response.get_json())["is_active"] is False
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert (await login(client, actor.email)).status_code == 401
    assert (
        await client.post("/api/v1/refresh", json={"refresh_token": actor.tokens["refresh_token"]})
    ).status_code == 401


async def test_delete_user(app, client, member):
    admin = await member("org_admin")
    actor = await member("user", admin.organization)
    assert (await client.delete(f"/api/v1/users/{actor.id}", headers=admin.headers)).status_code == 204
    assert (await client.get(f"/api/v1/users/{actor.id}", headers=admin.headers)).status_code == 404
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert "auth.user_deleted" in await audit_actions(app)


async def test_deactivated_organization_rejects_its_members(client, member):
    root = await member("super_admin")
    admin = await member("org_admin")
    response = await client.delete(f"/api/v1/organizations/{admin.organization.id}", headers=root.headers)
    assert response.status_code in (200, 204)
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401
    assert (await login(client, admin.email)).status_code == 401


async def test_null_fields_in_an_update_change_nothing(client, member):
    admin = await member("org_admin")
    actor = await member("support_agent", admin.organization)
    response = await client.put(
        f"/api/v1/users/{actor.id}", json={"role": None, "first_name": None}, headers=admin.headers
    )
    assert response.status_code == 200
    assert (await response.get_json())["role"] == "support_agent"


async def test_created_unverified_users_get_a_verification_link(client, member, events):
    admin = await member("org_admin")
    created = await (await client.post("/api/v1/users", json=_new(), headers=admin.headers)).get_json()
    assert created["email_verified"] is False
    verification = [data for name, data, _ in events if name == "auth.verification_requested"]
    assert verification and verification[-1]["user_id"] == created["id"]
    verified = await (
        await client.post("/api/v1/users", json=_new(email_verified=True), headers=admin.headers)
    ).get_json()
    assert verified["email_verified"] is True
    assert len([name for name, _, _ in events if name == "auth.verification_requested"]) == 1
