"""Your own account: profile, password change and sessions."""

from __future__ import annotations

from .conftest import PASSWORD, audit_actions, bearer, login


async def test_get_and_update_profile(client, member):
    actor = await member()
    me = await (await client.get("/api/v1/me", headers=actor.headers)).get_json()
    assert set(me) == {
        "id",
        "email",
        "role",
        "organization_id",
        "first_name",
        "last_name",
        "email_verified",
        "is_active",
        "created_at",
        "updated_at",
    }
    response = await client.put("/api/v1/me", json={"first_name": "Grace"}, headers=actor.headers)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["first_name"] == "Grace" and body["last_name"] == ""
    response = await client.put("/api/v1/me", json={"last_name": "Hopper"}, headers=actor.headers)
    assert (await response.get_json())["first_name"] == "Grace"


async def test_profile_update_cannot_change_role_email_or_organization(client, member):
    actor = await member()
    other = await member()
    for change in (
        {"role": "super_admin"},
        {"email": "new@example.com"},
        {"organization_id": str(other.organization.id)},
        {"is_active": True},
    ):
        response = await client.put("/api/v1/me", json=change, headers=actor.headers)
        assert response.status_code == 422, change
    me = await (await client.get("/api/v1/me", headers=actor.headers)).get_json()
    assert me["role"] == "user" and me["organization_id"] == str(actor.organization.id)
    assert (await client.put("/api/v1/me", json={"first_name": "x" * 101}, headers=actor.headers)).status_code == 422


async def test_change_password_revokes_other_sessions_only(app, client, member, events):
    actor = await member()
    other = await (await login(client, actor.email)).get_json()
    wrong = await client.post(
        "/api/v1/change-password",
        json={"current_password": "not my password", "new_password": "brand new password"},
        headers=actor.headers,
    )
    assert wrong.status_code == 400
    weak = await client.post(
        "/api/v1/change-password", json={"current_password": PASSWORD, "new_password": "short"}, headers=actor.headers
    )
    assert weak.status_code == 422
    response = await client.post(
        "/api/v1/change-password",
        json={"current_password": PASSWORD, "new_password": "brand new password"},
        headers=actor.headers,
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 401
    assert (await client.post("/api/v1/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 401
    assert (
        await client.post("/api/v1/refresh", json={"refresh_token": actor.tokens["refresh_token"]})
    ).status_code == 200
    assert (await login(client, actor.email)).status_code == 401
    assert (await login(client, actor.email, "brand new password")).status_code == 200
    assert ("auth.password_changed", {"user_id": actor.id, "email": actor.email}) in [(n, d) for n, d, _ in events]
    assert "auth.password_changed" in await audit_actions(app)


async def test_change_password_with_opaque_token_keeps_the_current_session(client, member):
    actor = await member(token_format="opaque")
    other = await (await login(client, actor.email, token_format="opaque")).get_json()
    response = await client.post(
        "/api/v1/change-password",
        json={"current_password": PASSWORD, "new_password": "brand new password"},
        headers=actor.headers,
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 401


async def test_sessions_list_and_revoke(client, member):
    actor = await member()
    other = await (
        await client.post(
            "/api/v1/login", json={"email": actor.email, "password": PASSWORD}, headers={"User-Agent": "PhoneApp/1.0"}
        )
    ).get_json()
    response = await client.get("/api/v1/me/sessions", headers=actor.headers)
    assert response.status_code == 200
    sessions = (await response.get_json())["items"]
    assert len(sessions) == 2
    assert [session["current"] for session in sessions].count(True) == 1
    phone = next(session for session in sessions if session["user_agent"] == "PhoneApp/1.0")
    assert phone["current"] is False and phone["last_used_at"] and phone["expires_at"]
    assert (await client.delete(f"/api/v1/me/sessions/{phone['id']}", headers=actor.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 401
    assert (await client.post("/api/v1/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 401
    remaining = (await (await client.get("/api/v1/me/sessions", headers=actor.headers)).get_json())["items"]
    assert [session["current"] for session in remaining] == [True]
    assert (await client.delete(f"/api/v1/me/sessions/{phone['id']}", headers=actor.headers)).status_code == 404
    assert (await client.delete("/api/v1/me/sessions/not-a-uuid", headers=actor.headers)).status_code == 404
    paged = await (await client.get("/api/v1/me/sessions?limit=0", headers=actor.headers)).get_json()
    assert paged["status"] == 422


async def test_cannot_see_or_revoke_another_users_session(client, member):
    actor = await member()
    victim = await member(organization=actor.organization)
    victims = (await (await client.get("/api/v1/me/sessions", headers=victim.headers)).get_json())["items"]
    assert (await client.delete(f"/api/v1/me/sessions/{victims[0]['id']}", headers=actor.headers)).status_code == 404
    assert (await client.get("/api/v1/me", headers=victim.headers)).status_code == 200
    mine = (await (await client.get("/api/v1/me/sessions", headers=actor.headers)).get_json())["items"]
    assert victims[0]["id"] not in {session["id"] for session in mine}
    assert (await client.get("/api/v1/me/sessions")).status_code == 401


async def test_wrong_current_passwords_lock_the_account(custom_app):
    from .conftest import create_member

    test_app = await custom_app({"lockout_account_failures": 2})
    client = test_app.test_client()
    actor = await create_member(test_app)
    body = {"current_password": "not my password", "new_password": "brand new password"}
    for _ in range(2):
        assert (await client.post("/api/v1/change-password", json=body, headers=actor.headers)).status_code == 400
    locked = await client.post(
        "/api/v1/change-password", json={**body, "current_password": PASSWORD}, headers=actor.headers
    )
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    # Whoever holds the session cannot lock the owner out of logging in.
    assert (await login(client, actor.email)).status_code == 200
