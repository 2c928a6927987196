"""Authenticating with keys: formats, rejection, scopes vs the creator's role, rate limits, usage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from vetrai.plugins.auth.models import User
from vetrai.plugins.keys import service, tokens
from vetrai.plugins.keys.models import ApiKey, ApiKeyUsage
from vetrai.plugins.keys.ratelimit import MemoryRateLimiter

from .conftest import key_headers


async def key_id_of(client, key: str) -> str:
    return (await (await client.get("/api/v1/keys", headers=key_headers(key))).get_json())["items"][0]["id"]


def test_key_format_and_checksum():
    key = tokens.generate_key()
    assert key.startswith("vk_") and len(key) == 39 and tokens.well_formed(key)
    assert len(key) - 3 - 6 == 30  # 30 base62 characters: 178 bits
    broken = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert not tokens.well_formed(broken)
    flipped = key[:5] + ("x" if key[5] != "x" else "y") + key[6:]
    assert not tokens.well_formed(flipped)
    assert not tokens.well_formed(key + "0") and not tokens.well_formed("vk_" + "!" * 36)
    assert len({tokens.generate_key() for _ in range(1000)}) == 1000


async def test_gcra_memory_limiter(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("vetrai.plugins.keys.ratelimit.time.monotonic", lambda: clock[0])
    limiter = MemoryRateLimiter()
    decisions = [await limiter.hit("k", 3, 30) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after == 10 and decisions[2].reset_seconds == 30
    clock[0] += 10
    again = await limiter.hit("k", 3, 30)
    assert again.allowed and again.remaining == 0
    clock[0] += 30
    assert (await limiter.hit("k", 3, 30)).remaining == 2


async def test_bearer_and_x_api_key_give_the_key_principal(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    key = await make_api_key(admin, scopes=["auth:read", "keys:read", "organizations:read"])
    for header in ("bearer", "x-api-key"):
        response = await client.get("/api/v1/users", headers=key_headers(key, header))
        assert response.status_code == 200
        assert {item["id"] for item in (await response.get_json())["items"]} == {admin.id}
        assert response.headers["RateLimit-Limit"] == "600"
    organizations = await client.get("/api/v1/organizations", headers=key_headers(key))
    assert organizations.status_code == 200
    assert [item["id"] for item in (await organizations.get_json())["items"]] == [admin.organization_id]


async def test_key_is_refused_outside_its_scopes(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    key = await make_api_key(admin, scopes=["organizations:read"])
    for method, path in (("get", "/api/v1/users"), ("get", "/api/v1/keys"), ("post", "/api/v1/keys")):
        kwargs = {"json": {"name": "x", "scopes": []}} if method == "post" else {}
        response = await getattr(client, method)(path, headers=key_headers(key), **kwargs)
        assert response.status_code == 403, path
        assert (await response.get_json())["type"].endswith("insufficient-scope")
        assert "RateLimit-Remaining" in response.headers
    assert (await client.get("/api/v1/organizations", headers=key_headers(key))).status_code == 200


def _wrong_checksum() -> str:
    key = tokens.generate_key()
    return key[:-1] + ("1" if key[-1] == "0" else "0")


@pytest.mark.parametrize(
    "token",
    [
        "vk_" + "A" * 36,
        _wrong_checksum(),
        "vk_short",
    ],
)
async def test_malformed_keys_are_refused_before_any_database_work(client, make_user, monkeypatch, token):
    calls = []
    original = ApiKey.get_or_none

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(ApiKey, "get_or_none", spy)
    response = await client.get("/api/v1/keys", headers=key_headers(token))
    assert not tokens.well_formed(token)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert calls == []


async def test_unknown_revoked_expired_keys_get_the_same_401(client, make_user, make_api_key):
    user = await make_user("user")
    unknown = tokens.generate_key()
    key = await make_api_key(user, scopes=["keys:read", "keys:write"])
    key_id = await key_id_of(client, key)
    await client.delete(f"/api/v1/keys/{key_id}", headers=user.headers)
    details = set()
    for token in (unknown, key):
        response = await client.get("/api/v1/keys", headers=key_headers(token))
        assert response.status_code == 401
        details.add((await response.get_json())["detail"])
    assert details == {service.INVALID_KEY}


async def test_jwt_and_opaque_tokens_still_work_beside_keys(client, make_user):
    opaque = await make_user("user", token_format="opaque")
    assert (await client.get("/api/v1/keys", headers=opaque.headers)).status_code == 200
    jwt_user = await make_user("user")
    response = await client.get("/api/v1/keys", headers=jwt_user.headers)
    assert response.status_code == 200 and "RateLimit-Limit" not in response.headers


async def test_demoted_deactivated_and_deleted_creators(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    other_admin = await make_user("org_admin", organization=admin.organization)
    key = await make_api_key(admin, scopes=["auth:read", "keys:read"])
    assert (await client.get("/api/v1/users", headers=key_headers(key))).status_code == 200

    demoted = await client.put(f"/api/v1/users/{admin.id}", json={"role": "user"}, headers=other_admin.headers)
    assert demoted.status_code == 200
    assert (await client.get("/api/v1/users", headers=key_headers(key))).status_code == 403
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200

    await client.put(f"/api/v1/users/{admin.id}", json={"role": "org_admin"}, headers=other_admin.headers)
    assert (await client.get("/api/v1/users", headers=key_headers(key))).status_code == 200

    await client.put(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=other_admin.headers)
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 401
    await client.put(f"/api/v1/users/{admin.id}", json={"is_active": True}, headers=other_admin.headers)
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200

    assert (await client.delete(f"/api/v1/users/{admin.id}", headers=other_admin.headers)).status_code == 204
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 401


async def test_deactivated_organization_stops_its_keys(client, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"])
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200
    user.organization.is_active = False
    await user.organization.save(update_fields=["is_active", "updated_at"])
    refused = await client.get("/api/v1/keys", headers=key_headers(key))
    assert refused.status_code == 401
    user.organization.is_active = True
    await user.organization.save()
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200


async def test_rate_limit_per_key_with_headers(client, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"], rate_limit={"requests": 3, "window_seconds": 60})
    other = await make_api_key(user, scopes=["keys:read"], rate_limit={"requests": 3, "window_seconds": 60})
    remaining = []
    for _ in range(3):
        response = await client.get("/api/v1/keys", headers=key_headers(key))
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(response.headers["RateLimit-Remaining"])
        assert int(response.headers["RateLimit-Reset"]) >= 1
    assert remaining == ["2", "1", "0"]
    limited = await client.get("/api/v1/keys", headers=key_headers(key))
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert (await client.get("/api/v1/keys", headers=key_headers(other))).status_code == 200
    assert (await client.get("/api/v1/keys", headers=user.headers)).status_code == 200


async def test_organization_plan_default_and_server_default(custom_app):
    from vetrai.core.organizations.service import create_organization
    from vetrai.plugins.auth import service as auth_service

    app = await custom_app({"default_rate_limit_requests": 4, "default_rate_limit_window_seconds": 10})
    client = app.test_client()
    async with app.app.app_context():
        plan_org = await create_organization("Plan org", limits={"api_key_requests_per_minute": 2})
        plain_org = await create_organization("Plain org")
        access = {}
        for name, organization in (("plan", plan_org), ("plain", plain_org)):
            user = await auth_service.create_user(
                organization, f"{name}-{uuid.uuid4().hex[:6]}@example.com", "correct horse battery"
            )
            access[name] = (await auth_service.issue_tokens(user))["access_token"]
    headers = {}
    for name, token in access.items():
        created = await client.post(
            "/api/v1/keys", json={"name": name, "scopes": ["keys:read"]}, headers={"Authorization": f"Bearer {token}"}
        )
        headers[name] = key_headers((await created.get_json())["key"])
    plan = await client.get("/api/v1/keys", headers=headers["plan"])
    assert plan.headers["RateLimit-Limit"] == "2" and plan.headers["RateLimit-Policy"] == "2;w=60"
    plain = await client.get("/api/v1/keys", headers=headers["plain"])
    assert plain.headers["RateLimit-Limit"] == "4" and plain.headers["RateLimit-Policy"] == "4;w=10"
    await client.get("/api/v1/keys", headers=headers["plan"])
    assert (await client.get("/api/v1/keys", headers=headers["plan"])).status_code == 429


async def test_usage_is_batched_and_reported(client, platform, make_user, make_api_key, vetrai_events):
    admin = await make_user("org_admin")
    key = await make_api_key(admin, scopes=["keys:read", "organizations:read"])
    key_id = await key_id_of(client, key)
    await client.get("/api/v1/keys", headers=key_headers(key))
    await client.get(f"/api/v1/keys/{key_id}", headers=key_headers(key))
    await client.get("/api/v1/organizations", headers=key_headers(key))
    await client.get("/api/v1/users", headers=key_headers(key))
    assert await ApiKeyUsage.filter(api_key_id=key_id).count() == 0
    assert (await ApiKey.get(id=key_id)).last_used_at is None

    flushed = await service.runtime(platform).usage.flush(platform)
    assert {item["key_id"]: (item["requests"], item["errors"]) for item in flushed} == {key_id: (5, 1)}
    event = vetrai_events.of("keys.usage_flushed")[-1]
    assert str(event.organization_id) == admin.organization_id
    assert event.data["counts"] == [
        {"key_id": key_id, "organization_id": admin.organization_id, "requests": 5, "errors": 1}
    ]

    await client.get("/api/v1/keys", headers=key_headers(key))
    await service.runtime(platform).usage.flush(platform)
    response = await client.get(f"/api/v1/keys/{key_id}/usage", headers=admin.headers)
    assert response.status_code == 200
    usage = await response.get_json()
    today = date.today().isoformat()
    assert usage["total_requests"] == 6 and usage["to"] == today and usage["last_used_at"]
    assert usage["daily"] == [{"date": today, "requests": 6, "errors": 1}]
    endpoints = {(item["method"], item["route"]): (item["requests"], item["errors"]) for item in usage["by_endpoint"]}
    assert endpoints == {
        ("GET", "/api/v1/keys"): (3, 0),
        ("GET", "/api/v1/keys/<key_id>"): (1, 0),
        ("GET", "/api/v1/organizations"): (1, 0),
        ("GET", "/api/v1/users"): (1, 1),
    }
    past = (date.today() - timedelta(days=10)).isoformat()
    empty = await (
        await client.get(f"/api/v1/keys/{key_id}/usage?from={past}&to={past}", headers=admin.headers)
    ).get_json()
    assert empty["total_requests"] == 0 and empty["daily"] == [] and empty["from"] == past
    assert (
        await client.get(f"/api/v1/keys/{key_id}/usage?from={today}&to={past}", headers=admin.headers)
    ).status_code == 422
    assert (await client.get(f"/api/v1/keys/{key_id}/usage?from=yesterday", headers=admin.headers)).status_code == 422
    assert (await client.get(f"/api/v1/keys/{key_id}/usage", headers=key_headers(key))).status_code == 200


async def test_background_flush_and_shutdown_flush(settings_factory, monkeypatch):
    from vetrai.core.app import create_app
    from vetrai.core.organizations.service import create_organization
    from vetrai.plugins.auth import service as auth_service

    monkeypatch.setenv("VETRAI_KEYS_USAGE_FLUSH_SECONDS", "0.2")
    settings = settings_factory(plugins=["auth", "keys"])
    first = create_app(settings)
    async with first.test_app() as app:
        client = app.test_client()
        async with app.app.app_context():
            organization = await create_organization("Flush org")
            user = await auth_service.create_user(
                organization, f"f-{uuid.uuid4().hex[:6]}@example.com", "correct horse battery"
            )
            access = (await auth_service.issue_tokens(user))["access_token"]
        created = await (
            await client.post(
                "/api/v1/keys",
                json={"name": "f", "scopes": ["keys:read"]},
                headers={"Authorization": f"Bearer {access}"},
            )
        ).get_json()
        await client.get("/api/v1/keys", headers=key_headers(created["key"]))
        for _ in range(50):
            if (await ApiKey.get(id=created["id"])).last_used_at is not None:
                break
            await asyncio.sleep(0.1)
        assert await ApiKeyUsage.filter(api_key_id=created["id"]).count() == 1

    monkeypatch.setenv("VETRAI_KEYS_USAGE_FLUSH_SECONDS", "10")
    second = create_app(settings)
    async with second.test_app() as app:
        client = app.test_client()
        for _ in range(3):
            assert (await client.get("/api/v1/keys", headers=key_headers(created["key"]))).status_code == 200
    third = create_app(settings)
    async with third.test_app():
        rows = await ApiKeyUsage.filter(api_key_id=created["id"]).values_list("requests", flat=True)
    assert sum(rows) == 4


async def test_user_signal_ignores_unrelated_saves(client, platform, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"])
    await client.get("/api/v1/keys", headers=key_headers(key))
    cache = service.runtime(platform).cache
    assert len(cache.entries) == 1
    row = await User.get(id=user.id)
    row.first_name = "Renamed"
    await row.save(update_fields=["first_name"])
    assert len(cache.entries) == 1
    row.role = "support_agent"
    await row.save()
    assert len(cache.entries) == 0


async def test_nothing_is_cached_while_invalidations_could_be_missed(client, platform, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"])
    cache = service.runtime(platform).cache
    cache.listening = False
    try:
        assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200
        assert cache.entries == {}
    finally:
        cache.listening = True
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200
    assert len(cache.entries) == 1
    generation = cache.generation
    cache.drop("organization", str(user.organization.id))
    assert cache.entries == {} and cache.generation == generation + 1


async def test_a_failed_flush_keeps_its_counts(client, platform, make_user, make_api_key, monkeypatch):
    from vetrai.plugins.keys import usage

    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"])
    await client.get("/api/v1/keys", headers=key_headers(key))
    counter = service.runtime(platform).usage

    async def broken(*args):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(usage, "_write", broken)
    with pytest.raises(RuntimeError):
        await counter.flush(platform)
    assert counter.pending() == 1
    monkeypatch.undo()
    await client.get("/api/v1/keys", headers=key_headers(key))
    flushed = await counter.flush(platform)
    assert flushed[0]["requests"] == 2 and counter.pending() == 0
