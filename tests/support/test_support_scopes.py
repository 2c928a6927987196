"""support:read / support:write scopes on API keys, and the roles that hold them."""

from __future__ import annotations

import pytest

from tests.support.conftest import API


@pytest.fixture
def settings(settings_factory):
    return settings_factory(plugins=["auth", "keys", "support"])


async def make_key(client, actor, scopes):
    response = await client.post("/api/v1/keys", json={"name": "support bot", "scopes": scopes}, headers=actor.headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return {"Authorization": f"Bearer {(await response.get_json())['key']}"}


async def test_scopes_are_declared_for_every_role(platform):
    registry = platform.plugins.permissions
    for role in ("user", "support_agent", "org_admin", "billing_admin"):
        assert {"support:read", "support:write"} <= registry.scopes_for_role(role)


async def test_read_only_key_cannot_write(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    headers = await make_key(client, team.agent, ["support:read"])
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/tickets/{ticket['id']}", headers=headers)).status_code == 200
    response = await client.post(f"{API}/tickets", json={"subject": "s", "description": "d"}, headers=headers)
    assert response.status_code == 403
    assert (await response.get_json())["type"].endswith("insufficient-scope")
    response = await client.post(f"{API}/tickets/{ticket['id']}/comments", json={"body": "x"}, headers=headers)
    assert response.status_code == 403


async def test_key_without_support_scopes_is_refused(client, team):
    headers = await make_key(client, team.requester, ["keys:read"])
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 403
    assert (await client.get(f"{API}/sla-policies", headers=headers)).status_code == 403


async def test_write_key_acts_as_its_creator(client, team):
    headers = await make_key(client, team.requester, ["support:read", "support:write"])
    response = await client.post(f"{API}/tickets", json={"subject": "via key", "description": "d"}, headers=headers)
    assert response.status_code == 201
    ticket = await response.get_json()
    assert ticket["requester_id"] == team.requester.id
    # the key carries its creator's role: a user's key cannot change the status
    response = await client.put(f"{API}/tickets/{ticket['id']}", json={"status": "in_progress"}, headers=headers)
    assert response.status_code == 403
