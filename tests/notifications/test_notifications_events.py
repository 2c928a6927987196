"""System notifications from other plugins' events, and the recipients' preferences."""

from __future__ import annotations

import asyncio
import time
import uuid

from vetrai.core.models import OutboxMessage
from vetrai.plugins.notifications import listeners
from vetrai.plugins.notifications.models import Notification

from .conftest import wait_rows

PREFERENCES = "/api/v1/notifications/preferences"


async def emit(app, platform, name, data, organization, actor=None):
    """Emit, then wait until the plugin's reaction (an outbox message) has run, so that what it
    did not create is known not to come later."""
    async with app.app.app_context():
        event = await platform.events.emit(
            name, data, organization_id=organization.id, actor_id=actor.user.id if actor else None
        )
    deadline = time.monotonic() + 15
    while (message := await OutboxMessage.get_or_none(kind="notifications.event", key=str(event.id))) is not None:
        if message.status in ("delivered", "failed"):
            assert message.status == "delivered", message.last_error
            assert message.payload == {}  # reset links and other event data are not kept
            return
        assert time.monotonic() < deadline, f"the reaction to {name} did not run"
        await asyncio.sleep(0.02)


async def test_ticket_events_notify_requester_and_assignee(app, platform, client, make_user, mailbox):
    requester = await make_user(role="user")
    agent = await make_user(role="support_agent", organization=requester.organization)
    ticket = {
        "ticket_id": str(uuid.uuid4()),
        "subject": "Printer on fire",
        "requester_id": requester.id,
        "assignee_id": agent.id,
        "status": "open",
    }
    await emit(app, platform, "support.ticket_created", ticket, requester.organization, actor=requester)
    rows = await wait_rows(count=4, event="support.ticket_created")
    assert {(str(row.user_id), row.channel) for row in rows} == {
        (requester.id, "email"),
        (requester.id, "in_app"),
        (agent.id, "email"),
        (agent.id, "in_app"),
    }
    assert all(row.status == "sent" for row in rows), [row.error for row in rows]
    [message] = await mailbox.wait_for(agent.user.email)
    assert message["Subject"] == "[Ticket] Printer on fire: was created"
    assert f"/support/tickets/{ticket['ticket_id']}" in message.get_body(("plain",)).get_content()
    inbox = await (await client.get("/api/v1/notifications?channel=in_app", headers=requester.headers)).get_json()
    assert inbox["items"][0]["body"] == '"Printer on fire" was created (status: open).'

    # The agent comments: only the requester hears about it.
    await emit(
        app,
        platform,
        "support.comment_added",
        {**ticket, "comment_id": str(uuid.uuid4())},
        requester.organization,
        actor=agent,
    )
    rows = await wait_rows(count=2, event="support.comment_added")
    assert {str(row.user_id) for row in rows} == {requester.id}


async def test_the_recipients_named_by_the_support_plugin_win(app, platform, make_user, mailbox):
    requester = await make_user(role="user")
    agent = await make_user(role="support_agent", organization=requester.organization)
    lead = await make_user(role="support_agent", organization=requester.organization)
    ticket = {
        "ticket_id": str(uuid.uuid4()),
        "subject": "Internal",
        "requester_id": requester.id,
        "assignee_id": agent.id,
        "status": "open",
        "requester_email": requester.user.email,
    }
    internal = {
        **ticket,
        "internal": True,
        "body": "customer is difficult",
        "recipients": [{"user_id": agent.id, "email": agent.user.email}],
    }
    await emit(app, platform, "support.comment_added", internal, requester.organization, actor=lead)
    rows = await wait_rows(count=2, event="support.comment_added")
    assert {str(row.user_id) for row in rows} == {agent.id}
    assert "requester_email" not in rows[0].data and rows[0].data["body"] == "customer is difficult"
    breach = {**ticket, "sla": "first_response", "recipients": [{"user_id": agent.id, "email": agent.user.email}]}
    await emit(app, platform, "support.sla_breached", breach, requester.organization)
    rows = await wait_rows(count=2, event="support.sla_breached")
    assert {str(row.user_id) for row in rows} == {agent.id}
    messages = await mailbox.wait_for(agent.user.email, count=2)
    assert messages[-1]["Subject"] == "[Ticket] Internal: missed its SLA target"
    await emit(
        app, platform, "support.ticket_updated", {**ticket, "recipients": []}, requester.organization, actor=agent
    )
    assert await Notification.filter(event="support.ticket_updated").count() == 0
    assert mailbox.to(requester.user.email) == []


async def test_job_finished_and_payment_failed(app, platform, client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    billing = await make_user(role="billing_admin", organization=admin.organization)
    member = await make_user(role="user", organization=admin.organization)
    job = {
        "job_id": str(uuid.uuid4()),
        "template": "summarize",
        "status": "failed",
        "user_id": member.id,
        "error": {"type": "TimeoutError", "message": "timeout"},
    }
    await emit(app, platform, "engine.job_finished", job, admin.organization, actor=member)
    rows = await wait_rows(count=2, event="engine.job_finished")
    assert {(str(row.user_id), row.channel, row.status) for row in rows} == {
        (member.id, "in_app", "sent"),
        (member.id, "email", "sent"),
    }
    in_app = next(row for row in rows if row.channel == "in_app")
    assert (
        in_app.subject == "Job summarize failed" and in_app.body == f"Job {job['job_id']} finished: failed (timeout)."
    )

    succeeded = {**job, "job_id": str(uuid.uuid4()), "status": "succeeded", "error": None}
    reactions = await OutboxMessage.filter(kind=listeners.EVENT_KIND).count()
    await emit(app, platform, "engine.job_finished", succeeded, admin.organization, actor=member)
    assert await Notification.filter(event="engine.job_finished").count() == 2  # a success tells nobody
    # ...and costs no outbox message either
    assert await OutboxMessage.filter(kind=listeners.EVENT_KIND).count() == reactions

    await emit(
        app,
        platform,
        "billing.payment_failed",
        {"invoice_id": "in_123", "amount_due": 4900, "currency": "eur"},
        admin.organization,
    )
    rows = await wait_rows(count=4, event="billing.payment_failed")
    assert {str(row.user_id) for row in rows} == {admin.id, billing.id}
    [message] = await mailbox.wait_for(billing.user.email)
    assert "49.00 EUR" in message.get_body(("plain",)).get_content()


async def test_malformed_or_foreign_events_are_ignored(app, platform, make_user):
    member = await make_user(role="user")
    outsider = await make_user(role="user")
    await emit(app, platform, "support.ticket_updated", {"requester_id": "not-a-uuid"}, member.organization)
    await emit(app, platform, "auth.password_reset_requested", {"email": "x@example.com"}, member.organization)
    await emit(app, platform, "billing.payment_failed", {}, member.organization)  # no admins: nobody to tell
    # A ticket event may not reach a user of another organization.
    await emit(
        app,
        platform,
        "support.ticket_updated",
        {"ticket_id": "t", "subject": "s", "requester_id": outsider.id, "status": "x"},
        member.organization,
    )
    await emit(app, platform, "unrelated.event", {"user_id": member.id}, member.organization)
    assert await Notification.all().count() == 0


async def test_preferences_get_and_put(client, make_user):
    member = await make_user(role="user")
    response = await client.get(PREFERENCES, headers=member.headers)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["opt_outs"] == []
    assert {"name": "security", "description": body["categories"][0]["description"], "can_opt_out": False} in body[
        "categories"
    ]
    assert "email" in body["channels"]
    response = await client.put(
        PREFERENCES,
        json={"opt_outs": [{"category": "support", "channel": "email"}, {"category": "jobs", "channel": "*"}]},
        headers=member.headers,
    )
    assert response.status_code == 200
    again = await (await client.get(PREFERENCES, headers=member.headers)).get_json()
    assert again["opt_outs"] == [{"category": "support", "channel": "email"}, {"category": "jobs", "channel": "*"}]
    other = await make_user(role="user", organization=member.organization)
    assert (await (await client.get(PREFERENCES, headers=other.headers)).get_json())["opt_outs"] == []
    assert (await client.get(PREFERENCES)).status_code == 401


async def test_bad_preferences_are_422(client, make_user):
    member = await make_user(role="user")
    for rules in (
        [{"category": "security", "channel": "email"}],
        [{"category": "gossip", "channel": "email"}],
        [{"category": "support", "channel": "pigeon"}],
        [{"category": "support"}],
    ):
        response = await client.put(PREFERENCES, json={"opt_outs": rules}, headers=member.headers)
        assert response.status_code == 422, rules


async def test_opt_outs_are_respected(app, platform, client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    await client.put(
        PREFERENCES,
        json={"opt_outs": [{"category": "support", "channel": "email"}, {"category": "general", "channel": "*"}]},
        headers=member.headers,
    )
    ticket = {"ticket_id": str(uuid.uuid4()), "subject": "Quiet please", "requester_id": member.id, "status": "open"}
    await emit(app, platform, "support.ticket_updated", ticket, admin.organization, actor=admin)
    rows = await wait_rows(count=1, event="support.ticket_updated")
    assert [(row.channel, row.status) for row in rows] == [("in_app", "sent")]

    response = await client.post(
        "/api/v1/notifications",
        json={"channel": "email", "recipient_id": member.id, "body": "general news"},
        headers=admin.headers,
    )
    rows = await wait_rows(count=1, id=(await response.get_json())["id"])
    assert rows[0].status == "failed" and "opted out of general notifications by email" in rows[0].error
    assert mailbox.to(member.user.email) == []
