"""Delivering a notification: the handler of the core outbox's ``notifications.deliver`` kind.

Sending a notification writes its row and an outbox message (kind ``notifications.deliver``,
key the notification id) in one transaction; the core outbox claims the message, retries it
with backoff and takes it over from a dead worker (``vetrai.core.outbox``). This module is what
one attempt does: render, send through the channel, and record the outcome on the row, which
stays what the API shows. The handler is idempotent on the notification id: a row that is no
longer queued or sending is left alone, so a message delivered twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from tortoise.expressions import F

from vetrai.core import outbox
from vetrai.core.hooks import Backoff, DeliveryError, OutboxHandler, TemporaryDeliveryError
from vetrai.core.models import Organization, OutboxMessage
from vetrai.core.platform import current_platform
from vetrai.plugins.auth.models import User
from vetrai.plugins.notifications import service
from vetrai.plugins.notifications.channels import NotificationMessage
from vetrai.plugins.notifications.models import Notification, NotificationTemplate
from vetrai.plugins.notifications.schemas import NotificationsOut
from vetrai.plugins.notifications.service import (
    DELIVERY_KIND,
    SECURITY,
    NotificationsRuntime,
    now,
    render_template,
    runtime,
)
from vetrai.plugins.notifications.settings import NotificationsSettings
from vetrai.plugins.notifications.templates import TemplateProblem

log = logging.getLogger("vetrai.notifications")
FINAL = ("sent", "failed", "read")


def backoff(settings: Any, attempts: int) -> float:
    """base * 2^(attempts-1), capped, with ±10% jitter so retries of many rows spread out."""
    return Backoff(settings.retry_base_seconds, settings.retry_max_seconds).delay(attempts)


def outbox_handlers(settings: NotificationsSettings | None) -> list[OutboxHandler]:
    """The ``notifications.deliver`` outbox kind, with this deployment's attempts and backoff."""
    settings = settings or NotificationsSettings()
    return [
        OutboxHandler(
            DELIVERY_KIND,
            handle,
            max_attempts=settings.max_attempts,
            backoff=Backoff(settings.retry_base_seconds, settings.retry_max_seconds),
            lease_seconds=settings.lease_seconds,
        )
    ]


async def start(notification_id: uuid.UUID, lease_until: Any) -> Notification | None:
    """Mark the row as being sent (attempts + 1); None when it is already settled or gone."""
    updated = await Notification.filter(id=notification_id, status__in=["queued", "sending"]).update(
        status="sending", locked_until=lease_until, attempts=F("attempts") + 1
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


async def attempt(row: Notification, rt: NotificationsRuntime, *, last: bool) -> None:
    """One delivery attempt of a started row, its outcome recorded on the row.

    Raises ``TemporaryDeliveryError`` (with the delay) to have the outbox retry, and
    ``DeliveryError`` once the row is ``failed``, so the outbox message fails with it.
    """
    channel = rt.channels.get(row.channel)
    if channel is None:
        await _fail(row, f"no channel named {row.channel!r} is enabled")
    user = await User.get_or_none(id=row.user_id) if row.user_id else None
    if row.user_id is not None and (user is None or not user.is_active):
        await _fail(row, "the recipient no longer exists or is deactivated")
    if await service.opted_out(row.user_id, row.category, row.channel):
        await _fail(row, f"the recipient opted out of {row.category} notifications by {row.channel}")
    try:
        if not row.rendered:
            await _render(row, user, rt)
    except TemplateProblem as exc:
        await _fail(row, f"template error: {exc}")
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
        await channel.send(message)  # type: ignore[union-attr]
    except TemporaryDeliveryError as exc:
        if last:
            await _fail(row, f"gave up after {row.attempts} attempts: {exc}")
        delay = backoff(rt.settings, row.attempts)
        await Notification.filter(id=row.id, status="sending").update(
            status="queued", error=str(exc)[:2000], locked_until=None, next_attempt_at=now() + timedelta(seconds=delay)
        )
        raise TemporaryDeliveryError(str(exc), retry_after=delay) from exc
    except Exception as exc:
        await _fail(row, f"{exc}"[:2000] or type(exc).__name__)
    await _finish(row, "sent", None)
    if row.channel == "in_app" and row.user_id is not None:
        fresh = await Notification.get(id=row.id)
        try:
            await rt.hub.publish(str(row.user_id), NotificationsOut.model_validate(fresh).model_dump())
        except Exception:
            log.exception("could not stream notification %s", row.id)


async def _fail(row: Notification, reason: str) -> None:
    await _finish(row, "failed", reason)
    raise DeliveryError(reason)


async def handle(message: OutboxMessage) -> None:
    """The outbox handler of ``notifications.deliver``: one attempt at the notification it names."""
    row = await start(uuid.UUID(message.payload["notification_id"]), message.lease_until)
    if row is None:
        return  # sent, failed or deleted already: a repeated message does nothing
    await attempt(row, runtime(), last=message.attempts >= message.max_attempts)


async def _message_id(notification_id: uuid.UUID, organization_id: uuid.UUID | None) -> uuid.UUID:
    return await outbox.enqueue(
        DELIVERY_KIND,
        {"notification_id": str(notification_id)},
        key=str(notification_id),
        organization_id=organization_id,
        kick=False,
    )


async def deliver(notification_id: str) -> str:
    """taskiq task ``notifications.deliver``: deliver one notification now, through its outbox message.

    Returns ``done`` when this call settled it, otherwise the row's status (a repeated or
    concurrent call does nothing). Kept for task messages queued before the outbox existed.
    """
    key = uuid.UUID(notification_id)
    row = await Notification.get_or_none(id=key)
    if row is None:
        return "missing"
    message_id = await _message_id(row.id, row.organization_id)
    platform = current_platform()
    while True:
        status, delay = await outbox.deliver_once(platform, message_id)
        if status == "done":
            return "done"
        if delay is None or delay > outbox.INLINE_RETRY_SECONDS:
            current = await Notification.get_or_none(id=key)
            return current.status if current is not None else "missing"
        await asyncio.sleep(delay)


async def requeue() -> int:
    """taskiq task ``notifications.requeue``: hand rows written before the outbox existed to it.

    Finds notifications that are queued (or were being sent with an expired lease) and have no
    outbox message, and enqueues one; rows the outbox already knows are left to its sweep.
    """
    adopted = await outbox.unadopted(Notification, DELIVERY_KIND)
    for row_id, organization_id in adopted:
        await outbox.kick_delivery(await _message_id(row_id, organization_id))
    if adopted:
        log.info("handed %s notification deliveries to the outbox", len(adopted))
    return len(adopted)
