"""Jobs end to end on the selected backend: every built-in workflow, statuses, events."""

from __future__ import annotations

import asyncio
import json

import pytest

from vetrai.core.models import Organization


async def test_echo_round_trip(make_user, jobs, recorded_events):
    actor = await make_user()
    job = await jobs.create(actor, "echo", {"hello": "world", "n": [1, 2]})
    assert job["status"] == "queued" and job["template"] == "echo" and job["user_id"] == actor.id
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["output"] == {"hello": "world", "n": [1, 2]}
    assert done["attempts"] == 1 and done["duration_ms"] is not None and done["error"] is None
    events = await jobs.events(actor, job["id"])
    kinds = [(event["type"], event["data"].get("status")) for event in events]
    assert kinds[0] == ("status", "queued") and kinds[1] == ("status", "running")
    assert ("node", None) in kinds and kinds[-1] == ("status", "succeeded")
    assert ("output", None) in kinds
    assert [event["id"] for event in events] == sorted(event["id"] for event in events)
    for _ in range(100):
        names = [(event.name, event.data) for event in recorded_events if event.name.startswith("engine.")]
        if len(names) == 2:
            break
        await asyncio.sleep(0.02)
    assert names == [
        ("engine.job_started", {"job_id": job["id"], "template": "echo", "status": "running", "user_id": actor.id}),
        (
            "engine.job_finished",
            {"job_id": job["id"], "template": "echo", "status": "succeeded", "user_id": actor.id, "usage": None},
        ),
    ]


async def test_sleep_progress_and_sse_stream(client, make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 0.45, "steps": 3})
    response = await client.get(f"/api/v1/workers/jobs/{job['id']}/events", headers=actor.headers)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    text = await response.get_data(as_text=True)
    assert ": keep-alive" in text  # quiet gaps longer than VETRAI_WORKERS_KEEPALIVE_SECONDS
    blocks = [block for block in text.split("\n\n") if block.startswith("id: ")]
    types = [block.split("\n")[1].removeprefix("event: ") for block in blocks]
    assert types.count("progress") == 3
    last = json.loads(blocks[-1].split("\n")[2].removeprefix("data: "))
    assert last["type"] == "status" and last["data"]["status"] == "succeeded"
    progress = [json.loads(block.split("\n")[2][6:]) for block in blocks if "event: progress" in block]
    assert [item["data"] for item in progress] == [{"step": n, "steps": 3} for n in (1, 2, 3)]
    assert {item["node"] for item in progress} == {"sleep"}
    # Resumable: after Last-Event-ID only the later events are replayed.
    middle = int(blocks[2].split("\n")[0].removeprefix("id: "))
    again = await client.get(
        f"/api/v1/workers/jobs/{job['id']}/events", headers={**actor.headers, "Last-Event-ID": str(middle)}
    )
    replayed = [block for block in (await again.get_data(as_text=True)).split("\n\n") if block.startswith("id: ")]
    assert replayed == blocks[3:]
    done = await jobs.get(actor, job["id"])
    assert done["output"] == {"slept_seconds": 0.45, "steps": 3}


async def test_cancel_stops_a_running_job(make_user, jobs, recorded_events):
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 600})
    await jobs.wait(actor, job["id"], "running")
    cancelled = await jobs.action(actor, job["id"], "cancel")
    assert cancelled["cancel_requested"] is True
    done = await jobs.wait(actor, job["id"], "cancelled", within=5)  # of a 60 s run
    assert done["finished_at"] is not None
    # It really stopped: no more progress events after the cancellation.
    for _ in range(100):
        events = await jobs.events(actor, job["id"])
        if events[-1]["type"] == "status" and events[-1]["data"]["status"] == "cancelled":
            break
        await asyncio.sleep(0.02)
    count = len(events)
    await asyncio.sleep(0.3)
    assert len(await jobs.events(actor, job["id"])) == count
    await jobs.action(actor, job["id"], "cancel", expect=409)
    for _ in range(100):
        finished = [event.data for event in recorded_events if event.name == "engine.job_finished"]
        if finished:
            break
        await asyncio.sleep(0.02)
    assert finished == [
        {"job_id": job["id"], "template": "sleep", "status": "cancelled", "user_id": actor.id, "usage": None}
    ]


async def test_interrupt_and_resume(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "approval", {"request": "ship release 1.2?"})
    waiting = await jobs.wait(actor, job["id"], "interrupted")
    assert waiting["interrupt"][0]["request"] == "ship release 1.2?"
    assert waiting["output"] is None
    bad = await jobs.action(actor, job["id"], "resume", {"value": {"approved": "perhaps"}}, expect=422)
    assert bad["errors"][0]["loc"][:3] == ["body", "value", "approved"]
    await jobs.action(actor, job["id"], "retry", expect=409)
    resumed = await jobs.action(actor, job["id"], "resume", {"value": {"approved": True, "comment": "go"}})
    assert resumed["status"] in {"queued", "running", "succeeded"}
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["output"] == {"approved": True, "comment": "go"}
    await jobs.action(actor, job["id"], "resume", {"value": {"approved": False}}, expect=409)
    types = [event["type"] for event in await jobs.events(actor, job["id"])]
    assert "interrupt" in types


async def test_cancel_an_interrupted_job(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "approval", {"request": "x"})
    await jobs.wait(actor, job["id"], "interrupted")
    assert (await jobs.action(actor, job["id"], "cancel"))["status"] == "cancelled"


async def test_flaky_is_retried_until_it_succeeds(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "flaky", {"fail_times": 2})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["attempts"] == 3 and done["output"] == {"attempts": 3}
    retries = [event["data"] for event in await jobs.events(actor, job["id"]) if event["type"] == "retry"]
    assert [item["attempt"] for item in retries] == [1, 2]
    assert retries[0]["error"] == {"type": "PlannedFailure", "message": "planned failure on attempt 1 of 2"}
    assert retries[1]["delay_seconds"] == 2 * retries[0]["delay_seconds"]


async def test_failure_after_max_attempts_then_retry_from_checkpoint(client, make_user, jobs, recorded_events):
    admin = await make_user("org_admin")
    response = await client.post(
        "/api/v1/workers/templates",
        json={"name": "twice", "workflow": "flaky", "defaults": {"max_attempts": 2, "retry_backoff_seconds": 0.01}},
        headers=admin.headers,
    )
    assert response.status_code == 201
    job = await jobs.create(admin, "twice", {"fail_times": 3})
    failed = await jobs.wait(admin, job["id"], "failed")
    assert failed["attempts"] == 2 and failed["max_attempts"] == 2
    assert failed["error"] == {"type": "PlannedFailure", "message": "planned failure on attempt 2 of 3"}
    for _ in range(100):  # the event follows the status change
        finished = [event.data for event in recorded_events if event.name == "engine.job_finished"]
        if finished:
            break
        await asyncio.sleep(0.02)
    assert finished[-1]["error"]["type"] == "PlannedFailure" and finished[-1]["status"] == "failed"
    retried = await jobs.action(admin, job["id"], "retry")
    # A fresh budget: attempts start over, max_attempts stays, and so does the backoff.
    assert retried["max_attempts"] == 2 and retried["attempts"] == 0 and retried["error"] is None
    done = await jobs.wait(admin, job["id"], "succeeded")
    assert done["output"] == {"attempts": 4}, "the graph's attempt number does not repeat across a retry"
    assert done["attempts"] == 2 and done["max_attempts"] == 2
    retries = [event["data"] for event in await jobs.events(admin, job["id"]) if event["type"] == "retry"]
    assert [(item["attempt"], item["delay_seconds"]) for item in retries] == [(1, 0.01), (1, 0.01)]
    again = await client.post(f"/api/v1/workers/jobs/{job['id']}/retry", headers=admin.headers)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "succeeded" in (await again.get_json())["detail"]


async def test_a_waiting_retry_shows_no_error_and_a_cancelled_run_can_be_retried(client, make_user, jobs):
    admin = await make_user("org_admin")
    response = await client.post(
        "/api/v1/workers/templates",
        json={"name": "patient", "workflow": "flaky", "defaults": {"max_attempts": 2, "retry_backoff_seconds": 600}},
        headers=admin.headers,
    )
    assert response.status_code == 201
    job = await jobs.create(admin, "patient", {"fail_times": 1})
    deadline = asyncio.get_running_loop().time() + 15
    while not [event for event in await jobs.events(admin, job["id"]) if event["type"] == "retry"]:
        assert asyncio.get_running_loop().time() < deadline, "the first attempt did not fail"
        await asyncio.sleep(0.03)
    waiting = await jobs.get(admin, job["id"])
    assert waiting["status"] == "queued" and waiting["error"] is None and waiting["attempts"] == 1
    retry_event = next(event for event in await jobs.events(admin, job["id"]) if event["type"] == "retry")
    assert retry_event["data"]["error"]["type"] == "PlannedFailure"
    assert (await jobs.action(admin, job["id"], "cancel"))["status"] == "cancelled"
    retried = await jobs.action(admin, job["id"], "retry")
    assert retried["attempts"] == 0 and retried["error"] is None and retried["finished_at"] is None
    done = await jobs.wait(admin, job["id"], "succeeded")  # at once: the 600 s backoff is not kept
    assert done["attempts"] == 1 and done["output"] == {"attempts": 2}


async def test_a_resume_is_not_an_attempt(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "approval", {"request": "x"})
    waiting = await jobs.wait(actor, job["id"], "interrupted")
    assert waiting["attempts"] == 1 and waiting["max_attempts"] == 1
    await jobs.action(actor, job["id"], "resume", {"value": {"approved": True}})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["attempts"] == 1 and done["error"] is None


async def test_timeout(client, make_user, jobs):
    admin = await make_user("org_admin")
    response = await client.post(
        "/api/v1/workers/templates",
        json={"name": "quick", "workflow": "sleep", "defaults": {"timeout_seconds": 0.3}},
        headers=admin.headers,
    )
    assert response.status_code == 201
    job = await jobs.create(admin, "quick", {"seconds": 30, "steps": 30})
    done = await jobs.wait(admin, job["id"], "timed_out")
    assert done["error"]["type"] == "TimeoutError" and "0.3" in done["error"]["message"]
    retried = await jobs.action(admin, job["id"], "retry")
    assert retried["status"] in {"queued", "running"}
    await jobs.action(admin, job["id"], "cancel")
    await jobs.wait(admin, job["id"], "cancelled", "timed_out")


async def test_document_triage_routes_by_content(make_user, jobs):
    actor = await make_user()
    urgent = await jobs.create(
        actor,
        "document_triage",
        {
            "title": "Production outage",
            "text": "Our API is down since 9:00.\n\nCustomers see an error on every login. Please fix it immediately.",
        },
    )
    calm = await jobs.create(
        actor,
        "document_triage",
        {
            "text": (
                "Please send the invoice for March.\n\nThe payment was made by card; we need a refund of the "
                "duplicate charge."
            )
        },
    )
    urgent_done = await jobs.wait(actor, urgent["id"], "succeeded")
    calm_done = await jobs.wait(actor, calm["id"], "succeeded")
    assert urgent_done["output"]["route"] == "escalate" and urgent_done["output"]["priority"] == "high"
    assert urgent_done["output"]["category"] == "incident"
    assert calm_done["output"]["route"] == "standard" and calm_done["output"]["category"] == "billing"
    assert len(calm_done["output"]["sections"]) == 2 and calm_done["output"]["summary"].startswith(
        "Please send the invoice"
    )
    urgent_nodes = [event["node"] for event in await jobs.events(actor, urgent["id"]) if event["type"] == "node"]
    calm_nodes = [event["node"] for event in await jobs.events(actor, calm["id"]) if event["type"] == "node"]
    assert urgent_nodes == ["split", "classify", "escalate", "summarize"]
    assert calm_nodes == ["split", "classify", "summarize"]


async def test_example_package_workflow_runs(make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "word_count", {"text": "the cat and the hat and the bat", "top": 2})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["output"] == {"words": 8, "distinct": 5, "top": [["the", 3], ["and", 2]]}


async def test_example_package_routes_and_interrupts(make_user, jobs):
    actor = await make_user()
    small = await jobs.create(actor, "expense_approval", {"amount": 12.5, "description": "train ticket"})
    large = await jobs.create(actor, "expense_approval", {"amount": 900, "description": "conference"})
    assert (await jobs.wait(actor, small["id"], "succeeded"))["output"] == {
        "approved": True,
        "decided_by": "policy",
        "comment": None,
    }
    waiting = await jobs.wait(actor, large["id"], "interrupted")
    assert waiting["interrupt"][0] == {"amount": 900.0, "description": "conference"}
    await jobs.action(actor, large["id"], "resume", {"value": {"approved": False, "comment": "over budget"}})
    done = await jobs.wait(actor, large["id"], "succeeded")
    assert done["output"] == {"approved": False, "decided_by": "manager", "comment": "over budget"}


async def test_input_validation_and_unknown_templates(client, make_user, jobs):
    actor = await make_user()
    bad = await jobs.create(actor, "sleep", {"seconds": -1, "steps": "many"}, expect=422)
    locs = sorted(tuple(error["loc"]) for error in bad["errors"])
    assert locs == [("body", "input", "seconds"), ("body", "input", "steps")]
    unknown = await jobs.create(actor, "no-such-template", {}, expect=422)
    assert unknown["errors"][0]["loc"] == ["body", "template"]
    both = await client.post(
        "/api/v1/workers/jobs",
        json={"template": "echo", "template_id": "00000000-0000-0000-0000-000000000000"},
        headers=actor.headers,
    )
    assert both.status_code == 422
    malformed = await client.post(
        "/api/v1/workers/jobs", data="{", headers={**actor.headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code in {400, 422}
    listed = await (await client.get("/api/v1/workers/jobs", headers=actor.headers)).get_json()
    assert listed["items"] == []


async def test_idempotency_key_returns_the_same_job(make_user, jobs):
    actor = await make_user()
    first = await jobs.create(actor, "echo", {"a": 1}, idempotency_key="order-17")
    second = await jobs.create(actor, "echo", {"a": 2}, idempotency_key="order-17")
    assert second["id"] == first["id"] and second["input"] == {"a": 1}
    other = await make_user()
    third = await jobs.create(other, "echo", {"a": 3}, idempotency_key="order-17")
    assert third["id"] != first["id"]


async def test_list_filters_and_pagination(client, make_user, jobs):
    actor = await make_user()
    created = [await jobs.create(actor, "echo", {"i": index}) for index in range(3)]
    waiting = await jobs.create(actor, "approval", {"request": "r"})
    for job in created:
        await jobs.wait(actor, job["id"], "succeeded")
    await jobs.wait(actor, waiting["id"], "interrupted")
    page = await (await client.get("/api/v1/workers/jobs?limit=2", headers=actor.headers)).get_json()
    assert [item["id"] for item in page["items"]] == [waiting["id"], created[2]["id"]] and page["next_cursor"]
    rest = await (
        await client.get(f"/api/v1/workers/jobs?limit=2&cursor={page['next_cursor']}", headers=actor.headers)
    ).get_json()
    assert [item["id"] for item in rest["items"]] == [created[1]["id"], created[0]["id"]]
    interrupted = await (await client.get("/api/v1/workers/jobs?status=interrupted", headers=actor.headers)).get_json()
    assert [item["id"] for item in interrupted["items"]] == [waiting["id"]]
    by_template = await (
        await client.get(f"/api/v1/workers/jobs?template_id={waiting['template_id']}", headers=actor.headers)
    ).get_json()
    assert [item["id"] for item in by_template["items"]] == [waiting["id"]]
    assert (await client.get("/api/v1/workers/jobs?status=bogus", headers=actor.headers)).status_code == 422


async def test_authentication_and_tenant_isolation(client, make_user, jobs):
    owner = await make_user()
    stranger = await make_user()
    job = await jobs.create(owner, "echo", {"secret": True})
    await jobs.wait(owner, job["id"], "succeeded")
    assert (await client.get("/api/v1/workers/jobs")).status_code == 401
    assert (await client.post("/api/v1/workers/jobs", json={"template": "echo"})).status_code == 401
    for path in ("", "/events", "/events?format=json"):
        assert (
            await client.get(f"/api/v1/workers/jobs/{job['id']}{path}", headers=stranger.headers)
        ).status_code == 404
    for action in ("cancel", "retry", "resume"):
        body = {"value": True} if action == "resume" else None
        response = await client.post(f"/api/v1/workers/jobs/{job['id']}/{action}", json=body, headers=stranger.headers)
        assert response.status_code == 404
    assert (await client.get("/api/v1/workers/jobs/not-a-uuid", headers=owner.headers)).status_code == 404
    listed = await (await client.get("/api/v1/workers/jobs", headers=stranger.headers)).get_json()
    assert listed["items"] == []


async def test_monthly_quota(make_user, jobs):
    actor = await make_user()
    await Organization.filter(id=actor.organization.id).update(limits={"max_monthly_jobs": 2})
    await jobs.create(actor, "echo", {})
    await jobs.create(actor, "echo", {})
    refused = await jobs.create(actor, "echo", {}, expect=403)
    assert refused["type"].endswith("quota-exceeded") and refused["limit"] == "max_monthly_jobs"
    # Another organization is not affected.
    await jobs.create(await make_user(), "echo", {})


async def test_concurrency_limit_keeps_excess_jobs_queued(make_user, jobs):
    actor = await make_user()
    await Organization.filter(id=actor.organization.id).update(limits={"max_concurrent_jobs": 1})
    first = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 600})
    await jobs.wait(actor, first["id"], "running")
    second = await jobs.create(actor, "echo", {"waits": True})
    third = await jobs.create(actor, "echo", {"cancel": "me"})
    # Another organization runs meanwhile.
    other = await make_user()
    elsewhere = await jobs.create(other, "echo", {})
    await jobs.wait(other, elsewhere["id"], "succeeded")
    await asyncio.sleep(0.3)
    assert (await jobs.get(actor, second["id"]))["status"] == "queued"
    assert (await jobs.action(actor, third["id"], "cancel"))["status"] == "cancelled"
    await jobs.action(actor, first["id"], "cancel")
    done = await jobs.wait(actor, second["id"], "succeeded")
    assert done["output"] == {"waits": True}
    assert (await jobs.get(actor, third["id"]))["status"] == "cancelled"


@pytest.mark.parametrize("role", ["user", "org_admin"])
async def test_roles_can_run_jobs(make_user, jobs, role):
    actor = await make_user(role)
    job = await jobs.create(actor, "echo", {"role": role})
    assert (await jobs.wait(actor, job["id"], "succeeded"))["output"] == {"role": role}
