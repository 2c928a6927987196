"""Webhook, SMS and push against a real local HTTP server; a third-party channel by the hook."""

from __future__ import annotations

import json

from vetrai.core.hooks import NotificationChannel, TemporaryDeliveryError, hookimpl
from vetrai.core.outbound import verify_signature

from .conftest import WEBHOOK_SECRET, wait_status


async def send(client, actor, **body):
    response = await client.post("/api/v1/notifications", json=body, headers=actor.headers)
    assert response.status_code == 202, await response.get_data(as_text=True)
    return (await response.get_json())["id"]


def check_signed(request, notification_id):
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-vetrai-notification-id"] == notification_id
    assert "x-vetrai-timestamp" not in headers
    assert verify_signature(WEBHOOK_SECRET, request["body"], headers["x-vetrai-signature"])
    assert not verify_signature("another secret", request["body"], headers["x-vetrai-signature"])
    assert not verify_signature(WEBHOOK_SECRET, request["body"] + b" ", headers["x-vetrai-signature"])
    return json.loads(request["body"])


async def test_webhook_is_a_signed_json_post(client, make_user, http_receiver):
    admin = await make_user(role="org_admin")
    notification_id = await send(
        client,
        admin,
        channel="webhook",
        to=http_receiver.url("/hook"),
        subject="Deploy",
        body="v2 is live",
        data={"version": 2},
    )
    [request] = await http_receiver.wait_for(1)
    payload = check_signed(request, notification_id)
    assert request["path"] == "/hook"
    assert payload["id"] == notification_id and payload["subject"] == "Deploy" and payload["body"] == "v2 is live"
    assert payload["data"] == {"version": 2} and payload["organization_id"] == admin.organization_id
    row = await wait_status(notification_id)
    assert row.status == "sent" and row.attempts == 1


async def test_webhook_5xx_is_retried_and_4xx_is_permanent(client, make_user, http_receiver):
    admin = await make_user(role="org_admin")
    http_receiver.responses = [503, 500, 200]
    notification_id = await send(client, admin, channel="webhook", to=http_receiver.url(), body="eventually")
    row = await wait_status(notification_id)
    assert row.status == "sent" and row.attempts == 3
    assert [request["status"] for request in http_receiver.requests] == [503, 500, 200]

    http_receiver.responses = [404]
    notification_id = await send(client, admin, channel="webhook", to=http_receiver.url(), body="never")
    row = await wait_status(notification_id)
    assert row.status == "failed" and row.attempts == 1 and "answered 404" in row.error


async def test_webhook_connection_refused_is_temporary(client, make_user):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin = await make_user(role="org_admin")
    notification_id = await send(client, admin, channel="webhook", to=f"http://127.0.0.1:{port}/x", body="x")
    row = await wait_status(notification_id)
    assert row.status == "failed" and row.attempts == 4 and "gave up after 4 attempts" in row.error


async def test_webhooks_to_private_addresses_are_refused_by_default(custom_app, http_receiver):
    from tests.auth.conftest import create_member

    test_app = await custom_app({"webhook_allow_private": "false"})
    admin = await create_member(test_app, "org_admin")
    notification_id = await send(test_app.test_client(), admin, channel="webhook", to=http_receiver.url(), body="x")
    row = await wait_status(notification_id)
    assert row.status == "failed" and "private or loopback" in row.error
    assert http_receiver.requests == []


async def test_sms_and_push_go_to_the_provider_endpoints(client, make_user, http_receiver):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    sms_id = await send(client, admin, channel="sms", to="+14155550100", body="Your code is 123456")
    await http_receiver.wait_for(1)
    push_id = await send(
        client, admin, channel="push", recipient_id=member.id, subject="Ping", body="Job done", data={"job": "j1"}
    )
    requests = await http_receiver.wait_for(2)
    sms, push = requests
    assert sms["path"] == "/sms" and push["path"] == "/push"
    sms_payload = check_signed(sms, sms_id)
    assert sms_payload["to"] == "+14155550100" and sms_payload["body"] == "Your code is 123456"
    push_payload = check_signed(push, push_id)
    assert (
        push_payload["user_id"] == member.id
        and push_payload["title"] == "Ping"
        and push_payload["data"] == {"job": "j1"}
    )
    assert (await wait_status(sms_id)).status == "sent"
    assert (await wait_status(push_id)).status == "sent"


async def test_sms_without_a_provider_fails_permanently(custom_app):
    from tests.auth.conftest import create_member

    test_app = await custom_app({"sms_webhook_url": ""})
    admin = await create_member(test_app, "org_admin")
    notification_id = await send(test_app.test_client(), admin, channel="sms", to="+14155550100", body="x")
    row = await wait_status(notification_id)
    assert row.status == "failed" and "VETRAI_NOTIFICATIONS_SMS_WEBHOOK_URL" in row.error


class ChatPlugin:
    """A third-party plugin adding a channel, as a Slack integration would."""

    def __init__(self) -> None:
        self.sent: list = []
        self.failures = 1

    @hookimpl
    def vetrai_plugin_info(self):
        from vetrai.core.hooks import PluginInfo

        return PluginInfo(name="chat", version="1.0", requires=("notifications",))

    @hookimpl
    def vetrai_notification_channels(self):
        async def send_chat(message):
            if self.failures:
                self.failures -= 1
                raise TemporaryDeliveryError("chat service busy")
            self.sent.append(message)

        return [NotificationChannel("chat", send_chat, "A chat room")]


async def test_a_plugin_can_add_a_channel(custom_app):
    from tests.auth.conftest import create_member

    plugin = ChatPlugin()
    test_app = await custom_app(extra_plugins=(plugin,))
    client = test_app.test_client()
    admin = await create_member(test_app, "org_admin")
    channels = await (await client.get("/api/v1/notifications/channels", headers=admin.headers)).get_json()
    assert "chat" in [item["name"] for item in channels["items"]]
    notification_id = await send(client, admin, channel="chat", to="#general", subject="Hi", body="hello room")
    row = await wait_status(notification_id)
    assert row.status == "sent" and row.attempts == 2
    [message] = plugin.sent
    assert message.to == "#general" and message.body == "hello room" and message.attempt == 2
