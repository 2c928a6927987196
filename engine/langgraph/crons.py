"""Crons: schedules that start their organization's runs (under its quotas), checked by the reaper."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycron

from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, forbidden
from vetrai.core.tenancy import get_scoped, scoped
from vetrai.engine.clock import utcnow
from vetrai.engine.models import Cron

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")
HORIZON = timedelta(days=4 * 366)


def next_run(schedule: str, timezone: str, after: datetime) -> datetime | None:
    """The first whole minute after ``after`` the schedule matches (in its time zone): days that
    do not match are skipped whole, then hours, then minutes."""
    parts = schedule.split()
    if len(parts) != 5:
        raise ValueError("a schedule has five fields: minute hour day month weekday")
    day_pattern = "* * " + " ".join(parts[2:])
    hour_pattern = "* " + " ".join(parts[1:])
    zone = ZoneInfo(timezone)
    moment = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = moment + HORIZON
    while moment < end:
        if not pycron.is_now(day_pattern, moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        elif not pycron.is_now(hour_pattern, moment):
            moment = (moment + timedelta(hours=1)).replace(minute=0)
        elif pycron.is_now(schedule, moment):
            return moment.astimezone(UTC)
        else:
            moment += timedelta(minutes=1)
    return None


def serialize_cron(row: Cron) -> dict[str, Any]:
    return {
        "cron_id": str(row.id),
        "assistant_id": str(row.assistant_id),
        "thread_id": str(row.thread_id) if row.thread_id else None,
        "on_run_completed": (row.payload or {}).get("on_completion") or (None if row.thread_id else "delete"),
        "end_time": row.end_time,
        "schedule": row.schedule,
        "timezone": row.timezone,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "payload": row.payload,
        "user_id": str(row.user_id) if row.user_id else None,
        "next_run_date": row.next_run_date,
        "metadata": row.metadata,
        "enabled": row.enabled,
    }


async def create_cron(principal: Principal, thread_id: str | None, body: dict[str, Any]) -> Cron:
    from vetrai.engine.langgraph.service import get_thread, resolve_assistant

    if principal.organization_id is None:
        raise forbidden("crons belong to an organization")
    assistant = await resolve_assistant(principal, body["assistant_id"])
    thread = await get_thread(principal, thread_id) if thread_id else None
    timezone = body.get("timezone") or "UTC"
    try:
        upcoming = await asyncio.to_thread(next_run, body["schedule"], timezone, utcnow())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError(422, f"invalid schedule or time zone: {exc}") from None
    payload = {key: body[key] for key in ("input", "config", "context", "metadata") if body.get(key) is not None}
    return await Cron.create(
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        assistant_id=assistant["assistant_id"],
        graph_id=assistant["graph_id"],
        thread_id=thread.id if thread else None,
        schedule=body["schedule"],
        timezone=timezone,
        payload={**payload, "assistant_id": assistant["assistant_id"]},
        metadata=body.get("metadata") or {},
        end_time=_end_time(body["end_time"]) if body.get("end_time") else None,
        next_run_date=upcoming,
        enabled=bool(body.get("enabled", True)),
    )


RUN_FIELDS = (
    "input",
    "config",
    "context",
    "webhook",
    "interrupt_before",
    "interrupt_after",
    "stream_mode",
    "stream_subgraphs",
    "durability",
)


def _end_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProblemError(422, "end_time must be an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def get_cron(principal: Principal, cron_id: str) -> Cron:
    return await get_scoped(Cron, principal, cron_id)


async def update_cron(principal: Principal, cron_id: str, body: dict[str, Any]) -> Cron:
    """LangGraph's cron PATCH: a new schedule or time zone recomputes the next run date, the
    run fields are merged into the payload (its assistant stays), metadata is merged,
    ``end_time: null`` clears the end; an empty body is a 400."""
    row = await get_scoped(Cron, principal, cron_id)
    if not body:
        raise ProblemError(400, "no fields to update")
    if "end_time" in body:
        row.end_time = _end_time(body["end_time"]) if body["end_time"] is not None else None
    schedule = body.get("schedule") or row.schedule
    timezone = body.get("timezone") or row.timezone
    if body.get("enabled") is not None:
        row.enabled = bool(body["enabled"])
    if body.get("schedule") or body.get("timezone") or (row.enabled and row.next_run_date is None):
        try:
            row.next_run_date = await asyncio.to_thread(next_run, schedule, timezone, utcnow())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ProblemError(422, f"invalid schedule or time zone: {exc}") from None
        row.schedule, row.timezone = schedule, timezone
    if row.end_time and row.next_run_date and row.next_run_date > row.end_time:
        row.next_run_date = None
    payload = dict(row.payload or {})
    payload.update({key: body[key] for key in RUN_FIELDS if body.get(key) is not None})
    if body.get("on_run_completed"):
        payload["on_completion"] = body["on_run_completed"]
    if body.get("metadata") is not None:
        row.metadata = {**(row.metadata or {}), **body["metadata"]}
        payload["metadata"] = {**(payload.get("metadata") or {}), **body["metadata"]}
    row.payload = payload
    row.updated_at = utcnow()
    await row.save()
    return row


async def search_crons(principal: Principal, body: dict[str, Any]) -> list[Cron]:
    query = scoped(Cron, principal)
    for name in ("assistant_id", "thread_id"):
        if body.get(name):
            query = query.filter(**{name: body[name]})
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
    return await query.order_by("-created_at").offset(offset).limit(limit)


async def count_crons(principal: Principal, body: dict[str, Any]) -> int:
    return len(await search_crons(principal, {**body, "offset": 0, "limit": 1_000_000}))


async def delete_cron(principal: Principal, cron_id: str) -> None:
    row = await get_scoped(Cron, principal, cron_id)
    await row.delete()


async def start_due_crons(platform: Platform) -> int:
    """Start a run for every enabled cron whose next run date has come."""
    from vetrai.engine.langgraph.service import create_run

    now = utcnow()
    started = 0
    for row in await Cron.filter(enabled=True, next_run_date__lte=now).limit(100):
        upcoming = await asyncio.to_thread(next_run, row.schedule, row.timezone, now)
        if row.end_time and upcoming and upcoming > row.end_time:
            upcoming = None
        claimed = await Cron.filter(id=row.id, next_run_date=row.next_run_date).update(
            next_run_date=upcoming, enabled=upcoming is not None, updated_at=now
        )
        if not claimed:  # another reaper started it
            continue
        principal = Principal(
            user_id=row.user_id,
            organization_id=row.organization_id,  # type: ignore[attr-defined]
            role="user",
            scopes=frozenset({"workers:write"}),
            kind="system",
        )
        try:
            await create_run(platform, principal, str(row.thread_id) if row.thread_id else None, dict(row.payload))
            started += 1
        except ProblemError as exc:
            log.warning("cron %s could not start a run: %s", row.id, exc)
    return started
