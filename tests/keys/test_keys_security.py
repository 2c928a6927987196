"""A key cannot be given a rate limit above its plan: the plan (or the server default) is the ceiling."""

from __future__ import annotations

import pytest

from vetrai.plugins.keys.models import ApiKey


@pytest.mark.parametrize(
    "limit",
    [
        {"requests": 1_000_000, "window_seconds": 1},  # the reviewed attack
        {"requests": 601, "window_seconds": 60},  # one above the default
        {"requests": 20, "window_seconds": 1},  # a faster rate with a small burst
        {"requests": 100_000, "window_seconds": 86_400},  # a slow rate with a huge burst
    ],
)
async def test_a_key_rate_limit_above_the_default_is_refused(client, make_user, limit):
    admin = await make_user("org_admin")
    created = await client.post(
        "/api/v1/keys", json={"name": "greedy", "scopes": [], "rate_limit": limit}, headers=admin.headers
    )
    assert created.status_code == 422
    assert (await created.get_json())["errors"][0]["loc"] == ["body", "rate_limit"]
    modest = await client.post(
        "/api/v1/keys",
        json={"name": "modest", "scopes": [], "rate_limit": {"requests": 600, "window_seconds": 60}},
        headers=admin.headers,
    )
    assert modest.status_code == 201
    key_id = (await modest.get_json())["id"]
    raised = await client.put(f"/api/v1/keys/{key_id}", json={"rate_limit": limit}, headers=admin.headers)
    assert raised.status_code == 422
    slower = await client.put(
        f"/api/v1/keys/{key_id}", json={"rate_limit": {"requests": 5, "window_seconds": 60}}, headers=admin.headers
    )
    assert slower.status_code == 200


async def test_the_plan_rate_is_the_ceiling(client, make_user, make_org):
    organization = await make_org(limits={"api_key_requests_per_minute": 100})
    admin = await make_user("org_admin", organization=organization)
    over = {"name": "k", "scopes": [], "rate_limit": {"requests": 101, "window_seconds": 60}}
    assert (await client.post("/api/v1/keys", json=over, headers=admin.headers)).status_code == 422
    fine = {"name": "k", "scopes": [], "rate_limit": {"requests": 100, "window_seconds": 60}}
    assert (await client.post("/api/v1/keys", json=fine, headers=admin.headers)).status_code == 201


async def test_a_stored_limit_above_the_ceiling_is_cut_to_it(client, make_user, make_api_key):
    from .conftest import key_headers

    admin = await make_user("org_admin")
    created = await client.post("/api/v1/keys", json={"name": "old", "scopes": []}, headers=admin.headers)
    body = await created.get_json()
    await ApiKey.filter(id=body["id"]).update(rate_limit_requests=1_000_000, rate_limit_window_seconds=1)
    response = await client.get("/api/v1/keys/scopes", headers=key_headers(body["key"]))
    assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == "600;w=60"
