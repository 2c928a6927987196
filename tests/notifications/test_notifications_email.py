"""Email over a real SMTP server (aiosmtpd), retries, the outbox, and auth's emails."""

from __future__ import annotations

import email as email_parser
import email.policy as email_policy
import re
import uuid
from pathlib import Path

from .conftest import PUBLIC_URL, wait_rows, wait_status


async def test_send_email_arrives_with_headers_text_and_html(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    response = await client.post(
        "/api/v1/notifications",
        json={
            "channel": "email",
            "recipient_id": member.id,
            "subject": "Quarterly report",
            "body": "Hello <team>,\n\nthe report is out.",
        },
        headers=admin.headers,
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["status"] == "queued"
    [message] = await mailbox.wait_for(member.user.email)
    assert message["Subject"] == "Quarterly report"
    assert message["From"] == "VetrAI Tests <no-reply@example.com>"
    assert message["X-VetrAI-Notification-Id"] == body["id"]
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello <team>," in text
    assert "Hello &lt;team&gt;," in html and "<team>" not in html
    row = await wait_status(body["id"])
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None

    shown = await (await client.get(f"/api/v1/notifications/{body['id']}", headers=admin.headers)).get_json()
    assert shown["status"] == "sent" and shown["attempts"] == 1 and shown["error"] is None and shown["sent_at"]


async def test_smtp_failing_twice_then_succeeding_is_retried(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    mailbox.fail_next = 2
    response = await client.post(
        "/api/v1/notifications",
        json={"channel": "email", "to": "someone@example.com", "subject": "Retry", "body": "third time lucky"},
        headers=admin.headers,
    )
    notification_id = (await response.get_json())["id"]
    row = await wait_status(notification_id)
    assert row.status == "sent", row.error
    assert row.attempts == 3
    assert mailbox.refusals == 2
    assert len(mailbox.to("someone@example.com")) == 1


async def test_permanent_failure_after_max_attempts_records_the_reason(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    mailbox.fail_next = 100
    response = await client.post(
        "/api/v1/notifications",
        json={"channel": "email", "to": "never@example.com", "body": "x"},
        headers=admin.headers,
    )
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "failed"
    assert row.attempts == 4
    assert "gave up after 4 attempts" in row.error and "451" in row.error
    assert mailbox.to("never@example.com") == []


async def test_unreachable_smtp_server_is_a_temporary_failure(custom_app, mailbox):
    from socket import socket

    with socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    test_app = await custom_app({"smtp_port": closed_port, "max_attempts": 2})
    from tests.auth.conftest import create_member

    admin = await create_member(test_app, "org_admin")
    response = await test_app.test_client().post(
        "/api/v1/notifications", json={"channel": "email", "to": "x@example.com", "body": "x"}, headers=admin.headers
    )
    row = await wait_status((await response.get_json())["id"])
    assert row.status == "failed" and row.attempts == 2
    assert "unreachable" in row.error


async def test_password_reset_email_arrives_and_its_link_works(client, make_user, mailbox):
    member = await make_user(role="user")
    response = await client.post("/api/v1/password-reset", json={"email": member.user.email})
    assert response.status_code == 202
    [message] = await mailbox.wait_for(member.user.email)
    assert message["Subject"] == "Reset your password"
    text = message.get_body(("plain",)).get_content()
    link = re.search(re.escape(PUBLIC_URL) + r"/reset-password\?token=([A-Za-z0-9_\-%]+)", text)
    assert link, text
    html = message.get_body(("html",)).get_content()
    assert f'href="{PUBLIC_URL}/reset-password?token=' in html
    token = link.group(1)
    confirm = await client.post(
        "/api/v1/password-reset/confirm", json={"token": token, "new_password": "a brand new passphrase"}
    )
    assert confirm.status_code == 204, await confirm.get_data(as_text=True)
    login = await client.post("/api/v1/login", json={"email": member.user.email, "password": "a brand new passphrase"})
    assert login.status_code == 200
    # The reset link is a credential: gone from the database once delivered, never shown by the API.
    [row] = await wait_rows(user_id=member.user.id, template_name="password_reset")
    assert row.category == "security" and row.data == {} and row.body is None
    # The password change itself is announced too.
    changed = await mailbox.wait_for(member.user.email, count=2)
    assert changed[1]["Subject"] == "Your password was changed"


async def test_password_reset_bypasses_opt_outs(client, make_user, mailbox):
    member = await make_user(role="user")
    response = await client.put(
        "/api/v1/notifications/preferences",
        json={"opt_outs": [{"category": "*", "channel": "*"}]},
        headers=member.headers,
    )
    assert response.status_code == 200
    await client.post("/api/v1/password-reset", json={"email": member.user.email})
    [message] = await mailbox.wait_for(member.user.email)
    assert message["Subject"] == "Reset your password"


async def test_registration_sends_welcome_and_verification_email(client, mailbox):
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    response = await client.post(
        "/api/v1/register",
        json={"email": email, "password": "a long passphrase", "first_name": "Ada", "organization_name": "Analytical"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    messages = await mailbox.wait_for(email, count=2)
    subjects = {message["Subject"] for message in messages}
    assert subjects == {"Welcome to VetrAI", "Confirm your email address"}
    verify = next(message for message in messages if message["Subject"] == "Confirm your email address")
    text = verify.get_body(("plain",)).get_content()
    assert "Hello Ada," in text
    token = re.search(r"/verify-email\?token=([A-Za-z0-9_\-%]+)", text).group(1)
    assert (await client.post("/api/v1/verify-email", json={"token": token})).status_code == 204
    access = (await response.get_json())["access_token"]
    me = await (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})).get_json()
    assert me["email_verified"] is True


async def test_without_smtp_host_emails_go_to_the_outbox(custom_app, settings, mailbox):
    test_app = await custom_app({"smtp_host": ""})
    email = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    response = await test_app.test_client().post(
        "/api/v1/register", json={"email": email, "password": "a long passphrase"}
    )
    assert response.status_code == 201
    user_id = (await response.get_json())["user"]["id"]
    await wait_rows(count=2, user_id=user_id)
    outbox = Path(settings.data_dir) / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    messages = [email_parser.message_from_bytes(path.read_bytes(), policy=email_policy.default) for path in files]
    assert {message["To"] for message in messages} == {email}
    assert {message["Subject"] for message in messages} == {"Welcome to VetrAI", "Confirm your email address"}
    verify = next(message for message in messages if message["Subject"] == "Confirm your email address")
    assert f"{PUBLIC_URL}/verify-email?token=" in verify.get_body(("plain",)).get_content()
    assert mailbox.messages == []
