"""Attacks on accounts: keeping a victim locked out, timing the reset form, squatting the platform.

Each test repeats an attack an adversarial review made against a running server, then
variants of the same kind: they fail on the code before the fix and pass after it.
"""

from __future__ import annotations

import asyncio
import logging

from .conftest import PASSWORD, create_member, login, request_reset


def record_events(test_app, monkeypatch) -> list[tuple[str, dict]]:
    platform = test_app.app.extensions["vetrai"]
    recorded: list[tuple[str, dict]] = []
    original = platform.events.emit

    async def emit(name, data=None, **kwargs):
        recorded.append((name, data or {}))
        return await original(name, data, **kwargs)

    monkeypatch.setattr(platform.events, "emit", emit)
    return recorded


async def _reset_token(client, events, email):
    await request_reset(client, email)
    return [data for name, data in events if name == "auth.password_reset_requested"][-1]["token"]


async def test_a_completed_password_reset_ends_the_lockout(custom_app, monkeypatch):
    test_app = await custom_app({"lockout_account_failures": 3, "lockout_seconds": 900}, trusted_proxies=1)
    client = test_app.test_client()
    events = record_events(test_app, monkeypatch)
    victim = await create_member(test_app)
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    victim_ip = {"X-Forwarded-For": "198.51.100.10"}
    for _ in range(3):
        await client.post("/api/v1/login", json={"email": victim.email, "password": "guess"}, headers=victim_ip)
    locked = await client.post("/api/v1/login", json={"email": victim.email, "password": PASSWORD}, headers=victim_ip)
    assert locked.status_code == 429
    token = await _reset_token(client, events, victim.email)
    confirmed = await client.post(
        "/api/v1/password-reset/confirm", json={"token": token, "new_password": "a brand new password"}
    )
    assert confirmed.status_code == 204
    for headers in (victim_ip, attacker):
        response = await client.post(
            "/api/v1/login", json={"email": victim.email, "password": "a brand new password"}, headers=headers
        )
        assert response.status_code == 200


async def test_an_attacker_repeating_bad_logins_cannot_keep_the_victim_out(custom_app):
    test_app = await custom_app({"lockout_account_failures": 3, "lockout_seconds": 900}, trusted_proxies=1)
    client = test_app.test_client()
    victim = await create_member(test_app)
    for number in range(12):  # any email case, from the attacker's address
        email = victim.email.upper() if number % 2 else victim.email
        await client.post(
            "/api/v1/login",
            json={"email": email, "password": "guess guess"},
            headers={"X-Forwarded-For": "203.0.113.66"},
        )
    blocked = await client.post(
        "/api/v1/login",
        json={"email": victim.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.66"},
    )
    assert blocked.status_code == 429  # the guesser waits
    at_home = await client.post(
        "/api/v1/login",
        json={"email": victim.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.10"},
    )
    assert at_home.status_code == 200  # the owner does not


async def test_each_further_failure_waits_longer(custom_app):
    from vetrai.plugins.auth.lockout import delay_for

    assert [delay_for(n, 2, 5, 900) for n in (1, 2, 3, 4, 10, 99)] == [0, 5, 10, 20, 900, 900]
    test_app = await custom_app({"lockout_account_failures": 2, "lockout_delay_seconds": 5, "lockout_seconds": 900})
    client = test_app.test_client()
    victim = await create_member(test_app)
    for _ in range(2):
        assert (await login(client, victim.email, "guess guess")).status_code == 401
    first = await login(client, victim.email)
    assert first.status_code == 429 and 1 <= int(first.headers["Retry-After"]) <= 5


async def test_reset_requests_answer_before_any_lookup(client, member, monkeypatch):
    """Known and unknown addresses get their 202 before the account is even looked up."""
    from vetrai.plugins.auth import recovery

    actor = await member()
    release = asyncio.Event()
    started: list[str] = []

    async def slow(email: str) -> None:
        started.append(email)
        await release.wait()

    monkeypatch.setattr(recovery, "request_password_reset", slow)
    known = await client.post("/api/v1/password-reset", json={"email": actor.email})
    unknown = await client.post("/api/v1/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert await known.get_json() == await unknown.get_json()
    release.set()
    background = client.app.extensions["vetrai"].state["auth"].background
    await asyncio.gather(*list(background))
    assert started == [actor.email, "nobody@example.com"]


async def test_a_self_registered_platform_organization_never_gets_the_super_admin(app, client, settings):
    from vetrai.core.models import Organization
    from vetrai.plugins.auth.cli import create_superuser
    from vetrai.plugins.auth.models import User

    squatter = await client.post(
        "/api/v1/register",
        json={"email": "squatter@example.com", "password": PASSWORD, "organization_name": "Platform"},
    )
    assert squatter.status_code == 201
    squatter_org = (await squatter.get_json())["user"]["organization_id"]
    platform = app.app.extensions["vetrai"]
    async with app.app.app_context():
        assert (await Organization.get(id=squatter_org)).is_platform is False
        root = await create_superuser(platform, "root@example.com", "a very long root password")
        second = await create_superuser(platform, "root2@example.com", "a very long root password")
        home = await Organization.get(id=root.organization_id)
        assert home.is_platform and str(home.id) != squatter_org
        assert second.organization_id == root.organization_id
        assert await User.filter(organization_id=squatter_org).count() == 1
    token = (await (await login(client, "squatter@example.com")).get_json())["access_token"]
    users = await (await client.get("/api/v1/users?limit=200", headers={"Authorization": f"Bearer {token}"})).get_json()
    assert [user["email"] for user in users["items"]] == ["squatter@example.com"]


async def test_registration_cannot_set_the_platform_flag(client):
    response = await client.post(
        "/api/v1/register",
        json={"email": "flag@example.com", "password": PASSWORD, "is_platform": True, "organization_name": "platform"},
    )
    if response.status_code == 201:
        from vetrai.core.models import Organization

        organization_id = (await response.get_json())["user"]["organization_id"]
        assert (await Organization.get(id=organization_id)).is_platform is False
    else:
        assert response.status_code == 422


async def test_production_warns_when_forwarded_headers_arrive_untrusted(app, client, caplog, monkeypatch):
    monkeypatch.setattr(app.app.extensions["vetrai"].settings, "env", "production")
    with caplog.at_level(logging.WARNING, logger="vetrai"):
        await client.get("/health", headers={"X-Forwarded-For": "203.0.113.9"})
        await client.get("/health", headers={"X-Forwarded-For": "203.0.113.9"})
    warnings = [record for record in caplog.records if "VETRAI_TRUSTED_PROXIES" in record.getMessage()]
    assert len(warnings) == 1
