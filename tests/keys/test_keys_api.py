"""The /api/v1/keys endpoints: create, list, read, update, revoke, rotate, scopes, quotas."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from vetrai.core.models import AuditLog
from vetrai.core.security import sha256_hex
from vetrai.plugins.keys import tokens
from vetrai.plugins.keys.models import ApiKey

from .conftest import key_headers

PROBLEM = "application/problem+json"


def future(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_create_returns_the_key_once_and_stores_only_its_hash(client, make_user):
    admin = await make_user("org_admin")
    response = await client.post(
        "/api/v1/keys",
        json={
            "name": "ci",
            "scopes": ["keys:read", "organizations:read"],
            "rate_limit": {"requests": 10, "window_seconds": 60},
        },
        headers=admin.headers,
    )
    assert response.status_code == 201
    body = await response.get_json()
    key = body["key"]
    assert key.startswith("vk_") and len(key) == tokens.KEY_LENGTH and tokens.well_formed(key)
    assert body["prefix"] == key[:11]
    assert body["scopes"] == ["keys:read", "organizations:read"]
    assert body["rate_limit"] == {"requests": 10, "window_seconds": 60}
    assert body["status"] == "active" and body["expires_at"] is None
    assert body["created_by"] == admin.id and body["organization_id"] == admin.organization_id
    row = await ApiKey.get(id=body["id"])
    assert row.key_hash == sha256_hex(key)
    assert key not in str(row.__dict__)
    read = await client.get(f"/api/v1/keys/{body['id']}", headers=admin.headers)
    assert read.status_code == 200 and "key" not in await read.get_json()
    listing = await client.get("/api/v1/keys", headers=admin.headers)
    assert key not in await listing.get_data(as_text=True)
    audit = await AuditLog.get(action="keys.key_created", target_id=body["id"])
    assert audit.actor_id == admin.user.id and audit.data["scopes"] == body["scopes"]


async def test_create_validation_errors(client, make_user):
    admin = await make_user("org_admin")
    cases = [
        {"scopes": []},
        {"name": "", "scopes": []},
        {"name": "x", "scopes": ["nope:read"]},
        {"name": "x", "scopes": [], "expires_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()},
        {"name": "x", "scopes": [], "rate_limit": {"requests": 0, "window_seconds": 60}},
        {"name": "x", "scopes": [], "unexpected": True},
    ]
    for body in cases:
        response = await client.post("/api/v1/keys", json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert response.content_type == PROBLEM
        assert (await response.get_json())["errors"]
    bad_json = await client.post(
        "/api/v1/keys", data="{", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    anonymous = await client.post("/api/v1/keys", json={"name": "x", "scopes": []})
    assert anonymous.status_code == 401 and anonymous.content_type == PROBLEM


async def test_nobody_grants_scopes_they_do_not_hold(client, make_user, make_api_key):
    user = await make_user("user")
    response = await client.post("/api/v1/keys", json={"name": "x", "scopes": ["auth:write"]}, headers=user.headers)
    assert response.status_code == 403
    assert (await response.get_json())["type"].endswith("insufficient-scope")
    admin = await make_user("org_admin", organization=user.organization)
    limited = await make_api_key(admin, scopes=["keys:write", "organizations:read"])
    more = await client.post("/api/v1/keys", json={"name": "y", "scopes": ["auth:read"]}, headers=key_headers(limited))
    assert more.status_code == 403
    fewer = await client.post(
        "/api/v1/keys", json={"name": "y", "scopes": ["organizations:read"]}, headers=key_headers(limited)
    )
    assert fewer.status_code == 201
    assert (await fewer.get_json())["created_by"] == admin.id


async def test_quota_counts_live_keys(client, make_org, make_user, make_api_key):
    organization = await make_org(limits={"max_api_keys": 2})
    admin = await make_user("org_admin", organization=organization)
    await make_api_key(admin)
    second = await client.post("/api/v1/keys", json={"name": "b", "scopes": []}, headers=admin.headers)
    assert second.status_code == 201
    third = await client.post("/api/v1/keys", json={"name": "c", "scopes": []}, headers=admin.headers)
    assert third.status_code == 403
    assert (await third.get_json())["type"].endswith("quota-exceeded")
    assert (
        await client.delete(f"/api/v1/keys/{(await second.get_json())['id']}", headers=admin.headers)
    ).status_code == 204
    assert (
        await client.post("/api/v1/keys", json={"name": "c", "scopes": []}, headers=admin.headers)
    ).status_code == 201


async def test_visibility_admins_see_the_organization_users_their_own(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    alice = await make_user("user", organization=admin.organization)
    bob = await make_user("support_agent", organization=admin.organization)
    outsider = await make_user("org_admin")
    root = await make_user("super_admin")
    await make_api_key(admin, name="admin's")
    alice_key = await (
        await client.post("/api/v1/keys", json={"name": "alice's", "scopes": []}, headers=alice.headers)
    ).get_json()
    await make_api_key(bob, name="bob's")

    names = lambda page: sorted(item["name"] for item in page["items"])  # noqa: E731
    assert names(await (await client.get("/api/v1/keys", headers=admin.headers)).get_json()) == [
        "admin's",
        "alice's",
        "bob's",
    ]
    assert names(await (await client.get("/api/v1/keys", headers=alice.headers)).get_json()) == ["alice's"]
    assert names(await (await client.get("/api/v1/keys", headers=outsider.headers)).get_json()) == []
    assert len((await (await client.get("/api/v1/keys", headers=root.headers)).get_json())["items"]) == 3

    path = f"/api/v1/keys/{alice_key['id']}"
    assert (await client.get(path, headers=admin.headers)).status_code == 200
    assert (await client.get(path, headers=root.headers)).status_code == 200
    for stranger in (bob, outsider):
        for method, kwargs in (("get", {}), ("put", {"json": {"name": "z"}}), ("delete", {})):
            response = await getattr(client, method)(path, headers=stranger.headers, **kwargs)
            assert response.status_code == 404, (method, stranger.user.role)
        assert (await client.post(f"{path}/rotate", json={}, headers=stranger.headers)).status_code == 404
        assert (await client.get(f"{path}/usage", headers=stranger.headers)).status_code == 404
    assert (await client.get("/api/v1/keys/not-a-uuid", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/api/v1/keys/{uuid.uuid4()}", headers=admin.headers)).status_code == 404

    first = await (await client.get("/api/v1/keys?limit=2", headers=admin.headers)).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await (
        await client.get(f"/api/v1/keys?limit=2&cursor={first['next_cursor']}", headers=admin.headers)
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert (await client.get("/api/v1/keys?limit=0", headers=admin.headers)).status_code == 422
    renamed = await client.put(path, json={"name": "by root"}, headers=root.headers)
    assert renamed.status_code == 200 and (await renamed.get_json())["name"] == "by root"
    assert (await client.delete(path, headers=root.headers)).status_code == 204


async def test_update_is_partial_and_takes_effect_at_once(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    key = await make_api_key(admin, scopes=["auth:read", "keys:read"])
    key_id = (await (await client.get("/api/v1/keys", headers=key_headers(key))).get_json())["items"][0]["id"]
    path = f"/api/v1/keys/{key_id}"

    renamed = await client.put(path, json={"name": "renamed"}, headers=admin.headers)
    assert renamed.status_code == 200
    body = await renamed.get_json()
    assert body["name"] == "renamed" and body["scopes"] == ["auth:read", "keys:read"]
    assert (await client.get("/api/v1/users", headers=key_headers(key))).status_code == 200

    narrowed = await client.put(path, json={"scopes": ["keys:read"]}, headers=admin.headers)
    assert (await narrowed.get_json())["scopes"] == ["keys:read"]
    assert (await client.get("/api/v1/users", headers=key_headers(key))).status_code == 403

    limited = await client.put(
        path, json={"rate_limit": {"requests": 7, "window_seconds": 30}, "expires_at": future()}, headers=admin.headers
    )
    body = await limited.get_json()
    assert body["rate_limit"] == {"requests": 7, "window_seconds": 30} and body["expires_at"]
    response = await client.get("/api/v1/keys", headers=key_headers(key))
    assert response.headers["RateLimit-Limit"] == "7"
    cleared = await (
        await client.put(path, json={"rate_limit": None, "expires_at": None}, headers=admin.headers)
    ).get_json()
    assert cleared["rate_limit"] is None and cleared["expires_at"] is None

    off = await client.put(path, json={"is_active": False}, headers=admin.headers)
    assert (await off.get_json())["status"] == "inactive"
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 401
    await client.put(path, json={"is_active": True}, headers=admin.headers)
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200

    assert (await client.put(path, json={"scopes": ["nope:x"]}, headers=admin.headers)).status_code == 422
    assert (
        await client.put(path, json={"expires_at": "2001-01-01T00:00:00Z"}, headers=admin.headers)
    ).status_code == 422
    assert (await client.put(path, json={"name": ""}, headers=admin.headers)).status_code == 422
    audit = await AuditLog.filter(action="keys.key_updated", target_id=key_id).count()
    assert audit == 6


async def test_user_cannot_widen_own_key_beyond_role(client, make_user):
    user = await make_user("user")
    created = await (
        await client.post("/api/v1/keys", json={"name": "mine", "scopes": ["keys:read"]}, headers=user.headers)
    ).get_json()
    response = await client.put(f"/api/v1/keys/{created['id']}", json={"scopes": ["auth:read"]}, headers=user.headers)
    assert response.status_code == 403
    ok = await client.put(
        f"/api/v1/keys/{created['id']}", json={"scopes": ["keys:read", "keys:write"]}, headers=user.headers
    )
    assert ok.status_code == 200


async def test_revoke_is_immediate_and_audited(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    user = await make_user("user", organization=admin.organization)
    key = await make_api_key(user, scopes=["keys:read"])
    assert (await client.get("/api/v1/keys", headers=key_headers(key, "x-api-key"))).status_code == 200
    key_id = (await (await client.get("/api/v1/keys", headers=user.headers)).get_json())["items"][0]["id"]
    assert (await client.delete(f"/api/v1/keys/{key_id}", headers=admin.headers)).status_code == 204
    refused = await client.get("/api/v1/keys", headers=key_headers(key, "x-api-key"))
    assert refused.status_code == 401 and refused.content_type == PROBLEM
    assert "WWW-Authenticate" in refused.headers
    assert (await client.get(f"/api/v1/keys/{key_id}", headers=admin.headers)).status_code == 404
    assert (await client.delete(f"/api/v1/keys/{key_id}", headers=admin.headers)).status_code == 404
    audit = await AuditLog.get(action="keys.key_revoked", target_id=key_id)
    assert audit.actor_id == admin.user.id
    assert (await ApiKey.get(id=key_id)).revoked_at is not None


async def test_user_revokes_own_key_with_the_key_itself(client, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read", "keys:write"])
    key_id = (await (await client.get("/api/v1/keys", headers=key_headers(key))).get_json())["items"][0]["id"]
    assert (await client.delete(f"/api/v1/keys/{key_id}", headers=key_headers(key))).status_code == 204
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 401


async def test_rotate_with_grace_then_without(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    old = await make_api_key(admin, scopes=["keys:read"], rate_limit={"requests": 50, "window_seconds": 60})
    old_id = (await (await client.get("/api/v1/keys", headers=key_headers(old))).get_json())["items"][0]["id"]
    rotated = await client.post(f"/api/v1/keys/{old_id}/rotate", json={"grace_seconds": 600}, headers=admin.headers)
    assert rotated.status_code == 201
    body = await rotated.get_json()
    new = body["key"]
    assert new != old and tokens.well_formed(new)
    assert body["scopes"] == ["keys:read"] and body["rate_limit"] == {"requests": 50, "window_seconds": 60}
    assert body["rotated_from"] == old_id and body["name"] == "test key"
    assert (await client.get("/api/v1/keys", headers=key_headers(new))).status_code == 200
    assert (await client.get("/api/v1/keys", headers=key_headers(old))).status_code == 200
    old_view = await (await client.get(f"/api/v1/keys/{old_id}", headers=admin.headers)).get_json()
    assert old_view["replaced_by"] == body["id"]
    assert datetime.fromisoformat(old_view["expires_at"]) <= datetime.now(UTC) + timedelta(seconds=601)
    again = await client.post(f"/api/v1/keys/{old_id}/rotate", json={}, headers=admin.headers)
    assert again.status_code == 409
    extend = await client.put(f"/api/v1/keys/{old_id}", json={"expires_at": None}, headers=admin.headers)
    assert extend.status_code == 409
    audit = await AuditLog.get(action="keys.key_rotated", target_id=old_id)
    assert audit.data["new_key_id"] == body["id"] and audit.data["grace_seconds"] == 600

    now_rotated = await client.post(
        f"/api/v1/keys/{body['id']}/rotate", json={"grace_seconds": 0}, headers=admin.headers
    )
    assert now_rotated.status_code == 201
    newest = (await now_rotated.get_json())["key"]
    assert (await client.get("/api/v1/keys", headers=key_headers(new))).status_code == 401
    assert (await client.get("/api/v1/keys", headers=key_headers(newest))).status_code == 200
    assert (
        await client.post(f"/api/v1/keys/{old_id}/rotate", json={"grace_seconds": -1}, headers=admin.headers)
    ).status_code == 422
    too_long = await client.post(f"/api/v1/keys/{old_id}/rotate", json={"grace_seconds": 10**9}, headers=admin.headers)
    assert too_long.status_code == 422
    bad_json = await client.post(
        f"/api/v1/keys/{old_id}/rotate", data="{", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400


async def test_rotate_without_a_body_uses_the_default_grace(client, make_user, make_api_key):
    user = await make_user("user")
    old = await make_api_key(user, scopes=["keys:read"])
    old_id = (await (await client.get("/api/v1/keys", headers=key_headers(old))).get_json())["items"][0]["id"]
    rotated = await client.post(f"/api/v1/keys/{old_id}/rotate", headers=user.headers)
    assert rotated.status_code == 201
    assert (await client.get("/api/v1/keys", headers=key_headers(old))).status_code == 200
    audit = await AuditLog.get(action="keys.key_rotated", target_id=old_id)
    assert audit.data["grace_seconds"] == 3600


async def test_old_key_stops_after_the_grace_period(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    old = await make_api_key(admin, scopes=["keys:read"])
    old_id = (await (await client.get("/api/v1/keys", headers=key_headers(old))).get_json())["items"][0]["id"]
    rotated = await client.post(f"/api/v1/keys/{old_id}/rotate", json={"grace_seconds": 1}, headers=admin.headers)
    assert rotated.status_code == 201
    assert (await client.get("/api/v1/keys", headers=key_headers(old))).status_code == 200
    await asyncio.sleep(1.2)
    assert (await client.get("/api/v1/keys", headers=key_headers(old))).status_code == 401
    assert (await client.get("/api/v1/keys", headers=key_headers((await rotated.get_json())["key"]))).status_code == 200


async def test_rotation_by_a_key_cannot_escalate(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    wide = await make_api_key(admin, scopes=["keys:read", "auth:read"])
    narrow = await make_api_key(admin, scopes=["keys:read", "keys:write"])
    wide_id = next(
        item["id"]
        for item in (await (await client.get("/api/v1/keys", headers=admin.headers)).get_json())["items"]
        if "auth:read" in item["scopes"]
    )
    refused = await client.post(f"/api/v1/keys/{wide_id}/rotate", json={}, headers=key_headers(narrow))
    assert refused.status_code == 403
    assert (await client.get("/api/v1/keys", headers=key_headers(wide))).status_code == 200


async def test_scopes_lists_every_enabled_plugins_scopes(client, make_user, make_api_key):
    user = await make_user("user")
    response = await client.get("/api/v1/keys/scopes", headers=user.headers)
    assert response.status_code == 200
    items = (await response.get_json())["items"]
    scopes = {item["scope"]: item["description"] for item in items}
    for name in ("organizations:read", "organizations:write", "auth:read", "auth:write", "keys:read", "keys:write"):
        assert scopes[name]
    assert [item["scope"] for item in items] == sorted(scopes)
    key = await make_api_key(user)
    assert (await client.get("/api/v1/keys/scopes", headers=key_headers(key))).status_code == 200
    assert (await client.get("/api/v1/keys/scopes")).status_code == 401


async def test_expires_at_seconds_away(client, make_user, make_api_key):
    user = await make_user("user")
    key = await make_api_key(user, scopes=["keys:read"], expires_at=future(1.5))
    assert (await client.get("/api/v1/keys", headers=key_headers(key))).status_code == 200
    await asyncio.sleep(1.7)
    response = await client.get("/api/v1/keys", headers=key_headers(key))
    assert response.status_code == 401
    listed = await (await client.get("/api/v1/keys", headers=user.headers)).get_json()
    assert listed["items"][0]["status"] == "expired"
    rotate = await client.post(f"/api/v1/keys/{listed['items'][0]['id']}/rotate", json={}, headers=user.headers)
    assert rotate.status_code == 409


async def test_openapi_documents_the_keys_routes(client):
    spec = await (await client.get("/openapi.json")).get_json()
    for path in (
        "/api/v1/keys",
        "/api/v1/keys/{key_id}",
        "/api/v1/keys/{key_id}/usage",
        "/api/v1/keys/{key_id}/rotate",
        "/api/v1/keys/scopes",
    ):
        assert path in spec["paths"], path
    assert "KeysKeyOut" in spec["components"]["schemas"]
