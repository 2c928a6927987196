"""Refresh rotation with reuse detection and a grace window; logout; RFC 7009 and RFC 7662."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import audit_actions, bearer, create_member


async def _refresh(client, token: str):
    return await client.post("/api/v1/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_the_new_pair_works(client, member):
    actor = await member()
    response = await _refresh(client, actor.tokens["refresh_token"])
    assert response.status_code == 200
    pair = await response.get_json()
    assert pair["refresh_token"] != actor.tokens["refresh_token"]
    assert pair["access_token"] != actor.tokens["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(pair["access_token"]))).status_code == 200
    again = await _refresh(client, pair["refresh_token"])
    assert again.status_code == 200


async def test_retry_within_grace_gets_the_same_pair(client, member):
    actor = await member()
    first = await (await _refresh(client, actor.tokens["refresh_token"])).get_json()
    retry = await _refresh(client, actor.tokens["refresh_token"])
    assert retry.status_code == 200
    assert await retry.get_json() == first
    assert (await _refresh(client, first["refresh_token"])).status_code == 200


async def test_reuse_after_the_successor_was_used_revokes_the_family(app, client, member):
    actor = await member()
    first = await (await _refresh(client, actor.tokens["refresh_token"])).get_json()
    second = await (await _refresh(client, first["refresh_token"])).get_json()
    stolen = await _refresh(client, actor.tokens["refresh_token"])
    assert stolen.status_code == 401
    assert "reuse" in (await stolen.get_json())["detail"]
    assert (await _refresh(client, second["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status_code == 401
    assert "auth.token_reuse_detected" in await audit_actions(app)


async def test_reuse_after_the_grace_window_revokes_the_family(custom_app):
    test_app = await custom_app({"refresh_reuse_grace_seconds": 0})
    client = test_app.test_client()
    actor = await create_member(test_app, token_format="opaque")
    first = await (await _refresh(client, actor.tokens["refresh_token"])).get_json()
    assert "." not in first["access_token"]
    assert (await _refresh(client, actor.tokens["refresh_token"])).status_code == 401
    assert (await _refresh(client, first["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(first["access_token"]))).status_code == 401


async def test_idle_and_absolute_lifetimes(app, client, member):
    from vetrai.plugins.auth.models import RefreshToken, Session

    idle = await member()
    absolute = await member()
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with app.app.app_context():
        await RefreshToken.filter(session__user_id=idle.user.id).update(expires_at=past)
        await Session.filter(user_id=absolute.user.id).update(expires_at=past)
    assert (await _refresh(client, idle.tokens["refresh_token"])).status_code == 401
    assert (await _refresh(client, absolute.tokens["refresh_token"])).status_code == 401


async def test_refresh_respects_configured_idle_ttl(custom_app):
    from vetrai.plugins.auth.models import RefreshToken

    test_app = await custom_app({"refresh_idle_ttl_seconds": 60, "refresh_absolute_ttl_seconds": 3600})
    actor = await create_member(test_app)
    async with test_app.app.app_context():
        row = await RefreshToken.get(session__user_id=actor.user.id)
        assert row.expires_at <= datetime.now(UTC) + timedelta(seconds=61)


async def test_invalid_refresh_requests(client):
    assert (await _refresh(client, "not-a-token")).status_code == 401
    assert (await client.post("/api/v1/refresh", json={})).status_code == 422


async def test_logout_kills_the_jwt_and_the_family(app, client, member):
    actor = await member()
    other_device = await login_pair(client, actor)
    response = await client.post("/api/v1/logout", headers=actor.headers)
    assert response.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert (await _refresh(client, actor.tokens["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(other_device["access_token"]))).status_code == 200
    assert "auth.logout" in await audit_actions(app)
    assert (await client.post("/api/v1/logout")).status_code == 401


async def test_logout_of_an_opaque_token_with_an_explicit_refresh_token(client, member):
    actor = await member(token_format="opaque")
    other = await login_pair(client, actor)
    response = await client.post(
        "/api/v1/logout", json={"refresh_token": other["refresh_token"]}, headers=actor.headers
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert (await _refresh(client, other["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 401


async def test_logout_cannot_revoke_another_users_session(client, member):
    actor = await member()
    victim = await member()
    response = await client.post(
        "/api/v1/logout", json={"refresh_token": victim.tokens["refresh_token"]}, headers=actor.headers
    )
    assert response.status_code == 204
    assert (await _refresh(client, victim.tokens["refresh_token"])).status_code == 200


async def login_pair(client, actor) -> dict:
    response = await client.post("/api/v1/login", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200
    return await response.get_json()


async def test_revoke_refresh_token_form_encoded_revokes_the_family(client, member):
    actor = await member()
    response = await client.post(
        "/api/v1/revoke", form={"token": actor.tokens["refresh_token"], "token_type_hint": "refresh_token"}
    )
    assert response.status_code == 200
    assert (await _refresh(client, actor.tokens["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401


async def test_revoke_access_tokens_as_json_and_any_invalid_token_is_still_200(client, member):
    actor = await member()
    opaque = await member(token_format="opaque")
    assert (await client.post("/api/v1/revoke", json={"token": actor.tokens["access_token"]})).status_code == 200
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert (await _refresh(client, actor.tokens["refresh_token"])).status_code == 200
    response = await client.post(
        "/api/v1/revoke", json={"token": opaque.tokens["access_token"], "token_type_hint": "access_token"}
    )
    assert response.status_code == 200
    assert (await client.get("/api/v1/me", headers=opaque.headers)).status_code == 401
    for body in ({"token": "garbage"}, {"token": "a.b.c"}):
        assert (await client.post("/api/v1/revoke", json=body)).status_code == 200
    # A request that names no token is malformed (RFC 7009 invalid_request), not an invalid token.
    for body in ({}, {"token_type_hint": "access_token"}):
        assert (await client.post("/api/v1/revoke", json=body)).status_code == 422
    assert (
        await client.post("/api/v1/revoke", data="{", headers={"Content-Type": "application/json"})
    ).status_code == 400


async def test_introspect_describes_active_tokens_of_the_callers_organization(client, member):
    caller = await member()
    colleague = await member("org_admin", caller.organization)
    outsider = await member()
    response = await client.post(
        "/api/v1/introspect", form={"token": colleague.tokens["access_token"]}, headers=caller.headers
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert body["active"] is True and body["sub"] == colleague.id and body["token_type"] == "access_token"
    assert body["role"] == "org_admin" and "auth:write" in body["scope"].split()
    assert body["exp"] > body["iat"] and body["jti"] and body["sid"]
    refresh = await client.post(
        "/api/v1/introspect",
        json={"token": colleague.tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=caller.headers,
    )
    assert (await refresh.get_json())["token_type"] == "refresh_token"
    foreign = await client.post(
        "/api/v1/introspect", json={"token": outsider.tokens["access_token"]}, headers=caller.headers
    )
    assert await foreign.get_json() == {"active": False}


async def test_introspect_is_inactive_for_anything_invalid_and_needs_a_caller(client, member):
    caller = await member()
    opaque = await member(token_format="opaque", organization=caller.organization)
    active = await client.post(
        "/api/v1/introspect", json={"token": opaque.tokens["access_token"]}, headers=caller.headers
    )
    assert (await active.get_json())["active"] is True
    await client.post("/api/v1/revoke", json={"token": opaque.tokens["access_token"]})
    for token in (opaque.tokens["access_token"], "garbage", "a.b.c"):
        response = await client.post("/api/v1/introspect", json={"token": token}, headers=caller.headers)
        assert response.status_code == 200
        assert await response.get_json() == {"active": False}
    assert (await client.post("/api/v1/introspect", json={"token": ""}, headers=caller.headers)).status_code == 422
    await client.post("/api/v1/logout", headers=bearer((await login_pair(client, caller))["access_token"]))
    assert (await client.post("/api/v1/introspect", json={"token": caller.tokens["access_token"]})).status_code == 401


async def test_super_admin_may_introspect_any_organizations_token(client, member):
    root = await member("super_admin")
    outsider = await member()
    response = await client.post(
        "/api/v1/introspect", json={"token": outsider.tokens["access_token"]}, headers=root.headers
    )
    assert (await response.get_json())["active"] is True
