"""Run the same langgraph-sdk scenarios against LangGraph's own server and against VetrAI, and
print where the answers differ (response keys and value types, statuses, stream event names).

    # the reference, in a separate venv (never the project's):
    python3 -m venv /tmp/lgref && /tmp/lgref/bin/pip install "langgraph-cli[inmem]" langgraph-sdk
    cd tests/langgraph_server/project && /tmp/lgref/bin/langgraph dev --no-browser --port 2024
    # VetrAI with the same graphs:
    VETRAI_LANGGRAPH_CONFIG=tests/langgraph_server/project/langgraph.json vetrai serve
    python tests/langgraph_server/compare_reference.py \\
        --reference http://127.0.0.1:2024 --vetrai http://127.0.0.1:8000/api/v1/langgraph --key vk_...

Values that differ by nature (ids, times) are compared by type only. Exit status 1 when any
scenario differs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph_sdk import get_client

Scenario = Callable[[Any], Awaitable[Any]]


def shape(value: Any) -> Any:
    """Keys and types, recursively; strings by type only (ids and times differ by nature)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(item) for item in value[:3]]
    return type(value).__name__


async def counter_runs(client: Any) -> Any:
    thread = await client.threads.create(metadata={"scenario": "counter"})
    first = await client.runs.wait(thread["thread_id"], "counter", input={"count": 5})
    second = await client.runs.wait(thread["thread_id"], "counter", input={})
    run = await client.runs.create(thread["thread_id"], "counter", input={})
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    done = await client.runs.get(thread["thread_id"], run["run_id"])
    return {
        "thread": shape(thread),
        "values": [first, second, joined],
        "run": shape(done),
        "run_status": done["status"],
        "thread_after": shape(await client.threads.get(thread["thread_id"])),
        "state": shape(await client.threads.get_state(thread["thread_id"])),
    }


async def stream_events(client: Any) -> Any:
    thread = await client.threads.create()
    events = []
    async for part in client.runs.stream(
        thread["thread_id"], "counter", input={"count": 1}, stream_mode=["values", "updates"]
    ):
        events.append((part.event, shape(part.data) if part.event == "metadata" else part.data))
    return events


async def chat_tokens(client: Any) -> Any:
    thread = await client.threads.create()
    tokens, names = [], []
    async for part in client.runs.stream(
        thread["thread_id"], "chat", input={"messages": [{"role": "user", "content": "hi"}]}, stream_mode="messages"
    ):
        names.append(part.event)
        if part.event == "messages/partial":
            tokens.append(part.data[0]["content"])
    return {"events": sorted(set(names)), "last": tokens[-1:]}


async def interrupt_and_resume(client: Any) -> Any:
    thread = await client.threads.create()
    waiting = await client.runs.wait(thread["thread_id"], "ask", input={"question": "ok?"})
    status = (await client.threads.get(thread["thread_id"]))["status"]
    done = await client.runs.wait(thread["thread_id"], "ask", command={"resume": "yes"})
    return {"waiting": shape(waiting), "status": status, "done": done}


async def double_texting(client: Any) -> Any:
    thread = await client.threads.create()
    slow = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 5})
    try:
        await client.runs.create(thread["thread_id"], "slow", input={"seconds": 0}, multitask_strategy="reject")
        rejected = None
    except Exception as exc:  # the SDK raises httpx.HTTPStatusError
        rejected = getattr(getattr(exc, "response", None), "status_code", repr(exc))
    await client.runs.cancel(thread["thread_id"], slow["run_id"])
    await client.runs.join(thread["thread_id"], slow["run_id"])
    return {"rejected": rejected, "cancelled": (await client.runs.get(thread["thread_id"], slow["run_id"]))["status"]}


async def store(client: Any) -> Any:
    await client.store.put_item(["compare", "ns"], "key", {"v": 1})
    item = await client.store.get_item(["compare", "ns"], "key")
    found = await client.store.search_items(["compare"])
    await client.store.delete_item(["compare", "ns"], "key")
    return {
        "item": shape(item),
        "search": shape(found),
        "deleted": await client.store.get_item(["compare", "ns"], "key"),
    }


async def _status_of(call: Awaitable[Any]) -> Any:
    try:
        await call
    except Exception as exc:
        return getattr(getattr(exc, "response", None), "status_code", repr(exc))
    return "ok"


async def events_mode(client: Any) -> Any:
    thread = await client.threads.create()
    kinds, names = [], set()
    async for part in client.runs.stream(
        thread["thread_id"], "chat", input={"messages": [{"role": "user", "content": "hi"}]}, stream_mode="events"
    ):
        names.add(part.event)
        if part.event == "events":
            kinds.append((part.data["event"], part.data["name"]))
    return {"names": sorted(names), "events": sorted(set(kinds)), "first": kinds[:1]}


async def semantic_store(client: Any) -> Any:
    await client.store.put_item(["semantic"], "dog", {"text": "dogs are loyal pets"})
    await client.store.put_item(["semantic"], "stocks", {"text": "the stock market fell today"})
    await client.store.put_item(["semantic"], "plain", {"text": "dogs dogs"}, index=False)
    found = (await client.store.search_items(["semantic"], query="loyal dogs"))["items"]
    for key in ("dog", "stocks", "plain"):
        await client.store.delete_item(["semantic"], key)
    return {"order": [item["key"] for item in found], "scored": [item["score"] is not None for item in found]}


async def thread_ttl_and_prune(client: Any) -> Any:
    thread = await client.threads.create(ttl={"strategy": "delete", "ttl": 60})
    shown = await client.threads.get(thread["thread_id"], include=["ttl"])
    kept = await client.threads.create()
    await client.runs.wait(kept["thread_id"], "counter", input={})
    await client.runs.wait(kept["thread_id"], "counter", input={})
    pruned = await _status_of(client.threads.prune([kept["thread_id"]], strategy="keep_latest"))
    history = len(await client.threads.get_history(kept["thread_id"], limit=50))
    deleted = await client.threads.prune([thread["thread_id"]])
    return {
        "ttl": shape(shown.get("ttl")),
        "keep_latest": pruned,
        "history": history,
        "deleted": deleted,
        "gone": await _status_of(client.threads.get(thread["thread_id"])),
    }


async def cron_update(client: Any) -> Any:
    cron = await client.crons.create("counter", schedule="0 9 * * 1", input={"count": 1}, metadata={"a": 1})
    updated = await client.crons.update(cron["cron_id"], schedule="30 6 * * *", enabled=False, metadata={"b": 2})
    empty = await _status_of(client.crons.update(cron["cron_id"]))
    await client.crons.delete(cron["cron_id"])
    return {
        "cron": shape(updated),
        "schedule": updated["schedule"],
        "enabled": updated["enabled"],
        "metadata": updated["metadata"],
        "empty_body": empty,
    }


async def cancel_many(client: Any) -> Any:
    thread = await client.threads.create()
    slow = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 5})
    await client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[slow["run_id"]])
    await client.runs.join(thread["thread_id"], slow["run_id"])
    status = (await client.runs.get(thread["thread_id"], slow["run_id"]))["status"]
    return {
        "status": status,
        "again": await _status_of(client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[slow["run_id"]])),
        "mixed": await _status_of(client.runs.cancel_many(status="all", thread_id=thread["thread_id"])),
    }


SCENARIOS: dict[str, Scenario] = {
    "counter_runs": counter_runs,
    "stream_events": stream_events,
    "chat_tokens": chat_tokens,
    "interrupt_and_resume": interrupt_and_resume,
    "double_texting": double_texting,
    "store": store,
    "events_mode": events_mode,
    "semantic_store": semantic_store,
    "thread_ttl_and_prune": thread_ttl_and_prune,
    "cron_update": cron_update,
    "cancel_many": cancel_many,
}


async def run(name: str, scenario: Scenario, client: Any) -> Any:
    try:
        return await scenario(client)
    except Exception as exc:
        return {"failed": f"{type(exc).__name__}: {exc}"}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default="http://127.0.0.1:2024")
    parser.add_argument("--vetrai", default="http://127.0.0.1:8000/api/v1/langgraph")
    parser.add_argument("--key", required=True, help="a vk_ API key with workers:read and workers:write")
    args = parser.parse_args()
    reference = get_client(url=args.reference)
    vetrai = get_client(url=args.vetrai, api_key=args.key)
    differ = 0
    for name, scenario in SCENARIOS.items():
        theirs = await run(name, scenario, reference)
        ours = await run(name, scenario, vetrai)
        if theirs == ours:
            print(f"same    {name}")
            continue
        differ += 1
        print(f"DIFFERS {name}")
        print("  reference:", json.dumps(theirs, default=str, sort_keys=True))
        print("  vetrai:   ", json.dumps(ours, default=str, sort_keys=True))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
