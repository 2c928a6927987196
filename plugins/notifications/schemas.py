from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vetrai.plugins.notifications.models import SECURITY

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
CHANNEL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"
LOCALE_PATTERN = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$"
Status = Literal["queued", "sending", "sent", "failed", "read"]


class NotificationsSend(BaseModel):
    """An arbitrary notification (admins): a template, or a literal body (not a template)."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(
        pattern=CHANNEL_PATTERN, description="email, in_app, sms, push, webhook, or a plugin's channel."
    )
    recipient_id: uuid.UUID | None = Field(None, description="A user of your organization.")
    to: str | None = Field(
        None, min_length=1, max_length=1000, description="Email address, E.164 phone number, URL or device token."
    )
    template_id: uuid.UUID | None = Field(
        None, description="A template of your organization or a global default, of the same channel."
    )
    subject: str | None = Field(None, max_length=1000, description="Literal subject when no template is given.")
    body: str | None = Field(
        None, min_length=1, max_length=100_000, description="Literal body when no template is given."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="Variables of the template.")
    category: str | None = Field(None, description="Preference category; default general.")
    locale: str | None = Field(None, pattern=LOCALE_PATTERN)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="A repeated key returns the first notification."
    )


class NotificationsQueued(BaseModel):
    id: uuid.UUID
    status: Status


class NotificationsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    recipient_id: uuid.UUID | None
    to: str | None
    channel: str
    category: str
    event: str | None
    template_id: uuid.UUID | None
    template_name: str | None
    subject: str | None = Field(description="Rendered subject (null until rendered).")
    body: str | None = Field(description="Rendered body; never shown for security messages.")
    data: dict[str, Any]
    status: Status
    attempts: int
    error: str | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    read_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _reader_view(cls, row: Any) -> Any:
        """A stored row as its reader sees it: nothing unrendered, no body or data of security mail."""
        if isinstance(row, dict):
            return row
        secret = row.category == SECURITY
        return {
            **{name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)},
            "recipient_id": row.user_id,
            "subject": row.subject if row.rendered else None,
            "body": None if secret or not row.rendered else row.body,
            "data": {} if secret else row.data,
        }


class NotificationsPage(BaseModel):
    items: list[NotificationsOut]
    next_cursor: str | None = None


class NotificationsListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    status: Status | None = None
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN)
    unread: bool | None = Field(None, description="true: only unread; false: only read.")
    recipient_id: uuid.UUID | None = Field(None, description="Admins: one user's notifications.")


class NotificationsTemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN,
        description="welcome, verify_email, password_reset, ticket_update, job_finished, payment_failed override the "
        "defaults.",
    )
    channel: str = Field(pattern=CHANNEL_PATTERN)
    subject: str | None = Field(None, max_length=1000, description="Jinja2 (sandboxed).")
    body: str = Field(min_length=1, max_length=100_000, description="Jinja2 (sandboxed), plain text.")
    html: str | None = Field(None, max_length=100_000, description="Jinja2 HTML body of an email, autoescaped.")
    locale: str = Field("en", pattern=LOCALE_PATTERN)


class NotificationsTemplateUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, pattern=NAME_PATTERN)
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN)
    subject: str | None = Field(None, max_length=1000)
    body: str | None = Field(None, min_length=1, max_length=100_000)
    html: str | None = Field(None, max_length=100_000)
    locale: str | None = Field(None, pattern=LOCALE_PATTERN)


class NotificationsTemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID | None
    is_default: bool = Field(description="A global default shipped for a system event (read-only but for super_admin).")
    name: str
    channel: str
    locale: str
    subject: str | None
    body: str
    html: str | None
    created_at: datetime
    updated_at: datetime


class NotificationsTemplatePage(BaseModel):
    items: list[NotificationsTemplateOut]
    next_cursor: str | None = None


class NotificationsTemplateListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    name: str | None = Field(None, pattern=NAME_PATTERN)
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN)


class NotificationsOptOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=50, description="A category or * for all (security cannot be turned off).")
    channel: str = Field(max_length=50, description="A channel or * for all.")


class NotificationsPreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opt_outs: list[NotificationsOptOut] = Field(max_length=200, description="Replaces your opt-outs.")


class NotificationsCategory(BaseModel):
    name: str
    description: str
    can_opt_out: bool


class NotificationsPreferences(BaseModel):
    opt_outs: list[NotificationsOptOut]
    categories: list[NotificationsCategory]
    channels: list[str]


class NotificationsChannelOut(BaseModel):
    name: str
    description: str


class NotificationsChannelList(BaseModel):
    items: list[NotificationsChannelOut]


class NotificationsStreamEvent(BaseModel):
    """Each Server-Sent Event: ``event: notification``, ``id: <notification id>``, ``data: <NotificationsOut JSON>``."""

    event: Literal["notification"]
    id: uuid.UUID
    data: NotificationsOut
