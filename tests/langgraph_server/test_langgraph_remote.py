"""RemoteGraph against VetrAI, alone and as a node of a local graph; deleting runs and threads."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import HTTPStatusError
from langgraph.graph import END, START, StateGraph
from langgraph.pregel.remote import RemoteGraph
from typing_extensions import TypedDict


async def test_remote_graph_invoke_and_stream(server, sdk, make_key):
    client, actor = await sdk()
    key = await make_key(actor)
    remote = RemoteGraph("counter", url=server, api_key=key)
    assert await remote.ainvoke({"count": 1}) == {"count": 2, "seen": ["increment"]}
    thread = await client.threads.create()
    config = {"configurable": {"thread_id": thread["thread_id"]}}
    assert (await remote.ainvoke({"count": 10}, config))["count"] == 11
    chunks = [chunk async for chunk in remote.astream({}, config, stream_mode="updates")]
    assert chunks == [{"increment": {"count": 12, "seen": ["increment"]}}]
    state = await remote.aget_state(config)
    assert state.values["count"] == 12


class Outer(TypedDict, total=False):
    count: int
    seen: list[str]


async def test_remote_graph_as_a_node(server, sdk, make_key):
    _, actor = await sdk()
    remote = RemoteGraph("counter", url=server, api_key=await make_key(actor))
    local = StateGraph(Outer)
    local.add_node("remote_counter", remote)
    local.add_edge(START, "remote_counter")
    local.add_edge("remote_counter", END)
    result = await local.compile().ainvoke({"count": 41})
    assert result["count"] == 42


async def test_delete_runs_and_threads(sdk):
    client, _ = await sdk()
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "counter", input={"count": 1})
    await client.runs.join(thread["thread_id"], run["run_id"])
    await client.runs.delete(thread["thread_id"], run["run_id"])
    with pytest.raises(HTTPStatusError) as gone:
        await client.runs.get(thread["thread_id"], run["run_id"])
    assert gone.value.response.status_code == 404
    await client.threads.delete(thread["thread_id"])
    with pytest.raises(HTTPStatusError) as gone:
        await client.threads.get(thread["thread_id"])
    assert gone.value.response.status_code == 404


async def test_assistants_versions_and_crons(sdk):
    client, _ = await sdk()
    assistant = await client.assistants.create("counter", config={"recursion_limit": 10}, name="v1")
    updated = await client.assistants.update(assistant["assistant_id"], name="v2")
    assert updated["version"] == 2 and updated["name"] == "v2"
    versions = await client.assistants.get_versions(assistant["assistant_id"])
    assert [item["version"] for item in versions] == [2, 1]
    latest = await client.assistants.set_latest(assistant["assistant_id"], 1)
    assert latest["name"] == "v1" and latest["version"] == 1
    assert await client.assistants.count(graph_id="counter") == 2  # the system one and ours
    thread = await client.threads.create()
    result: dict[str, Any] = await client.runs.wait(thread["thread_id"], assistant["assistant_id"], input={})
    assert result["count"] == 1
    cron = await client.crons.create("counter", schedule="0 9 * * 1", input={"count": 1})
    assert cron["schedule"] == "0 9 * * 1" and cron["next_run_date"]
    assert [item["cron_id"] for item in await client.crons.search()] == [cron["cron_id"]]
    await client.crons.delete(cron["cron_id"])
    assert await client.crons.search() == []


async def test_due_crons_start_runs_of_their_organization(sdk, platform):
    from vetrai.engine.clock import utcnow
    from vetrai.engine.models import Cron, Job
    from vetrai.engine.reaper import reap

    client, actor = await sdk()
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], "counter", schedule="0 0 1 1 *", input={})
    await Cron.filter(id=cron["cron_id"]).update(next_run_date=utcnow())
    assert (await reap(platform))["crons"] == 1
    runs = await Job.filter(thread_id=thread["thread_id"]).values_list("organization_id", flat=True)
    assert [str(value) for value in runs] == [actor.organization_id]
    assert (await reap(platform))["crons"] == 0  # its next run is next year
