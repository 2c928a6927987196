"""The SLA clock of tickets: due times from the organization's policy, breaches, and the policy API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import forbidden, not_found, unprocessable
from vetrai.plugins.support import sla
from vetrai.plugins.support.events import _emit, _recipients, ticket_event_payload
from vetrai.plugins.support.models import SlaPolicy, Ticket
from vetrai.plugins.support.schemas import SupportSlaPolicyOut
from vetrai.plugins.support.workflow import CLOCK_RUNNING, now


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


async def get_policy(principal: Principal) -> SupportSlaPolicyOut:
    if principal.organization_id is None:
        raise not_found("sla policy")
    policy = await SlaPolicy.get_or_none(organization_id=principal.organization_id)
    return SupportSlaPolicyOut.of(principal.organization_id, policy)


async def update_policy(principal: Principal, changes: dict[str, Any]) -> SupportSlaPolicyOut:
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
        try:
            sla.check_policy(sla.merged_targets(policy.targets), policy.business_hours)
        except sla.PolicyProblem as exc:
            raise unprocessable([{"loc": ["body"], "msg": str(exc), "type": "value_error"}], str(exc)) from None
        await policy.save()
    await record_audit(
        "support.sla_policy_updated",
        principal=principal,
        target_type="support_sla_policy",
        target_id=policy.id,
        data={"targets": policy.targets, "business_hours": policy.business_hours},
    )
    return SupportSlaPolicyOut.of(principal.organization_id, policy)


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
