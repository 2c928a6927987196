"""Support tickets: visibility, transitions, comments, attachments, assignment and SLA; no HTTP here."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, forbidden, not_found, unprocessable
from vetrai.core.models import Organization
from vetrai.core.permissions import ORG_ADMIN, SUPPORT_AGENT
from vetrai.core.platform import Platform, current_platform
from vetrai.core.tenancy import ensure_quota, get_scoped, limits_of, scoped
from vetrai.plugins.auth.models import User
from vetrai.plugins.support import files, sla
from vetrai.plugins.support.models import SlaPolicy, Ticket, TicketAttachment, TicketComment
from vetrai.plugins.support.settings import SupportSettings

log = logging.getLogger("vetrai.support")

OPEN, IN_PROGRESS, PENDING, RESOLVED, CLOSED = "open", "in_progress", "pending", "resolved", "closed"
STATUSES = (OPEN, IN_PROGRESS, PENDING, RESOLVED, CLOSED)
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({IN_PROGRESS}),
    IN_PROGRESS: frozenset({PENDING, RESOLVED}),
    PENDING: frozenset({IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
}
"""Agents' transitions; a requester may only close its own ticket (from any status but closed)."""
CLOCK_RUNNING = (OPEN, IN_PROGRESS)
AGENT_ROLES = (SUPPORT_AGENT, ORG_ADMIN)
REQUESTER_FIELDS = frozenset({"subject", "description", "category"})
BODY_EXCERPT = 2000


def settings(platform: Platform | None = None) -> SupportSettings:
    return (platform or current_platform()).plugin_settings("support", SupportSettings)


def now() -> datetime:
    return datetime.now(UTC)


def is_agent(principal: Principal) -> bool:
    """support_agent and org_admin work on the organization's tickets (super_admin on all)."""
    return principal.has_role(*AGENT_ROLES)


def _field_error(field: str, message: str, where: str = "body") -> ProblemError:
    return unprocessable([{"loc": [where, field], "msg": message, "type": "value_error"}], f"{field}: {message}")


# --- tickets ---------------------------------------------------------------------------------


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


async def policy_of(organization_id: uuid.UUID) -> tuple[dict[str, dict[str, int]], dict[str, Any] | None]:
    policy = await SlaPolicy.get_or_none(organization_id=organization_id)
    if policy is None:
        return sla.merged_targets(None), None
    return sla.merged_targets(policy.targets), policy.business_hours


async def _compute_due_times(ticket: Ticket) -> None:
    """Due times from the creation time, the priority's targets and the time spent paused."""
    targets, business_hours = await policy_of(ticket.organization_id)
    target = targets[ticket.priority]
    paused = timedelta(seconds=ticket.sla_paused_seconds)
    ticket.first_response_due_at = (
        sla.add_minutes(ticket.created_at, target["first_response_minutes"], business_hours) + paused
    )
    ticket.resolution_due_at = sla.add_minutes(ticket.created_at, target["resolution_minutes"], business_hours) + paused


def _sla_state(ticket: Ticket, at: datetime) -> dict[str, bool]:
    """Whether each target is breached as of ``at`` (the clock stops while pending)."""
    clock = ticket.sla_paused_at or at
    first_end = ticket.first_responded_at or ticket.closed_at or clock
    resolution_end = ticket.resolved_at or ticket.closed_at or clock
    return {
        "first_response": bool(ticket.first_response_due_at and first_end > ticket.first_response_due_at),
        "resolution": bool(ticket.resolution_due_at and resolution_end > ticket.resolution_due_at),
    }


def _sla_changes(ticket: Ticket, at: datetime) -> tuple[list[str], list[str]]:
    """Targets breached just now (claimed later with ``_claim_breach``) and breach flags that no
    longer hold (cleared here, e.g. after the priority was lowered)."""
    state = _sla_state(ticket, at)
    newly, cleared = [], []
    for target, breached in state.items():
        flag = f"{target}_breached"
        if breached and not getattr(ticket, flag):
            newly.append(target)
        elif not breached and getattr(ticket, flag):
            setattr(ticket, flag, False)
            cleared.append(flag)
    return newly, cleared


TICKET_STATE_FIELDS = (
    "subject",
    "description",
    "category",
    "priority",
    "status",
    "assignee_id",
    "first_response_due_at",
    "resolution_due_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "sla_paused_at",
    "sla_paused_seconds",
    "updated_at",
)
"""What a request writes back; breach flags are only set by ``_claim_breach`` (one event each)."""


async def _save_state(ticket: Ticket, cleared: list[str]) -> None:
    await ticket.save(update_fields=[*TICKET_STATE_FIELDS, *cleared])


async def _claim_breach(ticket: Ticket, target: str) -> bool:
    """Set a breach flag unless someone (a request, the periodic task) already did; the winner
    emits ``support.sla_breached``, so each breach is announced once."""
    flag = f"{target}_breached"
    claimed = await Ticket.filter(id=ticket.id, **{flag: False}).update(**{flag: True})
    setattr(ticket, flag, True)
    if claimed:
        await _emit_breach(ticket, target)
    return bool(claimed)


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
        raise _field_error("assignee_id", "must be an active support_agent or org_admin of the ticket's organization")
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


async def update_ticket(principal: Principal, ticket_id: uuid.UUID | str, changes: dict[str, Any]) -> Ticket:
    """Partial update. Requesters edit subject/description/category while open and may close;
    agents and admins change everything; transitions outside ``TRANSITIONS`` are 409. The row
    is locked while it changes, so two concurrent transitions cannot both pass validation."""
    visible = await get_ticket(principal, ticket_id)
    agent = is_agent(principal)
    own = visible.requester_id == principal.user_id
    if not agent:
        refused = sorted(set(changes) - REQUESTER_FIELDS - {"status"})
        if refused:
            raise forbidden(f"only support agents and admins can change: {', '.join(refused)}")
        if "status" in changes and changes["status"] != CLOSED:
            raise forbidden("only support agents and admins change the status; you may close your own ticket")
    if "assignee_id" in changes and changes["assignee_id"] is not None:
        await _valid_assignee(visible.organization_id, changes["assignee_id"])
    async with in_transaction():
        ticket = await Ticket.filter(id=visible.id).select_for_update().get()
        if ticket.status == CLOSED:
            raise conflict("the ticket is closed; closed is final")
        if not agent and set(changes) & REQUESTER_FIELDS and ticket.status != OPEN:
            raise conflict("the ticket can only be edited while it is open")
        at = now()
        before = {
            name: getattr(ticket, name)
            for name in ("subject", "description", "category", "priority", "status", "assignee_id")
        }
        status = changes.get("status")
        if status is not None and status != ticket.status:
            requester_closing = status == CLOSED and own
            if status not in TRANSITIONS[ticket.status] and not requester_closing:
                raise conflict(f"invalid transition from {ticket.status!r} to {status!r}")
        for name in ("subject", "description", "category"):
            if name in changes and (changes[name] is not None or name == "category"):
                setattr(ticket, name, changes[name])
        if "assignee_id" in changes:
            ticket.assignee_id = changes["assignee_id"]
        if changes.get("priority") is not None and changes["priority"] != ticket.priority:
            ticket.priority = changes["priority"]
            await _compute_due_times(ticket)  # a pause still going on is added when the clock restarts
        if status is not None:
            _set_status(ticket, status, at)
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


# --- comments --------------------------------------------------------------------------------


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
        ticket_changed = False
        if not internal and agent and not by_requester and ticket.first_responded_at is None:
            ticket.first_responded_at = at
            ticket_changed = True
        if not internal and by_requester:
            if ticket.status == RESOLVED:
                _set_status(ticket, OPEN, at)
                ticket_changed = True
            elif ticket.status == PENDING:
                _set_status(ticket, IN_PROGRESS, at)
                ticket_changed = True
        newly_breached: list[str] = []
        if ticket_changed:
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
    author = principal.user_id
    if internal:
        notify = [ticket.assignee_id]
    elif by_requester:
        notify = [ticket.assignee_id]
    else:
        notify = [ticket.requester_id, ticket.assignee_id]
    payload = await ticket_event_payload(ticket)
    payload.update(
        comment_id=str(comment.id),
        author_id=_jsonable(author),
        author_email=await _email_of(author),
        internal=internal,
        body=body[:BODY_EXCERPT],
        recipients=await _recipients([user for user in notify if user is not None and user != author]),
    )
    await _emit("support.comment_added", ticket, principal, payload)
    if ticket.status != before_status:
        await _emit_update(ticket, principal, {"status": {"from": before_status, "to": ticket.status}})
    for target in newly_breached:
        await _claim_breach(ticket, target)
    return comment


# --- attachments -----------------------------------------------------------------------------


def visible_attachments(principal: Principal, ticket: Ticket) -> QuerySet[TicketAttachment]:
    return scoped(TicketAttachment, principal, ticket_id=ticket.id)


async def get_attachment(
    principal: Principal, ticket_id: uuid.UUID | str, attachment_id: uuid.UUID | str
) -> TicketAttachment:
    ticket = await get_ticket(principal, ticket_id)
    try:
        return await get_scoped(TicketAttachment, principal, attachment_id, ticket_id=ticket.id)
    except ProblemError:
        raise not_found("attachment") from None


async def storage_used(organization_id: uuid.UUID) -> int:
    """Bytes of attachments the organization stores (counted against ``max_storage_bytes``)."""
    rows = await TicketAttachment.filter(organization_id=organization_id).annotate(total=Sum("size")).values("total")
    return int(rows[0]["total"] or 0) if rows else 0


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"the attachment is larger than {limit} bytes", kind="payload-too-large", max_bytes=limit)


async def _quota_problem(organization: Organization, used: int, adding: int) -> ProblemError:
    try:
        await ensure_quota(organization, "max_storage_bytes", used, adding)
    except ProblemError as problem:
        return problem
    raise AssertionError("quota is not exceeded")  # pragma: no cover


async def add_attachment(
    principal: Principal,
    ticket_id: uuid.UUID | str,
    filename: str | None,
    chunks: AsyncIterator[bytes],
) -> TicketAttachment:
    """Stream an upload to storage: type sniffed from the bytes and checked against the
    allow-list (415), size limit (413) and the organization's storage quota (403) enforced
    while streaming, SHA-256 computed on the way; nothing is held in memory but one chunk."""
    ticket = await get_ticket(principal, ticket_id)
    if ticket.status == CLOSED:
        raise conflict("the ticket is closed; closed is final")
    platform = current_platform()
    config = settings(platform)
    organization = await Organization.get(id=ticket.organization_id)
    quota = limits_of(organization)["max_storage_bytes"]
    used = await storage_used(organization.id)
    if used >= quota:
        raise await _quota_problem(organization, used, 1)
    limit = config.max_attachment_bytes

    iterator = chunks.__aiter__()
    head = bytearray()
    finished = False
    while len(head) < files.SNIFF_BYTES:
        try:
            head += await iterator.__anext__()
        except StopAsyncIteration:
            finished = True
            break
        if len(head) > limit:
            raise too_large(limit)
    content_type = files.sniff_content_type(bytes(head[: files.SNIFF_BYTES]))
    if content_type not in config.allowed_content_types:
        raise ProblemError(
            415,
            f"files of type {content_type} are not accepted",
            kind="unsupported-media-type",
            content_type=content_type,
            allowed=list(config.allowed_content_types),
        )

    digest = hashlib.sha256()
    state = {"size": 0}

    async def counted() -> AsyncIterator[bytes]:
        async def source() -> AsyncIterator[bytes]:
            yield bytes(head)
            if not finished:
                async for chunk in iterator:
                    yield chunk

        async for chunk in source():
            if not chunk:
                continue
            state["size"] += len(chunk)
            if state["size"] > limit:
                raise too_large(limit)
            if used + state["size"] > quota:
                raise await _quota_problem(organization, used, state["size"])
            digest.update(chunk)
            yield chunk

    attachment_id = uuid.uuid4()
    key = f"org/{ticket.organization_id}/support/tickets/{ticket.id}/{attachment_id}"
    size = await platform.storage.put(key, counted(), content_type)
    try:
        async with in_transaction():
            locked = await Organization.filter(id=organization.id).select_for_update().get()
            current = await storage_used(locked.id)
            await ensure_quota(locked, "max_storage_bytes", current, size)
            attachment = await TicketAttachment.create(
                id=attachment_id,
                organization_id=ticket.organization_id,
                ticket_id=ticket.id,
                uploaded_by_id=principal.user_id,
                filename=files.sanitize_filename(filename),
                content_type=content_type,
                size=size,
                sha256=digest.hexdigest(),
                storage_key=key,
            )
    except BaseException:
        with contextlib.suppress(Exception):
            await platform.storage.delete(key)
        raise
    await record_audit(
        "support.attachment_added",
        principal=principal,
        organization_id=ticket.organization_id,
        target_type="support_ticket",
        target_id=ticket.id,
        data={
            "attachment_id": str(attachment.id),
            "filename": attachment.filename,
            "size": size,
            "content_type": content_type,
        },
    )
    return attachment


# --- SLA policies and breaches -------------------------------------------------------------


async def get_policy(principal: Principal) -> dict[str, Any]:
    if principal.organization_id is None:
        raise not_found("sla policy")
    policy = await SlaPolicy.get_or_none(organization_id=principal.organization_id)
    return serialize_policy(principal.organization_id, policy)


async def update_policy(principal: Principal, changes: dict[str, Any]) -> dict[str, Any]:
    """Partial update: each priority's targets sent replace those stored; business hours
    are replaced (``null`` removes them). Applies to tickets created or re-prioritized later."""
    if principal.organization_id is None:
        raise forbidden("only a user of an organization has an SLA policy")
    async with in_transaction():
        policy = await SlaPolicy.filter(organization_id=principal.organization_id).select_for_update().first()
        if policy is None:
            policy = SlaPolicy(organization_id=principal.organization_id, targets={}, business_hours=None)
        if changes.get("targets"):
            targets = sla.merged_targets(policy.targets)
            for priority, values in changes["targets"].items():
                if values:
                    targets[priority].update({k: v for k, v in values.items() if v is not None})
            policy.targets = targets
        if "business_hours" in changes:
            policy.business_hours = changes["business_hours"]
        await policy.save()
    await record_audit(
        "support.sla_policy_updated",
        principal=principal,
        target_type="support_sla_policy",
        target_id=policy.id,
        data={"targets": policy.targets, "business_hours": policy.business_hours},
    )
    return serialize_policy(principal.organization_id, policy)


def serialize_policy(organization_id: uuid.UUID, policy: SlaPolicy | None) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "targets": sla.merged_targets(policy.targets if policy else None),
        "business_hours": policy.business_hours if policy else None,
        "is_default": policy is None,
        "updated_at": policy.updated_at if policy else None,
    }


async def check_sla_breaches(at: datetime | None = None) -> int:
    """Mark tickets whose running SLA clock passed a due time; emits ``support.sla_breached``
    once per ticket and target (the flag is claimed with a conditional update, so several
    workers running this at once still emit one event)."""
    at = at or now()
    emitted = 0
    checks = (
        (
            "first_response",
            {"first_responded_at": None, "first_response_breached": False, "first_response_due_at__lt": at},
        ),
        ("resolution", {"resolved_at": None, "resolution_breached": False, "resolution_due_at__lt": at}),
    )
    for target, filters in checks:
        candidates = await Ticket.filter(status__in=CLOCK_RUNNING, **filters).limit(1000)
        for ticket in candidates:
            if await _claim_breach(ticket, target):
                emitted += 1
    return emitted


async def _emit_breach(ticket: Ticket, target: str) -> None:
    due = ticket.first_response_due_at if target == "first_response" else ticket.resolution_due_at
    await record_audit(
        "support.sla_breached",
        organization_id=ticket.organization_id,
        target_type="support_ticket",
        target_id=ticket.id,
        data={"sla": target, "due_at": due.isoformat() if due else None},
    )
    payload = await ticket_event_payload(ticket)
    payload.update(
        sla=target,
        due_at=due.isoformat() if due else None,
        recipients=await _recipients([ticket.assignee_id] if ticket.assignee_id else []),
    )
    await _emit("support.sla_breached", ticket, None, payload)


# --- events and serialization ----------------------------------------------------------------


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


def _user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
    }


def serialize_ticket(ticket: Ticket) -> dict[str, Any]:
    """Needs ``requester`` and ``assignee`` fetched (``with_people``)."""
    at = now()
    running = ticket.status in CLOCK_RUNNING
    return {
        "id": ticket.id,
        "organization_id": ticket.organization_id,
        "subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "category": ticket.category,
        "status": ticket.status,
        "requester_id": ticket.requester_id,
        "assignee_id": ticket.assignee_id,
        "requester": _user_ref(ticket.requester),
        "assignee": _user_ref(ticket.assignee) if ticket.assignee_id else None,
        "sla": {
            "first_response_due_at": ticket.first_response_due_at,
            "resolution_due_at": ticket.resolution_due_at,
            "first_responded_at": ticket.first_responded_at,
            "resolved_at": ticket.resolved_at,
            "first_response_breached": ticket.first_response_breached,
            "resolution_breached": ticket.resolution_breached,
            "paused": ticket.sla_paused_at is not None,
            "paused_seconds": ticket.sla_paused_seconds,
            "first_response_seconds_left": _seconds_left(ticket.first_response_due_at, at)
            if running and ticket.first_responded_at is None
            else None,
            "resolution_seconds_left": _seconds_left(ticket.resolution_due_at, at) if running else None,
        },
        "closed_at": ticket.closed_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def _seconds_left(due: datetime | None, at: datetime) -> int | None:
    return int((due - at).total_seconds()) if due is not None else None


async def with_people(ticket: Ticket) -> Ticket:
    await ticket.fetch_related("requester", "assignee")
    return ticket


def serialize_comment(comment: TicketComment) -> dict[str, Any]:
    """Needs ``author`` fetched."""
    return {
        "id": comment.id,
        "ticket_id": comment.ticket_id,
        "author_id": comment.author_id,
        "author": _user_ref(comment.author) if comment.author_id else None,
        "body": comment.body,
        "internal": comment.internal,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def serialize_attachment(attachment: TicketAttachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "ticket_id": attachment.ticket_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by_id": attachment.uploaded_by_id,
        "created_at": attachment.created_at,
        "updated_at": attachment.updated_at,
    }
