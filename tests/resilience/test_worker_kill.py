"""SIGKILL the worker while runs execute: no run is lost, none finishes twice, and what follows a
finish (its webhook, its billing count) arrives for every run.

Real processes on PostgreSQL + Redis: `vetrai serve` (auth, workers, billing), a `vetrai worker`
killed with SIGKILL mid-run (no drain, no acknowledgement), then a second worker whose reaper
finds the expired leases and resumes each run from its last checkpoint, and whose outbox sweep
delivers what the dead worker had claimed. Every run has a webhook to a real HTTP receiver in
this process that counts deliveries per ``X-VetrAI-Delivery`` key (and refuses the first
delivery of every tenth key, so retries happen too): each run has exactly one key, and every key
arrives (a key may arrive twice if its deliverer was killed after sending: at least once); the
billing count is exact. Short leases keep the test quick.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from .conftest import FULL, harness, size

FAST_RECOVERY = {
    "VETRAI_WORKERS_LEASE_SECONDS": "3",
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "1",
    "VETRAI_WORKERS_REAPER_SECONDS": "1",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "3",
    "VETRAI_WORKERS_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on loopback
}
# At full size (1,000 runs) a lease of 3 s is shorter than a busy worker's heartbeat can keep
# up with on a shared machine: the leases and the worker's concurrency are sized for it.
FULL_SIZE = {
    "VETRAI_WORKERS_LEASE_SECONDS": "10",
    "VETRAI_WORKERS_HEARTBEAT_SECONDS": "2",
    "VETRAI_WORKERS_REAPER_SECONDS": "2",
    "VETRAI_WORKERS_STALE_QUEUED_SECONDS": "15",
}
FINAL = {"succeeded", "failed", "cancelled", "timed_out"}


def kill_tree(pid: int) -> None:
    for child in harness._children(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


class Deliveries:
    """What the receiver saw: deliveries per key, and the (event, status, run id) of each key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.per_key: Counter[str] = Counter()
        self.refused: set[str] = set()
        self.what: dict[str, tuple[str, str, str]] = {}


@contextmanager
def receiver() -> Iterator[tuple[str, Deliveries]]:
    seen = Deliveries()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers["X-VetrAI-Delivery"]
            with seen.lock:
                refuse = key not in seen.refused and hash(key) % 10 == 0
                if refuse:
                    seen.refused.add(key)
                else:
                    seen.per_key[key] += 1
                    seen.what[key] = (self.headers["X-VetrAI-Event"], body["status"], body["job"]["id"])
            self.send_response(503 if refuse else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


def statuses(client: httpx.Client) -> dict[str, str]:
    """Every run of the organization with its status (through the paginated list)."""
    found: dict[str, str] = {}
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/workers/jobs", params=params).json()
        found.update({item["id"]: item["status"] for item in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def wait_for(check, within: float, what) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.5)


def test_runs_and_what_follows_them_survive_a_killed_worker(backend):
    count = size(12, 1000)
    seconds = 4 if not FULL else 2
    plugins = "auth,workers,billing"
    env = {**FAST_RECOVERY, **(FULL_SIZE if FULL else {})}
    concurrency = 100 if FULL else None
    with receiver() as (url, seen), harness.vetrai_server(backend, plugins=plugins, **env) as server:
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
            base_url=server.base_url, headers={"Authorization": f"Bearer {registered['access_token']}"}, timeout=60
        )
        started = time.monotonic()
        with harness.vetrai_worker(server, concurrency=concurrency) as doomed:
            ids = set()
            for _index in range(count):
                response = client.post(
                    "/api/v1/workers/jobs",
                    json={"template": "sleep", "input": {"seconds": seconds, "steps": 4}, "webhook_url": url},
                )
                assert response.status_code == 202, response.text
                ids.add(response.json()["id"])

            def busy() -> bool:
                now = Counter(statuses(client).values())
                return now["running"] >= min(count // 2, 150) or (now["running"] and now["succeeded"] >= count // 4)

            wait_for(busy, 120, "the worker never had enough runs in flight to kill")
            when_killed = Counter(statuses(client).values())
            kill_tree(doomed.pid)
        assert when_killed["running"] > 0
        with harness.vetrai_worker(server, concurrency=concurrency):
            left: Counter[str] = Counter()

            def all_final() -> bool:
                left.clear()
                left.update(statuses(client).values())
                return set(left) <= FINAL

            wait_for(all_final, 600, lambda: f"runs still unfinished: {dict(left)}")
            final = statuses(client)
            wait_for(
                lambda: len(seen.per_key) >= count, 300, lambda: f"{len(seen.per_key)} of {count} webhooks arrived"
            )
            usage = {}

            def metered() -> bool:
                items = client.get("/api/v1/billing/usage").json()["items"]
                usage.update({item["metric"]: item["quantity"] for item in items})
                return usage["job_runs"] >= count

            wait_for(metered, 120, lambda: f"billing counted {usage.get('job_runs')} of {count} runs")
        elapsed = time.monotonic() - started

        lost = {job_id for job_id, status in final.items() if status != "succeeded"}
        finished_twice = []
        for job_id in ids:
            events = client.get(f"/api/v1/workers/jobs/{job_id}/events", params={"format": "json"}).json()["items"]
            finals = [event for event in events if event["type"] == "status" and event["data"]["status"] in FINAL]
            if len(finals) != 1 or sum(event["type"] == "output" for event in events) != 1:
                finished_twice.append(job_id)
        with seen.lock:
            duplicates = {key: n for key, n in seen.per_key.items() if n > 1}
            runs_notified = Counter(job_id for _event, _status, job_id in seen.what.values())
            kinds = {(event, status) for event, status, _job_id in seen.what.values()}
        report = {
            "runs": count,
            "running_when_killed": when_killed["running"],
            "succeeded_when_killed": when_killed["succeeded"],
            "lost": len(lost),
            "finished_twice": len(finished_twice),
            "webhook_keys": len(seen.per_key),
            "webhook_duplicate_deliveries": sum(n - 1 for n in duplicates.values()),
            "webhooks_refused_once_then_retried": len(seen.refused),
            "billing_job_runs": usage["job_runs"],
            "seconds": round(elapsed, 1),
        }
        print("worker kill:", json.dumps(report))
        assert set(final) == ids and not lost, {job_id: final[job_id] for job_id in lost}
        assert not finished_twice, finished_twice
        assert kinds == {("engine.job_finished", "succeeded")}
        assert set(runs_notified) == ids and set(runs_notified.values()) == {1}, "one delivery key per finished run"
        # A webhook is delivered at least once: a worker killed between the receiver's answer and
        # the outbox's record sends it again under the same key, which the receiver dedupes on.
        assert len(duplicates) <= when_killed["running"] + 10, duplicates
        assert usage["job_runs"] == count, "billing counted a run twice or missed one"
