"""Request and response models; every name starts with ``Relay`` so OpenAPI components never collide."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class RelayDeliveryOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    event_id: uuid.UUID
    event_name: str
    status: Literal["queued", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    response_status: int | None
    error: str | None
    delivered_at: datetime | None
    created_at: datetime


class RelayDeliveryPage(BaseModel):
    items: list[RelayDeliveryOut]
    next_cursor: str | None = None


class RelayDeliveryQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    status: Literal["queued", "sending", "delivered", "failed"] | None = None
