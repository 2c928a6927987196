"""Tickets: creation, visibility, filters, search, pagination, edits, transitions, assignment."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.support.conftest import API


async def test_create_ticket_returns_open_ticket_with_requester_and_sla(client, team, events):
    response = await client.post(
        f"{API}/tickets",
        json={
            "subject": "  Cannot log in ",
            "description": "Error 500 on login",
            "priority": "urgent",
            "category": "auth",
        },
        headers=team.requester.headers,
    )
    assert response.status_code == 201
    ticket = await response.get_json()
    assert ticket["status"] == "open"
    assert ticket["subject"] == "Cannot log in"
    assert ticket["requester_id"] == team.requester.id
    assert ticket["requester"]["email"] == team.requester.user.email
    assert ticket["assignee"] is None
    assert ticket["organization_id"] == team.organization.id.__str__()
    created = datetime.fromisoformat(ticket["created_at"])
    first_due = datetime.fromisoformat(ticket["sla"]["first_response_due_at"])
    resolution_due = datetime.fromisoformat(ticket["sla"]["resolution_due_at"])
    assert round((first_due - created).total_seconds()) == 60 * 60
    assert round((resolution_due - created).total_seconds()) == 4 * 60 * 60
    assert 0 < ticket["sla"]["first_response_seconds_left"] <= 3600
    assert ticket["sla"]["first_response_breached"] is False
    created_events = [e for e in events if e[0] == "support.ticket_created"]
    assert len(created_events) == 1
    name, data, kwargs = created_events[0]
    assert data["ticket_id"] == ticket["id"]
    assert data["subject"] == "Cannot log in"
    assert data["requester_id"] == team.requester.id
    assert data["requester_email"] == team.requester.user.email
    assert data["assignee_id"] is None
    assert data["status"] == "open"
    assert data["priority"] == "urgent"
    assert data["recipients"] == [{"user_id": team.requester.id, "email": team.requester.user.email}]
    assert str(kwargs["organization_id"]) == team.organization.id.__str__()
    assert str(kwargs["actor_id"]) == team.requester.id


async def test_requires_credentials(client):
    response = await client.get(f"{API}/tickets")
    assert response.status_code == 401
    response = await client.post(f"{API}/tickets", json={"subject": "x", "description": "y"})
    assert response.status_code == 401


async def test_bad_input_is_422(client, team):
    for body in (
        {"subject": "", "description": "d"},
        {"subject": "s", "description": "d", "priority": "critical"},
        {"subject": "s"},
        {"subject": "s" * 201, "description": "d"},
        {"subject": "s", "description": "d", "unknown": 1},
        {"subject": "nul \u0000 byte", "description": "d"},
        {"subject": "s", "description": "d", "category": "a\u0000"},
    ):
        response = await client.post(f"{API}/tickets", json=body, headers=team.requester.headers)
        assert response.status_code == 422, body
        assert (await response.get_json())["errors"]
    response = await client.get(f"{API}/tickets?status=bogus", headers=team.agent.headers)
    assert response.status_code == 422
    response = await client.get(f"{API}/tickets?limit=0", headers=team.agent.headers)
    assert response.status_code == 422
    response = await client.get(f"{API}/tickets?q=a%00b", headers=team.agent.headers)
    assert response.status_code == 422
    response = await client.get(f"{API}/tickets?assignee_id=nobody", headers=team.agent.headers)
    assert response.status_code == 422


async def test_visibility_own_for_users_organization_for_agents(client, team, outsider_team, open_ticket):
    mine = await open_ticket(team.requester, subject="mine")
    theirs = await open_ticket(team.other_user, subject="theirs")
    foreign = await open_ticket(outsider_team.requester, subject="foreign")

    async def ids(actor, query=""):
        response = await client.get(f"{API}/tickets{query}", headers=actor.headers)
        assert response.status_code == 200
        return {item["id"] for item in (await response.get_json())["items"]}

    assert await ids(team.requester) == {mine["id"]}
    assert await ids(team.other_user) == {theirs["id"]}
    assert await ids(team.agent) == {mine["id"], theirs["id"]}
    assert await ids(team.admin) == {mine["id"], theirs["id"]}
    assert await ids(outsider_team.agent) == {foreign["id"]}
    # a user filtering by someone else's requester_id still sees nothing of theirs
    assert await ids(team.requester, f"?requester_id={team.other_user.id}") == set()

    # another requester's ticket in the same organization and another organization's: 404
    assert (await client.get(f"{API}/tickets/{theirs['id']}", headers=team.requester.headers)).status_code == 404
    assert (await client.get(f"{API}/tickets/{foreign['id']}", headers=team.agent.headers)).status_code == 404
    assert (await client.get(f"{API}/tickets/{foreign['id']}", headers=team.admin.headers)).status_code == 404
    assert (
        await client.put(f"{API}/tickets/{foreign['id']}", json={"status": "in_progress"}, headers=team.agent.headers)
    ).status_code == 404
    assert (await client.get(f"{API}/tickets/not-a-uuid", headers=team.agent.headers)).status_code == 404
    assert (await client.get(f"{API}/tickets/{uuid.uuid4()}", headers=team.agent.headers)).status_code == 404
    response = await client.get(f"{API}/tickets/{mine['id']}", headers=team.agent.headers)
    assert response.status_code == 200
    assert (await response.get_json())["subject"] == "mine"


async def test_filters_and_full_text_search(client, team, open_ticket):
    a = await open_ticket(
        team.requester, subject="VPN drops every hour", description="The tunnel disconnects", priority="low"
    )
    b = await open_ticket(
        team.requester,
        subject="Invoice wrong",
        description="The VAT on the March invoice is 50%",
        priority="urgent",
        category="billing",
    )
    c = await open_ticket(team.other_user, subject="Feature request", description="Dark mode please", priority="low")
    await client.put(
        f"{API}/tickets/{c['id']}",
        json={"assignee_id": team.agent.id, "status": "in_progress"},
        headers=team.admin.headers,
    )

    async def ids(query):
        response = await client.get(f"{API}/tickets?{query}", headers=team.agent.headers)
        assert response.status_code == 200, await response.get_data(as_text=True)
        return {item["id"] for item in (await response.get_json())["items"]}

    assert await ids("priority=low") == {a["id"], c["id"]}
    assert await ids("status=in_progress") == {c["id"]}
    assert await ids(f"assignee_id={team.agent.id}") == {c["id"]}
    assert await ids("unassigned=true") == {a["id"], b["id"]}
    assert await ids(f"requester_id={team.requester.id}") == {a["id"], b["id"]}
    assert await ids("category=billing") == {b["id"]}
    assert await ids("q=vpn") == {a["id"]}
    assert await ids("q=TUNNEL") == {a["id"]}
    assert await ids("q=invoice+march") == {b["id"]}
    assert await ids("q=invoice+dark") == set()
    assert await ids("q=50%25") == {b["id"]}
    assert await ids("q=%25") == {b["id"]}
    assert await ids("q=_") == set()
    assert await ids("q=dark&priority=low") == {c["id"]}


async def test_cursor_pagination_newest_first(client, team, open_ticket):
    created = [await open_ticket(team.requester, subject=f"ticket {i}") for i in range(5)]
    seen = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"{API}/tickets{query}", headers=team.requester.headers)).get_json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ticket["id"] for ticket in reversed(created)]
    assert (await client.get(f"{API}/tickets?cursor=%%%", headers=team.requester.headers)).status_code == 400
