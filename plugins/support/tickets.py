"""Tickets: who sees which, creating, searching, updating (transitions, assignment) and serializing them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, field_error, forbidden, not_found
from vetrai.core.tenancy import get_scoped, scoped
from vetrai.plugins.auth.models import User
from vetrai.plugins.support.events import (
    BODY_EXCERPT,
    _emit,
    _emit_update,
    _jsonable,
    _recipients,
    ticket_event_payload,
)
from vetrai.plugins.support.models import Ticket
from vetrai.plugins.support.sla_clock import _claim_breach, _compute_due_times, _save_state, _sla_changes
from vetrai.plugins.support.workflow import (
    AGENT_ROLES,
    CLOCK_RUNNING,
    CLOSED,
    OPEN,
    PENDING,
    RESOLVED,
    TRANSITIONS,
    is_agent,
    now,
)

REQUESTER_FIELDS = frozenset({"subject", "description", "category"})


def visible_tickets(principal: Principal) -> QuerySet[Ticket]:
    """The organization's tickets for agents and admins; the caller's own tickets for everyone else."""
    queryset = scoped(Ticket, principal)
    if not is_agent(principal):
        queryset = queryset.filter(requester_id=principal.user_id)
    return queryset


async def get_ticket(principal: Principal, ticket_id: uuid.UUID | str) -> Ticket:
    """A visible ticket, or 404 (also for another organization's or another requester's)."""
    filters: dict[str, Any] = {}
    if not is_agent(principal):
        filters["requester_id"] = principal.user_id
    try:
        return await get_scoped(Ticket, principal, ticket_id, **filters)
    except ProblemError:
        raise not_found("ticket") from None


def search_tickets(principal: Principal, filters: dict[str, Any]) -> QuerySet[Ticket]:
    """Visible tickets filtered by status, priority, assignee, requester, category and text.

    ``q`` matches every whitespace-separated term case-insensitively in the subject or the
    description (LIKE/ILIKE, so it behaves the same on SQLite and PostgreSQL).
    """
    queryset = visible_tickets(principal)
    for name in ("status", "priority", "category", "assignee_id", "requester_id"):
        value = filters.get(name)
        if value is not None:
            queryset = queryset.filter(**{name: value})
    if filters.get("unassigned"):
        queryset = queryset.filter(assignee_id=None)
    if filters.get("breached") is not None:
        breached = Q(first_response_breached=True) | Q(resolution_breached=True)
        queryset = queryset.filter(breached) if filters["breached"] else queryset.filter(~breached)
    for term in (filters.get("q") or "").split()[:10]:
        queryset = queryset.filter(Q(subject__icontains=term) | Q(description__icontains=term))
    return queryset


async def create_ticket(
    principal: Principal, subject: str, description: str, priority: str, category: str | None
) -> Ticket:
    """Open a ticket for the caller in the caller's organization, with its SLA due times."""
    if principal.user_id is None or principal.organization_id is None:
        raise forbidden("only a user of an organization can open tickets")
    created = now()
    ticket = Ticket(
        organization_id=principal.organization_id,
        requester_id=principal.user_id,
        subject=subject,
        description=description,
        priority=priority,
        category=category,
        status=OPEN,
        created_at=created,
    )
    await _compute_due_times(ticket)
    await ticket.save()
    await record_audit(
        "support.ticket_created",
        principal=principal,
        target_type="support_ticket",
        target_id=ticket.id,
        data={"priority": priority, "category": category},
    )
    payload = await ticket_event_payload(ticket)
    payload.update(
        description=description[:BODY_EXCERPT],
        category=category,
        recipients=await _recipients([ticket.requester_id]),
    )
    await _emit("support.ticket_created", ticket, principal, payload)
    return ticket


async def _valid_assignee(organization_id: uuid.UUID, assignee_id: uuid.UUID) -> User:
    user = await User.get_or_none(id=assignee_id, organization_id=organization_id, is_active=True)
    if user is None or user.role not in AGENT_ROLES:
        raise field_error("assignee_id", "must be an active support_agent or org_admin of the ticket's organization")
    return user


def _leave_pending(ticket: Ticket, at: datetime) -> None:
    """Restart the SLA clock: due times move by the time spent pending."""
    if ticket.sla_paused_at is None:
        return
    paused = max(timedelta(0), at - ticket.sla_paused_at)
    ticket.sla_paused_seconds += int(paused.total_seconds())
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        ticket.first_response_due_at += paused
    if ticket.resolution_due_at is not None:
        ticket.resolution_due_at += paused
    ticket.sla_paused_at = None


def _set_status(ticket: Ticket, status: str, at: datetime) -> None:
    """Move to ``status`` with its side effects on the SLA clock (no validation here)."""
    previous = ticket.status
    if previous == status:
        return
    if previous == PENDING:
        _leave_pending(ticket, at)
    if status == PENDING:
        ticket.sla_paused_at = at
    if status == RESOLVED:
        ticket.resolved_at = at
    elif status in CLOCK_RUNNING:
        ticket.resolved_at = None
    if status == CLOSED:
        ticket.closed_at = at
    ticket.status = status


TRACKED_FIELDS = ("subject", "description", "category", "priority", "status", "assignee_id")


async def update_ticket(principal: Principal, ticket_id: uuid.UUID | str, changes: dict[str, Any]) -> Ticket:
    """Partial update. Requesters edit subject/description/category while open and may close;
    agents and admins change everything; transitions outside ``TRANSITIONS`` are 409. The row
    is locked while it changes, so two concurrent transitions cannot both pass validation."""
    visible = await get_ticket(principal, ticket_id)
    agent = is_agent(principal)
    own = visible.requester_id == principal.user_id
    if not agent:
        _refuse_requester_changes(changes)
    if "assignee_id" in changes and changes["assignee_id"] is not None:
        await _valid_assignee(visible.organization_id, changes["assignee_id"])
    async with in_transaction():
        ticket = await Ticket.filter(id=visible.id).select_for_update().get()
        _check_changeable(ticket, changes, agent, own)
        at = now()
        before = {name: getattr(ticket, name) for name in TRACKED_FIELDS}
        await _apply_changes(ticket, changes, at)
        newly_breached, cleared = _sla_changes(ticket, at)
        diff = {
            name: {"from": _jsonable(before[name]), "to": _jsonable(getattr(ticket, name))}
            for name in before
            if before[name] != getattr(ticket, name)
        }
        if diff or cleared:
            await _save_state(ticket, cleared)
            await record_audit(
                "support.ticket_updated",
                principal=principal,
                organization_id=ticket.organization_id,
                target_type="support_ticket",
                target_id=ticket.id,
                data={"changes": {k: v for k, v in diff.items() if k != "description"}},
            )
    if diff:
        await _emit_update(ticket, principal, diff)
    for target in newly_breached:
        await _claim_breach(ticket, target)
    return ticket


def _refuse_requester_changes(changes: dict[str, Any]) -> None:
    refused = sorted(set(changes) - REQUESTER_FIELDS - {"status"})
    if refused:
        raise forbidden(f"only support agents and admins can change: {', '.join(refused)}")
    if "status" in changes and changes["status"] != CLOSED:
        raise forbidden("only support agents and admins change the status; you may close your own ticket")


def _check_changeable(ticket: Ticket, changes: dict[str, Any], agent: bool, own: bool) -> None:
    """Checked on the locked row, so the state it judges is the one the change applies to."""
    if ticket.status == CLOSED:
        raise conflict("the ticket is closed; closed is final")
    if not agent and set(changes) & REQUESTER_FIELDS and ticket.status != OPEN:
        raise conflict("the ticket can only be edited while it is open")
    status = changes.get("status")
    if status is not None and status != ticket.status:
        requester_closing = status == CLOSED and own
        if status not in TRANSITIONS[ticket.status] and not requester_closing:
            raise conflict(f"invalid transition from {ticket.status!r} to {status!r}")


async def _apply_changes(ticket: Ticket, changes: dict[str, Any], at: datetime) -> None:
    for name in ("subject", "description", "category"):
        if name in changes and (changes[name] is not None or name == "category"):
            setattr(ticket, name, changes[name])
    if "assignee_id" in changes:
        ticket.assignee_id = changes["assignee_id"]
    if changes.get("priority") is not None and changes["priority"] != ticket.priority:
        ticket.priority = changes["priority"]
        await _compute_due_times(ticket)  # a pause still going on is added when the clock restarts
    status = changes.get("status")
    if status is not None:
        _set_status(ticket, status, at)


async def with_people(ticket: Ticket) -> Ticket:
    await ticket.fetch_related("requester", "assignee")
    return ticket
