"""The LangGraph SDK quickstart against VetrAI, with only ``url`` and ``api_key`` changed."""

from __future__ import annotations

import pytest
from httpx import HTTPStatusError


async def test_info_ok_and_system_assistants(sdk, server):
    client, _ = await sdk()
    info = await client.http.get("/info")
    assert info["version"] and "flags" in info
    assert await client.http.get("/ok") == {"ok": True}
    found = await client.assistants.search(graph_id="counter")
    assert len(found) == 1 and found[0]["graph_id"] == "counter"
    assistant = found[0]
    assert await client.assistants.get("counter") == assistant  # a graph id is an assistant id
    assert (await client.assistants.get(assistant["assistant_id"]))["graph_id"] == "counter"
    graph = await client.assistants.get_graph("counter")
    assert {node["id"] for node in graph["nodes"]} >= {"increment"}
    schemas = await client.assistants.get_schemas("counter")
    assert "count" in schemas["input_schema"]["properties"]


async def test_counter_keeps_state_across_runs(sdk):
    client, _ = await sdk()
    thread = await client.threads.create(metadata={"purpose": "count"})
    assert thread["status"] == "idle" and thread["metadata"] == {"purpose": "count"}
    first = await client.runs.wait(thread["thread_id"], "counter", input={"count": 5})
    assert first["count"] == 6
    second = await client.runs.wait(thread["thread_id"], "counter", input={})
    assert second == {"count": 7, "seen": ["increment", "increment"]}
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["count"] == 7 and state["next"] == []
    history = await client.threads.get_history(thread["thread_id"], limit=50)
    assert len(history) >= 2 and history[0]["values"]["count"] == 7
    got = await client.threads.get(thread["thread_id"])
    assert got["status"] == "idle" and got["values"]["count"] == 7


async def test_background_run_and_join(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "counter", input={"count": 1})
    assert run["status"] in ("pending", "running") and run["thread_id"] == thread["thread_id"]
    assert await client.runs.join(thread["thread_id"], run["run_id"]) == {"count": 2, "seen": ["increment"]}
    done = await client.runs.get(thread["thread_id"], run["run_id"])
    assert done["status"] == "success"
    listed = await client.runs.list(thread["thread_id"])
    assert [item["run_id"] for item in listed] == [run["run_id"]]


async def test_stream_values_and_updates(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"], "counter", input={"count": 1}, stream_mode=["values", "updates"]
        )
    ]
    events = [part.event for part in parts]
    assert events[0] == "metadata" and "values" in events and "updates" in events
    assert parts[0].data["run_id"]
    updates = [part.data for part in parts if part.event == "updates"]
    assert updates == [{"increment": {"count": 2, "seen": ["increment"]}}]
    assert [part.data for part in parts if part.event == "values"][-1] == {"count": 2, "seen": ["increment"]}


async def test_chat_streams_tokens(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    chunks = []
    async for part in client.runs.stream(
        thread["thread_id"],
        "chat",
        input={"messages": [{"role": "user", "content": "hi"}]},
        stream_mode="messages-tuple",
    ):
        if part.event == "messages":
            message, metadata = part.data
            chunks.append(message["content"])
            assert metadata["langgraph_node"] == "respond"
    assert "".join(chunks) == "hello there friend" and len(chunks) > 1
    partial = []
    async for part in client.runs.stream(
        thread["thread_id"], "chat", input={"messages": [{"role": "user", "content": "again"}]}, stream_mode="messages"
    ):
        if part.event == "messages/partial":
            partial.append(part.data[0]["content"])
            assert part.data[0]["type"] == "ai"
    assert partial[-1] == "hello there friend" and len(partial) > 1
    assert part.event != "end"  # like langgraph dev, the stream just closes
    state = await client.threads.get_state(thread["thread_id"])
    assert [message["type"] for message in state["values"]["messages"]] == ["human", "ai", "human", "ai"]


async def test_human_in_the_loop(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    waiting = await client.runs.wait(thread["thread_id"], "ask", input={"question": "ship it?"})
    assert waiting["__interrupt__"][0]["value"] == {"question": "ship it?"} and waiting["__interrupt__"][0]["id"]
    assert (await client.threads.get(thread["thread_id"]))["status"] == "interrupted"
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["ask_person"] and state["interrupts"][0]["value"] == {"question": "ship it?"}
    done = await client.runs.wait(thread["thread_id"], "ask", command={"resume": "yes"})
    assert done == {"question": "ship it?", "answer": "yes"}
    assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_cancel_and_double_texting(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    slow = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 30})
    with pytest.raises(HTTPStatusError) as refused:
        await client.runs.create(thread["thread_id"], "slow", input={"seconds": 0}, multitask_strategy="reject")
    assert refused.value.response.status_code == 409
    queued = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 0}, multitask_strategy="enqueue")
    await client.runs.cancel(thread["thread_id"], slow["run_id"])
    await client.runs.join(thread["thread_id"], slow["run_id"])
    assert (await client.runs.get(thread["thread_id"], slow["run_id"]))["status"] == "interrupted"
    assert (await client.runs.join(thread["thread_id"], queued["run_id"]))["done"] is True
    assert (await client.runs.get(thread["thread_id"], queued["run_id"]))["status"] == "success"
    # interrupt: the running run stops, the new one runs.
    long = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 30})
    newer = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 0}, multitask_strategy="interrupt")
    await client.runs.join(thread["thread_id"], newer["run_id"])
    assert (await client.runs.get(thread["thread_id"], long["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(thread["thread_id"], newer["run_id"]))["status"] == "success"


async def test_stateless_runs(sdk):
    client, _ = await sdk()
    assert await client.runs.wait(None, "counter", input={"count": 41}) == {"count": 42, "seen": ["increment"]}
    parts = [part async for part in client.runs.stream(None, "make_counter", input={"count": 0}, stream_mode="values")]
    assert [part.data for part in parts if part.event == "values"][-1] == {"count": 1, "seen": ["increment"]}
    assert await client.threads.search() == []  # stateless threads are deleted once done


async def test_store(sdk):
    client, _ = await sdk()
    await client.store.put_item(["memories", "alice"], "food", {"likes": "pizza"})
    item = await client.store.get_item(["memories", "alice"], "food")
    assert item["value"] == {"likes": "pizza"} and item["namespace"] == ["memories", "alice"]
    found = await client.store.search_items(["memories"])
    assert [entry["key"] for entry in found["items"]] == ["food"]
    assert (await client.store.list_namespaces())["namespaces"] == [["memories", "alice"]]
    await client.store.delete_item(["memories", "alice"], "food")
    assert await client.store.get_item(["memories", "alice"], "food") is None


async def test_organizations_are_isolated(sdk):
    alice, _ = await sdk()
    bob, _ = await sdk()
    thread = await alice.threads.create()
    run = await alice.runs.create(thread["thread_id"], "counter", input={"count": 1})
    await alice.runs.join(thread["thread_id"], run["run_id"])
    assistant = await alice.assistants.create("counter", name="mine")
    await alice.store.put_item(["shared"], "key", {"owner": "alice"})
    for call in (
        bob.threads.get(thread["thread_id"]),
        bob.threads.get_state(thread["thread_id"]),
        bob.runs.get(thread["thread_id"], run["run_id"]),
        bob.runs.list(thread["thread_id"]),
        bob.runs.create(thread["thread_id"], "counter", input={}),
        bob.assistants.get(assistant["assistant_id"]),
        bob.threads.delete(thread["thread_id"]),
    ):
        with pytest.raises(HTTPStatusError) as missing:
            await call
        assert missing.value.response.status_code == 404
    assert await bob.threads.search() == [] and await bob.threads.count() == 0
    assert [a["graph_id"] for a in await bob.assistants.search(graph_id="counter")] == ["counter"]
    assert await bob.store.get_item(["shared"], "key") is None
    await bob.store.put_item(["shared"], "key", {"owner": "bob"})
    assert (await alice.store.get_item(["shared"], "key"))["value"] == {"owner": "alice"}
    assert (await alice.threads.get(thread["thread_id"]))["status"] == "idle"
