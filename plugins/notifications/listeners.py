"""System notifications from other plugins' domain events (the ``vetrai_event`` hook).

Reacting is kept off the emitter's path: ``handle_event`` only writes an outbox message (kind
``notifications.event``) for an event this plugin acts on, and the outbox runs ``react`` after
the emitter's request or run has moved on, retrying it if it fails. The message's payload (which
may hold a reset link) is emptied once handled.

Written defensively: the emitting plugins are developed separately, so a listener reads only
the documented payload keys and skips an event it cannot place (no organization, unknown user)
with a log line. Each notification's idempotency key is derived from the event id, so a
reaction run twice does not send twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from vetrai.core import outbox
from vetrai.core.events import DomainEvent
from vetrai.core.hooks import OutboxHandler
from vetrai.core.models import OutboxMessage
from vetrai.core.permissions import BILLING_ADMIN, ORG_ADMIN
from vetrai.plugins.auth.models import User
from vetrai.plugins.notifications.service import SECURITY, queue_system

log = logging.getLogger("vetrai.notifications")


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """The event payload as JSON-safe values (UUIDs, datetimes and decimals as strings)."""
    plain: dict[str, Any] = to_jsonable_python(data, fallback=str)
    return plain


async def _users(ids: list[uuid.UUID | None], organization_id: uuid.UUID | None) -> list[User]:
    wanted = list(dict.fromkeys(user_id for user_id in ids if user_id is not None))
    if not wanted:
        return []
    queryset = User.filter(id__in=wanted, is_active=True)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    return list(await queryset)


async def _send(
    event: DomainEvent,
    users: list[User],
    template: str,
    category: str,
    channels: tuple[str, ...],
    data: dict[str, Any],
    *,
    to_payload_email: str | None = None,
) -> None:
    for user in users:
        for channel in channels:
            to = to_payload_email if channel == "email" and to_payload_email else None
            await queue_system(
                user.organization_id,
                channel=channel,
                template_name=template,
                category=category,
                event=event.name,
                data=data,
                user_id=user.id,
                to=to,
                idempotency_key=f"event:{event.id}:{user.id}:{channel}",
            )


def _account(template: str, category: str) -> Callable[[DomainEvent], Awaitable[None]]:
    """auth.* events: {user_id, email, ...}: one email to that user at the address in the event."""

    async def handle(event: DomainEvent) -> None:
        users = await _users([_uuid(event.data.get("user_id"))], None)
        if not users:
            log.warning("%s names no active user; nothing sent", event.name)
            return
        email = event.data.get("email") or users[0].email
        await _send(event, users, template, category, ("email",), _plain(event.data), to_payload_email=str(email))

    return handle


TICKET_CHANGES = {
    "support.ticket_created": "was created",
    "support.ticket_updated": "was updated",
    "support.comment_added": "has a new comment",
    "support.sla_breached": "missed its SLA target",
}


async def _ticket(event: DomainEvent) -> None:
    """support.*: {ticket_id, subject, status, requester_id, assignee_id?, recipients?}.

    The support plugin names who should hear about a change in ``recipients`` ([{user_id,
    email}]: e.g. an internal comment only reaches agents); without it, the requester and the
    assignee are told, except the actor (and on creation the requester is always told).
    """
    data = _plain(event.data)
    data.setdefault("subject", "(no subject)")
    data.setdefault("status", "unknown")
    data.setdefault("ticket_id", "")
    data["change"] = TICKET_CHANGES.get(event.name, "changed")
    for private in ("recipients", "requester_email", "assignee_email", "author_email"):
        data.pop(private, None)
    listed = event.data.get("recipients")
    if isinstance(listed, list):
        recipients = [_uuid(entry.get("user_id")) for entry in listed if isinstance(entry, dict)]
    else:
        requester = _uuid(data.get("requester_id"))
        assignee = _uuid(data.get("assignee_id"))
        recipients = [requester, assignee]
        if event.name != "support.ticket_created":
            recipients = [user_id for user_id in recipients if user_id != event.actor_id]
        elif event.actor_id is not None and assignee == event.actor_id:
            recipients = [requester]
    users = await _users(recipients, event.organization_id)
    await _send(event, users, "ticket_update", "support", ("email", "in_app"), data)


JOB_STATUSES_TOLD = frozenset({"failed", "timed_out"})
"""Finished runs worth a message: a platform running thousands of runs a minute must not mail
(or even write an inbox row) for each success; the run's own API, stream and webhook say that."""


async def _job_finished(event: DomainEvent) -> None:
    """engine.job_finished: {job_id, template, status, user_id, error?}: the user who ran it,
    when the run failed or timed out."""
    if event.data.get("status") not in JOB_STATUSES_TOLD:
        return
    data = _plain(event.data)
    data.setdefault("template", "workflow")
    data.setdefault("status", "finished")
    data.setdefault("job_id", "")
    error = data.get("error")
    if isinstance(error, dict):  # the engine sends {type, message}
        data["error"] = str(error.get("message") or error.get("type") or error)
    users = await _users([_uuid(data.get("user_id")) or event.actor_id], event.organization_id)
    await _send(event, users, "job_finished", "jobs", ("in_app", "email"), data)


async def _payment_failed(event: DomainEvent) -> None:
    """billing.payment_failed: {invoice_id, amount_due, currency}: the organization's admins."""
    if event.organization_id is None:
        log.warning("billing.payment_failed without an organization; nothing sent")
        return
    data = _plain(event.data)
    amount = data.get("amount_due")
    data["amount"] = f"{amount / 100:.2f}" if isinstance(amount, int | float) else str(amount or "")
    data.setdefault("currency", "")
    data.setdefault("invoice_id", "")
    admins = await User.filter(
        organization_id=event.organization_id, is_active=True, role__in=[ORG_ADMIN, BILLING_ADMIN]
    )
    await _send(event, list(admins), "payment_failed", "billing", ("email", "in_app"), data)


HANDLERS: dict[str, Callable[[DomainEvent], Awaitable[None]]] = {
    "auth.user_registered": _account("welcome", "account"),
    "auth.verification_requested": _account("verify_email", SECURITY),
    "auth.password_reset_requested": _account("password_reset", SECURITY),
    "auth.password_changed": _account("password_changed", SECURITY),
    "support.ticket_created": _ticket,
    "support.ticket_updated": _ticket,
    "support.comment_added": _ticket,
    "support.sla_breached": _ticket,
    "engine.job_finished": _job_finished,
    "billing.payment_failed": _payment_failed,
}


EVENT_KIND = "notifications.event"


def outbox_handlers() -> list[OutboxHandler]:
    return [OutboxHandler(EVENT_KIND, react, max_attempts=5, erase_payload=True)]


def _worth_a_message(event: DomainEvent) -> bool:
    """Whether the event's handler would notify anyone, judged from the event alone: a run that
    succeeded costs no outbox message (a busy platform finishes many runs a second)."""
    if event.name == "engine.job_finished":
        return event.data.get("status") in JOB_STATUSES_TOLD
    return True


async def handle_event(event: DomainEvent) -> None:
    """Queue the reaction to an event this plugin acts on; never raises into the emitter."""
    if event.name not in HANDLERS or not _worth_a_message(event):
        return
    payload = {
        "id": str(event.id),
        "name": event.name,
        "data": _plain(event.data),
        "organization_id": str(event.organization_id) if event.organization_id else None,
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "occurred_at": event.occurred_at.isoformat(),
    }
    try:
        await outbox.enqueue(EVENT_KIND, payload, key=str(event.id), organization_id=event.organization_id)
    except Exception:
        log.exception("could not queue the notifications of %s", event.name)


async def react(message: OutboxMessage) -> None:
    """The outbox handler of ``notifications.event``: the notifications one event causes."""
    payload = message.payload
    event = DomainEvent(
        name=payload["name"],
        data=payload["data"],
        organization_id=_uuid(payload["organization_id"]),
        actor_id=_uuid(payload["actor_id"]),
        id=uuid.UUID(payload["id"]),
        occurred_at=datetime.fromisoformat(payload["occurred_at"]),
    )
    await HANDLERS[event.name](event)
