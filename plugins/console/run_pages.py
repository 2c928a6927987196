"""Runs in the console: the list, a run with its graph and live timeline, and its actions.

Every call to the engine goes through ``engine_client``; the stream the page listens to is
served here, authenticated by the session cookie like every console page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from quart import Response, current_app, redirect, request
from quart_schema import hide

from vetrai.core.auth import client_ip
from vetrai.plugins.console import engine_client
from vetrai.plugins.console.api import ApiError, ConsoleApi
from vetrai.plugins.console.forms import resume_fields, resume_value
from vetrai.plugins.console.graph import layout
from vetrai.plugins.console.routes import ConsoleRedirect, api, blueprint, page, session

STREAM_POLL_SECONDS = 0.3
STREAM_MAX_SECONDS = 600
KEEPALIVE_SECONDS = 15


@blueprint.get("/runs")
@hide
async def runs() -> Response:
    """Runs of the organization, filtered by status and template (HTML)."""
    status = request.args.get("status") or None
    template_id = request.args.get("template_id") or None
    if status not in (None, *engine_client.STATUSES):
        status = None
    templates = await engine_client.list_templates(api())
    listing = await engine_client.list_runs(
        api(), status=status, template_id=template_id, cursor=request.args.get("cursor")
    )
    return await page(
        "console/runs.html",
        title="Runs",
        runs=listing["items"],
        next_cursor=listing.get("next_cursor"),
        templates=templates,
        statuses=engine_client.STATUSES,
        status=status,
        template_id=template_id,
        form={},
    )


@blueprint.post("/runs")
@hide
async def start_run() -> Response:
    """Start a run of a template with a JSON input (HTML form)."""
    form = await request.form
    try:
        values = json.loads(form.get("input") or "{}")
        if not isinstance(values, dict):
            raise ValueError("not an object")
    except ValueError:
        return await _runs_with_error("The input must be a JSON object.", form)
    try:
        run = await engine_client.start_run(api(), form.get("template_id") or "", values)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _runs_with_error(exc.message, form, exc.status)
        raise
    return redirect(f"/console/runs/{run['id']}", 303)


async def _runs_with_error(message: str, form: Any, status: int = 422) -> Response:
    templates = await engine_client.list_templates(api())
    listing = await engine_client.list_runs(api())
    return await page(
        "console/runs.html",
        status,
        title="Runs",
        runs=listing["items"],
        next_cursor=listing.get("next_cursor"),
        templates=templates,
        statuses=engine_client.STATUSES,
        status=None,
        template_id=None,
        error=message,
        form={"template_id": form.get("template_id"), "input": form.get("input")},
    )


@blueprint.get("/runs/<run_id>")
@hide
async def run_view(run_id: str, resume_error: str | None = None, status: int = 200) -> Response:
    """One run: graph, live timeline, input/output, attempts, errors and its actions (HTML)."""
    run = await engine_client.get_run(api(), run_id)
    events = await engine_client.run_events(api(), run_id)
    drawing = None
    if run.get("template_id"):
        try:
            drawing = layout(await engine_client.template_graph(api(), str(run["template_id"])))
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
    visited = {event["node"] for event in events if event.get("node")}
    schema = engine_client.resume_schema(run) if run["status"] == "interrupted" else None
    return await page(
        "console/run.html",
        status,
        title=f"Run {run['template']}",
        run=run,
        events=events,
        last_event_id=events[-1]["id"] if events else 0,
        drawing=drawing,
        visited=visited,
        prompts=engine_client.interrupt_prompts(run),
        resume_fields=resume_fields(schema) if run["status"] == "interrupted" else None,
        resume_error=resume_error,
        finished=run["status"] in engine_client.FINISHED,
        cancellable=run["status"] in engine_client.CANCELLABLE,
        retryable=run["status"] in engine_client.RETRYABLE,
        pretty=_pretty,
        compact=_compact,
    )


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _compact(value: Any) -> str:
    # Same text as the script's JSON.stringify; Jinja escapes it for the page.
    return json.dumps(value, separators=(",", ":"), default=str)


@blueprint.post("/runs/<run_id>/cancel")
@hide
async def cancel_run(run_id: str) -> Response:
    """Cancel the run (HTML form)."""
    await _act(run_id, engine_client.cancel_run(api(), run_id))
    return redirect(f"/console/runs/{run_id}?done=cancelled", 303)


@blueprint.post("/runs/<run_id>/retry")
@hide
async def retry_run(run_id: str) -> Response:
    """Run a failed run again from its last checkpoint (HTML form)."""
    await _act(run_id, engine_client.retry_run(api(), run_id))
    return redirect(f"/console/runs/{run_id}?done=retried", 303)


@blueprint.post("/runs/<run_id>/resume")
@hide
async def resume_run(run_id: str) -> Response:
    """Answer an interrupted run: the form's fields become the resume value (HTML form)."""
    run = await engine_client.get_run(api(), run_id)
    form = await request.form
    try:
        value = resume_value(engine_client.resume_schema(run), form)
        await engine_client.resume_run(api(), run_id, value)
    except ValueError as exc:
        return await run_view(run_id, resume_error=str(exc), status=422)
    except ApiError as exc:
        if exc.status in (409, 422):
            return await run_view(run_id, resume_error=exc.message, status=exc.status)
        raise
    return redirect(f"/console/runs/{run_id}?done=resumed", 303)


async def _act(run_id: str, action: Any) -> None:
    try:
        await action
    except ApiError as exc:
        if exc.status == 409:  # already finished meanwhile: show the run as it is now
            raise ConsoleRedirect(f"/console/runs/{run_id}") from None
        raise


@blueprint.get("/runs/<run_id>/stream")
@hide
async def run_stream(run_id: str) -> Response:
    """Server-Sent Events of the run for the page: its new events and status changes (session cookie)."""
    after = request.args.get("after", type=int)
    last_event = request.headers.get("Last-Event-ID", "").strip()
    if last_event.isdigit():
        after = int(last_event)
    # The stream outlives this request's teardown, so it owns a client of its own.
    own_api = ConsoleApi(current_app._get_current_object(), session().access_token, client_ip())  # type: ignore[attr-defined]
    try:
        await engine_client.get_run(own_api, run_id)  # 404 before the stream starts
    except ApiError:
        await own_api.aclose()
        raise
    response = Response(_stream(own_api, run_id, after), mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _stream(own_api: ConsoleApi, run_id: str, after: int | None) -> AsyncIterator[bytes]:
    started = quiet_since = time.monotonic()
    last_event: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    try:
        yield b"retry: 2000\n\n"
        while time.monotonic() - started < STREAM_MAX_SECONDS:
            run = await engine_client.get_run(own_api, run_id)
            events = await engine_client.run_events(own_api, run_id, after)
            for event in events:
                yield _sse("timeline", event, event["id"])
                after, last_event = event["id"], event
            current = {
                key: run.get(key)
                for key in ("status", "current_node", "attempts", "max_attempts", "error", "cancel_requested")
            }
            if current != snapshot:
                snapshot = current
                yield _sse("run", current)
            status = run["status"]
            settled = status in engine_client.FINISHED or status == "interrupted"
            if settled and not events and (last_event is None or _says(last_event, status) or after is None):
                yield _sse("end", {"status": status})
                return
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)
    except ApiError:
        return
    finally:
        await own_api.aclose()


def _says(event: dict[str, Any], status: str) -> bool:
    return event.get("type") == "status" and (event.get("data") or {}).get("status") == status
