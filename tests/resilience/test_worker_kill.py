"""SIGKILL the worker while jobs run: every job still succeeds, none is lost, none finishes twice.

Real processes on PostgreSQL + Redis: `vetrai serve`, a `vetrai worker` killed with SIGKILL
mid-run (no drain, no acknowledgement), then a second worker whose reaper finds the expired
leases and resumes each run from its last checkpoint. Short leases keep the test quick.
"""

from __future__ import annotations

import os
import signal
import time

import httpx

from .conftest import harness, size

FAST_RECOVERY = {
    "VETRAI_WORKERS_LEASE_SECONDS": "3",
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "1",
    "VETRAI_WORKERS_REAPER_SECONDS": "1",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "3",
}


def kill_tree(pid: int) -> None:
    for child in harness._children(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def jobs_by_status(client: httpx.Client, ids: set[str]) -> dict[str, str]:
    return {job_id: client.get(f"/api/v1/workers/jobs/{job_id}").json()["status"] for job_id in ids}


def test_jobs_survive_a_killed_worker(backend):
    count = size(12, 100)
    with harness.vetrai_server(backend, plugins="auth,workers", **FAST_RECOVERY) as server:
        harness.wait_ready(server.base_url)
        registered = harness.register(server.base_url)
        root = harness.superuser_token(server)
        httpx.put(
            f"{server.base_url}/api/v1/organizations/{registered['user']['organization_id']}",
            json={"limits": {"max_concurrent_jobs": 1000, "max_monthly_jobs": 100000}},
            headers={"Authorization": f"Bearer {root}"},
            timeout=30,
        ).raise_for_status()
        client = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {registered['access_token']}"}, timeout=30
        )
        with harness.vetrai_worker(server) as doomed:
            ids = set()
            for _index in range(count):
                response = client.post(
                    "/api/v1/workers/jobs", json={"template": "sleep", "input": {"seconds": 4, "steps": 4}}
                )
                assert response.status_code == 202, response.text
                ids.add(response.json()["id"])
            deadline = time.monotonic() + 60
            while (
                time.monotonic() < deadline and list(jobs_by_status(client, ids).values()).count("running") < count // 2
            ):
                time.sleep(0.2)
            running_when_killed = list(jobs_by_status(client, ids).values()).count("running")
            kill_tree(doomed.pid)
        assert running_when_killed >= count // 2
        with harness.vetrai_worker(server):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                statuses = jobs_by_status(client, ids)
                if all(status in {"succeeded", "failed", "cancelled", "timed_out"} for status in statuses.values()):
                    break
                time.sleep(0.5)
        assert set(statuses.values()) == {"succeeded"}, statuses
        for job_id in ids:
            events = client.get(f"/api/v1/workers/jobs/{job_id}/events", params={"format": "json"}).json()["items"]
            finished = [
                event for event in events if event["type"] == "status" and event["data"]["status"] == "succeeded"
            ]
            assert len(finished) == 1, f"job {job_id} finished {len(finished)} times"
            assert sum(event["type"] == "output" for event in events) == 1
