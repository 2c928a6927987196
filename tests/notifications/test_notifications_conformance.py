"""The conformance kit on the notifications plugin (move to tests/conformance when the lead adds it there)."""

from __future__ import annotations

import uuid

from vetrai.core.conformance import PluginConformance, Resource


async def _notification(kit, owner):
    response = await owner.post(
        "/api/v1/notifications", json={"channel": "in_app", "recipient_id": owner.id, "body": "conformance"}
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def _template(kit, owner):
    body = {"name": f"conformance-{uuid.uuid4().hex[:8]}", "channel": "email", "body": "hi {{ user.name }}"}
    response = await owner.post("/api/v1/notifications/templates", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


class TestConformanceNotifications(PluginConformance):
    plugin = "notifications"
    resource_list = [
        Resource("/api/v1/notifications/<notification_id>", _notification, list="/api/v1/notifications"),
        Resource(
            "/api/v1/notifications/templates/<template_id>",
            _template,
            list="/api/v1/notifications/templates",
            body={"body": "changed"},
        ),
    ]
    skip = {
        "api_key_scopes:GET /api/v1/notifications/stream": (
            "an endless text/event-stream: reading the whole body never ends "
            "(scopes and streaming are tested in tests/notifications/test_notifications_stream.py)"
        ),
        "event_loop:GET /api/v1/notifications/stream": (
            "an endless text/event-stream: reading the whole body never ends"
        ),
    }
