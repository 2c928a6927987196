"""Edits, status transitions, assignment and comments (internal notes never reach requesters)."""

from __future__ import annotations

from tests.support.conftest import API


async def put(client, actor, ticket, **body):
    return await client.put(f"{API}/tickets/{ticket['id']}", json=body, headers=actor.headers)


async def test_requester_edits_while_open_only(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    response = await put(client, team.requester, ticket, subject="Printer still on fire", category="hardware")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["subject"] == "Printer still on fire"
    assert body["category"] == "hardware"
    assert body["description"] == ticket["description"]
    assert (await put(client, team.agent, ticket, status="in_progress")).status_code == 200
    response = await put(client, team.requester, ticket, description="more details")
    assert response.status_code == 409


async def test_requester_cannot_change_status_priority_or_assignee(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    for body in (
        {"status": "in_progress"},
        {"status": "resolved"},
        {"priority": "urgent"},
        {"assignee_id": team.agent.id},
    ):
        response = await put(client, team.requester, ticket, **body)
        assert response.status_code == 403, body
    # another user of the organization cannot even see it
    assert (await put(client, team.other_user, ticket, status="closed")).status_code == 404


async def test_requester_may_close_its_own_ticket_and_closed_is_final(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    response = await put(client, team.requester, ticket, status="closed")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    for actor, change in (
        (team.agent, {"status": "in_progress"}),
        (team.admin, {"priority": "low"}),
        (team.requester, {"subject": "x"}),
    ):
        assert (await put(client, actor, ticket, **change)).status_code == 409
    response = await client.post(
        f"{API}/tickets/{ticket['id']}/comments", json={"body": "hello?"}, headers=team.requester.headers
    )
    assert response.status_code == 409


TRANSITION_CASES = [
    ([], "in_progress", True),
    ([], "pending", False),
    ([], "resolved", False),
    ([], "closed", False),
    (["in_progress"], "pending", True),
    (["in_progress"], "resolved", True),
    (["in_progress"], "open", False),
    (["in_progress"], "closed", False),
    (["in_progress", "pending"], "resolved", True),
    (["in_progress", "pending"], "in_progress", True),
    (["in_progress", "pending"], "open", False),
    (["in_progress", "resolved"], "closed", True),
    (["in_progress", "resolved"], "in_progress", True),
    (["in_progress", "resolved"], "pending", False),
    (["in_progress", "resolved", "closed"], "in_progress", False),
    (["in_progress", "resolved", "closed"], "open", False),
]


async def test_agent_transitions(client, team, open_ticket):
    for path, target, allowed in TRANSITION_CASES:
        ticket = await open_ticket(team.requester)
        for status in path:
            assert (await put(client, team.agent, ticket, status=status)).status_code == 200
        response = await put(client, team.agent, ticket, status=target)
        assert response.status_code == (200 if allowed else 409), (path, target, await response.get_data(as_text=True))
        current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.agent.headers)).get_json()
        assert current["status"] == (target if allowed else (path[-1] if path else "open"))


async def test_status_change_event_and_audit(client, team, open_ticket, events, app):
    from vetrai.core.models import AuditLog

    ticket = await open_ticket(team.requester)
    response = await put(client, team.agent, ticket, status="in_progress")
    assert response.status_code == 200
    updated = [data for name, data, _ in events if name == "support.ticket_updated"]
    assert len(updated) == 1
    assert updated[0]["changes"] == {"status": {"from": "open", "to": "in_progress"}}
    assert updated[0]["previous_status"] == "open"
    assert updated[0]["status"] == "in_progress"
    assert updated[0]["recipients"] == [{"user_id": team.requester.id, "email": team.requester.user.email}]
    async with app.app.app_context():
        actions = [entry.action for entry in await AuditLog.filter(target_id=ticket["id"]).order_by("created_at")]
    assert actions == ["support.ticket_created", "support.ticket_updated"]


async def test_assignment_rules(client, team, outsider_team, open_ticket, events):
    ticket = await open_ticket(team.requester)
    # the assignee must be an agent or admin of the ticket's organization
    for assignee in (team.other_user.id, outsider_team.agent.id, "00000000-0000-0000-0000-000000000000"):
        response = await put(client, team.admin, ticket, assignee_id=assignee)
        assert response.status_code == 422, assignee
    assert (await put(client, team.admin, ticket, assignee_id="not-a-uuid")).status_code == 422
    response = await put(client, team.admin, ticket, assignee_id=team.agent.id)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["assignee_id"] == team.agent.id
    assert body["assignee"]["email"] == team.agent.user.email
    assigned = [data for name, data, _ in events if name == "support.ticket_updated"][-1]
    assert assigned["assignee_id"] == team.agent.id
    assert assigned["assignee_email"] == team.agent.user.email
    assert assigned["previous_assignee_id"] is None
    assert assigned["recipients"] == [{"user_id": team.agent.id, "email": team.agent.user.email}]
    # agents may assign to an admin, and unassign with null
    assert (await put(client, team.agent, ticket, assignee_id=team.admin.id)).status_code == 200
    response = await put(client, team.agent, ticket, assignee_id=None)
    assert (await response.get_json())["assignee_id"] is None


async def test_agent_changes_priority_and_due_times_move(client, team, open_ticket):
    ticket = await open_ticket(team.requester, priority="low")
    response = await put(client, team.agent, ticket, priority="urgent")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["priority"] == "urgent"
    assert body["sla"]["first_response_due_at"] < ticket["sla"]["first_response_due_at"]
    assert body["sla"]["resolution_due_at"] < ticket["sla"]["resolution_due_at"]


async def test_internal_notes_never_reach_requesters(client, team, open_ticket, events):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}/comments"
    response = await client.post(
        url, json={"body": "customer is on the legacy plan", "internal": True}, headers=team.agent.headers
    )
    assert response.status_code == 201
    note = await response.get_json()
    assert note["internal"] is True
    response = await client.post(url, json={"body": "We are on it."}, headers=team.agent.headers)
    assert response.status_code == 201
    reply = await response.get_json()
    response = await client.post(url, json={"body": "sneaky", "internal": True}, headers=team.requester.headers)
    assert response.status_code == 403

    requester_view = await (await client.get(url, headers=team.requester.headers)).get_json()
    assert [item["id"] for item in requester_view["items"]] == [reply["id"]]
    assert "legacy plan" not in str(requester_view)
    agent_view = await (await client.get(url, headers=team.agent.headers)).get_json()
    assert [item["id"] for item in agent_view["items"]] == [reply["id"], note["id"]]
    admin_view = await (await client.get(url, headers=team.admin.headers)).get_json()
    assert len(admin_view["items"]) == 2

    comments = [data for name, data, _ in events if name == "support.comment_added"]
    assert [c["internal"] for c in comments] == [True, False]
    # the internal note notifies nobody outside the agents (no assignee yet: nobody)
    assert comments[0]["recipients"] == []
    assert comments[1]["recipients"] == [{"user_id": team.requester.id, "email": team.requester.user.email}]
    assert comments[1]["body"] == "We are on it."
    assert comments[1]["author_id"] == team.agent.id


async def test_comment_validation_and_isolation(client, team, outsider_team, open_ticket):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}/comments"
    assert (await client.post(url, json={"body": ""}, headers=team.requester.headers)).status_code == 422
    assert (await client.post(url, json={"body": "a\u0000"}, headers=team.requester.headers)).status_code == 422
    assert (
        await client.post(url, json={"body": "x", "internal": "maybe"}, headers=team.agent.headers)
    ).status_code == 422
    assert (await client.post(url, json={"body": "hi"}, headers=outsider_team.agent.headers)).status_code == 404
    assert (await client.get(url, headers=outsider_team.admin.headers)).status_code == 404
    assert (await client.post(url, json={"body": "hi"}, headers=team.other_user.headers)).status_code == 404
    assert (await client.post(url, json={"body": "hi"})).status_code == 401


async def test_requester_reply_reopens_resolved_and_restarts_pending(client, team, open_ticket, events):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}/comments"
    await put(client, team.agent, ticket, status="in_progress")
    await put(client, team.agent, ticket, status="pending")
    await client.post(url, json={"body": "here are the logs"}, headers=team.requester.headers)
    current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)).get_json()
    assert current["status"] == "in_progress"
    await put(client, team.agent, ticket, status="resolved")
    # an agent's public comment does not reopen
    await client.post(url, json={"body": "closing soon"}, headers=team.agent.headers)
    current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)).get_json()
    assert current["status"] == "resolved"
    assert current["sla"]["resolved_at"] is not None
    await client.post(url, json={"body": "still broken"}, headers=team.requester.headers)
    current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)).get_json()
    assert current["status"] == "open"
    assert current["sla"]["resolved_at"] is None
    reopened = [data for name, data, _ in events if name == "support.ticket_updated"][-1]
    assert reopened["changes"] == {"status": {"from": "resolved", "to": "open"}}


async def test_first_public_agent_reply_records_first_response(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}/comments"
    await client.post(url, json={"body": "me again"}, headers=team.requester.headers)
    await client.post(url, json={"body": "note", "internal": True}, headers=team.agent.headers)
    current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.agent.headers)).get_json()
    assert current["sla"]["first_responded_at"] is None
    await client.post(url, json={"body": "Hello, looking into it"}, headers=team.agent.headers)
    current = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.agent.headers)).get_json()
    assert current["sla"]["first_responded_at"] is not None
    assert current["sla"]["first_response_breached"] is False
    assert current["sla"]["first_response_seconds_left"] is None


async def test_update_validation(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    for body in (
        {"status": None},
        {"subject": None},
        {"priority": "critical"},
        {"status": "done"},
        {"subject": ""},
        {"requester_id": team.agent.id},
    ):
        response = await put(client, team.agent, ticket, **body)
        assert response.status_code == 422, body
    # category is nullable: null clears it
    await put(client, team.agent, ticket, category="billing")
    response = await put(client, team.agent, ticket, category=None)
    assert (await response.get_json())["category"] is None


async def test_concurrent_transitions_do_not_both_pass(client, team, open_ticket, events):
    import asyncio

    ticket = await open_ticket(team.requester)
    for status in ("in_progress", "resolved"):
        await put(client, team.agent, ticket, status=status)
    responses = await asyncio.gather(
        *(put(client, actor, ticket, status="closed") for actor in (team.agent, team.admin, team.requester))
    )
    assert sorted(response.status_code for response in responses) == [200, 409, 409]
    closes = [
        data
        for name, data, _ in events
        if name == "support.ticket_updated" and data["changes"].get("status", {}).get("to") == "closed"
    ]
    assert len(closes) == 1
