"""The issue's "done means": a customer opens a ticket with a screenshot, an agent is assigned,
adds an internal note and a public reply, the SLA clock is visible, the screenshot downloads
byte-identical (on the filesystem here; on S3 in test_support_attachments)."""

from __future__ import annotations

import hashlib
import os

from tests.support.conftest import API
from tests.support.test_support_attachments import multipart


async def test_customer_journey(client, team, events):
    screenshot = b"\x89PNG\r\n\x1a\n" + os.urandom(50_000)
    response = await client.post(
        f"{API}/tickets",
        json={"subject": "Export button broken", "description": "See screenshot", "priority": "high"},
        headers=team.requester.headers,
    )
    ticket = await response.get_json()
    body, headers = multipart(screenshot, filename="export.png", content_type="image/png")
    response = await client.post(
        f"{API}/tickets/{ticket['id']}/attachments", data=body, headers={**team.requester.headers, **headers}
    )
    assert response.status_code == 201
    attachment = await response.get_json()

    response = await client.put(
        f"{API}/tickets/{ticket['id']}",
        json={"assignee_id": team.agent.id, "status": "in_progress"},
        headers=team.admin.headers,
    )
    assert response.status_code == 200
    comments = f"{API}/tickets/{ticket['id']}/comments"
    assert (
        await client.post(comments, json={"body": "Known bug #123", "internal": True}, headers=team.agent.headers)
    ).status_code == 201
    assert (
        await client.post(comments, json={"body": "A fix ships tomorrow."}, headers=team.agent.headers)
    ).status_code == 201

    seen = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)).get_json()
    assert seen["assignee"]["id"] == team.agent.id
    assert seen["sla"]["first_responded_at"] is not None
    assert seen["sla"]["resolution_due_at"] is not None
    assert seen["sla"]["resolution_seconds_left"] > 0
    visible = await (await client.get(comments, headers=team.requester.headers)).get_json()
    assert [item["body"] for item in visible["items"]] == ["A fix ships tomorrow."]

    response = await client.get(
        f"{API}/tickets/{ticket['id']}/attachments/{attachment['id']}", headers=team.agent.headers
    )
    data = await response.get_data()
    assert data == screenshot
    assert hashlib.sha256(data).hexdigest() == attachment["sha256"]

    names = [name for name, _, _ in events]
    assert names == [
        "support.ticket_created",
        "support.ticket_updated",
        "support.comment_added",
        "support.comment_added",
    ]
    reply = [data for name, data, _ in events if name == "support.comment_added"][-1]
    assert reply["recipients"] == [{"user_id": team.requester.id, "email": team.requester.user.email}]
    note = [data for name, data, _ in events if name == "support.comment_added"][0]
    assert note["internal"] is True and note["recipients"] == []
