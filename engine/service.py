"""Templates and jobs: the engine's logic with no HTTP in it (routes, the CLI and tests call it)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core import tracing
from vetrai.core.auth import Principal, still_valid
from vetrai.core.errors import (
    ProblemError,
    conflict,
    field_error,
    forbidden,
    not_found,
    quota_exceeded,
    unprocessable,
)
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.core.tenancy import ensure_storage, get_scoped, limits_of, scoped
from vetrai.engine.clock import utcnow
from vetrai.engine.dispatch import publish_cancel, send_run
from vetrai.engine.finishing import finish
from vetrai.engine.models import FINISHED, Job, JobEvent, RunQuota, WorkflowTemplate
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.spec import WorkflowSpec, get_workflow, workflows
from vetrai.engine.storage import forget_storage
from vetrai.engine.streams import add_event
from vetrai.engine.streams import serialize_event as serialize_event
from vetrai.engine.streams import serialize_job as serialize_job

log = logging.getLogger("vetrai.engine")
STREAM_END = frozenset({*FINISHED, "interrupted"})
UNLINK_ATTEMPTS = 5


# --- templates --------------------------------------------------------------------------------


async def sync_package_templates() -> int:
    """One global, read-only row per installed workflow; uninstalled ones become inactive."""
    installed = workflows()
    for name, spec in installed.items():
        values: dict[str, Any] = {
            "name": name,
            "description": spec.description,
            "workflow": name,
            "version": spec.version,
            "is_active": True,
        }
        row = await WorkflowTemplate.get_or_none(package_key=name)
        if row is None:
            try:
                await WorkflowTemplate.create(
                    package_key=name, source="package", organization_id=None, defaults={}, **values
                )
                continue
            except IntegrityError:  # another process synced it at the same moment
                row = await WorkflowTemplate.get(package_key=name)
        if any(getattr(row, key) != value for key, value in values.items()):
            await WorkflowTemplate.filter(id=row.id).update(**values)
    await (
        WorkflowTemplate.filter(source="package", is_active=True)
        .exclude(package_key__in=list(installed))
        .update(is_active=False)
    )
    return len(installed)


class PackageTemplates:
    """This process's sync of the installed workflows into template rows, done on first need:
    loading the workflows imports LangGraph and every graph module (most of a second and about
    20 MiB), which starting a server or a worker does not need."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.synced = False

    async def ensure(self) -> None:
        if self.synced:
            return
        async with self.lock:
            if not self.synced:
                await sync_package_templates()
                self.synced = True


PACKAGE_TEMPLATES: Slot[PackageTemplates] = Slot("workers_templates")


async def ensure_package_templates() -> None:
    """The package workflows' template rows exist (synced once per process)."""
    await current_platform().get(PACKAGE_TEMPLATES).ensure()


def visible_templates(principal: Principal) -> QuerySet[WorkflowTemplate]:
    return scoped(WorkflowTemplate, principal, with_global=True)


async def find_template(principal: Principal, reference: str | uuid.UUID) -> WorkflowTemplate | None:
    """The one way a template is addressed, by id or by name, so every route and job creation
    takes what the listing shows: an id of a visible template, else a name (the organization's
    own template of that name first, then the package workflow's)."""
    await ensure_package_templates()
    text = str(reference).strip()
    try:
        key = uuid.UUID(text)
    except ValueError:
        key = None
    if key is not None:
        row = await visible_templates(principal).get_or_none(id=key)
        if row is not None:
            return row
    named = Q(package_key=text)
    if principal.organization_id is not None:
        named |= Q(organization_id=principal.organization_id, name=text)
    rows = await WorkflowTemplate.filter(named).limit(2)  # one query for both places a name may live
    own = [row for row in rows if row.organization_id == principal.organization_id and row.name == text]  # type: ignore[attr-defined]
    found = own or rows
    return found[0] if found else None


async def get_template(principal: Principal, reference: str | uuid.UUID) -> WorkflowTemplate:
    """A visible template by id or name, or the 404 problem."""
    row = await find_template(principal, reference)
    if row is None:
        raise not_found("template")
    return row


def serialize_template(row: WorkflowTemplate) -> dict[str, Any]:
    spec = get_workflow(row.workflow)
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "workflow": row.workflow,
        "version": row.version,
        "source": row.source,
        "organization_id": row.organization_id,  # type: ignore[attr-defined]
        "defaults": {**(spec.defaults() if spec else {}), "input": {}, **(row.defaults or {})},
        "is_active": row.is_active,
        "read_only": row.source == "package",
        "input_schema": spec.input_model.model_json_schema() if spec else None,
        "output_schema": spec.output_model.model_json_schema() if spec else None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _require_workflow(name: str) -> WorkflowSpec:
    spec = get_workflow(name)
    if spec is None:
        raise unprocessable(
            [{"loc": ["body", "workflow"], "msg": f"no installed workflow is named {name!r}", "type": "value_error"}]
        )
    return spec


def _defaults(defaults: Any) -> dict[str, Any]:
    values = defaults.model_dump(exclude_none=True) if hasattr(defaults, "model_dump") else dict(defaults or {})
    return values


async def _name_taken(principal: Principal, name: str, exclude: uuid.UUID | None = None) -> bool:
    query = WorkflowTemplate.filter(organization_id=principal.organization_id, name=name)
    if exclude is not None:
        query = query.exclude(id=exclude)
    return await query.exists()


async def create_template(
    principal: Principal, name: str, description: str, workflow: str, defaults: Any, is_active: bool
) -> WorkflowTemplate:
    _require_workflow(workflow)
    if principal.organization_id is None:
        raise forbidden("organization templates belong to an organization")
    if await _name_taken(principal, name):
        raise conflict(f"your organization already has a template named {name!r}")
    spec = get_workflow(workflow)
    return await WorkflowTemplate.create(
        organization_id=principal.organization_id,
        name=name,
        description=description,
        workflow=workflow,
        version=spec.version if spec else "",
        source="organization",
        defaults=_defaults(defaults),
        is_active=is_active,
    )


async def _writable_template(principal: Principal, template_id: str) -> WorkflowTemplate:
    row = await get_template(principal, template_id)
    if row.source == "package":
        raise forbidden("package templates are read-only; create an organization template from the workflow instead")
    return row


async def update_template(principal: Principal, template_id: str, changes: dict[str, Any]) -> WorkflowTemplate:
    row = await _writable_template(principal, template_id)
    if "name" in changes and changes["name"] is not None and changes["name"] != row.name:
        if await _name_taken(principal, changes["name"], exclude=row.id):
            raise conflict(f"your organization already has a template named {changes['name']!r}")
        row.name = changes["name"]
    if changes.get("description") is not None:
        row.description = changes["description"]
    if changes.get("defaults") is not None:
        row.defaults = _defaults(changes["defaults"])
    if changes.get("is_active") is not None:
        row.is_active = changes["is_active"]
    await row.save()
    return row


async def delete_template(principal: Principal, template_id: str) -> None:
    from asyncpg.exceptions import DeadlockDetectedError

    row = await _writable_template(principal, template_id)
    # Its runs keep their template_name. Unlinking them locks their rows, which a run writing
    # its events may hold too; PostgreSQL then cancels one of the two (deadlock detected).
    # Unlinked first, on its own, so a cancelled unlink has written nothing and is tried again.
    for attempt in range(1, UNLINK_ATTEMPTS + 1):
        try:
            await Job.filter(template_id=row.id).update(template_id=None)
            break
        except DeadlockDetectedError:
            if attempt == UNLINK_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)
    await row.delete()


def template_graph(row: WorkflowTemplate) -> dict[str, Any]:
    spec = get_workflow(row.workflow)
    if spec is None:
        raise ProblemError(409, f"the workflow {row.workflow!r} is not installed on this server")
    graph = spec.build().compile().get_graph()
    return {
        "mermaid": graph.draw_mermaid(),
        "nodes": list(graph.nodes),
        "edges": [
            {"source": edge.source, "target": edge.target, "conditional": bool(edge.conditional)}
            for edge in graph.edges
        ],
        "input_schema": spec.input_model.model_json_schema(),
        "output_schema": spec.output_model.model_json_schema(),
    }


# --- jobs -------------------------------------------------------------------------------------


async def _resolve_template(principal: Principal, template_id: uuid.UUID | None, name: str | None) -> WorkflowTemplate:
    where = "template_id" if template_id is not None else "template"
    reference = template_id if template_id is not None else name
    row = await find_template(principal, reference) if reference is not None else None
    if row is None:
        raise field_error(where, "unknown template")
    if not row.is_active:
        raise field_error(where, "the template is not active")
    return row


async def template_filter(principal: Principal, reference: str) -> uuid.UUID:
    """The id of the template a job listing is filtered by (id or name; 422 when unknown)."""
    row = await find_template(principal, reference)
    if row is None:
        raise field_error("template", "unknown template", where="query")
    return row.id


def validate_input(spec: WorkflowSpec, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return spec.input_model.model_validate(values).model_dump(mode="json")
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "input", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)
        ]
        raise unprocessable(errors, "the input does not match the template's input model") from None


async def admit(spec: WorkflowSpec | Any, organization_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Let a workflow refuse a run before anything is written: a spec may carry an async
    ``admit(organization_id, input)`` (model workflows check the organization has a provider
    and tokens left), which raises a ``ProblemError`` to refuse."""
    check = getattr(spec, "admit", None)
    if check is not None:
        await check(organization_id, values)


async def create_job(
    platform: Platform,
    principal: Principal,
    *,
    template_id: uuid.UUID | None = None,
    template: str | None = None,
    input: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    webhook_url: str | None = None,
    priority: int | None = None,
    durability: str | None = None,
) -> tuple[Job, bool]:
    """Validate, insert ``queued`` and send ``run_job``; returns (job, created). ``priority``
    and ``durability`` default to the template's (then the workflow's)."""
    if principal.organization_id is None:
        raise forbidden("jobs belong to an organization")
    row = await _resolve_template(principal, template_id, template)
    spec = get_workflow(row.workflow)
    if spec is None:
        raise unprocessable(
            [{"loc": ["body", "template"], "msg": f"workflow {row.workflow!r} is not installed", "type": "value_error"}]
        )
    defaults = {**spec.defaults(), **(row.defaults or {})}
    values = validate_input(spec, {**defaults.get("input", {}), **(input or {})})
    await admit(spec, principal.organization_id, values)
    job_id = uuid.uuid4()
    return await enqueue_run(
        platform,
        principal,
        id=job_id,
        thread_id=job_id,
        template_id=row.id,
        template_name=row.name,
        workflow=row.workflow,
        graph_version=spec.version,
        input=values,
        max_attempts=int(defaults["max_attempts"]),
        timeout_seconds=float(defaults["timeout_seconds"]),
        retry_backoff_seconds=float(defaults["retry_backoff_seconds"]),
        recursion_limit=int(defaults["recursion_limit"]),
        priority=int(defaults["priority"]) if priority is None else priority,
        options={"durability": chosen} if (chosen := durability or defaults.get("durability")) else {},
        idempotency_key=idempotency_key,
        webhook_url=webhook_url,
    )


async def _seed_quota(organization_id: uuid.UUID, month: str, since: datetime) -> None:
    if await RunQuota.exists(organization_id=organization_id, month=month):
        return
    used = await Job.filter(organization_id=organization_id, created_at__gte=since).count()
    try:
        await RunQuota.create(organization_id=organization_id, month=month, runs=used)
    except IntegrityError:  # another create seeded it at the same moment
        pass


async def enqueue_run(
    platform: Platform, principal: Principal, *, send: bool = True, **values: Any
) -> tuple[Job, bool]:
    """Insert a ``queued`` run and send it; returns (run, created).

    The monthly quota is one conditional UPDATE of the organization's counter and the
    idempotency key a unique constraint, both in the transaction that inserts the run, so two
    simultaneous creates can neither pass the limit nor create the same key twice."""
    settings = platform.plugin_settings("workers", WorkersSettings)
    organization_id = principal.organization_id
    assert organization_id is not None
    now = utcnow()
    idempotency_key = values.get("idempotency_key")
    if idempotency_key:
        window_start = now - timedelta(hours=settings.idempotency_hours)
        existing = await Job.get_or_none(organization_id=organization_id, idempotency_key=idempotency_key)
        if existing is not None and existing.created_at >= window_start:
            return existing, False
        if existing is not None:  # an expired key is free again
            await Job.filter(id=existing.id, created_at__lt=window_start).update(idempotency_key=None)
    since = month_start(now)
    month = since.strftime("%Y-%m")
    await _seed_quota(organization_id, month, since)
    organization = await Organization.get(id=organization_id)
    await ensure_storage(platform, organization)  # no new run while the organization is at max_storage_bytes
    maximum = limits_of(organization)["max_monthly_jobs"]
    try:
        async with in_transaction():
            counted = await RunQuota.filter(organization_id=organization_id, month=month, runs__lt=maximum).update(
                runs=F("runs") + 1
            )
            if not counted:
                raise quota_exceeded(
                    f"max_monthly_jobs of the {organization.plan!r} plan is {maximum}; upgrade the plan to add more",
                    limit="max_monthly_jobs",
                    maximum=maximum,
                    current=maximum,
                )
            job = await Job.create(
                organization_id=organization_id,
                user_id=principal.user_id,
                status="queued",
                queued_at=now,
                trace_context=tracing.inject() or None,
                **values,
            )
            # In the same transaction: any worker's wake-up may claim the run once it is
            # committed, and its first event is ``queued``.
            await add_event(platform, job.id, "status", {"status": "queued"})
    except IntegrityError:
        existing = await Job.get_or_none(organization_id=organization_id, idempotency_key=idempotency_key)
        if idempotency_key and existing is not None:
            return existing, False
        raise
    if send:
        await send_run(platform, job.id)
    return job, True


def visible_jobs(
    principal: Principal, status: str | None = None, template_id: uuid.UUID | None = None
) -> QuerySet[Job]:
    filters: dict[str, Any] = {}
    if status:
        filters["status"] = status
    if template_id:
        filters["template_id"] = template_id
    return scoped(Job, principal, **filters)


async def get_job(principal: Principal, job_id: str | uuid.UUID) -> Job:
    return await get_scoped(Job, principal, job_id)


async def cancel_job(platform: Platform, principal: Principal, job_id: str) -> Job:
    """Queued/interrupted jobs are cancelled at once; a running one is stopped by its worker."""
    job = await get_job(principal, job_id)
    if job.status in FINISHED:
        raise conflict(f"the job is already {job.status}")
    now = utcnow()

    def change() -> Any:
        return Job.filter(id=job.id, status__in=["queued", "interrupted"]).update(
            status="cancelled", cancel_requested=True, finished_at=now, updated_at=now
        )

    if await finish(platform, job, "cancelled", change):
        await job.refresh_from_db()
        return job
    if await Job.filter(id=job.id, status="running").update(cancel_requested=True, updated_at=now):
        await publish_cancel(platform, job.id)
    else:
        await job.refresh_from_db()
        if job.status in FINISHED:
            raise conflict(f"the job is already {job.status}")
    await job.refresh_from_db()
    return job


async def resume_job(platform: Platform, principal: Principal, job_id: str, value: Any) -> Job:
    """Queue an interrupted run with the answer to its ``interrupt()``: the same attempt goes on
    (a resume is not an attempt), so an answer never uses up the run's retries."""
    job = await get_job(principal, job_id)
    if job.status != "interrupted":
        raise conflict(f"only an interrupted job can be resumed; this one is {job.status}")
    spec = get_workflow(job.workflow)
    if spec is not None and spec.resume_model is not None:
        try:
            value = spec.resume_model.model_validate(value).model_dump(mode="json")
        except ValidationError as exc:
            errors = [
                {"loc": ["body", "value", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ]
            raise unprocessable(errors, "the value does not match what the workflow waits for") from None
    now = utcnow()
    updated = await Job.filter(id=job.id, status="interrupted").update(
        status="queued",
        resume_value=value,
        has_resume=True,
        interrupt=None,
        error=None,
        # Not an attempt: the claim that continues the run adds the one taken back here.
        attempts=F("attempts") - 1,
        queued_at=now,
        run_after=None,
        updated_at=now,
    )
    if not updated:
        raise conflict("the job is no longer interrupted")
    await add_event(platform, job.id, "status", {"status": "queued", "reason": "resume"})
    await send_run(platform, job.id)
    await job.refresh_from_db()
    return job


RETRYABLE = ("failed", "timed_out", "cancelled")
"""A run that ended without its output can be retried; a succeeded one is done (409)."""
EARLIER_ATTEMPTS = "earlier_attempts"
"""Key of ``Job.options``: the tries of the budgets before the last retry, so the ``attempt``
a graph sees (``config["configurable"]["attempt"]``) never repeats within one run."""


async def retry_job(platform: Platform, principal: Principal, job_id: str) -> Job:
    """Queue a failed, timed-out or cancelled run again with a fresh budget: ``attempts`` back
    to 0 of the same ``max_attempts`` (so the backoff starts over), no ``error``; the run
    continues from its thread's last checkpoint when that checkpoint is its own."""
    job = await get_job(principal, job_id)
    if job.status not in RETRYABLE:
        raise conflict(f"only a failed, timed-out or cancelled job can be retried; this one is {job.status}")
    await ensure_storage(platform, job.organization_id)  # type: ignore[attr-defined]
    now = utcnow()
    options = {**(job.options or {})}
    options[EARLIER_ATTEMPTS] = int(options.get(EARLIER_ATTEMPTS) or 0) + job.attempts
    updated = await Job.filter(id=job.id, status__in=RETRYABLE).update(
        status="queued",
        error=None,
        reason=None,
        cancel_requested=False,
        finished_at=None,
        run_after=None,
        queued_at=now,
        attempts=0,
        options=options,
        updated_at=now,
    )
    if not updated:
        raise conflict("the job changed meanwhile")
    await add_event(platform, job.id, "status", {"status": "queued", "reason": "retry"})
    await send_run(platform, job.id)
    await job.refresh_from_db()
    return job


async def delete_job(platform: Platform, principal: Principal, job_id: str) -> None:
    """A finished or interrupted job goes with its events and checkpoints (409 while queued or running)."""
    from vetrai.engine.runtime import runtime_of

    job = await get_job(principal, job_id)
    if not await Job.filter(id=job.id).exclude(status__in=["queued", "running"]).delete():
        raise conflict(f"the job is {job.status}: cancel it first")
    if job.thread_id is None or job.thread_id == job.id:
        runtime = runtime_of(platform)
        await runtime.ensure_ready()
        await runtime.checkpointer.adelete_thread(str(job.id))
    forget_storage(platform, job.organization_id)  # type: ignore[attr-defined]


async def stream_allowed(platform: Platform, principal: Principal) -> bool:
    """Whether an open event stream may go on: a long-lived stream authenticated once, at
    connect, so it re-checks its caller (organization active, credential not revoked or
    logged out) every keep-alive and ends when the answer turns false. The streams of one
    credential ask at the same moment (the hub's keep-alive): one check answers them all."""
    key = (principal.kind, principal.credential_id or str(principal.user_id))
    checks: dict[tuple[str, str], asyncio.Future[bool]] = platform.state.setdefault("workers_stream_checks", {})
    check = checks.get(key)
    if check is None:
        check = checks[key] = asyncio.ensure_future(still_valid(principal))
        check.add_done_callback(lambda _: checks.pop(key, None))
    return await asyncio.shield(check)


async def job_events(job: Job, after: int | None = None, limit: int = 1000) -> list[JobEvent]:
    """The jobs API's events of a run (the LangGraph stream chunks are the other API's)."""
    query = JobEvent.filter(job_id=job.id).exclude(type="stream")
    if after is not None:
        query = query.filter(id__gt=after)
    return await query.order_by("id").limit(limit)


def stream_finished(status: str, last: JobEvent | None) -> bool:
    """The stream of a paused or finished job ends after the status event that says so."""
    return status in STREAM_END and last is not None and last.type == "status" and last.data.get("status") == status


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
