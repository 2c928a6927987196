from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
    model_validator,
)

from vetrai.plugins.support.models import SlaPolicy
from vetrai.plugins.support.sla import merged_targets
from vetrai.plugins.support.workflow import CLOCK_RUNNING, now

Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal["open", "in_progress", "pending", "resolved", "closed"]


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters: refuse them (422) instead of failing later."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), NoNul]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class SupportTicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    description: Description
    priority: Priority = Field("medium", description="Sets the SLA targets (see /sla-policies).")
    category: Category | None = None


class SupportTicketUpdate(BaseModel):
    """Partial update. Requesters: subject, description, category while open, and status
    ``closed``; agents and admins: everything (``assignee_id`` null unassigns)."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject | None = None
    description: Description | None = None
    category: Category | None = None
    priority: Priority | None = None
    status: Status | None = None
    assignee_id: uuid.UUID | None = Field(None, description="An active support_agent or org_admin of the organization.")

    @model_validator(mode="after")
    def _not_null(self) -> SupportTicketUpdate:
        nulled = [
            name
            for name in ("subject", "description", "priority", "status")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulled:
            raise ValueError(f"cannot be null: {', '.join(nulled)}")
        return self


class SupportTicketListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    status: Status | None = None
    priority: Priority | None = None
    category: Annotated[str, NoNul] | None = Field(None, max_length=100)
    assignee_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    unassigned: bool | None = Field(None, description="true: only tickets without an assignee.")
    breached: bool | None = Field(
        None, description="true: only tickets with a breached SLA target; false: none breached."
    )
    q: Annotated[str, NoNul] | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Words that must all occur in the subject or description (case-insensitive).",
    )


class SupportUserRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: str


class SupportSlaState(BaseModel):
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    paused: bool = Field(description="True while the ticket is pending: the clock is stopped.")
    paused_seconds: int = Field(description="Time the clock was stopped so far (pauses already ended).")
    first_response_seconds_left: int | None = Field(
        description="Negative when overdue; null when answered or not running."
    )
    resolution_seconds_left: int | None = Field(description="Negative when overdue; null when not running.")


class SupportTicketOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    subject: str
    description: str
    priority: Priority
    category: str | None
    status: Status
    requester_id: uuid.UUID
    assignee_id: uuid.UUID | None
    requester: SupportUserRef | None
    assignee: SupportUserRef | None
    sla: SupportSlaState
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, row: Any) -> Any:
        """A stored ticket (``requester`` and ``assignee`` fetched) with its SLA clock as of now."""
        if isinstance(row, dict):
            return row
        at = now()
        running = row.status in CLOCK_RUNNING
        return {
            **{name: getattr(row, name) for name in cls.model_fields if name not in _TICKET_BUILT},
            "requester": row.requester,
            "assignee": row.assignee if row.assignee_id else None,
            "sla": {
                "first_response_due_at": row.first_response_due_at,
                "resolution_due_at": row.resolution_due_at,
                "first_responded_at": row.first_responded_at,
                "resolved_at": row.resolved_at,
                "first_response_breached": row.first_response_breached,
                "resolution_breached": row.resolution_breached,
                "paused": row.sla_paused_at is not None,
                "paused_seconds": row.sla_paused_seconds,
                "first_response_seconds_left": _seconds_left(row.first_response_due_at, at)
                if running and row.first_responded_at is None
                else None,
                "resolution_seconds_left": _seconds_left(row.resolution_due_at, at) if running else None,
            },
        }


_TICKET_BUILT = frozenset({"requester", "assignee", "sla"})


def _seconds_left(due: datetime | None, at: datetime) -> int | None:
    return int((due - at).total_seconds()) if due is not None else None


class SupportTicketPage(BaseModel):
    items: list[SupportTicketOut]
    next_cursor: str | None = None


class SupportPageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class SupportCommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), NoNul]
    internal: bool = Field(False, description="An internal note: agents and admins only, never shown to the requester.")


class SupportCommentOut(BaseModel):
    """Built from a stored comment with its ``author`` fetched."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    author_id: uuid.UUID | None
    author: SupportUserRef | None
    body: str
    internal: bool
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, row: Any) -> Any:
        if isinstance(row, dict):
            return row
        return {
            **{name: getattr(row, name) for name in cls.model_fields if name != "author"},
            "author": row.author if row.author_id else None,
        }


class SupportCommentPage(BaseModel):
    items: list[SupportCommentOut]
    next_cursor: str | None = None


class SupportAttachmentUpload(BaseModel):
    """multipart/form-data with one file part named ``file``."""

    file: bytes = Field(
        json_schema_extra={"format": "binary"}, description="The file; its type is sniffed from the bytes."
    )


class SupportAttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    filename: str = Field(description="The uploaded name, sanitized for display.")
    content_type: str = Field(description="Sniffed from the content, not taken from the client.")
    size: int
    sha256: str
    uploaded_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class SupportAttachmentPage(BaseModel):
    items: list[SupportAttachmentOut]
    next_cursor: str | None = None


class SupportAttachmentContent(RootModel[bytes]):
    """The file's bytes (``Content-Disposition: attachment``)."""

    root: bytes = Field(json_schema_extra={"format": "binary"})


class SupportSlaTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response_minutes: int = Field(ge=1, le=525_600)
    resolution_minutes: int = Field(ge=1, le=525_600)


class SupportSlaTargetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response_minutes: int | None = Field(None, ge=1, le=525_600)
    resolution_minutes: int | None = Field(None, ge=1, le=525_600)


class SupportBusinessHours(BaseModel):
    """Working time the SLA clock counts; outside it the clock does not run."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(description="IANA time zone, e.g. Europe/Berlin.")
    days: list[int] = Field(description="Working days, 0 = Monday ... 6 = Sunday.", min_length=1, max_length=7)
    start: str = Field(description="HH:MM local time the working day starts.")
    end: str = Field(description="HH:MM local time it ends (after start).")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 6 for day in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError("a time as HH:MM")
        return value

    @model_validator(mode="after")
    def _order(self) -> SupportBusinessHours:
        if self.start >= self.end:
            raise ValueError("end must be after start")
        return self


class SupportSlaTargets(BaseModel):
    low: SupportSlaTarget
    medium: SupportSlaTarget
    high: SupportSlaTarget
    urgent: SupportSlaTarget


class SupportSlaTargetsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low: SupportSlaTargetUpdate | None = None
    medium: SupportSlaTargetUpdate | None = None
    high: SupportSlaTargetUpdate | None = None
    urgent: SupportSlaTargetUpdate | None = None


class SupportSlaPolicyUpdate(BaseModel):
    """Partial: priorities not sent keep their targets; ``business_hours: null`` removes them."""

    model_config = ConfigDict(extra="forbid")

    targets: SupportSlaTargetsUpdate | None = None
    business_hours: SupportBusinessHours | None = None


class SupportSlaPolicyOut(BaseModel):
    organization_id: uuid.UUID
    targets: SupportSlaTargets
    business_hours: SupportBusinessHours | None
    is_default: bool = Field(description="True while the organization has not set its own policy.")
    updated_at: datetime | None

    @classmethod
    def of(cls, organization_id: uuid.UUID, policy: SlaPolicy | None) -> SupportSlaPolicyOut:
        """The organization's policy; ``None`` stands for the defaults."""
        return cls.model_validate(
            {
                "organization_id": organization_id,
                "targets": merged_targets(policy.targets if policy else None),
                "business_hours": policy.business_hours if policy else None,
                "is_default": policy is None,
                "updated_at": policy.updated_at if policy else None,
            }
        )
