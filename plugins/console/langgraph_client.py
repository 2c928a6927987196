"""The LangGraph-compatible API as the playground uses it: every path and shape in one module.

A LangGraph run is an engine job with the same id, so the tokens its model streams are read
back as the job's stored ``token`` events through the workers API (the in-process client cannot hold
a streaming answer open, it reads whole responses).
"""

from __future__ import annotations

from typing import Any

from vetrai.plugins.console import engine_client
from vetrai.plugins.console.api import ConsoleApi

BASE = "/api/v1/langgraph"
STREAM_MODES = ["messages-tuple", "values"]
FINISHED = {"success", "error", "timeout", "interrupted"}


async def search_assistants(api: ConsoleApi) -> list[dict[str, Any]]:
    return await api.post(f"{BASE}/assistants/search", {"limit": 100})


async def create_thread(api: ConsoleApi) -> dict[str, Any]:
    return await api.post(f"{BASE}/threads", {})


async def thread_state(api: ConsoleApi, thread_id: str) -> dict[str, Any]:
    return await api.get(f"{BASE}/threads/{thread_id}/state")


async def thread_history(api: ConsoleApi, thread_id: str, limit: int = 20) -> list[dict[str, Any]]:
    return await api.post(f"{BASE}/threads/{thread_id}/history", {"limit": limit})


async def start_run(
    api: ConsoleApi, thread_id: str, assistant_id: str, message: str, checkpoint_id: str | None = None
) -> dict[str, Any]:
    """A run with the user's message appended; from ``checkpoint_id`` it forks the thread there."""
    body: dict[str, Any] = {
        "assistant_id": assistant_id,
        "input": {"messages": [{"role": "user", "content": message}]},
        "stream_mode": STREAM_MODES,
    }
    if checkpoint_id:
        body["checkpoint_id"] = checkpoint_id
    return await api.post(f"{BASE}/threads/{thread_id}/runs", body)


async def get_run(api: ConsoleApi, thread_id: str, run_id: str) -> dict[str, Any]:
    return await api.get(f"{BASE}/threads/{thread_id}/runs/{run_id}")


async def run_tokens(api: ConsoleApi, run_id: str, after: int | None) -> tuple[list[str], int | None]:
    """The text the run's model streamed after event ``after``, and the last event id seen."""
    events = await engine_client.run_events(api, run_id, after)
    texts = [
        str((event.get("data") or {}).get("text") or "")
        for event in events
        if event.get("type") == "token" and (event.get("data") or {}).get("text")
    ]
    return texts, (events[-1]["id"] if events else after)


def messages_of(values: Any) -> list[dict[str, str]] | None:
    """The conversation in a state's values, as role and text; None when the graph has no ``messages``."""
    if not isinstance(values, dict) or not isinstance(values.get("messages"), list):
        return None
    out = []
    for message in values["messages"]:
        if isinstance(message, dict):
            content = message.get("content")
            text = content if isinstance(content, str) else str(content)
            out.append({"role": str(message.get("type") or message.get("role") or "message"), "text": text})
    return out
