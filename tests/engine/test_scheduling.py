"""The scheduler's choice on the real database: fair across organizations (fewest running,
then least recently served), priority within one, limits, deactivated organizations, threads,
delayed runs, simultaneous claims; and a message is a wake-up for the fairest run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from vetrai.core.models import Organization
from vetrai.engine import service
from vetrai.engine.clock import utcnow
from vetrai.engine.models import Job
from vetrai.engine.runtime import Runtime
from vetrai.engine.scheduling import claim_next


async def _queued(organization: Any, template: str = "echo", **values: Any) -> Job:
    await service.ensure_package_templates()  # synced on first need
    row = await service.WorkflowTemplate.get(package_key=template)
    job_id = uuid.uuid4()
    values.setdefault("thread_id", job_id)
    return await Job.create(
        id=job_id,
        organization_id=organization.id,
        template_id=row.id,
        template_name=template,
        workflow=template,
        input={"seconds": 60, "steps": 60} if template == "sleep" else {"n": 1},
        queued_at=utcnow(),
        **values,
    )


async def _finish(job: Job) -> None:
    await Job.filter(id=job.id).update(status="succeeded", lease_owner=None, lease_expires_at=None)


async def _claim() -> Job | None:
    return await claim_next("test-worker", 60)


async def test_a_new_organizations_run_goes_before_anothers_backlog(make_org):
    busy, new = await make_org(), await make_org()
    backlog = [await _queued(busy) for _ in range(20)]
    first = await _claim()
    assert first is not None and first.id == backlog[0].id
    await _finish(first)
    late = await _queued(new)
    # Neither has a run running; the backlog's organization was served last, so the newcomer goes.
    second = await _claim()
    assert second is not None and second.id == late.id
    third = await _claim()
    assert third is not None and third.id == backlog[1].id


async def test_the_organization_with_fewer_running_runs_goes_first(make_org):
    busy, other = await make_org(limits={"max_concurrent_jobs": 10}), await make_org()
    backlog = [await _queued(busy) for _ in range(5)]
    assert (await _claim()).id == backlog[0].id  # type: ignore[union-attr]
    waiting = await _queued(other)
    # The busy organization has one running, the other none: the other goes first.
    assert (await _claim()).id == waiting.id  # type: ignore[union-attr]
    assert (await _claim()).id == backlog[1].id  # type: ignore[union-attr]


async def test_priority_orders_an_organizations_runs(make_org):
    organization = await make_org(limits={"max_concurrent_jobs": 10})
    low = await _queued(organization, priority=-1)
    normal = await _queued(organization)
    urgent = await _queued(organization, priority=5)
    urgent_later = await _queued(organization, priority=5)
    order = [(await _claim()).id for _ in range(4)]  # type: ignore[union-attr]
    assert order == [urgent.id, urgent_later.id, normal.id, low.id]
    assert await _claim() is None


async def test_organizations_at_their_limit_or_deactivated_are_passed_over(make_org):
    limited = await make_org(limits={"max_concurrent_jobs": 1})
    other, gone = await make_org(), await make_org()
    running = await _queued(limited)
    assert (await _claim()).id == running.id  # type: ignore[union-attr]
    held_back = await _queued(limited)
    await _queued(gone)
    await Organization.filter(id=gone.id).update(is_active=False)
    free = await _queued(other)
    assert (await _claim()).id == free.id  # type: ignore[union-attr]
    assert await _claim() is None
    await _finish(running)
    assert (await _claim()).id == held_back.id  # type: ignore[union-attr]


async def test_a_run_waits_for_its_threads_running_run_and_delayed_runs_until_due(make_org):
    organization = await make_org(limits={"max_concurrent_jobs": 10})
    thread_id = uuid.uuid4()
    first = await _queued(organization, thread_id=thread_id)
    behind = await _queued(organization, thread_id=thread_id)
    later = await _queued(organization, run_after=utcnow() + timedelta(hours=1))
    assert (await _claim()).id == first.id  # type: ignore[union-attr]
    assert await _claim() is None, "a run of a busy thread or a delayed run was taken"
    await _finish(first)
    assert (await _claim()).id == behind.id  # type: ignore[union-attr]
    await Job.filter(id=later.id).update(run_after=utcnow() - timedelta(seconds=1))
    assert (await _claim()).id == later.id  # type: ignore[union-attr]


async def test_a_lost_run_is_claimed_again_with_a_new_fence(make_org):
    organization = await make_org()
    lost = await _queued(
        organization,
        status="running",
        attempts=1,
        max_attempts=3,
        fence=1,
        lease_owner="gone",
        lease_expires_at=utcnow() - timedelta(seconds=5),
    )
    again = await _claim()
    assert again is not None and again.id == lost.id and again.fence == 2 and again.attempts == 2
    assert again.lease_owner == "test-worker"


async def test_simultaneous_claims_take_different_runs(make_org):
    organizations = [await make_org(limits={"max_concurrent_jobs": 20}) for _ in range(3)]
    queued = {(await _queued(organizations[n % 3])).id for n in range(12)}
    claimed = await asyncio.gather(*(claim_next(f"worker-{n}", 60) for n in range(16)))
    ids = [job.id for job in claimed if job is not None]
    assert len(ids) == len(set(ids)) == 12 and set(ids) == queued
    assert await Job.filter(status="running", fence=1, attempts=1).count() == 12


async def test_a_message_wakes_a_worker_for_the_fairest_run(platform, make_org):
    busy, new = await make_org(limits={"max_concurrent_jobs": 5}), await make_org()
    await _queued(busy, status="running", lease_owner="elsewhere", lease_expires_at=utcnow() + timedelta(hours=1))
    named = await _queued(busy, "sleep")
    fair = await _queued(new)
    runtime = Runtime(platform)
    try:
        # The message names the busy organization's run; the worker takes the newcomer's.
        assert await runtime.run_job(str(named.id)) == "succeeded"
    finally:
        await runtime.close()
    await fair.refresh_from_db()
    await named.refresh_from_db()
    assert fair.status == "succeeded"
    assert named.started_at is None or named.started_at >= fair.finished_at
    await Job.filter(organization_id=busy.id).update(status="cancelled", cancel_requested=True)


async def test_job_priority_comes_from_the_request_the_template_or_the_workflow(make_user, jobs, client):
    actor = await make_user(role="org_admin")
    plain = await jobs.create(actor, "sleep", {"seconds": 30, "steps": 30})
    assert plain["priority"] == 0
    urgent = await jobs.create(actor, "sleep", {"seconds": 30, "steps": 30}, priority=7)
    assert urgent["priority"] == 7 and (await Job.get(id=urgent["id"])).priority == 7
    response = await client.post(
        "/api/v1/workers/templates",
        json={"name": "nightly", "workflow": "sleep", "defaults": {"priority": -3}},
        headers=actor.headers,
    )
    assert response.status_code == 201, await response.get_json()
    nightly = await jobs.create(actor, "nightly", {"seconds": 30, "steps": 30})
    assert nightly["priority"] == -3
    too_high = await jobs.create(actor, "sleep", {}, expect=422, priority=5000)
    assert "priority" in str(too_high)
    for job in (plain, urgent, nightly):
        await jobs.action(actor, job["id"], "cancel")
