"""Support in the console: a requester's tickets and replies, the agents' inbox, on the support API.

Registered on the console's blueprint; the navigation shows it only when the ``support``
plugin is enabled. Who sees what is the API's decision: agents and admins get the
organization's tickets, internal notes and the status/assignment controls, requesters their own.
"""

from __future__ import annotations

from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.permissions import ORG_ADMIN, SUPPORT_AGENT
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.routes import api, blueprint, page, session

BASE = "/api/v1/support"
STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "urgent")


def is_agent() -> bool:
    return session().principal.has_role(SUPPORT_AGENT, ORG_ADMIN)


async def _tickets_page(code: int = 200, **extra: Any) -> Response:
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    mine = request.args.get("assigned") == "me"
    listing = await api().get(
        f"{BASE}/tickets",
        status=status,
        assignee_id=str(session().principal.user_id) if mine else None,
        cursor=request.args.get("cursor"),
        limit=50,
    )
    return await page(
        "console/support.html",
        code,
        title="Support",
        tickets=listing["items"],
        next_cursor=listing.get("next_cursor"),
        status=status,
        mine=mine,
        statuses=STATUSES,
        priorities=PRIORITIES,
        agent=is_agent(),
        **extra,
    )


@blueprint.get("/support")
@hide
async def tickets() -> Response:
    """Tickets: the requester's own, or the organization's inbox for agents (HTML)."""
    return await _tickets_page()


@blueprint.post("/support")
@hide
async def open_ticket() -> Response:
    """Open a ticket (HTML form)."""
    form = await request.form
    body = {
        "subject": (form.get("subject") or "").strip(),
        "description": (form.get("description") or "").strip(),
        "priority": form.get("priority") or "medium",
    }
    try:
        created = await api().post(f"{BASE}/tickets", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _tickets_page(exc.status, error=exc.message, form=body)
        raise
    return redirect(f"/console/support/{created['id']}?done=ticket-opened", 303)


async def _ticket_page(ticket_id: str, code: int = 200, **extra: Any) -> Response:
    ticket = await api().get(f"{BASE}/tickets/{ticket_id}")
    comments = (await api().get(f"{BASE}/tickets/{ticket_id}/comments", limit=200))["items"]
    return await page(
        "console/ticket.html",
        code,
        title=ticket["subject"],
        ticket=ticket,
        comments=list(reversed(comments)),  # oldest first reads like a conversation
        statuses=STATUSES,
        agent=is_agent(),
        **extra,
    )


@blueprint.get("/support/<ticket_id>")
@hide
async def ticket(ticket_id: str) -> Response:
    """One ticket: its conversation, SLA clocks, and the agent controls (HTML)."""
    return await _ticket_page(ticket_id)


@blueprint.post("/support/<ticket_id>/comments")
@hide
async def reply(ticket_id: str) -> Response:
    """Reply on a ticket; agents may mark it an internal note (HTML form)."""
    form = await request.form
    body = {"body": (form.get("body") or "").strip(), "internal": form.get("internal") == "true"}
    try:
        await api().post(f"{BASE}/tickets/{ticket_id}/comments", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _ticket_page(ticket_id, exc.status, error=exc.message)
        raise
    return redirect(f"/console/support/{ticket_id}?done=replied", 303)


@blueprint.post("/support/<ticket_id>")
@hide
async def update_ticket(ticket_id: str) -> Response:
    """Change the status, or take the ticket (assign it to yourself) (HTML form)."""
    form = await request.form
    changes: dict[str, Any] = {}
    if form.get("status"):
        changes["status"] = form["status"]
    if form.get("assign") == "me":
        changes["assignee_id"] = str(session().principal.user_id)
    try:
        await api().put(f"{BASE}/tickets/{ticket_id}", changes)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _ticket_page(ticket_id, exc.status, error=exc.message)
        raise
    return redirect(f"/console/support/{ticket_id}?done=ticket-updated", 303)
