from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

PRIORITY = (
    "Higher runs first among the organization's waiting runs (then the oldest first); the scheduler "
    "stays fair across organizations whatever the priorities."
)
DURABILITY = (
    "When LangGraph writes the run's checkpoints: sync (before each next step), async (while the "
    "next step runs; LangGraph's default) or exit (only when the run ends or waits: fastest, but a "
    "crash re-runs the whole attempt)."
)
Durability = Literal["sync", "async", "exit"]
JobStatus = Literal["queued", "running", "interrupted", "succeeded", "failed", "cancelled", "timed_out"]


class WorkersTemplateDefaults(BaseModel):
    """Defaults of the jobs of a template; unset fields fall back to the workflow's own."""

    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(default_factory=dict, description="Merged under each job's input.")
    timeout_seconds: float | None = Field(None, gt=0, le=7 * 86_400, description="Per attempt.")
    max_attempts: int | None = Field(None, ge=1, le=100)
    retry_backoff_seconds: float | None = Field(None, ge=0, le=3600, description="Doubles after each failed attempt.")
    recursion_limit: int | None = Field(None, ge=1, le=100_000)
    priority: int | None = Field(None, ge=-1000, le=1000, description=PRIORITY)
    durability: Durability | None = Field(None, description=DURABILITY)


class WorkersTemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    workflow: str = Field(min_length=1, max_length=200, description="Name of an installed package workflow.")
    defaults: WorkersTemplateDefaults = Field(default_factory=WorkersTemplateDefaults)
    is_active: bool = True


class WorkersTemplateUpdate(BaseModel):
    """Partial update; fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    defaults: WorkersTemplateDefaults | None = None
    is_active: bool | None = None


class WorkersTemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    workflow: str
    version: str
    source: Literal["package", "organization"]
    organization_id: uuid.UUID | None
    defaults: dict[str, Any]
    is_active: bool
    read_only: bool
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class WorkersTemplatePage(BaseModel):
    items: list[WorkersTemplateOut]
    next_cursor: str | None = None


class WorkersTemplateListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    source: Literal["package", "organization"] | None = None


class WorkersGraphEdge(BaseModel):
    source: str
    target: str
    conditional: bool


class WorkersGraphOut(BaseModel):
    mermaid: str
    nodes: list[str]
    edges: list[WorkersGraphEdge]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class WorkersJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: uuid.UUID | None = Field(None, description="A visible template's id; or give `template`.")
    template: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="A template name (your organization's first, then a package workflow).",
    )
    input: dict[str, Any] = Field(default_factory=dict, description="Validated against the workflow's input model.")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="The same key within 24 h returns the same job."
    )
    webhook_url: HttpUrl | None = Field(
        None, description="Gets a signed POST (X-VetrAI-Signature) when the job finishes."
    )
    priority: int | None = Field(None, ge=-1000, le=1000, description=PRIORITY + " Default: the template's.")
    durability: Durability | None = Field(None, description=DURABILITY + " Default: the template's.")

    @model_validator(mode="after")
    def _one_template(self) -> WorkersJobCreate:
        if (self.template_id is None) == (self.template is None):
            raise ValueError("give exactly one of template_id and template")
        return self


class WorkersJobError(BaseModel):
    type: str
    message: str


class WorkersJobOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    template_id: uuid.UUID | None
    template: str
    workflow: str
    user_id: uuid.UUID | None
    status: JobStatus
    input: dict[str, Any]
    output: Any = None
    error: WorkersJobError | None
    interrupt: list[Any] | None = Field(description="What the interrupted run waits for (interrupt() values).")
    attempts: int
    max_attempts: int
    timeout_seconds: float
    current_node: str | None
    cancel_requested: bool
    idempotency_key: str | None
    webhook_url: str | None
    thread_id: uuid.UUID | None = Field(None, description="The thread it ran on (a job: its own id).")
    assistant_id: uuid.UUID | None = None
    graph_version: str = Field("", description="Version of the workflow package that ran it.")
    priority: int = Field(0, description=PRIORITY)
    usage: dict[str, Any] | None = Field(
        None, description="Tokens its chat models used: input_tokens, output_tokens, total_tokens, by_model."
    )
    reason: str | None = Field(None, description="Why it ended so, when not obvious (worker_lost).")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class WorkersJobPage(BaseModel):
    items: list[WorkersJobOut]
    next_cursor: str | None = None


class WorkersJobListQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    status: JobStatus | None = None
    template_id: uuid.UUID | None = None
    template: str | None = Field(
        None, max_length=200, description="A template's id or name, as jobs are created with (instead of template_id)."
    )


class WorkersResume(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="Returned by the pending interrupt() (approval: {approved, comment?}).")


class WorkersEventOut(BaseModel):
    id: int = Field(description="Sequence number (the SSE id; resume with Last-Event-ID).")
    type: Literal["status", "node", "progress", "interrupt", "output", "retry", "requeued", "token", "stream"]
    node: str | None
    data: dict[str, Any]
    time: datetime


class WorkersEventPage(BaseModel):
    items: list[WorkersEventOut]


class WorkersEventsQuery(BaseModel):
    format: Literal["sse", "json"] = Field(
        "sse", description="json: the stored history as {items}; sse: a live Server-Sent Events stream."
    )
    after: int | None = Field(None, ge=0, description="Only events after this sequence id (like Last-Event-ID).")
