"""The delivery task: duplicate task messages, lost messages and abandoned leases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from vetrai.plugins.notifications import delivery
from vetrai.plugins.notifications.models import Notification

from .conftest import wait_status


async def test_duplicate_task_messages_deliver_once(app, make_user, mailbox):
    admin = await make_user(role="org_admin")
    row = await Notification.create(
        organization_id=admin.organization.id,
        channel="email",
        to="dup@example.com",
        subject="Once",
        body="b",
        rendered=True,
    )
    async with app.app.app_context():
        results = await asyncio.gather(*(delivery.deliver(str(row.id)) for _ in range(5)))
    assert results.count("done") == 1
    await mailbox.wait_for("dup@example.com")
    await asyncio.sleep(0.1)
    assert len(mailbox.to("dup@example.com")) == 1
    row = await wait_status(row.id)
    assert row.status == "sent" and row.attempts == 1
    async with app.app.app_context():
        assert await delivery.deliver(str(row.id)) == "sent"  # a redelivery after the fact does nothing
    assert len(mailbox.to("dup@example.com")) == 1


async def test_requeue_sends_lost_and_abandoned_deliveries(app, make_user, mailbox):
    admin = await make_user(role="org_admin")
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    lost = await Notification.create(
        organization_id=admin.organization.id,
        channel="email",
        to="lost@example.com",
        subject="Lost",
        body="b",
        rendered=True,
    )
    await Notification.filter(id=lost.id).update(created_at=long_ago)
    abandoned = await Notification.create(
        organization_id=admin.organization.id,
        channel="email",
        to="abandoned@example.com",
        subject="Abandoned",
        body="b",
        rendered=True,
        status="sending",
        attempts=1,
        locked_until=long_ago,
    )
    fresh = await Notification.create(
        organization_id=admin.organization.id,
        channel="email",
        to="fresh@example.com",
        subject="Fresh",
        body="b",
        rendered=True,
        status="sending",
        attempts=1,
        locked_until=datetime.now(UTC) + timedelta(minutes=5),
    )
    async with app.app.app_context():
        assert await delivery.requeue() == 2
    assert (await wait_status(lost.id)).status == "sent"
    abandoned_row = await wait_status(abandoned.id)
    assert abandoned_row.status == "sent" and abandoned_row.attempts == 2
    await mailbox.wait_for("lost@example.com")
    await mailbox.wait_for("abandoned@example.com")
    assert (await Notification.get(id=fresh.id)).status == "sending"
    assert mailbox.to("fresh@example.com") == []


def test_backoff_doubles_and_is_capped():
    class Settings:
        retry_base_seconds = 2.0
        retry_max_seconds = 30.0

    delays = [delivery.backoff(Settings, attempts) for attempts in range(1, 8)]
    for attempts, delay in enumerate(delays, start=1):
        expected = min(30.0, 2.0 * 2 ** (attempts - 1))
        assert expected * 0.9 <= delay <= expected * 1.1
