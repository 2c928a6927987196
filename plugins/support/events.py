"""Domain events about tickets (``support.ticket_*``) and the recipients notifications need."""

from __future__ import annotations

import uuid
from typing import Any

from vetrai.core.auth import Principal
from vetrai.core.platform import current_platform
from vetrai.plugins.auth.models import User
from vetrai.plugins.support.models import Ticket

BODY_EXCERPT = 2000


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


async def _emit_update(ticket: Ticket, principal: Principal | None, diff: dict[str, Any]) -> None:
    notify: list[uuid.UUID | None] = []
    if "assignee_id" in diff and ticket.assignee_id is not None:
        notify.append(ticket.assignee_id)
    if "status" in diff:
        notify.append(ticket.requester_id)
    actor = principal.user_id if principal else None
    payload = await ticket_event_payload(ticket)
    payload.update(
        changes=diff,
        previous_status=diff["status"]["from"] if "status" in diff else ticket.status,
        previous_assignee_id=diff["assignee_id"]["from"] if "assignee_id" in diff else _jsonable(ticket.assignee_id),
        recipients=await _recipients([user for user in notify if user != actor]),
    )
    await _emit("support.ticket_updated", ticket, principal, payload)


async def _email_of(user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    rows = await User.filter(id=user_id).values_list("email", flat=True)
    return rows[0] if rows else None


async def _recipients(user_ids: list[uuid.UUID | None]) -> list[dict[str, str]]:
    unique = list(dict.fromkeys(user for user in user_ids if user is not None))
    if not unique:
        return []
    users = {user.id: user for user in await User.filter(id__in=unique, is_active=True)}
    return [{"user_id": str(users[u].id), "email": users[u].email} for u in unique if u in users]


async def ticket_event_payload(ticket: Ticket) -> dict[str, Any]:
    """What every support event carries, so a notification needs no further lookups."""
    return {
        "ticket_id": str(ticket.id),
        "organization_id": str(ticket.organization_id),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "requester_id": str(ticket.requester_id),
        "requester_email": await _email_of(ticket.requester_id),
        "assignee_id": _jsonable(ticket.assignee_id),
        "assignee_email": await _email_of(ticket.assignee_id),
        "first_response_due_at": ticket.first_response_due_at.isoformat() if ticket.first_response_due_at else None,
        "resolution_due_at": ticket.resolution_due_at.isoformat() if ticket.resolution_due_at else None,
    }


async def _emit(name: str, ticket: Ticket, principal: Principal | None, payload: dict[str, Any]) -> None:
    await current_platform().events.emit(
        name, payload, organization_id=ticket.organization_id, actor_id=principal.user_id if principal else None
    )
