"""Password reset and email verification through one-time tokens and domain events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from .conftest import PASSWORD, audit_actions, bearer, login, request_reset, settle


def _last(events, name):
    matching = [(data, kwargs) for event, data, kwargs in events if event == name]
    assert matching, f"no {name} event"
    return matching[-1]


async def test_reset_request_is_202_for_known_and_unknown_addresses(app, client, member, events):
    actor = await member()
    known = await request_reset(client, actor.email.upper())
    unknown = await request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert await known.get_json() == await unknown.get_json()
    assert [name for name, _, _ in events] == ["auth.password_reset_requested"]
    data, kwargs = _last(events, "auth.password_reset_requested")
    assert data["user_id"] == actor.id and data["email"] == actor.email and data["token"]
    assert data["reset_url"].startswith("https://app.example.com/reset-password?token=")
    assert parse_qs(urlparse(data["reset_url"]).query)["token"] == [data["token"]]
    assert kwargs["organization_id"] == actor.organization.id
    assert (await client.post("/api/v1/password-reset", json={"email": "not an email"})).status_code == 422
    assert "auth.password_reset_requested" in await audit_actions(app)


async def test_reset_confirm_sets_the_password_once_and_revokes_sessions(app, client, member, events):
    from vetrai.plugins.auth.models import OneTimeToken

    actor = await member()
    await request_reset(client, actor.email)
    token = _last(events, "auth.password_reset_requested")[0]["token"]
    async with app.app.app_context():
        stored = await OneTimeToken.get(user_id=actor.user.id, purpose="reset")
        assert stored.token_hash != token and len(stored.token_hash) == 64
    weak = await client.post("/api/v1/password-reset/confirm", json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    response = await client.post(
        "/api/v1/password-reset/confirm", json={"token": token, "new_password": "a fresh password"}
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    assert (
        await client.post("/api/v1/refresh", json={"refresh_token": actor.tokens["refresh_token"]})
    ).status_code == 401
    assert (await login(client, actor.email)).status_code == 401
    assert (await login(client, actor.email, "a fresh password")).status_code == 200
    reused = await client.post(
        "/api/v1/password-reset/confirm", json={"token": token, "new_password": "another password"}
    )
    assert reused.status_code == 400
    assert (
        await client.post("/api/v1/password-reset/confirm", json={"token": "bogus", "new_password": "another password"})
    ).status_code == 400
    assert "auth.password_reset" in await audit_actions(app)
    assert _last(events, "auth.password_changed")[0]["user_id"] == actor.id


async def test_expired_and_superseded_reset_tokens_are_refused(app, client, member, events):
    from vetrai.plugins.auth.models import OneTimeToken

    actor = await member()
    await request_reset(client, actor.email)
    first = _last(events, "auth.password_reset_requested")[0]["token"]
    await request_reset(client, actor.email)
    second = _last(events, "auth.password_reset_requested")[0]["token"]
    assert (
        await client.post("/api/v1/password-reset/confirm", json={"token": first, "new_password": "a fresh password"})
    ).status_code == 400
    async with app.app.app_context():
        await OneTimeToken.filter(user_id=actor.user.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (
        await client.post("/api/v1/password-reset/confirm", json={"token": second, "new_password": "a fresh password"})
    ).status_code == 400
    assert (await login(client, actor.email, PASSWORD)).status_code == 200


async def test_reset_requests_are_throttled_per_account_silently(client, member, events):
    actor = await member()
    for _ in range(7):
        assert (await client.post("/api/v1/password-reset", json={"email": actor.email})).status_code == 202
    await settle(client)
    assert len([name for name, _, _ in events if name == "auth.password_reset_requested"]) == 5


async def test_verify_email_after_registration(client, events):
    registered = await (
        await client.post("/api/v1/register", json={"email": "verify@example.com", "password": PASSWORD})
    ).get_json()
    headers = bearer(registered["access_token"])
    data, _ = _last(events, "auth.verification_requested")
    assert data["email"] == "verify@example.com" and data["user_id"] == registered["user"]["id"]
    assert data["verify_url"] == f"https://app.example.com/verify-email?token={data['token']}"
    assert (await client.post("/api/v1/verify-email", json={"token": "bogus"})).status_code == 400
    assert (await client.post("/api/v1/verify-email", json={"token": data["token"]})).status_code == 204
    assert (await (await client.get("/api/v1/me", headers=headers)).get_json())["email_verified"] is True
    assert (await client.post("/api/v1/verify-email", json={"token": data["token"]})).status_code == 400
    assert (await client.post("/api/v1/verify-email/resend", headers=headers)).status_code == 409


async def test_resend_verification_replaces_the_previous_link(client, events):
    registered = await (
        await client.post("/api/v1/register", json={"email": "resend@example.com", "password": PASSWORD})
    ).get_json()
    headers = bearer(registered["access_token"])
    first = _last(events, "auth.verification_requested")[0]["token"]
    response = await client.post("/api/v1/verify-email/resend", headers=headers)
    assert response.status_code == 202
    second = _last(events, "auth.verification_requested")[0]["token"]
    assert second != first
    assert (await client.post("/api/v1/verify-email", json={"token": first})).status_code == 400
    assert (await client.post("/api/v1/verify-email", json={"token": second})).status_code == 204
    assert (await client.post("/api/v1/verify-email/resend")).status_code == 401
