"""Sending, listing, reading: roles, scopes, tenant isolation, validation, idempotency."""

from __future__ import annotations

import uuid

import pytest

from .conftest import wait_status


async def send(client, actor, **body):
    return await client.post("/api/v1/notifications", json=body, headers=actor.headers)


async def send_in_app(client, admin, recipient, text="hello", **extra):
    response = await send(
        client, admin, channel="in_app", recipient_id=recipient.id, subject="Note", body=text, **extra
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    notification_id = (await response.get_json())["id"]
    await wait_status(notification_id)
    return notification_id


async def test_credentials_are_required(client):
    assert (await client.get("/api/v1/notifications")).status_code == 401
    response = await client.post("/api/v1/notifications", json={"channel": "email", "to": "a@example.com", "body": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["user", "support_agent", "billing_admin"])
async def test_only_admins_send_arbitrary_notifications(client, make_user, role):
    actor = await make_user(role=role)
    response = await send(client, actor, channel="email", to="a@example.com", body="x")
    assert response.status_code == 403
    assert (await client.get("/api/v1/notifications/templates", headers=actor.headers)).status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"channel": "fax", "to": "a@example.com", "body": "x"}, "channel"),
        ({"channel": "email", "to": "not-an-address", "body": "x"}, "to"),
        ({"channel": "email", "body": "x"}, "to"),
        ({"channel": "email", "to": "a@example.com"}, "body"),
        ({"channel": "in_app", "body": "x"}, "recipient_id"),
        ({"channel": "sms", "to": "0123", "body": "x"}, "to"),
        ({"channel": "webhook", "to": "ftp://example.com/x", "body": "x"}, "to"),
        ({"channel": "email", "to": "a@example.com", "body": "x", "category": "security"}, "category"),
        ({"channel": "email", "to": "a@example.com", "template_id": str(uuid.uuid4())}, "template_id"),
        ({"channel": "email", "recipient_id": str(uuid.uuid4()), "body": "x"}, "recipient_id"),
        ({"channel": "email", "to": "a@example.com", "body": "x", "unknown": 1}, "unknown"),
        ({"channel": "email", "to": "a@example.com", "body": ""}, "body"),
        ({"channel": "email", "to": "a@example.com", "body": "x", "data": {"blob": "x" * 70_000}}, "data"),
    ],
)
async def test_bad_send_requests_are_422(client, make_user, body, field):
    admin = await make_user(role="org_admin")
    response = await send(client, admin, **body)
    assert response.status_code == 422, await response.get_data(as_text=True)
    problem = await response.get_json()
    assert any(field in [str(part) for part in error["loc"]] for error in problem["errors"]), problem


async def test_recipient_of_another_organization_is_refused(client, make_user):
    admin = await make_user(role="org_admin")
    stranger = await make_user(role="user")
    response = await send(client, admin, channel="in_app", recipient_id=stranger.id, body="x")
    assert response.status_code == 422


async def test_users_see_their_own_admins_the_organization(client, make_user):
    admin = await make_user(role="org_admin")
    alice = await make_user(role="user", organization=admin.organization)
    bob = await make_user(role="user", organization=admin.organization)
    for_alice = await send_in_app(client, admin, alice, "for alice")
    for_bob = await send_in_app(client, admin, bob, "for bob")

    alice_items = (await (await client.get("/api/v1/notifications", headers=alice.headers)).get_json())["items"]
    assert [item["id"] for item in alice_items] == [for_alice]
    assert alice_items[0]["body"] == "for alice" and alice_items[0]["status"] == "sent"
    admin_ids = {
        item["id"]
        for item in (await (await client.get("/api/v1/notifications", headers=admin.headers)).get_json())["items"]
    }
    assert {for_alice, for_bob} <= admin_ids

    assert (await client.get(f"/api/v1/notifications/{for_bob}", headers=alice.headers)).status_code == 404
    assert (await client.get(f"/api/v1/notifications/{for_bob}", headers=admin.headers)).status_code == 200
    only_bob = await client.get(f"/api/v1/notifications?recipient_id={bob.id}", headers=admin.headers)
    assert [item["id"] for item in (await only_bob.get_json())["items"]] == [for_bob]


async def test_another_organizations_notification_is_404_and_not_listed(client, make_user):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    notification_id = await send_in_app(client, admin, member)
    outsider = await make_user(role="org_admin")
    assert (await client.get(f"/api/v1/notifications/{notification_id}", headers=outsider.headers)).status_code == 404
    assert (
        await client.post(f"/api/v1/notifications/{notification_id}/read", headers=outsider.headers)
    ).status_code == 404
    listed = (await (await client.get("/api/v1/notifications", headers=outsider.headers)).get_json())["items"]
    assert notification_id not in [item["id"] for item in listed]
    assert (await client.get("/api/v1/notifications/not-a-uuid", headers=admin.headers)).status_code == 404


async def test_read_and_read_all(client, make_user):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    first = await send_in_app(client, admin, member, "one")
    second = await send_in_app(client, admin, member, "two")
    third = await send_in_app(client, admin, member, "three")

    unread = await (await client.get("/api/v1/notifications?unread=true", headers=member.headers)).get_json()
    assert {item["id"] for item in unread["items"]} == {first, second, third}

    assert (await client.post(f"/api/v1/notifications/{first}/read", headers=admin.headers)).status_code == 403
    assert (await client.post(f"/api/v1/notifications/{first}/read", headers=member.headers)).status_code == 204
    shown = await (await client.get(f"/api/v1/notifications/{first}", headers=member.headers)).get_json()
    assert shown["status"] == "read" and shown["read_at"]
    unread = await (await client.get("/api/v1/notifications?unread=true", headers=member.headers)).get_json()
    assert {item["id"] for item in unread["items"]} == {second, third}
    read = await (await client.get("/api/v1/notifications?unread=false", headers=member.headers)).get_json()
    assert [item["id"] for item in read["items"]] == [first]

    assert (await client.post("/api/v1/notifications/read-all", headers=member.headers)).status_code == 204
    unread = await (await client.get("/api/v1/notifications?unread=true", headers=member.headers)).get_json()
    assert unread["items"] == []
    by_status = await (await client.get("/api/v1/notifications?status=read", headers=member.headers)).get_json()
    assert len(by_status["items"]) == 3


async def test_filters_and_pagination(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    for index in range(3):
        await send_in_app(client, admin, member, f"n{index}")
    response = await send(client, admin, channel="email", recipient_id=member.id, subject="s", body="b")
    await wait_status((await response.get_json())["id"])

    emails = await (await client.get("/api/v1/notifications?channel=email", headers=member.headers)).get_json()
    assert [item["channel"] for item in emails["items"]] == ["email"]
    page = await (await client.get("/api/v1/notifications?limit=2", headers=member.headers)).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await (
        await client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=member.headers)
    ).get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert not {item["id"] for item in page["items"]} & {item["id"] for item in rest["items"]}
    assert (await client.get("/api/v1/notifications?status=bogus", headers=member.headers)).status_code == 422


async def test_idempotency_key_returns_the_first_notification(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    body = {
        "channel": "email",
        "to": "once@example.com",
        "subject": "Once",
        "body": "only once",
        "idempotency_key": "order-42",
    }
    first = await (await send(client, admin, **body)).get_json()
    second_response = await send(client, admin, **{**body, "body": "changed"})
    assert second_response.status_code == 202
    second = await second_response.get_json()
    assert second["id"] == first["id"]
    await wait_status(first["id"])
    assert len(mailbox.to("once@example.com")) == 1
    # Keys are per organization: another organization may use the same key.
    other_admin = await make_user(role="org_admin")
    third = await (await send(client, other_admin, **body)).get_json()
    assert third["id"] != first["id"]


async def test_concurrent_sends_with_one_idempotency_key_make_one_notification(client, make_user, mailbox):
    import asyncio

    admin = await make_user(role="org_admin")
    body = {"channel": "email", "to": "race@example.com", "body": "once", "idempotency_key": "race"}
    responses = await asyncio.gather(*(send(client, admin, **body) for _ in range(5)))
    assert {response.status_code for response in responses} == {202}
    ids = {(await response.get_json())["id"] for response in responses}
    assert len(ids) == 1
    await wait_status(ids.pop())
    assert len(mailbox.to("race@example.com")) == 1


async def test_api_keys_with_the_write_scope_send_only_for_admins(custom_app, mailbox):
    from tests.auth.conftest import create_member

    test_app = await custom_app(plugins=["auth", "keys", "notifications"])
    client = test_app.test_client()
    admin = await create_member(test_app, "org_admin")
    member = await create_member(test_app, "user", admin.organization)

    async def key_of(actor, scopes):
        response = await client.post("/api/v1/keys", json={"name": "k", "scopes": scopes}, headers=actor.headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        return {"Authorization": f"Bearer {(await response.get_json())['key']}"}

    admin_writer = await key_of(admin, ["notifications:write"])
    admin_reader = await key_of(admin, ["notifications:read"])
    member_writer = await key_of(member, ["notifications:write", "notifications:read"])
    body = {"channel": "email", "to": "key@example.com", "body": "sent with a key"}
    assert (await client.post("/api/v1/notifications", json=body, headers=admin_writer)).status_code == 202
    response = await client.post("/api/v1/notifications", json=body, headers=admin_reader)
    assert response.status_code == 403 and (await response.get_json())["type"].endswith("insufficient-scope")
    assert (await client.post("/api/v1/notifications", json=body, headers=member_writer)).status_code == 403
    assert (await client.get("/api/v1/notifications", headers=admin_writer)).status_code == 403
    assert (await client.get("/api/v1/notifications", headers=member_writer)).status_code == 200
    await mailbox.wait_for("key@example.com")


async def test_channels_are_listed(client, make_user):
    member = await make_user(role="user")
    response = await client.get("/api/v1/notifications/channels", headers=member.headers)
    names = [item["name"] for item in (await response.get_json())["items"]]
    assert names == ["email", "in_app", "push", "sms", "webhook"]
