"""Engine data on organization deletion and retention: rows and LangGraph checkpoints go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vetrai.engine import checkpoints, retention
from vetrai.engine.models import Job, JobEvent, RunQuota, Thread
from vetrai.engine.runtime import runtime_of


async def _saved(platform, thread_ids: list[str]) -> int:
    runtime = runtime_of(platform)
    await runtime.ensure_ready()
    return await checkpoints.checkpoint_bytes(runtime.checkpointer, thread_ids)


async def _langgraph_thread(client, actor) -> str:
    created = await client.post("/api/v1/langgraph/threads", json={}, headers=actor.headers)
    thread = await created.get_json()
    assert created.status_code == 200, thread
    ran = await client.post(
        f"/api/v1/langgraph/threads/{thread['thread_id']}/runs/wait",
        json={"assistant_id": "echo", "input": {"payload": {"message": "hi"}}},
        headers=actor.headers,
    )
    assert ran.status_code == 200, await ran.get_data(as_text=True)
    assert "__error__" not in (await ran.get_json()), await ran.get_data(as_text=True)
    return thread["thread_id"]


async def test_deleting_an_organization_leaves_no_engine_row_or_checkpoint(client, platform, make_user, jobs):
    doomed, kept = await make_user(role="org_admin"), await make_user(role="org_admin")
    threads: dict[str, list[str]] = {}
    for actor in (doomed, kept):
        job = await jobs.create(actor, "sleep", {"seconds": 0.01, "steps": 3})
        await jobs.wait(actor, job["id"], "succeeded")
        threads[str(actor.id)] = [job["id"], await _langgraph_thread(client, actor)]
    assert await _saved(platform, threads[str(doomed.id)]) > 0
    organization_id = doomed.organization.id

    deleted = await client.delete(
        f"/api/v1/organizations/{organization_id}",
        headers=doomed.headers,
        query_string={"confirm": doomed.organization.slug},
    )
    assert deleted.status_code == 204, await deleted.get_data(as_text=True)

    assert await Job.filter(organization_id=organization_id).count() == 0
    assert await Thread.filter(organization_id=organization_id).count() == 0
    assert await JobEvent.filter(job_id=threads[str(doomed.id)][0]).count() == 0
    assert await RunQuota.filter(organization_id=organization_id).count() == 0
    assert await _saved(platform, threads[str(doomed.id)]) == 0
    assert await _saved(platform, threads[str(kept.id)]) > 0  # the other organization keeps its own
    assert await Job.filter(organization_id=kept.organization.id).count() == 2


async def test_retention_expires_finished_runs_only(platform, make_user, jobs):
    actor = await make_user()
    finished = await jobs.create(actor, "sleep", {"seconds": 0.01, "steps": 2})
    waiting = await jobs.create(actor, "approval", {"request": "a laptop"})
    await jobs.wait(actor, finished["id"], "succeeded")
    await jobs.wait(actor, waiting["id"], "interrupted")
    assert await _saved(platform, [finished["id"]]) > 0

    removed = await retention.purge_expired(platform, actor.organization.id, datetime.now(UTC) + timedelta(hours=1))

    assert removed == 1
    assert not await Job.filter(id=finished["id"]).exists()
    assert await JobEvent.filter(job_id=finished["id"]).count() == 0
    assert await _saved(platform, [finished["id"]]) == 0
    assert (await Job.get(id=waiting["id"])).status == "interrupted"
    assert await _saved(platform, [waiting["id"]]) > 0
    assert await retention.purge_expired(platform, actor.organization.id, datetime.now(UTC) - timedelta(hours=1)) == 0
