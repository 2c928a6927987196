"""Ticket comments: public replies and agents' internal notes."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import conflict, forbidden
from vetrai.core.tenancy import scoped
from vetrai.plugins.support.events import (
    BODY_EXCERPT,
    _email_of,
    _emit,
    _emit_update,
    _jsonable,
    _recipients,
    ticket_event_payload,
)
from vetrai.plugins.support.models import Ticket, TicketComment
from vetrai.plugins.support.sla_clock import _claim_breach, _save_state, _sla_changes
from vetrai.plugins.support.tickets import _set_status, get_ticket
from vetrai.plugins.support.workflow import CLOSED, IN_PROGRESS, OPEN, PENDING, RESOLVED, is_agent, now


def visible_comments(principal: Principal, ticket: Ticket) -> QuerySet[TicketComment]:
    """A ticket's comments; internal notes only for agents and admins."""
    queryset = scoped(TicketComment, principal, ticket_id=ticket.id)
    if not is_agent(principal):
        queryset = queryset.filter(internal=False)
    return queryset.prefetch_related("author")


async def add_comment(principal: Principal, ticket_id: uuid.UUID | str, body: str, internal: bool) -> TicketComment:
    """Reply on a ticket. The first public agent reply records the first response; the
    requester's public reply reopens a resolved ticket and restarts a pending one."""
    visible = await get_ticket(principal, ticket_id)
    agent = is_agent(principal)
    if internal and not agent:
        raise forbidden("only support agents and admins can write internal notes")
    by_requester = principal.user_id == visible.requester_id
    async with in_transaction():
        ticket = await Ticket.filter(id=visible.id).select_for_update().get()
        if ticket.status == CLOSED:
            raise conflict("the ticket is closed; closed is final")
        at = now()
        before_status = ticket.status
        comment = await TicketComment.create(
            organization_id=ticket.organization_id,
            ticket_id=ticket.id,
            author_id=principal.user_id,
            body=body,
            internal=internal,
        )
        newly_breached: list[str] = []
        if not internal and _answer_reply(ticket, at, by_requester=by_requester, agent=agent):
            newly_breached, cleared = _sla_changes(ticket, at)
            await _save_state(ticket, cleared)
    await record_audit(
        "support.comment_added",
        principal=principal,
        organization_id=ticket.organization_id,
        target_type="support_ticket",
        target_id=ticket.id,
        data={"comment_id": str(comment.id), "internal": internal},
    )
    await _emit_comment(ticket, principal, comment, by_requester=by_requester)
    if ticket.status != before_status:
        await _emit_update(ticket, principal, {"status": {"from": before_status, "to": ticket.status}})
    for target in newly_breached:
        await _claim_breach(ticket, target)
    return comment


def _answer_reply(ticket: Ticket, at: datetime, *, by_requester: bool, agent: bool) -> bool:
    """What a public reply does to the ticket (first response, reopen, restart); True if it changed."""
    changed = False
    if agent and not by_requester and ticket.first_responded_at is None:
        ticket.first_responded_at = at
        changed = True
    if by_requester:
        if ticket.status == RESOLVED:
            _set_status(ticket, OPEN, at)
            changed = True
        elif ticket.status == PENDING:
            _set_status(ticket, IN_PROGRESS, at)
            changed = True
    return changed


async def _emit_comment(ticket: Ticket, principal: Principal, comment: TicketComment, *, by_requester: bool) -> None:
    """Notify the other side: an internal note or a requester's reply goes to the assignee only."""
    author = principal.user_id
    if comment.internal or by_requester:
        notify = [ticket.assignee_id]
    else:
        notify = [ticket.requester_id, ticket.assignee_id]
    payload = await ticket_event_payload(ticket)
    payload.update(
        comment_id=str(comment.id),
        author_id=_jsonable(author),
        author_email=await _email_of(author),
        internal=comment.internal,
        body=comment.body[:BODY_EXCERPT],
        recipients=await _recipients([user for user in notify if user is not None and user != author]),
    )
    await _emit("support.comment_added", ticket, principal, payload)
