"""The Server-Sent Events stream of in-app notifications (through Redis on the postgres run)."""

from __future__ import annotations

import asyncio
import json

from .conftest import wait_status


class SSEReader:
    """Reads ``event: notification`` frames from a test connection, skipping comments."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.buffer = b""

    async def next(self, timeout: float = 10.0) -> dict:
        async def next_event() -> dict:
            while True:
                while b"\n\n" in self.buffer:
                    raw, self.buffer = self.buffer.split(b"\n\n", 1)
                    lines = raw.decode().splitlines()
                    fields = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith(":"))
                    if fields.get("event") == "notification":
                        return {"id": fields["id"], "data": json.loads(fields["data"])}
                self.buffer += await self.connection.receive()

        return await asyncio.wait_for(next_event(), timeout)


async def read_event(connection, timeout: float = 10.0) -> dict:
    return await SSEReader(connection).next(timeout)


async def test_stream_receives_a_new_in_app_notification(client, make_user):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    other = await make_user(role="user", organization=admin.organization)
    async with client.request("/api/v1/notifications/stream", headers=member.headers) as connection:
        await connection.send_complete()
        first = await asyncio.wait_for(connection.receive(), 5)
        assert first.startswith(b": connected")
        for recipient, text in ((other, "not for you"), (member, "Your report is ready")):
            response = await client.post(
                "/api/v1/notifications",
                json={"channel": "in_app", "recipient_id": recipient.id, "subject": "Report", "body": text},
                headers=admin.headers,
            )
            assert response.status_code == 202
        event = await read_event(connection)
        await connection.disconnect()
    assert event["data"]["body"] == "Your report is ready"
    assert event["data"]["recipient_id"] == member.id
    assert event["data"]["status"] == "sent"
    assert event["id"] == event["data"]["id"]
    row = await wait_status(event["id"])
    assert row.status == "sent"


async def test_stream_needs_credentials(client):
    response = await client.get("/api/v1/notifications/stream")
    assert response.status_code == 401


async def test_a_reconnect_with_last_event_id_replays_what_was_missed(client, make_user):
    from .test_notifications_api import send_in_app

    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    seen = await send_in_app(client, admin, member, "seen")
    missed = [await send_in_app(client, admin, member, f"missed {index}") for index in range(2)]
    headers = {**member.headers, "Last-Event-ID": seen}
    async with client.request("/api/v1/notifications/stream", headers=headers) as connection:
        await connection.send_complete()
        reader = SSEReader(connection)
        first = await reader.next()
        second = await reader.next()
        await connection.disconnect()
    assert [first["id"], second["id"]] == missed
    assert [first["data"]["body"], second["data"]["body"]] == ["missed 0", "missed 1"]
