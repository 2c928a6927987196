"""Fair scheduling across organizations: one tenant's backlog against another's single run.

Tenant A queues a backlog of ``--backlog`` `sleep` runs (``--seconds`` each) on one `vetrai
worker` with ``--slots`` concurrent runs (PostgreSQL + Redis, every message through the Redis
stream); once A's runs occupy the slots, tenant B submits one run of the same length. Reported:
B's wait (submitted to started) against one run's duration, and the wait B would have had
behind A's backlog in first-in-first-out order. Both organizations' plan limits are lifted, so
only the scheduler decides.

Writes bench/results/fairness.json.

    .venv/bin/python bench/fairness.py [--backlog 400] [--slots 4] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

import httpx
from harness import (
    Check,
    backend,
    postgres_available,
    print_table,
    print_targets,
    register,
    vetrai_server,
    vetrai_worker,
    wait_ready,
    write_results,
)

from engine import lift_limits


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _submit(client: httpx.AsyncClient, count: int, seconds: float) -> list[str]:
    ids: list[str] = []
    body = {"template": "sleep", "input": {"seconds": seconds, "steps": 1}}
    for start in range(0, count, 50):
        responses = await asyncio.gather(
            *(client.post("/api/v1/workers/jobs", json=body) for _ in range(min(50, count - start)))
        )
        for response in responses:
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


async def _wait(client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = (await client.get(f"/api/v1/workers/jobs/{job_id}")).json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {job_id} stayed {job['status']}")
        await asyncio.sleep(0.02)


async def measure(base_url: str, first: str, second: str, backlog: int, slots: int, seconds: float) -> dict[str, Any]:
    headers_a = {"Authorization": f"Bearer {first}"}
    headers_b = {"Authorization": f"Bearer {second}"}
    limits = httpx.Limits(max_connections=100)
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers_a, timeout=60, limits=limits) as a,
        httpx.AsyncClient(base_url=base_url, headers=headers_b, timeout=60) as b,
    ):
        started = time.monotonic()
        backlog_ids = await _submit(a, backlog, seconds)
        submit_seconds = time.monotonic() - started
        # A's runs hold the slots before B arrives.
        await _wait(a, backlog_ids[slots - 1], {"running", "succeeded"})
        response = await b.post(
            "/api/v1/workers/jobs", json={"template": "sleep", "input": {"seconds": seconds, "steps": 1}}
        )
        response.raise_for_status()
        late = await _wait(b, response.json()["id"], {"succeeded", "failed"})
        waited = (_moment(late["started_at"]) - _moment(late["created_at"])).total_seconds()
        done = [
            job
            for job in [(await a.get(f"/api/v1/workers/jobs/{job_id}")).json() for job_id in backlog_ids[: slots * 3]]
            if job["duration_ms"] is not None
        ]
        durations = [job["duration_ms"] / 1000 for job in done] + [late["duration_ms"] / 1000]
        rows = await asyncio.gather(*(a.get(f"/api/v1/workers/jobs/{job_id}") for job_id in backlog_ids))
        ahead = sum(1 for row in rows if row.json()["status"] == "queued")
    run = statistics.median(durations)
    return {
        "backlog": backlog,
        "slots": slots,
        "run_seconds": run,
        "second_tenant_wait_seconds": waited,
        "wait_over_one_run": waited / run,
        "fifo_wait_seconds": (backlog - slots) / slots * run,
        "backlog_still_queued_when_b_finished": ahead,
        "submit_seconds": submit_seconds,
    }


def main(backlog: int, slots: int, seconds: float) -> None:
    if not postgres_available():
        raise SystemExit("the fairness benchmark needs PostgreSQL and Redis (a worker process on the Redis stream)")
    with backend("postgres") as distributed, vetrai_server(distributed, plugins="auth,workers") as server:
        wait_ready(server.base_url)
        first = register(server.base_url, email="a@example.com", organization="Tenant A")
        second = register(server.base_url, email="b@example.com", organization="Tenant B")
        for registered in (first, second):
            lift_limits(server, registered["user"]["organization_id"])
        with vetrai_worker(server, processes=1, concurrency=slots):
            result = asyncio.run(
                measure(server.base_url, first["access_token"], second["access_token"], backlog, slots, seconds)
            )
    print_table(
        f"Fairness: tenant B's one run behind tenant A's {backlog} queued runs ({slots} worker slots)",
        ["measure", "seconds"],
        [
            ["one run (median duration)", result["run_seconds"]],
            ["tenant B: submitted to started", result["second_tenant_wait_seconds"]],
            ["the same wait in FIFO order (backlog / slots x run)", result["fifo_wait_seconds"]],
        ],
    )
    checks = [
        Check(
            "a new tenant's run starts within one free slot (wait / one run)",
            result["wait_over_one_run"],
            1.0,
            higher_is_better=False,
        )
    ]
    result["targets"] = print_targets(checks)
    write_results("fairness", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=400)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=0.5)
    arguments = parser.parse_args()
    main(arguments.backlog, arguments.slots, arguments.seconds)
