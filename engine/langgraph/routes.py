"""The LangGraph Server API at ``/api/v1/langgraph``: the paths, bodies and stream events that
langgraph-sdk and RemoteGraph use, on the engine's runs (thin: parse, authorize, call the service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request

from vetrai import __version__
from vetrai.core.auth import Principal, current_principal, require_scope, still_valid
from vetrai.core.errors import ProblemError
from vetrai.core.openapi import public
from vetrai.core.platform import Platform, current_platform
from vetrai.engine.langgraph import crons, service
from vetrai.engine.langgraph.schemas import (
    WorkersLangGraphAssistant,
    WorkersLangGraphAssistantCreate,
    WorkersLangGraphAssistantUpdate,
    WorkersLangGraphCronCreate,
    WorkersLangGraphCronUpdate,
    WorkersLangGraphHistory,
    WorkersLangGraphInfo,
    WorkersLangGraphLatest,
    WorkersLangGraphObject,
    WorkersLangGraphOk,
    WorkersLangGraphRun,
    WorkersLangGraphRunCreate,
    WorkersLangGraphRuns,
    WorkersLangGraphRunsCancel,
    WorkersLangGraphSearch,
    WorkersLangGraphState,
    WorkersLangGraphStateUpdate,
    WorkersLangGraphStoreDelete,
    WorkersLangGraphStorePut,
    WorkersLangGraphStoreSearch,
    WorkersLangGraphThread,
    WorkersLangGraphThreadCreate,
    WorkersLangGraphThreadPrune,
    WorkersLangGraphThreadUpdate,
)
from vetrai.engine.models import FINISHED, Job, JobEvent, Thread
from vetrai.engine.settings import WorkersSettings
from vetrai.engine.streams import hub_of

blueprint = Blueprint("langgraph", __name__)
READ, WRITE = "workers:read", "workers:write"
TERMINAL = frozenset({*FINISHED, "interrupted"})


def _default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, default=_default), status=status, mimetype="application/json")


def _body(data: Any) -> dict[str, Any]:
    body: dict[str, Any] = data.model_dump(exclude_unset=True)
    return body


async def _raw_body() -> dict[str, Any]:
    body = await request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# --- server -------------------------------------------------------------------------------------


@blueprint.get("/ok")
@document_response(WorkersLangGraphOk)
@public
async def ok() -> dict[str, Any]:
    """Liveness, as LangGraph servers answer it."""
    return {"ok": True}


@blueprint.get("/info")
@document_response(WorkersLangGraphInfo)
@public
async def info() -> dict[str, Any]:
    """Server version and capabilities (langgraph-sdk and Studio read it)."""
    return {
        "version": __version__,
        "langgraph_py_version": _langgraph_version(),
        "flags": {"assistants": True, "crons": True, "langsmith": False},
        "metadata": {"server": "vetrai"},
    }


def _langgraph_version() -> str:
    from importlib.metadata import version

    return version("langgraph")


# --- assistants ---------------------------------------------------------------------------------


@blueprint.post("/assistants")
@require_scope(WRITE)
@validate_request(WorkersLangGraphAssistantCreate)
async def create_assistant(data: WorkersLangGraphAssistantCreate) -> Response:
    """Create an organization assistant on an installed graph."""
    return _json(await service.create_assistant(await current_principal(), _body(data)))


@blueprint.post("/assistants/search")
@require_scope(READ)
@validate_request(WorkersLangGraphSearch)
async def search_assistants(data: WorkersLangGraphSearch) -> Response:
    """System assistants (one per graph) and your organization's, filtered."""
    return _json(await service.search_assistants(await current_principal(), data.model_dump()))


@blueprint.post("/assistants/count")
@require_scope(READ)
@validate_request(WorkersLangGraphSearch)
async def count_assistants(data: WorkersLangGraphSearch) -> Response:
    """How many assistants match."""
    return _json(await service.count_assistants(await current_principal(), data.model_dump()))


@blueprint.get("/assistants/<assistant_id>")
@document_response(WorkersLangGraphAssistant)
@require_scope(READ)
async def get_assistant(assistant_id: str) -> Response:
    """An assistant by id, or a graph's system assistant by graph id."""
    return _json(await service.resolve_assistant(await current_principal(), assistant_id))


@blueprint.patch("/assistants/<assistant_id>")
@require_scope(WRITE)
@validate_request(WorkersLangGraphAssistantUpdate)
async def update_assistant(assistant_id: str, data: WorkersLangGraphAssistantUpdate) -> Response:
    """Save a new version (it becomes the latest)."""
    return _json(await service.update_assistant(await current_principal(), assistant_id, _body(data)))


@blueprint.delete("/assistants/<assistant_id>")
@require_scope(WRITE)
async def delete_assistant(assistant_id: str) -> Response:
    """Delete an organization assistant (system assistants are read-only)."""
    await service.delete_assistant(await current_principal(), assistant_id)
    return Response("", status=204)


@blueprint.post("/assistants/<assistant_id>/versions")
@require_scope(READ)
@validate_request(WorkersLangGraphSearch)
async def assistant_versions(assistant_id: str, data: WorkersLangGraphSearch) -> Response:
    """The assistant's versions, newest first."""
    return _json(await service.assistant_versions(await current_principal(), assistant_id, data.model_dump()))


@blueprint.post("/assistants/<assistant_id>/latest")
@require_scope(WRITE)
@validate_request(WorkersLangGraphLatest)
async def set_latest(assistant_id: str, data: WorkersLangGraphLatest) -> Response:
    """Make an earlier version the assistant's current one."""
    return _json(await service.set_latest(await current_principal(), assistant_id, data.version))


@blueprint.get("/assistants/<assistant_id>/graph")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def assistant_graph(assistant_id: str) -> Response:
    """The graph's nodes and edges (``?xray=true`` draws subgraphs too)."""
    assistant = await service.resolve_assistant(await current_principal(), assistant_id)
    xray = request.args.get("xray", "false").lower() in ("1", "true")
    return _json(await asyncio.to_thread(service.graph_of, assistant, xray))


@blueprint.get("/assistants/<assistant_id>/schemas")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def assistant_schemas(assistant_id: str) -> Response:
    """The graph's input, output, state, config and context JSON schemas."""
    assistant = await service.resolve_assistant(await current_principal(), assistant_id)
    return _json(await asyncio.to_thread(service.schemas_of, assistant))


@blueprint.get("/assistants/<assistant_id>/subgraphs")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def assistant_subgraphs(assistant_id: str) -> Response:
    """The graph's subgraphs by namespace."""
    assistant = await service.resolve_assistant(await current_principal(), assistant_id)
    return _json(await asyncio.to_thread(service.subgraphs_of, assistant, None))


@blueprint.get("/assistants/<assistant_id>/subgraphs/<namespace>")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def assistant_subgraphs_under(assistant_id: str, namespace: str) -> Response:
    """The subgraphs under one namespace."""
    assistant = await service.resolve_assistant(await current_principal(), assistant_id)
    return _json(await asyncio.to_thread(service.subgraphs_of, assistant, namespace))


# --- threads ------------------------------------------------------------------------------------


@blueprint.post("/threads")
@require_scope(WRITE)
@validate_request(WorkersLangGraphThreadCreate)
async def create_thread(data: WorkersLangGraphThreadCreate) -> Response:
    """Create a thread (``if_exists``: raise 409 or do_nothing)."""
    row = await service.create_thread(await current_principal(), _body(data))
    return _json(service.serialize_thread(row))


@blueprint.post("/threads/search")
@require_scope(READ)
@validate_request(WorkersLangGraphSearch)
async def search_threads(data: WorkersLangGraphSearch) -> Response:
    """Your organization's threads, filtered by metadata, values, status or ids."""
    return _json(await service.search_threads(await current_principal(), data.model_dump()))


@blueprint.post("/threads/count")
@require_scope(READ)
@validate_request(WorkersLangGraphSearch)
async def count_threads(data: WorkersLangGraphSearch) -> Response:
    """How many threads match."""
    return _json(await service.count_threads(await current_principal(), data.model_dump()))


@blueprint.post("/threads/prune")
@require_scope(WRITE)
@validate_request(WorkersLangGraphThreadPrune)
async def prune_threads(data: WorkersLangGraphThreadPrune) -> Response:
    """Delete threads, or keep only their latest checkpoint (``strategy=keep_latest``)."""
    count = await service.prune_threads(current_platform(), await current_principal(), data.thread_ids, data.strategy)
    return _json({"pruned_count": count})


@blueprint.get("/threads/<thread_id>")
@document_response(WorkersLangGraphThread)
@require_scope(READ)
async def get_thread(thread_id: str) -> Response:
    """A thread with its status and latest values (``?include=ttl`` adds its TTL)."""
    include = {name.strip() for name in request.args.get("include", "").split(",")}
    row = await service.get_thread(await current_principal(), thread_id)
    return _json(service.serialize_thread(row, include_ttl="ttl" in include))


@blueprint.patch("/threads/<thread_id>")
@require_scope(WRITE)
@validate_request(WorkersLangGraphThreadUpdate)
async def update_thread(thread_id: str, data: WorkersLangGraphThreadUpdate) -> Response:
    """Merge metadata into the thread's."""
    row = await service.update_thread(await current_principal(), thread_id, _body(data))
    return _json(service.serialize_thread(row))


@blueprint.delete("/threads/<thread_id>")
@require_scope(WRITE)
async def delete_thread(thread_id: str) -> Response:
    """Delete the thread, its runs and its checkpoints."""
    await service.delete_thread(current_platform(), await current_principal(), thread_id)
    return Response("", status=204)


@blueprint.post("/threads/<thread_id>/copy")
@require_scope(WRITE)
async def copy_thread(thread_id: str) -> Response:
    """A new thread with the same checkpoints."""
    row = await service.copy_thread(current_platform(), await current_principal(), thread_id)
    return _json(service.serialize_thread(row))


@blueprint.get("/threads/<thread_id>/state")
@document_response(WorkersLangGraphState)
@require_scope(READ)
async def thread_state(thread_id: str) -> Response:
    """The thread's latest state."""
    return _json(await service.thread_state(current_platform(), await current_principal(), thread_id))


@blueprint.get("/threads/<thread_id>/state/<checkpoint_id>")
@document_response(WorkersLangGraphState)
@require_scope(READ)
async def thread_state_at_checkpoint(thread_id: str, checkpoint_id: str) -> Response:
    """The thread's state at a checkpoint."""
    checkpoint = {"checkpoint_id": checkpoint_id}
    return _json(await service.thread_state(current_platform(), await current_principal(), thread_id, checkpoint))


@blueprint.post("/threads/<thread_id>/state/checkpoint")
@require_scope(READ)
async def thread_state_at(thread_id: str) -> Response:
    """The thread's state at a checkpoint given in the body."""
    body = await _raw_body()
    checkpoint = {k: v for k, v in (body.get("checkpoint") or {}).items() if k != "thread_id"}
    return _json(await service.thread_state(current_platform(), await current_principal(), thread_id, checkpoint))


@blueprint.post("/threads/<thread_id>/state")
@require_scope(WRITE)
@validate_request(WorkersLangGraphStateUpdate)
async def update_state(thread_id: str, data: WorkersLangGraphStateUpdate) -> Response:
    """Write values into the thread's state as if ``as_node`` had returned them."""
    return _json(await service.update_state(current_platform(), await current_principal(), thread_id, _body(data)))


@blueprint.post("/threads/<thread_id>/history")
@require_scope(READ)
@validate_request(WorkersLangGraphHistory)
async def thread_history(thread_id: str, data: WorkersLangGraphHistory) -> Response:
    """The thread's past states, newest first (``before``, ``limit``, metadata filter)."""
    return _json(
        await service.thread_history(current_platform(), await current_principal(), thread_id, data.model_dump())
    )


# --- runs ---------------------------------------------------------------------------------------


@blueprint.post("/threads/<thread_id>/runs")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def create_run(thread_id: str, data: WorkersLangGraphRunCreate) -> Response:
    """Start a background run on the thread."""
    job, _ = await service.create_run(current_platform(), await current_principal(), thread_id, _body(data))
    return _run_response(job)


@blueprint.post("/runs")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def create_stateless_run(data: WorkersLangGraphRunCreate) -> Response:
    """Start a background run on a new thread of its own."""
    job, _ = await service.create_run(current_platform(), await current_principal(), None, _body(data))
    return _run_response(job)


@blueprint.post("/runs/batch")
@require_scope(WRITE)
async def create_batch() -> Response:
    """Start several stateless background runs."""
    body = await request.get_json(silent=True)
    if not isinstance(body, list):
        raise ProblemError(422, "the body is a list of run payloads")
    principal = await current_principal()
    runs = []
    for item in body:
        payload = WorkersLangGraphRunCreate.model_validate(item)
        job, _ = await service.create_run(current_platform(), principal, None, _body(payload))
        runs.append(service.serialize_run(job))
    return _json(runs)


def _run_path(job: Job) -> str:
    """The run's URL path under this API's prefix (the SDK reconnects to it)."""
    prefix = request.path.split("/threads/", 1)[0].split("/runs", 1)[0]
    stateless = (job.options or {}).get("on_completion") == "delete"
    if stateless:
        return f"{prefix}/runs/{job.id}"
    return f"{prefix}/threads/{job.thread_id}/runs/{job.id}"


def _run_response(job: Job) -> Response:
    response = _json(service.serialize_run(job))
    response.headers["Content-Location"] = _run_path(job)
    return response


@blueprint.post("/threads/<thread_id>/runs/stream")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def stream_run(thread_id: str, data: WorkersLangGraphRunCreate) -> Response:
    """Start a run and stream its events (SSE)."""
    job, _ = await service.create_run(current_platform(), await current_principal(), thread_id, _body(data))
    return await _sse(job, None)


@blueprint.post("/runs/stream")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def stream_stateless_run(data: WorkersLangGraphRunCreate) -> Response:
    """Start a stateless run and stream its events (SSE)."""
    job, _ = await service.create_run(current_platform(), await current_principal(), None, _body(data))
    return await _sse(job, None)


@blueprint.post("/threads/<thread_id>/runs/wait")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def wait_run(thread_id: str, data: WorkersLangGraphRunCreate) -> Response:
    """Start a run and answer with the thread's final values."""
    job, _ = await service.create_run(current_platform(), await current_principal(), thread_id, _body(data))
    return _json(await _wait(job))


@blueprint.post("/runs/wait")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunCreate)
async def wait_stateless_run(data: WorkersLangGraphRunCreate) -> Response:
    """Start a stateless run and answer with its final values."""
    job, _ = await service.create_run(current_platform(), await current_principal(), None, _body(data))
    return _json(await _wait(job))


@blueprint.get("/threads/<thread_id>/runs")
@document_response(WorkersLangGraphRuns)
@require_scope(READ)
async def list_runs(thread_id: str) -> Response:
    """The thread's runs, newest first (``?limit=&offset=&status=``)."""
    limit = min(1000, max(1, int(request.args.get("limit", 10))))
    offset = max(0, int(request.args.get("offset", 0)))
    rows = await service.list_runs(await current_principal(), thread_id, limit, offset, request.args.get("status"))
    return _json([service.serialize_run(row) for row in rows])


@blueprint.get("/threads/<thread_id>/runs/<run_id>")
@document_response(WorkersLangGraphRun)
@require_scope(READ)
async def get_run(thread_id: str, run_id: str) -> Response:
    """A run with its status."""
    return _json(service.serialize_run(await service.get_run(await current_principal(), thread_id, run_id)))


@blueprint.delete("/threads/<thread_id>/runs/<run_id>")
@require_scope(WRITE)
async def delete_run(thread_id: str, run_id: str) -> Response:
    """Delete a finished run (a pending or running one is 409: cancel it first)."""
    await service.delete_run(await current_principal(), thread_id, run_id)
    return Response("", status=204)


@blueprint.post("/threads/<thread_id>/runs/<run_id>/cancel")
@require_scope(WRITE)
async def cancel_run(thread_id: str, run_id: str) -> Response:
    """Stop a run (``action=interrupt`` ends it interrupted, ``rollback`` deletes it; ``wait=1``
    answers when it has stopped)."""
    action = request.args.get("action", "interrupt")
    job = await service.cancel_run(current_platform(), await current_principal(), thread_id, run_id, action)
    if request.args.get("wait", "0").lower() in ("1", "true"):
        await _until_done(job)
        return _json(None)
    return Response("", status=202)


@blueprint.post("/runs/cancel")
@require_scope(WRITE)
@validate_request(WorkersLangGraphRunsCancel)
async def cancel_runs(data: WorkersLangGraphRunsCancel) -> Response:
    """Stop several runs: ``run_ids`` of ``thread_id``, or every pending/running one
    (``status``), ``?action=interrupt|rollback``."""
    action = request.args.get("action", "interrupt")
    if action not in ("interrupt", "rollback"):
        raise ProblemError(422, "action is interrupt or rollback")
    await service.cancel_runs(current_platform(), await current_principal(), _body(data), action)
    return Response("", status=204)


@blueprint.get("/threads/<thread_id>/runs/<run_id>/join")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def join_run(thread_id: str, run_id: str) -> Response:
    """Wait for the run to end; answer with the thread's values."""
    job = await service.get_run(await current_principal(), thread_id, run_id)
    return _json(await _wait(job))


@blueprint.get("/threads/<thread_id>/runs/<run_id>/stream")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def join_stream(thread_id: str, run_id: str) -> Response:
    """Stream a run's events (SSE), resumable with ``Last-Event-ID``."""
    job = await service.get_run(await current_principal(), thread_id, run_id)
    header = request.headers.get("Last-Event-ID", "").strip()
    try:
        after = int(header) if header and header != "-1" else None
    except ValueError:
        raise ProblemError(400, "Last-Event-ID must be an event id") from None
    return await _sse(job, after, replay=after is not None or header == "-1")


# --- streaming ----------------------------------------------------------------------------------


async def _sse(job: Job, after: int | None, replay: bool = True) -> Response:
    principal = await current_principal()
    response = Response(_events(current_platform(), principal, job, after, replay), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.headers["Location"] = f"{_run_path(job)}/stream"
    response.headers["Content-Location"] = _run_path(job)
    response.timeout = None
    return response


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=_default)}\n\n".encode()


async def _events(
    platform: Platform, principal: Principal, job: Job, after: int | None, replay: bool
) -> AsyncIterator[bytes]:
    """The run's stream: ``metadata`` first, then every recorded stream chunk, then ``error`` if
    it failed; it closes when the run ends, or when its caller's credential stops being valid
    (checked at every heartbeat). Subscribed before the catch-up read, so nothing is
    missed; every chunk has an id to resume from with ``Last-Event-ID``."""
    settings = platform.plugin_settings("workers", WorkersSettings)
    if after is None:
        yield _frame("metadata", {"run_id": str(job.id), "attempt": max(1, job.attempts)})
    async with hub_of(platform).subscribe(job.id) as queue:
        seen = after or 0
        while True:
            stored = await JobEvent.filter(job_id=job.id, id__gt=seen, type__in=["stream", "status"]).order_by("id")
            for event in stored:
                seen = event.id
                frame, done = _translate(event.type, event.data, event.id)
                if frame:
                    yield frame
                if done:
                    return
            if not await Job.filter(id=job.id).exists():
                return
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=settings.keepalive_seconds)
                except TimeoutError:
                    if not await still_valid(principal):
                        return
                    yield b": heartbeat\n\n"
                    break
                if item["id"] <= seen or item["type"] not in ("stream", "status"):
                    continue
                seen = item["id"]
                frame, done = _translate(item["type"], item["data"], item["id"])
                if frame:
                    yield frame
                if done:
                    return


def _translate(type_: str, data: dict[str, Any], event_id: int) -> tuple[bytes | None, bool]:
    if type_ == "stream":
        return _frame(data["event"], data.get("data"), event_id), False
    status = data.get("status")
    if status in ("failed", "timed_out"):
        error = data.get("error") or {}
        return _frame(
            "error", {"error": error.get("type", "Error"), "message": error.get("message", "")}, event_id
        ), True
    return None, status in TERMINAL


async def _until_done(job: Job) -> Job | None:
    """Wait on the run's published events until it ends (or is deleted)."""
    platform = current_platform()
    settings = platform.plugin_settings("workers", WorkersSettings)
    async with hub_of(platform).subscribe(job.id) as queue:
        while True:
            row = await Job.get_or_none(id=job.id)
            if row is None or row.status in TERMINAL:
                return row
            try:
                await asyncio.wait_for(queue.get(), timeout=settings.keepalive_seconds)
            except TimeoutError:
                continue


async def _wait(job: Job) -> Any:
    """The values a LangGraph server answers ``wait``/``join`` with: the thread's final state,
    with ``__interrupt__`` when it waits for a person and ``__error__`` when it failed."""
    row = await _until_done(job)
    if row is None:
        return None
    if row.status in ("failed", "timed_out"):
        error = row.error or {}
        return {"__error__": {"error": error.get("type", "Error"), "message": error.get("message", "")}}
    thread = await Thread.get_or_none(id=row.thread_id) if row.thread_id else None
    values = thread.values if thread is not None and thread.values is not None else row.output
    if row.status == "interrupted":
        values = dict(values or {})
        pending = [item for items in ((thread.interrupts if thread else None) or {}).values() for item in items]
        values["__interrupt__"] = pending or [{"value": value, "id": None} for value in row.interrupt or []]
    return values


# --- store --------------------------------------------------------------------------------------


@blueprint.put("/store/items")
@require_scope(WRITE)
@validate_request(WorkersLangGraphStorePut)
async def put_item(data: WorkersLangGraphStorePut) -> Response:
    """Store or replace an item in your organization's namespace."""
    await service.put_item(await current_principal(), _body(data))
    return Response("", status=204)


@blueprint.get("/store/items")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def get_item() -> Response:
    """An item by ``?namespace=a.b&key=`` (``refresh_ttl`` renews its TTL); a missing, expired
    or deleted item reads as null."""
    namespace = [label for label in request.args.get("namespace", "").split(".") if label]
    refresh = request.args.get("refresh_ttl")
    renew = None if refresh is None else refresh.lower() in ("1", "true")
    try:
        item = await service.get_item(await current_principal(), namespace, request.args.get("key", ""), renew)
        return _json(item)
    except ProblemError as exc:
        if exc.status == 404:
            return _json(None)
        raise


@blueprint.delete("/store/items")
@require_scope(WRITE)
@validate_request(WorkersLangGraphStoreDelete)
async def delete_item(data: WorkersLangGraphStoreDelete) -> Response:
    """Delete an item."""
    await service.delete_item(await current_principal(), data.namespace, data.key)
    return Response("", status=204)


@blueprint.post("/store/items/search")
@require_scope(READ)
@validate_request(WorkersLangGraphStoreSearch)
async def search_items(data: WorkersLangGraphStoreSearch) -> Response:
    """Items under a namespace prefix, filtered by value fields, ranked by similarity to
    ``query`` when the store has an embedding model."""
    return _json({"items": await service.search_items(await current_principal(), _body(data))})


@blueprint.post("/store/namespaces")
@require_scope(READ)
async def list_namespaces() -> Response:
    """Your organization's namespaces (prefix, suffix, max_depth)."""
    return _json({"namespaces": await service.list_namespaces(await current_principal(), await _raw_body())})


# --- crons --------------------------------------------------------------------------------------


@blueprint.post("/runs/crons")
@require_scope(WRITE)
@validate_request(WorkersLangGraphCronCreate)
async def create_cron(data: WorkersLangGraphCronCreate) -> Response:
    """A schedule of stateless runs."""
    return _json(crons.serialize_cron(await crons.create_cron(await current_principal(), None, _body(data))))


@blueprint.post("/threads/<thread_id>/runs/crons")
@require_scope(WRITE)
@validate_request(WorkersLangGraphCronCreate)
async def create_thread_cron(thread_id: str, data: WorkersLangGraphCronCreate) -> Response:
    """A schedule of runs on a thread."""
    return _json(crons.serialize_cron(await crons.create_cron(await current_principal(), thread_id, _body(data))))


@blueprint.post("/runs/crons/search")
@require_scope(READ)
async def search_crons() -> Response:
    """Your organization's crons."""
    rows = await crons.search_crons(await current_principal(), await _raw_body())
    return _json([crons.serialize_cron(row) for row in rows])


@blueprint.post("/runs/crons/count")
@require_scope(READ)
async def count_crons() -> Response:
    """How many crons match."""
    return _json(await crons.count_crons(await current_principal(), await _raw_body()))


@blueprint.get("/runs/crons/<cron_id>")
@document_response(WorkersLangGraphObject)
@require_scope(READ)
async def get_cron(cron_id: str) -> Response:
    """A cron."""
    return _json(crons.serialize_cron(await crons.get_cron(await current_principal(), cron_id)))


@blueprint.patch("/runs/crons/<cron_id>")
@require_scope(WRITE)
@validate_request(WorkersLangGraphCronUpdate)
async def update_cron(cron_id: str, data: WorkersLangGraphCronUpdate) -> Response:
    """Change a cron's schedule, time zone, end, enabled flag, metadata or run payload."""
    return _json(crons.serialize_cron(await crons.update_cron(await current_principal(), cron_id, _body(data))))


@blueprint.delete("/runs/crons/<cron_id>")
@require_scope(WRITE)
async def delete_cron(cron_id: str) -> Response:
    """Delete a cron."""
    await crons.delete_cron(await current_principal(), cron_id)
    return Response("", status=204)
