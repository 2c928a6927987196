"""Stream mode ``events``: LangChain's ``astream_events`` (v2) on the run stream, as langgraph-api
emits it. With ``events`` asked for, the graph runs under ``astream_events`` with the other
modes as its ``stream_mode``: the root run's ``on_chain_stream`` events carry those modes'
chunks (handed back exactly as ``astream`` yields them, so the run loop is unchanged), and every
other event goes out as ``("events", event)`` (SSE event name ``events``, data the event dict).
Events tagged ``langsmith:hidden`` are dropped, as langgraph-api drops them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

EVENTS = "events"


async def graph_stream(graph: Any, payload: Any, config: dict[str, Any], kwargs: dict[str, Any]) -> AsyncIterator[Any]:
    """``graph.astream(payload, config, **kwargs)``, with the ``events`` mode added when it is
    among ``kwargs["stream_mode"]``."""
    modes = list(kwargs.get("stream_mode") or [])
    if EVENTS not in modes:
        async for item in graph.astream(payload, config, **kwargs):
            yield item
        return
    kwargs = {**kwargs, "stream_mode": [mode for mode in modes if mode != EVENTS]}
    subgraphs = bool(kwargs.get("subgraphs"))
    root = str(config.get("run_id") or uuid.uuid4())
    # The root run is named after the graph id, as langgraph-api names it (not "LangGraph").
    name = config.get("run_name") or (config.get("configurable") or {}).get("graph_id")
    config = {**config, "run_id": root, **({"run_name": name} if name else {})}
    async for event in graph.astream_events(payload, config, version="v2", **kwargs):
        if "langsmith:hidden" in (event.get("tags") or ()):
            continue
        if event.get("event") == "on_chain_stream" and str(event.get("run_id")) == root:
            yield event["data"]["chunk"]
        elif subgraphs:
            yield (), EVENTS, event
        else:
            yield EVENTS, event
