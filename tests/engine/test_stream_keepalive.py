"""Open event streams look at the database only through the hub's keep-alive check: an event
stored without its pub/sub message still reaches the stream, and a deleted run ends it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from vetrai.engine.clock import utcnow
from vetrai.engine.models import Job, JobEvent
from vetrai.engine.streams import hub_of


async def _delayed_job(jobs, actor) -> str:
    job = await jobs.create(actor, "echo", {"n": 1})
    await jobs.wait(actor, job["id"], "succeeded")
    # Back to a delayed queued run: no worker takes it, its stream stays open.
    await Job.filter(id=job["id"]).update(status="queued", run_after=utcnow() + timedelta(hours=1))
    await JobEvent.filter(job_id=job["id"]).delete()
    return job["id"]


async def _until_watched(platform, job_id: str) -> None:
    hub = hub_of(platform)
    for _ in range(500):
        if job_id in hub._ticked.values():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never subscribed")


async def test_an_event_whose_message_was_lost_reaches_the_stream_at_the_keep_alive(platform, client, make_user, jobs):
    actor = await make_user()
    job_id = await _delayed_job(jobs, actor)
    stream = asyncio.create_task(client.get(f"/api/v1/workers/jobs/{job_id}/events", headers=actor.headers))
    await _until_watched(platform, job_id)
    # Stored, never published (a lost pub/sub message): only the keep-alive check finds them.
    await JobEvent.create(job_id=job_id, type="progress", data={"step": 1})
    await JobEvent.create(job_id=job_id, type="status", data={"status": "succeeded"})
    await Job.filter(id=job_id).update(status="succeeded")
    response = await asyncio.wait_for(stream, 20)
    text = await response.get_data(as_text=True)
    assert "event: progress" in text and '"status":"succeeded"' in text


async def test_a_deleted_runs_stream_ends_at_the_keep_alive(platform, client, make_user, jobs):
    actor = await make_user()
    job_id = await _delayed_job(jobs, actor)
    stream = asyncio.create_task(client.get(f"/api/v1/workers/jobs/{job_id}/events", headers=actor.headers))
    await _until_watched(platform, job_id)
    await Job.filter(id=job_id).delete()
    response = await asyncio.wait_for(stream, 20)  # it ended
    assert "event:" not in await response.get_data(as_text=True)
    assert job_id not in hub_of(platform)._ticked.values()
