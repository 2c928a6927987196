"""Workflow templates, runs (the jobs API calls them jobs) and their events, assistants, threads,
crons and store items (app label ``workers``): the tables behind both the jobs API and the
LangGraph Server API."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from vetrai.core.models import BaseModel, Organization, TenantMixin, tenant_list_index

JOB_STATUSES = ("queued", "running", "interrupted", "succeeded", "failed", "cancelled", "timed_out")
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


class WorkflowTemplate(BaseModel):
    """A runnable template: a package workflow, global and read-only and synced at start-up, or an organization template built on one with its own defaults"""  # noqa: E501 - the table's comment in the migrations

    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, null=True, db_index=True
    )
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    workflow = fields.CharField(max_length=200, db_index=True, description="Name of the package workflow it runs")
    version = fields.CharField(max_length=50, default="")
    source = fields.CharField(max_length=20, description="package or organization")
    package_key = fields.CharField(
        max_length=200, null=True, unique=True, description="The workflow name of a package template, one row each"
    )
    defaults: dict[str, Any] = fields.JSONField(default=dict)
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "workers_template"


class Job(BaseModel, TenantMixin):
    """One run of a graph on a thread (a job is a run on its own thread), the row is the source of truth, the broker only the transport"""  # noqa: E501 - the table's comment in the migrations

    template: fields.ForeignKeyNullableRelation[WorkflowTemplate] = fields.ForeignKeyField(
        "workers.WorkflowTemplate", related_name=False, on_delete=fields.SET_NULL, null=True
    )
    template_name = fields.CharField(max_length=200)
    workflow = fields.CharField(max_length=200)
    user_id = fields.UUIDField(null=True)
    status = fields.CharField(max_length=20, default="queued", db_index=True)
    input: Any = fields.JSONField(default=dict)
    output: Any = fields.JSONField(null=True)
    error: dict[str, Any] | None = fields.JSONField(null=True)
    interrupt: Any = fields.JSONField(null=True, description="Pending interrupt values while interrupted")
    resume_value: Any = fields.JSONField(null=True)
    has_resume = fields.BooleanField(default=False)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=1)
    timeout_seconds = fields.FloatField(default=300)
    retry_backoff_seconds = fields.FloatField(default=1)
    recursion_limit = fields.IntField(default=50)
    current_node = fields.CharField(max_length=200, null=True)
    idempotency_key = fields.CharField(max_length=200, null=True, db_index=True)
    api = fields.CharField(max_length=20, default="jobs", description="jobs or langgraph: the API that created it")
    thread_id = fields.UUIDField(null=True, db_index=True, description="The thread it runs on (a job: its own id)")
    assistant_id = fields.UUIDField(null=True)
    assistant_version = fields.IntField(null=True)
    graph_version = fields.CharField(max_length=50, default="", description="Version of the workflow package")
    multitask_strategy = fields.CharField(max_length=20, null=True)
    stream_mode: list[str] = fields.JSONField(default=list, description="LangGraph stream modes recorded as events")
    options: dict[str, Any] = fields.JSONField(
        default=dict, description="LangGraph run options: config, context, command, checkpoint_id, interrupts"
    )
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    usage: dict[str, Any] | None = fields.JSONField(
        null=True, description="Tokens used: input, output, total and by model"
    )
    fence = fields.IntField(default=0, description="Fencing token: raised by every claim, checked by every write")
    reason = fields.CharField(max_length=50, null=True, description="Why it ended as it did (worker_lost, ...)")
    event_count = fields.IntField(default=0)
    event_bytes = fields.BigIntField(default=0, description="Bytes of its stored events (storage usage)")
    webhook_url = fields.CharField(max_length=2000, null=True)
    trace_context: dict[str, Any] | None = fields.JSONField(
        null=True, description="W3C traceparent of the request that created it: its run spans join that trace"
    )
    cancel_requested = fields.BooleanField(default=False)
    lease_owner = fields.CharField(max_length=100, null=True)
    lease_expires_at = fields.DatetimeField(null=True, db_index=True)
    run_after = fields.DatetimeField(null=True)
    priority = fields.IntField(
        default=0, description="Higher first among its organization's waiting runs (the scheduler is fair across them)"
    )
    queued_at = fields.DatetimeField(null=True)
    claimed_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workers_job"
        unique_together = (("organization", "idempotency_key"),)
        indexes = (
            tenant_list_index("workers_job"),
            # The scheduler: an organization's next run, and when one of its runs was last claimed.
            Index(fields=("organization_id", "status", "priority", "created_at"), name="workers_job_org_next"),
            Index(fields=("organization_id", "claimed_at"), name="workers_job_org_claimed"),
        )


class JobEvent(Model):
    """What happened in a run, in order, the id is the sequence number and the SSE id"""

    id = fields.BigIntField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "workers.Job", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    type = fields.CharField(max_length=30)
    node = fields.CharField(max_length=200, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workers_job_event"


class Assistant(BaseModel, TenantMixin):
    """An organization's assistant: a graph with its own config, context and metadata, versioned"""

    user_id = fields.UUIDField(null=True)
    graph_id = fields.CharField(max_length=200, db_index=True)
    name = fields.CharField(max_length=200, default="")
    description = fields.TextField(null=True)
    config: dict[str, Any] = fields.JSONField(default=dict)
    context: dict[str, Any] = fields.JSONField(default=dict)
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    version = fields.IntField(default=1)

    class Meta:
        table = "workers_assistant"
        indexes = (tenant_list_index("workers_assistant"),)


class AssistantVersion(Model):
    """One saved version of an assistant (every update adds one)"""

    id = fields.BigIntField(primary_key=True)
    assistant: fields.ForeignKeyRelation[Assistant] = fields.ForeignKeyField(
        "workers.Assistant", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    version = fields.IntField()
    graph_id = fields.CharField(max_length=200)
    name = fields.CharField(max_length=200, default="")
    description = fields.TextField(null=True)
    config: dict[str, Any] = fields.JSONField(default=dict)
    context: dict[str, Any] = fields.JSONField(default=dict)
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workers_assistant_version"
        unique_together = (("assistant", "version"),)


class Thread(BaseModel, TenantMixin):
    """A conversation: its state lives in the checkpointer under this id"""

    user_id = fields.UUIDField(null=True)
    graph_id = fields.CharField(max_length=200, null=True)
    status = fields.CharField(max_length=20, default="idle", db_index=True)
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    values: dict[str, Any] | None = fields.JSONField(null=True, description="The state's values after its last run")
    interrupts: dict[str, Any] = fields.JSONField(default=dict)
    ttl: dict[str, Any] | None = fields.JSONField(
        null=True, description="LangGraph thread TTL: {strategy, ttl (minutes)}"
    )
    expires_at = fields.DatetimeField(null=True, db_index=True, description="When the TTL sweep acts on it")

    class Meta:
        table = "workers_thread"
        indexes = (tenant_list_index("workers_thread"),)


class Cron(BaseModel, TenantMixin):
    """A schedule that creates runs (on a thread or stateless) as its organization's runs"""

    user_id = fields.UUIDField(null=True)
    assistant_id = fields.UUIDField()
    graph_id = fields.CharField(max_length=200)
    thread_id = fields.UUIDField(null=True)
    schedule = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=100, default="UTC")
    payload: dict[str, Any] = fields.JSONField(default=dict)
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    end_time = fields.DatetimeField(null=True)
    next_run_date = fields.DatetimeField(null=True, db_index=True)
    enabled = fields.BooleanField(default=True)

    class Meta:
        table = "workers_cron"
        indexes = (tenant_list_index("workers_cron"),)


class StoreItem(BaseModel, TenantMixin):
    """A long-term memory item, its namespace is its organization's and never shared"""

    namespace = fields.CharField(max_length=1000, description="Namespace labels joined by '.'")
    key = fields.CharField(max_length=500)
    value: Any = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField(null=True, db_index=True)
    ttl_minutes = fields.FloatField(null=True, description="The TTL a read with refresh_ttl renews")
    vectors: list[list[float]] | None = fields.JSONField(
        null=True, description="Embeddings of the indexed fields (semantic search)"
    )

    class Meta:
        table = "workers_store_item"
        indexes = (tenant_list_index("workers_store_item"),)
        unique_together = (("organization", "namespace", "key"),)


class RunQuota(Model):
    """Runs created per organization and month: the monthly limit is one conditional UPDATE"""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE
    )
    month = fields.CharField(max_length=7)
    runs = fields.IntField(default=0)

    class Meta:
        table = "workers_run_quota"
        unique_together = (("organization", "month"),)
