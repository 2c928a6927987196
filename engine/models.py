"""Workflow templates, jobs and job events (app label ``workers``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from vetrai.core.models import BaseModel, TenantMixin

JOB_STATUSES = ("queued", "running", "interrupted", "succeeded", "failed", "cancelled", "timed_out")
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


class WorkflowTemplate(BaseModel):
    """A runnable template: a package workflow, global and read-only and synced at start-up, or an organization template built on one with its own defaults"""

    organization: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
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
    defaults = fields.JSONField(default=dict)
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "workers_template"


class Job(BaseModel, TenantMixin):
    """One run of a template, the row is the source of truth, the broker only the transport"""

    template: fields.ForeignKeyNullableRelation[WorkflowTemplate] = fields.ForeignKeyField(
        "workers.WorkflowTemplate", related_name=False, on_delete=fields.SET_NULL, null=True
    )
    template_name = fields.CharField(max_length=200)
    workflow = fields.CharField(max_length=200)
    user_id = fields.UUIDField(null=True)
    status = fields.CharField(max_length=20, default="queued", db_index=True)
    input = fields.JSONField(default=dict)
    output = fields.JSONField(null=True)
    error = fields.JSONField(null=True)
    interrupt = fields.JSONField(null=True, description="Pending interrupt values while interrupted")
    resume_value = fields.JSONField(null=True)
    has_resume = fields.BooleanField(default=False)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=1)
    timeout_seconds = fields.FloatField(default=300)
    retry_backoff_seconds = fields.FloatField(default=1)
    recursion_limit = fields.IntField(default=50)
    current_node = fields.CharField(max_length=200, null=True)
    idempotency_key = fields.CharField(max_length=200, null=True, db_index=True)
    webhook_url = fields.CharField(max_length=2000, null=True)
    cancel_requested = fields.BooleanField(default=False)
    lease_owner = fields.CharField(max_length=100, null=True)
    lease_expires_at = fields.DatetimeField(null=True, db_index=True)
    run_after = fields.DatetimeField(null=True)
    queued_at = fields.DatetimeField(null=True)
    claimed_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "workers_job"


class JobEvent(Model):
    """What happened in a run, in order, the id is the sequence number and the SSE id"""

    id = fields.BigIntField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "workers.Job", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    type = fields.CharField(max_length=30)
    node = fields.CharField(max_length=200, null=True)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workers_job_event"
