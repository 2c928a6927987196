"""API keys carry `workers:read` / `workers:write` scopes (with the keys plugin enabled)."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(settings_factory):
    return settings_factory(plugins=["auth", "keys", "workers"])


async def make_key(client, actor, scopes):
    response = await client.post("/api/v1/keys", json={"name": "engine", "scopes": scopes}, headers=actor.headers)
    assert response.status_code == 201, await response.get_json()
    return {"Authorization": f"Bearer {(await response.get_json())['key']}"}


async def test_api_key_scopes(client, make_user):
    actor = await make_user("org_admin")
    reader = await make_key(client, actor, ["workers:read"])
    writer = await make_key(client, actor, ["workers:read", "workers:write"])
    refused = await client.post("/api/v1/workers/jobs", json={"template": "echo", "input": {}}, headers=reader)
    assert refused.status_code == 403 and (await refused.get_json())["type"].endswith("insufficient-scope")
    assert (await client.get("/api/v1/workers/templates", headers=reader)).status_code == 200
    created = await client.post("/api/v1/workers/jobs", json={"template": "echo", "input": {"k": 1}}, headers=writer)
    assert created.status_code == 202
    job = await created.get_json()
    assert (await client.get(f"/api/v1/workers/jobs/{job['id']}", headers=reader)).status_code == 200
    scopes = {
        item["scope"]
        for item in (await (await client.get("/api/v1/keys/scopes", headers=actor.headers)).get_json())["items"]
    }
    assert {"workers:read", "workers:write"} <= scopes
