"""Registration and login: no self-chosen roles, password policy, lockout, no enumeration."""

from __future__ import annotations

import statistics
import time

from .conftest import PASSWORD, audit_actions, bearer, create_member, login


async def test_register_creates_an_organization_with_the_user_as_org_admin(client, events):
    response = await client.post(
        "/api/v1/register",
        json={
            "email": "Founder@Example.com",
            "password": PASSWORD,
            "first_name": "Ada",
            "organization_name": "Acme Labs",
        },
    )
    assert response.status_code == 201
    body = await response.get_json()
    assert body["user"]["email"] == "founder@example.com"
    assert body["user"]["role"] == "org_admin"
    assert body["user"]["email_verified"] is False
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert (await me.get_json())["organization_id"] == body["user"]["organization_id"]
    organization = await client.get(
        f"/api/v1/organizations/{body['user']['organization_id']}", headers=bearer(body["access_token"])
    )
    assert (await organization.get_json())["slug"] == "acme-labs"
    names = [name for name, _data, _kw in events]
    assert "auth.user_registered" in names and "auth.verification_requested" in names


async def test_register_duplicate_email_is_409_case_insensitively(client):
    assert (
        await client.post("/api/v1/register", json={"email": "dup@example.com", "password": PASSWORD})
    ).status_code == 201
    response = await client.post("/api/v1/register", json={"email": "DUP@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"


async def test_register_refuses_role_and_organization_fields(client, member):
    other = await member()
    for extra in ({"role": "super_admin"}, {"organization_id": str(other.organization.id)}, {"is_active": True}):
        response = await client.post(
            "/api/v1/register", json={"email": "climber@example.com", "password": PASSWORD, **extra}
        )
        assert response.status_code == 422, extra
    assert (await login(client, "climber@example.com")).status_code == 401


async def test_register_password_policy_and_bad_input(client):
    short = await client.post("/api/v1/register", json={"email": "short@example.com", "password": "tiny"})
    assert short.status_code == 422
    assert "at least 10" in (await short.get_json())["detail"]
    same = await client.post(
        "/api/v1/register", json={"email": "same.address@example.com", "password": "Same.Address@example.com"}
    )
    assert same.status_code == 422
    assert "email" in (await same.get_json())["errors"][0]["msg"]
    assert (
        await client.post("/api/v1/register", json={"email": "not-an-email", "password": PASSWORD})
    ).status_code == 422
    bad_json = await client.post("/api/v1/register", data="{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400


async def test_login_json_form_and_opaque(client, member):
    actor = await member()
    response = await login(client, actor.email.upper())
    assert response.status_code == 200
    body = await response.get_json()
    assert body["token_type"] == "bearer" and body["access_token"].count(".") == 2
    form = await client.post("/api/v1/login", form={"username": actor.email, "password": PASSWORD})
    assert form.status_code == 200
    opaque = await login(client, actor.email, token_format="opaque")
    token = (await opaque.get_json())["access_token"]
    assert "." not in token
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200


async def test_login_failures_are_401_problems_and_audited(app, client, member):
    actor = await member()
    wrong = await login(client, actor.email, "wrong password!")
    assert wrong.status_code == 401
    assert wrong.content_type == "application/problem+json"
    unknown = await login(client, "nobody@example.com", "wrong password!")
    assert unknown.status_code == 401
    assert (await wrong.get_json())["detail"] == (await unknown.get_json())["detail"]
    assert (await login(client, actor.email, token_format="paseto")).status_code == 422
    assert (await client.post("/api/v1/login", json={"email": actor.email})).status_code == 422
    assert (await client.post("/api/v1/login", form={"username": actor.email})).status_code == 422
    assert await audit_actions(app, action="auth.login_failed") == ["auth.login_failed", "auth.login_failed"]
    assert (await login(client, actor.email)).status_code == 200
    assert "auth.login_succeeded" in await audit_actions(app, target_id=actor.id)


async def test_bcrypt_hash_is_accepted_and_upgraded_to_argon2(app, client, member):
    import bcrypt

    from vetrai.plugins.auth.models import User

    actor = await member()
    async with app.app.app_context():
        legacy = bcrypt.hashpw(b"legacy password 123", bcrypt.gensalt(rounds=4)).decode()
        await User.filter(id=actor.user.id).update(password_hash=legacy)
    assert (await login(client, actor.email, "legacy password 123")).status_code == 200
    async with app.app.app_context():
        assert (await User.get(id=actor.user.id)).password_hash.startswith("$argon2id$")
    assert (await login(client, actor.email, "legacy password 123")).status_code == 200


async def test_unknown_email_costs_about_as_much_as_a_wrong_password(client, member):
    """Generous tolerance: both paths verify one argon2 hash, so the means are close."""
    actor = await member()

    async def mean(email: str) -> float:
        samples = []
        for _ in range(4):
            started = time.perf_counter()
            assert (await login(client, email, "wrong password!")).status_code == 401
            samples.append(time.perf_counter() - started)
        return statistics.mean(samples)

    await mean("warmup@example.com")
    known = await mean(actor.email)
    unknown = await mean("nobody-here@example.com")
    assert unknown > known * 0.4, (known, unknown)
    assert unknown < known * 2.5, (known, unknown)


async def test_account_lockout_gives_429_with_retry_after_and_is_audited(custom_app):
    test_app = await custom_app({"lockout_account_failures": 3, "lockout_seconds": 120})
    client = test_app.test_client()
    victim = await create_member(test_app)
    bystander = await create_member(test_app)
    for _ in range(3):
        assert (await login(client, victim.email, "guess guess guess")).status_code == 401
    locked = await login(client, victim.email)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 120
    assert locked.content_type == "application/problem+json"
    assert (await login(client, victim.email.upper())).status_code == 429
    assert (await login(client, bystander.email)).status_code == 200
    assert await audit_actions(test_app, action="auth.lockout") == ["auth.lockout"]
    unknown = [await login(client, "ghost@example.com", "guess guess guess") for _ in range(4)]
    assert [response.status_code for response in unknown] == [401, 401, 401, 429]


async def test_ip_lockout_counts_failures_across_accounts(custom_app):
    test_app = await custom_app({"lockout_ip_failures": 3, "lockout_seconds": 60}, trusted_proxies=1)
    client = test_app.test_client()
    actor = await create_member(test_app)
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for number in range(3):
        response = await client.post(
            "/api/v1/login",
            json={"email": f"target{number}@example.com", "password": "guess guess guess"},
            headers=attacker,
        )
        assert response.status_code == 401
    blocked = await client.post("/api/v1/login", json={"email": actor.email, "password": PASSWORD}, headers=attacker)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    office = await client.post(
        "/api/v1/login", json={"email": actor.email, "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.2"}
    )
    assert office.status_code == 200
    entries = await audit_actions(test_app, action="auth.lockout")
    assert entries == ["auth.lockout"]


async def test_successful_logins_and_registrations_are_not_throttled_by_default(custom_app):
    test_app = await custom_app({"lockout_ip_failures": 3, "lockout_account_failures": 3})
    client = test_app.test_client()
    actor = await create_member(test_app)
    for _ in range(5):
        assert (await login(client, actor.email)).status_code == 200
    for number in range(4):
        response = await client.post(
            "/api/v1/register", json={"email": f"team{number}@example.com", "password": PASSWORD}
        )
        assert response.status_code == 201


async def test_configured_login_and_registration_limits(custom_app):
    test_app = await custom_app({"login_rate_limit_per_ip": 2, "register_rate_limit_per_ip": 1})
    client = test_app.test_client()
    actor = await create_member(test_app)
    assert (await login(client, actor.email)).status_code == 200
    assert (await login(client, actor.email)).status_code == 200
    limited = await login(client, actor.email)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert (
        await client.post("/api/v1/register", json={"email": "one@example.com", "password": PASSWORD})
    ).status_code == 201
    assert (
        await client.post("/api/v1/register", json={"email": "two@example.com", "password": PASSWORD})
    ).status_code == 429
