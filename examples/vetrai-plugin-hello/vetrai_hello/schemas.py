"""Request and response models; every name starts with ``Hello`` so OpenAPI components never collide."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class HelloGreetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=500)


class HelloGreetingUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    message: str | None = Field(None, min_length=1, max_length=500)


class HelloGreetingOut(BaseModel):
    id: uuid.UUID
    message: str
    author_id: uuid.UUID | None
    organization_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class HelloGreetingPage(BaseModel):
    items: list[HelloGreetingOut]
    next_cursor: str | None = None


class HelloGreetingQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None


class HelloPing(BaseModel):
    message: str
    greetings_served: int
