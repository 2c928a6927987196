from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, request
from quart_schema import (
    document_querystring,
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from vetrai.core.auth import Principal, current_principal, require_role, require_scope
from vetrai.core.errors import ProblemError
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import ORG_ADMIN
from vetrai.core.platform import Platform, current_platform
from vetrai.engine import service
from vetrai.engine.models import Job, JobEvent
from vetrai.engine.schemas import (
    WorkersEventOut,
    WorkersEventPage,
    WorkersEventsQuery,
    WorkersGraphOut,
    WorkersJobCreate,
    WorkersJobListQuery,
    WorkersJobOut,
    WorkersJobPage,
    WorkersResume,
    WorkersTemplateCreate,
    WorkersTemplateListQuery,
    WorkersTemplateOut,
    WorkersTemplatePage,
    WorkersTemplateUpdate,
)
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.streams import TICK, hub_of

blueprint = Blueprint("workers", __name__)


# --- templates --------------------------------------------------------------------------------


@blueprint.get("/templates")
@require_scope("workers:read")
@validate_querystring(WorkersTemplateListQuery)
@validate_response(WorkersTemplatePage)
async def list_templates(query_args: WorkersTemplateListQuery) -> dict[str, Any]:
    """Package workflows (global, read-only) and your organization's templates, newest first."""
    principal = await current_principal()
    await service.ensure_package_templates()
    queryset = service.visible_templates(principal)
    if query_args.source:
        queryset = queryset.filter(source=query_args.source)
    return await paginate(
        queryset, PageQuery(limit=query_args.limit, cursor=query_args.cursor), service.serialize_template
    )


@blueprint.post("/templates")
@require_scope("workers:write")
@require_role(ORG_ADMIN)
@validate_request(WorkersTemplateCreate)
@validate_response(WorkersTemplateOut, 201)
async def create_template(data: WorkersTemplateCreate) -> tuple[dict[str, Any], int]:
    """Create an organization template on an installed workflow with its own defaults (org_admin)."""
    row = await service.create_template(
        await current_principal(), data.name, data.description, data.workflow, data.defaults, data.is_active
    )
    return service.serialize_template(row), 201


@blueprint.get("/templates/<template_id>")
@require_scope("workers:read")
@validate_response(WorkersTemplateOut)
async def get_template(template_id: str) -> dict[str, Any]:
    """Read a template (by id or name) with its input and output JSON schemas."""
    return service.serialize_template(await service.get_template(await current_principal(), template_id))


@blueprint.put("/templates/<template_id>")
@require_scope("workers:write")
@require_role(ORG_ADMIN)
@validate_request(WorkersTemplateUpdate)
@validate_response(WorkersTemplateOut)
async def update_template(template_id: str, data: WorkersTemplateUpdate) -> dict[str, Any]:
    """Change an organization template (by id or name; partial); package templates are read-only (403)."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    row = await service.update_template(await current_principal(), template_id, changes)
    return service.serialize_template(row)


@blueprint.delete("/templates/<template_id>")
@require_scope("workers:write")
@require_role(ORG_ADMIN)
async def delete_template(template_id: str) -> tuple[str, int]:
    """Delete an organization template (by id or name; its jobs stay); package templates are read-only (403)."""
    await service.delete_template(await current_principal(), template_id)
    return "", 204


@blueprint.get("/templates/<template_id>/graph")
@require_scope("workers:read")
@validate_response(WorkersGraphOut)
async def template_graph(template_id: str) -> dict[str, Any]:
    """A template's graph (by id or name) as Mermaid text, nodes and edges, with its input/output schemas."""
    row = await service.get_template(await current_principal(), template_id)
    return await asyncio.to_thread(service.template_graph, row)


# --- jobs -------------------------------------------------------------------------------------


@blueprint.post("/jobs")
@require_scope("workers:write")
@validate_request(WorkersJobCreate)
@validate_response(WorkersJobOut, 202)
async def create_job(data: WorkersJobCreate) -> tuple[dict[str, Any], int]:
    """Queue a run of a template; the input is validated against its input model (422)."""
    job, _created = await service.create_job(
        current_platform(),
        await current_principal(),
        template_id=data.template_id,
        template=data.template,
        input=data.input,
        idempotency_key=data.idempotency_key,
        webhook_url=str(data.webhook_url) if data.webhook_url else None,
        priority=data.priority,
        durability=data.durability,
    )
    return service.serialize_job(job), 202


@blueprint.get("/jobs")
@require_scope("workers:read")
@validate_querystring(WorkersJobListQuery)
@validate_response(WorkersJobPage)
async def list_jobs(query_args: WorkersJobListQuery) -> dict[str, Any]:
    """Your organization's jobs, newest first (?status=&template_id= or &template=<id or name>)."""
    principal = await current_principal()
    template_id = query_args.template_id
    if query_args.template is not None:
        template_id = await service.template_filter(principal, query_args.template)
    queryset = service.visible_jobs(principal, query_args.status, template_id)
    return await paginate(queryset, PageQuery(limit=query_args.limit, cursor=query_args.cursor), service.serialize_job)


@blueprint.get("/jobs/<job_id>")
@require_scope("workers:read")
@validate_response(WorkersJobOut)
async def get_job(job_id: str) -> dict[str, Any]:
    """A job: status, input, output, error, attempts, current node and timings."""
    return service.serialize_job(await service.get_job(await current_principal(), job_id))


@blueprint.delete("/jobs/<job_id>")
@require_scope("workers:write")
async def delete_job(job_id: str) -> tuple[str, int]:
    """Delete a finished or interrupted job with its events and checkpoints (409 while queued or running)."""
    await service.delete_job(current_platform(), await current_principal(), job_id)
    return "", 204


@blueprint.post("/jobs/<job_id>/cancel")
@require_scope("workers:write")
@validate_response(WorkersJobOut, 202)
async def cancel_job(job_id: str) -> tuple[dict[str, Any], int]:
    """Cancel a job; a running one stops within a second; a finished one is a 409."""
    job = await service.cancel_job(current_platform(), await current_principal(), job_id)
    return service.serialize_job(job), 202


@blueprint.post("/jobs/<job_id>/resume")
@require_scope("workers:write")
@validate_request(WorkersResume)
@validate_response(WorkersJobOut, 202)
async def resume_job(job_id: str, data: WorkersResume) -> tuple[dict[str, Any], int]:
    """Continue an interrupted job with ``Command(resume=value)``."""
    job = await service.resume_job(current_platform(), await current_principal(), job_id, data.value)
    return service.serialize_job(job), 202


@blueprint.post("/jobs/<job_id>/retry")
@require_scope("workers:write")
@validate_response(WorkersJobOut, 202)
async def retry_job(job_id: str) -> tuple[dict[str, Any], int]:
    """Run a failed or timed-out job again from its last checkpoint."""
    job = await service.retry_job(current_platform(), await current_principal(), job_id)
    return service.serialize_job(job), 202


def _last_event_id(after: int | None) -> int | None:
    header = request.headers.get("Last-Event-ID", "").strip()
    if header:
        try:
            return int(header)
        except ValueError:
            raise ProblemError(400, "Last-Event-ID must be an event id") from None
    return after


@blueprint.get("/jobs/<job_id>/events")
@require_scope("workers:read")
@document_querystring(WorkersEventsQuery)
@document_response(WorkersEventPage)
async def job_events(job_id: str) -> Response | dict[str, Any]:
    """The run's events: a Server-Sent Events stream (default; resumable with ``Last-Event-ID``,
    ending when the job finishes or is interrupted) or, with ``?format=json``, the stored
    history as ``{items}``."""
    try:
        query = WorkersEventsQuery.model_validate(request.args.to_dict())
    except ValueError as exc:
        raise ProblemError(422, f"invalid query: {exc}") from None
    job = await service.get_job(await current_principal(), job_id)
    after = _last_event_id(query.after)
    if query.format == "json":
        return {"items": [service.serialize_event(event) for event in await service.job_events(job, after)]}
    platform = current_platform()
    settings = platform.plugin_settings("workers", WorkersSettings)
    stream = _stream(platform, await current_principal(), job, after, settings)
    response = Response(stream, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


async def _stream(
    platform: Platform, principal: Principal, job: Job, after: int | None, settings: WorkersSettings
) -> AsyncIterator[bytes]:
    """Subscribe first, replay the stored events after ``after`` once, then send what is
    published; the database is read again only when the hub's keep-alive check finds an event
    this stream was not sent."""
    yield b"retry: 2000\n\n"
    async with hub_of(platform).subscribe(job.id, ticks=settings.keepalive_seconds) as queue:
        last: dict[str, Any] | None = None
        while True:
            for event in await service.job_events(job, after, limit=500):
                item = service.serialize_event(event)
                yield _sse(item)
                after, last = event.id, item
            if last is None:
                stored = await JobEvent.filter(job_id=job.id).exclude(type="stream").order_by("-id").first()
                last = service.serialize_event(stored) if stored is not None else None
            if last is not None and _ends(last):
                return
            while True:
                item = await queue.get()
                if item.get("type") == TICK:
                    if not await service.stream_allowed(platform, principal) or not item["exists"]:
                        return
                    yield b": keep-alive\n\n"
                    if item["latest"] is not None and (after is None or item["latest"] > after):
                        break  # catch up from the database (a lost pub/sub message)
                    continue
                if item.get("type") == "stream" or (after is not None and item["id"] <= after):
                    continue
                yield _sse(item)
                after, last = item["id"], item
                if _ends(item):
                    return


def _sse(item: dict[str, Any]) -> bytes:
    # Keys sorted: a live event and its replay from the database (PostgreSQL's jsonb reorders
    # keys) are the same bytes.
    item = {**item, "data": json.loads(json.dumps(item["data"], sort_keys=True))}
    payload = WorkersEventOut.model_validate(item).model_dump_json()
    return f"id: {item['id']}\nevent: {item['type']}\ndata: {payload}\n\n".encode()


def _ends(item: dict[str, Any]) -> bool:
    return item.get("type") == "status" and (item.get("data") or {}).get("status") in service.STREAM_END
