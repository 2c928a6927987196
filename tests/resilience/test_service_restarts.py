"""PostgreSQL and Redis restarted under load (``make resilience`` only: it restarts the
machine's own services, so it never runs inside ``make test``).

- PostgreSQL: requests fail only while it is down, the server recovers by itself, and every
  write that was acknowledged is still there afterwards.
- Redis: jobs queued while it restarts are not lost (the reaper re-sends them from the
  database, where the job row is the source of truth), and requests keep being answered.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx

from .conftest import harness

WRITE = {"template": "echo", "input": {"written": True}}


def restart_postgres() -> None:
    version = sorted(Path("/etc/postgresql").iterdir(), key=lambda path: [int(x) for x in path.name.split(".")])[
        -1
    ].name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"], check=True)


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False)
    time.sleep(2)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )


class Load(threading.Thread):
    """Job submissions back to back, recording (time, status, job id) of each."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.results: list[tuple[float, int, str | None]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                response = self.client.post("/api/v1/workers/jobs", json=WRITE)
                job_id = response.json().get("id") if response.status_code == 202 else None
                self.results.append((time.monotonic(), response.status_code, job_id))
            except httpx.TransportError:
                self.results.append((time.monotonic(), 0, None))
            time.sleep(0.02)


def started_server(backend, **env):
    return harness.vetrai_server(
        backend,
        plugins="auth,workers",
        VETRAI_WORKERS_REAPER_SECONDS="1",
        VETRAI_WORKERS_STALE_QUEUED_SECONDS="3",
        **env,
    )


def unlimited(server, organization_id: str) -> None:
    root = harness.superuser_token(server)
    httpx.put(
        f"{server.base_url}/api/v1/organizations/{organization_id}",
        json={"limits": {"max_concurrent_jobs": 100000, "max_monthly_jobs": 10000000}},
        headers={"Authorization": f"Bearer {root}"},
        timeout=30,
    ).raise_for_status()


def test_postgres_restart(backend):
    with started_server(backend) as server:
        harness.wait_ready(server.base_url)
        registered = harness.register(server.base_url, email="pg-restart@example.com", organization="PG restart")
        unlimited(server, registered["user"]["organization_id"])
        load = Load(server.base_url, registered["access_token"])
        load.start()
        time.sleep(3)
        outage_started = time.monotonic()
        restart_postgres()
        outage_ended = time.monotonic()
        time.sleep(8)
        load.stopping.set()
        load.join()
        failures = [(at, status) for at, status, _ in load.results if status != 202]
        late = [(at - outage_ended, status) for at, status in failures if at < outage_started or at > outage_ended + 5]
        assert not late, f"failures outside the outage window: {late[:10]}"
        recovered = [status for at, status, _ in load.results if at > outage_ended + 5]
        assert recovered and set(recovered) == {202}
        acknowledged = [job_id for _, status, job_id in load.results if status == 202]
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {registered['access_token']}"}, timeout=30
        ) as client:
            missing = [
                job_id for job_id in acknowledged if client.get(f"/api/v1/workers/jobs/{job_id}").status_code != 200
            ]
        assert not missing, f"{len(missing)} acknowledged writes lost"


def test_redis_restart(backend):
    with started_server(backend) as server, harness.vetrai_worker(server):
        harness.wait_ready(server.base_url)
        registered = harness.register(server.base_url, email="redis-restart@example.com", organization="Redis restart")
        unlimited(server, registered["user"]["organization_id"])
        load = Load(server.base_url, registered["access_token"])
        load.start()
        time.sleep(3)
        restart_redis()
        time.sleep(5)
        load.stopping.set()
        load.join()
        acknowledged = {job_id for _, status, job_id in load.results if status == 202}
        assert acknowledged
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {registered['access_token']}"}, timeout=30
        ) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                statuses = {
                    job_id: client.get(f"/api/v1/workers/jobs/{job_id}").json()["status"] for job_id in acknowledged
                }
                if set(statuses.values()) == {"succeeded"}:
                    break
                time.sleep(1)
        assert set(statuses.values()) == {"succeeded"}, {
            status: list(statuses.values()).count(status) for status in set(statuses.values())
        }
