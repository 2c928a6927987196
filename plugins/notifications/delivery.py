"""The ``notifications.deliver`` task: claim, render, send, record; retries with backoff.

A delivery claims its row atomically (``queued`` -> ``sending`` with a lease, attempts + 1),
so a duplicate task message (taskiq-redis streams redeliver) does nothing. A temporary
failure puts the row back to ``queued`` with ``next_attempt_at`` and the same task sleeps
until then and claims it again; after ``max_attempts`` or on a permanent failure the row is
``failed`` with the reason. The ``notifications.requeue`` schedule re-sends the task for rows
whose message was lost (a worker died while sleeping, the broker restarted).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from tortoise.expressions import F, Q

from vetrai.core.hooks import TemporaryDeliveryError
from vetrai.core.models import Organization
from vetrai.plugins.auth.models import User
from vetrai.plugins.notifications import service
from vetrai.plugins.notifications.channels import NotificationMessage
from vetrai.plugins.notifications.models import Notification, NotificationTemplate
from vetrai.plugins.notifications.service import SECURITY, NotificationsRuntime, now, render_template, runtime
from vetrai.plugins.notifications.templates import TemplateProblem

log = logging.getLogger("vetrai.notifications")
CLOCK_SLACK = timedelta(milliseconds=50)
FINAL = ("sent", "failed", "read")


def backoff(settings: Any, attempts: int) -> float:
    """base * 2^(attempts-1), capped, with ±10% jitter so retries of many rows spread out."""
    delay = min(settings.retry_max_seconds, settings.retry_base_seconds * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.9, 1.1)


async def claim(notification_id: uuid.UUID, lease_seconds: float) -> Notification | None:
    current = now()
    ready = Q(status="queued") & (Q(next_attempt_at=None) | Q(next_attempt_at__lte=current + CLOCK_SLACK))
    abandoned = Q(status="sending") & Q(locked_until__lt=current)
    updated = await Notification.filter(Q(id=notification_id) & (ready | abandoned)).update(
        status="sending", locked_until=current + timedelta(seconds=lease_seconds), attempts=F("attempts") + 1
    )
    if not updated:
        return None
    return await Notification.get_or_none(id=notification_id)


async def _finish(row: Notification, status: str, error: str | None) -> None:
    changes: dict[str, Any] = {"status": status, "error": error, "locked_until": None, "next_attempt_at": None}
    if status == "sent":
        changes["sent_at"] = now()
    if row.category == SECURITY:
        # Reset and verification links are credentials: keep them no longer than the delivery.
        changes.update(data={}, body=None, html=None)
    await Notification.filter(id=row.id, status="sending").update(**changes)


async def _context(row: Notification, user: User | None, rt: NotificationsRuntime) -> dict[str, Any]:
    organization = await Organization.get_or_none(id=row.organization_id)
    context: dict[str, Any] = {
        "app_name": "VetrAI",
        "app_url": rt.public_url,
        "organization": {
            "id": str(row.organization_id),
            "name": organization.name if organization else "",
            "slug": organization.slug if organization else "",
        },
        "notification": {"id": str(row.id), "channel": row.channel, "category": row.category},
    }
    if user is not None:
        name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.email.split("@")[0]
        context["user"] = {
            "id": str(user.id),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "name": name,
        }
    context.update(row.data or {})
    return context


async def _render(row: Notification, user: User | None, rt: NotificationsRuntime) -> None:
    template: NotificationTemplate | None
    if row.template_id is not None:
        template = await NotificationTemplate.get_or_none(id=row.template_id)
        if template is None:
            raise TemplateProblem("the template was deleted before the notification was sent")
    elif row.template_name:
        template = await service.find_template(row.organization_id, row.template_name, row.channel, row.locale)
        if template is None:
            raise TemplateProblem(f"no {row.channel} template named {row.template_name!r}")
    else:
        raise TemplateProblem("the notification has neither a body nor a template")
    context = await _context(row, user, rt)
    row.subject, row.body, row.html = await render_template(template, context, row.channel)
    row.rendered = True
    await Notification.filter(id=row.id).update(subject=row.subject, body=row.body, html=row.html, rendered=True)


async def attempt(row: Notification, rt: NotificationsRuntime) -> float | None:
    """One delivery attempt of a claimed row; returns the delay before a retry, or None when done."""
    channel = rt.channels.get(row.channel)
    if channel is None:
        await _finish(row, "failed", f"no channel named {row.channel!r} is enabled")
        return None
    user = await User.get_or_none(id=row.user_id) if row.user_id else None
    if row.user_id is not None and (user is None or not user.is_active):
        await _finish(row, "failed", "the recipient no longer exists or is deactivated")
        return None
    if await service.opted_out(row.user_id, row.category, row.channel):
        await _finish(row, "failed", f"the recipient opted out of {row.category} notifications by {row.channel}")
        return None
    try:
        if not row.rendered:
            await _render(row, user, rt)
    except TemplateProblem as exc:
        await _finish(row, "failed", f"template error: {exc}")
        return None
    to = row.to
    if to is None and user is not None and row.channel == "email":
        to = user.email
    message = NotificationMessage(
        id=row.id,
        organization_id=row.organization_id,
        channel=row.channel,
        to=to,
        user_id=row.user_id,
        subject=row.subject,
        body=row.body or "",
        html=row.html,
        category=row.category,
        event=row.event,
        attempt=row.attempts,
        created_at=row.created_at,
        data=dict(row.data or {}),
    )
    try:
        await channel.send(message)
    except TemporaryDeliveryError as exc:
        if row.attempts >= rt.settings.max_attempts:
            await _finish(row, "failed", f"gave up after {row.attempts} attempts: {exc}")
            return None
        delay = backoff(rt.settings, row.attempts)
        await Notification.filter(id=row.id, status="sending").update(
            status="queued", error=str(exc)[:2000], locked_until=None, next_attempt_at=now() + timedelta(seconds=delay)
        )
        log.warning(
            "notification %s attempt %s failed temporarily (%s); retrying in %.1fs", row.id, row.attempts, exc, delay
        )
        return delay
    except Exception as exc:
        log.warning("notification %s failed permanently: %s", row.id, exc)
        await _finish(row, "failed", f"{exc}"[:2000] or type(exc).__name__)
        return None
    await _finish(row, "sent", None)
    if row.channel == "in_app" and row.user_id is not None:
        fresh = await Notification.get(id=row.id)
        try:
            await rt.hub.publish(str(row.user_id), service.serialize_notification(fresh))
        except Exception:
            log.exception("could not stream notification %s", row.id)
    return None


async def deliver(notification_id: str) -> str:
    """taskiq task ``notifications.deliver``: deliver one notification (at least once, retried)."""
    rt = runtime()
    key = uuid.UUID(notification_id)
    while True:
        row = await claim(key, rt.settings.lease_seconds)
        if row is None:
            current = await Notification.get_or_none(id=key)
            return current.status if current is not None else "missing"
        delay = await attempt(row, rt)
        if delay is None:
            return "done"
        await asyncio.sleep(delay)


async def requeue() -> int:
    """taskiq task ``notifications.requeue``: re-send deliveries whose task message was lost."""
    current = now()
    grace = timedelta(seconds=60)
    stale = (
        await Notification.filter(
            Q(status="queued", next_attempt_at=None, created_at__lt=current - grace)
            | Q(status="queued", next_attempt_at__lt=current - grace)
            | Q(status="sending", locked_until__lt=current)
        )
        .limit(500)
        .values_list("id", flat=True)
    )
    for notification_id in stale:
        await service.kick(notification_id)
    if stale:
        log.info("re-queued %s notification deliveries", len(stale))
    return len(stale)
