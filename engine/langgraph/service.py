"""The LangGraph Server API's logic (no HTTP in it): assistants, threads, runs, store.

Everything is one run model with the jobs API: a LangGraph run is a ``workers_job`` row with
``api="langgraph"``, its thread a ``workers_thread`` row whose state lives in the checkpointer.
Every query is scoped to the caller's organization: another organization's object is a 404 and
absent from search and count. Graph ids are the installed workflows; each has a system
assistant whose id is derived from the graph id, and the graph id is accepted wherever an
assistant id is.
"""

from __future__ import annotations

import uuid
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, forbidden, not_found
from vetrai.core.tenancy import get_scoped, scoped
from vetrai.engine import checkpoints
from vetrai.engine.clock import jsonable, utcnow
from vetrai.engine.dispatch import publish_cancel
from vetrai.engine.finishing import finish
from vetrai.engine.langgraph import semantic
from vetrai.engine.models import FINISHED, Assistant, AssistantVersion, Job, StoreItem, Thread
from vetrai.engine.project import default_thread_ttl
from vetrai.engine.runtime import runtime_of
from vetrai.engine.service import admit, enqueue_run
from vetrai.engine.spec import WorkflowSpec, get_workflow, workflows
from vetrai.engine.storage import forget_storage
from vetrai.engine.streams import add_event

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

SYSTEM_NAMESPACE = uuid.UUID("5f2d6c1e-8f7b-4e43-9a55-76657472616a")
STATUS = {
    "queued": "pending",
    "running": "running",
    "succeeded": "success",
    "failed": "error",
    "timed_out": "timeout",
    "interrupted": "interrupted",
    "cancelled": "interrupted",
}
ACTIVE = ("queued", "running")


def system_assistant_id(graph_id: str) -> uuid.UUID:
    return uuid.uuid5(SYSTEM_NAMESPACE, graph_id)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- assistants ---------------------------------------------------------------------------------


def _system(spec: WorkflowSpec) -> dict[str, Any]:
    return {
        "assistant_id": str(system_assistant_id(spec.name)),
        "graph_id": spec.name,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "name": spec.name,
        "description": spec.description,
        "created_at": None,
        "updated_at": None,
    }


def serialize_assistant(row: Assistant | AssistantVersion) -> dict[str, Any]:
    assistant_id = row.assistant_id if isinstance(row, AssistantVersion) else row.id  # type: ignore[attr-defined]
    return {
        "assistant_id": str(assistant_id),
        "graph_id": row.graph_id,
        "config": row.config or {},
        "context": row.context or {},
        "metadata": row.metadata or {},
        "version": row.version,
        "name": row.name,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": getattr(row, "updated_at", row.created_at),
    }


async def resolve_assistant(principal: Principal, assistant_id: str) -> dict[str, Any]:
    """An assistant by id (an organization's, a system one) or by graph id; else 404."""
    spec = get_workflow(assistant_id)
    if spec is not None:
        return _system(spec)
    key = _uuid(assistant_id)
    if key is not None:
        for spec in workflows().values():
            if system_assistant_id(spec.name) == key:
                return _system(spec)
        row = await scoped(Assistant, principal).get_or_none(id=key)
        if row is not None:
            return serialize_assistant(row)
    raise not_found("assistant")


def _graph(graph_id: str) -> WorkflowSpec:
    spec = get_workflow(graph_id)
    if spec is None:
        raise ProblemError(422, f"no installed graph is named {graph_id!r}")
    return spec


async def create_assistant(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    if principal.organization_id is None:
        raise forbidden("assistants belong to an organization")
    _graph(body["graph_id"])
    assistant_id = _uuid(body.get("assistant_id")) if body.get("assistant_id") else None
    if assistant_id is not None:
        existing = await Assistant.get_or_none(id=assistant_id)
        if existing is not None:
            if body.get("if_exists") == "do_nothing" and existing.organization_id == principal.organization_id:  # type: ignore[attr-defined]
                return serialize_assistant(existing)
            raise conflict("an assistant with this id exists")
    values = {
        "graph_id": body["graph_id"],
        "name": body.get("name") or "Untitled",
        "description": body.get("description"),
        "config": body.get("config") or {},
        "context": body.get("context") or {},
        "metadata": body.get("metadata") or {},
    }
    row = await Assistant.create(
        id=assistant_id or uuid.uuid4(),
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        version=1,
        **values,
    )
    await AssistantVersion.create(assistant_id=row.id, version=1, **values)
    return serialize_assistant(row)


async def _own_assistant(principal: Principal, assistant_id: str) -> Assistant:
    key = _uuid(assistant_id)
    if key is not None and any(system_assistant_id(name) == key for name in workflows()):
        raise forbidden("system assistants are read-only")
    return await get_scoped(Assistant, principal, assistant_id)


async def update_assistant(principal: Principal, assistant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A new version with the changed fields; it becomes the latest."""
    row = await _own_assistant(principal, assistant_id)
    if body.get("graph_id"):
        _graph(body["graph_id"])
    last = await AssistantVersion.filter(assistant_id=row.id).order_by("-version").first()
    version = (last.version if last else row.version) + 1
    for name in ("graph_id", "name", "description", "config", "context"):
        if body.get(name) is not None:
            setattr(row, name, body[name])
    if body.get("metadata") is not None:
        row.metadata = {**(row.metadata or {}), **body["metadata"]}
    row.version = version
    await row.save()
    await AssistantVersion.create(
        assistant_id=row.id,
        version=version,
        graph_id=row.graph_id,
        name=row.name,
        description=row.description,
        config=row.config,
        context=row.context,
        metadata=row.metadata,
    )
    return serialize_assistant(row)


async def delete_assistant(principal: Principal, assistant_id: str) -> None:
    row = await _own_assistant(principal, assistant_id)
    await row.delete()


async def set_latest(principal: Principal, assistant_id: str, version: int) -> dict[str, Any]:
    row = await _own_assistant(principal, assistant_id)
    saved = await AssistantVersion.get_or_none(assistant_id=row.id, version=version)
    if saved is None:
        raise not_found("assistant version")
    for name in ("graph_id", "name", "description", "config", "context", "metadata"):
        setattr(row, name, getattr(saved, name))
    row.version = version
    await row.save()
    return serialize_assistant(row)


async def assistant_versions(principal: Principal, assistant_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    row = await _own_assistant(principal, assistant_id)
    query = AssistantVersion.filter(assistant_id=row.id).order_by("-version")
    rows = await query.offset(int(body.get("offset") or 0)).limit(int(body.get("limit") or 10))
    metadata = body.get("metadata") or {}
    return [
        serialize_assistant(item)
        for item in rows
        if all((item.metadata or {}).get(key) == value for key, value in metadata.items())
    ]


async def search_assistants(principal: Principal, body: dict[str, Any]) -> list[dict[str, Any]]:
    graph_id, name, metadata = body.get("graph_id"), body.get("name"), body.get("metadata") or {}
    found = [
        _system(spec)
        for spec in workflows().values()
        if (not graph_id or spec.name == graph_id) and (not name or name.lower() in spec.name.lower())
    ]
    query = scoped(Assistant, principal)
    if graph_id:
        query = query.filter(graph_id=graph_id)
    if name:
        query = query.filter(name__icontains=name)
    found += [serialize_assistant(row) for row in await query.order_by("-created_at")]
    found = [item for item in found if all(item["metadata"].get(k) == v for k, v in metadata.items())]
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
    return found[offset : offset + limit]


async def count_assistants(principal: Principal, body: dict[str, Any]) -> int:
    return len(await search_assistants(principal, {**body, "offset": 0, "limit": 1_000_000}))


def graph_of(assistant: dict[str, Any], xray: bool = False) -> dict[str, Any]:
    spec = _graph(assistant["graph_id"])
    drawable = spec.build().compile().get_graph(xray=xray)
    graph: dict[str, Any] = drawable.to_json()
    return graph


def schemas_of(assistant: dict[str, Any]) -> dict[str, Any]:
    spec = _graph(assistant["graph_id"])
    graph = spec.build().compile()
    result: dict[str, Any] = {"graph_id": spec.name}
    result["input_schema"] = _safe(graph.get_input_jsonschema)
    result["output_schema"] = _safe(graph.get_output_jsonschema)
    result["state_schema"] = result["output_schema"]
    result["context_schema"] = _safe(graph.get_context_jsonschema)
    with warnings.catch_warnings():  # the config schema is deprecated in favour of context
        warnings.simplefilter("ignore")
        result["config_schema"] = _safe(graph.get_config_jsonschema)
    return result


def subgraphs_of(assistant: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    spec = _graph(assistant["graph_id"])
    graph = spec.build().compile()
    found: dict[str, Any] = {}
    for name, subgraph in graph.get_subgraphs(namespace=namespace, recurse=True):
        found[name] = {"graph_id": spec.name, "input_schema": _safe(subgraph.get_input_jsonschema)}
    return found


def _safe(method: Any) -> Any:
    try:
        return method()
    except Exception:
        return None


# --- threads ------------------------------------------------------------------------------------


def serialize_thread(row: Thread, include_ttl: bool = False) -> dict[str, Any]:
    """The SDK's Thread; ``include_ttl`` (``?include=ttl``) adds its TTL and expiry."""
    found = {
        "thread_id": str(row.id),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "metadata": row.metadata or {},
        "state_updated_at": row.updated_at,
        "status": row.status,
        "config": {},
        "values": row.values,
        "error": None,
        "interrupts": row.interrupts or {},
    }
    if include_ttl:
        found["ttl"] = {**row.ttl, "expires_at": row.expires_at} if row.ttl else None
    return found


def _ttl_fields(ttl: dict[str, Any] | None) -> dict[str, Any]:
    """A thread's TTL and the expiry it gives from now (LangGraph counts from the last update)."""
    if not ttl:
        return {"ttl": None, "expires_at": None}
    minutes = float(ttl["ttl"])
    return {
        "ttl": {"strategy": ttl.get("strategy") or "delete", "ttl": minutes},
        "expires_at": utcnow() + timedelta(minutes=minutes),
    }


async def create_thread(principal: Principal, body: dict[str, Any]) -> Thread:
    if principal.organization_id is None:
        raise forbidden("threads belong to an organization")
    thread_id = _uuid(body["thread_id"]) if body.get("thread_id") else None
    if body.get("thread_id") and thread_id is None:
        raise ProblemError(422, "thread_id must be a UUID")
    if thread_id is not None:
        existing = await Thread.get_or_none(id=thread_id)
        if existing is not None:
            if body.get("if_exists") == "do_nothing" and existing.organization_id == principal.organization_id:  # type: ignore[attr-defined]
                return existing
            raise conflict("a thread with this id exists")
    try:
        return await Thread.create(
            id=thread_id or uuid.uuid4(),
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            metadata=body.get("metadata") or {},
            **_ttl_fields(body.get("ttl") or default_thread_ttl()),
        )
    except IntegrityError:
        raise conflict("a thread with this id exists") from None


async def get_thread(principal: Principal, thread_id: str) -> Thread:
    return await get_scoped(Thread, principal, thread_id)


async def update_thread(principal: Principal, thread_id: str, body: dict[str, Any]) -> Thread:
    row = await get_thread(principal, thread_id)
    if body.get("metadata") is not None:
        row.metadata = {**(row.metadata or {}), **body["metadata"]}
    if body.get("ttl") is not None or row.ttl:
        for name, value in _ttl_fields(body.get("ttl") or row.ttl).items():
            setattr(row, name, value)
    await row.save()
    return row


async def delete_thread(platform: Platform, principal: Principal, thread_id: str) -> None:
    """The thread, its runs (running ones are stopped) and its checkpoints."""
    await _drop_thread(platform, await get_thread(principal, thread_id))


async def _drop_thread(platform: Platform, row: Thread) -> None:
    for running in await Job.filter(thread_id=row.id, status="running").only("id"):
        await publish_cancel(platform, running.id, "rollback")
    await Job.filter(thread_id=row.id).delete()
    await row.delete()
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    await runtime.checkpointer.adelete_thread(str(row.id))
    forget_storage(platform, row.organization_id)  # type: ignore[attr-defined]


def _thread_keys(thread_ids: list[str]) -> list[uuid.UUID]:
    keys = [_uuid(value) for value in thread_ids]
    if any(key is None for key in keys):
        raise ProblemError(422, "thread_ids must be UUIDs")
    return [key for key in keys if key is not None]


async def _keep_latest(platform: Platform, row: Thread) -> None:
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    await checkpoints.prune_thread(runtime.checkpointer, str(row.id))


async def prune_threads(platform: Platform, principal: Principal, thread_ids: list[str], strategy: str) -> int:
    """LangGraph's prune: ``delete`` removes the threads (runs, checkpoints), ``keep_latest``
    keeps each thread with only its latest checkpoint. Ids that are not the caller's
    organization's threads are skipped, as missing ones are: the count says how many went."""
    keys = _thread_keys(thread_ids)
    if not keys:
        return 0
    rows = await Thread.filter(organization_id=principal.organization_id, id__in=keys)
    for row in rows:
        if strategy == "keep_latest":
            await _keep_latest(platform, row)
        else:
            await _drop_thread(platform, row)
    return len(rows)


async def sweep_expired(platform: Platform, batch: int = 100) -> int:
    """Threads whose TTL has run out since their last update, by their strategy: ``delete``
    removes them (runs, checkpoints), ``keep_latest`` prunes their checkpoints to the latest
    and stops the clock until the next update. A thread with a pending or running run waits
    for a later sweep. Expired store items are deleted too. Called by the reaper (every
    ``VETRAI_WORKERS_REAPER_SECONDS``), for every organization; both columns are indexed."""
    now = utcnow()
    items = await StoreItem.filter(expires_at__lte=now).limit(batch).values_list("id", flat=True)
    if items:
        await StoreItem.filter(id__in=list(items), expires_at__lte=now).delete()
    swept = len(items)
    for row in await Thread.filter(expires_at__lte=now).order_by("expires_at").limit(batch):
        if await Job.filter(thread_id=row.id, status__in=ACTIVE).exists():
            continue
        if (row.ttl or {}).get("strategy") == "keep_latest":
            await _keep_latest(platform, row)
            await Thread.filter(id=row.id).update(expires_at=None)
        else:
            await _drop_thread(platform, row)
        swept += 1
    return swept


def visible_threads(principal: Principal, body: dict[str, Any]) -> QuerySet[Thread]:
    query = scoped(Thread, principal)
    if body.get("status"):
        query = query.filter(status=body["status"])
    if body.get("ids"):
        query = query.filter(id__in=[key for key in map(_uuid, body["ids"]) if key])
    return query


def _matches(row: Thread, body: dict[str, Any]) -> bool:
    metadata, values = body.get("metadata") or {}, body.get("values") or {}
    return all((row.metadata or {}).get(k) == v for k, v in metadata.items()) and all(
        (row.values or {}).get(k) == v for k, v in values.items()
    )


async def search_threads(principal: Principal, body: dict[str, Any]) -> list[dict[str, Any]]:
    order = "-created_at" if body.get("sort_order", "desc") == "desc" else "created_at"
    if body.get("sort_by") == "updated_at":
        order = order.replace("created_at", "updated_at")
    rows = [row for row in await visible_threads(principal, body).order_by(order) if _matches(row, body)]
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
    return [serialize_thread(row) for row in rows[offset : offset + limit]]


async def count_threads(principal: Principal, body: dict[str, Any]) -> int:
    return len([row for row in await visible_threads(principal, body) if _matches(row, body)])


async def copy_thread(platform: Platform, principal: Principal, thread_id: str) -> Thread:
    row = await get_thread(principal, thread_id)
    copy = await Thread.create(
        organization_id=row.organization_id,  # type: ignore[attr-defined]
        user_id=principal.user_id,
        graph_id=row.graph_id,
        metadata=row.metadata,
        values=row.values,
        status="idle" if row.status == "busy" else row.status,
    )
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    source = {"configurable": {"thread_id": str(row.id), "checkpoint_ns": ""}}
    async for item in _checkpoints_oldest_first(runtime.checkpointer, source):
        config = {"configurable": {"thread_id": str(copy.id), "checkpoint_ns": ""}}
        if item.parent_config:
            config["configurable"]["checkpoint_id"] = item.parent_config["configurable"]["checkpoint_id"]
        saved = await runtime.checkpointer.aput(
            config, item.checkpoint, item.metadata, item.checkpoint.get("channel_versions", {})
        )
        if item.pending_writes:
            by_task: dict[str, list[tuple[str, Any]]] = {}
            for task_id, channel, value in item.pending_writes:
                by_task.setdefault(task_id, []).append((channel, value))
            for task_id, writes in by_task.items():
                await runtime.checkpointer.aput_writes(saved, writes, task_id)
    return copy


async def _checkpoints_oldest_first(saver: Any, config: dict[str, Any]) -> Any:
    items = [item async for item in saver.alist(config)]
    for item in reversed(items):
        yield item


async def _graph_of_thread(platform: Platform, row: Thread) -> Any | None:
    if not row.graph_id:
        return None
    spec = get_workflow(row.graph_id)
    if spec is None:
        return None
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    return runtime.graph_for(spec)


def _interrupts(items: Any) -> list[dict[str, Any]]:
    return [
        {"value": jsonable(getattr(item, "value", item)), "id": getattr(item, "id", None), "response_schema": None}
        for item in items or ()
    ]


def serialize_snapshot(snapshot: Any) -> dict[str, Any]:
    def checkpoint(config: Any) -> dict[str, Any] | None:
        if not config:
            return None
        configurable = config.get("configurable", {})
        return {
            "thread_id": configurable.get("thread_id"),
            "checkpoint_ns": configurable.get("checkpoint_ns", ""),
            "checkpoint_id": configurable.get("checkpoint_id"),
        }

    current = checkpoint(snapshot.config)

    return {
        "values": jsonable(snapshot.values),
        "next": list(snapshot.next),
        "checkpoint": current,
        "checkpoint_id": current["checkpoint_id"] if current else None,
        "parent_checkpoint_id": (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
        "metadata": jsonable(snapshot.metadata),
        "created_at": snapshot.created_at,
        "parent_checkpoint": checkpoint(snapshot.parent_config),
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "error": str(task.error) if task.error else None,
                "interrupts": _interrupts(task.interrupts),
                "checkpoint": None,
                "state": None,
                "result": jsonable(task.result) if getattr(task, "result", None) is not None else None,
            }
            for task in snapshot.tasks
        ],
        "interrupts": _interrupts(getattr(snapshot, "interrupts", ())),
    }


def _empty_state() -> dict[str, Any]:
    return {
        "values": {},
        "next": [],
        "checkpoint": None,
        "metadata": None,
        "created_at": None,
        "parent_checkpoint": None,
        "tasks": [],
        "interrupts": [],
    }


async def thread_state(
    platform: Platform, principal: Principal, thread_id: str, checkpoint: dict[str, Any] | None = None
) -> dict[str, Any]:
    row = await get_thread(principal, thread_id)
    graph = await _graph_of_thread(platform, row)
    if graph is None:
        return _empty_state()
    configurable = {**(checkpoint or {}), "thread_id": str(row.id)}
    snapshot = await graph.aget_state({"configurable": configurable})
    return serialize_snapshot(snapshot)


async def update_state(
    platform: Platform, principal: Principal, thread_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    row = await get_thread(principal, thread_id)
    if await Job.filter(thread_id=row.id, status="running").exists():
        raise conflict("the thread is busy")
    graph = await _graph_of_thread(platform, row)
    if graph is None:
        raise conflict("the thread has no graph yet: run it once first")
    configurable = {**(body.get("checkpoint") or {}), "thread_id": str(row.id)}
    if body.get("checkpoint_id"):
        configurable["checkpoint_id"] = body["checkpoint_id"]
    config = await graph.aupdate_state({"configurable": configurable}, body.get("values"), as_node=body.get("as_node"))
    snapshot = await graph.aget_state({"configurable": {"thread_id": str(row.id)}})
    row.values = jsonable(snapshot.values)
    await row.save()
    return {"checkpoint": config["configurable"]}


async def thread_history(platform: Platform, principal: Principal, thread_id: str, body: dict[str, Any]) -> list[Any]:
    row = await get_thread(principal, thread_id)
    graph = await _graph_of_thread(platform, row)
    if graph is None:
        return []
    configurable = {**(body.get("checkpoint") or {}), "thread_id": str(row.id)}
    before = body.get("before")
    if isinstance(before, str):
        before = {"configurable": {"thread_id": str(row.id), "checkpoint_id": before}}
    elif isinstance(before, dict):
        before = {"configurable": {**before, "thread_id": str(row.id)}}
    items = []
    async for snapshot in graph.aget_state_history(
        {"configurable": configurable}, limit=int(body.get("limit") or 10), before=before, filter=body.get("metadata")
    ):
        items.append(serialize_snapshot(snapshot))
    return items


# --- runs ---------------------------------------------------------------------------------------


def serialize_run(job: Job) -> dict[str, Any]:
    return {
        "run_id": str(job.id),
        "thread_id": str(job.thread_id) if job.thread_id else None,
        "assistant_id": str(job.assistant_id) if job.assistant_id else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "status": STATUS.get(job.status, job.status),
        "metadata": job.metadata or {},
        "kwargs": {
            "input": job.input,
            **{
                k: v
                for k, v in (job.options or {}).items()
                if k not in ("has_input", "stream_subgraphs", "earlier_attempts")
            },
            "stream_mode": job.stream_mode,
            "subgraphs": bool((job.options or {}).get("stream_subgraphs")),
            "webhook": job.webhook_url,
        },
        "multitask_strategy": job.multitask_strategy or "enqueue",
        "usage": job.usage,
    }


async def create_run(
    platform: Platform, principal: Principal, thread_id: str | None, body: dict[str, Any]
) -> tuple[Job, Thread]:
    """Queue a run on a thread (or, stateless, on a new thread deleted afterwards)."""
    if principal.organization_id is None:
        raise forbidden("runs belong to an organization")
    try:
        assistant = await resolve_assistant(principal, str(body.get("assistant_id") or ""))
    except ProblemError as exc:
        if exc.status != 404:
            raise
        names = ", ".join(sorted(workflows()))
        raise ProblemError(
            422, f"Invalid assistant: {body.get('assistant_id')!r}: an assistant id or one of the graphs: {names}"
        ) from None
    spec = _graph(assistant["graph_id"])
    await admit(spec, principal.organization_id, body.get("input") or {})
    stateless = thread_id is None
    thread: Thread | None
    if stateless:
        thread = await Thread.create(organization_id=principal.organization_id, user_id=principal.user_id)
    else:
        key = _uuid(thread_id)
        thread = await scoped(Thread, principal).get_or_none(id=key) if key else None
        if thread is None:
            if body.get("if_not_exists") != "create" or key is None:
                raise not_found("thread")
            thread = await create_thread(principal, {"thread_id": str(key)})
    strategy = body.get("multitask_strategy") or "enqueue"
    busy = await Job.filter(thread_id=thread.id, status__in=ACTIVE).order_by("created_at")
    if busy and strategy == "reject":
        raise conflict("the thread is busy: a run is pending or running (multitask_strategy reject)")
    if busy and strategy in ("interrupt", "rollback"):
        for job in busy:
            await stop_run(platform, job, "interrupt" if strategy == "interrupt" else "rollback")
    config = {**(assistant["config"] or {}), **(body.get("config") or {})}
    config["configurable"] = {
        **((assistant["config"] or {}).get("configurable") or {}),
        **((body.get("config") or {}).get("configurable") or {}),
    }
    context = {**(assistant["context"] or {}), **(body.get("context") or {})}
    modes = body.get("stream_mode") or ["values"]
    modes = [modes] if isinstance(modes, str) else list(modes)
    options = {
        "config": config,
        "context": context or None,
        "command": body.get("command"),
        "checkpoint_id": body.get("checkpoint_id") or (body.get("checkpoint") or {}).get("checkpoint_id"),
        "interrupt_before": body.get("interrupt_before"),
        "interrupt_after": body.get("interrupt_after"),
        "stream_subgraphs": bool(body.get("stream_subgraphs")),
        "durability": body.get("durability"),
        "on_completion": body.get("on_completion") or ("delete" if stateless else "keep"),
        "has_input": body.get("input") is not None,
    }
    now = utcnow()
    after = float(body.get("after_seconds") or 0)
    assistant_key = _uuid(assistant["assistant_id"])
    job, _ = await enqueue_run(
        platform,
        principal,
        api="langgraph",
        thread_id=thread.id,
        assistant_id=assistant_key,
        assistant_version=assistant["version"],
        template_name=spec.name,
        workflow=spec.name,
        graph_version=spec.version,
        input=body.get("input") if body.get("input") is not None else {},
        options=jsonable(options),
        stream_mode=modes,
        multitask_strategy=strategy,
        metadata={
            **(thread.metadata or {}),
            **(assistant["metadata"] or {}),
            **(body.get("metadata") or {}),
            "graph_id": spec.name,
            "assistant_id": assistant["assistant_id"],
        },
        webhook_url=body.get("webhook"),
        max_attempts=spec.max_attempts,
        timeout_seconds=spec.timeout_seconds,
        retry_backoff_seconds=spec.retry_backoff_seconds,
        recursion_limit=int(config.get("recursion_limit") or spec.recursion_limit),
        run_after=now + timedelta(seconds=after) if after > 0 else None,
        idempotency_key=None,
    )
    thread.graph_id = spec.name
    thread.status = "busy"
    if thread.ttl:
        thread.expires_at = _ttl_fields(thread.ttl)["expires_at"]
    thread.metadata = {**(thread.metadata or {}), "graph_id": spec.name, "assistant_id": assistant["assistant_id"]}
    await thread.save()
    return job, thread


async def stop_run(platform: Platform, job: Job, reason: str) -> None:
    """Stop a pending or running run: ``interrupt`` ends it (status interrupted), ``rollback``
    also deletes it."""
    now = utcnow()

    def change() -> Any:
        return Job.filter(id=job.id, status="queued").update(
            status="cancelled", cancel_requested=True, finished_at=now, updated_at=now
        )

    if await finish(platform, job, "cancelled", change):
        if reason == "rollback":
            await Job.filter(id=job.id).delete()
    elif await Job.filter(id=job.id, status="running").update(cancel_requested=True, updated_at=now):
        await publish_cancel(platform, job.id, reason)
    elif reason == "rollback" and job.status == "interrupted":
        await Job.filter(id=job.id).delete()


async def get_run(principal: Principal, thread_id: str | None, run_id: str) -> Job:
    job = await get_scoped(Job, principal, run_id, api="langgraph")
    if thread_id is not None and str(job.thread_id) != str(_uuid(thread_id)):
        raise not_found("run")
    return job


async def list_runs(principal: Principal, thread_id: str, limit: int, offset: int, status: str | None) -> list[Job]:
    thread = await get_thread(principal, thread_id)
    query = scoped(Job, principal, thread_id=thread.id)
    if status:
        query = query.filter(status__in=[name for name, mapped in STATUS.items() if mapped == status])
    return await query.order_by("-created_at").offset(offset).limit(limit)


async def cancel_run(platform: Platform, principal: Principal, thread_id: str | None, run_id: str, action: str) -> Job:
    job = await get_run(principal, thread_id, run_id)
    if job.status in FINISHED:
        raise conflict(f"the run is already {STATUS[job.status]}")
    await stop_run(platform, job, "rollback" if action == "rollback" else "interrupt")
    return job


async def cancel_runs(platform: Platform, principal: Principal, body: dict[str, Any], action: str) -> int:
    """LangGraph's bulk cancel: the runs ``run_ids`` of ``thread_id``, or every run with
    ``status`` pending, running or all (pending and running) of the caller's organization, and
    never another's (a super admin included). No matching run, or none still pending or
    running, is a 404."""
    if body.get("status"):
        if body.get("thread_id") or body.get("run_ids"):
            raise ProblemError(422, "give either a status, or thread_id with run_ids, not both")
        statuses = {"pending": ["queued"], "running": ["running"]}.get(body["status"], list(ACTIVE))
        query = Job.filter(status__in=statuses)
    else:
        thread, runs = _uuid(body.get("thread_id")), [_uuid(value) for value in body.get("run_ids") or []]
        if thread is None or not runs or any(key is None for key in runs):
            raise ProblemError(422, "give a status, or a thread_id and run_ids (UUIDs)")
        query = Job.filter(thread_id=thread, id__in=runs)
    candidates = await query.filter(organization_id=principal.organization_id, api="langgraph")
    active = [job for job in candidates if job.status in ACTIVE]
    if not active:
        raise not_found("run")
    for job in active:
        await stop_run(platform, job, "rollback" if action == "rollback" else "interrupt")
    return len(active)


async def delete_run(principal: Principal, thread_id: str, run_id: str) -> None:
    job = await get_run(principal, thread_id, run_id)
    if job.status in ACTIVE:
        raise conflict("the run is still pending or running: cancel it first")
    await job.delete()


async def finish_stateless(platform: Platform, job: Job) -> None:
    """A stateless run's thread (on_completion=delete) goes once the run has ended."""
    await job.refresh_from_db()
    if (job.options or {}).get("on_completion") != "delete" or job.thread_id is None:
        return
    await Thread.filter(id=job.thread_id).delete()
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    await runtime.checkpointer.adelete_thread(str(job.thread_id))


async def record_event(platform: Platform, job: Job, type_: str, data: Any) -> None:
    await add_event(platform, job.id, type_, data)


# --- store --------------------------------------------------------------------------------------


def _namespace(labels: list[str]) -> str:
    if not labels or any(not isinstance(label, str) or not label or "." in label for label in labels):
        raise ProblemError(422, "a namespace is a non-empty list of labels without '.'")
    return ".".join(labels)


def serialize_item(row: StoreItem) -> dict[str, Any]:
    return {
        "namespace": row.namespace.split("."),
        "key": row.key,
        "value": row.value,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _live(principal: Principal) -> QuerySet[StoreItem]:
    return scoped(StoreItem, principal).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=utcnow()))


def _refresh(requested: bool | None) -> bool:
    """LangGraph's rule: a read renews the items' TTL unless it says ``refresh_ttl=false``
    (or the deployment's ``store.ttl.refresh_on_read`` is false)."""
    if requested is not None:
        return requested
    return bool(semantic.ttl_config().get("refresh_on_read", True))


async def _renew(rows: list[StoreItem]) -> None:
    now = utcnow()
    for row in rows:
        if row.ttl_minutes:
            row.expires_at = now + timedelta(minutes=row.ttl_minutes)
            await StoreItem.filter(id=row.id).update(expires_at=row.expires_at)


async def put_item(principal: Principal, body: dict[str, Any]) -> None:
    """Store or replace an item: its TTL (minutes; else the deployment's ``default_ttl``) and,
    with an embedding model configured, the vectors of its indexed fields."""
    if principal.organization_id is None:
        raise forbidden("store items belong to an organization")
    namespace = _namespace(body.get("namespace") or [])
    ttl = body.get("ttl") if body.get("ttl") is not None else semantic.ttl_config().get("default_ttl")
    minutes = float(ttl) if ttl else None
    value = body.get("value") or {}
    values: dict[str, Any] = {
        "value": value,
        "expires_at": utcnow() + timedelta(minutes=minutes) if minutes else None,
        "ttl_minutes": minutes,
        "vectors": await semantic.embed_value(value, body.get("index")),
    }
    row = await StoreItem.get_or_none(organization_id=principal.organization_id, namespace=namespace, key=body["key"])
    if row is not None:
        await StoreItem.filter(id=row.id).update(**values, updated_at=utcnow())
        return
    try:
        await StoreItem.create(
            organization_id=principal.organization_id, namespace=namespace, key=body["key"], **values
        )
    except IntegrityError:
        await StoreItem.filter(organization_id=principal.organization_id, namespace=namespace, key=body["key"]).update(
            **values, updated_at=utcnow()
        )


async def get_item(
    principal: Principal, namespace: list[str], key: str, refresh_ttl: bool | None = None
) -> dict[str, Any]:
    row = await _live(principal).get_or_none(namespace=_namespace(namespace), key=key)
    if row is None:
        raise not_found("item")
    if _refresh(refresh_ttl):
        await _renew([row])
    return serialize_item(row)


async def delete_item(principal: Principal, namespace: list[str], key: str) -> None:
    await scoped(StoreItem, principal).filter(namespace=_namespace(namespace), key=key).delete()


async def search_items(principal: Principal, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Items under a namespace prefix matching the value filter; with a ``query`` and an
    embedding model, ranked by similarity (best first, items without vectors after them),
    else newest first with ``score`` null."""
    prefix = body.get("namespace_prefix") or []
    query = _live(principal)
    if prefix:
        joined = _namespace(prefix)
        query = query.filter(Q(namespace=joined) | Q(namespace__startswith=joined + "."))
    rows = await query.order_by("-updated_at")
    flt = body.get("filter") or {}
    rows = [row for row in rows if all((row.value or {}).get(k) == v for k, v in flt.items())]
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
    vector = await semantic.embed_query(body["query"]) if body.get("query") else None
    if vector is None:
        ranked: list[tuple[float | None, StoreItem]] = [(None, row) for row in rows]
    else:
        scored = [(semantic.score(vector, row.vectors), row) for row in rows]
        ranked = sorted(
            scored, key=lambda item: (item[0] is not None, item[0] if item[0] is not None else 0.0), reverse=True
        )
    page = ranked[offset : offset + limit]
    if _refresh(body.get("refresh_ttl")):
        await _renew([row for _score, row in page])
    return [{**serialize_item(row), "score": score} for score, row in page]


async def list_namespaces(principal: Principal, body: dict[str, Any]) -> list[list[str]]:
    names = sorted({str(name) for name in await _live(principal).values_list("namespace", flat=True)})
    spaces = [name.split(".") for name in names]
    prefix, suffix = body.get("prefix") or [], body.get("suffix") or []
    spaces = [s for s in spaces if s[: len(prefix)] == prefix and (not suffix or s[-len(suffix) :] == suffix)]
    depth = body.get("max_depth")
    if depth:
        spaces = [list(s) for s in dict.fromkeys(tuple(s[: int(depth)]) for s in spaces)]
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 100)
    return spaces[offset : offset + limit]
