"""The playground: pick a graph or assistant, start a thread, chat with tokens streaming, see the
thread's state and history, fork from a checkpoint; all on the LangGraph-compatible API.

Without JavaScript a message is a plain form post that reloads the page once the run is
queued (reload to see the answer). With it, the page listens to ``/console/playground/threads/
<thread>/runs/<run>/stream``, a Server-Sent Events stream authenticated by the session cookie,
which relays the tokens the run streams and ends when the run does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from quart import Response, current_app, redirect, request
from quart_schema import hide

from vetrai.core.auth import client_ip
from vetrai.plugins.console import langgraph_client
from vetrai.plugins.console.api import ApiError, ConsoleApi
from vetrai.plugins.console.routes import api, blueprint, page, session

STREAM_POLL_SECONDS = 0.1
STREAM_MAX_SECONDS = 600


def _thread_url(thread_id: str, assistant_id: str, **extra: str) -> str:
    return f"/console/playground/threads/{thread_id}?{urlencode({'assistant_id': assistant_id, **extra})}"


@blueprint.get("/playground")
@hide
async def playground() -> Response:
    """The graphs and assistants to chat with (HTML)."""
    assistants = await langgraph_client.search_assistants(api())
    return await page("console/playground.html", title="Playground", assistants=assistants)


@blueprint.post("/playground/threads")
@hide
async def start_thread() -> Response:
    """A new thread for the chosen assistant (HTML form)."""
    form = await request.form
    assistant_id = (form.get("assistant_id") or "").strip()
    thread = await langgraph_client.create_thread(api())
    return redirect(_thread_url(thread["thread_id"], assistant_id), 303)


@blueprint.get("/playground/threads/<thread_id>")
@hide
async def thread_page(thread_id: str) -> Response:
    """The conversation, the thread's state and its checkpoints, and the message form (HTML)."""
    return await _thread_page(thread_id, request.args.get("assistant_id", ""), request.args.get("run_id", ""))


async def _thread_page(
    thread_id: str, assistant_id: str, run_id: str = "", status: int = 200, **extra: Any
) -> Response:
    state = await langgraph_client.thread_state(api(), thread_id)
    history = await langgraph_client.thread_history(api(), thread_id)
    return await page(
        "console/playground_thread.html",
        status,
        title="Playground",
        thread_id=thread_id,
        assistant_id=assistant_id,
        run_id=run_id,
        **extra,
        messages=langgraph_client.messages_of(state.get("values")),
        state_json=json.dumps(state.get("values"), indent=2, default=str),
        history=[
            {
                "checkpoint_id": (item.get("checkpoint") or {}).get("checkpoint_id"),
                "created_at": item.get("created_at"),
                "next": item.get("next") or [],
                "step": (item.get("metadata") or {}).get("step"),
                "messages": len((item.get("values") or {}).get("messages") or [])
                if isinstance(item.get("values"), dict)
                else 0,
            }
            for item in history
        ],
    )


@blueprint.post("/playground/threads/<thread_id>/runs")
@hide
async def send_message(thread_id: str) -> Response:
    """Send a message (from a checkpoint: a fork) and come back to the thread with the run to stream (HTML form)."""
    form = await request.form
    assistant_id = (form.get("assistant_id") or "").strip()
    message = (form.get("message") or "").strip()
    checkpoint_id = (form.get("checkpoint_id") or "").strip() or None
    try:
        run = await langgraph_client.start_run(api(), thread_id, assistant_id, message, checkpoint_id)
    except ApiError as exc:
        if exc.status in (400, 409, 422):
            return await _thread_page(thread_id, assistant_id, status=exc.status, error=exc.message)
        raise
    return redirect(_thread_url(thread_id, assistant_id, run_id=run["run_id"]), 303)


@blueprint.get("/playground/threads/<thread_id>/runs/<run_id>/stream")
@hide
async def run_tokens(thread_id: str, run_id: str) -> Response:
    """Server-Sent Events: ``token`` for each streamed piece of text, then ``end`` (session cookie)."""
    own_api = ConsoleApi(current_app._get_current_object(), session().access_token, client_ip())  # type: ignore[attr-defined]
    try:
        await langgraph_client.get_run(own_api, thread_id, run_id)  # 404 before the stream starts
    except ApiError:
        await own_api.aclose()
        raise
    response = Response(_tokens(own_api, thread_id, run_id), mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _tokens(own_api: ConsoleApi, thread_id: str, run_id: str) -> AsyncIterator[bytes]:
    started = time.monotonic()
    after: int | None = None
    try:
        yield b"retry: 2000\n\n"
        while time.monotonic() - started < STREAM_MAX_SECONDS:
            run = await langgraph_client.get_run(own_api, thread_id, run_id)
            texts, seen = await langgraph_client.run_tokens(own_api, run_id, after)
            for text in texts:
                yield _sse("token", {"text": text})
            if run["status"] in langgraph_client.FINISHED and seen == after:
                yield _sse("end", {"status": run["status"]})
                return
            after = seen
            await asyncio.sleep(STREAM_POLL_SECONDS)
    except ApiError:
        return
    finally:
        await own_api.aclose()
