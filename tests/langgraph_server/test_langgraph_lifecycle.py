"""Stream mode ``events``, store semantic search and TTL, thread TTL and prune, cron update and
bulk cancel, through langgraph-sdk on a real socket (both backends)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from httpx import HTTPStatusError

from vetrai.engine.clock import utcnow


async def _status(client: Any, response: Any) -> int:
    with pytest.raises(HTTPStatusError) as failed:
        await response
    assert failed.value.response.headers["content-type"].startswith("application/problem+json")
    return failed.value.response.status_code


async def _until(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


# --- stream mode events -------------------------------------------------------------------------


async def test_stream_mode_events_sends_langchain_events(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"],
            "chat",
            input={"messages": [{"role": "user", "content": "hi"}]},
            stream_mode=["events", "values"],
        )
    ]
    assert parts[0].event == "metadata"
    events = [part.data for part in parts if part.event == "events"]
    kinds = [event["event"] for event in events]
    assert kinds[0] == "on_chain_start" and events[0]["name"] == "chat"  # the graph id, as langgraph-api
    assert "on_chat_model_start" in kinds and "on_chat_model_end" in kinds
    tokens = "".join(event["data"]["chunk"]["content"] for event in events if event["event"] == "on_chat_model_stream")
    assert tokens == "hello there friend"
    assert all({"run_id", "name", "tags", "metadata", "data"} <= set(event) for event in events)
    # The root run's own stream chunks become the other modes, not events.
    root = events[0]["run_id"]
    assert not [event for event in events if event["event"] == "on_chain_stream" and event["run_id"] == root]
    values = [part.data for part in parts if part.event == "values"]
    assert values[-1]["messages"][-1]["content"] == "hello there friend"
    # Only events asked for: no values frames; replayable from the stored stream.
    only = await client.runs.create(thread["thread_id"], "counter", input={"count": 1}, stream_mode=["events"])
    replay = [part async for part in client.runs.join_stream(thread["thread_id"], only["run_id"], last_event_id="-1")]
    names = {part.event for part in replay}
    assert "events" in names and "values" not in names
    assert any(part.data["event"] == "on_chain_end" and part.data["name"] == "increment" for part in replay[1:])


# --- store --------------------------------------------------------------------------------------


async def test_store_semantic_search_ranks_by_similarity(sdk):
    alice, _ = await sdk()
    bob, _ = await sdk()
    await alice.store.put_item(["notes", "pets"], "dog", {"text": "dogs are loyal pets", "kind": "animal"})
    await alice.store.put_item(["notes", "money"], "stocks", {"text": "the stock market fell today", "kind": "money"})
    await alice.store.put_item(["notes", "pets"], "cat", {"text": "cats sleep all day", "kind": "animal"})
    await alice.store.put_item(["notes"], "unindexed", {"text": "dogs dogs dogs"}, index=False)
    await bob.store.put_item(["notes"], "bobs", {"text": "dogs are loyal pets"})
    found = (await alice.store.search_items(["notes"], query="loyal dogs", limit=10))["items"]
    keys = [item["key"] for item in found]
    assert keys[0] == "dog" and "bobs" not in keys
    assert found[0]["score"] > 0.5 and len(found) == 4
    scored = [item for item in found if item["score"] is not None]
    assert [item["key"] for item in scored][0] == "dog" and keys[-1] == "unindexed" and found[-1]["score"] is None
    assert scored == sorted(scored, key=lambda item: item["score"], reverse=True)
    filtered = (await alice.store.search_items(["notes"], query="stock market", filter={"kind": "money"}))["items"]
    assert [item["key"] for item in filtered] == ["stocks"] and filtered[0]["score"] > 0
    page = (await alice.store.search_items(["notes"], query="loyal dogs", limit=1, offset=1))["items"]
    assert [item["key"] for item in page] == [keys[1]]
    plain = (await alice.store.search_items(["notes", "pets"]))["items"]
    assert {item["key"] for item in plain} == {"dog", "cat"} and all(item["score"] is None for item in plain)
    # An update re-embeds the item.
    await alice.store.put_item(["notes", "pets"], "cat", {"text": "loyal dogs chase cats"})
    again = (await alice.store.search_items(["notes", "pets"], query="loyal dogs"))["items"]
    assert again[0]["key"] == "cat"


async def test_store_search_without_an_index_filters(sdk, monkeypatch, tmp_path):
    client, _ = await sdk()
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {}}))
    monkeypatch.setenv("VETRAI_LANGGRAPH_CONFIG", str(config))
    await client.store.put_item(["docs"], "a", {"text": "dogs", "n": 1})
    await client.store.put_item(["docs"], "b", {"text": "stocks", "n": 2})
    found = (await client.store.search_items(["docs"], query="dogs"))["items"]
    assert [item["key"] for item in found] == ["b", "a"] and {item["score"] for item in found} == {None}
    assert [item["key"] for item in (await client.store.search_items(["docs"], filter={"n": 1}))["items"]] == ["a"]
    response = client.http.post("/store/items/search", json={"namespace_prefix": ["a.b"]})
    assert await _status(client, response) == 422


async def test_store_ttl_refreshes_on_read_and_expires(sdk, platform):
    from vetrai.engine.models import StoreItem
    from vetrai.engine.reaper import reap

    client, actor = await sdk()
    other, _ = await sdk()
    await client.store.put_item(["memo"], "k", {"text": "x"}, ttl=1)
    await other.store.put_item(["memo"], "k", {"text": "y"}, ttl=1)
    row = await StoreItem.get(organization_id=actor.organization_id, key="k")
    assert row.ttl_minutes == 1 and row.expires_at > utcnow() + timedelta(seconds=50)
    soon = utcnow() + timedelta(seconds=5)
    await StoreItem.filter(id=row.id).update(expires_at=soon)
    await client.store.get_item(["memo"], "k", refresh_ttl=False)
    assert (await StoreItem.get(id=row.id)).expires_at == soon
    await client.store.get_item(["memo"], "k")  # refresh_on_read is the default
    assert (await StoreItem.get(id=row.id)).expires_at > utcnow() + timedelta(seconds=50)
    await StoreItem.filter(id=row.id).update(expires_at=soon)
    await client.store.search_items(["memo"], refresh_ttl=True)
    assert (await StoreItem.get(id=row.id)).expires_at > utcnow() + timedelta(seconds=50)
    await StoreItem.filter(organization_id=actor.organization_id).update(expires_at=utcnow() - timedelta(seconds=1))
    assert await client.store.get_item(["memo"], "k") is None
    assert (await client.store.search_items(["memo"]))["items"] == []
    await reap(platform)  # the reaper's sweep deletes what has expired
    assert not await StoreItem.filter(id=row.id).exists()
    assert (await other.store.get_item(["memo"], "k"))["value"] == {"text": "y"}


# --- threads ------------------------------------------------------------------------------------


async def test_thread_ttl_is_swept_by_its_strategy(sdk, platform):
    from vetrai.engine.models import Thread
    from vetrai.engine.reaper import reap

    client, _ = await sdk()
    other, _ = await sdk()
    doomed = await client.threads.create(ttl={"strategy": "delete", "ttl": 30})
    kept = await client.threads.create(ttl={"strategy": "keep_latest", "ttl": 30})
    plain = await client.threads.create()
    foreign = await other.threads.create(ttl=30)
    shown = await client.threads.get(doomed["thread_id"], include=["ttl"])
    assert shown["ttl"]["strategy"] == "delete" and shown["ttl"]["ttl"] == 30 and shown["ttl"]["expires_at"]
    assert "ttl" not in await client.threads.get(doomed["thread_id"])
    for thread in (doomed, kept):
        await client.runs.wait(thread["thread_id"], "counter", input={"count": 1})
        await client.runs.wait(thread["thread_id"], "counter", input={})
    assert len(await client.threads.get_history(kept["thread_id"], limit=50)) > 1
    row = await Thread.get(id=doomed["thread_id"])
    assert row.expires_at > utcnow() + timedelta(minutes=29)  # a run starts the clock again
    busy = await client.threads.create(ttl=30)
    running = await client.runs.create(busy["thread_id"], "slow", input={"seconds": 30})
    past = utcnow() - timedelta(seconds=1)
    expired = [doomed["thread_id"], kept["thread_id"], foreign["thread_id"], busy["thread_id"]]
    await Thread.filter(id__in=expired).update(expires_at=past)
    await reap(platform)  # (the scheduled reaper may sweep first: the outcome is the same)
    assert await _status(client, client.threads.get(doomed["thread_id"])) == 404
    assert await _status(other, other.threads.get(foreign["thread_id"])) == 404
    assert (await client.threads.get_state(kept["thread_id"]))["values"]["count"] == 3
    assert len(await client.threads.get_history(kept["thread_id"], limit=50)) == 1
    assert (await Thread.get(id=kept["thread_id"])).expires_at is None  # until its next update
    assert (await client.threads.get(plain["thread_id"]))["thread_id"] == plain["thread_id"]
    assert (await client.threads.get(busy["thread_id"]))["status"] == "busy"  # waits for its run
    await client.runs.cancel(busy["thread_id"], running["run_id"], wait=True)
    await reap(platform)
    assert await _status(client, client.threads.get(busy["thread_id"])) == 404
    updated = await client.threads.update(plain["thread_id"], metadata={"a": 1}, ttl=5)
    assert updated["metadata"] == {"a": 1}
    assert (await Thread.get(id=plain["thread_id"])).ttl == {"strategy": "delete", "ttl": 5}
    bad = client.http.post("/threads", json={"ttl": {"strategy": "archive", "ttl": 5}})
    assert await _status(client, bad) == 422


async def test_checkpointer_ttl_of_langgraph_json_is_the_ttl_of_new_threads(sdk, monkeypatch, tmp_path):
    import uuid

    from vetrai.engine.models import Thread

    client, _ = await sdk()
    before = await client.threads.create()
    config = tmp_path / "langgraph.json"
    config.write_text(
        json.dumps({"graphs": {}, "checkpointer": {"ttl": {"strategy": "keep_latest", "default_ttl": 60}}})
    )
    monkeypatch.setenv("VETRAI_LANGGRAPH_CONFIG", str(config))
    plain = await client.threads.create()
    shown = (await client.threads.get(plain["thread_id"], include=["ttl"]))["ttl"]
    assert shown["strategy"] == "keep_latest" and shown["ttl"] == 60
    assert (await Thread.get(id=plain["thread_id"])).expires_at > utcnow() + timedelta(minutes=59)
    own = await client.threads.create(ttl={"strategy": "delete", "ttl": 5})  # a thread's own TTL wins
    assert (await Thread.get(id=own["thread_id"])).ttl == {"strategy": "delete", "ttl": 5}
    created_by_run = str(uuid.uuid4())
    await client.runs.wait(created_by_run, "echo", input={"payload": {"x": 1}}, if_not_exists="create")
    assert (await Thread.get(id=created_by_run)).ttl == {"strategy": "keep_latest", "ttl": 60}
    assert (await Thread.get(id=before["thread_id"])).ttl is None  # threads from before keep theirs


async def test_prune_threads(sdk):
    client, _ = await sdk()
    other, _ = await sdk()
    gone = await client.threads.create()
    slim = await client.threads.create()
    foreign = await other.threads.create()
    for _ in range(2):
        await client.runs.wait(slim["thread_id"], "counter", input={})
    await client.runs.wait(gone["thread_id"], "counter", input={})
    result = await client.threads.prune([gone["thread_id"], foreign["thread_id"]])
    assert result == {"pruned_count": 1}
    assert await _status(client, client.threads.get(gone["thread_id"])) == 404
    assert (await other.threads.get(foreign["thread_id"]))["thread_id"] == foreign["thread_id"]
    assert len(await client.threads.get_history(slim["thread_id"], limit=50)) > 1
    assert await client.threads.prune([slim["thread_id"]], strategy="keep_latest") == {"pruned_count": 1}
    history = await client.threads.get_history(slim["thread_id"], limit=50)
    assert len(history) == 1 and history[0]["values"]["count"] == 2
    assert (await client.runs.wait(slim["thread_id"], "counter", input={}))["count"] == 3
    assert await client.threads.prune([]) == {"pruned_count": 0}
    assert await _status(client, client.threads.prune(["not-a-uuid"])) == 422
    bad = client.http.post("/threads/prune", json={"thread_ids": [slim["thread_id"]], "strategy": "all"})
    assert await _status(client, bad) == 422


# --- crons --------------------------------------------------------------------------------------


async def test_cron_update(sdk):
    from datetime import UTC, datetime

    client, _ = await sdk()
    other, _ = await sdk()
    cron = await client.crons.create("counter", schedule="0 9 * * 1", input={"count": 1}, metadata={"a": 1})
    updated = await client.crons.update(
        cron["cron_id"],
        schedule="30 6 * * *",
        timezone="Europe/Paris",
        input={"count": 5},
        metadata={"b": 2},
        enabled=False,
        end_time=datetime(2099, 1, 1, tzinfo=UTC),
    )
    assert updated["schedule"] == "30 6 * * *" and updated["timezone"] == "Europe/Paris"
    assert updated["enabled"] is False and updated["metadata"] == {"a": 1, "b": 2}
    assert updated["payload"]["input"] == {"count": 5} and updated["payload"]["assistant_id"] == cron["assistant_id"]
    assert updated["end_time"].startswith("2099-01-01") and updated["next_run_date"] != cron["next_run_date"]
    next_run = datetime.fromisoformat(updated["next_run_date"]).astimezone(UTC)
    assert next_run.minute == 30 and next_run.hour in (4, 5)  # 06:30 in Paris
    cleared = await client.crons.update(cron["cron_id"], end_time=None)
    assert cleared["end_time"] is None and cleared["schedule"] == "30 6 * * *"
    assert (await client.http.get(f"/runs/crons/{cron['cron_id']}"))["enabled"] is False
    assert await _status(other, other.crons.update(cron["cron_id"], enabled=True)) == 404
    assert await _status(other, other.http.get(f"/runs/crons/{cron['cron_id']}")) == 404
    assert await _status(client, client.crons.update(cron["cron_id"])) == 400
    assert await _status(client, client.crons.update(cron["cron_id"], schedule="every day")) == 422
    assert await _status(client, client.crons.update(cron["cron_id"], timezone="Mars/Base")) == 422
    after = await client.http.get(f"/runs/crons/{cron['cron_id']}")
    assert after["schedule"] == "30 6 * * *" and after["enabled"] is False


# --- bulk cancel --------------------------------------------------------------------------------


async def test_cancel_many_by_ids_and_by_status_stays_in_the_organization(sdk):
    client, _ = await sdk()
    other, _ = await sdk()
    thread = await client.threads.create()
    theirs_thread = await other.threads.create()
    theirs = await other.runs.create(theirs_thread["thread_id"], "slow", input={"seconds": 300})

    async def reached(c: Any, thread_id: str, run_id: str, status: str = "running") -> bool:
        return (await c.runs.get(thread_id, run_id))["status"] == status

    async def running_then_pending() -> tuple[dict[str, Any], dict[str, Any]]:
        """A running run and one enqueued behind it (the scheduler leaves it pending while its
        thread is busy): created one after the other so the first is surely the running one."""
        first = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 300})
        await _until(lambda: reached(client, thread["thread_id"], first["run_id"]))
        second = await client.runs.create(thread["thread_id"], "slow", input={"seconds": 300})
        assert await reached(client, thread["thread_id"], second["run_id"], "pending")
        return first, second

    running, pending = await running_then_pending()
    await _until(lambda: reached(other, theirs_thread["thread_id"], theirs["run_id"]))
    # Another organization cannot name our runs.
    refused = other.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[running["run_id"]])
    assert await _status(other, refused) == 404
    await client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[running["run_id"], pending["run_id"]])
    for run in (running, pending):
        await client.runs.join(thread["thread_id"], run["run_id"])
        assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"
    assert await _status(client, client.runs.cancel_many(status="all")) == 404  # nothing left to stop
    assert (await other.runs.get(theirs_thread["thread_id"], theirs["run_id"]))["status"] == "running"
    # By status, with rollback: the pending run is deleted; then the running one is stopped.
    busy, queued = await running_then_pending()
    await client.runs.cancel_many(status="pending", action="rollback")
    assert await _status(client, client.runs.get(thread["thread_id"], queued["run_id"])) == 404
    assert (await client.runs.get(thread["thread_id"], busy["run_id"]))["status"] == "running"
    await client.runs.cancel_many(status="running")
    await client.runs.join(thread["thread_id"], busy["run_id"])
    assert (await client.runs.get(thread["thread_id"], busy["run_id"]))["status"] == "interrupted"
    assert (await other.runs.get(theirs_thread["thread_id"], theirs["run_id"]))["status"] == "running"
    # Bad combinations are 422s.
    mixed = client.http.post("/runs/cancel", json={"status": "all", "thread_id": thread["thread_id"]})
    assert await _status(client, mixed) == 422
    assert await _status(client, client.http.post("/runs/cancel", json={"run_ids": ["x"]})) == 422
    assert await _status(client, client.http.post("/runs/cancel", json={"status": "done"})) == 422
    action = client.http.post("/runs/cancel", json={"status": "all"}, params={"action": "explode"})
    assert await _status(client, action) == 422
    await other.runs.cancel_many(status="all")
    await other.runs.join(theirs_thread["thread_id"], theirs["run_id"])
